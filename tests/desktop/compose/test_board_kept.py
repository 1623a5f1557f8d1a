"""The compose board survives a restart, and follows a rename made in the window.

A user mid-composition quits and starts again: the checkpoint, the LoRA with its weight, the embedding,
the prompts and the settings typed into the board's own widgets are all back (read from the data folder
after the window is built); a file that left the library meanwhile is listed as missing. A LoRA renamed
with F2 shows its new name on the board and in the plan.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from desktop.compose.board_state import BOARD_FILE, read_board
from desktop.compose.compose_tab import ComposeTab
from desktop.main_window import MainWindow
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory
from tests.desktop.organize.test_file_actions import actions, focus


def _no_engine() -> object:
    raise AssertionError("these tests never render")


def _window(
    populated: PopulatedLibrary, make_services: ServicesFactory, tmp_path: Path, qtbot: QtBot
) -> MainWindow:
    service = RenderService(populated.library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
    window = MainWindow(make_services(populated.library, render=lambda: service))
    qtbot.addWidget(window)
    window.resize(1500, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


def _tab(window: MainWindow) -> ComposeTab:
    assert window.compose_tab is not None
    return window.compose_tab


def _send(window: MainWindow, asset_id: int) -> None:
    row = window.model.row_of(asset_id)
    assert row is not None
    window.select_row(row)
    window.send_to_compose_action.trigger()


def _type_into(qtbot: QtBot, widget: QWidget, text: str) -> None:
    """Clicks the field, selects what it holds and types ``text``, then Enter: as a user commits it."""
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def test_the_board_comes_back_after_quitting_and_starting_again(
    populated: PopulatedLibrary, make_services: ServicesFactory, tmp_path: Path, qtbot: QtBot
) -> None:
    ids = populated.ids
    window = _window(populated, make_services, tmp_path, qtbot)
    board = _tab(window).board
    form = board.parameters
    for name in ("dreamshaper_8", "animeLineart", "easynegative"):
        _send(window, ids[name])
    (lora,) = board.loras.rows
    _type_into(qtbot, lora.weight.spin, "0.65")
    qtbot.mouseClick(form.prompt.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(form.prompt, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(form.prompt, "a red castle, ")
    qtbot.mouseClick(form.negative.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(form.negative, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(form.negative, ", blurry")
    _type_into(qtbot, form.steps, "31")
    _type_into(qtbot, form.cfg, "5.5")
    _type_into(qtbot, form.seed, "4242")
    _type_into(qtbot, form.width_box, "512")
    _type_into(qtbot, form.height_box, "768")
    form.sampler.setFocus()
    qtbot.keyClick(form.sampler, Qt.Key.Key_Down)
    before = board.recipe()
    assert before.sampler != form.sampler.itemText(0)  # the key moved it off the first sampler
    assert (before.steps, before.cfg, before.seed, before.width, before.height) == (
        31,
        5.5,
        4242,
        512,
        768,
    )
    saved = populated.library.renders_dir.parent / BOARD_FILE
    # Written a moment after the last change, before any quit (a killed session keeps it too).
    qtbot.waitUntil(lambda: saved.is_file() and read_board(saved) == before, timeout=5000)
    window.close()  # File > Quit: the window is torn down

    again = _window(populated, make_services, tmp_path, qtbot)
    restored = _tab(again).board
    after = restored.recipe()
    assert after == before
    assert restored.checkpoint.ref is not None
    assert restored.checkpoint.ref.asset_id == ids["dreamshaper_8"]
    (row,) = restored.loras.rows
    assert (row.ref.name, row.weight.value()) == ("animeLineart", 0.65)
    assert [(r.token, r.negative) for r in restored.embeddings.rows] == [("easynegative", True)]
    shown = restored.parameters
    assert shown.prompt.toPlainText() == before.prompt
    assert before.prompt.startswith("a red castle,")
    assert shown.negative.toPlainText().endswith(", blurry")
    assert (shown.steps.value(), shown.cfg.value(), shown.seed.text()) == (31, 5.5, "4242")
    assert (shown.width_box.value(), shown.height_box.value()) == (512, 768)
    assert not _tab(again).missing.isVisible()
    again.close()


def test_a_file_that_left_the_library_comes_back_as_missing(
    populated: PopulatedLibrary, make_services: ServicesFactory, tmp_path: Path, qtbot: QtBot
) -> None:
    ids = populated.ids
    window = _window(populated, make_services, tmp_path, qtbot)
    for name in ("dreamshaper_8", "animeLineart"):
        _send(window, ids[name])
    window.close()
    populated.library.remove_assets([ids["animeLineart"]])
    (populated.root_dir / "animeLineart.safetensors").unlink()

    again = _window(populated, make_services, tmp_path, qtbot)
    tab = _tab(again)
    assert [r.ref.name for r in tab.board.loras.rows] == ["animeLineart"]
    assert tab.missing.isVisible()
    assert [item.name for item in tab.missing.items] == ["animeLineart"]
    assert "not in the library" in tab.status_label.text()
    again.close()


def test_a_renamed_lora_shows_its_new_name_on_the_board_and_in_the_plan(
    populated: PopulatedLibrary, make_services: ServicesFactory, tmp_path: Path, qtbot: QtBot
) -> None:
    ids = populated.ids
    window = _window(populated, make_services, tmp_path, qtbot)
    tab = _tab(window)
    for name in ("dreamshaper_8", "animeLineart"):
        _send(window, ids[name])
    tab.refresh_plan()
    assert any("animeLineart" in line for line in tab.plan_view.lines)
    window.set_view_mode("grid")
    row = window.model.row_of(ids["animeLineart"])
    assert row is not None
    window.select_row(row)
    focus(qtbot, window.grid)
    qtbot.keyClick(window.grid, Qt.Key.Key_F2)
    dialog = actions(window).rename_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.field, "lineTweaker")  # the stem is selected: typing replaces it
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: [r.ref.name for r in tab.board.loras.rows] == ["lineTweaker"], timeout=5000)
    (row,) = tab.board.loras.rows
    assert row.ref.path is not None
    assert Path(row.ref.path).name == "lineTweaker.safetensors"
    assert any("LoRA: lineTweaker" in line for line in tab.plan_view.lines)
    assert not any("animeLineart" in line for line in tab.plan_view.lines)
    window.close()
