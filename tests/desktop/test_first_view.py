"""The window is drawn before the catalog is opened; the first view is read on a job thread.

``MainWindow(load_later=True)`` (what ``run_gui`` makes) paints with no catalog read at all, reads the
rows, counts, folders and tags off the GUI thread, shows them, and only then installs the organizing
features, the site tabs and the Compose tab; start-up work (first-start offer, watcher, scan) waits for
the complete window (``when_ready``).
"""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QFontMetrics
from pytestqt.qtbot import QtBot

from catalog.library import Library
from catalog.records import AssetQuery
from desktop.main_window import MainWindow
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory, populate
from tests.desktop.fresh_process import last_line_of

TIMEOUT = 15_000


class WatchedLibrary:
    """The real library, noting which thread made each call; job-thread reads can be held back."""

    def __init__(self, library: Library) -> None:
        self._library = library
        self.calls: list[tuple[str, bool]] = []  # (method, on the GUI thread)
        self.job_reads_may_go = threading.Event()
        self.job_reads_may_go.set()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._library, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            on_gui = threading.current_thread() is threading.main_thread()
            if not on_gui:
                assert self.job_reads_may_go.wait(TIMEOUT / 1000)
            self.calls.append((name, on_gui))
            return target(*args, **kwargs)

        return call


@pytest.fixture
def watched(populated: PopulatedLibrary) -> WatchedLibrary:
    return WatchedLibrary(populated.library)


@pytest.fixture
def late_window(
    watched: WatchedLibrary, make_services: ServicesFactory, qtbot: QtBot
) -> Iterator[MainWindow]:
    window = MainWindow(make_services(watched), load_later=True)
    qtbot.addWidget(window)
    yield window
    window.close()


def test_the_window_is_drawn_before_any_catalog_read_and_fills_from_a_job_thread(
    late_window: MainWindow, watched: WatchedLibrary, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    assert watched.calls == [], "nothing is read before the window is on screen"
    assert late_window.model.rowCount() == 0
    assert late_window.context_menu_sections == [], "the organizing features come after the rows"
    late_window.show()
    qtbot.waitUntil(lambda: late_window.model.rowCount() > 0, timeout=TIMEOUT)

    expected = populated.library.search_ids(AssetQuery())
    assert list(late_window.model.ids()) == list(expected)
    first_reads = {name for name, on_gui in watched.calls if not on_gui}
    assert {"search_ids", "get_rows", "roots"} <= first_reads
    assert late_window.status.count_label.text() == "7 models", "the count is shown with the rows"
    assert late_window._total == populated.library.facets().total
    # The first page came with the view: showing its rows reads nothing more.
    before = len(watched.calls)
    assert late_window.model.index(0, 0).data()
    assert len(watched.calls) == before

    qtbot.waitUntil(lambda: bool(late_window.context_menu_sections), timeout=TIMEOUT)
    # The counts, tags and update badges came next, also from the job thread.
    first_reads = {name for name, on_gui in watched.calls if not on_gui}
    assert {"facets", "all_tags", "update_asset_ids"} <= first_reads
    read_on_gui = {name for name, on_gui in watched.calls if on_gui}
    assert not read_on_gui & {"search_ids", "get_rows", "facets", "all_tags", "update_asset_ids"}
    assert late_window.status.count_label.text() == "7 models"
    assert late_window.organize_menu.actions(), "Organize › … is filled once the window is complete"
    # The folder tree, read by a feature installed after the roots were shown, still comes.
    root_id = populated.root.id
    qtbot.waitUntil(lambda: late_window.sidebar_model.folder_tree(root_id) is not None, timeout=TIMEOUT)


def test_start_up_work_waits_for_the_complete_window(late_window: MainWindow, qtbot: QtBot) -> None:
    ran: list[tuple[str, int, bool]] = []
    late_window.when_ready(
        lambda: ran.append(("first", late_window.model.rowCount(), bool(late_window.context_menu_sections)))
    )
    late_window.show()
    qtbot.waitUntil(lambda: bool(ran), timeout=TIMEOUT)
    assert ran[0][1] > 0, "after the rows"
    assert ran[0][2], "after the features"
    late_window.when_ready(lambda: ran.append(("later", 0, True)))
    assert ran[-1][0] == "later", "a complete window runs it at once"


def test_a_window_that_is_not_drawn_still_loads_its_first_view(
    late_window: MainWindow, watched: WatchedLibrary, qtbot: QtBot
) -> None:
    """The rows wait for the first frame, but not for ever: a window started minimized still fills."""
    qtbot.wait(200)
    assert watched.calls == [], "the first frame is waited for"
    qtbot.waitUntil(lambda: late_window.model.rowCount() > 0, timeout=TIMEOUT)
    assert not late_window.isVisible()


def test_a_filter_set_while_the_catalog_opens_wins_over_the_first_view(
    late_window: MainWindow, watched: WatchedLibrary, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    watched.job_reads_may_go.clear()  # the job thread is still "opening the catalog"
    late_window.show()
    qtbot.wait(50)
    late_window.filter_bar.search.setText("pixel")
    qtbot.waitUntil(lambda: late_window.model.query.text == "pixel", timeout=TIMEOUT)
    watched.job_reads_may_go.set()
    qtbot.waitUntil(lambda: bool(late_window.context_menu_sections), timeout=TIMEOUT)
    wanted = populated.library.search_ids(AssetQuery(text="pixel"))
    assert 0 < len(wanted) < len(populated.library.search_ids(AssetQuery()))
    assert list(late_window.model.ids()) == list(wanted)


START_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QEvent, QObject, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from app.context import AppContext
    from desktop.launch import open_window

    HEAVY = {
        "sqlalchemy", "alembic", "numpy", "huggingface_hub", "requests", "torch", "diffusers",
        "transformers",
    }
    LATER = {
        "desktop.widgets.details_pane", "desktop.compose.compose_tab", "desktop.tabs.civitai_tab",
        "desktop.models.library_view",  # the first page's read: started once the frame is drawn
        # The records made before the first frame are named tuples (app.settings.Settings says why), and
        # the jobs' module (its Progress a dataclass) comes with the first job.
        "dataclasses", "core.jobs",
    }
    window = open_window(AppContext(sys.argv[1]), ["atelier"])  # as main.py opens it
    app = QApplication.instance()
    seen = {}

    def loaded(names):
        return sorted(names & ({m.split(".")[0] for m in sys.modules} | set(sys.modules)))

    def shape():  # where the window's parts are: the same in the first frame as when complete
        dock = window.compose_dock
        return [
            window.size().toTuple(),
            window.statusBar().geometry().getRect(),
            window.splitter.sizes(),
            dock.geometry().getRect() if dock is not None and dock.isVisible() else None,
        ]

    class FirstFrame(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint and "paint" not in seen:
                seen["paint"] = loaded(HEAVY) + loaded(LATER)
                seen["first shape"] = shape()
            return False

    first_frame = FirstFrame()
    app.installEventFilter(first_frame)

    def rows_arrived():
        if window.model.rowCount() and "rows" not in seen:
            seen["rows"] = [window.model.rowCount(), *loaded(HEAVY)]

    window.model.modelReset.connect(rows_arrived)

    def act():  # what a user does first: open a model, then search
        seen["complete"] = window.model.rowCount()
        seen["complete shape"] = shape()
        view = window.current_view()
        row = window.model.row_of(int(sys.argv[2]))
        rect = view.visualRect(window.model.index(row, 0))
        left, plain = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        QTest.mouseDClick(view.viewport(), left, plain, rect.center())
        record = window.details.record
        seen["opened"] = [record.id if record else None, window.details.title.text()]
        QTest.keyClicks(window.filter_bar.search, "pixel")
        wait_for_search(50)

    def wait_for_search(left):
        if window.model.query.text == "pixel" or left == 0:
            seen["search"] = [window.model.query.text, window.model.rowCount()]
            app.quit()
        else:
            QTimer.singleShot(100, lambda: wait_for_search(left - 1))

    window.when_ready(lambda: QTimer.singleShot(0, act))
    QTimer.singleShot(60_000, app.quit)
    app.exec()
    print(json.dumps(seen))
    """
)


def test_the_real_window_paints_then_shows_rows_without_the_catalog_libraries_and_answers_the_user(
    tmp_path: Path,
) -> None:
    """Through the app's own start (``open_window``, the context's reader and Library), in a fresh
    interpreter: the first frame needs none of the catalog's, sites' or renderer's libraries nor the
    details pane or the other tabs; the first rows come without SQLAlchemy; a model opened with a
    double click shows in the details pane and typing in the search box filters."""
    data = tmp_path / "profile"
    library = Library.open(data / "catalog.sqlite3")
    try:
        populated = populate(library, tmp_path / "models")
        expected = len(library.search_ids(AssetQuery()))
        pixel = len(library.search_ids(AssetQuery(text="pixel")))
    finally:
        library.close()
    chosen = populated.ids["dreamshaper_8"]
    (data / "settings.json").write_text(json.dumps({"first_start_done": True}))
    seen = json.loads(last_line_of(START_SCRIPT, str(data), str(chosen), timeout=90))
    assert seen["paint"] == [], "drawn before the catalog, site and render libraries and the later parts"
    assert seen["rows"] == [expected], "the first rows need no SQLAlchemy"
    assert seen["complete"] == expected
    assert seen["first shape"] == seen["complete shape"], "the first frame has the window's final shape"
    assert seen["first shape"][3] is not None, "with the compose board's room beside the library"
    assert seen["opened"] == [chosen, "dreamshaper_8"]
    assert seen["search"] == ["pixel", pixel]
    assert 0 < pixel < expected


def test_sidebar_headings_have_an_entrys_height_before_the_rows_arrive(
    late_window: MainWindow, watched: WatchedLibrary, qtbot: QtBot
) -> None:
    watched.job_reads_may_go.clear()  # the first view is held back: the window shows headings only
    late_window.show()
    qtbot.waitExposed(late_window)
    sidebar, model = late_window.sidebar, late_window.sidebar_model
    early = [sidebar.visualRect(model.index(row, 0)).height() for row in range(model.rowCount())]
    watched.job_reads_may_go.set()
    qtbot.waitUntil(lambda: late_window.model.rowCount() > 0, timeout=TIMEOUT)
    first_entry = sidebar.visualRect(model.index(0, 0, model.index(0, 0))).height()
    later = [sidebar.visualRect(model.index(row, 0)).height() for row in range(model.rowCount())]
    shown = [row for row, height in enumerate(later) if height > 0]  # an empty section hides its heading
    assert [early[row] for row in shown] == [later[row] for row in shown], "headings keep their height"
    assert min(early) >= first_entry - 2, "a heading is about as tall as an entry, not squeezed"
    line = QFontMetrics(late_window.font()).height()
    assert min(early) > line, "a heading has room around its text, not its small font's height"


def test_the_tab_bar_is_there_from_the_first_paint_and_the_site_tabs_join_it(
    remote: Any, make_services: ServicesFactory, qtbot: QtBot
) -> None:
    window = MainWindow(
        make_services(remote.library, settings=remote.settings, remote=remote.remote), load_later=True
    )
    qtbot.addWidget(window)
    assert window.tabs is not None
    assert window.centralWidget() is window.tabs, "the tab bar is drawn at once: no jump when the tabs arrive"
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Library"]
    window.show()
    qtbot.waitUntil(lambda: window.tabs is not None and window.tabs.count() == 4, timeout=TIMEOUT)
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Library",
        "Civitai",
        "Hugging Face",
        "Downloads",
    ]
    window.close()
