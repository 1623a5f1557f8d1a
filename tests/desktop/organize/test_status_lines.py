"""The status bar's line after Organize › Apply, a scan the file watcher starts, and a later notice.

The outside tester applied an organize template (7 moves) and saw no "moved 7 files" line, only
"Scan: … 0 new" (the file watcher's scan of Atelier's own moves replaced it); and after Add to
collection the line of a long-finished "Sync mirrors" came back once the notice faded. Driven on the real
window over real files: the template typed and Apply clicked, the watcher's signal, a real scanner, the
context menu's Add to collection clicked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from catalog.library import Library
from catalog.scanner import Scanner
from core.jobs import CancelToken, ProgressCallback
from desktop import main_window, status_bar
from desktop.main_window import SCAN_TITLE, MainWindow
from tests.desktop.conftest import ServicesFactory
from tests.desktop.organize.test_file_actions import (
    click_menu_item,
    hover_menu_item,
    menu_action,
    open_context_menu,
)
from tests.desktop.organize.test_template_dialog import (
    TemplateSettings,
    _open,
    _plan_soon,
    _type_template,
    real_library,
)

# The fixtures: the library, used by name; the template dialog's short plan delay, on for every test.
__all__ = ["_plan_soon", "real_library"]

MOVED = "Organize by template: moved 5 files"


@pytest.fixture
def window(
    real_library: tuple[Library, Path],
    make_services: ServicesFactory,
    trash_home: Path,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MainWindow]:
    library, _root = real_library
    # The watcher's rescan starts 50 ms after its last signal instead of 500 ms: the same debounce timer
    # (its interval is read when the window is built); the tests wait for the scan's end either way.
    monkeypatch.setattr(main_window, "WATCH_DEBOUNCE_MS", 50)

    def scan(ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken) -> object:
        return Scanner(library, progress=progress, cancel=cancel).scan(ids)

    main = MainWindow(make_services(library, settings=TemplateSettings(), scan_roots=scan))
    qtbot.addWidget(main)
    main.resize(1360, 860)
    main.show()
    qtbot.waitExposed(main)
    yield main
    main.close()


def _organize(window: MainWindow, qtbot: QtBot) -> None:
    dialog = _open(window, qtbot)
    _type_template(dialog, qtbot, "{kind}/{architecture}/{creator}")
    with qtbot.waitSignal(window.job_ended, timeout=15000):
        QTest.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert window.status.job_label.text() == MOVED


def test_the_watchers_scan_of_our_own_moves_leaves_the_organize_line(
    window: MainWindow, qtbot: QtBot
) -> None:
    _organize(window, qtbot)
    with qtbot.waitSignal(window.job_ended, timeout=15000, check_params_cb=lambda title: title == SCAN_TITLE):
        window.files_changed.emit()  # what the watcher sends for the moves it saw
    assert window.status.job_label.text() == MOVED


def test_a_scan_the_user_asks_for_says_its_outcome(window: MainWindow, qtbot: QtBot) -> None:
    _organize(window, qtbot)
    with qtbot.waitSignal(window.job_ended, timeout=15000, check_params_cb=lambda title: title == SCAN_TITLE):
        window.rescan()
    assert window.status.job_label.text().startswith("Scan: ")


def test_an_old_jobs_line_does_not_come_back_after_a_later_notice(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_bar, "FLASH_MS", 300)
    monkeypatch.setattr(status_bar, "OUTCOME_FOLLOW_UP_S", 0.3)
    _organize(window, qtbot)
    qtbot.wait(500)  # the user does something else a while later
    record = window.model.record(0)
    assert record is not None
    menu = open_context_menu(qtbot, window, record.id)
    hover_menu_item(menu, "Add to collection")
    submenu = menu_action(menu, "Add to collection").menu()
    qtbot.waitUntil(submenu.isVisible, timeout=3000)
    click_menu_item(qtbot, submenu, "New collection…")
    qtbot.waitUntil(lambda: window.collection_actions.name_dialog is not None, timeout=3000)  # type: ignore[attr-defined]
    dialog = window.collection_actions.name_dialog  # type: ignore[attr-defined]
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    field = dialog.findChild(QLineEdit)
    assert field is not None
    QTest.keyClicks(field, "Favs")
    QTest.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.status.flashed().startswith("Added"), timeout=3000)
    qtbot.waitUntil(lambda: window.status.flashed() == "", timeout=3000)
    assert window.status.job_label.text() == ""  # not the organize line of a while ago
