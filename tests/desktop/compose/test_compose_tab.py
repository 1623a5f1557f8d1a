"""The Compose tab with the real RenderService on a real Library, before anything is rendered.

Pasting parameters, the missing-asset list and the mismatch warning only read the catalog: none of
these tests loads the renderer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton, QWidget
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from core.jobs import Progress
from core.render.recipe import Sampler
from desktop.compose.compose_tab import READY_HINT, START_HINT, ComposeTab
from desktop.main_window import MainWindow
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory

INFOTEXT = (
    "a cat <lora:pixelArtStyle:0.7>, pixel art\n"
    "Negative prompt: blurry, easynegative\n"
    "Steps: 12, Sampler: DPM++ 2M Karras, CFG scale: 5, Seed: 42, Size: 64x96, "
    "Model hash: 1234567890, Model: notHere, Clip skip: 2"
)


def _no_engine() -> object:
    raise AssertionError("these tests must not start the renderer")


@pytest.fixture
def service(populated: PopulatedLibrary, tmp_path: Path) -> RenderService:
    return RenderService(populated.library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]


@pytest.fixture
def tab(
    populated: PopulatedLibrary, service: RenderService, tmp_path: Path, qtbot: QtBot
) -> Iterator[ComposeTab]:
    widget = ComposeTab(populated.library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(widget)
    qtbot.addWidget(widget.board_panel)  # the window docks it; alone, it is its own window
    widget.show()
    widget.board_panel.show()
    yield widget
    widget.shutdown()


def test_pasted_parameters_fill_the_board_and_list_what_is_missing(
    tab: ComposeTab, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    tab.set_civitai_search(True)
    assert tab.paste_parameters(INFOTEXT)
    form = tab.board.parameters
    assert form.prompt.toPlainText() == "a cat , pixel art"  # A1111 removes the tag only
    assert form.negative.toPlainText() == "blurry, easynegative"
    assert (form.steps.value(), form.cfg.value(), form.seed.text()) == (12, 5.0, "42")
    assert (form.width_box.value(), form.height_box.value(), form.clip_skip.value()) == (64, 96, 2)
    assert form.sampler.currentText() == Sampler.DPMPP_2M.value
    assert form.schedule.currentText() == "Karras"
    (lora,) = tab.board.loras.rows
    assert (lora.ref.name, lora.ref.asset_id, lora.weight.value()) == (
        "pixelArtStyle",
        populated.ids["pixelArtStyle"],
        0.7,
    )
    assert [(row.token, row.negative) for row in tab.board.embeddings.rows] == [("easynegative", True)]
    # The checkpoint is not in the library: listed with its hash, and Civitai can be searched for it.
    assert tab.missing.isVisible()
    (missing,) = tab.missing.rows
    assert "notHere" in missing.label.text()
    assert "1234567890" in missing.label.text()
    with qtbot.waitSignal(tab.find_on_civitai) as found:
        missing.find_button.click()
    assert found.args == ["1234567890"]


def test_unreadable_parameters_leave_the_board_alone(tab: ComposeTab, tmp_path: Path) -> None:
    tab.board.parameters.prompt.setPlainText("kept")
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (8, 8)).save(blank)
    assert not tab.paste_parameters(str(blank))
    assert "no generation parameters" in tab.status_label.text()
    assert tab.board.parameters.prompt.toPlainText() == "kept"


def test_a_mismatched_combination_asks_before_rendering(tab: ComposeTab, populated: PopulatedLibrary) -> None:
    # An SDXL VAE decodes SD 1.x's 4-channel latents (it loads), so it is a warning asked about.
    tab.add_assets([populated.ids["dreamshaper_8"], populated.ids["sdxl_vae"]])
    tab.start_render()
    assert tab.banner.isVisible()
    assert "sdxl_vae" in tab.banner.text.text()
    assert "SDXL" in tab.banner.text.text()
    assert not tab.busy  # nothing started before the user confirms
    assert tab.banner.keep_editing.text() == "Keep editing"  # not a second Cancel
    tab.banner.keep_editing.click()
    assert not tab.banner.isVisible()
    assert not tab.busy
    assert tab.status_label.text() == "Render cancelled"


def test_rendering_needs_a_checkpoint_and_grid_axes(tab: ComposeTab) -> None:
    tab.start_render()
    assert "checkpoint" in tab.status_label.text()
    tab.start_grid()
    assert "X axis" in tab.status_label.text()
    tab.grid_x.setText("cfg=a,b")
    tab.start_grid()
    assert not tab.busy
    assert "cfg" in tab.status_label.text().lower()


def test_the_window_has_a_compose_tab_fed_from_the_library(
    populated: PopulatedLibrary, make_services: ServicesFactory, service: RenderService, qtbot: QtBot
) -> None:
    window = MainWindow(make_services(populated.library, render=lambda: service))
    qtbot.addWidget(window)
    window.show()
    assert window.tabs is not None
    assert window.compose_tab is not None
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Library", "Compose"]
    row = window.model.row_of(populated.ids["animeLineart"])
    assert row is not None
    window.select_row(row)
    settings = window.services.settings
    window.set_compose_board_visible(False)
    assert window.compose_dock is not None
    assert not window.compose_dock.isVisible()
    assert settings.compose_board_visible is False  # remembered for the next start
    window.send_to_compose_action.trigger()
    # The board is shown beside the library: the library stays where the user is.
    assert window.tabs.currentWidget() is window.splitter
    assert window.compose_dock.isVisible()
    assert window.compose_board_action.isChecked()
    assert settings.compose_board_visible is True
    assert [r.ref.name for r in window.compose_tab.board.loras.rows] == ["animeLineart"]
    # Other tabs (the sites) get the whole width; back on the library, the board is there again.
    other = QWidget()
    window.tabs.addTab(other, "Site")
    window.tabs.setCurrentWidget(other)
    assert not window.compose_dock.isVisible()
    assert window.compose_board_action.isChecked()  # hidden for this tab, not switched off
    window.tabs.setCurrentWidget(window.splitter)
    assert window.compose_dock.isVisible()
    # It stays beside the Compose tab too, and Render on the board opens that tab.
    window.compose_tab.board_panel.render_button.click()
    assert window.tabs.currentWidget() is window.compose_tab
    assert window.compose_dock.isVisible()
    assert "checkpoint" in window.compose_tab.status_label.text()
    window.close()


def test_a_window_built_in_steps_has_the_board_in_its_view_menu_and_on_f9(
    populated: PopulatedLibrary, make_services: ServicesFactory, service: RenderService, qtbot: QtBot
) -> None:
    """The board's toggle is in the first frame; its View entry and F9 come with the menus' entries."""
    window = MainWindow(make_services(populated.library, render=lambda: service), load_later=True)
    qtbot.addWidget(window)
    ready: list[bool] = []
    window.when_ready(lambda: ready.append(True))
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: bool(ready), timeout=15_000)
    view_entries = [action.text() for action in window.view_menu.actions() if not action.isSeparator()]
    assert view_entries[-3:] == ["Compose &board", "Send to &compose board", "&Render the board"]
    assert window.send_to_compose_action.isEnabled()  # the Compose tab is there
    assert window.compose_dock is not None
    assert window.compose_board_action.shortcut().toString() == "F9"
    visible = window.compose_board_action.isChecked()
    toggle = window.findChild(QToolButton, "composeBoardToggle")
    assert toggle is not None
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    assert window.compose_board_action.isChecked() is not visible
    assert window.compose_dock.isVisible() is not visible
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=15_000)  # a window's shortcuts work while it is active
    qtbot.keyClick(window, Qt.Key.Key_F9)
    assert window.compose_board_action.isChecked() is visible
    assert window.compose_dock.isVisible() is visible
    window.close()


def test_the_start_hint_goes_once_a_checkpoint_is_placed(
    tab: ComposeTab, populated: PopulatedLibrary
) -> None:
    assert tab.status_label.text() == START_HINT
    tab.add_assets([populated.ids["dreamshaper_8"]])
    assert tab.status_label.text() == READY_HINT
    tab.board.checkpoint.clear_button.click()
    assert tab.status_label.text() == START_HINT


def test_progress_shows_what_the_renderer_is_doing(tab: ComposeTab) -> None:
    tab._on_progress(Progress(1, 3, "Loading checkpoint…"))
    assert tab.status_label.text() == "Loading checkpoint…"
    assert tab.progress.text() == "Loading checkpoint…  1 / 3"
    tab._on_progress(Progress(2, 20))
    assert tab.progress.text() == "2 / 20"
