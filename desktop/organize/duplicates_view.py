"""Organize › Find duplicates…: identical files grouped, one kept per group, the others trashed or linked.

The dialog lists the groups of ``Library.duplicate_groups`` as a tree: a group (its size, how many files,
the bytes keeping one frees), then each file with its path, library folder, size and date; paths of one
file (hard links) are marked "linked" and are never a duplicate of each other. The file kept in each group
is the checked one (default: ``app.organize.dedupe.default_keep``; clicking another file's box keeps
that one instead). The action (trash / hard links / symbolic links) and the bytes it frees are shown
before anything runs; files a hard link cannot reach (another disk) are listed with the reason.

"Resolve" asks once, then runs ``apply_dedupe`` as a window job (progress and Cancel in the status bar);
the library views and the dialog are re-read when it ends. Near-duplicates (same tensors with other
metadata, one Civitai version in other bytes, several versions of a model) are hints in their own
section, never resolved here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QSize
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from catalog.path_text import shown
from core.jobs import CancelToken, ProgressCallback
from core.sizes import human_size
from desktop.qt_namespace import USER_ROLE, Qt

if TYPE_CHECKING:
    from app.organize.dedupe import DedupePlan, GroupPlan, Mode
    from catalog.duplicates import DuplicateFile, DuplicateGroup, NearDuplicateHint
    from catalog.library import Library
    from catalog.records import AssetRecord
    from desktop.main_window import MainWindow

TITLE = "Find duplicates"
JOB_TITLE = "Resolving duplicates"
COLUMNS = ("Keep", "Path", "Library folder", "Size", "Modified", "Linked")
LINKED = "linked (same file)"  # the Linked column's texts: it is sized for the longest, never clipped
LINKED_FIRST = "{count} paths, one file"
ROW_PADDING = 10
MODE_TEXT: dict[str, str] = {
    "trash": "Send the other copies to the trash",
    "hardlink": "Replace the other copies with hard links (same disk)",
    "symlink": "Replace the other copies with symbolic links",
}
ASSET_ROLE = USER_ROLE
HINT_REASONS = {
    "same_tensors": "Same tensors",
    "same_version": "Same Civitai version",
    "model_versions": "Versions of one model",
}


def install_duplicates(window: MainWindow) -> QAction:
    """Adds “Find duplicates…” to the Organize menu, and “Show its duplicates…” to the context menu of a
    file that has some."""
    action = QAction("Find &duplicates…", window)
    action.setToolTip("Identical files across the library folders: keep one, trash or link the others")
    action.triggered.connect(lambda: open_duplicates_dialog(window))
    window.organize_menu.addAction(action)
    window.duplicates_action = action  # type: ignore[attr-defined]

    def add_context_section(menu: QMenu, records: list[AssetRecord]) -> None:
        from app.organize.dedupe import plan_dedupe

        found = _groups_of(cast("Library", window.library), records)
        if not found:
            return
        plan = plan_dedupe([group for group, _asset_id in found], "trash")
        figure = plan.bytes_text(short=True)
        if len(records) == 1:
            others = len(found[0][0].files) - 1
            text = f"Show its {others} duplicate{'s' if others != 1 else ''}… ({figure})"
        else:
            groups = len(found)
            text = f"Show duplicates… ({groups} group{'s' if groups != 1 else ''}, {figure})"
        entry = menu.addAction(text)
        entry.setObjectName("showDuplicatesAction")
        entry.setToolTip(plan.bytes_text())
        menu.setToolTipsVisible(True)
        first = found[0][1]
        entry.triggered.connect(lambda _checked=False: show_duplicates_of(window, first))

    window.context_menu_sections.append(add_context_section)
    return action


MAX_MENU_FILES = 500  # a bigger selection is not looked up for the context menu (one query per content)


def _groups_of(library: Library, records: list[AssetRecord]) -> list[tuple[DuplicateGroup, int]]:
    """The duplicate groups the selected files belong to, each with the first selected file in it (one
    query per distinct content: a selection of identical files asks once)."""
    if len(records) > MAX_MENU_FILES:
        return []
    found: dict[str, tuple[DuplicateGroup, int]] = {}
    asked: set[str] = set()
    for record in records:
        sha = record.hashes.sha256.upper() if record.hashes and record.hashes.sha256 else None
        if sha is None or sha in asked:
            continue
        asked.add(sha)
        group = library.duplicates_of(record.id)
        if group is not None:
            found.setdefault(group.sha256, (group, record.id))
    return list(found.values())


def show_duplicates_of(window: MainWindow, asset_id: int) -> DuplicatesDialog:
    """Opens the dialog on the group of ``asset_id``, its row selected."""
    dialog = open_duplicates_dialog(window)
    row = dialog.row_of(asset_id)
    if row is not None:
        dialog.tree.setCurrentItem(row)
        dialog.tree.scrollToItem(row)
    return dialog


def open_duplicates_dialog(window: MainWindow) -> DuplicatesDialog:
    """Shows the dialog (the one already open, re-read, if any)."""
    current = getattr(window, "duplicates_dialog", None)
    if isinstance(current, DuplicatesDialog) and current.isVisible():
        current.reload()
        current.raise_()
        current.activateWindow()
        return current
    dialog = DuplicatesDialog(window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.duplicates_dialog = dialog  # type: ignore[attr-defined]
    dialog.destroyed.connect(lambda: setattr(window, "duplicates_dialog", None))
    dialog.finished.connect(window.give_keys_back)  # Ctrl+Z at once after it closes
    dialog.show()
    return dialog


class DuplicatesDialog(QDialog):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.library = cast("Library", window.library)
        self.groups: list[DuplicateGroup] = []
        self.keep: dict[str, int] = {}  # sha256 -> asset id of the file kept
        self.plan: DedupePlan | None = None
        self.unhashed = 0
        self._filling = False
        self.setWindowTitle(TITLE)
        self.setObjectName("duplicatesDialog")
        self.resize(1180, 760)

        self.summary = QLabel()
        self.summary.setObjectName("duplicatesSummary")
        self.summary.setWordWrap(True)

        self.tree = QTreeWidget()
        self.tree.setObjectName("duplicatesTree")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a long path keeps its file name
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Path"), QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COLUMNS.index("Library folder"), QHeaderView.ResizeMode.Interactive)
        header.resizeSection(COLUMNS.index("Library folder"), 220)
        metrics = self.tree.fontMetrics()
        linked = COLUMNS.index("Linked")
        header.setSectionResizeMode(linked, QHeaderView.ResizeMode.Interactive)
        widest = max(metrics.horizontalAdvance(text) for text in (LINKED, LINKED_FIRST.format(count=99)))
        header.resizeSection(linked, widest + 4 * metrics.averageCharWidth())
        header.setStretchLastSection(False)
        self.row_height = metrics.height() + ROW_PADDING  # rows with room around the text and the box
        self.tree.itemChanged.connect(self._on_item_changed)

        self.hints_label = QLabel("Near-duplicates (hints only: look before you delete anything)")
        self.hints_label.setObjectName("hint")
        self.hints = QTreeWidget()
        self.hints.setObjectName("nearDuplicatesTree")
        self.hints.setHeaderLabels(("Why", "Path", "Size", "Version"))
        self.hints.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.hints.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.hints.header().setStretchLastSection(False)
        self.hints.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        hints_box = QWidget()
        hints_layout = QVBoxLayout(hints_box)
        hints_layout.setContentsMargins(0, 6, 0, 0)
        hints_layout.addWidget(self.hints_label)
        hints_layout.addWidget(self.hints)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(hints_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        self.mode_box = QComboBox()
        self.mode_box.setObjectName("duplicatesMode")
        for mode, text in MODE_TEXT.items():
            self.mode_box.addItem(text, mode)
        self.mode_box.currentIndexChanged.connect(self._update_plan)
        self.freed_label = QLabel()
        self.freed_label.setObjectName("duplicatesFreed")
        self.freed_label.setWordWrap(True)
        self.refused_label = QLabel()
        self.refused_label.setObjectName("hint")
        self.refused_label.setWordWrap(True)
        self.resolve_button = QPushButton("Resolve…")
        self.resolve_button.setObjectName("duplicatesResolve")
        self.resolve_button.setDefault(True)
        self.resolve_button.clicked.connect(self.resolve)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.reload)
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.close)

        actions = QHBoxLayout()
        actions.addWidget(QLabel("For every group:"))
        actions.addWidget(self.mode_box)
        actions.addWidget(self.freed_label, 1)
        actions.addWidget(self.refresh_button)
        actions.addWidget(self.resolve_button)
        actions.addWidget(close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.refused_label)
        layout.addLayout(actions)

        window.job_ended.connect(self._on_job_ended)
        self.reload()

    # -- reading ----------------------------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read the groups and hints from the catalog (after a scan, a resolution, an undo)."""
        from app.organize.dedupe import default_keep

        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.groups = self.library.duplicate_groups()
            hints = self.library.near_duplicate_hints()
            unhashed = len(self.library.unhashed())
        finally:
            QGuiApplication.restoreOverrideCursor()
        kept = {}
        for group in self.groups:
            chosen = self.keep.get(group.sha256)
            item = group.file_of(chosen) if chosen is not None else None
            kept[group.sha256] = (item or default_keep(group)).asset_id
        self.keep = kept
        self.unhashed = unhashed
        self._fill_tree()
        self._fill_hints(hints)
        self._update_plan()

    def _show_figures(self, plan: DedupePlan) -> None:
        """The header and each group's line say the plan's figures (what the chosen action frees with the
        chosen files kept): one amount on the whole screen."""
        if self.groups:
            text = (
                f"<b>{len(self.groups)} group{'s' if len(self.groups) != 1 else ''}</b> of identical files: "
                f"<b>{plan.bytes_text()}</b>. The checked file of each group is kept (in the folder for its "
                "kind, else the one with your ratings, notes and tags, else the oldest); tick another to "
                "keep it instead. Your data on the others is added to the kept file."
            )
        else:
            text = "<b>No duplicate files.</b> Hard links and symlinks of one file are never duplicates."
        if self.unhashed:
            count = self.unhashed
            text += f" {count} file{'s are' if count != 1 else ' is'} not hashed yet and not compared."
        self.summary.setText(text)
        for number, group_plan in enumerate(plan.groups, start=1):
            top = self.tree.topLevelItem(number - 1)
            if top is not None:
                top.setText(0, _heading(number, group_plan))
                top.setToolTip(0, group_plan.bytes_text())

    def _fill_tree(self) -> None:
        self._filling = True
        self.tree.clear()
        for number, group in enumerate(self.groups, start=1):
            # The group's line spans the row: its figures are never cut by the Path column.
            top = QTreeWidgetItem([f"Group {number}: {len(group.files)} identical files"])
            top.setSizeHint(0, QSize(0, self.row_height))  # spanned: no column width from it
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            self.tree.addTopLevelItem(top)
            top.setFirstColumnSpanned(True)
            for item in group.files:
                self._add_file(top, group, item)
            top.setExpanded(True)
        self._filling = False

    def _add_file(self, top: QTreeWidgetItem, group: DuplicateGroup, item: DuplicateFile) -> None:
        kept = self.keep.get(group.sha256) in item.asset_ids
        for index, path in enumerate(item.paths):
            linked = ""
            if item.linked:
                linked = LINKED if index else LINKED_FIRST.format(count=len(item.paths))
            row = QTreeWidgetItem(
                [
                    "",
                    shown(path.path),
                    shown(path.root_path or ""),
                    human_size(item.size),
                    _when(path.mtime_ns),
                    linked,
                ]
            )
            row.setData(0, ASSET_ROLE, path.asset_id)
            row.setSizeHint(1, QSize(0, self.row_height))
            row.setToolTip(1, shown(path.path))
            if index == 0:
                row.setFlags(row.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                row.setCheckState(0, Qt.CheckState.Checked if kept else Qt.CheckState.Unchecked)
                row.setToolTip(0, "Keep this file (the others of the group go)")
            top.addChild(row)

    def _fill_hints(self, hints: list[NearDuplicateHint]) -> None:
        self.hints.clear()
        self.hints_label.setText(
            f"Near-duplicates: {len(hints)} hint{'s' if len(hints) != 1 else ''} (never resolved here)"
            if hints
            else "Near-duplicates: none"
        )
        for hint in hints:
            top = QTreeWidgetItem([HINT_REASONS.get(hint.reason, hint.reason), hint.label, "", ""])
            top.setSizeHint(1, QSize(0, self.row_height))
            self.hints.addTopLevelItem(top)
            for item in hint.files:
                child = QTreeWidgetItem(["", item.path, human_size(item.size), item.version_name or ""])
                child.setSizeHint(1, QSize(0, self.row_height))
                top.addChild(child)
            top.setExpanded(True)

    # -- choosing -----------------------------------------------------------------------------------
    def _on_item_changed(self, row: QTreeWidgetItem, column: int) -> None:
        top = row.parent()
        if self._filling or column != 0 or top is None:
            return
        group = self.groups[self.tree.indexOfTopLevelItem(top)]
        asset_id = int(row.data(0, ASSET_ROLE))
        self._filling = True
        try:
            if row.checkState(0) != Qt.CheckState.Checked:
                if self.keep.get(group.sha256) == asset_id:
                    row.setCheckState(0, Qt.CheckState.Checked)  # one file is always kept
                return
            self.keep[group.sha256] = asset_id
            for child in _children(top):
                if child is not row and child.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                    child.setCheckState(0, Qt.CheckState.Unchecked)
        finally:
            self._filling = False
        self._update_plan()

    def row_of(self, asset_id: int) -> QTreeWidgetItem | None:
        """The tree row of ``asset_id`` (for tests and for keeping a file)."""
        for index in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(index)
            for child in _children(top):
                if child.data(0, ASSET_ROLE) == asset_id:
                    return child
        return None

    @property
    def mode(self) -> Mode:
        return cast("Mode", self.mode_box.currentData())

    def _update_plan(self) -> None:
        from app.organize.dedupe import plan_dedupe

        self.plan = plan_dedupe(self.groups, self.mode, keep=self.keep.values())
        self._show_figures(self.plan)
        if self.plan.is_empty:
            self.freed_label.setText("Nothing to free.")
        else:
            self.freed_label.setText(_sentence(self.plan.summary()))
        refusals = self.plan.refusals
        if refusals:
            lines = [f"{r.path}: {r.reason}" for r in refusals[:4]]
            more = f" (and {len(refusals) - 4} more)" if len(refusals) > 4 else ""
            self.refused_label.setText("Left as they are: " + "; ".join(lines) + more)
            self.refused_label.show()
        else:
            self.refused_label.hide()
        self.resolve_button.setEnabled(not self.plan.is_empty)

    # -- resolving -------------------------------------------------------------------------------------
    def resolve(self) -> None:
        plan = self.plan
        if plan is None or plan.is_empty:
            return
        answer = QMessageBox.question(
            self,
            TITLE,
            f"{_sentence(plan.summary())}\n\nThe kept files stay where they are, with your tags, ratings, "
            "notes and collections of the others added to them. Undo from the Edit menu.",
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Ok:
            return
        self.start(plan)

    def start(self, plan: DedupePlan) -> None:
        """Run ``plan`` as a window job (the status bar shows it; Cancel stops between files)."""
        library = self.library

        def job(progress: ProgressCallback, cancel: CancelToken) -> str:
            from app.organize.dedupe import apply_dedupe

            result = apply_dedupe(library, plan, progress=progress, cancel=cancel)
            freed = human_size(result.freed_bytes)
            tail = " once the trash is emptied" if result.mode == "trash" else ""
            failed = f"; {len(result.failed)} failed: {result.failed[0][1]}" if result.failed else ""
            files = f"{result.done} duplicate{'s' if result.done != 1 else ''}"
            return f"Resolved {files}: {freed} freed{tail}{failed}"

        self.resolve_button.setEnabled(False)
        self.window_.run_job(JOB_TITLE, job)

    def _on_job_ended(self, title: str) -> None:
        if self.isVisible() and (title == JOB_TITLE or title.startswith(("Undo", "Scan", "Hash"))):
            self.reload()


def _heading(number: int, group_plan: GroupPlan) -> str:
    group = group_plan.group
    return (
        f"Group {number}: {len(group.files)} identical files of {human_size(group.size)}, "
        f"{group_plan.bytes_text(short=True)} (SHA256 {group.sha256[:12]}…)"
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _children(item: QTreeWidgetItem | None) -> list[QTreeWidgetItem]:
    if item is None:
        return []
    return [child for index in range(item.childCount()) if (child := item.child(index)) is not None]


def _when(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).astimezone().strftime("%Y-%m-%d %H:%M")
