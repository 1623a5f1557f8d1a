"""Machines sharing one catalog, for the shared-storage tests (the ``open_as`` fixture in this folder's
conftest opens the catalog as one of them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from catalog.library import Library
from catalog.machine_paths import Machine
from tests.factory.safetensors_writer import write_safetensors

A = Machine("0a0a0a0a-0000-4000-8000-00000000000a", "studio-a")
B = Machine("0b0b0b0b-0000-4000-8000-00000000000b", "studio-b")
C = Machine("0c0c0c0c-0000-4000-8000-00000000000c", "studio-c")

Opener = Callable[[Machine], Library]


def write_store(folder: Path, count: int) -> Path:
    """A shared model store of ``count`` small, distinct LoRA files under ``folder/Lora`` (l00, l01...)."""
    for number in range(count):
        write_safetensors(folder / "Lora" / f"l{number:02}.safetensors", {"w": ("F16", (4, 4))}, seed=number)
    return folder
