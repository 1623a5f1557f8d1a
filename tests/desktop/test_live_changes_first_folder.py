"""The window that shows the empty library's page leaves it when a command adds the first folder.

Why: a new user opens Atelier (or starts a new empty library after a lost catalog), then runs
``main.py scan FOLDER`` in a terminal. The SQLite change feed only says "something changed", so the window
must notice by itself that the library now has a folder: the rows take the empty page's place, the views'
hint stops saying the library is empty, and the new folder is watched (and the page comes back when a
command removes the last folder). Before, only the sidebar followed and the page stayed "Your library is
empty" until a filter changed.

The other client is real: a second Library on the same catalog file, scanned by the Scanner the ``scan``
command runs, over real safetensors files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from catalog.library import Library
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from desktop.main_window import MainWindow
from desktop.services import DesktopServices
from tests.desktop.conftest import FakeSettings, ServicesFactory
from tests.factory.models import emb_params_embedding, write_case


class _Watcher:
    """A started watcher: stopped when the window restarts it."""

    def __init__(self, started: list[_Watcher]) -> None:
        self.stopped = False
        started.append(self)

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def empty_library(tmp_path: Path) -> Iterator[Library]:
    library = Library.open(tmp_path / "data" / "catalog.sqlite3")
    try:
        yield library
    finally:
        library.close()


def test_a_command_scanning_the_first_folder_replaces_the_empty_library_page_and_removing_it_brings_it_back(
    qtbot: QtBot,
    empty_library: Library,
    make_services: ServicesFactory,
    open_window: Callable[[DesktopServices], MainWindow],
    tmp_path: Path,
) -> None:
    watchers: list[_Watcher] = []
    window = open_window(
        make_services(
            empty_library,
            follow_changes=empty_library.follow_changes,
            settings=FakeSettings(watch_folders=True),
            start_watching=lambda _on_change: _Watcher(watchers),
        )
    )
    qtbot.waitUntil(lambda: window.live_changes is not None, timeout=3000)
    assert window.views.currentWidget() is window.empty_library
    assert watchers == []  # no folder, nothing to watch

    folder = tmp_path / "models"
    folder.mkdir()
    write_case(emb_params_embedding(768), folder)  # an SD 1.x and an SD 2.x embedding: small, real files
    write_case(emb_params_embedding(1024), folder)
    command = Library.open(empty_library.path)  # ``main.py scan FOLDER`` in a terminal
    try:
        root = command.add_root(folder, LibraryLayout.FLAT)
        Scanner(command, workers=1).scan([root.id])

        qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=4000)
        assert window.views.currentWidget() is window.grid
        assert window.grid.empty_text == window.table.empty_text == "No models match these filters."
        assert [watcher.stopped for watcher in watchers] == [False]  # the new folder is watched

        command.remove_root(root.id)  # and the folder removed again: the empty library's page is back
        qtbot.waitUntil(lambda: window.views.currentWidget() is window.empty_library, timeout=4000)
        assert window.model.rowCount() == 0
        assert [watcher.stopped for watcher in watchers] == [True]  # no folder left to watch
    finally:
        command.close()
