"""Item delegates that paint rich cells (thumbnail tiles)."""
