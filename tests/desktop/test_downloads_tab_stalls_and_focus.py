"""A Downloads row says when no data arrives, Pause hands the focus to Resume, finished rows hint at
their file.

The outside tester killed the file host mid-download: the row stayed at "Downloading 1013 KiB/s · 58 s"
for about 20 s until it turned to Failed. Pausing with the keyboard left the focus on Cancel, where the
next Space threw the download away. Finished rows said nothing of their file or of the double-click that
shows it. Driven here on the real window with a loopback file server and real clicks and key presses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from core.downloads import DownloadRequest, DownloadSource, DownloadStatus
from core.sizes import human_size
from desktop.main_window import MainWindow
from desktop.models.downloads_model import DownloadColumn
from desktop.tabs.downloads_tab import DownloadsTab
from tests.desktop.remote_support import RemoteEnv, downloads_tab
from tests.fakes.file_server import Fault

TIMEOUT = 15_000
BLOCK = 256 * 1024


@pytest.fixture
def window(downloads_window: MainWindow) -> MainWindow:
    return downloads_window


def _enqueue(window: MainWindow, remote: RemoteEnv, path: str, size: int | None = None) -> int:
    assert window.downloads is not None
    request = DownloadRequest(
        url=remote.files.base_url + path,
        target_dir=Path(remote.a1111_root.path) / "models" / "Stable-diffusion",
        source=DownloadSource.URL,
        file_name=path.lstrip("/"),
        expected_size=size,
    )
    return window.downloads.enqueue(request)


def _cell(tab: DownloadsTab, download_id: int, column: DownloadColumn) -> str:
    row = tab.model.row_of(download_id)
    assert row is not None
    return str(tab.model.index(row, column).data())


def _point(tab: DownloadsTab, download_id: int) -> QPoint:
    row = tab.model.row_of(download_id)
    assert row is not None
    return tab.table.visualRect(tab.model.index(row, DownloadColumn.NAME)).center()


def _status(window: MainWindow, download_id: int) -> DownloadStatus:
    assert window.downloads is not None
    return next(r for r in window.downloads.records() if r.id == download_id).status


def test_a_row_that_receives_nothing_says_so_within_seconds_not_its_last_speed(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot
) -> None:
    tab = downloads_tab(window)
    data = b"s" * (2 * BLOCK)
    remote.file_state.add("/stalls.bin", data, Fault(trickle=(BLOCK, 6.0)))  # a block, then 6 s of nothing
    download_id = _enqueue(window, remote, "/stalls.bin", len(data))
    qtbot.waitUntil(lambda: _cell(tab, download_id, DownloadColumn.SPEED).endswith("/s"), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "No data for" in _cell(tab, download_id, DownloadColumn.ERROR), timeout=4000)
    said = _cell(tab, download_id, DownloadColumn.ERROR)
    assert f"waiting for {remote.files.base_url.split('//')[1].rstrip('/')}" in said
    assert _cell(tab, download_id, DownloadColumn.STATUS) == "Waiting"
    assert _cell(tab, download_id, DownloadColumn.SPEED) == "0 KiB/s"
    assert _cell(tab, download_id, DownloadColumn.ETA) == ""
    # The silence is counted as it grows, without any report from the engine.
    qtbot.waitUntil(lambda: _cell(tab, download_id, DownloadColumn.ERROR) != said, timeout=2500)
    # Bytes again: the row is a download again.
    qtbot.waitUntil(lambda: _status(window, download_id) is DownloadStatus.COMPLETED, timeout=TIMEOUT)
    assert _cell(tab, download_id, DownloadColumn.ERROR) == ""
    assert _cell(tab, download_id, DownloadColumn.STATUS) == "Completed"


def test_a_stall_names_the_file_host_civitai_redirected_to_not_civitai(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot
) -> None:
    """Civitai's API hands the download to a file host (307); a stall there names that host, the way the
    retry message does, not the API host of the link the row was queued with."""
    tab = downloads_tab(window)
    data = b"r" * (2 * BLOCK)
    remote.file_state.add("/cdn-stalls.bin", data, Fault(trickle=(BLOCK, 6.0)))
    remote.civitai.state.downloads[990001] = remote.files.base_url + "/cdn-stalls.bin"
    assert window.downloads is not None
    download_id = window.downloads.enqueue(
        DownloadRequest(
            url=remote.civitai.base_url + "/api/download/models/990001",
            target_dir=Path(remote.a1111_root.path) / "models" / "Lora",
            source=DownloadSource.CIVITAI,
            file_name="cdn_stalls.safetensors",
            expected_size=len(data),
        )
    )
    qtbot.waitUntil(lambda: "No data for" in _cell(tab, download_id, DownloadColumn.ERROR), timeout=TIMEOUT)
    said = _cell(tab, download_id, DownloadColumn.ERROR)
    file_host = remote.files.base_url.split("//")[1].rstrip("/")
    civitai_host = remote.civitai.base_url.split("//")[1].rstrip("/")
    assert f"waiting for {file_host} (the file host Civitai pointed to)…" in said, said
    assert civitai_host not in said
    qtbot.waitUntil(lambda: _status(window, download_id) is DownloadStatus.COMPLETED, timeout=TIMEOUT)


def test_a_lost_connection_shows_the_engines_next_try_on_the_row(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot
) -> None:
    tab = downloads_tab(window)
    data = b"c" * (4 * BLOCK)
    remote.file_state.add("/drops.bin", data, Fault(cut_after=BLOCK, trickle=(BLOCK // 4, 0.05)))
    seen: list[tuple[str, str]] = []

    def record(*_args: object) -> None:
        row = tab.model.row_of(download_id)
        if row is not None:
            status = tab.model.index(row, DownloadColumn.STATUS).data()
            seen.append((status, tab.model.index(row, DownloadColumn.ERROR).data()))

    download_id = -1
    tab.model.dataChanged.connect(record)
    download_id = _enqueue(window, remote, "/drops.bin", len(data))
    qtbot.waitUntil(lambda: _status(window, download_id) is DownloadStatus.COMPLETED, timeout=TIMEOUT)
    waits = [text for status, text in seen if status == "Waiting"]
    assert waits, seen
    assert "trying again in" in waits[0]
    assert "(try 2 of " in waits[0]


def test_pause_hands_the_focus_to_resume_never_to_cancel(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot
) -> None:
    tab = downloads_tab(window)
    data = b"p" * (8 * BLOCK)
    remote.file_state.add("/long.bin", data, Fault(trickle=(16 * 1024, 0.05)))
    download_id = _enqueue(window, remote, "/long.bin", len(data))
    qtbot.waitUntil(lambda: _cell(tab, download_id, DownloadColumn.SPEED).endswith("/s"), timeout=TIMEOUT)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    QTest.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=_point(tab, download_id))
    tab.pause_button.setFocus(Qt.FocusReason.TabFocusReason)
    QTest.keyClick(tab.pause_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: _status(window, download_id) is DownloadStatus.PAUSED, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not tab.pause_button.isEnabled(), timeout=3000)
    assert not tab.cancel_button.hasFocus()
    assert tab.resume_button.hasFocus()
    # The next Space continues the download, and the focus comes back to Pause.
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: _status(window, download_id) is not DownloadStatus.PAUSED, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not tab.resume_button.isEnabled(), timeout=3000)
    assert tab.pause_button.hasFocus()
    assert _status(window, download_id) is not DownloadStatus.CANCELLED


def test_a_finished_row_names_its_file_and_the_double_click(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot
) -> None:
    tab = downloads_tab(window)
    assert window.downloads is not None
    remote.file_state.add("/tiny_lora.safetensors", remote.lora)
    with qtbot.waitSignal(window.downloads.completed, timeout=TIMEOUT) as completed:
        download_id = _enqueue(window, remote, "/tiny_lora.safetensors")
    assert completed.args is not None
    path = completed.args[1]
    row = tab.model.row_of(download_id)
    assert row is not None
    tip = tab.model.index(row, DownloadColumn.NAME).data(Qt.ItemDataRole.ToolTipRole)
    assert path in tip
    assert "Double-click to show it in the library" in tip


def test_a_download_paused_while_it_receives_nothing_keeps_showing_its_bytes(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot
) -> None:
    tab = downloads_tab(window)
    data = b"q" * (2 * BLOCK)
    remote.file_state.add("/quiet.bin", data, Fault(trickle=(BLOCK, 6.0)))
    download_id = _enqueue(window, remote, "/quiet.bin", len(data))
    qtbot.waitUntil(lambda: "No data for" in _cell(tab, download_id, DownloadColumn.ERROR), timeout=8000)
    QTest.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=_point(tab, download_id))
    QTest.mouseClick(tab.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _cell(tab, download_id, DownloadColumn.STATUS) == "Paused", timeout=3000)
    assert _cell(tab, download_id, DownloadColumn.PROGRESS).startswith(human_size(BLOCK))
    assert _cell(tab, download_id, DownloadColumn.ERROR) == ""  # no "No data" on a row the user paused
