"""The bar above the library view: search-as-you-type, the structural filters, the sort, the view toggle.

Typing re-queries the catalog, so keystrokes are debounced (~150 ms) and a burst of typing costs one
query; combo changes apply at once, and so does Esc in the search field, which clears it. The bar owns a
``FilterState`` and emits it whole, so the window combines it with the sidebar's scope in one place
(``MainWindow._query``).

The architecture combo also offers the base-model labels the library holds (Pony, Illustrious, NoobAI:
all SDXL by their tensors, told apart only by their label), each indented under its files' architecture:
choosing "SDXL" still means every SDXL file, choosing "Pony" under it the SDXL files labelled Pony. The
labels come with the sidebar's counts (``set_base_models``), after the first frame, as the tags do.

The sort (a key and an order toggle) lives here too, so the grid can be sorted: the table's header sorts
the same catalog query, and the window keeps both showing the same choice (``set_sort`` does not emit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from itertools import pairwise
from typing import NamedTuple

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QButtonGroup,
    QComboBox,
    QFrame,
    QLineEdit,
    QStyleOptionViewItem,
    QToolButton,
    QWidget,
)

from catalog.asset_query import HiddenFilter, SortKey
from core.taxonomy import Architecture, AssetKind, FileStatus
from desktop.labels import ARCHITECTURE_LABELS, KIND_LABELS
from desktop.qt_namespace import USER_ROLE, Qt, set_enum_property
from desktop.resources import icon
from desktop.widgets.flow_layout import FlowLayout

SEARCH_DEBOUNCE_MS = 150
SEARCH_WIDTH = 260
# How far a base-model label is indented under its architecture in the combo's list.
LABEL_INDENT = 16
# Between an architecture and a label in a label entry's data ("sdxl/Pony"): no architecture's value has it.
LABEL_SEPARATOR = "/"
# The item role that says an entry is a base-model label (indented under its architecture).
LABEL_ROLE = USER_ROLE + 1


class StatusFilter(Enum):
    """File health filter; ``DEFAULT`` is the catalog's default (everything but missing files)."""

    DEFAULT = "default"
    OK = "ok"
    PROBLEMS = "problems"
    CORRUPT = "corrupt"
    UNSAFE = "unsafe"
    MISSING = "missing"
    UNREADABLE = "unreadable"

    def statuses(self) -> tuple[FileStatus, ...]:
        match self:
            case StatusFilter.DEFAULT:
                return ()
            case StatusFilter.PROBLEMS:
                return (FileStatus.CORRUPT, FileStatus.UNSAFE, FileStatus.MISSING, FileStatus.UNREADABLE)
            case _:
                return (FileStatus(self.value),)


STATUS_FILTER_LABELS: dict[StatusFilter, str] = {
    StatusFilter.DEFAULT: "Any status",
    StatusFilter.OK: "Healthy",
    StatusFilter.PROBLEMS: "Problems",
    StatusFilter.CORRUPT: "Corrupt",
    StatusFilter.UNSAFE: "Unsafe",
    StatusFilter.MISSING: "Missing",
    StatusFilter.UNREADABLE: "Unreadable",
}


HIDDEN_FILTER_LABELS: dict[HiddenFilter, str] = {
    HiddenFilter.VISIBLE: "Not hidden",
    HiddenFilter.ALL: "Hidden too",
    HiddenFilter.ONLY: "Hidden only",
}


SORT_LABELS: dict[SortKey, str] = {
    SortKey.NAME: "Name",
    SortKey.KIND: "Kind",
    SortKey.ARCHITECTURE: "Architecture",
    SortKey.SIZE: "Size",
    SortKey.ADDED: "Date added",
    SortKey.RATING: "Rating",
}


class FilterState(NamedTuple):
    """What the bar filters by; the defaults filter nothing. A named tuple: made before the window's first
    frame, where a frozen dataclass costs ~0.6 ms to create (see ``app.settings.Settings``)."""

    text: str = ""
    kind: AssetKind | None = None
    architecture: Architecture | None = None
    base_model: str | None = None  # a base-model label of ``architecture``'s files (Pony, Illustrious...)
    tag: str | None = None
    min_rating: int = 0
    favorites_only: bool = False
    status: StatusFilter = StatusFilter.DEFAULT
    hidden: HiddenFilter = HiddenFilter.VISIBLE  # files the user hid stay out unless asked for
    has_update: bool = False  # only files with a newer Civitai version


class SearchField(QLineEdit):
    """The search line edit; Esc clears it (``cleared``), as search fields do, where a plain line edit
    lets the key go by and the filter stays. An empty field lets Esc go on to its parents. Down, Return
    and Enter ask for the results (``results_requested``): a plain line edit lets them go by, and the
    keys stayed in the search while the user meant to pick a result. Tab asks for them too, so it leads
    to the same place as Down (the search applied, the first result current and selected); with no
    result to go to it moves on along the focus chain as usual."""

    cleared = Signal()
    results_requested = Signal()

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802 - Qt's names
        """Tab (``next``): the results, as Down. Otherwise Qt let Tab move the focus before the words
        typed within the debounce filtered the view, so the result was current but not selected and
        Enter on it added nothing."""
        if next:
            self.results_requested.emit()
            if not self.hasFocus():
                return True
        return super().focusNextPrevChild(next)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if (
            event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and modifiers == Qt.KeyboardModifier.NoModifier
        ):
            event.accept()
            self.results_requested.emit()
            return
        if (
            event.key() == Qt.Key.Key_Escape
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
            and self.text()
        ):
            self.clear()
            self.cleared.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class FilterBar(QFrame):
    """Search field, filter combos and the grid/table toggle.

    A frame (without one drawn) rather than a plain widget: Qt's style sheet draws a frame's background
    itself, where a plain widget subclass needs ``WA_StyledBackground``, a ``Qt`` enum (see
    ``desktop.qt_namespace``)."""

    filters_changed = Signal(object)  # FilterState
    # Down, Return or Enter in the search: the results should take the keys (the search is applied first)
    results_requested = Signal()
    view_mode_changed = Signal(str)  # "grid" | "table"
    sort_changed = Signal(object, bool)  # SortKey, descending

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterBar")
        # The controls wrap onto a second line when the library area is narrow (the board and the
        # details pane beside it): the bar never makes the window wider, and nothing is cut off.
        layout = FlowLayout(self, spacing=6)
        layout.setContentsMargins(10, 8, 10, 8)

        self.search = SearchField(self)
        self.search.setObjectName("searchField")
        self.search.setPlaceholderText("Search models…")
        self.search.setToolTip("Searches names, tags, trigger words, notes and descriptions (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.setFixedWidth(SEARCH_WIDTH)
        layout.addWidget(self.search)

        # Item data are plain strings and ints: Qt stores them natively, so findData() can match them.
        self.kind = self._combo("All kinds", [(KIND_LABELS[k], k.value) for k in AssetKind])
        self.architecture = self._combo(
            "All architectures", [(ARCHITECTURE_LABELS[a], a.value) for a in Architecture]
        )
        self.architecture.setObjectName("architectureFilter")
        self.architecture.setToolTip("Architecture, or a base-model label (Pony, Illustrious...) under it")
        self.architecture.setItemDelegate(IndentedLabels(self.architecture.itemDelegate(), self.architecture))
        self.tag = self._combo("All tags", [])
        self.rating = self._combo("Any rating", [(f"★ {n}+" if n < 5 else "★ 5", n) for n in range(1, 6)])
        self.status = self._combo(
            STATUS_FILTER_LABELS[StatusFilter.DEFAULT],
            [(STATUS_FILTER_LABELS[s], s.value) for s in StatusFilter if s is not StatusFilter.DEFAULT],
        )
        self.hidden = self._combo(
            HIDDEN_FILTER_LABELS[HiddenFilter.VISIBLE],
            [(HIDDEN_FILTER_LABELS[h], h.value) for h in HiddenFilter if h is not HiddenFilter.VISIBLE],
        )
        self.hidden.setObjectName("hiddenFilter")
        self.hidden.setToolTip("Files you hid (context menu › Hide) stay out of the library unless shown")
        for combo in (self.kind, self.architecture, self.tag, self.rating, self.status, self.hidden):
            layout.addWidget(combo)

        self.favorites = QToolButton(self)
        self.favorites.setCheckable(True)
        self.favorites.setIcon(icon("heart"))
        self.favorites.setToolTip("Favorites only")
        self.favorites.setIconSize(QSize(18, 18))
        self.favorites.toggled.connect(self._on_favorites_toggled)
        layout.addWidget(self.favorites)

        self.updates = QToolButton(self)
        self.updates.setObjectName("hasUpdateFilter")
        self.updates.setCheckable(True)
        self.updates.setIcon(icon("update"))
        self.updates.setText("Has update")
        set_enum_property(self.updates, "toolButtonStyle", "ToolButtonTextBesideIcon")
        self.updates.setToolTip("Only files with a newer version on Civitai (Library › Check for updates)")
        self.updates.setIconSize(QSize(16, 16))
        self.updates.toggled.connect(self._emit)
        layout.addWidget(self.updates)

        self.sort = QComboBox(self)
        self.sort.setToolTip("Sort by (the table's column headers sort too)")
        for key, label in SORT_LABELS.items():
            self.sort.addItem(f"Sort: {label}", key.value)
        self.sort.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.sort.currentIndexChanged.connect(self._emit_sort)
        self.order = QToolButton(self)
        self.order.setCheckable(True)  # checked: descending
        self.order.setIconSize(QSize(16, 16))
        self.order.toggled.connect(self._emit_sort)
        self._show_order(descending=False)
        layout.addWidget(self.sort)
        layout.addWidget(self.order)

        self.grid_button = self._view_button("grid", "Grid view")
        self.table_button = self._view_button("table", "Table view")
        self._view_group = QButtonGroup(self)
        self._view_group.setExclusive(True)
        for button in (self.grid_button, self.table_button):
            self._view_group.addButton(button)
            layout.addWidget(button)
        self.grid_button.setChecked(True)
        self.grid_button.toggled.connect(self._on_view_toggled)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit)
        self.search.textChanged.connect(self._debounce.start)
        self.search.cleared.connect(self._apply_now)
        self.search.results_requested.connect(self._apply_now)  # the words typed within the debounce too
        self.search.results_requested.connect(self.results_requested)
        self._state = FilterState()

    def _combo(self, all_label: str, entries: Sequence[tuple[str, object]]) -> QComboBox:
        combo = QComboBox(self)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        combo.addItem(all_label, None)
        for label, value in entries:
            combo.addItem(label, value)
        combo.currentIndexChanged.connect(self._emit)
        return combo

    def _view_button(self, name: str, tooltip: str) -> QToolButton:
        button = QToolButton(self)
        button.setCheckable(True)
        button.setIcon(icon(name))
        button.setIconSize(QSize(18, 18))
        button.setToolTip(tooltip)
        return button

    # -- state --------------------------------------------------------------------------------------

    def state(self) -> FilterState:
        kind = self.kind.currentData()
        architecture, _, base_model = str(self.architecture.currentData() or "").partition(LABEL_SEPARATOR)
        status = self.status.currentData()
        hidden = self.hidden.currentData()
        return FilterState(
            text=self.search.text().strip(),
            kind=AssetKind(kind) if kind else None,
            architecture=Architecture(architecture) if architecture else None,
            base_model=base_model or None,
            tag=self.tag.currentData() or None,
            min_rating=int(self.rating.currentData() or 0),
            favorites_only=self.favorites.isChecked(),
            status=StatusFilter(status) if status else StatusFilter.DEFAULT,
            hidden=HiddenFilter(hidden) if hidden else HiddenFilter.VISIBLE,
            has_update=self.updates.isChecked(),
        )

    def set_state(self, state: FilterState) -> None:
        """Sets every control at once (a sidebar click) and emits one change, not one per control."""
        widgets = (
            self.search,
            self.kind,
            self.architecture,
            self.tag,
            self.rating,
            self.status,
            self.hidden,
            self.favorites,
            self.updates,
        )
        for widget in widgets:
            widget.blockSignals(True)
        try:
            if self.search.text() != state.text:
                self.search.setText(state.text)
            _select(self.kind, state.kind.value if state.kind else None)
            if state.architecture is not None and state.base_model:
                if self.architecture.findData(_label_data(state.architecture, state.base_model)) < 0:
                    self._add_label(state.architecture, state.base_model, files=None)
                _select(self.architecture, _label_data(state.architecture, state.base_model))
            else:
                _select(self.architecture, state.architecture.value if state.architecture else None)
            if state.tag is not None and self.tag.findData(state.tag) < 0:
                self.tag.addItem(state.tag, state.tag)
            _select(self.tag, state.tag)
            _select(self.rating, state.min_rating or None)
            _select(self.status, None if state.status is StatusFilter.DEFAULT else state.status.value)
            _select(self.hidden, None if state.hidden is HiddenFilter.VISIBLE else state.hidden.value)
            self.favorites.setChecked(state.favorites_only)
            self.favorites.setIcon(icon("heart-filled" if state.favorites_only else "heart"))
            self.updates.setChecked(state.has_update)
        finally:
            for widget in widgets:
                widget.blockSignals(False)
        self._debounce.stop()
        self._emit()

    def set_tags(self, tags: Sequence[str]) -> None:
        """Refreshes the tag choices (after a scan or an edit) without losing the current choice."""
        current = self.tag.currentData() or None
        choices: list[str] = sorted(set(tags) | ({current} if current else set()), key=str.casefold)
        existing = [self.tag.itemData(i) for i in range(1, self.tag.count())]
        if existing == choices:
            return
        self.tag.blockSignals(True)
        try:
            while self.tag.count() > 1:
                self.tag.removeItem(1)
            for tag in choices:
                self.tag.addItem(tag, tag)
            _select(self.tag, current)
        finally:
            self.tag.blockSignals(False)

    def set_base_models(self, labels: Mapping[Architecture, Mapping[str, int]]) -> None:
        """Refreshes the base-model labels offered under each architecture (``labels``: how many files
        carry each; ``catalog.queries.base_model_labels``) without losing the current choice."""
        current = self.architecture.currentData()
        entries = [(a, label, files) for a, counts in labels.items() for label, files in counts.items()]
        chosen = str(current or "").partition(LABEL_SEPARATOR)
        if chosen[2] and not any(_label_data(a, label) == current for a, label, _files in entries):
            entries.append((Architecture(chosen[0]), chosen[2], 0))  # kept, as a tag no file has any more
        wanted = [(_label_data(a, label), files or -1) for a, label, files in entries]
        if wanted == self._label_entries():
            return
        self.architecture.blockSignals(True)
        try:
            for index in reversed(range(self.architecture.count())):
                if self.architecture.itemData(index, LABEL_ROLE):
                    self.architecture.removeItem(index)
            for architecture, label, files in entries:
                self._add_label(architecture, label, files)
            _select(self.architecture, current)
        finally:
            self.architecture.blockSignals(False)

    def _label_entries(self) -> list[tuple[object, object]]:
        combo = self.architecture
        return [
            (combo.itemData(i), combo.itemData(i, LABEL_ROLE))
            for i in range(combo.count())
            if combo.itemData(i, LABEL_ROLE)
        ]

    def _add_label(self, architecture: Architecture, label: str, files: int | None) -> None:
        """``label`` as an entry after ``architecture``'s own and its other labels (alphabetically, in
        the order given); ``files`` is how many files carry it (None: not known yet)."""
        combo = self.architecture
        position = combo.findData(architecture.value) + 1
        while position < combo.count() and combo.itemData(position, LABEL_ROLE):
            position += 1
        family = ARCHITECTURE_LABELS[architecture]
        combo.insertItem(position, label, _label_data(architecture, label))
        # The role holds the number of files (or -1) and marks the entry a label: never 0, which is falsy.
        combo.setItemData(position, files if files else -1, LABEL_ROLE)
        counted = f" ({files} file{'s' if files != 1 else ''})" if files else ""
        combo.setItemData(position, f"{family} files labelled {label}{counted}", Qt.ItemDataRole.ToolTipRole)
        # Read out with its family: the indentation that shows it is not heard.
        combo.setItemData(position, f"{label}, {family} base model", Qt.ItemDataRole.AccessibleTextRole)

    # -- sort -------------------------------------------------------------------------------------------

    def sort_choice(self) -> tuple[SortKey, bool]:
        """The chosen key and whether the order is descending."""
        return SortKey(self.sort.currentData() or SortKey.NAME.value), self.order.isChecked()

    def set_sort(self, key: SortKey, descending: bool) -> None:
        """Shows ``key`` and the order (the header was clicked) without emitting ``sort_changed``."""
        for widget in (self.sort, self.order):
            widget.blockSignals(True)
        try:
            _select(self.sort, key.value)
            self.order.setChecked(descending)
            self._show_order(descending)
        finally:
            for widget in (self.sort, self.order):
                widget.blockSignals(False)

    def _show_order(self, descending: bool) -> None:
        self.order.setIcon(icon("chevron-down" if descending else "chevron-up"))
        self.order.setToolTip(
            "Descending (click for ascending)" if descending else "Ascending (click for descending)"
        )

    def _emit_sort(self) -> None:
        key, descending = self.sort_choice()
        self._show_order(descending)
        self.sort_changed.emit(key, descending)

    def set_view_mode(self, mode: str) -> None:
        (self.table_button if mode == "table" else self.grid_button).setChecked(True)

    def view_mode(self) -> str:
        return "table" if self.table_button.isChecked() else "grid"

    def lead_search_to(self, *stops: QWidget) -> None:
        """Tab from the search goes through ``stops`` in their order (the library views below the bar,
        then the details pane; hidden ones are skipped) and Shift+Tab back: the bar's other stops come
        before the search, reached with Shift+Tab from it. In the bar's reading order the results were
        a dozen Tabs away from the search, and the widgets made after them (the "Compose board" button)
        came between them and the details.

        Called once the bar and ``stops`` are in one window: within the bar alone the focus chain is a
        ring, where the search already follows the last button, and Qt leaves it as it is."""
        chain = [self.table_button, self.search, *stops]
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _on_favorites_toggled(self, checked: bool) -> None:
        self.favorites.setIcon(icon("heart-filled" if checked else "heart"))
        self._emit()

    def _on_view_toggled(self, _grid_checked: bool) -> None:
        self.view_mode_changed.emit(self.view_mode())

    def _apply_now(self) -> None:
        """The search's change applied without waiting for more typing (Esc cleared it, or the user went
        to the results)."""
        self._debounce.stop()
        self._emit()

    def _emit(self) -> None:
        state = self.state()
        if state != self._state:
            self._state = state
            self.filters_changed.emit(state)


class IndentedLabels(QAbstractItemDelegate):
    """The combo's own item delegate (Fusion's menu items), with the base-model label entries
    (:data:`LABEL_ROLE`) drawn :data:`LABEL_INDENT` further in, as a tree shows children: the text stays
    the label alone, so typing its first letters finds it and the closed combo shows it plainly."""

    def __init__(self, inner: QAbstractItemDelegate, parent: QWidget) -> None:
        super().__init__(parent)
        self._inner = inner
        inner.setParent(self)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        if index.data(LABEL_ROLE):
            # The indent's strip first, as the style draws a row's background (its highlight when
            # hovered, the style sheet's colours): the row drawn ending at the strip's right edge and
            # starting far to its left, so its text lies left of the strip, clipped away.
            strip = QRect(option.rect.topLeft(), QSize(LABEL_INDENT, option.rect.height()))
            background = QStyleOptionViewItem(option)
            background.rect = strip.adjusted(-_OFF_TO_THE_LEFT, 0, 0, 0)
            painter.save()
            painter.setClipRect(strip)
            self._inner.paint(painter, background, index)
            painter.restore()
            option = QStyleOptionViewItem(option)
            option.rect = option.rect.adjusted(LABEL_INDENT, 0, 0, 0)
        self._inner.paint(painter, option, index)

    def sizeHint(  # noqa: N802
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = self._inner.sizeHint(option, index)
        return size + QSize(LABEL_INDENT, 0) if index.data(LABEL_ROLE) else size

    def editorEvent(  # noqa: N802
        self,
        event: QEvent,
        model: QAbstractItemModel,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> bool:
        return bool(self._inner.editorEvent(event, model, option, index))


# Far enough for any label's text (the background pass of ``IndentedLabels.paint``).
_OFF_TO_THE_LEFT = 4000


def _label_data(architecture: Architecture, label: str) -> str:
    """A label entry's data: its architecture's value and the label (``state`` splits them back)."""
    return f"{architecture.value}{LABEL_SEPARATOR}{label}"


def _select(combo: QComboBox, value: object) -> None:
    index = combo.findData(value) if value is not None else 0
    combo.setCurrentIndex(max(0, index))
