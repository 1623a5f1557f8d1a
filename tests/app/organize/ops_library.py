"""Real libraries for the move/rename/delete/undo/recovery tests: real files, sidecars, previews, a scan,
and a trash of the test's own.

send2trash reads ``$XDG_DATA_HOME`` once, when first imported; :func:`own_trash` points both the
environment and send2trash's home trash at the test's folder, so every test has its own trash and
nothing reaches the developer's.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from catalog.library import Library
from catalog.records import AssetQuery
from core.organize.companions import companion_files
from tests.app.organize.template_library import linked_lora, open_library, write_embedding

__all__ = ["linked_lora", "open_library", "write_embedding"]


def own_trash(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
    """Make ``folder`` the data home whose ``Trash`` send2trash uses; returns the trash folder."""
    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    import send2trash.plat_other as plat

    monkeypatch.setattr(plat, "XDG_DATA_HOME", os.fsencode(folder))
    monkeypatch.setattr(plat, "HOMETRASH_B", os.fsencode(folder / "Trash"))
    monkeypatch.setattr(plat, "HOMETRASH", str(folder / "Trash"))
    assert "send2trash" in sys.modules
    return folder / "Trash"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(library: Library) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    """What must survive any operation: each model's bytes with the bytes of its companions (by their
    ending: ``.preview.png``, ``.civitai.info``), wherever they are."""
    found = set()
    for record in library.search(AssetQuery()):
        model = Path(record.path)
        stem_length = len(model.stem)
        companions = frozenset((c.name[stem_length:], digest(c)) for c in companion_files(model))
        found.add((digest(model), companions))
    return found


def disk_fingerprint(root: Path) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    """:func:`fingerprint` from the disk alone: every model file under ``root``."""
    found = set()
    for model in root.rglob("*.safetensors"):
        stem_length = len(model.stem)
        companions = frozenset((c.name[stem_length:], digest(c)) for c in companion_files(model))
        found.add((digest(model), companions))
    return found


def open_hashed_library(data: Path, *roots: Path) -> Library:
    """:func:`open_library` with every file hashed, as after a scan with hashing on."""
    from catalog.hashing_job import hash_pending

    library = open_library(data, *roots)
    hash_pending(library, workers=1)
    return library
