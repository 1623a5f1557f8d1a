"""Two profiles (two data folders: two machines) on one catalog on a PostgreSQL server, as the CLI tests of
shared folders drive them: ``on("a", *argv)`` runs ``atelier ARGS`` in the test's process as machine
``a`` (the ``on`` fixture in tests/app/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

Run = Callable[..., tuple[int, str, str]]  # (machine, *argv) -> (exit code, out, err)
