"""Two machines scanning one shared folder that they see with another stat: times at another precision
(a Windows SMB client's 100 ns, an NFS or macOS client's whole seconds) and their own inode and device
numbers. An alternating scan reads, hashes and rewrites nothing (catalog.stat_match). And a shared folder
that is empty on one machine (a share not mounted there) marks nothing missing, however few its files.
On a real PostgreSQL server and on one SQLite file opened twice (``open_as``).

Machine B reaches A's store through a second real folder with the same files (what a share shows), whose
times are set to what B's client would report.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from catalog.library import Library
from catalog.scanner import Scanner
from catalog.stat_match import same_mtime
from core.taxonomy import FileStatus
from tests.catalog.shared_machines import A, B, Opener
from tests.factory.safetensors_writer import write_safetensors

FINE = 1_700_000_000_123_456_789  # a time as ext4 keeps it, to the nanosecond


def _store(folder: Path, count: int) -> Path:
    for number in range(count):
        path = folder / "Lora" / f"l{number:02}.safetensors"
        write_safetensors(path, {"w": ("F16", (4, 4))}, seed=number)
        os.utime(path, ns=(FINE + number * 1_000_003, FINE + number * 1_000_003))
    return folder


def _coarsened(source: Path, target: Path, grain: int) -> Path:
    """A copy of ``source`` (new inodes) whose times are what a client of that precision shows."""
    shutil.copytree(source, target)
    for path in target.rglob("*.safetensors"):
        mtime = path.stat().st_mtime_ns // grain * grain
        os.utime(path, ns=(mtime, mtime))
    return target


def _rows(library: Library) -> dict[str, tuple[int, int, int]]:
    (root,) = library.roots()
    index = library.file_index(root.id)
    return {Path(p).name: (e.mtime_ns, e.inode, e.device) for p, e in index.items()}


def test_times_compare_at_the_coarser_precision_and_exactly_between_fine_ones() -> None:
    assert same_mtime(FINE, FINE // 10**9 * 10**9)  # whole seconds
    assert same_mtime(FINE // 100 * 100, FINE)  # 100 ns
    assert same_mtime(FINE // 100 * 100, FINE // 10**9 * 10**9)
    assert not same_mtime(FINE, FINE + 1)  # both fine: exact
    assert not same_mtime(FINE, (FINE // 10**9 + 1) * 10**9)  # another second
    assert not same_mtime(FINE // 100 * 100, FINE + 100)  # another 100 ns tick


@pytest.mark.parametrize("grain", [10**9, 100], ids=["whole-seconds", "100ns"])
def test_alternating_scans_at_another_precision_read_and_rewrite_nothing(
    open_as: Opener, tmp_path: Path, grain: int
) -> None:
    store = _store(tmp_path / "nas" / "sd", 6)
    a = open_as(A)
    a.add_root(store, name="NAS")
    assert Scanner(a, workers=1).scan().new == 6
    cataloged = _rows(a)
    b = open_as(B)
    b.map_root("NAS", _coarsened(store, tmp_path / "b" / "sd", grain))
    for _ in range(2):  # B, A, B, A
        on_b = Scanner(b, workers=1).scan()
        assert (on_b.unchanged, on_b.changed, on_b.new, on_b.missing) == (6, 0, 0, 0), on_b.problems
        assert _rows(a) == cataloged, "B's times and inodes were not written over A's"
        on_a = Scanner(a, workers=1).scan()
        assert (on_a.unchanged, on_a.changed, on_a.new) == (6, 0, 0)
        assert _rows(a) == cataloged


def test_a_file_changed_within_the_coarse_precision_is_still_a_change_where_the_size_changes(
    open_as: Opener, tmp_path: Path
) -> None:
    store = _store(tmp_path / "nas" / "sd", 2)
    a = open_as(A)
    a.add_root(store, name="NAS")
    Scanner(a, workers=1).scan()
    b = open_as(B)
    b_folder = _coarsened(store, tmp_path / "b" / "sd", 10**9)
    b.map_root("NAS", b_folder)
    changed = b_folder / "Lora" / "l00.safetensors"
    mtime = changed.stat().st_mtime_ns
    write_safetensors(changed, {"w": ("F16", (8, 8))}, seed=77)
    os.utime(changed, ns=(mtime, mtime))  # the same second as cataloged
    summary = Scanner(b, workers=1).scan()
    assert (summary.changed, summary.unchanged) == (1, 1)


def test_another_machines_device_number_is_not_written_back_on_each_scan(
    open_as: Opener, tmp_path: Path
) -> None:
    """Both machines reach the share at one path (no mapping), each with its own st_dev: the rows keep the
    device written first and neither machine's scan rewrites it."""
    store = _store(tmp_path / "nas" / "sd", 3)
    a = open_as(A)
    a.add_root(store, name="NAS")
    Scanner(a, workers=1).scan()
    b = open_as(B)
    b.map_root("NAS", store)  # B mounts it at the same path: recorded, nothing to translate
    other_device = store.stat().st_dev + 4242  # what B's kernel numbers the mount
    a.set_devices([(entry.id, other_device) for entry in a.file_index(a.roots()[0].id).values()])
    summary = Scanner(a, workers=1).scan()
    assert (summary.unchanged, summary.changed) == (3, 0)
    assert {device for _m, _i, device in _rows(a).values()} == {other_device}


def test_an_empty_shared_folder_marks_none_of_its_few_files_missing(open_as: Opener, tmp_path: Path) -> None:
    store = _store(
        tmp_path / "nas" / "sd", 2
    )  # fewer than a one-machine folder needs (UNREACHABLE_EMPTY_MIN)
    a = open_as(A)
    a.add_root(store, name="NAS")
    Scanner(a, workers=1).scan()
    b = open_as(B)
    mount = tmp_path / "b" / "mnt" / "sd"
    mount.mkdir(parents=True)
    b.map_root("NAS", mount, force=True)  # the share is not mounted yet
    summary = Scanner(b, workers=1).scan()
    assert summary.missing == 0
    assert summary.problems == [
        f"{mount}: the shared folder is empty here but the catalog lists 2 files in it (is the share mounted "
        "on this machine?); nothing was marked missing."
    ]
    # And on A, where the folder is shared with B: its mount point empty too.
    shutil.rmtree(store)
    store.mkdir()
    assert Scanner(a, workers=1).scan().missing == 0
    statuses = {e.status for e in a.file_index(a.roots()[0].id).values()}
    assert statuses == {FileStatus.OK}


def test_a_folder_of_one_machine_emptied_by_hand_still_marks_its_files_missing(
    open_as: Opener, tmp_path: Path
) -> None:
    store = _store(tmp_path / "mine" / "sd", 2)
    a = open_as(A)
    a.add_root(store, name="Mine")
    Scanner(a, workers=1).scan()
    shutil.rmtree(store)
    store.mkdir()
    assert Scanner(a, workers=1).scan().missing == 2
