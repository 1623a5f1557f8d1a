"""Update checks in the window: Library › Check for updates, the daily check after start, the details pane's
"Update available" section and the context menu's "Download update beside" / "Ignore update".

The work is ``app.updates.UpdateService``'s (the CLI's ``updates`` runs the same); this module runs it as
window jobs (off the GUI thread, with progress and Cancel in the status bar), then refreshes the badges,
the "Has update" filter's rows and the details pane, and says the outcome in the status bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from app.updates import CheckPostponed, CheckSummary, UpdateService, UpdateSettings
from core.errors import AtelierError
from core.jobs import CancelToken, ProgressCallback

if TYPE_CHECKING:
    from app.download_service import FinishedDownload
    from catalog.library import Library
    from catalog.records import AssetRecord
    from catalog.updates import AssetUpdate
    from desktop.main_window import MainWindow

CHECK_TITLE = "Update check"  # its outcome reads "Update check: Checked 3 Civitai models: …"
AUTO_CHECK_DELAY_MS = 5000  # after the window is up and the first scan has started


def install_updates(window: MainWindow) -> UpdateActions:
    """Adds "Check for updates" to the Library menu, the update section's buttons, the context menu's
    update actions, and schedules the daily check (when the settings allow it)."""
    actions = UpdateActions(window)
    window.update_actions = actions  # type: ignore[attr-defined]
    return actions


def _download_title(update: AssetUpdate) -> str:
    return f"Downloading {update.newest.name} of {update.model_name}"


class UpdateActions(QObject):
    """The window's update checks; one instance per window (``window.update_actions``)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        remote = window.services.remote
        library = cast("Library", window.library)
        settings = cast("UpdateSettings", window.services.settings)
        self.service = (
            UpdateService(library, remote.civitai, remote.downloads, settings) if remote is not None else None
        )
        self._results: dict[str, object] = {}
        self._running: set[str] = set()

        self.check_action = QAction("Check for &updates", window)
        self.check_action.setToolTip("Ask Civitai for newer versions of the library's Civitai files")
        self.check_action.triggered.connect(lambda _checked=False: self.check_now())
        self.check_action.setEnabled(self.service is not None)
        window.library_menu.addSeparator()
        window.library_menu.addAction(self.check_action)

        section = window.details.update_section
        section.set_provider(self.update_for if self.service is not None else None)
        section.download_requested.connect(self.download_beside)
        section.ignore_requested.connect(self.ignore)
        window.context_menu_sections.append(self.add_context_section)
        window.job_ended.connect(self._on_job_ended)
        if self.service is not None and getattr(window.services.settings, "check_updates_daily", False):
            QTimer.singleShot(AUTO_CHECK_DELAY_MS, self.check_if_due)

    # -- what is shown ----------------------------------------------------------------------------------

    def update_for(self, asset_id: int) -> AssetUpdate | None:
        return self.service.for_asset(asset_id) if self.service is not None else None

    def _refresh(self) -> None:
        """Badges, the filtered rows and the details pane after a check, an ignore or a download."""
        self.window.reload()
        self.window.details.update_section.show_for(self.window.details.record)

    # -- checking ---------------------------------------------------------------------------------------

    def check_now(self) -> None:
        if self.service is not None:
            self._run(CHECK_TITLE, self.service.check)

    def check_if_due(self) -> None:
        """The automatic check: at most once a day (the catalog remembers the last), quietly skipped
        when nothing is linked to Civitai, and only a note when Civitai cannot be reached (the menu's
        Check for updates reports that as a failure)."""
        if self.service is None:
            return
        try:
            due = self.service.is_due()
        except AtelierError:
            return  # the catalog is not readable now; the next start tries again
        if due:  # offline, it ends in one calm note rather than "… failed: Cannot reach civitai.com"
            self._run(CHECK_TITLE, self.service.check_quietly)

    # -- acting on an update ----------------------------------------------------------------------------

    def download_beside(self, asset_id: int) -> None:
        """Download the file's newest version into its folder, as a window job."""
        service = self.service
        update = self.update_for(asset_id)
        if service is None or update is None:
            return
        title = _download_title(update)
        if self.window.details.record is not None and self.window.details.record.id == asset_id:
            self.window.details.update_section.set_busy(True)

        def job(progress: ProgressCallback, cancel: CancelToken) -> FinishedDownload:
            return service.download_beside(asset_id, progress, cancel)

        self._run(title, job)

    def ignore(self, asset_id: int) -> None:
        if self.service is None:
            return
        try:
            update = self.service.ignore(asset_id)
        except AtelierError as exc:  # the catalog's server unreachable, or no update to ignore
            self.window.status.flash(f"Not saved: {str(exc).rstrip('.')}.")
            return
        self.window.status.flash(
            f"Ignoring {update.newest.name} of {update.model_name} for every file of that model"
        )
        self._refresh()

    def add_context_section(self, menu: QMenu, records: list[AssetRecord]) -> None:
        """ "Download update beside" and "Ignore update" for the selected files that have one."""
        if self.service is None:
            return
        model = self.window.model
        ids = [record.id for record in records if model.has_update(record.id)]
        if not ids:
            return
        count = f" ({len(ids)} files)" if len(ids) > 1 else ""
        menu.addSeparator()
        download = menu.addAction(f"Download update beside{count}")
        download.triggered.connect(lambda _checked=False: self._each(ids, self.download_beside))
        ignore = menu.addAction(f"Ignore update{count}")
        ignore.triggered.connect(lambda _checked=False: self._each(ids, self.ignore))

    @staticmethod
    def _each(ids: Sequence[int], act: Callable[[int], None]) -> None:
        for asset_id in ids:
            act(asset_id)

    # -- jobs -------------------------------------------------------------------------------------------

    def _run(self, title: str, fn: Callable[[ProgressCallback, CancelToken], Any]) -> None:
        if title in self._running:
            return

        def job(progress: ProgressCallback, cancel: CancelToken) -> object:
            result = fn(progress, cancel)
            self._results[title] = result
            return result

        self._running.add(title)
        self.window.run_job(title, job)

    def _on_job_ended(self, title: str) -> None:
        if title not in self._running:
            return
        self._running.discard(title)
        result = self._results.pop(title, None)
        if isinstance(result, CheckSummary):
            self.window.status.flash(str(result))
        elif isinstance(result, CheckPostponed):
            pass  # the job's line already says it calmly; nothing to flash over it
        elif result is not None:
            path = getattr(result, "path", None)
            self.window.status.flash(f"Downloaded {path.name if path else 'the update'} beside the old file")
        self.window.details.update_section.set_busy(False)
        self._refresh()
