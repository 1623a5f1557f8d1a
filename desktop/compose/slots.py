"""The board's slots: single-asset slots (checkpoint, VAE, hypernetwork), the LoRA stack, the embeddings.

A slot does not decide what a drop means: the board routes each asset to the slot of its kind (a LoRA
dropped on the checkpoint lands in the LoRA stack), lights that slot while the drag hovers, and refuses
kinds no slot takes. Slots hold ``AssetRef`` values, so a recipe pasted from infotext can show a name
whose file is not in the library yet, and the architecture of what they hold, so a row that does not
fit the checkpoint carries a ``FitBadge`` as soon as it is on the board.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from catalog.path_text import shown
from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse
from core.taxonomy import Architecture
from desktop.compose.wheel_guard import guard_wheel
from desktop.qt_namespace import Qt
from desktop.widgets.elided_label import ElidedLabel

WEIGHT_STEP = 0.05
_TICKS_PER_UNIT = round(1 / WEIGHT_STEP)


def restyle(widget: QWidget) -> None:
    """Re-applies the style sheet after a dynamic property used by it changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class FitBadge(QLabel):
    """The mark on a row that does not fit the checkpoint ("SD 1.x LoRA — does not fit this SDXL
    checkpoint")."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fitBadge")
        self.setWordWrap(True)
        self.hide()

    def show_problem(self, problem: str | None) -> None:
        self.setText(problem or "")
        self.setToolTip(
            f"{problem}: choose a checkpoint of the same family, or take it off the board (the plan says "
            "whether Render refuses it or asks first)"
            if problem
            else ""
        )
        self.setVisible(bool(problem))


class SlotFrame(QFrame):
    """A framed part of the board that lights up while a drag that will land in it hovers the board.

    Slots take no drops themselves: the board panel receives every drop and routes each asset by its
    kind, so the highlight shows where it will land wherever the pointer is.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composeSlot")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setProperty("dropTarget", False)

    @property
    def drop_highlighted(self) -> bool:
        return bool(self.property("dropTarget"))

    def set_drop_highlight(self, on: bool) -> None:
        if self.drop_highlighted != on:
            self.setProperty("dropTarget", on)
            restyle(self)


class WeightControl(QWidget):
    """A slider and a spin box showing one weight, kept in sync, in steps of 0.05.

    The spin box may go beyond the slider's range (A1111 prompts sometimes use weights like 3); the
    slider then rests at its end.
    """

    value_changed = Signal(float)

    def __init__(
        self,
        minimum: float,
        maximum: float,
        value: float = 1.0,
        *,
        spin_minimum: float | None = None,
        spin_maximum: float | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(minimum * _TICKS_PER_UNIT), round(maximum * _TICKS_PER_UNIT))
        self.slider.setSingleStep(1)
        self.slider.setPageStep(_TICKS_PER_UNIT // 4)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(2)
        self.spin.setSingleStep(WEIGHT_STEP)
        self.spin.setRange(
            minimum if spin_minimum is None else spin_minimum,
            maximum if spin_maximum is None else spin_maximum,
        )
        self.spin.setKeyboardTracking(False)
        guard_wheel(self.slider, self.spin)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self._on_spin)
        self.set_value(value)

    def value(self) -> float:
        return round(self.spin.value(), 2)

    def set_value(self, value: float) -> None:
        self.spin.setValue(value)
        self._sync_slider(self.spin.value())

    def _sync_slider(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * _TICKS_PER_UNIT))
        self.slider.blockSignals(False)

    def _on_slider(self, ticks: int) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(ticks / _TICKS_PER_UNIT)
        self.spin.blockSignals(False)
        self.value_changed.emit(self.value())

    def _on_spin(self, value: float) -> None:
        self._sync_slider(value)
        self.value_changed.emit(self.value())


def tool_button(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAutoRaise(True)
    return button


def ref_label(ref: AssetRef) -> str:
    if ref.asset_id is not None:
        return ref.name
    if ref.path:
        return f"{ref.name} (file outside the library)"
    return f"{ref.name} (not in the library)"


class AssetSlot(SlotFrame):
    """A slot for one asset (checkpoint, VAE): its name, or a hint to drop one, and a clear button."""

    changed = Signal()
    choose_requested = Signal()  # the "…" button: choose a file from the library (``choosable`` slots)

    def __init__(
        self, title: str, hint: str, parent: QWidget | None = None, *, choosable: bool = False
    ) -> None:
        super().__init__(parent)
        self.title = title
        self._hint = hint
        self._ref: AssetRef | None = None
        self.architecture: Architecture | None = None
        self.held: str | None = None  # what the file holds (a VAE's layouts): app.asset_fit.held_part
        self.caption = QLabel(f"<b>{title}</b>")
        self.name_label = QLabel(hint)
        self.name_label.setWordWrap(True)
        self.detail_label = QLabel()
        self.detail_label.setWordWrap(True)
        self.detail_label.setProperty("secondary", True)
        self.fit_badge = FitBadge()
        self.clear_button = tool_button("✕", f"Remove the {title.lower()}")
        self.clear_button.clicked.connect(self.clear)
        self.choose_button = tool_button("…", f"Choose a {title} from the library")
        self.choose_button.clicked.connect(self.choose_requested)
        self.choose_button.setVisible(choosable)
        header = QHBoxLayout()
        header.addWidget(self.caption)
        header.addStretch(1)
        header.addWidget(self.choose_button)
        header.addWidget(self.clear_button)
        self.body = QVBoxLayout(self)
        self.body.addLayout(header)
        self.body.addWidget(self.name_label)
        self.body.addWidget(self.detail_label)
        self.body.addWidget(self.fit_badge)
        self._refresh()

    @property
    def ref(self) -> AssetRef | None:
        return self._ref

    def set_ref(
        self,
        ref: AssetRef | None,
        detail: str = "",
        architecture: Architecture | None = None,
        held: str | None = None,
    ) -> None:
        self._ref = ref
        self.architecture = architecture if ref is not None else None
        self.held = held if ref is not None else None
        self.detail_label.setText(detail)
        if ref is not None and ref.path:
            self.name_label.setToolTip(shown(ref.path))
        self._refresh()
        self.changed.emit()

    def clear(self) -> None:
        self.set_ref(None)

    def set_hint(self, hint: str) -> None:
        """What the empty slot says (the VAE slot: "from the checkpoint", or that one is needed)."""
        if hint != self._hint:
            self._hint = hint
            self._refresh()

    def _refresh(self) -> None:
        ref = self._ref
        self.name_label.setText(self._hint if ref is None else ref_label(ref))
        self.name_label.setProperty("secondary", ref is None)
        restyle(self.name_label)  # the hint is grey, a placed model's name is not
        self.detail_label.setVisible(ref is not None and bool(self.detail_label.text()))
        self.clear_button.setEnabled(ref is not None)
        if ref is None:
            self.fit_badge.show_problem(None)


class HypernetworkSlot(AssetSlot):
    """The hypernetwork slot: one hypernetwork and its strength (0..2, A1111's usual range)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Hypernetwork", "Drop a hypernetwork here (optional)", parent)
        self.strength = WeightControl(0.0, 2.0, 1.0)
        self.strength.value_changed.connect(lambda _value: self.changed.emit())
        self.body.addWidget(self.strength)
        self._refresh()

    def use(self) -> HypernetworkUse | None:
        return None if self.ref is None else HypernetworkUse(self.ref, strength=self.strength.value())

    def set_use(
        self, use: HypernetworkUse | None, detail: str = "", architecture: Architecture | None = None
    ) -> None:
        if use is not None:
            self.strength.set_value(use.strength)
        self.set_ref(use.ref if use is not None else None, detail, architecture)

    def _refresh(self) -> None:
        super()._refresh()
        if hasattr(self, "strength"):
            self.strength.setEnabled(self.ref is not None)


class LoraRow(QFrame):
    """One LoRA of the stack: on/off, name, weight, trigger-word insertion and removal."""

    changed = Signal()
    remove_requested = Signal(object)  # the row
    trigger_requested = Signal(object)  # tuple[str, ...] trigger words

    def __init__(
        self,
        use: LoraUse,
        trigger_words: tuple[str, ...] = (),
        detail: str = "",
        architecture: Architecture | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("composeRow")
        self.ref = use.ref
        self.architecture = architecture
        self.trigger_words = trigger_words
        self._text_encoder_weight = use.text_encoder_weight
        self._loaded_weight = use.weight
        self.enabled = QCheckBox()
        self.enabled.setChecked(use.enabled)
        self.enabled.setToolTip("Use this LoRA in the render")
        self.enabled.toggled.connect(lambda _on: self.changed.emit())
        self.name_label = ElidedLabel(ref_label(use.ref), Qt.TextElideMode.ElideRight)
        self.name_label.setToolTip("\n".join(filter(None, (use.ref.name, detail, use.ref.path))))
        self.fit_badge = FitBadge()
        self.weight = WeightControl(-2.0, 2.0, use.weight, spin_minimum=-10.0, spin_maximum=10.0)
        self.weight.value_changed.connect(lambda _value: self.changed.emit())
        self.trigger_button = tool_button("T+", "")
        if trigger_words:
            self.trigger_button.setToolTip("Insert the trigger words: " + ", ".join(trigger_words))
        else:
            self.trigger_button.setToolTip("This LoRA has no known trigger words")
        self.trigger_button.setEnabled(bool(trigger_words))
        self.trigger_button.clicked.connect(lambda: self.trigger_requested.emit(self.trigger_words))
        self.remove_button = tool_button("✕", "Remove this LoRA")
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        top = QHBoxLayout()
        top.addWidget(self.enabled)
        top.addWidget(self.name_label, 1)
        top.addWidget(self.trigger_button)
        top.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(top)
        layout.addWidget(self.weight)
        layout.addWidget(self.fit_badge)

    def use(self) -> LoraUse:
        """The row as a recipe entry; a text-encoder weight from pasted infotext is kept while the
        weight is the one it came with."""
        weight = self.weight.value()
        unchanged = abs(weight - self._loaded_weight) < 1e-9
        return LoraUse(
            self.ref,
            weight=weight,
            enabled=self.enabled.isChecked(),
            text_encoder_weight=self._text_encoder_weight if unchanged else None,
        )


class RowList(SlotFrame):
    """A titled list of row widgets with a hint shown while it is empty (the LoRA stack, the embeddings)."""

    changed = Signal()

    def __init__(self, title: str, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hint = QLabel(hint)
        self.hint.setWordWrap(True)
        self.hint.setProperty("secondary", True)
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{title}</b>"))
        layout.addLayout(self.rows_layout)
        layout.addWidget(self.hint)

    def _show_row(self, row: QWidget, replacing: QWidget | None = None) -> None:
        if replacing is not None:
            self.rows_layout.replaceWidget(replacing, row)
            replacing.deleteLater()
        else:
            self.rows_layout.addWidget(row)
        self.hint.setVisible(False)

    def _drop_row(self, row: QWidget, remaining: int) -> None:
        self.rows_layout.removeWidget(row)
        row.deleteLater()
        self.hint.setVisible(remaining == 0)


class LoraStack(RowList):
    """The LoRAs of the recipe in order, one ``LoraRow`` each (a LoRA appears once)."""

    trigger_requested = Signal(object)  # tuple[str, ...]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("LoRAs", "Drop LoRAs here (any number)", parent)
        self.rows: list[LoraRow] = []

    def row_for(self, name: str) -> LoraRow | None:
        return next((row for row in self.rows if row.ref.name == name), None)

    def add(
        self,
        use: LoraUse,
        trigger_words: tuple[str, ...] = (),
        detail: str = "",
        architecture: Architecture | None = None,
    ) -> LoraRow:
        """Adds ``use``; a LoRA of the same name already in the stack is replaced in place."""
        row = LoraRow(use, trigger_words, detail, architecture)
        row.changed.connect(self.changed)
        row.remove_requested.connect(self.remove)
        row.trigger_requested.connect(self.trigger_requested)
        existing = self.row_for(use.ref.name)
        if existing is not None:
            self.rows[self.rows.index(existing)] = row
        else:
            self.rows.append(row)
        self._show_row(row, existing)
        self.changed.emit()
        return row

    def remove(self, row: LoraRow) -> None:
        if row not in self.rows:
            return
        self.rows.remove(row)
        self._drop_row(row, len(self.rows))
        self.changed.emit()

    def clear(self) -> None:
        for row in list(self.rows):
            self.remove(row)

    def uses(self) -> tuple[LoraUse, ...]:
        return tuple(row.use() for row in self.rows)


PROMPT_SIDE = "Prompt"
NEGATIVE_SIDE = "Negative"


class EmbeddingRow(QFrame):
    """One embedding: its token (the file name) and whether it goes into the prompt or the negative."""

    side_changed = Signal(object, bool, bool)  # row, was negative, is negative
    remove_requested = Signal(object)

    def __init__(
        self, use: EmbeddingUse, architecture: Architecture | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("composeRow")
        self.ref = use.ref
        self.architecture = architecture
        self._negative = use.negative
        self.name_label = ElidedLabel(ref_label(use.ref), Qt.TextElideMode.ElideRight)
        self.name_label.setToolTip("\n".join(filter(None, (use.ref.name, use.ref.path))))
        self.fit_badge = FitBadge()
        self.side = QComboBox()
        self.side.addItems([PROMPT_SIDE, NEGATIVE_SIDE])
        self.side.setCurrentText(NEGATIVE_SIDE if use.negative else PROMPT_SIDE)
        self.side.setToolTip("Where the embedding's token is written")
        self.side.currentTextChanged.connect(self._on_side)
        guard_wheel(self.side)
        self.remove_button = tool_button("✕", "Remove this embedding and its token")
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        top = QHBoxLayout()
        top.addWidget(self.name_label, 1)
        top.addWidget(self.side)
        top.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(top)
        layout.addWidget(self.fit_badge)

    @property
    def token(self) -> str:
        return self.ref.name

    @property
    def negative(self) -> bool:
        return self._negative

    def set_negative(self, negative: bool) -> None:
        self.side.setCurrentText(NEGATIVE_SIDE if negative else PROMPT_SIDE)

    def _on_side(self, text: str) -> None:
        was, self._negative = self._negative, text == NEGATIVE_SIDE
        if was != self._negative:
            self.side_changed.emit(self, was, self._negative)

    def use(self) -> EmbeddingUse:
        return EmbeddingUse(self.ref, negative=self._negative)


class EmbeddingList(RowList):
    """The embeddings of the recipe; the board keeps their tokens in the prompt texts."""

    side_changed = Signal(object, bool, bool)  # row, was negative, is negative
    removed = Signal(object)  # the removed row (its token is taken out of the text)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Embeddings", "Drop embeddings here; their token goes into the prompt or the negative", parent
        )
        self.rows: list[EmbeddingRow] = []

    def row_for(self, name: str) -> EmbeddingRow | None:
        return next((row for row in self.rows if row.ref.name == name), None)

    def add(self, use: EmbeddingUse, architecture: Architecture | None = None) -> EmbeddingRow:
        row = EmbeddingRow(use, architecture)
        row.side_changed.connect(self._on_side_changed)
        row.remove_requested.connect(self.remove)
        self.rows.append(row)
        self._show_row(row)
        self.changed.emit()
        return row

    def _on_side_changed(self, row: EmbeddingRow, was: bool, now: bool) -> None:
        self.side_changed.emit(row, was, now)
        self.changed.emit()

    def remove(self, row: EmbeddingRow) -> None:
        if row not in self.rows:
            return
        self.rows.remove(row)
        self._drop_row(row, len(self.rows))
        self.removed.emit(row)
        self.changed.emit()

    def clear(self) -> None:
        """Empties the list without ``removed`` per row (the board resets the texts itself)."""
        for row in list(self.rows):
            self.rows.remove(row)
            self._drop_row(row, len(self.rows))
        self.changed.emit()

    def uses(self) -> tuple[EmbeddingUse, ...]:
        return tuple(row.use() for row in self.rows)
