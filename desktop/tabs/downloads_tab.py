"""The Downloads tab: paste a link to download it, the queue as a table, buttons acting on the selection.

The field takes what a user copies from a browser (a Civitai model page or download link, a Hugging Face
file link) or a ``civitai:VERSION`` / ``hf:org/name/path`` target; the text is checked at once and a
bad one gets one line under the field, never a dialog. The destination combo lists the library folders
and starts on the download folder of the settings (else the first folder added), and the line under it
says which rule chose it, so a download never lands somewhere unexpected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPoint, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from catalog.path_text import shown
from core.downloads import DownloadRecord, DownloadStatus
from core.errors import AtelierError
from core.jobs import Progress
from desktop.delegates.progress_delegate import ProgressDelegate
from desktop.download_manager import ACTIVE, FINISHED, DownloadManager
from desktop.models.downloads_model import DownloadColumn, DownloadsModel
from desktop.qt_namespace import Qt

EMPTY_TEXT = (
    "No downloads yet.\n\nPaste a Civitai or Hugging Face link above, or use Download on a model page."
)
PLACEHOLDER = "Paste a Civitai or Hugging Face link, civitai:VERSION_ID or hf:org/name/path/file"
ERROR_STYLE = "color: #c0392b;"
CHOOSE_FOLDER = "Choose folder…"
_CHOOSE = "<choose>"  # the combo's data for CHOOSE_FOLDER: not a folder
NO_FOLDER_TEXT = (
    "No library folder to download into yet: pick “Choose folder…” beside “into”, "
    "or File › Add library folder…"
)
# No folder of this computer, but shared folders another computer added: mapping one is the way.
UNMAPPED_TEXT = (
    "No library folder on this computer yet: right-click a shared folder in the sidebar › "
    "Map on this computer…, or pick “Choose folder…” beside “into”"
)


class DownloadsTab(QWidget):
    """Shows ``DownloadManager``'s queue; ``active_count_changed`` feeds the tab's badge."""

    active_count_changed = Signal(int)
    message = Signal(str)  # for the status bar
    choose_folder_requested = Signal()  # "Choose folder…" picked: the window adds a library folder
    show_in_library_requested = Signal(str)  # a completed download's file: the window selects it

    def __init__(self, manager: DownloadManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.model = DownloadsModel(self)
        self._picked: str | None = None  # a folder the user picked in the combo (else the default)
        self._default: str | None = None  # where downloads go by default, and why (read by refresh_roots)
        self._reason = ""
        self._unreadable = ""  # why the folders could not be read last time (the catalog's one line)
        self._no_folder = NO_FOLDER_TEXT  # what to do while there is no folder to download into
        # The download the feedback line speaks of ("Downloading into …") while it runs, and that text.
        self._said_for: tuple[int, str] | None = None

        self.target_field = QLineEdit()
        self.target_field.setPlaceholderText(PLACEHOLDER)
        self.target_field.setClearButtonEnabled(True)
        self.target_field.returnPressed.connect(self.download)
        self.target_field.textEdited.connect(lambda _text: self._say(""))
        self.root_combo = QComboBox()
        self.root_combo.setToolTip("The library folder to download into")
        self.root_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.root_combo.setMaximumWidth(420)
        self.root_combo.currentIndexChanged.connect(lambda _index: self._update_root_hint())
        self.root_combo.activated.connect(self._on_root_activated)
        self.root_combo.setPlaceholderText(CHOOSE_FOLDER)  # shown while there is no library folder
        self.download_button = QPushButton("Download")
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self.download)
        self.feedback = QLabel()  # one line: a bad target, or where the last one goes
        self.feedback.setWordWrap(False)
        self.feedback.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.root_hint = QLabel()
        self.root_hint.setEnabled(False)  # drawn as secondary text
        self.root_hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        field_row = QHBoxLayout()
        field_row.addWidget(self.target_field, 1)
        field_row.addWidget(QLabel("into"))
        field_row.addWidget(self.root_combo)
        field_row.addWidget(self.download_button)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(DownloadColumn.PROGRESS, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(DownloadColumn.NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(DownloadColumn.ERROR, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(DownloadColumn.PROGRESS, 220)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_context_menu)
        self.table.doubleClicked.connect(self._on_double_clicked)
        self.context_menu: QMenu | None = None  # the one open now (tests drive it)
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setEnabled(False)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.queue_view = QStackedWidget()
        self.queue_view.addWidget(self.empty_label)
        self.queue_view.addWidget(self.table)

        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.retry_button = QPushButton("Retry")
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.setToolTip("Remove completed, failed and cancelled downloads from the list")
        self.clear_button.clicked.connect(self.clear_finished)
        self.pause_button.clicked.connect(lambda: self._each(manager.pause))
        self.resume_button.clicked.connect(lambda: self._each(manager.resume))
        self.cancel_button.clicked.connect(lambda: self._each(manager.cancel))
        self.retry_button.clicked.connect(lambda: self._each(manager.retry))
        # Where the focus goes when the focused button disables itself (see _move_focus_off_disabled).
        self._focus_after: dict[QPushButton, tuple[QPushButton, ...]] = {
            self.pause_button: (self.resume_button,),
            self.resume_button: (self.pause_button,),
            self.retry_button: (self.pause_button, self.resume_button),
            self.cancel_button: (self.retry_button,),
            self.clear_button: (),
        }
        self.summary = QLabel()
        buttons = QHBoxLayout()
        for button in (self.pause_button, self.resume_button, self.cancel_button, self.retry_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.summary)
        buttons.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.addLayout(field_row)
        layout.addWidget(self.feedback)
        layout.addWidget(self.root_hint)
        layout.addSpacing(6)
        layout.addLayout(buttons)
        layout.addWidget(self.queue_view, 1)

        # While a download runs its row is repainted every second without a report, so a download that
        # receives nothing says so ("No data for 5 s…") instead of showing its last speed.
        self._silence_timer = QTimer(self)
        self._silence_timer.setInterval(1000)
        self._silence_timer.timeout.connect(self.model.tick)
        manager.changed.connect(self._on_changed)
        manager.progressed.connect(self._on_progressed)
        manager.target_queued.connect(self._on_target_queued)
        manager.target_failed.connect(self._on_target_failed)
        manager.target_owned.connect(self._on_target_owned)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self._on_changed()
        self.refresh_roots()

    # -- pasting a target ---------------------------------------------------------------------------

    def refresh_roots(self) -> None:
        """Lists the library folders, keeping a folder the user picked, else choosing the default one
        (so a new download folder in the settings shows at once), then "Choose folder…".

        The folders are read once here (the combo's changes only re-word the line under it). A catalog
        that cannot be read now (its server does not answer) leaves the folders read last in place and
        says why under them: this runs from ``showEvent``, where nothing may raise."""
        service = self.manager.service
        try:
            roots = service.roots()
            self._default = service.default_root().path if roots else None
            self._reason = service.default_root_reason() if roots else ""
            unmapped = not roots and bool(service.unmapped_roots())
        except AtelierError as exc:
            self._unreadable = str(exc).rstrip(".")
            self._update_root_hint()
            return
        self._unreadable = ""
        self.root_combo.blockSignals(True)
        self.root_combo.clear()
        for root in roots:
            self.root_combo.addItem(shown(root.path), root.path)
        self.root_combo.addItem(CHOOSE_FOLDER, _CHOOSE)
        tip = "Add a library folder and download into it"
        self.root_combo.setItemData(self.root_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        picked = self.root_combo.findData(self._picked) if self._picked else -1
        index = picked if picked >= 0 else self.root_combo.findData(self._default)
        self.root_combo.setCurrentIndex(index if roots else -1)
        self.root_combo.blockSignals(False)
        self._update_root_hint()
        self._no_folder = UNMAPPED_TEXT if unmapped else NO_FOLDER_TEXT
        if self.feedback.text() in ("", NO_FOLDER_TEXT, UNMAPPED_TEXT):  # what to do, while it applies
            self._say("" if roots else self._no_folder)

    def settings_changed(self) -> None:
        """The settings were saved: the download folder they name is the choice again."""
        self._picked = None
        self.refresh_roots()

    def choose_root(self, path: str) -> None:
        """Selects ``path`` (a library folder just added through "Choose folder…")."""
        self._picked = path
        self.refresh_roots()
        if self.root_combo.findData(path) >= 0 and self.feedback.text() in (NO_FOLDER_TEXT, UNMAPPED_TEXT):
            self._say("")

    def _on_root_activated(self, index: int) -> None:
        if self.root_combo.itemData(index) == _CHOOSE:
            self.refresh_roots()  # back to the folder shown before; the window may add one
            self.choose_folder_requested.emit()
        else:
            self._picked = self.root_combo.itemData(index)

    def _update_root_hint(self) -> None:
        """The line under the field: where a download goes and why, from the folders read last."""
        if self._unreadable:
            self.root_hint.setText(f"{self._unreadable}: the folders listed are the ones read before.")
        elif self._default is None:
            self.root_hint.setText("")  # no library folder: the feedback line says what to do, once
        elif self.root_combo.currentData() == self._default:
            self.root_hint.setText(f"Into {shown(self._default)}: {self._reason}.")
        else:
            self.root_hint.setText(f"Into the folder chosen above (by default: {self._reason}).")

    def download(self) -> None:
        """Queues the pasted target into the chosen folder; a bad one gets one line under the field."""
        text = self.target_field.text().strip()
        if not text:
            self._say("Paste a Civitai or Hugging Face link first.", error=True)
            return
        chosen = self.root_combo.currentData()
        if chosen in (None, _CHOOSE) and self._default is None:  # no library folder (as read last)
            self._say(f"{self._unreadable}." if self._unreadable else self._no_folder, error=True)
            return
        if self.manager.enqueue_target(text, Path(chosen) if chosen not in (None, _CHOOSE) else None):
            self.download_button.setEnabled(False)
            self._say(f"Looking up {text}…")

    def _on_target_queued(self, download_id: int, where: str) -> None:
        self.download_button.setEnabled(True)
        self.target_field.clear()
        self._say(where)
        self._said_for = (download_id, where)
        self.message.emit(where)
        self.refresh_roots()  # a new folder may have been added

    def _on_target_owned(self, message: str) -> None:
        """Not a failure: the pasted file is in the library already, so nothing was queued."""
        self.download_button.setEnabled(True)
        self._say(message)
        self.message.emit(message)

    def _on_target_failed(self, message: str) -> None:
        self.download_button.setEnabled(True)
        self._say(message.splitlines()[0] if message else "", error=True)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.feedback.setText(text)
        self.feedback.setToolTip(text)
        self.feedback.setStyleSheet(ERROR_STYLE if error else "")

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        self.refresh_roots()  # folders may have been added since
        super().showEvent(event)

    # -- the queue ----------------------------------------------------------------------------------

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [record.id for record in (self.model.record(row) for row in rows) if record is not None]

    def _each(self, action: Callable[[int], None]) -> None:
        for download_id in self.selected_ids():
            action(download_id)

    def _on_changed(self) -> None:
        records = self.manager.records()
        self.model.set_records(records)
        self.queue_view.setCurrentWidget(self.table if records else self.empty_label)
        count = self.manager.active_count()
        self.summary.setText(f"{count} active" if count else "")
        self.active_count_changed.emit(count)
        if count and not self._silence_timer.isActive():
            self._silence_timer.start()
        elif not count:
            self._silence_timer.stop()
        self._update_buttons()
        self._follow_the_download_said(records)

    def _follow_the_download_said(self, records: Sequence[DownloadRecord]) -> None:
        """ "Downloading into …" holds while that download runs; once it ends the line says where its
        file is, or clears (a failed, paused or cancelled one says why in its row), unless the user has
        been told something else since."""
        if self._said_for is None:
            return
        download_id, said = self._said_for
        record = next((r for r in records if r.id == download_id), None)
        if record is not None and record.status in ACTIVE:
            return
        self._said_for = None
        if self.feedback.text() == said:
            done = record is not None and record.status is DownloadStatus.COMPLETED
            path = record.completed_path if done and record is not None else None
            self._say(f"Downloaded {path.name} into {shown(str(path.parent))}" if path is not None else "")

    def _on_progressed(self, download_id: int, progress: Progress) -> None:
        self.model.update_progress(download_id, progress)

    def _update_buttons(self) -> None:
        statuses = {
            record.status
            for record in (
                self.model.record(index.row()) for index in self.table.selectionModel().selectedRows()
            )
            if record is not None
        }
        active = set(ACTIVE)
        stopped = {DownloadStatus.PAUSED, DownloadStatus.FAILED}
        wanted = {
            self.pause_button: bool(statuses & active),
            self.resume_button: bool(statuses & {DownloadStatus.PAUSED, DownloadStatus.INTERRUPTED}),
            self.cancel_button: bool(statuses & (active | stopped)),
            self.retry_button: bool(statuses & {DownloadStatus.FAILED, DownloadStatus.CANCELLED}),
            self.clear_button: any(r.status in FINISHED for r in self.manager.records()),
        }
        for button, enabled in wanted.items():
            if enabled:
                button.setEnabled(True)  # first: the focus may move onto one of them
        self._move_focus_off_disabled(wanted)
        for button, enabled in wanted.items():
            if not enabled:
                button.setEnabled(False)

    def _move_focus_off_disabled(self, wanted: dict[QPushButton, bool]) -> None:
        """A focused button about to be disabled hands the focus to the row's next sensible action
        (Pause → Resume, Resume → Pause…), never to Cancel: Qt would pass it to the next button in the
        chain, often Cancel, where Space or Enter would throw the download away."""
        focused = next((button for button in wanted if button.hasFocus()), None)
        if focused is None or wanted[focused]:
            return
        for button in self._focus_after.get(focused, ()):
            if wanted[button]:
                button.setFocus(Qt.FocusReason.OtherFocusReason)
                return
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)  # nothing to press: back to the rows

    # -- the rows' menu and double-click ------------------------------------------------------------

    def _records_at(self, row: int) -> list[DownloadRecord]:
        """The rows a menu opened on ``row`` acts on: the selection when the row is in it, else the row
        alone (selected first, as a file manager does)."""
        if row not in {index.row() for index in self.table.selectionModel().selectedRows()}:
            self.table.selectRow(row)
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [record for record in (self.model.record(r) for r in rows) if record is not None]

    def _show_context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        records = self._records_at(index.row()) if index.isValid() else []
        menu = QMenu(self)
        completed = next((r for r in records if _file_of(r) is not None), None)
        show = menu.addAction("Show in library")
        show.setEnabled(completed is not None and len(records) == 1)
        show.triggered.connect(lambda _checked=False: self.show_in_library(completed))
        where = menu.addAction("Open folder")
        where.setEnabled(len(records) == 1)
        where.triggered.connect(lambda _checked=False: self.open_folder(records[0]))
        menu.addSeparator()
        finished = [r for r in records if r.status in FINISHED]
        remove = menu.addAction("Remove from list")
        remove.setToolTip("Forget these downloads here; their files stay where they are")
        remove.setEnabled(bool(finished))
        remove.triggered.connect(lambda _checked=False: self.manager.forget([r.id for r in finished]))
        clear = menu.addAction("Clear finished")
        clear.setEnabled(self.clear_button.isEnabled())
        clear.triggered.connect(lambda _checked=False: self.clear_finished())
        self.context_menu = menu
        menu.aboutToHide.connect(lambda: setattr(self, "context_menu", None))
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _on_double_clicked(self, index: QModelIndex) -> None:
        record = self.model.record(index.row())
        if record is not None and _file_of(record) is not None:
            self.show_in_library(record)
        elif record is not None:
            self.message.emit(f"{_name_of(record)} is not downloaded yet: nothing to show in the library")

    def show_in_library(self, record: DownloadRecord | None) -> None:
        path = _file_of(record) if record is not None else None
        if path is not None:
            self.show_in_library_requested.emit(str(path))

    def open_folder(self, record: DownloadRecord) -> None:
        """The folder of the downloaded file, else the folder the download goes into."""
        path = _file_of(record)
        folder = path.parent if path is not None else record.target_dir
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.message.emit(f"Could not open {shown(str(folder))}: no file manager answered")

    def clear_finished(self) -> None:
        """Forgets the completed, failed and cancelled rows; the downloaded files stay."""
        finished = [r.id for r in self.manager.records() if r.status in FINISHED]
        self.manager.forget(finished)
        self.message.emit(f"Cleared {len(finished)} finished download{'s' if len(finished) != 1 else ''}")


def _name_of(record: DownloadRecord) -> str:
    return record.file_name or record.suggested_name or record.url


def _file_of(record: DownloadRecord) -> Path | None:
    """The downloaded file of a completed download (None before it completed)."""
    done = record.status is DownloadStatus.COMPLETED
    return record.completed_path if done and record.completed_path is not None else None
