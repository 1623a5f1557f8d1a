"""The right-hand pane: everything known about the selected file, and the user's own data about it.

Read-only facts (identification with its reasons, and for an unknown file why every matcher refused it;
hashes; path; size; embedded metadata) sit next to the editable user data (display name, rating,
favorite, tags, collections, notes). Every edit goes straight to ``Library.update_user_data`` and the
pane emits ``asset_edited`` with the fresh record, so the window repaints that row; nothing is "unsaved".
Notes are saved after a short pause in typing and when the editor loses focus, and pending notes are
flushed before the pane switches to another file.

What Civitai says about the file (from a lookup or a sidecar such as ``.civitai.info``) is shown by
:class:`~desktop.widgets.civitai_section.CivitaiSection`; trigger words are shown the user's and Civitai's
apart (:class:`~desktop.widgets.trigger_words_view.TriggerWordsView`). Every text that comes from a file or
the internet wraps or elides, so no name, path, tag or prompt can push the pane past its splitter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import cast

from PySide6.QtCore import QEvent, QSize, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFocusEvent, QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from catalog.path_text import shown
from catalog.records import AssetRecord, RemoteLinkRecord, UserDataChanges
from core.errors import AtelierError
from core.sources.site_words import base_model_word
from core.taxonomy import Architecture, AssetKind, FileFormat, FileStatus
from desktop.labels import (
    ARCHITECTURE_LABELS,
    KIND_COLORS,
    STATUS_LABELS,
    display_title,
    human_size,
    kind_label,
)
from desktop.models.metadata_model import MetadataModel
from desktop.qt_namespace import Qt
from desktop.resources import icon
from desktop.services import AssetLibrary
from desktop.thumbnails import ThumbnailCache
from desktop.widgets.civitai_section import CivitaiSection, ImageSource
from desktop.widgets.curation_section import CoverButton, CurationLibrary, IdentityEditor, UsageEditor
from desktop.widgets.elided_label import ElidedLabel
from desktop.widgets.flow_layout import FlowLayout
from desktop.widgets.list_edit import WordListEdit
from desktop.widgets.rating_widget import RatingWidget
from desktop.widgets.trigger_words_view import TriggerWordsView, copy_button
from desktop.widgets.update_section import UpdateSection
from desktop.widgets.wrap_label import WrapLabel

NOTES_SAVE_DELAY_MS = 800
PREVIEW_SIZE = QSize(360, 480)
MAX_BADGE_CHARS = 24
METADATA_MAX_HEIGHT = 280
HASH_NAMES = ("SHA256", "BLAKE3", "CRC32", "AutoV1", "AutoV2", "AutoV3")


class _NotesEdit(QPlainTextEdit):
    """A plain text editor that reports losing focus, the moment to save what was typed.

    Tab moves on to the next control, as in the pane's other fields: a Tab typed into the notes would
    keep a keyboard user in them for good."""

    focus_left = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self.focus_left.emit()


def _section(title: str) -> QLabel:
    label = QLabel(title.upper())
    label.setObjectName("sectionTitle")
    return label


def _badge(text: str, color: str) -> QLabel:
    shown = text if len(text) <= MAX_BADGE_CHARS else text[: MAX_BADGE_CHARS - 1] + "…"
    label = QLabel(shown)
    label.setToolTip(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setObjectName("badge")
    label.setStyleSheet(f"background: {color};")
    return label


def _clear_layout(layout: QLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item is None:
            break
        widget = item.widget()
        if widget is not None:
            widget.deleteLater()


class _Pages(QStackedWidget):
    """The placeholder and the details, as tall as the page shown.

    QStackedLayout asks every page for its height at a width, the hidden ones too, whatever their size
    policy; the placeholder's word wrap makes the scroll area ask, so the placeholder was put in the
    height of the long details page, at the bottom of a scroll range. It happened whenever the sheet
    styled the pane again (at start, or switching the theme) and came and went with timing.
    """

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        page = self.currentWidget()
        return page.heightForWidth(width) if page is not None else -1


class DetailsPane(QScrollArea):
    """Shows one asset; ``show_asset(None)`` shows the empty state."""

    asset_edited = Signal(object)  # the updated AssetRecord
    copied = Signal(str)  # a short message for the status bar ("SHA256 copied")
    parameters_requested = Signal(str)  # an example's A1111 infotext ("Use on board")

    def __init__(self, library: AssetLibrary, cache_dir: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailsPane")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(300)
        # The scroll area itself is no Tab stop: it would take one after the grid and draw nothing for
        # it; Tab goes straight to the pane's first control (the scroll area still follows focus).
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._library = library
        self._record: AssetRecord | None = None
        # Notes the catalog refused (its server unreachable), by asset: shown again in the field and
        # written with the next change that succeeds, when live updates are back, or on the next refresh.
        self._unsaved_notes: dict[int, str] = {}
        self._previews = ThumbnailCache(cache_dir, PREVIEW_SIZE, self)
        self._previews.loaded.connect(self._on_preview_loaded)
        self._notes_timer = QTimer(self)
        self._notes_timer.setSingleShot(True)
        self._notes_timer.setInterval(NOTES_SAVE_DELAY_MS)
        self._notes_timer.timeout.connect(self.save_notes)

        self._stack = _Pages()
        self._stack.setObjectName("detailsContent")
        empty = QLabel("Select a model to see its details")
        empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty.setProperty("class", "muted")
        empty.setWordWrap(True)
        self._stack.addWidget(empty)
        self._content = QWidget()
        self._content.setObjectName("detailsContent")
        self._stack.addWidget(self._content)
        self.setWidget(self._stack)
        self._build(self._content)
        self._show_page(0)

    # -- layout -------------------------------------------------------------------------------------

    def _build(self, content: QWidget) -> None:
        layout = QVBoxLayout(content)
        layout.setContentsMargins(16, 14, 16, 16)
        layout.setSpacing(6)

        self.preview = QLabel()
        self.preview.setObjectName("previewImage")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.preview)
        # The user's cover (any image, a render) and sidecars written next to the model.
        self.cover_button = CoverButton(cast("CurationLibrary", self._library))
        self.cover_button.edited.connect(self._on_curation_edited)
        self.cover_button.message.connect(self.copied)
        layout.addWidget(self.cover_button, 0, Qt.AlignmentFlag.AlignRight)

        self.title = WrapLabel(selectable=True)
        self.title.setObjectName("detailsTitle")
        layout.addWidget(self.title)
        self.subtitle = ElidedLabel()
        self.subtitle.setObjectName("detailsSubtitle")
        layout.addWidget(self.subtitle)

        badges_box = QWidget()
        self._badges = FlowLayout(badges_box, spacing=4)  # wraps: several long labels stay in the pane
        layout.addWidget(badges_box)

        self.warning = QLabel()
        self.warning.setObjectName("warning")
        self.warning.setWordWrap(True)
        self.warning.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.warning)

        self.update_section = UpdateSection()  # a newer Civitai version (desktop.organize.updates_actions)
        layout.addWidget(self.update_section)

        # One line when an edit was not saved (the catalog's server unreachable, a read-only folder):
        # the editors show what the catalog holds again, typed notes stay (see _unsaved_notes).
        self.save_problem = WrapLabel(selectable=True)
        self.save_problem.setObjectName("warning")
        self.save_problem.hide()
        layout.addWidget(self.save_problem)

        rating_row = QHBoxLayout()
        self.rating = RatingWidget()
        self.rating.rating_changed.connect(lambda value: self._apply(UserDataChanges(rating=value)))
        rating_row.addWidget(self.rating)
        rating_row.addStretch(1)
        self.favorite = QToolButton()
        self.favorite.setCheckable(True)
        self.favorite.setText("Favorite")
        self.favorite.setIconSize(QSize(16, 16))
        self.favorite.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.favorite.toggled.connect(self._on_favorite_toggled)
        rating_row.addWidget(self.favorite)
        layout.addLayout(rating_row)

        layout.addWidget(_section("Display name"))
        self.display_name = QLineEdit()
        self.display_name.editingFinished.connect(self._on_display_name_edited)
        layout.addWidget(self.display_name)

        layout.addWidget(_section("Tags"))
        self.tags = WordListEdit("Comma separated, e.g. style, anime")
        self.tags.words_edited.connect(self._on_tags_edited)
        layout.addWidget(self.tags)

        layout.addWidget(_section("Collections"))
        self.collections = WordListEdit("Comma separated")
        self.collections.words_edited.connect(self._on_collections_edited)
        layout.addWidget(self.collections)

        layout.addWidget(_section("Notes"))
        self.notes = _NotesEdit()
        self.notes.setPlaceholderText("Your notes: settings that work, prompts, where it came from…")
        self.notes.setFixedHeight(84)
        self.notes.textChanged.connect(self._on_notes_changed)
        self.notes.focus_left.connect(self.save_notes)
        layout.addWidget(self.notes)

        layout.addWidget(_section("Your trigger words and weight"))
        self.usage = UsageEditor(cast("CurationLibrary", self._library))
        self.usage.edited.connect(self._on_curation_edited)
        self.usage.failed.connect(self._show_not_saved)
        layout.addWidget(self.usage)

        self.description_title = _section("Description")
        layout.addWidget(self.description_title)
        self.description = WrapLabel(selectable=True)
        layout.addWidget(self.description)

        self.preferred_weight = WrapLabel()
        self.preferred_weight.setProperty("class", "muted")
        layout.addWidget(self.preferred_weight)

        self.trigger_words = TriggerWordsView()
        self.trigger_words.copied.connect(self.copied)
        self.copy_all_triggers = self.trigger_words.copy_all
        layout.addWidget(self.trigger_words)

        self.civitai = CivitaiSection()
        self.civitai.parameters_requested.connect(self.parameters_requested)
        self.civitai.copied.connect(self.copied)
        layout.addWidget(self.civitai)

        layout.addWidget(_section("Identification"))
        self.identity = IdentityEditor(cast("CurationLibrary", self._library))
        self.identity.edited.connect(self._on_curation_edited)
        self.identity.failed.connect(self._show_not_saved)
        layout.addWidget(self.identity)
        self.reasons = WrapLabel(selectable=True)
        layout.addWidget(self.reasons)
        self.refusals_toggle = QToolButton()
        self.refusals_toggle.setCheckable(True)
        self.refusals_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.refusals_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.refusals_toggle.toggled.connect(self._on_refusals_toggled)
        layout.addWidget(self.refusals_toggle)
        self.refusals = WrapLabel(selectable=True)
        layout.addWidget(self.refusals)

        layout.addWidget(_section("File"))
        path_row = QHBoxLayout()
        self.path = ElidedLabel()
        path_row.addWidget(self.path, 1)
        self.copy_path = copy_button("Copy the path")
        # The path as shown: the clipboard holds text, and a name that is not UTF-8 has bytes that are not
        # text (they are copied as U+FFFD, like the label; a shell cannot get those bytes from a paste).
        self.copy_path.clicked.connect(
            lambda: self._copy(shown(self._record.path) if self._record else "", "Path")
        )
        path_row.addWidget(self.copy_path)
        self.open_folder = QToolButton()
        self.open_folder.setIcon(icon("folder-open"))
        self.open_folder.setIconSize(QSize(14, 14))
        self.open_folder.setAutoRaise(True)
        self.open_folder.setToolTip("Open the containing folder")
        self.open_folder.clicked.connect(self._open_folder)
        path_row.addWidget(self.open_folder)
        layout.addLayout(path_row)
        self.file_facts = WrapLabel()
        self.file_facts.setProperty("class", "muted")
        layout.addWidget(self.file_facts)
        # Read live when a file is shown: the catalog keeps what sidecars say, not why one was unusable.
        self.sidecar_problems = WrapLabel(selectable=True)
        self.sidecar_problems.setObjectName("warning")  # the same red box as a file's own problem
        layout.addWidget(self.sidecar_problems)

        layout.addWidget(_section("Hashes"))
        self.hash_note = QLabel("Not hashed yet. Hashing runs in the background after a scan.")
        self.hash_note.setProperty("class", "muted")
        self.hash_note.setWordWrap(True)
        layout.addWidget(self.hash_note)
        self._hash_grid_box = QWidget()
        hash_grid = QGridLayout(self._hash_grid_box)
        hash_grid.setContentsMargins(0, 0, 0, 0)
        hash_grid.setHorizontalSpacing(8)
        hash_grid.setVerticalSpacing(0)
        hash_grid.setColumnStretch(1, 1)
        self.hash_values: dict[str, ElidedLabel] = {}
        self.hash_copy_buttons: dict[str, QToolButton] = {}
        for row, name in enumerate(HASH_NAMES):
            caption = QLabel(name)
            caption.setProperty("class", "muted")
            value = ElidedLabel(mode=Qt.TextElideMode.ElideRight)
            value.setObjectName("mono")
            button = copy_button(f"Copy {name}")
            button.clicked.connect(lambda _=False, n=name: self._copy(self.hash_values[n].text(), n))
            hash_grid.addWidget(caption, row, 0)
            hash_grid.addWidget(value, row, 1)
            hash_grid.addWidget(button, row, 2)
            self.hash_values[name] = value
            self.hash_copy_buttons[name] = button
        layout.addWidget(self._hash_grid_box)

        self._metadata_title = _section("Embedded metadata")
        layout.addWidget(self._metadata_title)
        self.metadata_model = MetadataModel(self)
        self.metadata = QTableView()
        self.metadata.setModel(self.metadata_model)
        self.metadata.verticalHeader().hide()
        self.metadata.horizontalHeader().setStretchLastSection(True)
        self.metadata.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.metadata.setWordWrap(False)
        self.metadata.setShowGrid(False)
        self.metadata.setAlternatingRowColors(True)
        self.metadata.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.metadata.setTabKeyNavigation(False)  # arrows move through cells; Tab leaves the table
        self.metadata.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.metadata.setVerticalScrollMode(QTableView.ScrollMode.ScrollPerPixel)
        layout.addWidget(self.metadata)
        layout.addStretch(1)

    # -- showing ------------------------------------------------------------------------------------

    @property
    def record(self) -> AssetRecord | None:
        return self._record

    @property
    def trigger_labels(self) -> list[WrapLabel]:
        """The shown trigger words, the user's first, then Civitai's."""
        return [row.label for row in self.trigger_words.rows]

    def set_remote_images(self, images: ImageSource | None) -> None:
        """The app's remote image cache, for the thumbnails of Civitai's example images (loaded off the
        GUI thread); without it the examples show their prompts without images."""
        self.civitai.set_image_source(images)

    def show_asset(self, record: AssetRecord | None) -> None:
        same_asset = record is not None and self._record is not None and record.id == self._record.id
        if not same_asset and (self._notes_timer.isActive() or self._notes_dirty()):
            self.save_notes()
        self._record = record
        if record is None:
            self._show_page(0)
            return
        self._show_page(1)
        self._show_header(record)
        self.update_section.show_for(record)
        self._show_user_data(record, keep_focused=same_asset)
        civitai = _civitai_link(self._library.remote_links(record.id))
        self._show_description(record)
        self.trigger_words.set_words(
            record.trigger_words, civitai.trigger_words if civitai else record.remote_trigger_words
        )
        self.civitai.show_link(civitai)
        self.identity.show_for(record, civitai.base_model_label if civitai else None)
        self.usage.show_for(record)
        self.cover_button.show_for(record)
        self._show_identification(record)
        self._show_file(record)
        self._show_hashes(record)
        self.metadata_model.set_metadata(record.embedded_metadata)
        has_metadata = bool(record.embedded_metadata)
        self._metadata_title.setVisible(has_metadata)
        self.metadata.setVisible(has_metadata)
        self._metadata_title.setText(f"EMBEDDED METADATA ({len(record.embedded_metadata)})")
        self._fit_metadata_height()
        # Lay the page out now, so a caller may scroll to any part of it at once (ensureWidgetVisible)
        # instead of after the next event loop pass, when the content's height is known.
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        if not same_asset:
            # Another model starts at its title; the same one refreshed after an edit stays where it was.
            self.verticalScrollBar().setValue(0)
            if not self._unsaved_notes:
                self.save_problem.hide()  # it spoke of the file shown before
        elif record.id in self._unsaved_notes:
            self.save_notes()  # the catalog answered (a refresh read it): try the kept notes again

    def _show_page(self, index: int) -> None:
        """Shows the placeholder (0) or the details (1); the hidden page is ignored when sizing, so the
        placeholder is not centred in the height of the last, long details page (out of view)."""
        for page in range(self._stack.count()):
            policy = QSizePolicy.Policy.Preferred if page == index else QSizePolicy.Policy.Ignored
            widget = self._stack.widget(page)
            if widget is not None:
                widget.setSizePolicy(policy, policy)
        self._stack.setCurrentIndex(index)
        if index == 0:
            self.verticalScrollBar().setValue(0)

    def _fit_metadata_height(self) -> None:
        """As tall as its rows, up to a limit: a scroll area inside the scrolling pane is awkward."""
        rows = self.metadata_model.rowCount()
        row_height = self.metadata.verticalHeader().defaultSectionSize()
        header = self.metadata.horizontalHeader().sizeHint().height()
        frame = 2 * self.metadata.frameWidth()
        self.metadata.setFixedHeight(min(METADATA_MAX_HEIGHT, header + rows * row_height + frame))

    def _show_header(self, record: AssetRecord) -> None:
        self._show_preview(record)
        self.title.setText(display_title(record))
        self.subtitle.setText(shown(record.file_name))  # bytes that are not UTF-8 show as U+FFFD
        _clear_layout(self._badges)
        kind_badge = _badge(kind_label(record.kind, record.network), KIND_COLORS[record.kind])
        if record.kind_override is not None:  # the user's word, said as such (the file's is below)
            kind_badge.setText(f"{kind_badge.text()} (you set)")
            kind_badge.setToolTip(
                f"You set this; the file says {kind_label(record.file_kind, record.network)}"
            )
        self._badges.addWidget(kind_badge)
        if not (record.kind is AssetKind.UNKNOWN and record.architecture is Architecture.UNKNOWN):
            self._badges.addWidget(_badge(ARCHITECTURE_LABELS[record.architecture], "#4b5563"))
        if record.base_model_label:
            self._badges.addWidget(_badge(base_model_word(record.base_model_label), "#0f766e"))
        if record.variant is not None and record.variant.value != "normal":
            self._badges.addWidget(_badge(record.variant.value, "#6b7280"))
        if record.nsfw:
            self._badges.addWidget(_badge("NSFW", "#b91c1c"))
        if record.hidden:
            self._badges.addWidget(_badge("Hidden", "#6b7280"))
        if record.status is FileStatus.OK:
            self.warning.hide()
        else:
            reason = record.status_reason or "no reason recorded"
            self.warning.setText(f"<b>{STATUS_LABELS[record.status]}</b>: {_escape(reason)}")
            self.warning.show()

    def _show_preview(self, record: AssetRecord) -> None:
        if not record.cover_path:
            self.preview.clear()
            self.preview.hide()
            return
        image = self._previews.get(record.cover_path)
        if image is None:
            self.preview.setFixedHeight(160)
            self.preview.setText("Loading preview…")
        else:
            self._set_preview_image(image)
        self.preview.show()

    def _on_preview_loaded(self, path: str) -> None:
        if self._record is not None and self._record.cover_path == path:
            image = self._previews.get(path)
            if image is not None:
                self._set_preview_image(image)

    def _set_preview_image(self, image: QImage) -> None:
        width = max(120, self.viewport().width() - 32)
        scaled = image.scaled(
            QSize(width, 360),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.preview.setPixmap(QPixmap.fromImage(scaled))  # GUI thread: the image came back queued
        self.preview.setFixedHeight(scaled.height())

    def _show_user_data(self, record: AssetRecord, keep_focused: bool) -> None:
        """Fills the editors; with ``keep_focused`` (the same file re-read after a rescan) the editor
        the user is typing in is left alone, so a background refresh never eats their typing."""

        def editable(widget: QWidget) -> bool:
            return not (keep_focused and widget.hasFocus())

        self._fill_editors(record, editable)
        self.tags.set_completions(self._library.all_tags())
        self.collections.set_completions(self._library.all_collections())

    def _fill_editors(self, record: AssetRecord, editable: Callable[[QWidget], bool]) -> None:
        """The user-data editors set to ``record`` without reading the catalog (it may be unreachable);
        notes the catalog refused stay as typed."""
        self.rating.set_rating(record.rating)
        self.favorite.blockSignals(True)
        self.favorite.setChecked(record.favorite)
        self.favorite.blockSignals(False)
        self._update_favorite_icon()
        self.display_name.setPlaceholderText(display_title(record))
        if editable(self.display_name):
            self.display_name.setText(record.display_name)
        if editable(self.tags):
            self.tags.set_words(record.tags)
        if editable(self.collections):
            self.collections.set_words(record.collections)
        notes = self._unsaved_notes.get(record.id, record.notes)
        if editable(self.notes) and self.notes.toPlainText() != notes:
            self.notes.blockSignals(True)
            self.notes.setPlainText(notes)
            self.notes.blockSignals(False)

    def _show_description(self, record: AssetRecord) -> None:
        """The user's own description and preferred weight (A1111's user metadata), the description as
        text even if a tool stored HTML."""
        from core.text import html_to_text  # html.parser: only when a description is shown

        text = html_to_text(record.description)
        self.description.setText(text)
        self.description.setVisible(bool(text))
        self.description_title.setVisible(bool(text))
        weight = record.preferred_weight
        self.preferred_weight.setText(f"Preferred weight: {weight:g}" if weight is not None else "")
        self.preferred_weight.setVisible(False)  # edited in "Your trigger words and weight"

    def _show_identification(self, record: AssetRecord) -> None:
        from core.sources.site_words import base_model_conflict

        conflict = base_model_conflict(record.base_model_label, record.file_architecture)
        if record.reasons or conflict:
            warning = [f"⚠ {conflict}"] if conflict else []
            self.reasons.setText("\n".join([*warning, *(f"• {reason}" for reason in record.reasons)]))
        elif record.kind is AssetKind.UNKNOWN:
            self.reasons.setText("No matcher recognised this file.")
        else:
            self.reasons.setText("No reasons were recorded.")
        refusals = record.refusals
        self.refusals.setText("\n".join(f"• {refusal}" for refusal in refusals))
        label = "Why unknown?" if record.kind is AssetKind.UNKNOWN else "Matchers that declined"
        self.refusals_toggle.setText(f"{label} ({len(refusals)})")
        self.refusals_toggle.setVisible(bool(refusals))
        # For an unknown file the refusals are the answer, so they are open from the start.
        self.refusals_toggle.setChecked(bool(refusals) and record.kind is AssetKind.UNKNOWN)
        self._on_refusals_toggled(self.refusals_toggle.isChecked())

    def _on_refusals_toggled(self, shown: bool) -> None:
        self.refusals.setVisible(shown and self.refusals_toggle.isVisible())
        self.refusals_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _show_file(self, record: AssetRecord) -> None:
        self.path.setText(shown(record.path))
        facts = [human_size(record.size), record.format.value]
        if record.precision is not None:
            facts.append(record.precision.value)
        if record.prediction is not None:
            facts.append(f"{record.prediction.value}-prediction")
        if record.added_at is not None:
            facts.append(f"added {_date(record.added_at)}")
        self.file_facts.setText(" · ".join(facts))
        # Imported here: the examiner brings the header readers (numpy), which first paint must not wait for.
        from catalog.examine import sidecar_problems

        problems = sidecar_problems(Path(record.path))
        self.sidecar_problems.setText(
            "Sidecar problems:\n" + "\n".join(f"• {problem}" for problem in problems) if problems else ""
        )
        self.sidecar_problems.setVisible(bool(problems))

    def _show_hashes(self, record: AssetRecord) -> None:
        hashes = record.hashes
        self.hash_note.setVisible(hashes is None)
        self._hash_grid_box.setVisible(hashes is not None)
        if hashes is None:
            self.hash_note.setText(_hash_note(record))
            return
        values = {
            "SHA256": hashes.sha256,
            "BLAKE3": hashes.blake3,
            "CRC32": hashes.crc32,
            "AutoV1": hashes.autov1,
            "AutoV2": hashes.autov2,
            "AutoV3": hashes.autov3,
        }
        for name, value in values.items():
            self.hash_values[name].setText(value or "—")
            self.hash_copy_buttons[name].setEnabled(bool(value))

    # -- editing ------------------------------------------------------------------------------------

    def _apply(self, changes: UserDataChanges) -> bool:
        """Writes ``changes``; False when the catalog refused them (its server unreachable, a read-only
        folder): one line says the change was not saved and why, and the editors show what the catalog
        holds again, so the pane never claims a value the grid and the catalog do not have."""
        if self._record is None:
            return False
        try:
            record = self._library.update_user_data(self._record.id, changes)
        except AtelierError as error:
            # back to what the catalog holds; notes being typed are left alone (save_notes keeps them)
            self._fill_editors(self._record, lambda widget: widget is not self.notes)
            self._show_not_saved(str(error))
            return False
        self._record = record
        self.title.setText(display_title(record))
        self.save_problem.hide()
        self.asset_edited.emit(record)
        if changes.notes is None:
            self._save_unsaved_notes()  # the catalog answers again: the notes it refused go with it
        return True

    def _show_not_saved(self, reason: str) -> None:
        """The one line about a refused edit, in the pane and in the status bar."""
        line = f"Not saved: {reason.rstrip('.')}."
        if self._unsaved_notes:
            line += " Your notes are kept here and saved once the catalog answers again."
        self.save_problem.setText(line)
        self.save_problem.show()
        self.copied.emit(line)

    def _save_unsaved_notes(self) -> None:
        """Writes the notes the catalog refused earlier (this file's and others'), now that it answered."""
        for asset_id, text in list(self._unsaved_notes.items()):
            try:
                saved = self._library.update_user_data(asset_id, UserDataChanges(notes=text))
            except AtelierError as error:
                self._show_not_saved(str(error))
                return
            del self._unsaved_notes[asset_id]
            if self._record is not None and self._record.id == asset_id:
                self._record = saved
            self.asset_edited.emit(saved)

    def retry_unsaved(self) -> None:
        """Writes the notes the catalog refused, if any (live updates say its server is back)."""
        if self._unsaved_notes:
            self._save_unsaved_notes()
            if not self._unsaved_notes:
                self.save_problem.hide()

    def _on_curation_edited(self, record: AssetRecord) -> None:
        """An override, the trigger words, the weight or the cover changed: show it and tell the window."""
        self.show_asset(record)
        self.asset_edited.emit(record)

    def _on_tags_edited(self, words: tuple[str, ...]) -> None:
        self._apply(UserDataChanges(tags=words))
        if self._record is not None:
            # The catalog merges a new tag with an existing one differing only in case ("Style" ->
            # "style"); show what was stored.
            self.tags.set_words(self._record.tags)

    def _on_collections_edited(self, words: tuple[str, ...]) -> None:
        self._apply(UserDataChanges(collections=words))
        if self._record is not None:
            self.collections.set_words(self._record.collections)

    def _on_favorite_toggled(self, checked: bool) -> None:
        self._update_favorite_icon()
        self._apply(UserDataChanges(favorite=checked))

    def _update_favorite_icon(self) -> None:
        self.favorite.setIcon(icon("heart-filled" if self.favorite.isChecked() else "heart"))

    def _on_display_name_edited(self) -> None:
        name = " ".join(self.display_name.text().split())
        if self._record is not None and name != self._record.display_name:
            self._apply(UserDataChanges(display_name=name))

    def _on_notes_changed(self) -> None:
        self._notes_timer.start()

    def _notes_dirty(self) -> bool:
        return self._record is not None and self.notes.toPlainText() != self._record.notes

    def save_notes(self) -> None:
        """Writes the notes now if they changed (debounce expiry, focus-out, switching files); notes the
        catalog refuses are kept (``_unsaved_notes``) rather than lost."""
        self._notes_timer.stop()
        if self._record is None:
            return
        text = self.notes.toPlainText()
        if text == self._record.notes:
            self._unsaved_notes.pop(self._record.id, None)
            return
        asset_id = self._record.id
        self._unsaved_notes[asset_id] = text  # before writing: a refusal keeps them
        if self._apply(UserDataChanges(notes=text)):
            self._unsaved_notes.pop(asset_id, None)

    # -- actions ------------------------------------------------------------------------------------

    def _copy(self, text: str, what: str) -> None:
        if text:
            QGuiApplication.clipboard().setText(text)
            self.copied.emit(f"{what} copied to the clipboard")

    def _open_folder(self) -> None:
        if self._record is None:
            return
        path = Path(self._record.path)
        folder = path if path.is_dir() else path.parent
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def _civitai_link(links: Sequence[RemoteLinkRecord]) -> RemoteLinkRecord | None:
    """The file's Civitai match, if any (a remembered "not found" is no match)."""
    return next((link for link in links if link.site == "civitai" and link.found), None)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _date(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def _hash_note(record: AssetRecord) -> str:
    """Why an asset has no hashes: only readable files are hashed, and folders are not hashed at all."""
    if record.status is not FileStatus.OK:
        return f"Not hashed: the file is {record.status.value}."
    if record.format is FileFormat.DIFFUSERS:
        return "Diffusers folders are not hashed (Civitai hashes single files)."
    return "Not hashed yet. Hashing runs in the background after a scan."
