"""The main window against a real Library on a tmp SQLite file."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from catalog.library import Library
from catalog.records import RootRecord
from core.jobs import CancelToken, Progress, ProgressCallback
from core.taxonomy import AssetKind
from desktop import main_window
from desktop.main_window import MainWindow
from desktop.models.asset_table_model import AssetColumn
from desktop.models.sidebar_model import ALL_SCOPE, ScopeKind, SidebarRole, SidebarScope
from desktop.services import DesktopServices
from desktop.widgets.filter_bar import StatusFilter
from desktop.widgets.rating_widget import STAR_GAP, STAR_SIZE
from tests.desktop.conftest import FakeSettings, PopulatedLibrary, ServicesFactory


@pytest.fixture
def window(
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    open_window: Callable[[DesktopServices], MainWindow],
) -> MainWindow:
    return open_window(make_services(populated.library))


def names(window: MainWindow) -> set[str]:
    model = window.model
    return {model.index(row, AssetColumn.NAME).data() for row in range(model.rowCount())}


def select(window: MainWindow, asset_id: int) -> None:
    row = window.model.row_of(asset_id)
    assert row is not None
    window.select_row(row)


def test_the_window_shows_the_library(window: MainWindow) -> None:
    assert window.model.rowCount() == 7
    assert window.view_mode() == "grid"
    assert window.grid.isVisible()
    assert window.status.count_label.text() == "7 models"
    assert window.details.record is None


def test_search_filters_as_you_type(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.keyClicks(window.filter_bar.search, "pixel")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=3000)
    assert names(window) == {"pixelArtStyle"}
    assert window.status.count_label.text() == "1 of 7 models"
    window.filter_bar.search.clear()
    qtbot.waitUntil(lambda: window.model.rowCount() == 7, timeout=3000)


def test_sidebar_entries_filter(qtbot: QtBot, window: MainWindow) -> None:
    sidebar = window.sidebar

    def click(scope: SidebarScope) -> None:
        index = window.sidebar_model.find_scope(scope)
        assert index.isValid()
        sidebar.setCurrentIndex(index)

    click(SidebarScope(ScopeKind.KIND, AssetKind.LORA))
    assert names(window) == {"pixelArtStyle", "animeLineart"}
    assert window.filter_bar.state().kind is AssetKind.LORA
    click(SidebarScope(ScopeKind.PROBLEMS))
    assert names(window) == {"evil"}
    assert window.filter_bar.state().status is StatusFilter.PROBLEMS
    assert window.filter_bar.state().kind is None  # a sidebar entry replaces the previous one
    click(SidebarScope(ScopeKind.FAVORITES))
    assert names(window) == {"dreamshaper_8"}
    click(SidebarScope(ScopeKind.TAG, "style"))
    assert names(window) == {"pixelArtStyle"}
    click(SidebarScope(ScopeKind.ROOT, window.library.roots()[0].id))
    assert len(names(window)) == 7
    click(ALL_SCOPE)
    assert window.model.rowCount() == 7


def test_changing_a_filter_by_hand_releases_the_sidebar_entry(window: MainWindow) -> None:
    window.sidebar.setCurrentIndex(
        window.sidebar_model.find_scope(SidebarScope(ScopeKind.KIND, AssetKind.LORA))
    )
    bar = window.filter_bar
    bar.kind.setCurrentIndex(bar.kind.findData(AssetKind.VAE.value))
    assert names(window) == {"sdxl_vae"}
    assert not window.sidebar.selectionModel().hasSelection()


def test_details_show_reasons_hashes_and_triggers(window: MainWindow, populated: PopulatedLibrary) -> None:
    select(window, populated.ids["pixelArtStyle"])
    details = window.details
    assert details.record is not None
    assert details.record.id == populated.ids["pixelArtStyle"]
    assert details.title.text() == "pixelArtStyle"
    assert "kohya LoRA keys" in details.reasons.text()
    assert not details.refusals_toggle.isVisible()
    assert details.hash_values["SHA256"].text() == "A" * 64
    assert details.hash_values["CRC32"].text() == "C0FFEE00"
    details.hash_copy_buttons["SHA256"].click()
    assert QGuiApplication.clipboard().text() == "A" * 64
    assert [label.text() for label in details.trigger_labels] == ["pixel art", "pixelsprite"]
    details.copy_all_triggers.click()
    assert QGuiApplication.clipboard().text() == "pixel art, pixelsprite"
    assert details.metadata_model.rowCount() == 2
    assert details.path.text().endswith("pixelArtStyle.safetensors")
    assert "228.0 MiB" in details.file_facts.text()


def test_details_explain_an_unknown_file(window: MainWindow, populated: PopulatedLibrary) -> None:
    select(window, populated.ids["mystery"])
    details = window.details
    assert details.refusals_toggle.isVisible()
    assert details.refusals_toggle.text().startswith("Why unknown?")
    assert details.refusals.isVisible()  # open from the start: the refusals are the answer
    assert "lora: no lora_down/lora_up keys" in details.refusals.text()
    assert details.hash_note.isVisible()
    assert details.hash_note.text().startswith("Not hashed yet")
    select(window, populated.ids["evil"])
    assert details.warning.isVisible()
    assert "pickle imports os.system" in details.warning.text()
    assert details.hash_note.text() == "Not hashed: the file is unsafe."  # unreadable files are never hashed


def test_edits_persist_to_the_library(qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary) -> None:
    library = populated.library
    asset_id = populated.ids["sdxl_vae"]
    select(window, asset_id)
    details = window.details
    row = window.model.row_of(asset_id)

    # rating: click the third star
    star = QPoint(2 + 2 * (STAR_SIZE + STAR_GAP) + STAR_SIZE // 2, 2 + STAR_SIZE // 2)
    with qtbot.waitSignal(window.model.dataChanged):
        qtbot.mouseClick(details.rating, Qt.MouseButton.LeftButton, pos=star)
    assert library.get(asset_id).rating == 3
    assert window.model.index(row, AssetColumn.RATING).data() == "★★★☆☆"

    details.favorite.click()
    assert library.get(asset_id).favorite
    assert window.model.index(row, AssetColumn.FAVORITE).data() == "♥"
    assert window.sidebar_model.find_scope(SidebarScope(ScopeKind.FAVORITES)).data(SidebarRole.COUNT) == 2

    details.tags.setFocus()
    details.tags.setText("vae, Style,  fix ")
    details.tags.editingFinished.emit()
    assert library.get(asset_id).tags == ("vae", "style", "fix")  # merged with the existing "style"
    assert details.tags.text() == "vae, style, fix"
    assert window.sidebar_model.find_scope(SidebarScope(ScopeKind.TAG, "vae")).isValid()

    details.collections.setText("favorites-xl")
    details.collections.editingFinished.emit()
    assert library.get(asset_id).collections == ("favorites-xl",)

    details.display_name.setText("SDXL VAE (fixed)")
    details.display_name.editingFinished.emit()
    assert library.get(asset_id).display_name == "SDXL VAE (fixed)"
    assert window.model.index(row, AssetColumn.NAME).data() == "SDXL VAE (fixed)"

    details.notes.setPlainText("use with every XL model")  # saved after a pause in typing
    qtbot.waitUntil(lambda: library.get(asset_id).notes == "use with every XL model", timeout=3000)


def test_notes_are_saved_when_switching_files(window: MainWindow, populated: PopulatedLibrary) -> None:
    first, second = populated.ids["easynegative"], populated.ids["dreamshaper_8"]
    select(window, first)
    window.details.notes.setPlainText("negative embedding, weight 1.0")
    select(window, second)  # before the debounce expires
    assert populated.library.get(first).notes == "negative embedding, weight 1.0"
    assert window.details.notes.toPlainText() == ""


def test_notes_are_saved_on_focus_out(qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary) -> None:
    asset_id = populated.ids["easynegative"]
    select(window, asset_id)
    notes = window.details.notes
    window.activateWindow()
    notes.setFocus()
    qtbot.waitUntil(notes.hasFocus, timeout=2000)
    notes.setPlainText("typed")
    window.filter_bar.search.setFocus()
    qtbot.waitUntil(lambda: populated.library.get(asset_id).notes == "typed", timeout=500)


def test_grid_table_toggle_keeps_the_selection(window: MainWindow, populated: PopulatedLibrary) -> None:
    asset_id = populated.ids["animeLineart"]
    select(window, asset_id)
    row = window.model.row_of(asset_id)
    window.filter_bar.table_button.click()
    assert window.view_mode() == "table"
    assert window.table.isVisible()
    assert [index.row() for index in window.table.selectionModel().selectedRows()] == [row]
    assert window.table.currentIndex().row() == row
    assert window.services.settings.view_mode == "table"
    window.grid_action.trigger()
    assert window.view_mode() == "grid"
    assert window.grid.currentIndex().row() == row
    assert window.details.record is not None
    assert window.details.record.id == asset_id


def test_selection_survives_a_reload(window: MainWindow, populated: PopulatedLibrary) -> None:
    asset_id = populated.ids["animeLineart"]
    select(window, asset_id)
    window.reload()
    assert window.current_asset_id() == asset_id


def test_sorting_by_header_queries_the_catalog(window: MainWindow) -> None:
    window.set_view_mode("table")
    header = window.table.horizontalHeader()
    header.setSortIndicator(AssetColumn.SIZE, Qt.SortOrder.DescendingOrder)
    assert window.model.index(0, AssetColumn.NAME).data() == "dreamshaper_8"
    header.setSortIndicator(AssetColumn.FAVORITE, Qt.SortOrder.AscendingOrder)
    assert header.sortIndicatorSection() == AssetColumn.SIZE  # not sortable: the indicator stays


class LoopingScan:
    """A scan job that reports progress until cancelled or released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls: list[Sequence[int] | None] = []

    def __call__(
        self, root_ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken
    ) -> str:
        self.calls.append(root_ids)
        self.started.set()
        step = 0
        while not self.release.is_set():
            cancel.raise_if_cancelled()
            step += 1
            progress(Progress(min(step, 99), 100, f"reading file {step}"))
            time.sleep(0.01)
        return "3 new, 0 changed"


def test_a_scan_reports_progress_and_can_be_cancelled(
    qtbot: QtBot,
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    open_window: Callable[[DesktopServices], MainWindow],
) -> None:
    scan = LoopingScan()
    window = open_window(make_services(populated.library, scan_roots=scan))
    window.rescan()
    status = window.status
    qtbot.waitUntil(lambda: status.progress.maximum() == 100 and status.progress.value() > 0, timeout=3000)
    assert status.progress.isVisible()
    assert status.cancel_button.isVisible()
    assert "reading file" in status.job_label.text()
    with qtbot.waitSignal(window.job_ended, timeout=3000):
        status.cancel_button.click()
    assert status.job_label.text() == "Scan cancelled"
    assert not status.progress.isVisible()
    assert window.current_job is None


def test_the_window_is_shown_before_the_scan_finishes(
    qtbot: QtBot,
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    open_window: Callable[[DesktopServices], MainWindow],
) -> None:
    scan = LoopingScan()
    window = open_window(make_services(populated.library, scan_roots=scan))
    QTimer.singleShot(0, window.start_background_work)
    qtbot.waitUntil(scan.started.is_set, timeout=3000)
    assert window.isVisible()
    assert window.model.rowCount() == 7
    assert window.current_job is not None
    with qtbot.waitSignal(window.job_ended, timeout=3000):
        scan.release.set()
    assert window.status.job_label.text() == "Scan: 3 new, 0 changed"
    assert scan.calls == [None]


def test_hashing_follows_a_scan_when_enabled(
    qtbot: QtBot,
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    open_window: Callable[[DesktopServices], MainWindow],
) -> None:
    order: list[str] = []

    def scan(root_ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken) -> str:
        order.append("scan")
        return "done"

    def hash_pending(progress: ProgressCallback, cancel: CancelToken) -> str:
        order.append("hash")
        return "Hashed 6 files"

    settings = FakeSettings(hash_in_background=True)
    window = open_window(
        make_services(populated.library, scan_roots=scan, hash_pending=hash_pending, settings=settings)
    )
    window.rescan()
    qtbot.waitUntil(lambda: order == ["scan", "hash"] and window.current_job is None, timeout=3000)
    assert window.status.job_label.text() == "Scan: done · Hashed 6 files", "one job: the after-scan chain"


def test_a_failed_job_shows_its_message(
    qtbot: QtBot,
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    open_window: Callable[[DesktopServices], MainWindow],
) -> None:
    def hash_pending(progress: ProgressCallback, cancel: CancelToken) -> str:
        raise PermissionError("cannot read dreamshaper_8.safetensors")

    window = open_window(make_services(populated.library, hash_pending=hash_pending))
    with qtbot.waitSignal(window.job_ended, timeout=3000):
        window.hash_action.trigger()
    assert window.status.job_label.text() == "Hashing failed: cannot read dreamshaper_8.safetensors"


def test_first_start_offers_discovered_folders(
    qtbot: QtBot,
    tmp_path: Path,
    make_services: ServicesFactory,
    open_window: Callable[[DesktopServices], MainWindow],
) -> None:
    library = Library.open(tmp_path / "empty.sqlite3")
    try:
        a1111 = tmp_path / "sd" / "models" / "Lora"
        comfy = tmp_path / "comfy" / "models"
        for folder in (a1111, comfy):
            folder.mkdir(parents=True)
        added: list[Path] = []
        scans: list[Sequence[int] | None] = []

        def add_root(path: Path) -> RootRecord:
            added.append(path)
            return library.add_root(path)

        def scan(root_ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken) -> str:
            scans.append(root_ids)
            return "0 new"

        settings = FakeSettings(first_start_done=False)
        services = make_services(
            library,
            settings=settings,
            add_root=add_root,
            scan_roots=scan,
            discover_folders=lambda: [(a1111, "a1111"), (comfy, "comfyui")],
        )
        window = open_window(services)
        window.start_background_work()
        dialog = window.first_start_dialog
        assert dialog is not None
        assert dialog.isVisible()
        assert dialog.folders.count() == 2
        assert settings.first_start_done
        assert settings.saves >= 1
        dialog.folders.item(1).setCheckState(Qt.CheckState.Unchecked)
        dialog.accept()
        assert added == [a1111]
        qtbot.waitUntil(lambda: scans == [None] and window.current_job is None, timeout=3000)
        assert [root.path for root in library.roots()] == [str(a1111.resolve())]
    finally:
        library.close()


def test_file_changes_from_another_thread_trigger_a_rescan(
    qtbot: QtBot,
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    open_window: Callable[[DesktopServices], MainWindow],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The rescan follows the watcher's burst of changes 50 ms after the last one instead of 500 ms: the
    # same debounce timer (its interval is read when the window is built); the test waits for the scan.
    monkeypatch.setattr(main_window, "WATCH_DEBOUNCE_MS", 50)
    scans: list[int] = []
    callbacks: list[Callable[[], None]] = []
    stopped: list[bool] = []

    class Watcher:
        def stop(self) -> None:
            stopped.append(True)

    def start_watching(on_change: Callable[[], None]) -> Watcher:
        callbacks.append(on_change)
        return Watcher()

    def scan(root_ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken) -> str:
        scans.append(threading.get_ident())
        return "1 new"

    settings = FakeSettings(watch_folders=True)
    window = open_window(
        make_services(populated.library, settings=settings, scan_roots=scan, start_watching=start_watching)
    )
    window.start_background_work()
    qtbot.waitUntil(lambda: len(scans) == 1 and window.current_job is None, timeout=3000)
    assert len(callbacks) == 1
    thread = threading.Thread(target=callbacks[0])  # as watchdog would, off the GUI thread
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: len(scans) == 2 and window.current_job is None, timeout=3000)
    window.close()
    assert stopped == [True]


def test_applying_settings(window: MainWindow, populated: PopulatedLibrary, tmp_path: Path) -> None:
    settings = window.services.settings
    settings.thumbnail_size = 200
    new_root = tmp_path / "more-models"
    new_root.mkdir()
    window.apply_settings(added=[new_root], removed=[])
    assert window.delegate.tile_width == 200
    assert window.thumbnails.size.width() == 200
    assert len(window.library.roots()) == 2
    window.apply_settings(removed=[populated.root.id])
    assert window.model.rowCount() == 0


def test_keyboard_shortcuts(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.waitActive(window)
    window.grid.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(window.filter_bar.search.hasFocus, timeout=2000)
    assert window.add_folder_action.shortcut().toString() == "Ctrl+O"
    assert window.rescan_action.shortcut().toString() == "F5"


def test_the_grid_paints_tiles_and_thumbnails(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    cover = str(populated.root_dir / "pixelArtStyle.preview.png")
    image = window.grid.grab()  # paints every visible tile, starting the cover's load
    assert not image.isNull()
    qtbot.waitUntil(lambda: window.thumbnails.get(cover) is not None, timeout=3000)
    assert not window.grid.grab().isNull()


def test_a_refresh_does_not_eat_what_the_user_is_typing(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    asset_id = populated.ids["easynegative"]
    select(window, asset_id)
    notes = window.details.notes
    window.activateWindow()
    notes.setFocus()
    qtbot.waitUntil(notes.hasFocus, timeout=2000)
    notes.setPlainText("half a thou")
    window.reload()  # e.g. a scan finished meanwhile
    assert notes.toPlainText() == "half a thou"
    window.filter_bar.search.setFocus()
    qtbot.waitUntil(lambda: populated.library.get(asset_id).notes == "half a thou", timeout=1000)


def test_a_reload_keeps_the_selection_as_one_range_per_run_of_rows(qtbot: QtBot, window: MainWindow) -> None:
    """Select All, then a job's reload (the watcher's rescan, a lookup): every row stays selected, as
    few ranges as runs of rows, not one range per row after each reload (thousands in a big library)."""
    grid = window.grid
    QTest.mouseClick(
        grid.viewport(), Qt.MouseButton.LeftButton, pos=grid.visualRect(window.model.index(0, 0)).center()
    )
    QTest.keyClick(grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    rows = window.model.rowCount()
    assert len(window.selection.selectedRows()) == rows == 7
    current = window.current_asset_id()

    window.reload()
    window.reload()

    assert {index.row() for index in window.selection.selectedRows()} == set(range(rows))
    assert window.current_asset_id() == current
    # the current row (ClearAndSelect) and one range for all the rows
    assert len(window.selection.selection()) <= 2

    ids = [window.model.asset_id(row) for row in (0, 1, 2, 5, 6)]
    for row in (3, 4):
        window.selection.select(
            window.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.Deselect | QItemSelectionModel.SelectionFlag.Rows,
        )
    window.reload()
    assert {window.model.asset_id(index.row()) for index in window.selection.selectedRows()} == set(ids)
    assert len(window.selection.selection()) <= 3
