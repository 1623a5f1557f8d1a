"""The window on a catalog server that stops answering, then answers again: a real window on a real
PostgreSQL server stopped in the middle of the test, driven with real clicks on the real tab bar, menus
and dialog.

- The Downloads tab opens while the server is down: nothing raises in its ``showEvent`` (PySide prints
  "Error calling Python override of QWidget::showEvent()" and a traceback for one), the folders read
  before stay listed and the line under them says why they are not read now.
- File › Settings opens and saves while the server is down (settings.json is not in the catalog, and its
  Catalog field is the way to this computer's own catalog then); only the library folders say, inside
  the dialog, that they cannot be read.
- Once the server answers again the status bar says so, and the line a job left when the server did not
  answer ("Scan failed: The catalog server cannot be reached ...") is replaced, not left standing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import TracebackType

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QMenu, QTabBar
from pytestqt.qtbot import QtBot

from desktop.dialogs.settings_dialog import SettingsDialog
from desktop.main_window import MainWindow
from desktop.status_bar import CATALOG_BACK, CATALOG_LOST
from tests import pg_server
from tests.desktop.conftest import PopulatedLibrary

UNREACHABLE = "The catalog server cannot be reached (Connection refused)"
NOT_AVAILABLE = f"Not available: {UNREACHABLE}; try again once it answers."


def _wait_complete(qtbot: QtBot, window: MainWindow) -> None:
    ready: list[bool] = []
    window.when_ready(lambda: ready.append(True))
    qtbot.waitUntil(lambda: bool(ready), timeout=10000)


def _click_tab(qtbot: QtBot, window: MainWindow, title: str) -> None:
    assert window.tabs is not None
    bar = window.tabs.findChild(QTabBar)
    assert bar is not None
    index = next(i for i in range(bar.count()) if bar.tabText(i) == title)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    qtbot.waitUntil(lambda: window.tabs is not None and window.tabs.currentIndex() == index, timeout=3000)


@pytest.mark.timeout(90)
def test_the_downloads_tab_opens_while_the_server_is_down(
    qtbot: QtBot,
    on_server: tuple[MainWindow, PopulatedLibrary],
    pg: pg_server.PgServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window, populated = on_server
    _wait_complete(qtbot, window)
    tab = window.downloads_tab
    assert tab is not None
    folder = str(populated.root_dir)
    _click_tab(qtbot, window, "Downloads")
    assert tab.root_combo.currentData() == folder
    assert tab.root_hint.text().startswith(f"Into {folder}: ")
    _click_tab(qtbot, window, "Library")
    # An exception a Qt override raises reaches sys.excepthook as "Error calling Python override of
    # QWidget::showEvent(): …" (PySide prints it): seen here before the window's catalog guard.
    raised: list[BaseException] = []
    guard = sys.excepthook

    def seen(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> object:
        if "Error calling Python override" in str(error):  # as PySide words a virtual's exception
            raised.append(error)
        return guard(kind, error, trace)

    monkeypatch.setattr(sys, "excepthook", seen)

    with pg_server.stopped(pg):
        _click_tab(qtbot, window, "Downloads")
        QApplication.processEvents()
        assert raised == []
        assert tab.root_hint.text() == f"{UNREACHABLE}: the folders listed are the ones read before."
        assert tab.root_combo.currentData() == folder  # not emptied to "Choose folder…"
        _click_tab(qtbot, window, "Library")

    _click_tab(qtbot, window, "Downloads")
    assert tab.root_hint.text().startswith(f"Into {folder}: ")
    assert raised == []


def _file_menu_item(window: MainWindow, text: str) -> tuple[QMenu, QAction]:
    for top in window.menuBar().actions():
        menu = top.menu()
        if isinstance(menu, QMenu):
            for action in menu.actions():
                if action.text() == text:
                    return menu, action
    raise AssertionError(text)


@pytest.mark.timeout(90)
def test_settings_open_and_save_while_the_server_is_down(
    qtbot: QtBot,
    on_server: tuple[MainWindow, PopulatedLibrary],
    pg: pg_server.PgServer,
    tmp_path: Path,
) -> None:
    window, _populated = on_server
    _wait_complete(qtbot, window)
    settings_file = tmp_path / "profile" / "settings.json"  # the window's profile (window_on_server)
    seen: dict[str, object] = {}

    def in_the_dialog() -> None:  # runs inside the dialog's exec(), as the user's clicks would
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SettingsDialog):
            QTimer.singleShot(50, in_the_dialog)
            return
        problem = dialog.findChild(QLabel, "foldersProblem")
        seen["problem"] = problem.text() if problem is not None and problem.isVisible() else ""
        seen["folders enabled"] = dialog.add_folder_button.isEnabled()
        seen["download folder enabled"] = dialog.sites is not None and dialog.sites.download_root.isEnabled()
        field = dialog.catalog_url
        QTest.mouseClick(field, Qt.MouseButton.LeftButton)
        field.selectAll()
        QTest.keyClick(field, Qt.Key.Key_Delete)  # back to this computer's own catalog file
        buttons = dialog.findChild(QDialogButtonBox)
        assert buttons is not None
        QTest.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

    with pg_server.stopped(pg):
        window.status.flash("")
        menu, action = _file_menu_item(window, "&Settings…")
        bar = window.menuBar()
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(menu.menuAction()).center())
        qtbot.waitUntil(menu.isVisible, timeout=3000)
        QTimer.singleShot(0, in_the_dialog)
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
        qtbot.waitUntil(lambda: "problem" in seen, timeout=5000)
        qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None, timeout=5000)

        assert seen["problem"] == NOT_AVAILABLE
        assert seen["folders enabled"] is False
        assert seen["download folder enabled"] is False
        assert json.loads(settings_file.read_text(encoding="utf-8"))["catalog_url"] == ""
        assert window.status.flashed() != NOT_AVAILABLE


@pytest.mark.timeout(90)
def test_the_status_bar_says_the_server_answers_again_and_drops_the_stale_line(
    qtbot: QtBot, on_server: tuple[MainWindow, PopulatedLibrary], pg: pg_server.PgServer
) -> None:
    window, _populated = on_server
    _wait_complete(qtbot, window)
    status = window.status
    assert window.live_changes is not None
    with pg_server.stopped(pg):
        qtbot.waitUntil(status.catalog_state.isVisible, timeout=10000)  # the feed lost its server
        assert status.catalog_state.text() == CATALOG_LOST
        assert "stopped" in status.catalog_state.toolTip()
        window.rescan()
        qtbot.waitUntil(lambda: window.current_job is None, timeout=10000)
        assert status.job_label.text() == f"Scan failed: {UNREACHABLE}"

    qtbot.waitUntil(lambda: status.flashed() == CATALOG_BACK, timeout=20000)
    assert not status.catalog_state.isVisible()
    assert status.job_label.text() == CATALOG_BACK  # the scan's line is stale: replaced
    status.flash("")
    assert "cannot be reached" not in status.job_label.text()
