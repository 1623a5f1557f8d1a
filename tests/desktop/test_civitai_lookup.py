"""The window's Civitai lookup: after a rescan (the app's after-scan chain) and on demand for a selection,
through real QActions, against the loopback Civitai; and the context menu's offers for unusable files."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from app.after_scan import LookupRequest, look_up_on_civitai
from app.context import AppContext
from app.render_service import RenderService
from catalog.enrich import EnrichSummary
from core.jobs import CancelToken, ProgressCallback
from desktop.dialogs.settings_dialog import SettingsDialog
from desktop.main_window import MainWindow
from desktop.services import DesktopServices
from tests.conftest import CIVITAI_URL_ENV, closed_loopback_url
from tests.desktop.conftest import FakeSettings, PopulatedLibrary, ServicesFactory
from tests.factory.safetensors_writer import write_safetensors
from tests.fakes.civitai_api import CivitaiState, fake_civitai, load_payload
from tests.fakes.server import FakeServer

LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest().upper()


def _model_for(sha256: str) -> dict[str, Any]:
    model: dict[str, Any] = copy.deepcopy(load_payload("04_models_modelId.json"))
    model.update(id=800001, name="Detail Tweaker")
    version = model["modelVersions"][0]
    version.update(id=800002, modelId=800001, name="v2", baseModel="SD 1.5", images=[])
    version["files"][0]["hashes"] = {"SHA256": sha256}
    return model


@pytest.fixture
def files(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    write_safetensors(root / "Lora" / "tweaker.safetensors", LORA, seed=11)
    write_safetensors(root / "Lora" / "homemade.safetensors", LORA, seed=12)
    return root


@pytest.fixture
def civitai(files: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    state = CivitaiState()
    state.add_model(_model_for(_sha256(files / "Lora" / "tweaker.safetensors")))
    with fake_civitai(state) as server:
        monkeypatch.setenv(CIVITAI_URL_ENV, server.base_url)
        yield server


@pytest.fixture
def context(tmp_path: Path, files: Path) -> Iterator[AppContext]:
    context = AppContext(tmp_path / "profile")
    root = context.add_root(files)
    context.scan([root.id])  # cataloged, not hashed yet
    try:
        yield context
    finally:
        context.close()


WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def open_window(qtbot: QtBot, context: AppContext, make_services: ServicesFactory) -> Iterator[WindowFactory]:
    windows: list[MainWindow] = []

    def opener(**overrides: object) -> MainWindow:
        def look_up(request: LookupRequest, progress: ProgressCallback, cancel: CancelToken) -> EnrichSummary:
            return look_up_on_civitai(context, request, progress, cancel)

        values: dict[str, object] = {"look_up_civitai": look_up, **overrides}
        services: DesktopServices = make_services(context.library, **values)
        window = MainWindow(services)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield opener
    for window in windows:
        window.close()


def _select(window: MainWindow, asset_id: int) -> None:
    row = window.model.row_of(asset_id)
    assert row is not None
    window.select_row(row)


def _context_menu(window: MainWindow, qtbot: QtBot) -> QMenu:
    view = window.current_view()
    rect = view.visualRect(window.selection.currentIndex())
    window._show_context_menu(rect.center())
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=2000)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    return menu


def _action(menu: QMenu, text: str) -> Any:
    found = [action for action in menu.actions() if action.text().replace("&", "").startswith(text)]
    assert found, [action.text() for action in menu.actions()]
    return found[0]


def test_look_up_on_civitai_from_the_context_menu_hashes_and_links_the_selection(
    qtbot: QtBot, context: AppContext, files: Path, civitai: FakeServer, open_window: WindowFactory
) -> None:
    window = open_window()
    tweaker = context.library.get_by_path(files / "Lora" / "tweaker.safetensors")
    assert tweaker is not None
    assert tweaker.hashes is None
    _select(window, tweaker.id)

    menu = _context_menu(window, qtbot)
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        _action(menu, "Look up on Civitai").trigger()
        menu.close()

    assert window.status.job_label.text() == "Civitai lookup: 1 found on Civitai, 0 not on Civitai"
    links = [link for link in context.library.remote_links(tweaker.id) if link.version_id]
    assert [(link.version_id, link.model_name) for link in links] == [("800002", "Detail Tweaker")]
    shown = window.details.record
    assert shown is not None
    assert shown.id == tweaker.id
    assert shown.hashes is not None, "the details pane shows the record as it is after the lookup"
    assert shown.hashes.sha256.upper() == _sha256(files / "Lora" / "tweaker.safetensors")
    assert window.details.civitai.model_name.text() == "Detail Tweaker", "the pane shows Civitai's facts"
    posts = [path for method, path, _ in civitai.requests if method == "POST"]
    assert posts == ["/api/v1/model-versions/by-hash"], "only the selection was asked about, once"


def test_a_rescan_hashes_and_looks_up_new_files_by_itself(
    qtbot: QtBot, context: AppContext, files: Path, civitai: FakeServer, open_window: WindowFactory
) -> None:
    window = open_window(
        settings=FakeSettings(hash_in_background=True),
        scan_roots=lambda ids, progress, cancel: context.scan(ids, progress=progress, cancel=cancel),
        hash_pending=lambda progress, cancel: context.hash_pending(progress=progress, cancel=cancel),
    )
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        window.rescan_action.trigger()

    assert "1 found on Civitai, 1 not on Civitai" in window.status.job_label.text()
    tweaker = context.library.get_by_path(files / "Lora" / "tweaker.safetensors")
    assert tweaker is not None
    assert any(link.version_id == "800002" for link in context.library.remote_links(tweaker.id))


def test_with_the_setting_off_nothing_reaches_civitai(
    qtbot: QtBot, context: AppContext, civitai: FakeServer, open_window: WindowFactory
) -> None:
    window = open_window(
        settings=FakeSettings(hash_in_background=True, auto_lookup_civitai=False),
        hash_pending=lambda progress, cancel: context.hash_pending(progress=progress, cancel=cancel),
    )
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        window.rescan_action.trigger()
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        window.hash_action.trigger()

    assert context.library.facets().unhashed == 0, "hashing still ran"
    assert civitai.requests == []


def test_offline_the_lookup_says_one_line_and_keeps_the_files_for_later(
    qtbot: QtBot,
    *,
    context: AppContext,
    files: Path,
    open_window: WindowFactory,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(CIVITAI_URL_ENV, closed_loopback_url())
    window = open_window()
    tweaker = context.library.get_by_path(files / "Lora" / "tweaker.safetensors")
    assert tweaker is not None
    _select(window, tweaker.id)

    with qtbot.waitSignal(window.job_ended, timeout=10000):
        window.look_up_action.trigger()

    text = window.status.job_label.text()
    assert text.startswith("Civitai lookup: ")
    assert "next time" in text
    assert QApplication.activeModalWidget() is None, "no dialog"
    assert context.library.lookup_candidates() != [], "asked again next time"
    assert "Traceback" not in capfd.readouterr().err


def test_unsafe_files_are_not_offered_for_the_board(
    qtbot: QtBot,
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    tmp_path: Path,
) -> None:
    service = RenderService(populated.library, lambda: None, tmp_path / "renders")  # type: ignore[arg-type,return-value]
    window = MainWindow(
        make_services(populated.library, render=lambda: service, look_up_civitai=lambda *_: EnrichSummary())
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)

    _select(window, populated.ids["evil"])
    menu = _context_menu(window, qtbot)
    blocked = _action(menu, "Send to compose board")
    assert not blocked.isEnabled()
    assert "unsafe" in blocked.text()
    assert _action(menu, "Look up on Civitai").text() == "Look up on Civitai (not for unsafe files)"
    assert not _action(menu, "Look up on Civitai").isEnabled()
    menu.close()

    _select(window, populated.ids["pixelArtStyle"])
    menu = _context_menu(window, qtbot)
    offered = _action(menu, "Send to compose board")
    assert offered.isEnabled()
    assert offered is window.send_to_compose_action
    menu.close()
    window.close()


def test_look_up_needs_a_usable_selection(
    qtbot: QtBot, populated: PopulatedLibrary, make_services: ServicesFactory
) -> None:
    asked: list[LookupRequest] = []

    def look_up(request: LookupRequest, progress: ProgressCallback, cancel: CancelToken) -> EnrichSummary:
        asked.append(request)
        return EnrichSummary()

    window = MainWindow(make_services(populated.library, look_up_civitai=look_up))
    qtbot.addWidget(window)
    window.show()
    _select(window, populated.ids["evil"])
    window.look_up_action.trigger()
    assert asked == []
    assert "cannot be" in window.status.flashed()
    window.close()


def test_the_settings_dialog_turns_the_automatic_lookup_off(qtbot: QtBot) -> None:
    settings = FakeSettings()
    dialog = SettingsDialog(settings, [])
    qtbot.addWidget(dialog)
    dialog.show()
    box = dialog.auto_lookup_civitai
    assert box.isChecked(), "on by default"
    QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().bottomLeft() + QPoint(8, -4))
    dialog.accept()

    assert settings.auto_lookup_civitai is False
    assert settings.saves == 1


def test_look_up_on_civitai_keeps_the_whole_selection(
    qtbot: QtBot, context: AppContext, files: Path, civitai: FakeServer, open_window: WindowFactory
) -> None:
    """The outside tester selected all 5 files and ran Library › Look up on Civitai: when it finished
    only one was still selected. Every selected file stays selected, the current one current."""
    window = open_window()
    grid = window.grid
    first = grid.visualRect(window.model.index(0, 0)).center()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=first)
    QTest.keyClick(grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    before = {window.model.asset_id(index.row()) for index in window.selection.selectedRows()}
    assert len(before) == window.model.rowCount() == 2
    current = window.current_asset_id()

    with qtbot.waitSignal(window.job_ended, timeout=10000):
        QTest.keyClick(
            grid, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        )
    assert window.status.job_label.text() == "Civitai lookup: 1 found on Civitai, 1 not on Civitai"
    after = {window.model.asset_id(index.row()) for index in window.selection.selectedRows()}
    assert after == before
    assert window.current_asset_id() == current
