"""The window that shows the empty library's page leaves it when a command adds the first folder, and the
files a scan identifies show while the scan's job still hashes them.

Why: a new user opens Atelier (or starts a new empty library after a lost catalog), then runs
``main.py scan FOLDER`` in a terminal. The SQLite change feed only says "something changed", so the window
must notice by itself that the library now has a folder: the rows take the empty page's place, the views'
hint stops saying the library is empty, and the new folder is watched (and the page comes back when a
command removes the last folder). Before, only the sidebar followed and the page stayed "Your library is
empty" until a filter changed.

The same holds for a folder added in the window: the job that scans it goes on to hash the new files
(minutes for a folder of real models), and the rows must not wait for the whole job.

The scans are real: the Scanner the ``scan`` command runs, over real safetensors files, in a second
Library on the same catalog file (the command) or in the window's own job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from catalog.library import Library
from catalog.scanner import Scanner
from core.jobs import CancelToken, ProgressCallback
from core.taxonomy import LibraryLayout
from desktop.main_window import MainWindow
from desktop.services import DesktopServices
from tests.desktop.conftest import FakeSettings, ServicesFactory
from tests.desktop.quick_change_feed import quick_follow_changes
from tests.factory.models import emb_params_embedding, write_case


class _Watcher:
    """A started watcher: stopped when the window restarts it."""

    def __init__(self, started: list[_Watcher]) -> None:
        self.stopped = False
        started.append(self)

    def stop(self) -> None:
        self.stopped = True


def _models_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    write_case(emb_params_embedding(768), folder)  # an SD 1.x and an SD 2.x embedding: small, real files
    write_case(emb_params_embedding(1024), folder)
    return folder


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
            follow_changes=quick_follow_changes(empty_library),
            settings=FakeSettings(watch_folders=True),
            start_watching=lambda _on_change: _Watcher(watchers),
        )
    )
    qtbot.waitUntil(lambda: window.live_changes is not None, timeout=3000)
    assert window.views.currentWidget() is window.empty_library
    assert watchers == []  # no folder, nothing to watch

    folder = _models_folder(tmp_path)
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


class _HeldHashing:
    """A window whose scan step is the real Scanner over ``library`` and whose hashing step holds until the
    test releases it (large files: hashing takes its time): ``hashing`` is set once it started,
    ``hashed`` ends it."""

    def __init__(
        self,
        library: Library,
        make_services: ServicesFactory,
        open_window: Callable[[DesktopServices], MainWindow],
    ) -> None:
        self.hashing, self.hashed = threading.Event(), threading.Event()

        def scan(root_ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken) -> object:
            return Scanner(library, progress=progress, cancel=cancel, workers=1).scan(root_ids)

        def hash_pending(_progress: ProgressCallback, cancel: CancelToken) -> str:
            self.hashing.set()
            while not self.hashed.wait(0.02) and not cancel.cancelled:
                pass
            return "Hashed 2 files"

        self.window = open_window(
            make_services(
                library,
                follow_changes=library.follow_changes,
                settings=FakeSettings(hash_in_background=True),
                scan_roots=scan,
                hash_pending=hash_pending,
            )
        )


def test_the_files_a_scan_in_the_window_identifies_show_while_its_job_still_hashes(
    qtbot: QtBot,
    empty_library: Library,
    make_services: ServicesFactory,
    open_window: Callable[[DesktopServices], MainWindow],
    tmp_path: Path,
) -> None:
    held = _HeldHashing(empty_library, make_services, open_window)
    window = held.window
    qtbot.waitUntil(lambda: window.live_changes is not None, timeout=3000)
    try:
        window.add_folder(_models_folder(tmp_path))  # what File › Add library folder… does once chosen
        assert window.views.currentWidget() is window.grid

        qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=4000)
        assert held.hashing.is_set()
        assert window.current_job is not None  # still hashing: the rows did not wait for the job's end
    finally:
        held.hashed.set()
    qtbot.waitUntil(lambda: window.current_job is None, timeout=3000)
    assert window.model.rowCount() == 2


@pytest.fixture
def empty_server_library(pg_catalog_url: str, tmp_path: Path) -> Iterator[Library]:
    from catalog.catalog_url import create_server_engine, parse

    location = parse(pg_catalog_url)
    assert location.url is not None
    library = Library.on_server(create_server_engine(location.url), tmp_path / "data", str(location))
    try:
        yield library
    finally:
        library.close()


def test_on_a_server_the_files_a_scan_in_the_window_writes_show_before_its_job_hashes_them(
    qtbot: QtBot,
    empty_server_library: Library,
    make_services: ServicesFactory,
    open_window: Callable[[DesktopServices], MainWindow],
    tmp_path: Path,
) -> None:
    """On a server the change feed leaves out the window's own writes: the rows come from the end of the
    job's scan step (MainWindow.scan_step_done), not from the end of the whole job."""
    held = _HeldHashing(empty_server_library, make_services, open_window)
    window = held.window
    try:
        window.add_folder(_models_folder(tmp_path))
        qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=6000)
        assert held.hashing.is_set()
        assert window.current_job is not None  # still hashing
    finally:
        held.hashed.set()
    qtbot.waitUntil(lambda: window.current_job is None, timeout=5000)
    assert window.model.rowCount() == 2
