"""Choosing a VAE or a text encoder from the library for a board slot, without dragging.

The menu lists the library's files of the slot's kind, those that fit the checkpoint first (for a
text-encoder slot: the files holding that slot's encoder), then, under a separator, the others with the
reason each does not fit (:func:`app.asset_fit.fit_problem`, the rule the board marks its rows with).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QPoint, Signal
from PySide6.QtWidgets import QMenu, QWidget

from app.asset_fit import encoder_id, encoder_name, encoder_slots, fit_problem, held_part
from catalog.asset_query import AssetQuery
from catalog.records import AssetRecord
from core.identify.vocabulary import ENCODER_OF
from core.taxonomy import Architecture, AssetKind, FileStatus
from desktop.compose.encoder_slots import slot_for
from desktop.labels import ARCHITECTURE_LABELS
from desktop.services import AssetLibrary

MAX_CHOICES = 200


@dataclass(frozen=True, slots=True)
class Choice:
    """One library file offered for a slot, and why it does not fit (None: it fits)."""

    record: AssetRecord
    problem: str | None

    @property
    def label(self) -> str:
        """``t5xxl_fp16.safetensors (T5-XXL)``, ``ae.safetensors (FLUX.1)``, or the name and the problem."""
        name = self.record.display_name or self.record.file_name
        if self.problem:
            return f"{name} — {self.problem}"
        encoder = ENCODER_OF.get(encoder_id(self.record.embedded_metadata) or "")
        if encoder is not None:
            return f"{name} ({encoder.name})"
        architecture = self.record.architecture
        if architecture in (Architecture.OTHER, Architecture.UNKNOWN):
            return name
        return f"{name} ({ARCHITECTURE_LABELS.get(architecture, architecture.value)})"


def library_choices(
    library: AssetLibrary, kind: AssetKind, checkpoint: Architecture | None, encoder: str | None = None
) -> list[Choice]:
    """The library's usable files of ``kind``, fitting ones first, each group by name."""
    ids = library.search_ids(AssetQuery(kinds=(kind,), limit=MAX_CHOICES))
    slots = encoder_slots(checkpoint)
    wanted = next((i for i, slot in enumerate(slots) if slot.id == encoder), None)
    choices = []
    for record in library.get_many(list(ids)):
        if record.status is not FileStatus.OK:
            continue
        held = held_part(kind, record.embedded_metadata)
        problem = fit_problem(kind, record.architecture, checkpoint, held)
        if (
            problem is None
            and wanted is not None
            and held is not None
            and encoder is not None
            and wanted not in slot_for(held, slots)
        ):
            problem = f"holds {encoder_name(held)}, not {encoder_name(encoder)}"
        choices.append(Choice(record, problem))
    return sorted(choices, key=lambda c: (c.problem is not None, c.label.casefold()))


class LibraryChooser(QObject):
    """The chooser menu of the board; ``chosen`` carries the record picked."""

    chosen = Signal(object)  # AssetRecord

    def __init__(self, library: AssetLibrary, parent: QWidget) -> None:
        super().__init__(parent)
        self.library = library
        self.menu: QMenu | None = None  # the menu open now (kept for tests and to close it)

    def build(self, kind: AssetKind, checkpoint: Architecture | None, encoder: str | None = None) -> QMenu:
        """The menu of :func:`library_choices`; picking an entry emits ``chosen``."""
        menu = QMenu()
        menu.setObjectName("libraryChooser")
        choices = library_choices(self.library, kind, checkpoint, encoder)
        if not choices:
            empty = menu.addAction("No file of this kind in the library")
            empty.setEnabled(False)
        fitting = True
        for choice in choices:
            if fitting and choice.problem is not None:
                fitting = False
                menu.addSection("Other families")
            action = menu.addAction(choice.label)
            action.setToolTip(choice.record.path)
            action.triggered.connect(lambda _checked=False, record=choice.record: self.chosen.emit(record))
        self.menu = menu
        return menu

    def open(
        self, kind: AssetKind, checkpoint: Architecture | None, encoder: str | None, anchor: QWidget
    ) -> None:
        """Shows the menu under ``anchor`` (non-blocking)."""
        if self.menu is not None:
            self.menu.close()
            self.menu.deleteLater()
        menu = self.build(kind, checkpoint, encoder)
        menu.popup(anchor.mapToGlobal(QPoint(0, anchor.height())))
