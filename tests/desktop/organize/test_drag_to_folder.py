"""Library rows dragged onto a folder in the sidebar move there, and onto a collection join it, as a user
drags them: the grid's own startDrag makes the QDrag and Qt carries it under mouse events (see
``tests.desktop.compose.conftest`` for why these run on the ``minimal`` platform, in one child pytest per
module: the collection's drag is here, not in ``test_collections_menu.py``, to share this one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from desktop.models.sidebar_model import Section, SidebarRole
from desktop.widgets.sidebar_view import AUTO_EXPAND_MS
from tests.desktop.compose.test_real_drag import Stop, drag_rows
from tests.desktop.conftest import PopulatedLibrary
from tests.desktop.organize.test_collections_menu import PICKS, _collection, _members, picks

pytestmark = pytest.mark.real_drag
__all__ = ["picks"]  # the collection the drag joins, test_collections_menu's fixture


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

    def over_kinds() -> None:
        seen["over kinds"] = QPersistentModelIndex(sidebar.drop_target)

    kinds = sidebar.visualRect(window.sidebar_model.section_index(Section.KINDS)).center()
    rows = [_row(window, ids["pixelArtStyle"]), _row(window, ids["animeLineart"])]
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        drag_rows(
            window.grid,
            rows,
            [
                # In over an entry that is not a folder first: the drag must still reach the folders.
                Stop(sidebar.viewport(), kinds, check=over_kinds),
                Stop(sidebar.viewport(), sidebar.visualRect(styles).center(), check=while_hovering),
            ],
        )
    assert not seen["over kinds"].isValid()  # nothing lit over "Kinds"
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


def test_a_drag_resting_on_a_closed_folder_opens_it(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    root = populated.root_dir
    sidebar = window.sidebar
    root_index = _shown(window, str(root))
    sidebar.collapse(root_index)
    root_rect = sidebar.visualRect(root_index)
    second_child = root_rect.center() + QPoint(0, 2 * root_rect.height())  # "styles", once open
    seen: dict[str, bool] = {}

    def rested() -> None:
        seen["opened"] = sidebar.isExpanded(root_index)

    with qtbot.waitSignal(window.job_ended, timeout=10000):
        drag_rows(
            window.grid,
            [_row(window, populated.ids["easynegative"])],
            [
                Stop(sidebar.viewport(), root_rect.center(), rest_ms=AUTO_EXPAND_MS + 300, check=rested),
                Stop(sidebar.viewport(), second_child),
            ],
        )
    assert seen["opened"]
    assert (root / "styles" / "easynegative.pt").is_file()


def test_rows_dropped_on_a_folder_of_another_kind_are_asked_about_first(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, tmp_path: Path
) -> None:
    """A LoRA dropped on AUTOMATIC1111's embeddings folder: asked before it moves (Move anyway)."""
    from core.taxonomy import LibraryLayout
    from desktop.organize.file_actions import FileActions

    webui = tmp_path / "stable-diffusion-webui"
    embeddings = webui / "embeddings"
    embeddings.mkdir(parents=True)
    a1111 = populated.library.add_root(webui, LibraryLayout.A1111)
    window.refresh_sidebar()
    qtbot.waitUntil(lambda: window.sidebar_model.folder_tree(a1111.id) is not None, timeout=5000)
    actions = window.file_actions  # type: ignore[attr-defined]
    assert isinstance(actions, FileActions)
    sidebar = window.sidebar
    target = _shown(window, str(embeddings))
    drag_rows(
        window.grid,
        [_row(window, populated.ids["animeLineart"])],
        [Stop(sidebar.viewport(), sidebar.visualRect(target).center())],
    )
    qtbot.waitUntil(lambda: actions.kind_dialog is not None, timeout=3000)
    dialog = actions.kind_dialog
    assert dialog is not None
    assert dialog.informativeText() == (
        "AUTOMATIC1111 will not load a LoRA from embeddings (it reads an embedding there)."
    )
    source = populated.root_dir / "animeLineart.safetensors"
    assert source.is_file()  # nothing moved while asked
    move = next(b for b in dialog.buttons() if b.text() == "Move anyway")
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        QTest.mouseClick(move, Qt.MouseButton.LeftButton)
    assert (embeddings / "animeLineart.safetensors").is_file()
    assert not source.exists()


def test_rows_dropped_on_a_sidebar_collection_join_it(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, picks: QModelIndex
) -> None:
    sidebar = window.sidebar
    seen: dict[str, object] = {}

    def cursor() -> Qt.CursorShape | None:
        override = QGuiApplication.overrideCursor()  # what the drag shows the user
        return override.shape() if override is not None else None

    def over_kinds() -> None:
        seen["kinds"] = (QPersistentModelIndex(sidebar.drop_target), cursor())

    def over_picks() -> None:
        seen["picks"] = (QPersistentModelIndex(sidebar.drop_target), cursor())

    kinds = sidebar.visualRect(window.sidebar_model.section_index(Section.KINDS)).center()
    rows = [window.model.row_of(populated.ids[name]) for name in ("easynegative", "animeLineart")]
    drag_rows(
        window.grid,
        [row for row in rows if row is not None],
        [
            Stop(sidebar.viewport(), kinds, check=over_kinds),  # takes nothing: the refusal cursor
            Stop(sidebar.viewport(), sidebar.visualRect(picks).center(), check=over_picks),
        ],
    )
    target, shape = seen["kinds"]  # type: ignore[misc]
    assert not target.isValid()
    assert shape == Qt.CursorShape.ForbiddenCursor
    target, shape = seen["picks"]  # type: ignore[misc]
    assert target == QPersistentModelIndex(picks)  # lit while hovered
    assert shape == Qt.CursorShape.DragCopyCursor  # and the drop is accepted
    qtbot.waitUntil(lambda: len(_members(populated)) == 3, timeout=3000)
    assert _members(populated) == {"dreamshaper_8.safetensors", "easynegative.pt", "animeLineart.safetensors"}
    assert window.status.flashed() == f"Added 2 files to “{PICKS}”"
    assert _collection(window).data(SidebarRole.COUNT) == 3  # the sidebar's count follows
    for name in ("easynegative.pt", "animeLineart.safetensors"):
        assert (populated.root_dir / name).is_file()  # joined the collection, not moved

    # Dropped again: said, nothing changed.
    row = window.model.row_of(populated.ids["easynegative"])
    assert row is not None
    drag_rows(
        window.grid, [row], [Stop(sidebar.viewport(), sidebar.visualRect(_collection(window)).center())]
    )
    qtbot.waitUntil(lambda: "already" in window.status.flashed(), timeout=3000)
    assert window.status.flashed() == f"“easynegative.pt” is already in “{PICKS}”"
