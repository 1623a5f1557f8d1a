"""After Delete (to the trash) the next row is current and selected, as in a file manager: the user
deletes one file after another with the keyboard (nothing was selected, so a second Delete did nothing)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from tests.desktop.conftest import PopulatedLibrary
from tests.desktop.organize.test_file_actions import JOB_MS, actions, focus, select


def _delete_with_the_keyboard(qtbot: QtBot, window: MainWindow) -> None:
    focus(qtbot, window.current_view())
    qtbot.keyClick(window.current_view(), Qt.Key.Key_Delete)
    dialog = actions(window).delete_dialog
    assert dialog is not None
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        qtbot.keyClick(dialog.delete_button, Qt.Key.Key_Return)


def test_after_a_delete_the_next_row_is_selected(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, trash_home: Path
) -> None:
    row = window.model.row_of(populated.ids["dreamshaper_8"])
    assert row is not None
    following = window.model.asset_id(row + 1)
    select(window, populated.ids["dreamshaper_8"])

    _delete_with_the_keyboard(qtbot, window)

    assert not (populated.root_dir / "dreamshaper_8.safetensors").exists()
    assert window.current_asset_id() == following, "the row after the deleted one"
    assert [r.id for r in window.selected_records()] == [following]
    shown = window.details.record
    assert shown is not None
    assert shown.id == following, "and its details shown"


def test_deleting_the_last_row_selects_the_one_before(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, trash_home: Path
) -> None:
    last = window.model.rowCount() - 1
    before = window.model.asset_id(last - 1)
    window.select_row(last)

    _delete_with_the_keyboard(qtbot, window)

    assert window.model.rowCount() == last
    assert window.current_asset_id() == before
    assert [r.id for r in window.selected_records()] == [before]
