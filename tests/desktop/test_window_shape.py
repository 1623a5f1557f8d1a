"""The window's shape across starts and screens, in fresh processes on offscreen screens of a real size:
reopened as the user left it (size, place, panes, board, sort), within a smaller screen, and a first
start that fits a 1280x720 or 1366x768 laptop screen with the compose board's Render button on it."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog.library import Library
from tests.desktop.conftest import populate
from tests.desktop.fresh_process import DESKTOP_SCREEN, last_line_of

SHAPE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from app.context import AppContext
    from desktop.launch import open_window

    window = open_window(AppContext(sys.argv[1]), ["atelier"])
    app = QApplication.instance()

    def shape():
        screen = window.screen().availableGeometry()
        dock = window.compose_dock
        board = dock.widget() if dock is not None else None
        return {
            "screen": [screen.width(), screen.height()],
            "window": [window.x(), window.y(), window.width(), window.height()],
            "splitter": window.splitter.sizes(),
            "board": dock.width() if dock is not None and dock.isVisible() else None,
            "render right": (
                board.mapTo(window, board.rect().topRight()).x() if board is not None else None
            ),
            "sort": [window.model.query.sort.value, window.model.query.descending],
            "sort shown": [window.filter_bar.sort.currentText(), window.filter_bar.order.isChecked()],
            "status bar bottom": window.statusBar().mapTo(
                window, window.statusBar().rect().bottomLeft()
            ).y(),
        }

    def leave():  # the shape it opened in, then the one the user leaves it in (argv[3]: "1300x800")
        start = shape()
        width, height = (int(n) for n in sys.argv[3].split("x"))
        window.resize(width, height)
        window.move(50, 40)
        QTest.qWait(100)
        window.splitter.setSizes([180, 10_000, 320])
        # The user's sort: "Size", then the order button, with the mouse.
        sort = window.filter_bar.sort
        sort.setCurrentIndex(sort.findData("size"))
        QTest.mouseClick(window.filter_bar.order, Qt.MouseButton.LeftButton)
        QTest.qWait(100)
        left = shape()
        window.close()
        print(json.dumps({"start": start, "left": left}))
        app.quit()

    def report():
        print(json.dumps(shape()))
        app.quit()

    action = leave if sys.argv[2] == "leave" else report
    window.when_ready(lambda: QTimer.singleShot(300, action))
    app.exec()
    """
)


def _profile(tmp_path: Path, *, with_library: bool) -> Path:
    data = tmp_path / "profile"
    library = Library.open(data / "catalog.sqlite3")
    try:
        if with_library:
            populate(library, tmp_path / "models")
    finally:
        library.close()
    (data / "settings.json").write_text(json.dumps({"first_start_done": True}))
    return data


def _run(data: Path, *action: str, screen: tuple[int, int] = DESKTOP_SCREEN) -> dict[str, Any]:
    return dict(json.loads(last_line_of(SHAPE_SCRIPT, str(data), *action, timeout=90, screen=screen)))


@pytest.fixture(scope="module")
def three_starts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One user's three starts, each a fresh process (they are what the two tests below look at, and
    each start takes seconds): a first start on a 1920x1080 desktop screen left at 1300x800 sorted by
    size; the next start there, left at 1800x1000; then a start on a 1280x720 laptop screen."""
    data = _profile(tmp_path_factory.mktemp("shape"), with_library=True)
    first = _run(data, "leave", "1300x800")
    second = _run(data, "leave", "1800x1000")
    settings = json.loads((data / "settings.json").read_text())
    small = _run(data, "report", screen=(1280, 720))
    return {"first": first, "second": second, "settings after the second": settings, "small": small}


def test_the_window_reopens_as_the_user_left_it(three_starts: dict[str, Any]) -> None:
    """It came back 1584x860 sorted by Name whatever the user had left (settings.json kept neither)."""
    left = three_starts["first"]["left"]
    assert left["window"][2:] == [1300, 800]
    assert left["sort"] == ["size", True]

    again = three_starts["second"]["start"]  # as the second start opened, before the user touched it

    assert again["window"] == left["window"], "the same size, at the same place"
    assert again["splitter"] == left["splitter"], "the sidebar, library and details as wide as left"
    assert again["board"] == left["board"]
    assert again["sort"] == ["size", True], "the rows sorted as left"
    assert again["sort shown"] == ["Sort: Size", True], "and the filter bar says so"
    settings = three_starts["settings after the second"]
    assert settings["first_start_done"] is True, "the other settings kept"


def test_a_window_left_on_a_larger_screen_opens_within_a_smaller_one(three_starts: dict[str, Any]) -> None:
    big = three_starts["first"]["start"]  # no geometry yet: the first start's shape, the screen's size
    assert big["window"][2] > 1300
    assert three_starts["second"]["left"]["window"][2:] == [1800, 1000], "left at 1800x1000 on 1920x1080"

    small = three_starts["small"]
    width, height = small["screen"]
    x, y, shown_width, shown_height = small["window"]
    assert x >= 0
    assert x + shown_width <= width
    assert y >= 0
    assert y + shown_height <= height - 32, "room left for a title bar"
    assert small["render right"] is not None
    assert small["render right"] <= width
    assert small["sort"][0] == "size"


@pytest.mark.parametrize("screen", [(1280, 720), (1366, 768)])
def test_a_first_start_with_an_empty_library_fits_a_laptop_screen(
    tmp_path: Path, screen: tuple[int, int]
) -> None:
    """Empty library, board shown: the window opened 1315 px wide with a 1315 minimum on a 1280x720
    screen (the empty page's 440 px text, the sidebar, the details pane and the board side by side),
    the board's buttons and Render off the screen."""
    data = _profile(tmp_path, with_library=False)
    seen = _run(data, "report", screen=screen)
    width, height = seen["screen"]
    x, _y, shown_width, shown_height = seen["window"]
    assert seen["board"] is not None, "with the compose board, as on any first start"
    assert x + shown_width <= width
    assert shown_height <= height - 32
    assert seen["render right"] <= x + shown_width


@pytest.fixture(scope="module")
def laptop_start(tmp_path_factory: pytest.TempPathFactory) -> Callable[[tuple[int, int]], dict[str, Any]]:
    """``laptop_start(screen)``: the shape of a first start with the seven-file library on ``screen``,
    one fresh process per screen, shared by the tests that look at that start."""
    seen: dict[tuple[int, int], dict[str, Any]] = {}

    def start(screen: tuple[int, int]) -> dict[str, Any]:
        if screen not in seen:
            data = _profile(tmp_path_factory.mktemp("laptop"), with_library=True)
            seen[screen] = _run(data, "report", screen=screen)
        return seen[screen]

    return start


@pytest.mark.parametrize("screen", [(1366, 768), (1280, 720)])
def test_on_a_laptop_screen_the_window_opens_within_it(
    laptop_start: Callable[[tuple[int, int]], dict[str, Any]], screen: tuple[int, int]
) -> None:
    """It opened at 1360x860 plus the board's 400 whatever the screen: on 1366x768 and 1280x720 its
    status bar and the board's Render button were below the screen's edge."""
    seen = laptop_start(screen)
    width, height = seen["screen"]
    x, y, shown_width, shown_height = seen["window"]
    assert seen["board"] is not None, "with the compose board, as the settings say"
    assert x + shown_width <= width
    assert y + shown_height <= height - 32, "room left for a title bar"
    assert seen["status bar bottom"] < shown_height


def test_on_a_1280x720_screen_the_library_gets_two_columns_of_tiles(
    laptop_start: Callable[[tuple[int, int]], dict[str, Any]],
) -> None:
    """The library pane got ~300 px beside the board, the sidebar and the details pane: one column of
    tiles. The sidebar and the details pane start at their minimums on such a screen."""
    seen = laptop_start((1280, 720))
    _side, library, details = seen["splitter"]
    tile = 160 + 2 * 6  # the default tile and the grid's spacing on both sides
    assert library >= 2 * tile + 20, f"two columns and a scroll bar: {seen['splitter']}"
    assert details >= 300, "the details pane keeps the width its fields need"


@pytest.mark.parametrize(
    "state",
    [
        "bm90IGEgd2luZG93IHN0YXRl",  # base64 of "not a window state"
        # Qt's own state of a window whose one dock is another ("otherDock"): read, but no board in it
        "AAAA/wAAAAD9AAAAAQAAAAAAAAAAAAAAAPwCAAAAAfsAAAASAG8AdABoAGUAcgBEAG8AYwBrAQAAAAD/////AAAAEAD///8AAAAA"
        "AAAAAAAAAAQAAAAEAAAACAAAAAj8AAAAAA==",
        "%%%",  # not base64 at all (a hand-edited file)
    ],
)
def test_a_window_state_qt_cannot_use_leaves_the_board_its_first_start_place(
    tmp_path: Path, state: str
) -> None:
    """The docks' state kept at close (``window_state``) places the board without a Qt enum; one that
    Qt cannot read, or that has no board, gives the board its first start's place beside the library."""
    data = _profile(tmp_path, with_library=True)
    (data / "settings.json").write_text(json.dumps({"first_start_done": True, "window_state": state}))
    seen = _run(data, "report")
    assert seen["board"] is not None, "the board shown beside the library"
    assert seen["render right"] <= seen["window"][2], "its Render button within the window"
    assert seen["splitter"][1] > 0


BOARD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication
    from app.context import AppContext
    from desktop.launch import open_window

    window = open_window(AppContext(sys.argv[1]), ["atelier"])
    app = QApplication.instance()

    def board():
        dock = window.compose_dock
        area = window.dockWidgetArea(dock)
        return {
            "shown": dock.isVisible(),
            "floating": dock.isFloating(),
            "side": "left" if area == Qt.DockWidgetArea.LeftDockWidgetArea else "right",
        }

    def act():
        seen = {"start": board()}
        if sys.argv[2] == "float":
            window.compose_dock.setFloating(True)  # as a double click on its title bar does
        elif sys.argv[2] == "left":
            window.compose_dock.setFloating(False)
            window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.compose_dock)
        QTimer.singleShot(200, lambda: leave(seen))

    def leave(seen):
        seen["left"] = board()
        window.close()  # the window's own close, the floating board with it
        print(json.dumps(seen))
        app.quit()

    window.when_ready(lambda: QTimer.singleShot(300, act))
    app.exec()
    """
)


def test_the_board_comes_back_floating_or_on_the_side_it_was_left(tmp_path: Path) -> None:
    """The docks' state kept at close brings the board back as it was left. A floating board is closed
    with the window, and that close hid the board at the next start, as if the user had closed it."""
    data = _profile(tmp_path, with_library=True)

    def start(action: str) -> dict[str, Any]:
        return dict(json.loads(last_line_of(BOARD_SCRIPT, str(data), action, timeout=90)))

    floated = start("float")
    assert floated["start"] == {"shown": True, "floating": False, "side": "right"}
    assert floated["left"]["floating"] is True
    moved = start("left")
    assert moved["start"] == {"shown": True, "floating": True, "side": "right"}, "floating, still shown"
    assert start("none")["start"] == {"shown": True, "floating": False, "side": "left"}
