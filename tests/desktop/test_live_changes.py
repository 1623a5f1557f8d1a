"""The open window shows what other clients change in the catalog, without a restart (desktop.live_changes).

The other client is real: ``main.py`` in a subprocess on the same SQLite catalog (a command run while the
window is open), or a second Library on the same PostgreSQL database (another machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from catalog.catalog_url import create_server_engine, parse
from catalog.library import Library
from catalog.records import UserDataChanges
from desktop.main_window import MainWindow
from desktop.models.asset_table_model import AssetColumn, AssetRole
from desktop.services import DesktopServices
from tests.catalog.conftest import scanned
from tests.desktop.conftest import FakeSettings, PopulatedLibrary, ServicesFactory, populate
from tests.desktop.quick_change_feed import quick_follow_changes

REPO = Path(__file__).resolve().parents[2]


def _select(window: MainWindow, asset_id: int) -> None:
    row = window.model.row_of(asset_id)
    assert row is not None
    window.select_row(row)


def _rating_shown(window: MainWindow, asset_id: int) -> int | None:
    row = window.model.row_of(asset_id)
    if row is None:
        return None
    shown = window.model.index(row, AssetColumn.RATING).data(AssetRole.RECORD)
    return None if shown is None else int(shown.rating)


def test_a_tag_added_by_a_command_in_another_process_shows_in_the_open_window(
    qtbot: QtBot,
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    open_window: Callable[[DesktopServices], MainWindow],
) -> None:
    library = populated.library
    window = open_window(make_services(library, follow_changes=quick_follow_changes(library)))
    window.set_view_mode("table")
    current = populated.ids["dreamshaper_8"]
    _select(window, current)
    resets: list[int] = []
    window.model.modelReset.connect(lambda: resets.append(1))
    env = {key: value for key, value in os.environ.items() if key != "ATELIER_CATALOG_URL"}
    done = subprocess.run(
        [
            sys.executable,
            "main.py",
            "--data-dir",
            str(library.path.parent),
            "tag",
            str(current),
            "--add",
            "live",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    qtbot.waitUntil(lambda: "live" in window.details.tags.words(), timeout=4000)
    assert window.current_asset_id() == current
    assert "live" in [window.filter_bar.tag.itemData(i) for i in range(window.filter_bar.tag.count())]
    assert resets == [], "a changed tag repaints its row; the views are not reset"


def _open(url: str, data: Path) -> Library:
    location = parse(url)
    assert location.url is not None
    return Library.on_server(create_server_engine(location.url), data, str(location))


@pytest.fixture
def two_machines(pg_catalog_url: str, tmp_path: Path) -> Iterator[tuple[PopulatedLibrary, Library]]:
    there = _open(pg_catalog_url, tmp_path / "there")
    here = _open(pg_catalog_url, tmp_path / "here")
    try:
        yield populate(there, tmp_path / "models"), here
    finally:
        here.close()
        there.close()


def test_another_machines_rating_tag_and_new_file_show_without_losing_the_selection(
    qtbot: QtBot,
    two_machines: tuple[PopulatedLibrary, Library],
    make_services: ServicesFactory,
    open_window: Callable[[DesktopServices], MainWindow],
    tmp_path: Path,
) -> None:
    other, here = two_machines
    extra = [scanned(other.root_dir / f"zz_filler_{n:03}.safetensors", inode=1000 + n) for n in range(80)]
    other.library.apply_scan_batch(other.root.id, extra)
    window = open_window(
        make_services(here, follow_changes=here.follow_changes, settings=FakeSettings(view_mode="grid"))
    )
    window.resize(1200, 500)
    current = other.ids["pixelArtStyle"]
    _select(window, current)
    window.grid.verticalScrollBar().setValue(window.grid.verticalScrollBar().maximum() // 2)
    scrolled = window.grid.verticalScrollBar().value()
    resets: list[int] = []
    window.model.modelReset.connect(lambda: resets.append(1))

    # Another machine rates a file that is not the current one: its row repaints, nothing else moves.
    rated = other.ids["easynegative"]
    other.library.update_user_data(rated, UserDataChanges(rating=5))
    qtbot.waitUntil(lambda: _rating_shown(window, rated) == 5, timeout=2000)
    assert resets == []

    # It tags the current file: the details pane follows.
    other.library.update_user_data(current, UserDataChanges(tags=("style", "from-afar")))
    qtbot.waitUntil(lambda: "from-afar" in window.details.tags.words(), timeout=2000)
    assert window.current_asset_id() == current

    # It scans a new file that sorts first: the rows move, the selection and the scroll stay.
    (new_id,) = other.library.apply_scan_batch(
        other.root.id, [scanned(other.root_dir / "aaa_new.safetensors", inode=9)]
    )
    qtbot.waitUntil(lambda: window.model.row_of(new_id) is not None, timeout=2000)
    assert window.current_asset_id() == current
    assert [window.model.asset_id(i.row()) for i in window.selection.selectedRows()] == [current]
    assert window.grid.verticalScrollBar().value() == scrolled
    assert "from-afar" in window.details.tags.words()

    # This window's own edit (the details pane writes, then repaints its row) is not repainted twice.
    here.update_user_data(current, UserDataChanges(rating=2))
    window.model.refresh_asset(current)
    repaints: list[int] = []
    window.model.dataChanged.connect(lambda *_: repaints.append(1))
    resets.clear()
    qtbot.wait(600)
    assert (repaints, resets) == ([], [])
