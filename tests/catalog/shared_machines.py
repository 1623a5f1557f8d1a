"""Machines sharing one catalog, for the shared-storage tests (the ``open_as`` fixture in this folder's
conftest opens the catalog as one of them)."""

from __future__ import annotations

from collections.abc import Callable

from catalog.library import Library
from catalog.machine_paths import Machine

A = Machine("0a0a0a0a-0000-4000-8000-00000000000a", "studio-a")
B = Machine("0b0b0b0b-0000-4000-8000-00000000000b", "studio-b")
C = Machine("0c0c0c0c-0000-4000-8000-00000000000c", "studio-c")

Opener = Callable[[Machine], Library]
