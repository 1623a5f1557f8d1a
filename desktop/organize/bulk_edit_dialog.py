"""Edit many files at once: tags and collections added or removed, rating, favorite, NSFW, hidden.

A field shows what the selection has in common; where the files differ it shows "(mixed)" (a tri-state
check box half checked, a rating combo reading "(mixed)"), and a field left mixed keeps each file's own
value. Labels are added to / removed from each file's own list, never replacing it. OK applies everything
to every file in one transaction (``Library.bulk_edit``).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from catalog.records import AssetRecord, BulkEdit
from desktop.qt_namespace import Qt
from desktop.widgets.elided_label import ElidedLabel
from desktop.widgets.list_edit import WordListEdit, split_words
from desktop.widgets.wrap_label import WrapLabel

MIXED = "(mixed)"
KEEP_RATING = -1  # the "(mixed)" entry of the rating combo: each file keeps its rating


class BulkEditDialog(QDialog):
    """The edit of a multi-selection; :meth:`edit` is what OK applies (empty when nothing changed)."""

    def __init__(
        self,
        records: Sequence[AssetRecord],
        *,
        tags: Sequence[str] = (),
        collections: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.records = list(records)
        count = len(self.records)
        self.setWindowTitle(f"Edit {count} file{'s' if count != 1 else ''}")
        self.setObjectName("bulkEditDialog")
        self.setMinimumWidth(540)
        layout = QVBoxLayout(self)
        names = ", ".join(r.display_name or r.file_name for r in self.records[:3])
        more = f" and {count - 3} more" if count > 3 else ""
        intro = WrapLabel(f"{names}{more}")
        intro.setProperty("class", "muted")
        layout.addWidget(intro)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.tags_summary = _summary(self.records, lambda r: r.tags)
        form.addRow("Tags", self.tags_summary)
        self.add_tags = WordListEdit("Add tags, comma separated")
        self.add_tags.setObjectName("addTags")
        self.add_tags.set_completions(tags)
        form.addRow("Add tags", self.add_tags)
        self.remove_tags = WordListEdit("Remove tags")
        self.remove_tags.setObjectName("removeTags")
        self.remove_tags.set_completions(sorted({t for r in self.records for t in r.tags}, key=str.casefold))
        form.addRow("Remove tags", self.remove_tags)
        self.collections_summary = _summary(self.records, lambda r: r.collections)
        form.addRow("Collections", self.collections_summary)
        self.add_collections = WordListEdit("Add to collections")
        self.add_collections.setObjectName("addCollections")
        self.add_collections.set_completions(collections)
        form.addRow("Add to", self.add_collections)
        self.remove_collections = WordListEdit("Remove from collections")
        self.remove_collections.setObjectName("removeCollections")
        self.remove_collections.set_completions(
            sorted({c for r in self.records for c in r.collections}, key=str.casefold)
        )
        form.addRow("Remove from", self.remove_collections)

        self.rating = QComboBox()
        self.rating.setObjectName("bulkRating")
        ratings = {r.rating for r in self.records}
        if len(ratings) > 1:
            self.rating.addItem(MIXED, KEEP_RATING)
        self.rating.addItem("Unrated", 0)
        for stars in range(1, 6):
            self.rating.addItem("★" * stars, stars)
        self.rating.setCurrentIndex(0 if len(ratings) > 1 else self.rating.findData(ratings.pop()))
        self._initial_rating = self.rating.currentData()
        form.addRow("Rating", self.rating)

        self.favorite = _flag("Favorite", [r.favorite for r in self.records])
        self.nsfw = _flag("NSFW", [r.nsfw for r in self.records])
        self.hidden = _flag("Hidden (left out of the library views)", [r.hidden for r in self.records])
        for box in (self.favorite, self.nsfw, self.hidden):
            form.addRow("", box)
        self._initial_flags = {box: box.checkState() for box in (self.favorite, self.nsfw, self.hidden)}
        layout.addLayout(form)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(f"Apply to {count} file{'s' if count != 1 else ''}")
        ok.setObjectName("applyBulkEdit")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def edit(self) -> BulkEdit:
        """What the user changed; fields they left alone (mixed or not) are None / empty."""
        rating = self.rating.currentData()
        return BulkEdit(
            add_tags=split_words(self.add_tags.text()),
            remove_tags=split_words(self.remove_tags.text()),
            add_collections=split_words(self.add_collections.text()),
            remove_collections=split_words(self.remove_collections.text()),
            rating=rating if rating not in (self._initial_rating, KEEP_RATING) else None,
            favorite=self._flag_value(self.favorite),
            nsfw=self._flag_value(self.nsfw),
            hidden=self._flag_value(self.hidden),
        )

    def _flag_value(self, box: QCheckBox) -> bool | None:
        state = box.checkState()
        if state == self._initial_flags[box] or state == Qt.CheckState.PartiallyChecked:
            return None
        return state == Qt.CheckState.Checked


def _flag(text: str, values: Sequence[bool]) -> QCheckBox:
    """A check box; half checked, with "(mixed)" in its text, when the files differ."""
    box = QCheckBox(text)
    if len(set(values)) > 1:
        box.setTristate(True)
        box.setCheckState(Qt.CheckState.PartiallyChecked)
        box.setText(f"{text} {MIXED}")
        box.setToolTip("Some of the files are, some are not; leave half checked to keep each as it is")
    else:
        box.setChecked(bool(values and values[0]))
    return box


def _summary(records: Sequence[AssetRecord], labels: object) -> ElidedLabel:
    """ "On all: a, b · On some: c (mixed)" for the selection's tags or collections."""
    get = labels if callable(labels) else (lambda r: ())
    per_file = [{label.casefold(): label for label in get(r)} for r in records]
    common = set.intersection(*(set(d) for d in per_file)) if per_file else set()
    spelled = {key: label for d in per_file for key, label in d.items()}
    some = sorted(set(spelled) - common)
    parts = []
    if common:
        parts.append("On all: " + ", ".join(sorted((spelled[k] for k in common), key=str.casefold)))
    if some:
        parts.append("On some: " + ", ".join(spelled[k] for k in some) + f" {MIXED}")
    # One line, cut at a word when long (the whole list is the tooltip): a wrapped label inside a form
    # layout is given one line's height and clipped.
    label = ElidedLabel(" · ".join(parts) or "None", Qt.TextElideMode.ElideRight, at_words=True)
    label.setProperty("class", "muted")
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)  # a form gives Ignored 0 px
    return label
