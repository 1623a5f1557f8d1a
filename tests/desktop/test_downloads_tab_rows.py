"""The Downloads tab's rows say what is true after a download ends, and finished rows can be acted on.

The outside tester saw a cancelled row still showing "3% 2.4 MiB / 72.1 MiB" after its .part was
deleted, a row whose file failed its published SHA-256 showing "0 B" after all 5.7 MiB had come in and
saying "try again" (the site would serve the same wrong file), and no menu, no way to clear finished rows
and no way from a row to its file in the library. Driven here on the real window with a loopback file
server, real clicks, a real context-menu event and a real double-click.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QContextMenuEvent, QDesktopServices
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from core.downloads import DownloadRequest, DownloadSource, DownloadStatus
from core.sizes import human_size
from desktop.main_window import MainWindow
from desktop.models.downloads_model import PROGRESS_ROLE, DownloadColumn
from desktop.tabs.downloads_tab import DownloadsTab
from tests.desktop.remote_support import RemoteEnv, downloads_tab
from tests.fakes.file_server import Fault

TIMEOUT = 15_000


@pytest.fixture
def window(downloads_window: MainWindow) -> MainWindow:
    return downloads_window


def _enqueue(
    window: MainWindow,
    remote: RemoteEnv,
    path: str,
    name: str,
    *,
    expected_size: int | None = None,
    expected_sha256: str | None = None,
) -> int:
    assert window.downloads is not None
    request = DownloadRequest(
        url=remote.files.base_url + path,
        target_dir=Path(remote.a1111_root.path) / "models" / "Stable-diffusion",
        source=DownloadSource.URL,
        file_name=name,
        expected_size=expected_size,
        expected_sha256=expected_sha256,
    )
    return window.downloads.enqueue(request)


def _cell(tab: DownloadsTab, download_id: int, column: DownloadColumn) -> QPoint:
    row = tab.model.row_of(download_id)
    assert row is not None
    return tab.table.visualRect(tab.model.index(row, column)).center()


def _ended(window: MainWindow, qtbot: QtBot, download_id: int) -> None:
    assert window.downloads is not None
    manager = window.downloads
    qtbot.waitUntil(lambda: not manager.is_running(download_id), timeout=TIMEOUT)
    qtbot.waitUntil(
        lambda: (
            next(r for r in manager.records() if r.id == download_id).status
            not in (DownloadStatus.QUEUED, DownloadStatus.RUNNING)
        ),
        timeout=TIMEOUT,
    )


def test_a_cancelled_row_says_cancelled_not_the_bytes_it_deleted(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot
) -> None:
    tab = downloads_tab(window)
    data = b"x" * (1024 * 1024)
    remote.file_state.add("/slow.bin", data, Fault(trickle=(8 * 1024, 0.02)))
    download_id = _enqueue(window, remote, "/slow.bin", "slow.bin", expected_size=len(data))
    row = tab.model.row_of(download_id)
    assert row is not None
    qtbot.waitUntil(lambda: 0 < tab.model.index(row, 0).data(PROGRESS_ROLE) < 100, timeout=TIMEOUT)
    QTest.mouseClick(
        tab.table.viewport(), Qt.MouseButton.LeftButton, pos=_cell(tab, download_id, DownloadColumn.NAME)
    )
    QTest.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    _ended(window, qtbot, download_id)
    assert not (Path(remote.a1111_root.path) / "models" / "Stable-diffusion" / "slow.bin.part").exists()
    progress = tab.model.index(row, DownloadColumn.PROGRESS)
    assert progress.data().startswith("Cancelled")
    assert progress.data(PROGRESS_ROLE) is None  # no bar, no percentage of bytes that are gone


def test_a_file_that_fails_its_published_hash_shows_its_bytes_and_why_again_will_not_help(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot
) -> None:
    tab = downloads_tab(window)
    data = b"y" * (300 * 1024)
    remote.file_state.add("/wrong.bin", data)
    published = hashlib.sha256(b"what the page says").hexdigest()
    download_id = _enqueue(
        window, remote, "/wrong.bin", "wrong.bin", expected_size=len(data), expected_sha256=published
    )
    _ended(window, qtbot, download_id)
    row = tab.model.row_of(download_id)
    assert row is not None
    assert tab.model.index(row, DownloadColumn.STATUS).data() == "Failed"
    assert tab.model.index(row, DownloadColumn.PROGRESS).data().startswith(human_size(len(data)))
    error = tab.model.index(row, DownloadColumn.ERROR).data()
    assert "does not match the SHA-256 it publishes" in error
    assert "try again" not in error
    assert published.upper() in error


def _context_menu(qtbot: QtBot, tab: DownloadsTab, download_id: int) -> QMenu:
    point = _cell(tab, download_id, DownloadColumn.NAME)
    viewport = tab.table.viewport()
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, point, viewport.mapToGlobal(point))
    QApplication.sendEvent(viewport, event)  # what a right-click sends
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=2000)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    return menu


def _click(menu: QMenu, text: str) -> None:
    action = next(a for a in menu.actions() if a.text() == text)
    assert action.isEnabled(), text
    QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())


def test_finished_rows_have_a_menu_and_double_click_shows_the_file_in_the_library(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    tab = downloads_tab(window)
    assert window.downloads is not None
    assert window.tabs is not None
    remote.file_state.add("/tiny_lora.safetensors", remote.lora)
    with qtbot.waitSignal(window.downloads.completed, timeout=TIMEOUT) as completed:
        done_id = _enqueue(window, remote, "/tiny_lora.safetensors", "tiny_lora.safetensors")
    assert completed.args is not None
    path = Path(completed.args[1])
    qtbot.waitUntil(
        lambda: window.current_job is None and window.library.get_by_path(path) is not None, timeout=TIMEOUT
    )
    remote.file_state.add("/gone.bin", b"", Fault(status=404, json_body={"error": "Model not found"}))
    failed_id = _enqueue(window, remote, "/gone.bin", "gone.bin")
    _ended(window, qtbot, failed_id)
    window.filter_bar.search.setText("nothing matches this")  # the file is filtered out
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=3000)

    opened: list[QUrl] = []

    def open_url(url: QUrl) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    _click(_context_menu(qtbot, tab, done_id), "Open folder")
    assert [Path(url.toLocalFile()) for url in opened] == [path.parent]

    window.tabs.setCurrentWidget(tab)
    where = _cell(tab, done_id, DownloadColumn.NAME)
    QTest.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    QTest.mouseDClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert window.tabs.currentWidget() is window.splitter
    asset = window.library.get_by_path(path)
    assert asset is not None
    assert window.current_asset_id() == asset.id

    window.tabs.setCurrentWidget(tab)
    _click(_context_menu(qtbot, tab, failed_id), "Remove from list")
    qtbot.waitUntil(lambda: tab.model.row_of(failed_id) is None, timeout=2000)
    assert tab.model.row_of(done_id) is not None

    QTest.mouseClick(tab.clear_button, Qt.MouseButton.LeftButton)
    assert tab.model.rowCount() == 0
    assert path.exists(), "clearing the list leaves the downloaded file alone"
