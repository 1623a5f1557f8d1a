"""Real libraries for the move/rename/delete/undo/recovery tests: real files, sidecars, previews, a scan,
and a trash of the test's own.

send2trash reads ``$XDG_DATA_HOME`` once, when first imported; :func:`own_trash` points both the
environment and send2trash's home trash at the test's folder, so every test has its own trash and
nothing reaches the developer's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from catalog.library import Library
from catalog.records import AssetQuery
from core.organize.companions import companions_among
from tests.app.organize.template_library import linked_lora, open_library, write_embedding
from tests.trash import own_trash

__all__ = ["linked_lora", "open_library", "own_trash", "write_embedding"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fingerprints(models: Iterable[Path]) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    """Each model's digest with its companions' endings and digests; each folder listed once (a folder
    of hundreds of models listed once per model made the kill tests' checks grow with its square)."""
    listings: dict[Path, set[str]] = {}
    found = set()
    for model in models:
        siblings = listings.get(model.parent)
        if siblings is None:
            siblings = listings[model.parent] = {entry.name for entry in model.parent.iterdir()}
        stem_length = len(model.stem)
        companions = frozenset((c.name[stem_length:], digest(c)) for c in companions_among(model, siblings))
        found.add((digest(model), companions))
    return found


def fingerprint(library: Library) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    """What must survive any operation: each model's bytes with the bytes of its companions (by their
    ending: ``.preview.png``, ``.civitai.info``), wherever they are."""
    return _fingerprints(Path(record.path) for record in library.search(AssetQuery()))


def disk_fingerprint(root: Path) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    """:func:`fingerprint` from the disk alone: every model file under ``root``."""
    return _fingerprints(root.rglob("*.safetensors"))


def open_hashed_library(data: Path, *roots: Path) -> Library:
    """:func:`open_library` with every file hashed, as after a scan with hashing on."""
    from catalog.hashing_job import hash_pending

    library = open_library(data, *roots)
    hash_pending(library, workers=1)
    return library
