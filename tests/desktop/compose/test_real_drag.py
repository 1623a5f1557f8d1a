"""Drag and drop as a user does it, through a real MainWindow: the library view starts a real QDrag
(its own ``startDrag``), Qt carries it under mouse events to the docked board, the tab bar or the
library, and their real drop handlers run. Nothing here builds a drop event by hand.

Qt's drag loop blocks inside the mouse move that starts it, so the rest of the gesture (moves, pauses,
the release) is played by a timer that fires inside that loop. See conftest.py for the platform.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QItemSelectionModel, QMimeData, QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QDrag
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QWidget
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from catalog.records import UserDataChanges
from catalog.scanner import Scanner
from core.jobs import CancelToken, ProgressCallback
from core.render.png import save_png
from core.taxonomy import AssetKind
from desktop.main_window import MainWindow
from desktop.widgets.drag_tabs import HOVER_SWITCH_MS
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory
from tests.factory.models import kohya_lora, write_case

pytestmark = pytest.mark.real_drag
LEFT, NO_MODIFIER = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


def _no_engine() -> object:
    raise AssertionError("drag tests never render")


@dataclass
class Stop:
    """One point of the gesture: a widget and a point in it, how long to rest there, what to check."""

    widget: QWidget
    point: QPoint
    rest_ms: int = 60
    check: Callable[[], None] | None = None


class Gesture:
    """Plays the moves and the release of a drag from inside Qt's drag loop; records what was seen."""

    def __init__(self, stops: Sequence[Stop]) -> None:
        self.stops = list(stops)
        self.errors: list[BaseException] = []
        self.played = False

    def arm(self) -> None:
        QTimer.singleShot(30, self._play)

    def _play(self) -> None:
        last = self.stops[-1]
        try:
            for stop in self.stops:
                _move(stop.widget, stop.point)
                QTest.qWait(stop.rest_ms)
                _move(stop.widget, stop.point + QPoint(1, 1))  # Qt delivers a move per mouse event
                QTest.qWait(20)
                if stop.check is not None:
                    stop.check()
        except BaseException as error:
            self.errors.append(error)
        finally:
            self.played = True
            window = last.widget.window()
            QTest.mouseRelease(
                window.windowHandle(), LEFT, NO_MODIFIER, last.widget.mapTo(window, last.point + QPoint(1, 1))
            )

    def raise_errors(self) -> None:
        assert self.played, "the drag never started (no drag loop ran)"
        if self.errors:
            raise self.errors[0]


def _move(widget: QWidget, point: QPoint) -> None:
    window = widget.window()
    QTest.mouseMove(window.windowHandle(), widget.mapTo(window, point))


def drag_rows(view: QAbstractItemView, rows: Sequence[int], stops: Sequence[Stop]) -> None:
    """Selects ``rows``, presses on the first and drags: the view's own startDrag makes the QDrag."""
    model, selection = view.model(), view.selectionModel()
    selection.clearSelection()
    for row in rows:
        selection.select(
            model.index(row, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    index = model.index(rows[0], 0)
    view.scrollTo(index)
    start = view.visualRect(index).center()
    gesture = Gesture(stops)
    gesture.arm()
    QTest.mousePress(view.viewport(), LEFT, NO_MODIFIER, start)
    for step in range(1, 4):  # past the start-drag distance: the view starts the drag here
        QTest.mouseMove(view.viewport(), start + QPoint(12 * step, 4 * step))
        if gesture.played:
            break
    gesture.raise_errors()


def drag_files(paths: Sequence[Path], stops: Sequence[Stop]) -> Qt.DropAction:
    """A drag from outside the library (a file manager): a QDrag of file URLs, as a file manager makes."""
    source = QWidget()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    drag = QDrag(source)
    drag.setMimeData(mime)
    gesture = Gesture(stops)
    first = stops[0]
    _move(first.widget, first.point)
    gesture.arm()
    action = drag.exec(Qt.DropAction.CopyAction)
    gesture.raise_errors()
    return action


@pytest.fixture
def window(
    populated: PopulatedLibrary, make_services: ServicesFactory, tmp_path: Path, qtbot: QtBot
) -> Iterator[MainWindow]:
    library = populated.library
    service = RenderService(library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]

    def scan_roots(ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken) -> object:
        return Scanner(library, progress=progress, cancel=cancel).scan(ids)

    main = MainWindow(make_services(library, render=lambda: service, scan_roots=scan_roots))
    qtbot.addWidget(main)
    main.resize(max(1400, main.minimumSizeHint().width()), 860)
    main.move(0, 0)
    main.show()
    qtbot.waitExposed(main)
    assert main.compose_dock is not None
    assert main.compose_dock.isVisible()
    yield main
    main.close()


def _row(window: MainWindow, asset_id: int) -> int:
    row = window.model.row_of(asset_id)
    assert row is not None
    return row


def _center(widget: QWidget) -> QPoint:
    return widget.rect().center()


def test_rows_dragged_from_the_grid_land_on_their_slots(
    window: MainWindow, populated: PopulatedLibrary
) -> None:
    ids = populated.ids
    assert window.compose_tab is not None
    board = window.compose_tab.board
    window.set_view_mode("grid")
    seen: dict[str, bool] = {}

    def while_hovering() -> None:
        seen["checkpoint lit"] = board.checkpoint.drop_highlighted
        seen["loras lit"] = board.loras.drop_highlighted
        seen["vae lit"] = board.vae.drop_highlighted

    rows = [_row(window, ids["dreamshaper_8"]), _row(window, ids["pixelArtStyle"])]
    # Aimed at the embeddings list: each model still goes to the slot of its kind.
    drag_rows(window.grid, rows, [Stop(board.embeddings, _center(board.embeddings), check=while_hovering)])

    assert seen == {"checkpoint lit": True, "loras lit": True, "vae lit": False}
    assert not board.loras.drop_highlighted  # the highlight goes with the drag
    recipe = board.recipe()
    assert recipe.checkpoint is not None
    assert recipe.checkpoint.asset_id == ids["dreamshaper_8"]
    assert [(use.ref.asset_id, use.weight) for use in recipe.loras] == [(ids["pixelArtStyle"], 1.0)]
    # The SDXL LoRA on the SD1 checkpoint is marked as it lands, before any render.
    badge = board.loras.rows[0].fit_badge
    assert not badge.isHidden()
    assert badge.text() == "SDXL LoRA — does not fit this SD 1.x checkpoint"


def test_a_row_dragged_from_the_table_keeps_its_preferred_weight(
    window: MainWindow, populated: PopulatedLibrary
) -> None:
    ids = populated.ids
    updated = populated.library.update_user_data(ids["animeLineart"], UserDataChanges(preferred_weight=0.6))
    window.model.refresh_asset(updated.id, updated)
    assert window.compose_tab is not None
    board = window.compose_tab.board
    window.set_view_mode("table")
    drag_rows(
        window.table, [_row(window, ids["animeLineart"])], [Stop(board.checkpoint, _center(board.checkpoint))]
    )
    assert [(use.ref.name, use.ref.asset_id, use.weight) for use in board.recipe().loras] == [
        ("animeLineart", ids["animeLineart"], 0.6)
    ]


def test_a_drag_resting_on_a_tab_switches_to_it(window: MainWindow, populated: PopulatedLibrary) -> None:
    tabs = window.tabs
    assert tabs is not None
    assert window.compose_tab is not None
    bar = tabs.tabBar()
    compose_index = tabs.indexOf(window.compose_tab)
    board = window.compose_tab.board
    seen: dict[str, int] = {}

    def rested() -> None:
        seen["current"] = tabs.currentIndex()

    drag_rows(
        window.grid,
        [_row(window, populated.ids["dreamshaper_8"])],
        [
            Stop(bar, bar.tabRect(compose_index).center(), rest_ms=HOVER_SWITCH_MS + 250, check=rested),
            Stop(board.checkpoint, _center(board.checkpoint)),
        ],
    )
    assert seen["current"] == compose_index
    checkpoint = board.recipe().checkpoint
    assert checkpoint is not None
    assert checkpoint.asset_id == populated.ids["dreamshaper_8"]
    # Resting on Library goes back; passing quickly over Compose on the way to the board does not switch.
    window.compose_tab.board.clear()
    library_tab = bar.tabRect(0).center()
    drag_files(
        [Path(populated.root_dir / "dreamshaper_8.safetensors")],
        [
            Stop(board.vae, _center(board.vae)),
            Stop(bar, library_tab, rest_ms=HOVER_SWITCH_MS + 250, check=rested),
            Stop(bar, bar.tabRect(compose_index).center(), rest_ms=40),
            Stop(board.checkpoint, _center(board.checkpoint)),
        ],
    )
    assert seen["current"] == 0
    assert tabs.currentIndex() == 0
    assert board.recipe().checkpoint is not None
    # Let go right on the "Compose" tab title: the model goes on the board all the same.
    board.clear()
    drag_rows(
        window.grid,
        [_row(window, populated.ids["pixelArtStyle"])],
        [Stop(bar, bar.tabRect(compose_index).center(), rest_ms=40)],
    )
    assert [use.ref.name for use in board.recipe().loras] == ["pixelArtStyle"]


def _downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "Downloads"
    folder.mkdir()
    return write_case(kohya_lora("sd1", rank=2), folder).rename(folder / "detail_tweaker.safetensors")


def test_files_dropped_on_the_library_are_copied_in_and_scanned(
    window: MainWindow, populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot
) -> None:
    lora = _downloads(tmp_path)
    viewport = window.grid.viewport()
    seen: dict[str, bool] = {}

    def hovering() -> None:
        seen["lit"] = window.library_area.drop_highlighted

    drag_files([lora], [Stop(viewport, _center(viewport), check=hovering)])
    assert seen == {"lit": True}
    dialog = window.import_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.copy_option.isChecked()  # a library folder exists: copying is offered first
    with qtbot.waitSignal(window.job_ended, timeout=20_000):
        dialog.add_button.click()
    copied = populated.root_dir / "detail_tweaker.safetensors"  # a flat library: the root itself
    assert copied.read_bytes() == lora.read_bytes()
    record = populated.library.get_by_path(copied)
    assert record is not None
    assert record.kind is AssetKind.LORA
    assert window.model.row_of(record.id) is not None


def test_files_dropped_on_the_board_are_used_directly_and_a_png_fills_it(
    window: MainWindow, tmp_path: Path
) -> None:
    assert window.compose_tab is not None
    board = window.compose_tab.board
    lora = _downloads(tmp_path)
    drag_files([lora], [Stop(board.loras, _center(board.loras))])
    (use,) = board.recipe().loras
    assert (use.ref.name, use.ref.path, use.ref.asset_id) == ("detail_tweaker", str(lora), None)

    png = tmp_path / "render.png"
    infotext = (
        "a lighthouse at dusk\nNegative prompt: blurry\n"
        "Steps: 14, Sampler: Euler a, CFG scale: 6, Seed: 7, Size: 512x512"
    )
    save_png(Image.new("RGB", (16, 16)), png, infotext)
    drag_files([png], [Stop(board.vae, _center(board.vae))])
    form = board.parameters
    assert form.prompt.toPlainText() == "a lighthouse at dusk"
    assert (form.steps.value(), form.seed.text()) == (14, "7")
    # Dropped, not pasted: the message names the file the parameters came from.
    assert window.compose_tab.status_label.text() == "Parameters read from render.png"


def test_a_render_dragged_from_the_gallery_loads_its_recipe_on_the_board(
    window: MainWindow, populated: PopulatedLibrary
) -> None:
    """The same as its "Load recipe into board": the stored recipe, exactly (LoRA weight, steps, seed)."""
    from catalog.records import NewRender
    from core.render.recipe import LoraUse, Recipe
    from core.render.recipe_codec import recipe_to_dict
    from desktop.compose.board import asset_ref

    library, ids = populated.library, populated.ids
    checkpoint, lora = library.get(ids["dreamshaper_8"]), library.get(ids["animeLineart"])
    assert checkpoint is not None
    assert lora is not None
    recipe = Recipe(
        checkpoint=asset_ref(checkpoint),
        loras=(LoraUse(asset_ref(lora), weight=0.45),),
        prompt="a lighthouse",
        steps=33,
        seed=777,
    )
    library.renders_dir.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), (20, 120, 200)).save(library.renders_dir / "r1.png")
    library.add_render(NewRender(path="r1.png", width=64, height=64, seed=777, recipe=recipe_to_dict(recipe)))
    tab = window.compose_tab
    assert tab is not None
    assert window.tabs is not None
    window.tabs.setCurrentWidget(tab)
    tab.refresh_gallery()
    assert tab.gallery_model.rowCount() == 1
    board = tab.board
    assert board.checkpoint.ref is None

    drag_rows(tab.gallery, [0], [Stop(board.checkpoint, _center(board.checkpoint))])

    loaded = board.recipe()
    assert loaded.checkpoint is not None
    assert loaded.checkpoint.asset_id == ids["dreamshaper_8"]
    assert [(use.ref.asset_id, use.weight) for use in loaded.loras] == [(ids["animeLineart"], 0.45)]
    assert (loaded.prompt, loaded.steps, loaded.seed) == ("a lighthouse", 33, 777)
    assert tab.status_label.text() == "Loaded the render's recipe into the board"
