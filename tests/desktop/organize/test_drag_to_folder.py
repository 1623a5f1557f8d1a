"""Library rows dragged onto a folder in the sidebar move there, as a user drags them: the grid's own
startDrag makes the QDrag and Qt carries it under mouse events (see ``tests.desktop.compose.conftest``
for why these run on the ``minimal`` platform)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from desktop.models.sidebar_model import Section
from tests.desktop.compose.test_real_drag import Stop, drag_rows
from tests.desktop.conftest import PopulatedLibrary

pytestmark = pytest.mark.real_drag


def _row(window: MainWindow, asset_id: int) -> int:
    row = window.model.row_of(asset_id)
    assert row is not None
    return row


def _shown(window: MainWindow, path: str) -> QModelIndex:
    """The sidebar entry of ``path``, its parents expanded and scrolled into view."""
    index = window.sidebar_model.folder_index(path)
    assert index.isValid(), path
    parent = index.parent()
    while parent.isValid():
        window.sidebar.expand(parent)
        parent = parent.parent()
    window.sidebar.scrollTo(index)
    return index


def test_rows_dropped_on_a_sidebar_folder_move_there(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    root = populated.root_dir
    ids = populated.ids
    styles = _shown(window, str(root / "styles"))
    sidebar = window.sidebar
    seen: dict[str, object] = {}

    def while_hovering() -> None:
        seen["target"] = QPersistentModelIndex(sidebar.drop_target)

    rows = [_row(window, ids["pixelArtStyle"]), _row(window, ids["animeLineart"])]
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        drag_rows(
            window.grid,
            rows,
            [Stop(sidebar.viewport(), sidebar.visualRect(styles).center(), check=while_hovering)],
        )
    assert seen["target"] == QPersistentModelIndex(styles)  # the folder was lit while hovered
    assert not sidebar.drop_target.isValid()  # and is not once the drag ended
    for name in ("pixelArtStyle.safetensors", "pixelArtStyle.preview.png", "animeLineart.safetensors"):
        assert (root / "styles" / name).is_file()
        assert not (root / name).exists()
    moved = populated.library.get(ids["animeLineart"])
    assert moved is not None
    assert moved.path == str(root / "styles" / "animeLineart.safetensors")


def test_a_drop_beside_the_folders_moves_nothing(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    sidebar = window.sidebar
    kinds_header = window.sidebar_model.section_index(Section.KINDS)  # not a folder
    drag_rows(
        window.grid,
        [_row(window, populated.ids["dreamshaper_8"])],
        [Stop(sidebar.viewport(), sidebar.visualRect(kinds_header).center())],
    )
    qtbot.wait(200)
    assert window.current_job is None
    assert (populated.root_dir / "dreamshaper_8.safetensors").is_file()
