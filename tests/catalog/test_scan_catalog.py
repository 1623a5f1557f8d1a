"""A scan through :class:`WritesOpenTheLibrary` (reads by the light reader, the Library opened at the first
write) finds and writes exactly what a scan through the Library does, on real files; an unchanged rescan
never opens the Library."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from catalog.library import Library
from catalog.read_connection import open_reader
from catalog.records import AssetQuery, HiddenFilter
from catalog.scan_catalog import WritesOpenTheLibrary
from catalog.scanner import Scanner, ScanSummary
from core.taxonomy import FileStatus, LibraryLayout
from tests.factory.models import kohya_lora, sdxl_embedding, vae, write_case


def _catalog_rows(path: Path) -> list[tuple[object, ...]]:
    with Library.open(path) as library:
        query = AssetQuery(statuses=tuple(FileStatus), hidden=HiddenFilter.ALL)
        return [
            (r.path, r.status, r.kind, r.architecture, r.size, r.mtime_ns)
            for r in sorted(library.search(query), key=lambda r: r.path)
        ]


def _lazy_scan(path: Path) -> tuple[ScanSummary, bool]:
    reader = open_reader(path, read_only=False)
    assert reader is not None
    opened: list[Library] = []

    def open_library() -> Library:
        opened.append(Library.open(path))
        return opened[0]

    catalog = WritesOpenTheLibrary(reader, open_library)
    try:
        summary = Scanner(catalog, workers=1).scan()
    finally:
        reader.close()
        for library in opened:
            library.close()
    return summary, catalog.opened_library


def _counts(summary: ScanSummary) -> tuple[int, ...]:
    return (summary.seen, summary.new, summary.changed, summary.unchanged, summary.moved, summary.missing)


def test_the_lazy_catalog_scans_like_the_library(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    lora = write_case(kohya_lora("sd1", rank=4), models)
    gone = write_case(vae(), models)
    moved = write_case(kohya_lora("sdxl", rank=4), models)
    first = tmp_path / "first.sqlite3"
    with Library.open(first) as library:
        library.add_root(models, LibraryLayout.FLAT)
        Scanner(library, workers=1).scan()
    second = tmp_path / "second.sqlite3"
    shutil.copyfile(first, second)

    summary, opened = _lazy_scan(second)
    assert (opened, _counts(summary)) == (False, (3, 0, 0, 3, 0, 0))

    gone.unlink()
    moved.rename(models / "renamed.safetensors")
    write_case(sdxl_embedding(), models)
    os.utime(lora, ns=(1, 1))
    with Library.open(first) as library:
        expected = Scanner(library, workers=1).scan()
    summary, opened = _lazy_scan(second)

    assert opened
    assert _counts(summary) == _counts(expected) == (3, 1, 1, 0, 1, 1)
    assert str(summary).split(" in ")[0] == str(expected).split(" in ")[0]
    assert _catalog_rows(second) == _catalog_rows(first)
