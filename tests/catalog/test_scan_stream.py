"""The scan's fast paths say what the full paths say.

A scan reads files while the walk goes on (workers fed chunk by chunk), and an unchanged rescan compares
the walk's plain strings with the catalog without building a ``FoundFile``. These tests hold both to
the slow forms on real files: the same findings, the same rows, the same counts.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog.examine import (
    FoundFile,
    examine,
    found_at,
    found_listed,
    listed_sidecar_mtime,
    walk_listing,
    walk_root,
)
from catalog.library import Library
from catalog.records import AssetQuery, ScannedFile
from catalog.scanner import CHUNKSIZE, WORKER_DIED, Scanner, examine_in_workers
from core.formats.sidecars import read_sidecars
from core.jobs import Progress
from core.taxonomy import FileStatus, LibraryLayout
from tests.factory.files import tiny_png
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": ("F16", ()),
}


@pytest.fixture
def library(lib: Library) -> Library:
    """The catalog under test: on SQLite and on the PostgreSQL server (``lib``, tests/catalog/conftest.py)."""
    return lib


def _mixed_folder(folder: Path, count: int = 12) -> None:
    """Models with and without sidecars, a corrupt one, a partial download, a dotted stem, a FIFO."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        write_safetensors(folder / f"m{index:02}.safetensors", LORA, seed=index)
    (folder / "m01.json").write_text(json.dumps({"activation text": "one"}))
    (folder / "m02.preview.png").write_bytes(tiny_png())
    (folder / "m02.civitai.info").write_text("{}")
    write_safetensors(folder / "v1.5.safetensors", LORA, seed=99)
    (folder / "v1.5.json").write_text(json.dumps({"description": "dotted stem"}))
    (folder / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    write_safetensors(folder / "partial.safetensors", LORA, seed=5)
    (folder / "partial.safetensors.aria2").write_bytes(b"aria2")
    (folder / ".hidden.safetensors").write_bytes(b"")
    os.mkfifo(folder / "pipe.safetensors")


def test_the_listing_walk_finds_what_walk_root_finds(tmp_path: Path) -> None:
    _mixed_folder(tmp_path / "lib")
    listed = list(walk_listing(tmp_path / "lib"))
    found = list(walk_root(tmp_path / "lib"))

    as_found = [item if isinstance(item, FoundFile) else found_listed(item) for item in listed]
    assert as_found == found
    names = sorted(item.path.name for item in found)
    assert names == sorted(
        [f"m{i:02}.safetensors" for i in range(12)]
        + ["v1.5.safetensors", "broken.safetensors", "pipe.safetensors"]
    )
    for item in listed:
        if isinstance(item, tuple):  # what the rescan compares is what the FoundFile holds
            assert listed_sidecar_mtime(item) == found_listed(item).sidecar_mtime_ns


def test_a_files_siblings_are_its_sidecars_and_read_the_same(tmp_path: Path) -> None:
    _mixed_folder(tmp_path / "lib")
    by_name = {item.path.name: item for item in walk_root(tmp_path / "lib")}

    assert by_name["m00.safetensors"].siblings is None
    assert by_name["m02.safetensors"].siblings == {"m02.preview.png", "m02.civitai.info"}
    for name in ("m01.safetensors", "m02.safetensors", "v1.5.safetensors"):
        item = by_name[name]
        assert examine(item).sidecars == read_sidecars(item.path)  # as if the folder were asked


def test_a_scan_fed_while_walking_writes_what_a_scan_in_process_writes(tmp_path: Path) -> None:
    _mixed_folder(tmp_path / "lib" / "a")
    _mixed_folder(tmp_path / "lib" / "b", count=16)
    modes = {  # all read after the walk; read as found, here; read as found, in worker processes
        "after_walk": {"workers": 1},
        "streamed": {"workers": 1, "parallel_threshold": 1, "batch_size": 7},
        "workers": {"workers": 2, "parallel_threshold": 1, "batch_size": 7},
    }
    rows = {}
    for mode, options in modes.items():
        lib = Library.open(tmp_path / mode / "catalog.sqlite3")
        record = lib.add_root(tmp_path / "lib", LibraryLayout.FLAT)
        reports: list[Progress] = []
        summary = Scanner(lib, progress=reports.append, **options).scan([record.id])  # type: ignore[arg-type]
        assert (summary.seen, summary.new, summary.corrupt, summary.unreadable) == (34, 34, 2, 2)
        reading = [report for report in reports if report.message.startswith("Reading")]
        assert reading[-1].done == reading[-1].total == 34, "the bar ends full"
        rows[mode] = sorted(
            (r.path, r.kind, r.architecture, r.status, r.status_reason, tuple(r.trigger_words), r.description)
            for r in lib.search(AssetQuery(limit=None))
        )
        lib.close()
    assert len(rows["after_walk"]) == 34
    assert rows["streamed"] == rows["after_walk"]
    assert rows["workers"] == rows["after_walk"]


def test_a_rescan_sees_a_touched_sidecar_but_opens_nothing_else(library: Library, tmp_path: Path) -> None:
    _mixed_folder(tmp_path / "lib")
    record = library.add_root(tmp_path / "lib", LibraryLayout.FLAT)
    Scanner(library, workers=1).scan([record.id])

    again = Scanner(library, workers=1).scan([record.id])
    assert (again.unchanged, again.changed, again.new) == (15, 0, 0)
    assert (again.corrupt, again.unreadable) == (1, 1), "the catalog's health of unopened files is counted"

    sidecar = tmp_path / "lib" / "v1.5.json"
    stat = sidecar.stat()
    os.utime(sidecar, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    touched = Scanner(library, workers=1).scan([record.id])
    assert (touched.unchanged, touched.changed) == (14, 1)


def test_a_moved_file_keeps_its_row_even_when_found_before_the_walk_ends(
    library: Library, tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    (root / "a").mkdir(parents=True)
    (root / "z").mkdir()
    for index in range(5):
        write_safetensors(root / "z" / f"m{index}.safetensors", LORA, seed=index)
    record = library.add_root(root, LibraryLayout.FLAT)
    Scanner(library, workers=1).scan([record.id])
    old = library.get_by_path(root / "z" / "m3.safetensors")
    assert old is not None
    # Moved into a folder walked before the one it left; a hard link of another keeps its source.
    (root / "z" / "m3.safetensors").rename(root / "a" / "m3.safetensors")
    os.link(root / "z" / "m1.safetensors", root / "a" / "link.safetensors")

    summary = Scanner(library, workers=1).scan([record.id])

    assert (summary.moved, summary.new, summary.missing, summary.unchanged) == (1, 1, 0, 4)
    moved = library.get_by_path(root / "a" / "m3.safetensors")
    assert moved is not None
    assert moved.id == old.id
    assert library.get_by_path(root / "z" / "m1.safetensors") is not None
    assert library.count(AssetQuery()) == 6
    assert all(r.status is FileStatus.OK for r in library.search(AssetQuery(limit=None)))


def die_and_tell(found: FoundFile) -> ScannedFile:
    """A reader that ends its process on the "doomed" file, leaving a mark first (runs in a worker)."""
    if "doomed" in found.path.name:
        found.path.with_suffix(".died").touch()
        os._exit(9)
    return examine(found)


@pytest.mark.slow  # starts a worker pool, then a fresh one-worker pool after the death
@pytest.mark.timeout(120)
def test_files_found_after_a_worker_died_are_still_read(tmp_path: Path) -> None:
    """The walk goes on after a worker died: the pool takes no more tasks, and every later file is read
    one by one, the doomed one marked, as when the death is met before the walk ends."""
    paths = []
    for index in range(CHUNKSIZE + 6):
        name = "doomed.safetensors" if index == 3 else f"m{index:02}.safetensors"
        paths.append(write_safetensors(tmp_path / name, LORA, seed=index))
    items = [found_at(path) for path in paths]
    died = tmp_path / "doomed.died"

    def slow_walk() -> Iterator[FoundFile]:
        for position, item in enumerate(items):
            if position == CHUNKSIZE:  # the first chunk is out: wait until its worker has died
                deadline = time.monotonic() + 90
                while not died.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(1.0)
            assert item is not None
            yield item

    results = list(examine_in_workers(slow_walk(), 1, die_and_tell))

    assert died.exists()
    assert [r.path for r in results] == [str(path) for path in paths]
    assert [r.status for r in results].count(FileStatus.UNSAFE) == 1
    assert results[3].status_reason == WORKER_DIED.format("killed, or out of memory")
    assert all(r.status is FileStatus.OK for i, r in enumerate(results) if i != 3)


OTHER_LORA = {  # another table, of another data size: rank 8
    name: (dtype, tuple(8 if dim == 4 else dim for dim in shape)) for name, (dtype, shape) in LORA.items()
}


@pytest.mark.timeout(120)
def test_files_read_here_while_the_workers_start_read_as_the_workers_read_them(tmp_path: Path) -> None:
    """Until the worker processes are up this process reads the chunks itself; later chunks go to the
    workers. Either way a file's finding is the one an in-process read gives."""
    from catalog.scanner import _in_workers
    from core.formats import safetensors_header as sh

    first = [write_safetensors(tmp_path / f"a{i:02}.safetensors", LORA, seed=i) for i in range(CHUNKSIZE)]
    (tmp_path / "a01.json").write_text(json.dumps({"activation text": "one"}))
    later = [write_safetensors(tmp_path / f"b{i:02}.safetensors", OTHER_LORA, seed=i) for i in range(40)]
    items = [found_at(path) for path in [*first, *later]]

    def walk_waiting_for_the_workers() -> Iterator[FoundFile]:
        for position, item in enumerate(items):
            if position == CHUNKSIZE:  # the first chunk is out: wait until the workers are up
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline and any(
                    thread.name == "scan-workers-start" for thread in threading.enumerate()
                ):
                    time.sleep(0.02)
            assert item is not None
            yield item

    sh.forget_validated_tables()
    try:
        results = [scanned for _item, scanned in _in_workers(walk_waiting_for_the_workers(), 2, examine)]
        here, elsewhere = (_tables_held(sh, path) for path in (first[0], later[0]))
    finally:
        sh.forget_validated_tables()
    assert here  # the first chunk's table was validated in this process
    assert not elsewhere  # the later files' table only in the workers
    assert results == [examine(item) for item in items if item is not None]
    assert results[1].sidecars is not None


def _tables_held(sh: Any, path: Path) -> tuple[int, ...]:
    """The lengths of the tables this process holds for files of ``path``'s data size."""
    data_size = path.stat().st_size - 8 - int.from_bytes(path.read_bytes()[:8], "little")
    return sh._TABLES.lengths("whole", data_size) + sh._TABLES.lengths("after-metadata", data_size)
