"""Every action of the window while the catalog's PostgreSQL server is down: a real window on a real
server, stopped in the middle of the test, every menu item chosen with real clicks on the real menus,
and the library's right-click menu asked for.

Each action that needs the catalog ends in one line in the status bar ("Not available: The catalog server
cannot be reached (Connection refused); try again once it answers." or the organize actions' "Nothing
moved: …"), never in an exception escaping a slot (pytest-qt fails the test on one) or a job that never
ends; once the server is back the same actions work (the board gets the model, the sidecars are written).
Also: the right-click menu of a hashed file on a server (its duplicates are asked with the server's own
placeholders)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QApplication, QDialog, QMenu, QWidget
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from desktop.widgets.civitai_model_page import FILE_COLUMNS
from tests import pg_server
from tests.desktop.conftest import PopulatedLibrary, window_on_server
from tests.desktop.remote_support import HF_LORA_REPO, LORA_MODEL_ID, lora_bytes
from tests.fakes.civitai_api import CivitaiState, fake_civitai
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.server import serve

UNREACHABLE = "The catalog server cannot be reached (Connection refused)"
NOT_AVAILABLE = (
    "Not available: The catalog server cannot be reached (Connection refused); try again once it answers."
)
# Menu items that never ask the catalog (views, the board's dock, About), that first open only a file
# chooser of the system (their catalog work starts once a file is chosen, as a job), or Settings, which
# opens and saves with the server down (tests/desktop/test_window_while_server_is_down.py).
NO_CATALOG = {
    "&Settings…",
    "&Grid",
    "&Table",
    "&Find",
    "Compose &board",
    "&About Atelier",
    "&Quit",
    "&Add library folder…",
    "&Export library list…",
    "&Import library list…",
}


def _wait_complete(qtbot: QtBot, window: MainWindow) -> None:
    """Until every feature's menu items and context-menu sections are there."""
    ready: list[bool] = []
    window.when_ready(lambda: ready.append(True))
    qtbot.waitUntil(lambda: bool(ready), timeout=10000)


def _said(window: MainWindow) -> str:
    """The status bar's line: a flashed notice, else the last job's outcome."""
    return window.status.flashed() or window.status.job_label.text()


def _title(action: QAction) -> str:
    """A job's title as its menu item names it ("&Hash now" -> "Hashing" is the job's own title)."""
    return {"&Rescan": "Scan", "&Hash now": "Hashing", "Check for &updates": "Update check"}.get(
        action.text(), action.text().replace("&", "")
    )


def _open_menu(qtbot: QtBot, window: MainWindow, menu: QMenu) -> None:
    bar = window.menuBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(menu.menuAction()).center())
    qtbot.waitUntil(menu.isVisible, timeout=3000)


def _choose(qtbot: QtBot, window: MainWindow, menu: QMenu, action: QAction) -> None:
    """Opens ``menu`` from the menu bar and clicks ``action`` in it, as a user does."""
    _open_menu(qtbot, window, menu)
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())


def _menu_items(window: MainWindow) -> list[tuple[QMenu, QAction]]:
    items = []
    for top in window.menuBar().actions():
        menu = top.menu()
        assert isinstance(menu, QMenu)
        items += [(menu, a) for a in menu.actions() if not a.isSeparator() and a.menu() is None]
    return items


def _close_dialogs(window: MainWindow) -> None:
    for dialog in window.findChildren(QDialog):
        if dialog.isVisible():
            dialog.reject()


def _right_click(qtbot: QtBot, widget: QWidget, pos: QPoint) -> QMenu:
    """A right click as the window system delivers it: the press, then the context-menu event."""
    qtbot.mousePress(widget, Qt.MouseButton.RightButton, pos=pos)
    QApplication.sendEvent(
        widget, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos))
    )
    qtbot.mouseRelease(widget, Qt.MouseButton.RightButton, pos=pos)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=3000)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    return menu


def _select(qtbot: QtBot, window: MainWindow, asset_id: int) -> None:
    row = window.model.row_of(asset_id)
    assert row is not None
    view = window.current_view()
    tile = view.visualRect(window.model.index(row, 0)).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=tile)
    qtbot.waitUntil(lambda: window.current_asset_id() == asset_id, timeout=3000)


@pytest.mark.timeout(120)
def test_every_menu_item_says_the_server_does_not_answer_and_works_again_once_it_does(
    qtbot: QtBot, on_server: tuple[MainWindow, PopulatedLibrary], pg: pg_server.PgServer
) -> None:
    window, populated = on_server
    _wait_complete(qtbot, window)
    asset_id = populated.ids["dreamshaper_8"]
    _select(qtbot, window, asset_id)
    tried = []
    with pg_server.stopped(pg):
        for menu, action in _menu_items(window):
            if action.text() in NO_CATALOG or not action.isEnabled():
                continue
            window.status.flash("")
            _choose(qtbot, window, menu, action)
            qtbot.waitUntil(lambda: window.current_job is None, timeout=10000)  # a job's end, too
            qtbot.waitUntil(lambda: "cannot be reached" in _said(window), timeout=5000)
            line = _said(window)
            assert len(line.splitlines()) == 1, action.text()
            assert line in (NOT_AVAILABLE, f"{_title(action)} failed: {UNREACHABLE}") or line.endswith(
                f": {UNREACHABLE}."
            ), action.text()
            _close_dialogs(window)
            tried.append(action.text())

        # The library's right-click menu is not offered: its actions would all fail.
        window.status.flash("")
        view = window.current_view()
        row = window.model.row_of(asset_id)
        assert row is not None
        pos = view.visualRect(window.model.index(row, 0)).center()
        qtbot.mousePress(view.viewport(), Qt.MouseButton.RightButton, pos=pos)
        QApplication.sendEvent(
            view.viewport(),
            QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, view.viewport().mapToGlobal(pos)),
        )
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.RightButton, pos=pos)
        qtbot.waitUntil(lambda: window.status.flashed() == NOT_AVAILABLE, timeout=3000)
        assert QApplication.activePopupWidget() is None

    for expected in (
        "Send to &compose board",
        "&Look up on Civitai",
        "&Write sidecars for selected files",
        "Organize by &template…",
        "&Rescan",
        "&Deleted files…",
        "Find &duplicates…",
        "&Share with other apps…",
        "Operation &history…",
    ):
        assert expected in tried

    # The server is back: the same actions do their work.
    qtbot.waitUntil(
        lambda: window.live_changes is None or window.library.get(asset_id) is not None, timeout=10000
    )
    _select(qtbot, window, asset_id)
    assert window.compose_tab is not None
    send = window.send_to_compose_action
    _choose(qtbot, window, next(m for m, a in _menu_items(window) if a is send), send)
    qtbot.waitUntil(
        lambda: "dreamshaper_8" in window.status.flashed() or _on_board(window, asset_id), timeout=5000
    )
    assert _on_board(window, asset_id)

    write = next((m, a) for m, a in _menu_items(window) if a.text() == "&Write sidecars for selected files")
    _choose(qtbot, window, *write)
    qtbot.waitUntil(lambda: window.status.flashed().startswith("Wrote sidecars for 1 file"), timeout=10000)
    assert any(
        p.name.startswith("dreamshaper_8") and p.suffix == ".json" for p in Path(populated.root_dir).iterdir()
    )


def _on_board(window: MainWindow, asset_id: int) -> bool:
    assert window.compose_tab is not None
    recipe = window.compose_tab.board.recipe()
    return any(ref.asset_id == asset_id for ref in recipe.refs())


@pytest.mark.timeout(60)
def test_the_right_click_menu_of_a_hashed_file_on_a_server_offers_its_actions(
    qtbot: QtBot, on_server: tuple[MainWindow, PopulatedLibrary]
) -> None:
    window, populated = on_server
    _wait_complete(qtbot, window)
    asset_id = populated.ids["pixelArtStyle"]  # hashed: the menu asks the catalog for its duplicates
    _select(qtbot, window, asset_id)
    view = window.current_view()
    row = window.model.row_of(asset_id)
    assert row is not None
    menu = _right_click(qtbot, view.viewport(), view.visualRect(window.model.index(row, 0)).center())
    texts = [a.text() for a in menu.actions()]
    menu.close()
    assert "Open containing folder" in texts
    assert "Write sidecars" in texts


@pytest.fixture
def sites_on_server(
    pg_catalog_url: str, tmp_path: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MainWindow]:
    """``on_server``'s window with its Civitai and Hugging Face tabs on loopback sites."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    for name in ("HF_TOKEN", "HF_ENDPOINT", "ATELIER_CIVITAI_TOKEN", "ATELIER_CIVITAI_URL"):
        monkeypatch.delenv(name, raising=False)
    hub_state = HubState()
    hub_state.add(
        {"id": HF_LORA_REPO, "sha": "b" * 40, "tags": ["lora"]},
        contents={"pixel_lora.safetensors": lora_bytes(tmp_path / "factory")},
    )
    with (
        fake_civitai(CivitaiState.from_reference()) as civitai,
        serve(HubHandler, hub_state) as hub,
        window_on_server(
            pg_catalog_url,
            tmp_path,
            qtbot,
            monkeypatch,
            civitai_base_url=civitai.base_url,
            hf_endpoint=hub.base_url,
            auto_lookup_civitai=False,
        ) as (window, _populated),
    ):
        yield window


@pytest.mark.timeout(90)
def test_the_sites_answer_while_the_catalog_server_does_not(
    qtbot: QtBot, sites_on_server: MainWindow, pg: pg_server.PgServer
) -> None:
    window = sites_on_server
    _wait_complete(qtbot, window)
    hub_tab, civitai_tab = window.huggingface_tab, window.civitai_tab
    assert hub_tab is not None
    assert civitai_tab is not None
    with pg_server.stopped(pg):
        # A Hugging Face repository: its files are listed, none marked as in the library (not known).
        with qtbot.waitSignal(hub_tab.repository_loaded, timeout=10000):
            hub_tab.open_repository(HF_LORA_REPO)
        assert hub_tab.repo_stack.currentIndex() == 1
        assert hub_tab.files_model.rowCount() >= 1
        qtbot.waitUntil(lambda: window.status.flashed() == NOT_AVAILABLE, timeout=3000)

        # A Civitai model: shown, its files' "In library" unknown ("?").
        window.status.flash("")
        page = civitai_tab.page
        with qtbot.waitSignal(page.loaded, timeout=10000):
            page.show_model(LORA_MODEL_ID)
        assert page.files.rowCount() >= 1
        assert page.files.item(0, FILE_COLUMNS.index("In library")).text() == "?"
        qtbot.waitUntil(lambda: window.status.flashed() == NOT_AVAILABLE, timeout=3000)

    # The server is back: the same model says which files the library has ("" or "✓ In library").
    with qtbot.waitSignal(page.loaded, timeout=10000):
        page.show_model(LORA_MODEL_ID)
    assert page.files.item(0, FILE_COLUMNS.index("In library")).text() != "?"


@pytest.mark.timeout(90)
def test_an_edit_dialog_opened_before_the_server_stopped_says_its_change_was_not_saved(
    qtbot: QtBot, on_server: tuple[MainWindow, PopulatedLibrary], pg: pg_server.PgServer
) -> None:
    window, populated = on_server
    _wait_complete(qtbot, window)
    asset_id = populated.ids["easynegative"]
    _select(qtbot, window, asset_id)
    edit = next((m, a) for m, a in _menu_items(window) if a.text() == "&Edit selected files…")
    _choose(qtbot, window, *edit)
    curation = window.curation_actions  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: curation.dialog is not None and curation.dialog.isVisible(), timeout=3000)
    dialog = curation.dialog
    with pg_server.stopped(pg):
        qtbot.mouseClick(dialog.favorite, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(dialog.findChild(QWidget, "applyBulkEdit"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.status.flashed() == f"Not saved: {UNREACHABLE}.", timeout=3000)

    record = populated.library.get(asset_id)
    assert record is not None
    assert record.favorite is False
