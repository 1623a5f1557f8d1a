"""Edits in the details pane while the catalog's PostgreSQL server is down: a real window on a real
server, stopped in the middle of the test, edited with real clicks and keys.

Every refused edit (rating, favorite, tags, collections, display name, trigger words, base model) says in
one line that it was not saved and why, the editors go back to what the catalog holds (the grid never
changed), typed notes are kept, marked unsaved, and written with the first edit once the server is back;
nothing raises (pytest-qt fails a test on any exception escaping a Qt slot)."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from desktop.models.asset_table_model import AssetRole
from desktop.widgets.rating_widget import STAR_GAP, STAR_SIZE
from tests import pg_server
from tests.desktop.conftest import PopulatedLibrary

# A new connection is refused; one the pool opened within its last second is found closed when used.
NOT_SAVED = re.compile(
    r"Not saved: The catalog server cannot be reached "
    r"\((Connection refused|server closed the connection unexpectedly)\)\."
)


def _star(number: int) -> QPoint:
    return QPoint(2 + (number - 1) * (STAR_SIZE + STAR_GAP) + STAR_SIZE // 2, 2 + STAR_SIZE // 2)


def _type_into(qtbot: QtBot, field: object, text: str) -> None:
    field.setFocus()  # type: ignore[attr-defined]
    field.selectAll()  # type: ignore[attr-defined]
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


@pytest.mark.timeout(90)
def test_edits_refused_by_a_stopped_server_are_said_reverted_and_notes_kept(
    qtbot: QtBot, on_server: tuple[MainWindow, PopulatedLibrary], pg: pg_server.PgServer
) -> None:
    window, populated = on_server
    asset_id = populated.ids["pixelArtStyle"]
    row = window.model.row_of(asset_id)
    assert row is not None
    window.select_row(row)
    details = window.details
    qtbot.waitUntil(lambda: details.record is not None and details.record.id == asset_id, timeout=5000)
    before = details.record
    assert before is not None
    assert before.tags == ("style",)

    def grid_row() -> tuple[int, bool, str]:  # what the grid shows, read from its model (not the server)
        shown = window.model.index(row, 0).data(AssetRole.RECORD)
        return shown.rating, shown.favorite, shown.display_name

    def refused() -> None:
        assert details.save_problem.isVisible()
        assert NOT_SAVED.match(details.save_problem.text())
        assert len(details.save_problem.text().splitlines()) == 1
        assert details.record == before  # what the catalog holds, as the grid shows it
        assert grid_row() == (before.rating, before.favorite, before.display_name)

    with pg_server.stopped(pg):
        qtbot.mouseClick(details.rating, Qt.MouseButton.LeftButton, pos=_star(4))
        refused()
        assert details.rating.rating() == before.rating

        qtbot.mouseClick(details.favorite, Qt.MouseButton.LeftButton)
        refused()
        assert details.favorite.isChecked() is before.favorite

        _type_into(qtbot, details.tags, "style, studio")
        refused()
        assert details.tags.words() == ("style",)

        _type_into(qtbot, details.collections, "portfolio")
        refused()
        assert details.collections.words() == before.collections

        _type_into(qtbot, details.display_name, "Pixel Sprites")
        refused()
        assert details.display_name.text() == before.display_name

        _type_into(qtbot, details.usage.trigger_words, "sprite sheet")
        refused()
        assert details.usage.trigger_words.words() == before.trigger_words

        _type_into(qtbot, details.identity.base_label, "Pony")
        refused()
        assert details.identity.base_label.text() == (before.base_model_label or "")

        details.notes.setFocus()
        qtbot.keyClicks(details.notes, "works best at 0.8")
        details.tags.setFocus()  # leaving the notes writes them
        qtbot.waitUntil(lambda: NOT_SAVED.match(details.save_problem.text()) is not None, timeout=3000)
        refused()
        assert "Your notes are kept here" in details.save_problem.text()
        assert details.notes.toPlainText() == "works best at 0.8"  # the user's typing is not lost
        assert NOT_SAVED.match(window.status.flashed())

        other = window.model.row_of(populated.ids["dreamshaper_8"])
        assert other is not None
        tile = window.current_view().visualRect(window.model.index(other, 0)).center()
        qtbot.mouseClick(window.current_view().viewport(), Qt.MouseButton.LeftButton, pos=tile)
        assert window.current_asset_id() == populated.ids["dreamshaper_8"]
        assert "cannot be reached" in window.status.flashed()
        assert details.record == before  # the pane cannot read the other file, so it stays put

    # The server is back: the next edit is saved, and the kept notes with it.
    qtbot.mouseClick(details.rating, Qt.MouseButton.LeftButton, pos=_star(5))
    qtbot.waitUntil(details.save_problem.isHidden, timeout=5000)
    stored = populated.library.get(asset_id)
    assert stored is not None
    assert stored.rating == 5
    assert stored.notes == "works best at 0.8"
    assert stored.tags == ("style",)
    assert details.notes.toPlainText() == "works best at 0.8"
    qtbot.waitUntil(lambda: grid_row()[0] == 5, timeout=3000)
