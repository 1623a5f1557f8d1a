"""The bar above the library view: search-as-you-type, the structural filters, the sort, the view toggle.

Typing re-queries the catalog, so keystrokes are debounced (~150 ms) and a burst of typing costs one
query; combo changes apply at once, and so does Esc in the search field, which clears it. The bar owns a
``FilterState`` and emits it whole, so the window combines it with the sidebar's scope in one place
(``MainWindow._query``).

The sort (a key and an order toggle) lives here too, so the grid can be sorted: the table's header sorts
the same catalog query, and the window keeps both showing the same choice (``set_sort`` does not emit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QLineEdit,
    QToolButton,
    QWidget,
)

from catalog.asset_query import HiddenFilter, SortKey
from core.taxonomy import Architecture, AssetKind, FileStatus
from desktop.labels import ARCHITECTURE_LABELS, KIND_LABELS
from desktop.resources import icon
from desktop.widgets.flow_layout import FlowLayout

SEARCH_DEBOUNCE_MS = 150
SEARCH_WIDTH = 260


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


@dataclass(frozen=True, slots=True)
class FilterState:
    """What the bar filters by; the defaults filter nothing."""

    text: str = ""
    kind: AssetKind | None = None
    architecture: Architecture | None = None
    tag: str | None = None
    min_rating: int = 0
    favorites_only: bool = False
    status: StatusFilter = StatusFilter.DEFAULT
    hidden: HiddenFilter = HiddenFilter.VISIBLE  # files the user hid stay out unless asked for
    has_update: bool = False  # only files with a newer Civitai version


class SearchField(QLineEdit):
    """The search line edit; Esc clears it (``cleared``), as search fields do, where a plain line edit
    lets the key go by and the filter stays. An empty field lets Esc go on to its parents."""

    cleared = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
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


class FilterBar(QWidget):
    """Search field, filter combos and the grid/table toggle."""

    filters_changed = Signal(object)  # FilterState
    view_mode_changed = Signal(str)  # "grid" | "table"
    sort_changed = Signal(object, bool)  # SortKey, descending

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
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
        self.updates.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
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
        architecture = self.architecture.currentData()
        status = self.status.currentData()
        hidden = self.hidden.currentData()
        return FilterState(
            text=self.search.text().strip(),
            kind=AssetKind(kind) if kind else None,
            architecture=Architecture(architecture) if architecture else None,
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

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _on_favorites_toggled(self, checked: bool) -> None:
        self.favorites.setIcon(icon("heart-filled" if checked else "heart"))
        self._emit()

    def _on_view_toggled(self, _grid_checked: bool) -> None:
        self.view_mode_changed.emit(self.view_mode())

    def _apply_now(self) -> None:
        """The search's change applied without waiting for more typing (Esc cleared it)."""
        self._debounce.stop()
        self._emit()

    def _emit(self) -> None:
        state = self.state()
        if state != self._state:
            self._state = state
            self.filters_changed.emit(state)


def _select(combo: QComboBox, value: object) -> None:
    index = combo.findData(value) if value is not None else 0
    combo.setCurrentIndex(max(0, index))
