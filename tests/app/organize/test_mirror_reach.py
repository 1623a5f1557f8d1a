"""A mirror sync leaves alone the files of a library folder this machine cannot reach (app.organize.
mirror_reach): one it never mapped (their stored path is another machine's), one mapped to an empty or a
wrong folder, one whose drive is unplugged. Its entries are kept, nothing points at another machine's
path, no stray folder is made, and the report says which folder and why. Real files, one SQLite catalog
opened as two machines."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.organize.mirror import create_mirror, sync_mirrors
from catalog.library import Library
from catalog.scanner import Scanner
from core.organize.mirror_plan import MirrorMode, MirrorUI
from core.taxonomy import LibraryLayout
from tests.app.organize.mirror_library import a1111_install, write_lora
from tests.app.organize.test_mirror import entries_of
from tests.catalog.shared_machines import A, B

WEBUI_ENTRIES = 5  # pixel + preview + notes, ink, bad_hands


@pytest.fixture
def machines(tmp_path: Path) -> Iterator[tuple[Library, Library, Path]]:
    """A adds and scans an A1111 install at ``nas/webui``; B reaches it at ``b/webui`` (a copy: the share
    as B's client shows it). B has not mapped it yet."""
    webui = a1111_install(tmp_path / "nas" / "webui")
    shutil.copytree(webui, tmp_path / "b" / "webui")
    catalog = tmp_path / "shared" / "catalog.sqlite3"
    with Library.open(catalog, A) as a, Library.open(catalog, B) as b:
        a.add_root(webui, LibraryLayout.A1111, name="webui")
        Scanner(a, workers=1).scan()
        yield a, b, tmp_path / "b" / "webui"


def test_a_folder_this_machine_never_mapped_is_left_out_of_its_mirrors(
    tmp_path: Path, machines: tuple[Library, Library, Path]
) -> None:
    _a, b, _webui_on_b = machines
    target = tmp_path / "b" / "forge"
    create_mirror(b, MirrorUI.A1111, MirrorMode.SYMLINK, target)
    (report,) = sync_mirrors(b).reports
    assert (report.added, report.failed) == (0, [])
    assert report.held == ["'webui' (not mapped on this machine: atelier roots map webui PATH)"]
    assert entries_of(target) == {}, "no link to machine A's path"
    assert str(report).endswith(
        "0 added, 0 updated, 0 removed, 0 up to date, left as they were: the files of 'webui' (not mapped "
        "on this machine: atelier roots map webui PATH)"
    )


def test_an_empty_or_wrong_mapping_keeps_the_mirror_as_it_was(
    tmp_path: Path, machines: tuple[Library, Library, Path]
) -> None:
    _a, b, webui_on_b = machines
    b.map_root("webui", webui_on_b)
    target = tmp_path / "b" / "forge"
    create_mirror(b, MirrorUI.A1111, MirrorMode.SYMLINK, target)
    assert sync_mirrors(b).reports[0].added == WEBUI_ENTRIES
    made = entries_of(target)
    assert all(path.resolve().is_relative_to(webui_on_b) for path in made.values())

    empty = tmp_path / "b" / "mnt"
    empty.mkdir()
    b.map_root("webui", empty, force=True)  # the share not mounted yet
    (report,) = sync_mirrors(b).reports
    assert (report.removed, report.added, report.failed) == (0, 0, [])
    assert report.held == [f"'webui' (its folder {empty} is empty: is the share mounted?)"]
    assert entries_of(target) == made
    assert len(b.mirror_entries(report.mirror_id)) == WEBUI_ENTRIES

    wrong = tmp_path / "b" / "Downloads"
    write_lora(wrong / "models" / "Lora" / "mine.safetensors", "mine")
    b.map_root("webui", wrong, force=True)
    (report,) = sync_mirrors(b).reports
    assert (report.removed, report.added, report.failed) == (0, 0, [])
    assert report.held == [
        f"'webui' (none of its files is in {wrong}: mapped to the wrong folder? atelier roots map webui PATH)"
    ]
    assert entries_of(target) == made, "no entry removed, no stray folder made"

    b.map_root("webui", webui_on_b)  # mapped right again: up to date, nothing to redo
    (report,) = sync_mirrors(b).reports
    assert (report.kept, report.added, report.removed, report.held) == (WEBUI_ENTRIES, 0, 0, [])


def test_an_unplugged_folder_of_one_machine_keeps_its_mirror_entries(tmp_path: Path) -> None:
    webui = a1111_install(tmp_path / "usb" / "webui")
    with Library.open(tmp_path / "catalog.sqlite3", A) as a:
        a.add_root(webui, LibraryLayout.A1111)
        Scanner(a, workers=1).scan()
        target = tmp_path / "forge"
        create_mirror(a, MirrorUI.A1111, MirrorMode.HARDLINK, target)
        sync_mirrors(a)
        made = entries_of(target)
        webui.rename(tmp_path / "usb" / "away")  # the drive unplugged
        (report,) = sync_mirrors(a).reports
        assert (report.removed, report.failed) == (0, [])
        assert report.held == [f"'webui' (its folder {webui} is not there: is the drive connected?)"]
        assert entries_of(target) == made
