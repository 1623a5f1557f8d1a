"""Organize › Share with other apps…: the mirrors of the library in other UIs' layouts, and ComfyUI's yaml.

The dialog lists the mirrors with their state and last report, adds one (app, mode, folder, kinds,
collections), syncs or removes the selected ones, and writes or reads ComfyUI's
``extra_model_paths.yaml``. Checking a new mirror's folder is instant and its refusal is said in the dialog
(a folder inside the library, a link into it...); syncing and removing run as window jobs
(``window.run_job``) with progress and Cancel in the status bar, and the list is re-read when they end.
The work itself is ``app.organize.mirror`` and ``app.organize.comfyui_yaml``, the same as the CLI's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.messages import user_message
from core.errors import AtelierError
from core.jobs import CancelToken, ProgressCallback
from core.organize.mirror_plan import MirrorMode, MirrorUI
from core.taxonomy import KIND_NOUNS, AssetKind
from desktop.qt_namespace import USER_ROLE, Qt

if TYPE_CHECKING:
    from catalog.library import Library
    from catalog.mirrors import MirrorRecord
    from desktop.main_window import MainWindow

TITLE = "Share with other apps"
SYNC_TITLE = "Sync mirrors"
REMOVE_TITLE = "Remove mirror"
MODE_TEXT = {
    MirrorMode.SYMLINK: "Symlinks (no extra space)",
    MirrorMode.HARDLINK: "Hard links (same drive, no extra space)",
    MirrorMode.COPY: "Copies (any drive, takes the space)",
}
COLUMNS = ("App", "Mode", "Folder", "What", "Entries", "Last sync")


def install_mirrors(window: MainWindow) -> QAction:
    """Adds “Share with other apps…” to the Organize menu."""
    action = QAction("&Share with other apps…", window)
    action.setToolTip("Mirror the library into A1111/Forge, ComfyUI or InvokeAI, kept in sync")
    action.triggered.connect(lambda: open_mirror_dialog(window))
    window.organize_menu.addAction(action)
    window.share_action = action  # type: ignore[attr-defined]
    return action


def open_mirror_dialog(window: MainWindow) -> MirrorDialog:
    """Shows the dialog (the one already open, if any)."""
    current = getattr(window, "mirror_dialog", None)
    if isinstance(current, MirrorDialog) and current.isVisible():
        current.raise_()
        current.activateWindow()
        return current
    dialog = MirrorDialog(window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.mirror_dialog = dialog  # type: ignore[attr-defined]
    dialog.destroyed.connect(lambda: setattr(window, "mirror_dialog", None))
    dialog.finished.connect(window.give_keys_back)  # Ctrl+Z at once after it closes
    dialog.show()
    return dialog


class MirrorDialog(QDialog):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.library = cast("Library", window.library)
        self.setWindowTitle(TITLE)
        self.resize(980, 800)

        intro = QLabel(
            "Mirror the library into another app's models folder with links or copies, so its models show "
            "there with their previews. Mirrors follow every scan, move and rename. Atelier only ever "
            "replaces or removes what it made there."
        )
        intro.setWordWrap(True)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(150)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Last sync"), QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.sync_button = QPushButton("Sync now")
        self.sync_button.setToolTip("Bring the selected mirrors (or all) up to date now")
        self.sync_button.clicked.connect(self.sync_selected)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setToolTip("Remove what Atelier made in the selected mirror; the rest stays")
        self.remove_button.clicked.connect(self.remove_selected)
        self.write_yaml_button = QPushButton("Write ComfyUI yaml…")
        self.write_yaml_button.setToolTip(
            "Show the library folders to ComfyUI through its extra_model_paths.yaml (no links needed)"
        )
        self.write_yaml_button.clicked.connect(self.write_yaml)
        self.read_yaml_button = QPushButton("Read ComfyUI yaml…")
        self.read_yaml_button.setToolTip("Add the folders an extra_model_paths.yaml points at to the library")
        self.read_yaml_button.clicked.connect(self.read_yaml)
        buttons = QHBoxLayout()
        for button in (self.sync_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.write_yaml_button, self.read_yaml_button):
            buttons.addWidget(button)

        # What the selected mirror's last sync left to say; a fixed height so that the form below never
        # moves under the pointer when the selection changes.
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setFixedHeight(76)
        self.details.setPlaceholderText(
            "Select a mirror to see what its last sync left alone, renamed or skipped"
        )

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("mirrorMessage")

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.details)
        layout.addWidget(self._add_box())
        layout.addWidget(self.message)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)

        window.job_ended.connect(self._on_job_ended)
        self.refresh()

    # -- the add form --

    def _add_box(self) -> QWidget:
        box = QGroupBox("Add a mirror")
        self.ui_combo = QComboBox()
        for ui in (MirrorUI.COMFYUI, MirrorUI.A1111, MirrorUI.INVOKEAI):
            self.ui_combo.addItem(ui.label, ui)
        self.mode_combo = QComboBox()
        for mode in MirrorMode:
            self.mode_combo.addItem(MODE_TEXT[mode], mode)
        self.mode_combo.setToolTip(
            "Where a drive refuses links (exFAT, FAT32, network shares), hard links and then copies are "
            "used instead, and the report says so"
        )
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("The other app's folder, e.g. ~/ComfyUI")
        self.folder_edit.textChanged.connect(self._update_buttons)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)

        self.kinds_list = _checkable_list(
            [(_kind_title(kind), kind) for kind in AssetKind if kind is not AssetKind.UNKNOWN]
        )
        self.collections_list = _checkable_list([(name, name) for name in self.library.all_collections()])
        # Every kind shows at once (no scrolling to find "CLIP Vision encoders"); the collections beside it
        # take the same height and scroll when there are more.
        rows_height = _rows_height(self.kinds_list, self.kinds_list.count())
        self.kinds_list.setFixedHeight(rows_height)
        self.collections_list.setFixedHeight(rows_height)
        selection = QHBoxLayout()
        kinds_box = QVBoxLayout()
        kinds_box.addWidget(QLabel("Kinds (none ticked: all)"))
        kinds_box.addWidget(self.kinds_list)
        collections_box = QVBoxLayout()
        collections_box.addWidget(QLabel("Collections (none ticked: all)"))
        collections_box.addWidget(self.collections_list)
        selection.addLayout(kinds_box)
        selection.addLayout(collections_box)

        self.add_button = QPushButton("Add and sync")
        self.add_button.clicked.connect(self.add_mirror)
        form = QFormLayout()
        form.addRow("App", self.ui_combo)
        form.addRow("Mode", self.mode_combo)
        form.addRow("Folder", folder_row)
        outer = QVBoxLayout(box)
        outer.addLayout(form)
        outer.addLayout(selection)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.add_button)
        outer.addLayout(row)
        return box

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Choose the other app's folder")
        if chosen:
            self.folder_edit.setText(chosen)

    # -- the list --

    def refresh(self) -> None:
        selected = set(self.selected_ids())
        self.mirrors = self.library.mirrors()
        self.table.setRowCount(len(self.mirrors))
        for row, mirror in enumerate(self.mirrors):
            what = ", ".join([KIND_NOUNS[k] for k in mirror.kinds] + list(mirror.collections)) or "everything"
            values = (
                mirror.ui.label,
                _mode_text(mirror),
                str(mirror.target),
                what,
                str(mirror.entry_count),
                _last_sync(mirror),
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(USER_ROLE, mirror.id)
                item.setToolTip(str(mirror.report.get("message", value)))
                self.table.setItem(row, column, item)
            if mirror.id in selected:
                self.table.selectRow(row)
        self._update_buttons()

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.mirrors[row].id for row in rows if row < len(getattr(self, "mirrors", []))]

    def _update_buttons(self) -> None:
        selected = self.selected_ids()
        self.remove_button.setEnabled(len(selected) == 1)
        self.sync_button.setEnabled(bool(getattr(self, "mirrors", [])))
        self.add_button.setEnabled(bool(self.folder_edit.text().strip()))
        self.details.setPlainText(
            _details(next(m for m in self.mirrors if m.id == selected[0])) if selected else ""
        )

    def _on_job_ended(self, title: str) -> None:
        if title.startswith((SYNC_TITLE, REMOVE_TITLE)):
            if self.message.text().endswith("syncing…"):
                self.say("")  # the status bar says how the sync went; the list shows it
            self.refresh()

    # -- actions --

    def add_mirror(self) -> None:
        from app.organize.mirror import create_mirror

        text = self.folder_edit.text().strip()
        if not text:
            return
        try:
            mirror = create_mirror(
                self.library,
                MirrorUI(self.ui_combo.currentData()),
                MirrorMode(self.mode_combo.currentData()),
                Path(text).expanduser(),
                kinds=[AssetKind(value) for value in _checked(self.kinds_list)],
                collections=[str(value) for value in _checked(self.collections_list)],
            )
        except (AtelierError, OSError) as exc:
            self.say(user_message(exc), error=True)
            return
        self.say(f"Mirror added: {mirror.target}; syncing…")
        self.folder_edit.clear()
        self.refresh()
        self._sync([mirror.id])

    def sync_selected(self) -> None:
        self._sync(self.selected_ids() or None)

    def _sync(self, mirror_ids: list[int] | None) -> None:
        from app.organize.mirror import sync_mirrors

        library = self.library

        def job(progress: ProgressCallback, cancel: CancelToken) -> object:
            return sync_mirrors(library, progress, cancel, mirror_ids=mirror_ids)

        self.window_.run_job(SYNC_TITLE, job)

    def remove_selected(self) -> None:
        from app.organize.mirror import MirrorApplier

        ids = self.selected_ids()
        if len(ids) != 1:
            return
        mirror = next(m for m in self.mirrors if m.id == ids[0])
        answer = QMessageBox.question(
            self,
            "Remove mirror",
            f"Remove the {mirror.entry_count} links and copies Atelier made in {mirror.target}?\n\n"
            "Files Atelier did not make there are left as they are. The library is not touched.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        library = self.library

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> object:
            return MirrorApplier(library).remove(mirror)

        self.window_.run_job(f"{REMOVE_TITLE} {mirror.target}", job)

    def write_yaml(self) -> None:
        from app.organize.comfyui_yaml import write_section

        roots = self.library.roots()
        if not roots:
            self.say("No library folders yet: add one first (File › Add library folder…)", error=True)
            return
        chosen, _ = QFileDialog.getSaveFileName(
            self,
            "ComfyUI's extra_model_paths.yaml",
            str(Path.home() / "ComfyUI" / "extra_model_paths.yaml"),
            "YAML (*.yaml *.yml)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if not chosen:
            return
        existed = Path(chosen).exists()
        lines = []
        for root in roots:
            try:
                section = write_section(Path(chosen), Path(root.path), root.layout)
                lines.append(f"section {section!r}: {root.path}")
            except (AtelierError, OSError) as exc:
                lines.append(f"{root.path}: {user_message(exc)}")
        kept = " (the old file is kept as .bak)" if existed else ""
        self.say(f"{chosen}: " + "; ".join(lines) + f". Restart ComfyUI to see the models{kept}.")

    def read_yaml(self) -> None:

        chosen, _ = QFileDialog.getOpenFileName(
            self, "ComfyUI's extra_model_paths.yaml", str(Path.home()), "YAML (*.yaml *.yml)"
        )
        if chosen:
            self.offer_roots_from(Path(chosen))

    def offer_roots_from(self, path: Path) -> list[Path]:
        """Lists the folders of ``path`` and adds the new ones as library folders when the user agrees."""
        from app.organize.comfyui_yaml import offered_roots, read_folders

        try:
            folders = read_folders(path)
        except (AtelierError, OSError) as exc:
            self.say(user_message(exc), error=True)
            return []
        offered = offered_roots(folders, [Path(root.path) for root in self.library.roots()])
        if not offered:
            self.say(f"{path}: every folder it names is already in the library, or not on this computer")
            return []
        listing = "\n".join(str(p) for p in offered)
        answer = QMessageBox.question(
            self,
            "Add library folders",
            f"{path} shows these folders to ComfyUI:\n\n{listing}\n\nAdd them to the library?",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return []
        for folder in offered:
            self.window_.add_folder(folder)
        self.say(f"Added {len(offered)} library folder{'s' if len(offered) > 1 else ''}; scanning…")
        return offered

    def say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b3261e;" if error else "")


def _kind_title(kind: AssetKind) -> str:
    noun = KIND_NOUNS[kind]
    return noun[:1].upper() + noun[1:] + "s"


def _checkable_list(items: list[tuple[str, object]]) -> QListWidget:
    widget = QListWidget()
    for text, data in items:
        item = QListWidgetItem(text)
        item.setData(USER_ROLE, data)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Unchecked)
        widget.addItem(item)
    return widget


def _rows_height(widget: QListWidget, rows: int) -> int:
    """The height that shows ``rows`` rows of ``widget`` without a scroll bar."""
    row = widget.sizeHintForRow(0) if widget.count() else widget.fontMetrics().height() + 4
    return row * rows + 2 * widget.frameWidth() + 2


def _checked(widget: QListWidget) -> list:  # type: ignore[type-arg]
    return [
        widget.item(row).data(USER_ROLE)
        for row in range(widget.count())
        if widget.item(row).checkState() == Qt.CheckState.Checked
    ]


def _mode_text(mirror: MirrorRecord) -> str:
    """The mode asked for, and the one the drive needed when it differs ("symlink → copy")."""
    used = mirror.report.get("used_mode")
    if mirror.report.get("mode") == mirror.mode.value and used and used != mirror.mode.value:
        return f"{mirror.mode.value} → {used}"
    return mirror.mode.value


def _last_sync(mirror: MirrorRecord) -> str:
    if mirror.synced_at is None:
        return "never synced"
    when = mirror.synced_at.astimezone().strftime("%Y-%m-%d %H:%M")
    message = str(mirror.report.get("message", ""))
    head = f"{mirror.ui.label} mirror {mirror.target}: "
    return f"{when} · {message.removeprefix(head)}"


def _details(mirror: MirrorRecord) -> str:
    """What the last sync of ``mirror`` left to say: files left alone, clashes, fallbacks, failures."""
    report = mirror.report
    lines = [str(report.get("fallback", ""))] if report.get("fallback") else []
    for key, label in (
        ("not_ours", "Left alone"),
        ("clashes", "Renamed"),
        ("skipped", "Skipped"),
        ("failed", "Failed"),
    ):
        items = report.get(key) or []
        if items:
            more = f" (and {len(items) - 3} more)" if len(items) > 3 else ""
            lines.append(f"{label}: " + "; ".join(items[:3]) + more)
    return "\n".join(lines) or "Nothing to report: every entry is as Atelier made it."
