"""Flux.1 parts dragged from the library grid onto the board as a user does it (a real QDrag from the
grid's own startDrag, carried by mouse events to the docked board): the diffusion model lights the
checkpoint slot, its text encoders light and fill their own slots, and a foreign encoder is marked.

Clip skip and the hires fix are offered only where they apply: with no checkpoint (as with an SD one)
both are; a Flux.1 checkpoint (a transformer family: its render takes no clip skip and refuses the hires
fix by name) hides Clip skip and greys the hires group out, saying why in its title and tooltip, and the
recipe leaves both out; once it is removed (its ✕ clicked) both are back as the user left them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyle, QStyleOptionGroupBox
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from catalog.scanner import Scanner
from desktop.compose.board import ComposeBoard
from desktop.main_window import MainWindow
from tests.desktop.compose.test_family_parts import _ids, family_files
from tests.desktop.compose.test_real_drag import Stop, drag_rows
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory

pytestmark = pytest.mark.real_drag
__all__ = ["family_files"]  # the module's fixture, shared with the board tests


def _no_engine() -> object:
    raise AssertionError("drag tests never render")


@pytest.fixture
def window(
    populated: PopulatedLibrary,
    family_files: Path,
    make_services: ServicesFactory,
    tmp_path: Path,
    qtbot: QtBot,
) -> Iterator[MainWindow]:
    for path in family_files.iterdir():
        os.link(path, populated.root_dir / path.name)
    library = populated.library
    Scanner(library).scan()
    service = RenderService(library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
    main = MainWindow(make_services(library, render=lambda: service))
    qtbot.addWidget(main)
    main.resize(max(1400, main.minimumSizeHint().width()), 900)
    main.move(0, 0)
    main.show()
    qtbot.waitExposed(main)
    yield main
    main.close()


def _row(window: MainWindow, stem: str) -> int:
    ids = _ids(window.library)  # type: ignore[arg-type]
    row = window.model.row_of(ids[stem])
    assert row is not None, f"{stem} is not in the grid"
    return row


def test_flux_parts_dragged_from_the_grid_fill_their_slots(window: MainWindow) -> None:
    assert window.compose_tab is not None
    board = window.compose_tab.board
    window.set_view_mode("grid")
    center = board.checkpoint.rect().center()
    drag_rows(window.grid, [_row(window, "flux1-dev-fp8")], [Stop(board.checkpoint, center)])
    assert board.checkpoint.ref is not None
    assert [row.slot.id for row in board.text_encoders.rows if row.slot] == ["clip_l", "t5xxl"]

    seen: dict[str, bool] = {}

    def hovering() -> None:
        seen["encoders lit"] = board.text_encoders.drop_highlighted
        seen["vae lit"] = board.vae.drop_highlighted

    rows = [_row(window, "t5xxl_fp16"), _row(window, "clip_l"), _row(window, "qwen_3_4b")]
    drag_rows(window.grid, rows, [Stop(board.checkpoint, center, check=hovering)])
    assert seen == {"encoders lit": True, "vae lit": False}
    shown = [(row.caption.text(), row.name_label.text()) for row in board.text_encoders.rows]
    assert shown == [
        ("CLIP-L (clip_l)", "clip_l"),
        ("T5-XXL (t5xxl)", "t5xxl_fp16"),
        ("Text encoder", "qwen_3_4b"),
    ]
    assert board.text_encoders.rows[2].fit_badge.text() == (
        "Qwen3 4B text encoder — does not fit this FLUX.1 checkpoint"
    )


def _click_hires_checkbox(qtbot: QtBot, board: ComposeBoard) -> None:
    group = board.parameters.hires
    option = QStyleOptionGroupBox()
    group.initStyleOption(option)
    box = group.style().subControlRect(
        QStyle.ComplexControl.CC_GroupBox, option, QStyle.SubControl.SC_GroupBoxCheckBox, group
    )
    qtbot.mouseClick(group, Qt.MouseButton.LeftButton, pos=box.center())


def test_clip_skip_and_hires_are_offered_only_where_they_apply(window: MainWindow, qtbot: QtBot) -> None:
    assert window.compose_tab is not None
    board = window.compose_tab.board
    form = board.parameters
    window.set_view_mode("grid")
    assert form.form.isRowVisible(form.clip_skip)
    assert form.hires.isEnabled()
    form.clip_skip.setValue(2)
    _click_hires_checkbox(qtbot, board)
    assert form.hires.isChecked()

    center = board.checkpoint.rect().center()
    drag_rows(window.grid, [_row(window, "flux1-dev-fp8")], [Stop(board.checkpoint, center)])
    assert board.checkpoint.ref is not None
    assert not form.form.isRowVisible(form.clip_skip)
    assert not form.hires.isEnabled()
    assert not form.hires.isChecked()
    assert form.hires.title() == "Hires fix (not for this checkpoint)"
    assert form.hires.toolTip() == "The hires fix is not available for Flux.1 yet"
    recipe = board.recipe()
    assert recipe.clip_skip == 1
    assert recipe.hires is None
    _click_hires_checkbox(qtbot, board)  # greyed out: a click does nothing
    assert board.recipe().hires is None

    qtbot.mouseClick(board.checkpoint.clear_button, Qt.MouseButton.LeftButton)
    assert board.checkpoint.ref is None
    assert form.form.isRowVisible(form.clip_skip)
    assert form.hires.isEnabled()
    assert form.hires.isChecked()  # as the user left it
    assert form.hires.title() == "Hires fix"
    recipe = board.recipe()
    assert recipe.clip_skip == 2
    assert recipe.hires is not None
