"""Organize › Organize by template…: a template, a scope, a live plan, then Apply as a window job.

The dialog plans with the app's use case (``app.organize.template_plan.plan_template``) on a worker thread
a moment after each edit, so typing stays smooth on a large library; a plan that arrives for an older
template is dropped. The preview lists every move (from -> to, relative to the library folder) and every
conflict (highlighted, with its reason); files already in place are counted. A template the parser
refuses is said under the field in one line and Apply stays off. "Add (2), (3)…" plans a taken name as
``name (2).safetensors`` instead (the CLI's ``--rename-conflicts``).

Apply hands the plan to ``apply_template`` as a window job: it runs off the GUI thread with its progress
and Cancel in the status bar (Cancel stops between files, every finished move kept and undoable; the bar
then says how many moved), and the library views are re-read when it ends. Conflicts are never applied:
they stay where they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRunnable,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.messages import user_message
from catalog.template_rows import TemplateScope
from core.errors import AtelierError
from core.jobs import CancelToken, ProgressCallback
from core.organize.template import DEFAULT_TEMPLATE, FIELDS
from core.taxonomy import KIND_WORDS, AssetKind
from desktop.qt_namespace import DISPLAY_ROLE, Qt

if TYPE_CHECKING:
    from app.organize.template_plan import TemplatePlan
    from catalog.library import Library
    from catalog.records import AssetRecord
    from desktop.main_window import MainWindow

TITLE = "Organize by template"
PLAN_DELAY_MS = 250
CONFLICT_BACKGROUND = QColor("#f8d7da")
CONFLICT_FOREGROUND = QColor("#842029")
EXAMPLES = (
    "{kind}/{architecture}/{base_label}/{creator}/{model_name}",
    DEFAULT_TEMPLATE,
    "{kind}/{architecture}/{creator|unknown}",
    "{kind}/{model_name} {version_name}.{ext}",
)


def install_template(window: MainWindow) -> TemplateOrganizer:
    """Adds "Organize by template…" to the Organize menu and to the library's context menu."""
    organizer = TemplateOrganizer(window)
    window.template_organizer = organizer  # type: ignore[attr-defined]
    return organizer


@dataclass(frozen=True)
class _Row:
    source: str
    target: str
    note: str
    conflict: bool


class PlanTableModel(QAbstractTableModel):
    """The plan as rows: conflicts first (highlighted), then the moves."""

    HEADERS = ("From", "To", "Note")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[_Row] = []

    def set_plan(self, planned: TemplatePlan | None) -> None:
        from app.organize.template_plan import companions_text

        self.beginResetModel()
        self._rows = []
        if planned is not None:
            for conflict in planned.plan.conflicts:
                target = planned.relative(conflict.target)
                reason = conflict.reason.replace(str(conflict.target), target)
                self._rows.append(_Row(planned.relative(conflict.source), target, reason, True))
            for move in planned.plan.moves:
                extra = companions_text(target for _, target in move.companions)
                note = f"with {extra}" if extra else ""
                self._rows.append(
                    _Row(planned.relative(move.source), planned.relative(move.target), note, False)
                )
        self.endResetModel()

    def row(self, index: int) -> _Row:
        return self._rows[index]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = DISPLAY_ROLE
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = DISPLAY_ROLE) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return (row.source, row.target, row.note)[index.column()]
        if row.conflict and role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(CONFLICT_BACKGROUND)
        if row.conflict and role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(CONFLICT_FOREGROUND)
        return None


class _PlanSignals(QObject):
    planned = Signal(int, object)  # generation, TemplatePlan or the one-line error


class _PlanRunnable(QRunnable):
    def __init__(
        self,
        signals: _PlanSignals,
        *,
        generation: int,
        library: Library,
        template: str,
        scope: TemplateScope,
        target_root: int | None,
        rename_conflicts: bool,
    ) -> None:
        super().__init__()
        self._signals = signals
        self._args = (generation, library, template, scope, target_root, rename_conflicts)

    def run(self) -> None:
        from app.organize.template_plan import plan_template

        generation, library, template, scope, target_root, rename_conflicts = self._args
        try:
            result: object = plan_template(
                library, template, scope=scope, target_root=target_root, rename_conflicts=rename_conflicts
            )
        except (AtelierError, OSError) as exc:
            result = user_message(exc)
        self._signals.planned.emit(generation, result)


class TemplateDialog(QDialog):
    """The template, the scope, the folder to organize into, and the plan as it would run."""

    apply_requested = Signal(object)  # TemplatePlan

    def __init__(
        self,
        library: Library,
        *,
        selection: tuple[int, ...] = (),
        prefer_selection: bool = False,
        template: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.setModal(False)
        self.resize(980, 620)
        self._library = library
        self._generation = 0
        self._pending = False
        self._plan: TemplatePlan | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _PlanSignals(self)
        self._signals.planned.connect(self._on_planned)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PLAN_DELAY_MS)
        self._timer.timeout.connect(self._start_plan)

        self.template_edit = QLineEdit(template or DEFAULT_TEMPLATE)
        self.template_edit.setPlaceholderText(EXAMPLES[0])
        self.template_edit.setClearButtonEnabled(True)
        self.template_edit.setToolTip(
            "Folders separated by /. {field} is the file's value, {field|text} uses text when it has "
            "none; empty parts are left out. The file keeps its name unless the last part uses "
            "{file_name} or {ext}."
        )
        self.field_help = QLabel(
            "Insert field lists what a template can name: kind, architecture, base_label, creator, "
            "model_name, version_name…"
        )
        self.field_help.setWordWrap(True)
        self.field_help.setMinimumHeight(2 * self.field_help.fontMetrics().lineSpacing())  # no jumping
        self.field_help.setStyleSheet("color: palette(placeholder-text);")
        self.insert_button = QToolButton()
        self.insert_button.setText("Insert field")
        self.insert_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.fields_menu = QMenu(self.insert_button)
        self.fields_menu.setToolTipsVisible(True)
        for name, help_text in FIELDS.items():
            action = QAction(f"{{{name}}}", self.fields_menu)
            action.setToolTip(help_text)
            action.triggered.connect(lambda _checked=False, n=name: self.insert_field(n))
            self.fields_menu.addAction(action)
        self.fields_menu.addSeparator()
        for example in EXAMPLES:
            action = QAction(f"Use “{example}”", self.fields_menu)
            action.triggered.connect(lambda _checked=False, t=example: self.template_edit.setText(t))
            self.fields_menu.addAction(action)
        self.fields_menu.hovered.connect(lambda action: self.field_help.setText(action.toolTip()))
        self.insert_button.setMenu(self.fields_menu)
        template_row = QHBoxLayout()
        template_row.addWidget(self.template_edit, 1)
        template_row.addWidget(self.insert_button)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {CONFLICT_FOREGROUND.name()};")
        self.error_label.hide()

        self.scope_combo = QComboBox()
        self.scope_combo.addItem("Every file in the library", None)
        if selection:
            noun = "file" if len(selection) == 1 else "files"
            self.scope_combo.addItem(f"The {len(selection)} selected {noun}", ("ids", selection))
        roots = list(library.roots())
        for root in roots:
            self.scope_combo.addItem(f"Files in {root.path}", ("root", root.id))
        counts = library.facets().by_kind
        for kind in AssetKind:
            if counts.get(kind):
                self.scope_combo.addItem(f"{KIND_WORDS[kind]} files ({counts[kind]})", ("kind", kind))
        if selection and prefer_selection:
            self.scope_combo.setCurrentIndex(1)
        self.target_combo = QComboBox()
        self.target_combo.addItem("Each file's own library folder", None)
        for root in roots:
            self.target_combo.addItem(root.path, root.id)
        self.remember_box = QCheckBox("Make this template the default")
        self.rename_box = QCheckBox("Add (2), (3)… to names already taken, instead of leaving those files")
        self.rename_box.setToolTip(
            "A file whose target name is taken (by another file, or by one of this plan) moves as "
            "“name (2).safetensors”; without this it stays where it is. Nothing is ever overwritten."
        )

        form = QFormLayout()
        form.addRow("Template:", template_row)
        form.addRow("", self.field_help)
        form.addRow("", self.error_label)
        form.addRow("Organize:", self.scope_combo)
        form.addRow("Into:", self.target_combo)
        form.addRow("Conflicts:", self.rename_box)

        self.model = PlanTableModel(self)
        self.preview = QTableView()
        self.preview.setModel(self.model)
        self.preview.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview.verticalHeader().hide()
        self.preview.setWordWrap(False)
        header = self.preview.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(2, 300)  # the reason of a conflict; its whole text is the tooltip
        self.summary_label = QLabel("Planning…")

        self.apply_button = QPushButton("Apply")
        self.apply_button.setDefault(True)
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self._apply)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remember_box)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.apply_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.summary_label)
        layout.addLayout(buttons)

        self.template_edit.textChanged.connect(self.replan)
        self.scope_combo.currentIndexChanged.connect(self.replan)
        self.target_combo.currentIndexChanged.connect(self.replan)
        self.rename_box.toggled.connect(self.replan)
        self.replan()

    # -- planning ---------------------------------------------------------------------------------------

    @property
    def plan(self) -> TemplatePlan | None:
        """The plan shown, once it is current (None while planning or when the template is refused)."""
        return self._plan

    @property
    def planning(self) -> bool:
        return self._timer.isActive() or self._pending

    def insert_field(self, name: str) -> None:
        """Puts ``{name}`` at the cursor (after a ``/`` when the cursor ends a folder name)."""
        edit = self.template_edit
        text, cursor = edit.text(), edit.cursorPosition()
        before = text[:cursor]
        joiner = "/" if before and not before.endswith(("/", " ", "-", "_", "{", "|")) else ""
        edit.insert(f"{joiner}{{{name}}}")
        edit.setFocus()

    def scope(self) -> TemplateScope:
        data = self.scope_combo.currentData()
        if isinstance(data, tuple):
            what, value = data
            if what == "ids":
                return TemplateScope(asset_ids=tuple(value))
            if what == "root":
                return TemplateScope(root_ids=(int(value),))
            if what == "kind":
                return TemplateScope(kinds=(AssetKind(value),))
        return TemplateScope()

    def replan(self) -> None:
        self._plan = None
        self._generation += 1
        self.apply_button.setEnabled(False)
        self.apply_button.setText("Apply")
        self.summary_label.setText("Planning…")
        self._timer.start()

    def _start_plan(self) -> None:
        self._pending = True
        target = self.target_combo.currentData()
        self._pool.start(
            _PlanRunnable(
                self._signals,
                generation=self._generation,
                library=self._library,
                template=self.template_edit.text(),
                scope=self.scope(),
                target_root=int(target) if target is not None else None,
                rename_conflicts=self.rename_box.isChecked(),
            )
        )

    def _on_planned(self, generation: int, result: object) -> None:
        if generation != self._generation:
            return  # the template or scope changed since: a newer plan is on its way
        self._pending = False
        if isinstance(result, str):
            self._plan = None
            self.model.set_plan(None)
            self.error_label.setText(result)
            self.error_label.show()
            self.summary_label.setText("Fix the template to see the plan.")
            self.apply_button.setEnabled(False)
            self.apply_button.setText("Apply")
            return
        planned = cast("TemplatePlan", result)
        self._plan = planned
        self.error_label.hide()
        self.model.set_plan(planned)
        self.summary_label.setText(summary_text(planned))
        self.apply_button.setEnabled(not planned.plan.is_empty)
        moves = planned.plan.move_count
        self.apply_button.setText(f"Apply ({moves} move{'s' if moves != 1 else ''})" if moves else "Apply")

    def _apply(self) -> None:
        if self._plan is None or self._plan.plan.is_empty:
            return
        self.apply_requested.emit(self._plan)
        self.accept()

    def wait_for_plan(self, timeout_ms: int = 5000) -> bool:
        """Blocks until the planner thread is idle (tests and shutdown)."""
        return self._pool.waitForDone(timeout_ms)

    def done(self, result: int) -> None:
        self._timer.stop()
        self._generation += 1  # a plan still running is dropped when it arrives
        super().done(result)


def summary_text(planned: TemplatePlan) -> str:
    plan = planned.plan
    moves, conflicts, unchanged = plan.move_count, plan.conflict_count, len(plan.unchanged)
    parts = [
        f"{moves} file{'s' if moves != 1 else ''} to move"
        + (f" ({plan.file_count} with sidecars and previews)" if plan.file_count != moves else ""),
        f"{conflicts} conflict{'s' if conflicts != 1 else ''}"
        + (" (left where they are)" if conflicts else ""),
        f"{unchanged} already in place",
    ]
    return " · ".join(parts)


class TemplateOrganizer(QObject):
    """Owns the dialog of one window and runs its plans as window jobs."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: TemplateDialog | None = None
        self.action = QAction("Organize by &template…", window)
        self.action.setToolTip("Move files into folders named by a template, with a plan shown first")
        self.action.triggered.connect(lambda _checked=False: self.open())
        window.organize_menu.addAction(self.action)
        window.context_menu_sections.append(self._context_section)
        self._stopped: str | None = None  # what a cancelled apply did, said once its job has ended
        window.job_ended.connect(self._on_job_ended)

    def _context_section(self, menu: QMenu, records: list[AssetRecord]) -> None:
        action = menu.addAction("Organize by template…")
        action.triggered.connect(lambda _checked=False: self.open(tuple(r.id for r in records)))

    def open(self, selection: tuple[int, ...] | None = None) -> TemplateDialog:
        """Shows the dialog (the current selection as a scope choice)."""
        if self.dialog is not None:  # one dialog at a time; the old one goes once its planner is idle
            self.dialog.finished.disconnect(self.window.give_keys_back)  # the new one keeps the keys
            self.dialog.close()
            self.dialog.wait_for_plan()
            self.dialog.deleteLater()
        window = self.window
        ids = selection if selection is not None else tuple(r.id for r in window.selected_records())
        settings = window.services.settings
        library = cast("Library", window.library)
        dialog = TemplateDialog(
            library,
            selection=ids,
            prefer_selection=selection is not None or len(ids) > 1,
            template=str(getattr(settings, "organize_template", "") or ""),
            parent=window,
        )
        dialog.apply_requested.connect(lambda planned: self._apply(dialog, planned))
        dialog.finished.connect(window.give_keys_back)  # Ctrl+Z at once after Apply or Close
        self.dialog = dialog
        dialog.show()
        return dialog

    def _apply(self, dialog: TemplateDialog, planned: TemplatePlan) -> None:
        settings = self.window.services.settings
        if dialog.remember_box.isChecked() and hasattr(settings, "organize_template"):
            settings.organize_template = planned.template.text
            settings.save()
        library = cast("Library", self.window.library)

        def job(progress: ProgressCallback, cancel: CancelToken) -> str:
            from app.organize.template_plan import apply_template

            result = apply_template(library, planned, progress=progress, cancel=cancel)
            failed = f"; {len(result.failed)} failed: {result.failed[0][1]}" if result.failed else ""
            moved = f"moved {result.done} file{'s' if result.done != 1 else ''}{failed}"
            if result.cancelled:
                self._stopped = stopped_text(result.done, planned.plan.move_count) + failed
            elif cancel.cancelled:  # Cancel came as the last file moved: the job counts as cancelled
                self._stopped = f"{TITLE}: {moved}, all of them, before Cancel took effect"
            return moved

        self._stopped = None
        self.window.run_job(TITLE, job)

    def _on_job_ended(self, title: str) -> None:
        """A cancelled job's line in the status bar says only that it was cancelled: for an organize,
        what already moved (kept, and undoable) is what the user needs to know, so it is said instead."""
        if title != TITLE or self._stopped is None:
            return
        message, self._stopped = self._stopped, None
        self.window.status.job_label.setText(message)


def stopped_text(done: int, total: int) -> str:
    """ "Organize by template stopped: 8 of 400 files moved (Edit › Undo reverses them)"."""
    if not done:
        return f"{TITLE} stopped before any file moved"
    files = f"{total:,} file{'s' if total != 1 else ''}"
    return f"{TITLE} stopped: {done:,} of {files} moved (Edit › Undo reverses them)"
