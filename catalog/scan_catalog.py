"""What a scan needs of the catalog, and a catalog that opens the Library only when a scan writes.

A rescan of an unchanged library reads the roots and each root's file index, compares them with the walk,
and writes nothing. As a command, opening the ORM-backed Library for that costs more than the whole
comparison (importing SQLAlchemy, building an engine). :class:`WritesOpenTheLibrary` reads through the
light reader (:mod:`catalog.read_connection`, the same statements as the Library's, from
:mod:`catalog.queries`) and hands every write to the Library, opened at the first one: new, changed,
moved or missing files are written exactly as before, by the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from catalog.records import IndexedFile, RootPlaces, RootRecord, ScannedFile

if TYPE_CHECKING:
    from catalog.library import Library
    from catalog.read_connection import CatalogReader


@dataclass(frozen=True, slots=True)
class BatchWritten:
    """What writing a batch of scanned files did: ``ids``, each file's asset id in input order, and
    ``existed``, the paths that were cataloged already when the batch was written (updated, not
    created: on a shared catalog another machine's scan may have created a row since this scan read the
    catalog, and this scan then has not added it)."""

    ids: list[int]
    existed: frozenset[str]


class ScanCatalog(Protocol):
    """The catalog as the :class:`~catalog.scanner.Scanner` uses it (``Library`` is one)."""

    def roots(self) -> list[RootRecord]: ...

    def file_index(self, root_id: int) -> dict[str, IndexedFile]: ...

    def apply_scan_batch(self, root_id: int, files: Sequence[ScannedFile]) -> list[int]: ...

    def write_scan_batch(self, root_id: int, files: Sequence[ScannedFile]) -> BatchWritten: ...

    def mark_missing(self, asset_ids: Sequence[int]) -> None: ...

    def relocate(
        self, asset_id: int, new_path: str, *, size: int, mtime_ns: int, inode: int, device: int = 0
    ) -> None: ...

    def set_devices(self, devices: Sequence[tuple[int, int]]) -> None: ...


class WritesOpenTheLibrary:
    """Reads through ``reader``; the first write opens the Library with ``open_library`` and every
    write (and every read after it, so a scan reads what it wrote) goes there."""

    def __init__(self, reader: CatalogReader, open_library: Callable[[], Library]) -> None:
        self._reader = reader
        self._open_library = open_library
        self._library: Library | None = None

    @property
    def opened_library(self) -> bool:
        """Whether a write made this catalog open the Library."""
        return self._library is not None

    def _writer(self) -> Library:
        if self._library is None:
            self._library = self._open_library()
        return self._library

    def _source(self) -> ScanCatalog | CatalogReader:
        return self._library if self._library is not None else self._reader

    def roots(self) -> list[RootRecord]:
        return self._source().roots()

    def file_index(self, root_id: int) -> dict[str, IndexedFile]:
        return self._source().file_index(root_id)

    def root_places(self) -> list[RootPlaces]:
        """Each machine's path for every folder (``catalog.stat_match.shared_with_others`` asks)."""
        return self._reader.root_places()

    def apply_scan_batch(self, root_id: int, files: Sequence[ScannedFile]) -> list[int]:
        if not files:
            return []
        return self._writer().apply_scan_batch(root_id, files)

    def write_scan_batch(self, root_id: int, files: Sequence[ScannedFile]) -> BatchWritten:
        if not files:
            return BatchWritten([], frozenset())
        return self._writer().write_scan_batch(root_id, files)

    def mark_missing(self, asset_ids: Sequence[int]) -> None:
        if asset_ids:
            self._writer().mark_missing(asset_ids)

    def relocate(
        self, asset_id: int, new_path: str, *, size: int, mtime_ns: int, inode: int, device: int = 0
    ) -> None:
        self._writer().relocate(asset_id, new_path, size=size, mtime_ns=mtime_ns, inode=inode, device=device)

    def set_devices(self, devices: Sequence[tuple[int, int]]) -> None:
        if devices:
            self._writer().set_devices(devices)
