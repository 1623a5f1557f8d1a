"""The details pane's Civitai part: what Civitai says about the selected file.

Model and version name, creator, base-model label, a button that opens the page in the browser, tags,
the description as plain text (converted from Civitai's HTML: no markup, no remote images, no scripts),
and example images with their prompts and settings. "Use on board" emits ``parameters_requested`` with
the example's parameters as A1111 infotext, which the compose board reads like a dropped PNG.

Example thumbnails come from the app's remote image cache (fetched and decoded off the GUI thread, blurred
above the user's NSFW level); without one, or offline, the card shows its prompt without the image.
Everything wraps or elides inside the pane: nothing here can make the pane wider than its splitter gives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QSize, QUrl, Signal, SignalInstance
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPainter,
    QPaintEvent,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from catalog.records import RemoteLinkRecord
from core.sources.site_words import base_model_word
from desktop.qt_namespace import Qt
from desktop.widgets.elided_label import ElidedLabel
from desktop.widgets.flow_layout import FlowLayout
from desktop.widgets.trigger_words_view import copy_button
from desktop.widgets.wrap_label import WrapLabel

THUMB = QSize(96, 128)
MAX_EXAMPLES = 8
DESCRIPTION_PREVIEW_CHARS = 700
PROMPT_PREVIEW_CHARS = 240

if TYPE_CHECKING:  # the Civitai parsers load with the first example shown, not with the window
    from core.sources.civitai_records import CivitaiImage


class ImageSource(Protocol):
    """What the section needs of ``desktop.remote_images.RemoteImageCache``."""

    @property
    def loaded(self) -> SignalInstance: ...

    def get(self, url: str, nsfw_level: int | None = None) -> QImage | None: ...


class Chip(ElidedLabel):
    """A tag as a rounded chip; a long tag elides (full text in the tooltip) instead of widening the pane."""

    PAD = 8

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, Qt.TextElideMode.ElideRight, parent)
        self.setObjectName("chip")
        # Preferred, not Ignored: a layout gives an Ignored widget no width at all. The small minimum
        # size hint is what keeps a long tag from widening the pane.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802
        # The exact (fractional) advance, rounded up: the integer one can be a fraction short of what
        # eliding measures, and "pixel" became "pi…" in a chip sized for it.
        width = math.ceil(QFontMetricsF(self.font()).horizontalAdvance(self.text()))
        return QSize(width + 2 * self.PAD + 1, self.fontMetrics().height() + 6)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        tint = QColor(self.palette().color(self.palette().ColorRole.Highlight))
        tint.setAlpha(40)
        painter.setBrush(tint)
        painter.drawRoundedRect(self.rect().adjusted(0, 0, -1, -1), 9, 9)
        painter.setPen(self.palette().color(self.foregroundRole()))
        inner = self.rect().adjusted(self.PAD, 0, -self.PAD, 0)
        elided = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, inner.width())
        painter.drawText(inner, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), elided)


class ExampleCard(QFrame):
    """One example image: thumbnail, prompt, settings, "Use on board" and "Copy prompt"."""

    use_requested = Signal(str)  # A1111 infotext
    copied = Signal(str)

    def __init__(self, image: CivitaiImage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exampleCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.image = image
        from core.sources.civitai_facts import example_infotext

        self.infotext = example_infotext(image) if image.has_parameters else ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(8)
        self.thumbnail = QLabel("No image")
        self.thumbnail.setObjectName("exampleThumb")
        self.thumbnail.setFixedSize(THUMB)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setProperty("class", "muted")
        self.thumbnail.setWordWrap(True)
        layout.addWidget(self.thumbnail, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.setSpacing(2)
        prompt = image.prompt or "The author shared no prompt for this image."
        self.prompt = WrapLabel(_clip(prompt, PROMPT_PREVIEW_CHARS), selectable=True)
        self.prompt.setToolTip(_clip(prompt, 2000))
        text.addWidget(self.prompt)
        self.settings = WrapLabel(_settings_line(image))
        self.settings.setProperty("class", "muted")
        self.settings.setVisible(bool(self.settings.text()))
        text.addWidget(self.settings)
        buttons = QHBoxLayout()
        self.use_button = QPushButton("Use on board")
        self.use_button.setToolTip("Put this example's prompt and settings on the compose board")
        self.use_button.setEnabled(bool(self.infotext))
        self.use_button.clicked.connect(lambda: self.use_requested.emit(self.infotext))
        buttons.addWidget(self.use_button)
        self.copy_prompt = copy_button("Copy the prompt and settings (A1111 format)")
        self.copy_prompt.setEnabled(bool(self.infotext))
        self.copy_prompt.clicked.connect(self._copy)
        buttons.addWidget(self.copy_prompt)
        buttons.addStretch(1)
        text.addLayout(buttons)
        text.addStretch(1)
        layout.addLayout(text, 1)

    def show_image(self, image: QImage) -> None:
        """Called on the GUI thread with the decoded (possibly blurred) image."""
        scaled = image.scaled(
            THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.thumbnail.setPixmap(QPixmap.fromImage(scaled))

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.infotext)
        self.copied.emit("Example parameters copied to the clipboard")


class CivitaiSection(QWidget):
    """``show_link(link)`` fills it from a Civitai link; ``show_link(None)`` hides it."""

    parameters_requested = Signal(str)  # an example's A1111 infotext
    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._link: RemoteLinkRecord | None = None
        self._images: ImageSource | None = None
        self.cards: list[ExampleCard] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)

        title = QLabel("CIVITAI")
        title.setObjectName("sectionTitle")
        layout.addWidget(title)
        self.model_name = WrapLabel(selectable=True)
        self.model_name.setObjectName("civitaiModelName")
        self.model_name.setStyleSheet("font-weight: 600;")
        layout.addWidget(self.model_name)
        self.version_line = WrapLabel(selectable=True)
        layout.addWidget(self.version_line)
        self.base_model = WrapLabel()
        self.base_model.setProperty("class", "muted")
        layout.addWidget(self.base_model)

        link_row = QHBoxLayout()
        self.open_page = QPushButton("Open on Civitai")
        self.open_page.setObjectName("openCivitaiPage")
        self.open_page.clicked.connect(self._open_page)
        link_row.addWidget(self.open_page)
        self.copy_link = copy_button("Copy the Civitai link")
        self.copy_link.clicked.connect(self._copy_link)
        link_row.addWidget(self.copy_link)
        self.page_url = ElidedLabel(mode=Qt.TextElideMode.ElideRight)
        self.page_url.setProperty("class", "muted")
        link_row.addWidget(self.page_url, 1)
        layout.addLayout(link_row)

        self.tags_box = QWidget()
        self.tags_layout = FlowLayout(self.tags_box, spacing=4)
        self.tags_box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.tags_box)
        self.chips: list[Chip] = []

        self.description_title = QLabel("About this model")
        self.description_title.setProperty("class", "muted")
        layout.addWidget(self.description_title)
        self.description = WrapLabel(selectable=True)
        self.description.setObjectName("civitaiDescription")
        layout.addWidget(self.description)
        self.more = QToolButton()
        self.more.setText("Show all")
        self.more.setCheckable(True)
        self.more.setAutoRaise(True)
        self.more.toggled.connect(self._show_description)
        layout.addWidget(self.more, 0, Qt.AlignmentFlag.AlignLeft)

        self.examples_title = QLabel("Examples")
        self.examples_title.setProperty("class", "muted")
        layout.addWidget(self.examples_title)
        self._examples = QVBoxLayout()
        self._examples.setContentsMargins(0, 0, 0, 0)
        self._examples.setSpacing(6)
        layout.addLayout(self._examples)
        self.hide()

    # -- images ----------------------------------------------------------------------------------------

    def set_image_source(self, images: ImageSource | None) -> None:
        """The app's remote image cache; without it, examples show their prompts without images."""
        if self._images is not None:
            self._images.loaded.disconnect(self._on_image_loaded)
        self._images = images
        if images is not None:
            images.loaded.connect(self._on_image_loaded)
            self._request_images()

    def _request_images(self) -> None:
        if self._images is None:
            return
        for card in self.cards:
            image = self._images.get(card.image.url, card.image.nsfw_level)
            if image is not None:
                card.show_image(image)
            else:
                pass  # the card keeps "No image" until the image arrives (never, when offline)

    def _on_image_loaded(self, url: str) -> None:
        if self._images is None:
            return
        for card in self.cards:
            if card.image.url == url:
                image = self._images.get(url, card.image.nsfw_level)
                if image is not None:
                    card.show_image(image)

    # -- showing ---------------------------------------------------------------------------------------

    @property
    def link(self) -> RemoteLinkRecord | None:
        return self._link

    def show_link(self, link: RemoteLinkRecord | None) -> None:
        self._link = link
        if link is None or not link.found:
            self.hide()
            self._set_examples(())
            return
        self.model_name.setText(link.model_name or f"Model {link.model_id}")
        version = link.version_name or (f"version {link.version_id}" if link.version_id else "")
        by = f"by {link.creator}" if link.creator else ""
        self.version_line.setText(" · ".join(part for part in (version, by) if part))
        self.version_line.setVisible(bool(version or by))
        self.base_model.setText(
            f"Base model: {base_model_word(link.base_model_label)}" if link.base_model_label else ""
        )
        self.base_model.setVisible(bool(link.base_model_label))
        url = link.page_url or ""
        self.page_url.setText(url.removeprefix("https://"))
        self.open_page.setToolTip(url)
        self.open_page.setEnabled(bool(url))
        self.copy_link.setEnabled(bool(url))
        self._set_tags(link.tags)
        self.more.blockSignals(True)
        self.more.setChecked(False)
        self.more.blockSignals(False)
        self._show_description(False)
        self._set_examples(link.examples)
        self.show()

    def _set_tags(self, tags: Sequence[str]) -> None:
        while self.tags_layout.count():
            item = self.tags_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.chips = [Chip(tag) for tag in tags]
        for chip in self.chips:
            self.tags_layout.addWidget(chip)
        self.tags_box.setVisible(bool(self.chips))

    def _show_description(self, everything: bool) -> None:
        text = self._link.description_text if self._link is not None else ""
        long = len(text) > DESCRIPTION_PREVIEW_CHARS
        self.description.setText(text if everything or not long else _clip(text, DESCRIPTION_PREVIEW_CHARS))
        self.more.setText("Show less" if everything else "Show all")
        self.more.setVisible(long)
        self.description.setVisible(bool(text))
        self.description_title.setVisible(bool(text))

    def _set_examples(self, images: Sequence[CivitaiImage]) -> None:
        for card in self.cards:
            self._examples.removeWidget(card)
            card.deleteLater()
        self.cards = []
        for image in list(images)[:MAX_EXAMPLES]:
            card = ExampleCard(image)
            card.use_requested.connect(self.parameters_requested)
            card.copied.connect(self.copied)
            self._examples.addWidget(card)
            self.cards.append(card)
        extra = len(images) - len(self.cards)
        self.examples_title.setText(
            f"Examples ({len(images)})" + (f", first {len(self.cards)} shown" if extra else "")
        )
        self.examples_title.setVisible(bool(self.cards))
        self._request_images()

    # -- actions ---------------------------------------------------------------------------------------

    def _open_page(self) -> None:
        if self._link is not None and self._link.page_url:
            QDesktopServices.openUrl(QUrl(self._link.page_url))

    def _copy_link(self) -> None:
        if self._link is not None and self._link.page_url:
            QGuiApplication.clipboard().setText(self._link.page_url)
            self.copied.emit("Civitai link copied to the clipboard")


def _settings_line(image: CivitaiImage) -> str:
    size = image.size
    parts = [
        f"{label} {value}"
        for label, value in (
            ("Steps", image.steps),
            ("Sampler", image.sampler),
            ("CFG", f"{image.cfg:g}" if image.cfg is not None else None),
            ("Seed", image.seed),
            ("Size", f"{size[0]}×{size[1]}" if size else None),
            ("Model", image.model_name),
        )
        if value is not None
    ]
    return " · ".join(parts)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
