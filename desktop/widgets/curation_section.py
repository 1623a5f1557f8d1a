"""The details pane's curation editors: the user's word over the identification, their trigger words and
preferred weight, and the cover (from any image, from a render, written next to the model as sidecars).

**Overrides.** The kind and architecture combos show the effective values; the file's own identification
is the entry marked "(file)" and is repeated in the note below ("LoRA (you set; file says Embedding)"), so
an override never hides what the file says. "Reset to identified" clears both overrides. The base-model
label is the user's (Pony, Illustrious…); when Civitai says something else, the note says that too.

Each editor writes through the Library at once (one short transaction) and emits ``edited`` with the fresh
record, which the pane forwards as ``asset_edited`` so the window repaints the row and the sidebar.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QLocale, QSize, Signal
from PySide6.QtGui import QDoubleValidator, QWheelEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from catalog.preview_adding import AddsPreviews
from catalog.records import AssetRecord, Overrides, PreviewRecord, RenderRecord, UserDataChanges
from core.errors import AtelierError
from core.taxonomy import Architecture, AssetKind
from desktop.labels import ARCHITECTURE_LABELS, KIND_LABELS
from desktop.qt_namespace import Qt
from desktop.widgets.list_edit import WordListEdit
from desktop.widgets.wrap_label import WrapLabel

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.gif)"
RENDER_CHOICES = 12  # renders offered in the cover menu: this file's first, then the newest


class CurationLibrary(AddsPreviews, Protocol):
    """The Library methods the curation editors call (``catalog.library.Library`` has them all)."""

    @property
    def path(self) -> Path: ...

    def get(self, asset_id: int, /) -> AssetRecord | None: ...

    def update_user_data(self, asset_id: int, changes: UserDataChanges, /) -> AssetRecord: ...

    def set_overrides(self, asset_id: int, overrides: Overrides, /) -> AssetRecord: ...

    def renders(
        self, asset_id: int | None = None, limit: int | None = 200, offset: int = 0
    ) -> list[RenderRecord]: ...

    def use_render_as_preview(self, render_id: int, asset_id: int, /) -> PreviewRecord: ...


class OverrideCombo(QComboBox):
    """A combo that a mouse wheel changes only once it was clicked or tabbed into: the details pane
    scrolls under the pointer, and a wheel passing over the kind must not override the file's kind."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # no focus (and no change) from the wheel

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()  # to the scroll area around it


def override_note(record: AssetRecord, civitai_label: str | None = None) -> str:
    """What the user changed, said beside what the file (and Civitai) say; "" when nothing is overridden."""
    parts = []
    if record.kind_override is not None:
        parts.append(f"{KIND_LABELS[record.kind]} (you set; file says {KIND_LABELS[record.file_kind]})")
    if record.architecture_override is not None:
        mine, theirs = ARCHITECTURE_LABELS[record.architecture], ARCHITECTURE_LABELS[record.file_architecture]
        parts.append(f"{mine} (you set; file says {theirs})")
    label = record.base_model_label
    if label and civitai_label and label.casefold() != civitai_label.casefold():
        parts.append(f"{label} (you set; Civitai says {civitai_label})")
    return "\n".join(parts)


class IdentityEditor(QWidget):
    """Kind, architecture and base-model label, with the user's overrides shown as such."""

    edited = Signal(object)  # AssetRecord
    failed = Signal(str)

    def __init__(self, library: CurationLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._record: AssetRecord | None = None
        self._civitai_label: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setColumnStretch(1, 1)
        self.kind = OverrideCombo()
        self.kind.setObjectName("kindOverride")
        self.kind.setToolTip("What this file is for; choosing another kind overrides the identification")
        self.architecture = OverrideCombo()
        self.architecture.setObjectName("architectureOverride")
        self.architecture.setToolTip("The network family; choosing another overrides the identification")
        for combo in (self.kind, self.architecture):
            # Sized by a few characters, not by the longest entry: the pane may be narrow.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self.base_label = QLineEdit()
        self.base_label.setObjectName("baseLabelEdit")
        self.base_label.setPlaceholderText("e.g. Pony, Illustrious, SDXL 1.0")
        for row, (caption, widget) in enumerate(
            (("Kind", self.kind), ("Architecture", self.architecture), ("Base model", self.base_label))
        ):
            label = QLabel(caption)
            label.setProperty("class", "muted")
            grid.addWidget(label, row, 0)
            grid.addWidget(widget, row, 1)
        layout.addLayout(grid)
        note_row = QHBoxLayout()
        self.note = WrapLabel()
        self.note.setObjectName("overrideNote")
        note_row.addWidget(self.note, 1)
        self.reset = QPushButton("Reset to identified")
        self.reset.setObjectName("resetOverrides")
        self.reset.setToolTip("Back to the kind and architecture the file itself says")
        self.reset.clicked.connect(self._on_reset)
        note_row.addWidget(self.reset, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(note_row)
        self.kind.activated.connect(self._on_kind_chosen)
        self.architecture.activated.connect(self._on_architecture_chosen)
        self.base_label.editingFinished.connect(self._on_base_label_edited)

    def show_for(self, record: AssetRecord, civitai_label: str | None = None) -> None:
        self._record = record
        self._civitai_label = civitai_label
        _fill(
            self.kind,
            [(KIND_LABELS[k], k.value) for k in AssetKind],
            record.file_kind.value,
            record.kind.value,
        )
        _fill(
            self.architecture,
            [(ARCHITECTURE_LABELS[a], a.value) for a in Architecture],
            record.file_architecture.value,
            record.architecture.value,
        )
        if not self.base_label.hasFocus():
            self.base_label.setText(record.base_model_label or "")
        self.base_label.setPlaceholderText(civitai_label or "e.g. Pony, Illustrious, SDXL 1.0")
        note = override_note(record, civitai_label)
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self.reset.setVisible(record.overridden)

    def _on_kind_chosen(self, index: int) -> None:
        value = self.kind.itemData(index)
        if self._record is not None and value != self._record.kind.value:
            self._write(Overrides(kind=AssetKind(value)))

    def _on_architecture_chosen(self, index: int) -> None:
        value = self.architecture.itemData(index)
        if self._record is not None and value != self._record.architecture.value:
            self._write(Overrides(architecture=Architecture(value)))

    def _on_reset(self) -> None:
        self._write(Overrides(reset=True))

    def _write(self, overrides: Overrides) -> None:
        if self._record is None:
            return
        try:
            record = self._library.set_overrides(self._record.id, overrides)
        except AtelierError as exc:
            self.show_for(self._record, self._civitai_label)  # back to what the catalog holds
            self.failed.emit(str(exc))
            return
        self.show_for(record, self._civitai_label)
        self.edited.emit(record)

    def _on_base_label_edited(self) -> None:
        if self._record is None:
            return
        text = " ".join(self.base_label.text().split())
        if text == (self._record.base_model_label or ""):
            return
        try:
            record = self._library.update_user_data(self._record.id, UserDataChanges(base_model_label=text))
        except AtelierError as exc:  # not saved (the catalog's server unreachable...): show what it holds
            self.base_label.setText(self._record.base_model_label or "")
            self.failed.emit(str(exc))
            return
        self.show_for(record, self._civitai_label)
        self.edited.emit(record)


def _fill(combo: QComboBox, entries: Sequence[tuple[str, str]], identified: str, current: str) -> None:
    """The entries, the file's own marked "(file)", ``current`` selected, without emitting."""
    combo.blockSignals(True)
    try:
        combo.clear()
        for label, value in entries:
            combo.addItem(f"{label} (file)" if value == identified else label, value)
        combo.setCurrentIndex(max(0, combo.findData(current)))
    finally:
        combo.blockSignals(False)


class UsageEditor(QWidget):
    """The user's own trigger words and preferred weight (what A1111's sidecar calls activation text)."""

    edited = Signal(object)  # AssetRecord
    failed = Signal(str)  # a change the catalog did not save, in one line

    def __init__(self, library: CurationLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._record: AssetRecord | None = None
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(8)
        layout.setColumnStretch(1, 1)
        self.trigger_words = WordListEdit("Your trigger words, comma separated")
        self.trigger_words.setObjectName("triggerWordsEdit")
        self.trigger_words.words_edited.connect(self._on_words_edited)
        self.weight = QLineEdit()
        self.weight.setObjectName("preferredWeightEdit")
        self.weight.setPlaceholderText("e.g. 0.8")
        validator = QDoubleValidator(-10.0, 10.0, 3, self.weight)
        validator.setLocale(QLocale.c())  # "0.8" whatever the desktop's locale
        validator.setNotation(QDoubleValidator.Notation.StandardNotation)
        self.weight.setValidator(validator)
        self.weight.setMaximumWidth(90)
        self.weight.editingFinished.connect(self._on_weight_edited)
        for row, (caption, widget) in enumerate((("Triggers", self.trigger_words), ("Weight", self.weight))):
            label = QLabel(caption)
            label.setProperty("class", "muted")
            layout.addWidget(label, row, 0)
            layout.addWidget(
                widget, row, 1, Qt.AlignmentFlag.AlignLeft if widget is self.weight else Qt.AlignmentFlag(0)
            )

    def show_for(self, record: AssetRecord) -> None:
        self._record = record
        if not self.trigger_words.hasFocus():
            self.trigger_words.set_words(record.trigger_words)
        if not self.weight.hasFocus():
            weight = record.preferred_weight
            self.weight.setText(f"{weight:g}" if weight is not None else "")

    def _on_words_edited(self, words: tuple[str, ...]) -> None:
        self._apply(UserDataChanges(trigger_words=words))
        if self._record is not None:
            self.trigger_words.set_words(self._record.trigger_words)

    def _on_weight_edited(self) -> None:
        if self._record is None or not self.weight.text().strip():
            return
        try:
            value = float(self.weight.text())
        except ValueError:
            return
        if value != self._record.preferred_weight:
            self._apply(UserDataChanges(preferred_weight=value))

    def _apply(self, changes: UserDataChanges) -> None:
        if self._record is None:
            return
        try:
            self._record = self._library.update_user_data(self._record.id, changes)
        except AtelierError as exc:  # not saved (the catalog's server unreachable...): show what it holds
            self.trigger_words.set_words(self._record.trigger_words)
            weight = self._record.preferred_weight
            self.weight.setText(f"{weight:g}" if weight is not None else "")
            self.failed.emit(str(exc))
            return
        self.edited.emit(self._record)


class CoverButton(QToolButton):
    """ "Cover ▾": set the cover from any image or a render, or write the sidecars next to the model."""

    edited = Signal(object)  # AssetRecord
    message = Signal(str)

    def __init__(self, library: CurationLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._record: AssetRecord | None = None
        self.setObjectName("coverButton")
        self.setText("Cover")
        self.setToolTip("Choose the cover: from an image file or a render; write it next to the model")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setIconSize(QSize(14, 14))
        menu = QMenu(self)
        self.from_image = menu.addAction("Set cover from image…")
        self.from_image.triggered.connect(lambda _checked=False: self.choose_image())
        self.renders_menu = menu.addMenu("Use a render as cover")
        self.renders_menu.aboutToShow.connect(self._fill_renders)
        menu.addSeparator()
        self.write_sidecars = menu.addAction("Write sidecars next to the file")
        self.write_sidecars.setToolTip(
            "Writes <name>.json (your description, trigger words, weight, notes) for A1111/Forge and "
            "<name>.preview.png from the cover when the file has none"
        )
        self.write_sidecars.triggered.connect(lambda _checked=False: self._write_sidecars())
        self.setMenu(menu)

    def show_for(self, record: AssetRecord) -> None:
        self._record = record

    def choose_image(self, path: Path | None = None) -> None:
        """Asks for a picture (or takes ``path``) and makes it the cover (a PNG copy in the data dir)."""
        if self._record is None:
            return
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self, "Choose a cover image", "", IMAGE_FILTER)
            if not chosen:
                return
            path = Path(chosen)
        from app.covers import cover_from_image

        try:
            cover_from_image(self._library, self._record.id, path)
        except AtelierError as exc:
            self.message.emit(str(exc))
            return
        self._refresh("Cover set")

    def use_render(self, render_id: int) -> None:
        if self._record is None:
            return
        try:
            self._library.use_render_as_preview(render_id, self._record.id)
        except AtelierError as exc:
            self.message.emit(str(exc))
            return
        self._refresh("Render set as the cover")

    def _fill_renders(self) -> None:
        self.renders_menu.clear()
        if self._record is None:
            return
        own = self._library.renders(self._record.id, limit=RENDER_CHOICES)
        seen = {render.id for render in own}
        recent = [r for r in self._library.renders(limit=RENDER_CHOICES) if r.id not in seen]
        choices = (own + recent)[:RENDER_CHOICES]
        if not choices:
            self.renders_menu.addAction("No renders yet (Compose tab)").setEnabled(False)
        for render in choices:
            mine = " · uses this file" if render.id in seen else ""
            label = (
                f"#{render.id} · {render.created_at:%Y-%m-%d %H:%M} · {render.width}×{render.height}{mine}"
            )
            action = self.renders_menu.addAction(label)
            action.triggered.connect(lambda _checked=False, rid=render.id: self.use_render(rid))

    def _write_sidecars(self) -> None:
        if self._record is None:
            return
        from desktop.organize.curation_actions import write_sidecars_asking

        self.message.emit(write_sidecars_asking(self, self._library, [self._record]))
        self._refresh(None)

    def _refresh(self, said: str | None) -> None:
        if self._record is None:
            return
        record = self._library.get(self._record.id)
        if record is not None:
            self._record = record
            self.edited.emit(record)
        if said:
            self.message.emit(said)
