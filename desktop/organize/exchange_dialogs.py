"""File ▸ Export library list… / Import library list…: the window's side of ``app.exchange``.

Export asks for a file name (the type, CSV or JSON, follows the chosen filter or extension) and writes it
as a window job. Import reads a list, matches it to this library by hash and merges its user data (only
adding: nothing edited here is overwritten), then shows what matched and what is missing; the missing
files that have a Civitai version or Hugging Face link are queued in the Downloads tab by “Download
missing”, and each gets the list's tags, notes and collections when it arrives.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.jobs import CancelToken, ProgressCallback
from core.sizes import human_size

if TYPE_CHECKING:  # app.exchange (and the catalog behind it) loads when a list is first exported or read
    from app.exchange import ImportResult, ListEntry
    from catalog.library import Library
    from core.downloads import DownloadRecord
    from desktop.main_window import MainWindow

LIST_FILTERS = "JSON, every field (*.json);;CSV, for spreadsheets (*.csv)"


def install_exchange(window: MainWindow) -> ExchangeActions:
    """Adds Export/Import library list to the File menu (before Settings)."""
    actions = ExchangeActions(window)
    window.exchange_actions = actions  # type: ignore[attr-defined]
    return actions


class ImportDialog(QDialog):
    """What an import did: the summary, the missing files with their links, “Download missing”."""

    def __init__(
        self, result: ImportResult, *, can_download: str | None, parent: QWidget | None = None
    ) -> None:
        """``can_download``: None when downloads are possible, else why the button is disabled."""
        super().__init__(parent)
        self.setWindowTitle("Import library list")
        self.setObjectName("importDialog")
        self.resize(760, 420)
        self.import_result = result
        plan = result.plan
        layout = QVBoxLayout(self)
        self.summary = QLabel(result.summary())
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.missing = QTreeWidget()
        self.missing.setObjectName("missingList")
        self.missing.setHeaderLabels(["Missing file", "Size", "Where to get it"])
        self.missing.setRootIsDecorated(False)
        self.missing.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for entry in plan.missing:
            size = human_size(entry.size) if entry.size else ""
            where = entry.download_target or "no Civitai or Hugging Face link"
            item = QTreeWidgetItem([entry.name, size, where])
            item.setToolTip(0, entry.file_name)
            self.missing.addTopLevelItem(item)
        if plan.missing:
            layout.addWidget(self.missing)
        else:
            self.missing.hide()
            layout.addWidget(QLabel("Every file of the list is in this library."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        downloadable = len(plan.downloadable)
        self.download_button = QPushButton(f"Download missing ({downloadable})")
        self.download_button.setObjectName("downloadMissing")
        self.download_button.setEnabled(downloadable > 0 and can_download is None)
        if can_download is not None:
            self.download_button.setToolTip(can_download)
        elif not downloadable:
            self.download_button.setToolTip("None of the missing files has a Civitai or Hugging Face link")
        buttons.addButton(self.download_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class ExchangeActions:
    """The two File-menu actions and the downloads they start; one per window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.library = cast("Library", window.library)
        self.import_dialog: ImportDialog | None = None
        self.file_dialog: QFileDialog | None = None
        self._arriving: dict[str, ListEntry] = {}  # SHA256 -> the list's row, for files being downloaded
        self._listening = False
        self.export_action = window._action("&Export library list…", self.choose_export_file)
        self.export_action.setToolTip(
            "Write every file with its hashes, links, tags and notes to CSV or JSON"
        )
        self.import_action = window._action("&Import library list…", self.choose_import_file)
        self.import_action.setToolTip(
            "Match a list from another machine by hash and bring its tags and notes"
        )
        # The File menu is the one holding Settings…; the list actions go just above it.
        before = window.settings_action
        file_menu = next(obj for obj in before.associatedObjects() if isinstance(obj, QMenu))
        file_menu.insertAction(before, self.export_action)
        file_menu.insertAction(before, self.import_action)
        file_menu.insertSeparator(before)

    # -- export ---------------------------------------------------------------------------------------

    def choose_export_file(self) -> None:
        dialog = QFileDialog(self.window, "Export library list", str(Path.home() / "atelier-library.json"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(LIST_FILTERS.split(";;"))
        dialog.setDefaultSuffix("json")
        dialog.filterSelected.connect(
            lambda chosen: dialog.setDefaultSuffix("csv" if "csv" in chosen else "json")
        )
        self.file_dialog = dialog
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path)))
        dialog.finished.connect(lambda _code: setattr(self, "file_dialog", None))
        dialog.finished.connect(self.window.give_keys_back)
        dialog.open()

    def export_to(self, path: Path) -> None:
        library = self.library

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> str:
            from app.exchange import export_library

            return str(export_library(library, path))

        self.window.run_job(f"Exporting to {path.name}", job)

    # -- import ---------------------------------------------------------------------------------------

    def choose_import_file(self) -> None:
        dialog = QFileDialog(self.window, "Import library list", str(Path.home()))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters([*LIST_FILTERS.split(";;"), "Library lists (*.json *.csv)"])
        dialog.selectNameFilter("Library lists (*.json *.csv)")
        self.file_dialog = dialog
        dialog.fileSelected.connect(lambda path: self.import_from(Path(path)))
        dialog.finished.connect(lambda _code: setattr(self, "file_dialog", None))
        dialog.finished.connect(self.window.give_keys_back)
        dialog.open()

    def import_from(self, path: Path) -> None:
        """Import ``path`` off the GUI thread, then show what matched and what is missing."""
        library = self.library

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> ImportResult:
            from app.exchange import import_list

            return import_list(library, path)

        handle = self.window.jobs.start(f"Importing {path.name}", job)
        self.window.status.track(handle)
        handle.signals.finished.connect(self._show_result)

    def _show_result(self, result: ImportResult) -> None:
        self.window.reload()  # tags, notes and ratings the list added
        self.window.refresh_sidebar()
        reason = (
            None if self.window.downloads is not None else "Downloads are off: the site tabs are not loaded"
        )
        dialog = ImportDialog(result, can_download=reason, parent=self.window)
        self.import_dialog = dialog
        dialog.download_button.clicked.connect(lambda: self.download_missing(result))
        dialog.finished.connect(lambda _code: setattr(self, "import_dialog", None))
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(self.window.give_keys_back)
        dialog.open()

    def download_missing(self, result: ImportResult) -> int:
        """Queue every missing file that has a link in the Downloads tab; returns how many were queued."""
        downloads = self.window.downloads
        if downloads is None:
            return 0
        if not self._listening:
            downloads.completed.connect(self._on_download_completed)
            self._listening = True
        queued = 0
        for entry in result.plan.downloadable:
            target = entry.download_target
            if target is not None and downloads.enqueue_target(target):
                queued += 1
                if entry.sha256:
                    self._arriving[entry.sha256.upper()] = entry
        if self.import_dialog is not None:
            self.import_dialog.accept()
        if self.window.tabs is not None and self.window.downloads_tab is not None:
            self.window.tabs.setCurrentWidget(self.window.downloads_tab)
        self.window.status.flash(
            f"Queued {queued} missing files in Downloads; they get the list's tags on arrival"
        )
        return queued

    def _on_download_completed(self, _record: DownloadRecord, path: str) -> None:
        asset = self.library.get_by_path(path)
        if asset is None or asset.hashes is None or not asset.hashes.sha256:
            return
        entry = self._arriving.pop(asset.hashes.sha256.upper(), None)
        if entry is not None:
            from app.exchange import apply_to_downloaded

            apply_to_downloaded(self.library, entry, asset.id)
            self.window.reload()
