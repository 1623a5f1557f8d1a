"""Alembic migrations of the catalog, configured in code by :mod:`catalog.migrate` (no alembic.ini)."""
