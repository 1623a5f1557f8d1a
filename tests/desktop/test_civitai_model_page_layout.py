"""The Civitai model page's layout: whole file names, and no empty boxes where a version has no images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from core.sources.civitai_records import parse_model
from desktop.remote_images import RemoteImageCache
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
def page(populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot) -> Iterator[CivitaiModelPage]:
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
    # The table is as tall as its row: nothing hidden below, no empty area under it.
    assert files.viewport().height() >= files.rowHeight(0)
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
