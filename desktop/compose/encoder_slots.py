"""The board's text-encoder slots: one per encoder a diffusion-model-only checkpoint of the family needs.

Flux.1 needs CLIP-L and T5-XXL, SD3.5 CLIP-L, CLIP-G and T5-XXL, Chroma T5-XXL, Qwen-Image Qwen2.5-VL and
Z-Image Qwen3 (:func:`app.asset_fit.encoder_slots`, read from the vocabulary table). The slots hold what
the user placed, whatever the checkpoint: each placed encoder goes to the slot of the encoder its file
holds (:func:`slot_for`), and one no slot of this family takes is shown apart, marked as not fitting.
When the checkpoint carries its own encoders the empty slots say "from the checkpoint"; when it is a
diffusion model only they say an encoder is needed. The recipe gets the placed files as
``Recipe.text_encoders``; the renderer matches them to its slots by what they hold, as here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.asset_fit import encoder_slots, fit_problem
from catalog.path_text import shown
from core.identify.vocabulary import ENCODER_OF, EncoderRow
from core.render.recipe import AssetRef
from core.taxonomy import Architecture, AssetKind
from desktop.compose.slots import FitBadge, SlotFrame, ref_label, restyle, tool_button
from desktop.qt_namespace import Qt
from desktop.widgets.elided_label import ElidedLabel

# Networks a slot takes from a file whose exact encoder is not in the table (a new size, a tiny file):
# OpenCLIP is a CLIP, UMT5 a T5.
_GROUPS = {"openclip": "clip", "umt5": "t5"}


@dataclass(frozen=True, slots=True)
class PlacedEncoder:
    """A text-encoder file on the board: its reference, the encoder it holds (``clip_l``) and family."""

    ref: AssetRef
    encoder: str | None = None
    architecture: Architecture | None = None
    detail: str = ""


def _group(encoder: str) -> str:
    row = ENCODER_OF.get(encoder)
    family = row.family if row is not None else encoder.split("_", 1)[0]
    return _GROUPS.get(family, family)


def slot_for(encoder: str | None, slots: Sequence[EncoderRow]) -> list[int]:
    """The slots (indexes into ``slots``) a file holding ``encoder`` may fill, best first: the same
    encoder, one a header cannot tell from it (CLIP-G and OpenCLIP bigG), then the same kind of network
    (a CLIP of a width the table does not list). Empty when no slot of the family takes it."""
    if not encoder:
        return []
    row = ENCODER_OF.get(encoder)
    exact = [i for i, slot in enumerate(slots) if slot.id == encoder]
    twins = [
        i
        for i, slot in enumerate(slots)
        if row is not None and (slot.family, slot.width) == (row.family, row.width) and i not in exact
    ]
    if exact or twins:
        return exact + twins
    if row is not None:
        return []  # a known encoder of another family
    group = _group(encoder)
    return [i for i, slot in enumerate(slots) if _group(slot.id) == group]


class EncoderRowWidget(QFrame):
    """One slot (``slot`` set) or one placed encoder no slot takes (``slot`` None)."""

    choose_requested = Signal(object)  # this row
    clear_requested = Signal(object)  # this row

    def __init__(self, slot: EncoderRow | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composeRow")
        self.slot = slot
        self.placed: PlacedEncoder | None = None
        title = f"{slot.name} ({slot.id})" if slot is not None else "Text encoder"
        self.caption = QLabel(title)
        self.name_label = ElidedLabel("", Qt.TextElideMode.ElideRight)
        self.fit_badge = FitBadge()
        self.choose_button = tool_button(
            "…", f"Choose a {slot.name if slot else 'text'} encoder from the library"
        )
        self.choose_button.clicked.connect(lambda: self.choose_requested.emit(self))
        self.choose_button.setVisible(slot is not None)
        self.clear_button = tool_button("✕", "Remove this text encoder")
        self.clear_button.clicked.connect(lambda: self.clear_requested.emit(self))
        top = QHBoxLayout()
        top.addWidget(self.caption)
        top.addStretch(1)
        top.addWidget(self.choose_button)
        top.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(top)
        layout.addWidget(self.name_label)
        layout.addWidget(self.fit_badge)

    def show_placed(
        self, placed: PlacedEncoder | None, empty_text: str, checkpoint: Architecture | None
    ) -> None:
        self.placed = placed
        if placed is None:
            self.name_label.setText(empty_text)
            self.name_label.setToolTip("")
            self.fit_badge.show_problem(None)
        else:
            self.name_label.setText(ref_label(placed.ref))
            tip = (placed.ref.name, placed.detail, shown(placed.ref.path) if placed.ref.path else "")
            self.name_label.setToolTip("\n".join(filter(None, tip)))
            problem = fit_problem(AssetKind.TEXT_ENCODER, placed.architecture, checkpoint, placed.encoder)
            if problem is None and self.slot is None and checkpoint is not None:
                problem = f"{placed.ref.name}: no text-encoder slot of this checkpoint takes it"
            self.fit_badge.show_problem(problem)
        self.name_label.setProperty("secondary", placed is None)
        restyle(self.name_label)
        self.clear_button.setEnabled(placed is not None)


class TextEncoderSlots(SlotFrame):
    """The text-encoder slots of the checkpoint's family, and placed encoders no slot takes."""

    changed = Signal()
    choose_requested = Signal(object)  # the EncoderRow of the slot to fill

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.placed: list[PlacedEncoder] = []
        self.checkpoint: Architecture | None = None
        self.bundled: bool | None = None
        self.slots: tuple[EncoderRow, ...] = ()
        self.rows: list[EncoderRowWidget] = []
        self.title = QLabel("<b>Text encoders</b>")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setProperty("secondary", True)
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.note)
        layout.addLayout(self.rows_layout)
        self._rebuild()

    # -- state --------------------------------------------------------------------------------------

    def set_checkpoint(self, architecture: Architecture | None, bundled: bool | None) -> None:
        """Shows the slots of ``architecture``'s family; ``bundled``: whether the checkpoint carries its
        own text encoders (None: not known, e.g. a file read before identification recorded it)."""
        if (architecture, bundled) == (self.checkpoint, self.bundled):
            return
        self.checkpoint, self.bundled = architecture, bundled
        self.slots = encoder_slots(architecture)
        self._rebuild()

    def place(self, placed: PlacedEncoder) -> str | None:
        """Puts ``placed`` in its slot (replacing what was there); returns the slot's name, or None
        when no slot of the checkpoint's family takes it (it is shown apart)."""
        filled = self._assignment()
        candidates = slot_for(placed.encoder, self.slots)
        target = next((i for i in candidates if filled[i] is None), candidates[0] if candidates else None)
        if target is not None and filled[target] is not None:
            self.placed.remove(filled[target])  # type: ignore[arg-type]
        self.placed = [p for p in self.placed if p.ref != placed.ref] + [placed]
        self._rebuild()
        self.changed.emit()
        return self.slots[target].id if target is not None else None

    def remove(self, placed: PlacedEncoder) -> None:
        self.placed = [p for p in self.placed if p is not placed]
        self._rebuild()
        self.changed.emit()

    def set_placed(self, placed: Sequence[PlacedEncoder]) -> None:
        self.placed = list(placed)
        self._rebuild()
        self.changed.emit()

    def refs(self) -> tuple[AssetRef, ...]:
        return tuple(p.ref for p in self.placed)

    def problems(self) -> list[str]:
        """The fit marks shown now."""
        return [row.fit_badge.text() for row in self.rows if row.fit_badge.text()]

    # -- layout -------------------------------------------------------------------------------------

    def _assignment(self) -> list[PlacedEncoder | None]:
        """Which placed encoder each slot shows (first come, first placed); the rest show apart."""
        filled: list[PlacedEncoder | None] = [None] * len(self.slots)
        for placed in self.placed:
            candidates = slot_for(placed.encoder, self.slots)
            free = next((i for i in candidates if filled[i] is None), None)
            if free is not None:
                filled[free] = placed
        return filled

    def _empty_text(self, slot: EncoderRow) -> str:
        if self.bundled:
            return "from the checkpoint"
        if self.bundled is False:
            return f"needed: drop a {slot.id} file here or choose one"
        return f"drop a {slot.id} file here (not needed if the checkpoint has its own)"

    def _rebuild(self) -> None:
        for row in self.rows:
            self.rows_layout.removeWidget(row)
            row.deleteLater()
        self.rows = []
        filled = self._assignment()
        for slot, placed in zip(self.slots, filled, strict=True):
            self._add_row(slot, placed)
        shown_ = {id(p) for p in filled if p is not None}
        for placed in self.placed:
            if id(placed) not in shown_:
                self._add_row(None, placed)
        if self.bundled is False and self.slots:
            self.note.setText("This checkpoint is a diffusion model only: give it its text encoders.")
        elif self.bundled and self.slots:
            self.note.setText("The checkpoint carries its text encoders; a file placed here replaces one.")
        else:
            self.note.setText("")
        self.note.setVisible(bool(self.note.text()))
        self.setVisible(bool(self.slots or self.placed))

    def _add_row(self, slot: EncoderRow | None, placed: PlacedEncoder | None) -> None:
        row = EncoderRowWidget(slot)
        row.show_placed(placed, self._empty_text(slot) if slot is not None else "", self.checkpoint)
        row.choose_requested.connect(lambda r: self.choose_requested.emit(r.slot))
        row.clear_requested.connect(lambda r: self.remove(r.placed) if r.placed is not None else None)
        self.rows_layout.addWidget(row)
        self.rows.append(row)

    def row_for(self, encoder_id: str) -> EncoderRowWidget | None:
        return next((row for row in self.rows if row.slot is not None and row.slot.id == encoder_id), None)
