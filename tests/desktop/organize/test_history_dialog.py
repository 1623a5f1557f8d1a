"""Edit › Operation history: each row names its files (also for an operation the CLI labelled only with a
count) and says when it ran with a date; the rows have room."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QPoint
from pytestqt.qtbot import QtBot

from app.organize.engine import delete_assets
from desktop.main_window import MainWindow
from desktop.organize.file_actions import FileActions
from desktop.organize.history_dialog import operation_title, when_text
from tests.desktop.conftest import PopulatedLibrary


def test_a_bare_label_gets_the_file_names_of_its_steps() -> None:
    assert operation_title("Move 1 file", ["add_detail.safetensors"]) == "Move add_detail.safetensors"
    assert (
        operation_title("Move 3 files", ["a.safetensors", "b.safetensors", "c.safetensors"])
        == "Move a.safetensors (+2 more)"
    )
    assert operation_title("Undo: Delete 2 files", ["a.pt", "a.pt", "b.pt"]) == "Undo: Delete a.pt (+1 more)"
    assert (
        operation_title("Trash 2 duplicates", ["x.ckpt", "y.ckpt"]) == "Trash 2 duplicates: x.ckpt (+1 more)"
    )
    named = "Rename “a.safetensors” to “b.safetensors”"
    assert operation_title(named, ["a.safetensors"]) == named
    assert operation_title("Move 1 file", []) == "Move 1 file"


def test_when_says_the_day() -> None:
    now = datetime(2026, 12, 5, 18, 0, tzinfo=UTC).astimezone()
    assert when_text(now.replace(hour=14, minute=2), now) == "Today 14:02"
    assert when_text(now.replace(day=3, hour=9, minute=5), now) == "3 Dec 09:05"
    assert when_text(now.replace(year=2025, day=3, hour=9, minute=5), now) == "3 Dec 2025 09:05"


def test_the_history_names_the_files_of_a_command_line_delete(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, trash_home: Path
) -> None:
    ids = [populated.ids["sdxl_vae"], populated.ids["pixelArtStyle"]]
    delete_assets(populated.library, ids)  # what `atelier delete` runs: labelled "Delete 2 files"

    actions = window.file_actions  # type: ignore[attr-defined]
    assert isinstance(actions, FileActions)
    actions.show_history()
    history = actions.history_dialog
    assert history is not None
    qtbot.waitExposed(history)
    first = history.list.topLevelItem(0)
    assert first is not None
    assert first.text(0) in {
        "Delete sdxl_vae.safetensors (+1 more)",
        "Delete pixelArtStyle.safetensors (+1 more)",
    }
    assert first.text(1).startswith("Today ")
    assert first.text(3) == "Done"
    row = history.list.visualItemRect(first)
    assert row.height() >= history.list.fontMetrics().height() + 8  # padded, not cramped
    assert history.list.itemAt(QPoint(5, row.center().y())) is first
