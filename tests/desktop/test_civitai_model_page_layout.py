"""The Civitai model page's layout: whole file names, and no empty boxes where a version has no images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from core.sources.civitai_records import parse_model
from desktop.remote_images import RemoteImageCache
from desktop.theme import apply_theme
from desktop.widgets.civitai_model_page import CivitaiModelPage, ModelDetails
from tests.desktop.conftest import PopulatedLibrary

LONG_NAME = "pixel_art_style_v2_by_justmaier_final.safetensors"


def _png() -> bytes:
    from PySide6.QtCore import QBuffer, QIODevice

    image = QImage(32, 32, QImage.Format.Format_RGB32)
    image.fill(QColor("#7c3aed"))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, b"PNG")
    return bytes(buffer.data().data())


def _fetch(_url: str) -> bytes:
    return _png()


def _payload() -> dict[str, Any]:
    file = {
        "id": 5,
        "name": LONG_NAME,
        "sizeKB": 8.8,
        "type": "Model",
        "primary": True,
        "metadata": {"format": "SafeTensor", "fp": "fp16"},
        "hashes": {"SHA256": "AB" * 32},
        "downloadUrl": "http://127.0.0.1:9/api/download/models/10",
    }
    image = {
        "id": 77,
        "url": "http://127.0.0.1:9/img/77.png",
        "type": "image",
        "nsfwLevel": 1,
        "meta": {"prompt": "pixel art, a castle", "steps": 20},
    }
    return {
        "id": 1,
        "name": "Pixel Art Style",
        "type": "LORA",
        "creator": {"username": "justmaier"},
        "tags": ["pixel", "style"],
        "modelVersions": [
            {"id": 10, "name": "V2", "baseModel": "SD 1.5", "files": [file], "images": []},
            {"id": 9, "name": "V1", "baseModel": "SD 1.5", "files": [file], "images": [image]},
        ],
    }


@pytest.fixture
def page(
    populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot, qapp: QApplication
) -> Iterator[CivitaiModelPage]:
    # The page as the window shows it: under the app's style sheet, whose padding makes the file
    # columns wider than a narrow pane (a horizontal scroll bar), as they are for users.
    apply_theme(qapp, "light")
    images = RemoteImageCache(_fetch, tmp_path / "remote", QSize(180, 240), max_level=lambda: 1)
    widget = CivitaiModelPage(lambda: None, populated.library, images)
    qtbot.addWidget(widget)
    widget.resize(440, 900)  # the page's width beside the results grid
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_details(ModelDetails(parse_model(_payload())))
    yield widget
    widget.shutdown()
    images.wait()


def test_a_long_file_name_wraps_whole_instead_of_being_cut(page: CivitaiModelPage, qtbot: QtBot) -> None:
    files = page.files
    item = files.item(0, 0)
    assert item is not None
    assert item.text() == LONG_NAME  # the real name; only the painted text gets break opportunities
    width = files.columnWidth(0)
    metrics = files.fontMetrics()
    assert metrics.horizontalAdvance(LONG_NAME) > width  # too long for one line at this width
    qtbot.waitUntil(lambda: files.rowHeight(0) >= 2 * metrics.height())
    assert files.textElideMode() == Qt.TextElideMode.ElideNone
    assert files.wordWrap()
    # The table is as tall as its row: nothing hidden below, no empty area under it (its new height
    # reaches the screen with the page's next layout pass, an event loop turn after the row grew).
    qtbot.waitUntil(lambda: files.viewport().height() >= files.rowHeight(0))
    assert files.viewport().height() < files.rowHeight(0) + 3 * metrics.height()


def test_a_version_without_images_says_so_and_shows_no_empty_boxes(
    page: CivitaiModelPage, qtbot: QtBot
) -> None:
    assert page.current_version() is not None
    assert page.current_version().name == "V2"  # type: ignore[union-attr]
    assert page.no_images.isVisible()
    assert page.no_images.text() == "No example images for this version"
    assert not page.image_view.isVisible()
    assert not page.image_info.isVisible()

    page.versions.setCurrentIndex(1)  # V1 has an example image
    assert not page.no_images.isVisible()
    assert page.image_view.isVisible()
    assert not page.image_info.isVisible()  # its parameters show once an image is picked
    rect = page.image_view.visualRect(page.image_model.index(0, 0))
    QTest.mouseClick(page.image_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(page.image_info.isVisible)
    assert page.image_info.toPlainText().startswith("pixel art, a castle")


def _picture(width: int, height: int) -> bytes:
    from PySide6.QtCore import QBuffer, QIODevice

    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#0f766e"))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data().data())


def _gallery_payload(count: int) -> dict[str, Any]:
    """One version with ``count`` example images, every third one landscape, no trigger words, and a
    description in the site's inline light grey (as SynthwavePunk's)."""
    payload = _payload()
    version = payload["modelVersions"][1]
    version["images"] = [
        {
            "id": 100 + n,
            "url": f"http://127.0.0.1:9/img/{'wide' if n % 3 == 2 else 'tall'}/{n}.png",
            "type": "image",
        }
        for n in range(count)
    ]
    version["trainedWords"] = []
    payload["modelVersions"][0]["trainedWords"] = ["pixel art"]
    payload["description"] = (
        '<p>Plain words. <span style="color:rgb(193, 194, 197)">Grey on Civitai\'s dark page.</span>'
        ' <font color="#c1c2c5">Old-style grey.</font></p>'
    )
    return payload


@pytest.fixture
def gallery(populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot) -> Iterator[CivitaiModelPage]:
    def fetch(url: str) -> bytes:
        return _picture(240, 135) if "/wide/" in url else _picture(180, 240)

    images = RemoteImageCache(fetch, tmp_path / "remote", QSize(180, 240), max_level=lambda: 1)
    widget = CivitaiModelPage(lambda: None, populated.library, images)
    qtbot.addWidget(widget)
    widget.resize(440, 900)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_details(ModelDetails(parse_model(_gallery_payload(24))))
    yield widget
    widget.shutdown()
    images.wait()


def test_example_images_fill_equal_tiles_in_a_box_of_two_whole_rows(
    gallery: CivitaiModelPage, qtbot: QtBot
) -> None:
    """The tester saw 24 examples in a 165 px strip, a landscape one drawn at half height: every tile is
    now one cell, the picture cropped to fill it, and the box shows two whole rows."""
    page = gallery
    page.versions.setCurrentIndex(1)
    model = page.image_model
    assert model.rowCount() == 24
    qtbot.waitUntil(
        lambda: all(model.item(r).data(Qt.ItemDataRole.DecorationRole) is not None for r in range(6)),
        timeout=10_000,
    )
    sizes = {model.item(r).data(Qt.ItemDataRole.DecorationRole).size().toTuple() for r in range(6)}
    assert sizes == {(120, 160)}  # landscape (2 and 5) and portrait alike
    rects = [page.image_view.visualRect(model.index(r, 0)) for r in range(24)]
    assert {(rect.width(), rect.height()) for rect in rects} == {(rects[0].width(), rects[0].height())}
    assert rects[0].height() >= 160
    tops = sorted({rect.top() for rect in rects})
    assert len(tops) >= 3  # several rows, scrolled inside the box
    viewport = page.image_view.viewport().height()
    assert tops[1] + rects[0].height() <= viewport  # the second row whole, not a strip
    assert tops[2] >= viewport  # and not a sliver of the third


def test_no_trigger_words_row_for_a_version_without_any(gallery: CivitaiModelPage) -> None:
    page = gallery
    label = next(found for found in page.findChildren(QLabel) if found.text() == "Trigger words")
    assert page.current_version().trained_words == ("pixel art",)  # type: ignore[union-attr]
    assert label.isVisible()
    assert page.trigger_box.isVisible()

    page.versions.setCurrentIndex(1)

    assert not label.isVisible()
    assert not page.trigger_box.isVisible()


def test_the_description_drops_the_sites_inline_colours(gallery: CivitaiModelPage) -> None:
    """Civitai's light grey (193, 194, 197) was chosen for its dark page; on the window's theme every part
    of the description is drawn in the theme's own text colour."""
    document = gallery.description.document()
    theme = gallery.description.palette().color(gallery.description.foregroundRole())
    colours = set()
    block = document.begin()
    text = ""
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            text += fragment.text()
            brush = fragment.charFormat().foreground()
            colours.add(brush.color().name() if brush.style() != Qt.BrushStyle.NoBrush else theme.name())
            fragments += 1
        block = block.next()
    assert "Grey on Civitai's dark page." in text
    assert "Old-style grey." in text
    assert colours == {theme.name()}
