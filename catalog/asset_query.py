"""A search of the library (``AssetQuery``) and its choices (``SortKey``, ``HiddenFilter``), alone.

Apart from ``catalog.records`` because the window builds its first query before its first frame, while
the records (a score of frozen dataclasses, costly to create) are only needed once rows are read, off the
GUI thread. ``catalog.records`` names these too: either import works. For the same reason the query is a
named tuple (a changed copy is ``query._replace(sort=...)``), not a frozen dataclass: a dataclass's
generated methods are compiled when its module is imported, ~0.8 ms of that start (see
``app.settings.Settings``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from core.taxonomy import Architecture, AssetKind, FileStatus


class HiddenFilter(StrEnum):
    """Which files a query shows by their hidden flag: hidden files stay out of the views by default."""

    VISIBLE = "visible"
    ALL = "all"
    ONLY = "only"


class SortKey(StrEnum):
    NAME = "name"
    ADDED = "added"
    SIZE = "size"
    RATING = "rating"
    KIND = "kind"
    ARCHITECTURE = "architecture"


class AssetQuery(NamedTuple):
    """A search of the library. Empty fields do not filter.

    ``text`` is matched with FTS5 over display name, file name, tags, trigger words, notes and
    descriptions (prefix match per word, so typing "pix" finds "pixel art"). ``kinds`` and
    ``architectures`` match the effective values (the user's override when set). ``base_models`` matches
    the effective base-model label (the user's ``set --base-label`` when set, else the one Civitai, a
    sidecar or an import gave), case-insensitively, any of them: it tells apart files the tensors cannot
    (Pony, Illustrious and NoobAI are all SDXL). Hidden files are left out unless ``hidden`` says otherwise.
    """

    text: str = ""
    kinds: tuple[AssetKind, ...] = ()
    architectures: tuple[Architecture, ...] = ()
    base_models: tuple[str, ...] = ()  # any of these base-model labels ("Pony", "Illustrious"...)
    tags: tuple[str, ...] = ()  # all must match
    collection: str | None = None
    min_rating: int = 0
    favorites_only: bool = False
    statuses: tuple[FileStatus, ...] = ()  # empty = every status except MISSING
    root_id: int | None = None
    folder: str | None = None  # only files at or below this folder (a sub-folder of a root, in the sidebar)
    hidden: HiddenFilter = HiddenFilter.VISIBLE
    has_update: bool = False  # only files with a newer Civitai version (catalog.updates)
    sort: SortKey = SortKey.NAME
    descending: bool = False
    limit: int | None = None
    offset: int = 0
