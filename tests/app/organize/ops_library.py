"""Real libraries for the move/rename/delete/undo/recovery tests: real files, sidecars, previews, a scan,
and a trash of the test's own.

send2trash reads ``$XDG_DATA_HOME`` once, when first imported; :func:`own_trash` points both the
environment and send2trash's home trash at the test's folder, so every test has its own trash and
nothing reaches the developer's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from catalog.library import Library
from catalog.records import AssetQuery
from core.organize.companions import companion_files
from tests.app.organize.template_library import linked_lora, open_library, write_embedding
from tests.trash import own_trash

__all__ = ["linked_lora", "open_library", "own_trash", "write_embedding"]


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
