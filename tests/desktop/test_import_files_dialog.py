"""The drop-files dialog copies into the same folder downloads go to: the download folder of the
settings, else the first library folder added (not the first one listed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytestqt.qtbot import QtBot

from catalog.records import RootRecord
from core.taxonomy import LibraryLayout
from desktop.dialogs.import_files_dialog import ImportFilesDialog

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# Listed by path, as the library lists them; "/b-first" was added first.
ROOTS = [
    RootRecord(1, "/a-later", LibraryLayout.FLAT, NOW + timedelta(days=1)),
    RootRecord(2, "/b-first", LibraryLayout.FLAT, NOW),
    RootRecord(3, "/c-downloads", LibraryLayout.A1111, NOW + timedelta(days=2)),
]


def _dialog(qtbot: QtBot, download_root: str) -> ImportFilesDialog:
    dialog = ImportFilesDialog([Path("/tmp/x.safetensors")], ROOTS, [], download_root=download_root)
    qtbot.addWidget(dialog)
    return dialog


def test_copies_go_to_the_download_folder_of_the_settings(qtbot: QtBot) -> None:
    chosen = _dialog(qtbot, "/c-downloads").chosen_root()
    assert chosen is not None
    assert chosen.path == "/c-downloads"


def test_without_one_copies_go_to_the_first_folder_added(qtbot: QtBot) -> None:
    for setting in ("", "/gone"):
        chosen = _dialog(qtbot, setting).chosen_root()
        assert chosen is not None
        assert chosen.path == "/b-first"
