"""What other machines and processes change in the catalog, shown in the open window as it happens.

Why: on a team library a tag, a rating, a download or a move made on another machine must show here
without a restart, and on one machine a command run while the window is open (``main.py tag ...``) must
show too. ``app`` starts the feed (``AppContext.change_feed``, :mod:`catalog.change_feed`); this adapter
receives its batches on the GUI thread and refreshes what the window shows:

- the rows: :meth:`AssetTableModel.follow_changes` re-reads only the changed rows that are shown and
  repaints those that differ; when rows were added, removed or reordered it resets the model, and the
  selection, the current row and the scroll position are put back here;
- the details pane follows its file when that changed (an editor being typed in is left alone);
- the sidebar's counts and the tag list;
- a library folder added or removed elsewhere (a first ``main.py scan FOLDER`` while the window shows the
  empty library's page) reloads the whole view, puts the rows in the page's place (or the page back) and
  restarts the watcher on the folders. On a server the feed names the folder; on SQLite it cannot, so the
  folders read after each batch are compared with those the window shows.

A change this window made itself is never shown twice: on a server the feed leaves out its own
connections' writes, and on SQLite (where the feed only says "something changed") what is already shown
compares equal and nothing is repainted. While a job of this window runs (a scan writes batch after batch,
then hashing writes file after file) changes are shown at most every ``DURING_JOB_S`` seconds (longer
when a refresh itself takes long on a large library: refreshing then takes at most a tenth of the GUI
thread's time), so the files a first scan identifies appear while their hashes are still computed (minutes
for a large folder) rather than when the whole job ends; the window reloads when the job ends, and what
still waits is compared after that.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QObject, QTimer, Signal

if TYPE_CHECKING:
    from catalog.change_feed import Changes
    from desktop.main_window import MainWindow
    from desktop.services import FollowChanges, Stoppable

DURING_JOB_S = 2.0  # while this window's own job writes: one refresh per this many seconds at most
REFRESH_SHARE = 0.1  # ... and per refresh time / this share, so a slow refresh cannot freeze the window


class LiveChanges(QObject):
    """Follows the catalog's changes for ``window`` until :meth:`stop` (the window's close)."""

    arrived = Signal(object)  # Changes, emitted on the feed's thread, delivered queued on the GUI thread
    state_changed = Signal(object)  # str | None: the feed lost its source (and retries), or is back

    def __init__(self, window: MainWindow, follow: FollowChanges) -> None:
        super().__init__(window)
        self._window = window
        self._waiting: list[Changes] = []
        self._stopped = False
        self._lost = False
        self._during_job = QTimer(self)  # the next refresh while a job of this window runs
        self._during_job.setSingleShot(True)
        self._during_job.timeout.connect(self._apply_during_job)
        self._next_at = 0.0  # time.monotonic() from which a job's next refresh may run
        self.arrived.connect(self._on_arrived)
        self.state_changed.connect(self._on_state_changed)
        window.job_ended.connect(self._after_job)
        self._feed: Stoppable | None = follow(self.arrived.emit, self.state_changed.emit)

    def stop(self) -> None:
        self._stopped = True
        self._during_job.stop()
        if self._feed is not None:
            self._feed.stop()
            self._feed = None

    # -- batches ------------------------------------------------------------------------------------

    def _on_arrived(self, changes: Changes) -> None:
        if self._stopped:
            return
        self._waiting.append(changes)
        if self._window.current_job is None:
            self._apply_waiting()
        elif not self._during_job.isActive():  # the first batch of a job at once, then one per interval
            wait = self._next_at - time.monotonic()
            self._during_job.start(max(0, int(wait * 1000)))

    def _apply_during_job(self) -> None:
        if not self._stopped and self._waiting:
            self._apply_waiting()

    def _after_job(self, _title: str) -> None:
        if not self._stopped and self._waiting and self._window.current_job is None:
            self._apply_waiting()

    def _apply_waiting(self) -> None:
        from catalog.change_feed import merge

        self._during_job.stop()
        started = time.monotonic()
        changes, self._waiting = merge(self._waiting), []
        self.apply(changes)
        ended = time.monotonic()
        self._next_at = started + max(DURING_JOB_S, (ended - started) / REFRESH_SHARE)

    def apply(self, changes: Changes) -> None:
        """Refreshes the rows, the details pane and the sidebar for ``changes`` (see the module docstring)."""
        from desktop.models.sidebar_model import folder_places

        window = self._window
        roots = window.library.roots()
        if changes.root_ids or folder_places(roots) != folder_places(window.sidebar_model.roots()):
            # A library folder added, moved or removed elsewhere (SQLite's feed cannot say so: the folders
            # are compared): the whole view, the empty library's page or the rows in its place, and the
            # watcher on the folders.
            window.reload()
            window.restart_watching()
            return
        asset_ids = None if changes.unknown else changes.asset_ids
        current_id = window.current_asset_id()
        selected = [window.model.asset_id(index.row()) for index in window.selection.selectedRows()]
        views = (window.table, window.grid)
        scrolled = [(view.verticalScrollBar().value(), view.horizontalScrollBar().value()) for view in views]
        if window.model.follow_changes(asset_ids):
            self._put_selection_back(current_id, [i for i in selected if i is not None], scrolled)
        elif current_id is not None and (asset_ids is None or current_id in asset_ids):
            record = window.library.get(current_id)
            if record != window.details.record:
                window.details.show_asset(record)
        facets = window.library.facets()
        window.refresh_sidebar(facets, roots)
        window.filter_bar.set_tags(window.library.all_tags())
        window.status.show_count(window.model.rowCount(), facets.total)

    def _put_selection_back(
        self, current_id: int | None, selected: list[int], scrolled: list[tuple[int, int]]
    ) -> None:
        """After a reset: the files selected before (those still shown), the current one and the scroll
        positions of both views, as they were."""
        window, model = self._window, self._window.model
        views = (window.table, window.grid)
        selection = QItemSelection()
        for asset_id in selected:
            row = model.row_of(asset_id)
            if row is not None:
                selection.select(model.index(row, 0), model.index(row, model.columnCount() - 1))
        flags = QItemSelectionModel.SelectionFlag
        current_row = model.row_of(current_id) if current_id is not None else None
        if current_row is not None:
            window.selection.setCurrentIndex(model.index(current_row, 0), flags.NoUpdate)
        window.selection.select(selection, flags.ClearAndSelect)
        for view, (vertical, horizontal) in zip(views, scrolled, strict=True):
            view.verticalScrollBar().setValue(vertical)
            view.horizontalScrollBar().setValue(horizontal)
        record = model.record(current_row) if current_row is not None else None
        if record != window.details.record:
            window.details.show_asset(record)

    # -- the feed's state ---------------------------------------------------------------------------

    def _on_state_changed(self, problem: str | None) -> None:
        if self._stopped:
            return
        if problem is not None:
            self._lost = True
            self._window.status.catalog_lost(problem)  # marked at the bar's right edge until it is back
        elif self._lost:
            self._lost = False
            self._window.status.catalog_back()  # said, and a job's line left by the outage replaced
            self._window.details.retry_unsaved()  # notes the catalog refused while it was away
