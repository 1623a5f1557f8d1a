"""Qt item models over the catalog (no widget per item)."""
