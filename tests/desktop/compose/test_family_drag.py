"""Flux.1 parts dragged from the library grid onto the board as a user does it (a real QDrag from the
grid's own startDrag, carried by mouse events to the docked board): the diffusion model lights the
checkpoint slot, its text encoders light and fill their own slots, and a foreign encoder is marked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from catalog.scanner import Scanner
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
