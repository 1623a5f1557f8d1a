"""The details pane shows what Civitai says about a local file: a real kohya LoRA with Civitai Helper's
``.civitai.info`` beside it, scanned into a real Library, shown in a real pane driven by real clicks.

Example thumbnails come through the app's ``RemoteImageCache`` from a loopback file server (and, offline,
the prompts show without images); nothing here reaches the internet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PySide6.QtCore import QObject, QSize, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QSplitter, QWidget
from pytestqt.qtbot import QtBot

from catalog.library import Library
from catalog.records import AssetRecord, UserDataChanges
from catalog.scanner import Scanner
from core.render.infotext import recipe_from_infotext
from core.sources.images import fetch_image_bytes
from core.taxonomy import LibraryLayout
from desktop.remote_images import RemoteImageCache
from desktop.theme import apply_theme
from desktop.widgets.details_pane import DetailsPane
from tests.desktop.remote_support import pattern_png
from tests.factory.civitai_info import civitai_helper_payload, write_civitai_helper_info
from tests.factory.files import write_a1111_user_metadata
from tests.factory.models import kohya_lora, write_case
from tests.fakes.file_server import serve_files


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = Library.open(tmp_path / "data" / "catalog.sqlite3")
    yield lib
    lib.close()


def scan_lora(
    library: Library, root: Path, payload: dict[str, object], name: str = "add_detail"
) -> AssetRecord:
    folder = root / "models" / "Lora"
    folder.mkdir(parents=True, exist_ok=True)
    lora = write_case(kohya_lora("sd1", rank=2), folder).rename(folder / f"{name}.safetensors")
    write_civitai_helper_info(lora, payload)
    if not library.roots():
        library.add_root(root, LibraryLayout.A1111)
    Scanner(library).scan()
    record = library.get_by_path(lora)
    assert record is not None
    return record


@pytest.fixture
def pane(qtbot: QtBot, library: Library, tmp_path: Path) -> DetailsPane:
    widget = DetailsPane(library, tmp_path / "cache")
    qtbot.addWidget(widget)
    widget.resize(380, 900)
    widget.show()
    return widget


class _UrlCatcher(QObject):
    """Stands in for the browser: QDesktopServices hands https URLs to it."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


def test_names_creator_label_description_tags_and_examples_are_shown(
    pane: DetailsPane, library: Library, tmp_path: Path
) -> None:
    record = scan_lora(library, tmp_path / "webui", civitai_helper_payload())

    pane.show_asset(library.get(record.id))

    section = pane.civitai
    assert section.isVisible()
    assert section.model_name.text() == "Detail Tweaker LoRA"
    assert section.version_line.text() == "v1.0 · by OedoSoldier"
    assert section.base_model.text() == "Base model: SD 1.5"
    assert section.page_url.text() == "civitai.com/models/58390?modelVersionId=62833"
    assert [chip.text() for chip in section.chips] == ["concept", "detail", "tool"]
    pane.ensureWidgetVisible(section.tags_box)
    QTest.qWait(20)
    assert all(chip.width() >= chip.fontMetrics().horizontalAdvance(chip.text()) for chip in section.chips)
    description = section.description.text()
    assert description.startswith("Detail tweaker LoRA: enhances or reduces detail while keeping")
    assert "• weight 0.5 to 1: more detail" in description
    assert "<" not in description
    assert "&amp;" not in description
    assert section.description.textFormat() is Qt.TextFormat.PlainText, "never rendered as rich text"
    assert len(section.cards) == 7
    assert section.cards[0].prompt.text() == "<lora:sd_xl_turbo_lora_v1-128dim:1>1 girl, snow"
    assert (
        "Steps 4 · Sampler LCM · CFG 1.5 · Seed 2494203713 · Size 768×1024"
        in section.cards[0].settings.text()
    )
    assert section.examples_title.text() == "Examples (7)"


def test_the_page_link_opens_the_browser(
    pane: DetailsPane, library: Library, tmp_path: Path, qtbot: QtBot
) -> None:
    record = scan_lora(library, tmp_path / "webui", civitai_helper_payload())
    pane.show_asset(library.get(record.id))
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("https", catcher, "open")  # type: ignore[arg-type]
    try:
        QTest.mouseClick(pane.civitai.open_page, Qt.MouseButton.LeftButton)
    finally:
        QDesktopServices.unsetUrlHandler("https")

    assert catcher.urls == ["https://civitai.com/models/58390?modelVersionId=62833"]
    with qtbot.waitSignal(pane.copied) as copied:
        QTest.mouseClick(pane.civitai.copy_link, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "https://civitai.com/models/58390?modelVersionId=62833"
    assert copied.args == ["Civitai link copied to the clipboard"]


def test_trigger_words_are_told_apart_and_each_copies(
    pane: DetailsPane, library: Library, tmp_path: Path, qtbot: QtBot
) -> None:
    record = scan_lora(
        library, tmp_path / "webui", civitai_helper_payload(trained_words=("add_detail", "sharp"))
    )
    library.update_user_data(record.id, UserDataChanges(trigger_words=("my detail",)))

    pane.show_asset(library.get(record.id))

    rows = [(row.group, row.word) for row in pane.trigger_words.rows]
    assert rows == [("yours", "my detail"), ("civitai", "add_detail"), ("civitai", "sharp")]
    assert pane.trigger_words.findChild(QWidget, "triggerGroup_yours") is not None
    assert pane.trigger_words.findChild(QWidget, "triggerGroup_civitai") is not None
    civitai_row = pane.trigger_words.rows[1]
    with qtbot.waitSignal(pane.copied):
        QTest.mouseClick(civitai_row.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "add_detail"
    QTest.mouseClick(pane.copy_all_triggers, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "my detail, add_detail, sharp"


def test_use_on_board_emits_the_examples_parameters_as_infotext(
    pane: DetailsPane, library: Library, tmp_path: Path, qtbot: QtBot
) -> None:
    record = scan_lora(library, tmp_path / "webui", civitai_helper_payload())
    pane.show_asset(library.get(record.id))
    card = pane.civitai.cards[0]
    pane.ensureWidgetVisible(card.use_button)  # scrolled to, as a user would
    qtbot.waitUntil(lambda: card.use_button.width() > 0 and not card.use_button.visibleRegion().isEmpty())

    with qtbot.waitSignal(pane.parameters_requested) as requested:
        QTest.mouseClick(card.use_button, Qt.MouseButton.LeftButton)

    (infotext,) = requested.args
    parsed = recipe_from_infotext(infotext)
    assert parsed.prompt.startswith("<lora:sd_xl_turbo_lora_v1-128dim:1>1 girl, snow")
    assert parsed.negative_prompt.startswith("blurry, blurry_image, Lowres")
    assert (parsed.recipe.steps, parsed.recipe.cfg, parsed.recipe.seed) == (4, 1.5, 2494203713)
    assert (parsed.recipe.width, parsed.recipe.height) == (768, 1024)
    assert parsed.params["Sampler"] == "LCM"
    assert parsed.params["Model hash"] == "31e35c80fc"


def test_example_images_load_off_the_gui_thread_and_offline_the_prompt_stays(
    pane: DetailsPane, library: Library, tmp_path: Path, qtbot: QtBot
) -> None:
    with serve_files() as (server, files):
        payload = civitai_helper_payload()
        images = payload["images"]
        assert isinstance(images, list)
        for number, image in enumerate(images):
            image["url"] = server.base_url + files.add(f"/img/{number}.png", pattern_png(number))
        images[1]["url"] = server.base_url + "/img/missing.png"  # 404: this card keeps its prompt only
        record = scan_lora(library, tmp_path / "webui", payload)
        session = requests.Session()
        cache = RemoteImageCache(
            lambda url: fetch_image_bytes(session, url),
            tmp_path / "remote",
            QSize(256, 256),
            max_level=lambda: 16,
        )
        pane.set_remote_images(cache)
        pane.show_asset(library.get(record.id))
        cards = pane.civitai.cards

        qtbot.waitUntil(
            lambda: cards[0].thumbnail.pixmap() is not None and not cards[0].thumbnail.pixmap().isNull()
        )
        assert cache.wait()
        QTest.qWait(50)

    assert cards[0].thumbnail.pixmap().width() <= 96
    assert cards[1].thumbnail.pixmap().isNull()
    assert cards[1].thumbnail.text() == "No image"
    assert cards[1].prompt.text() == "<lora:sd_xl_turbo_lora_v1-128dim:1>1girl, wind"


def test_without_an_image_source_examples_show_their_prompts(
    pane: DetailsPane, library: Library, tmp_path: Path
) -> None:
    record = scan_lora(library, tmp_path / "webui", civitai_helper_payload())

    pane.show_asset(library.get(record.id))

    card = pane.civitai.cards[0]
    assert card.thumbnail.pixmap().isNull()
    assert card.thumbnail.text() == "No image"
    assert card.prompt.text().startswith("<lora:")
    assert card.use_button.isEnabled()


def test_a_file_without_civitai_facts_hides_the_section(
    pane: DetailsPane, library: Library, tmp_path: Path
) -> None:
    with_facts = scan_lora(library, tmp_path / "webui", civitai_helper_payload())
    folder = tmp_path / "webui" / "models" / "Lora"
    plain = write_case(kohya_lora("sd1", rank=2), folder).rename(folder / "plain.safetensors")
    Scanner(library).scan()
    plain_record = library.get_by_path(plain)
    assert plain_record is not None

    pane.show_asset(library.get(with_facts.id))
    assert pane.civitai.isVisible()
    pane.show_asset(plain_record)

    assert not pane.civitai.isVisible()
    assert pane.civitai.cards == []
    assert not pane.trigger_words.isVisible()


def test_long_names_paths_and_tags_never_widen_the_pane(
    library: Library, tmp_path: Path, qtbot: QtBot, qapp: QApplication
) -> None:
    long_word = "DetailTweaker" * 24  # 312 characters, no space to wrap at
    payload = civitai_helper_payload(
        model_name=long_word,
        version_name=long_word,
        creator=long_word,
        base_model=long_word,
        trained_words=(long_word,),
        tags=(long_word, "short"),
        description=f"<p>{long_word}</p>",
    )
    deep = tmp_path / ("very_long_folder_name_" * 6) / "webui"
    record = scan_lora(library, deep, payload, name="n" * 120)
    record = library.update_user_data(
        record.id, UserDataChanges(display_name=long_word, tags=(long_word,), trigger_words=(long_word,))
    )
    apply_theme(qapp, "light")  # the app's style sheet: paddings and fonts as the user sees them
    splitter = QSplitter(Qt.Orientation.Horizontal)
    qtbot.addWidget(splitter)
    left = QWidget()
    pane = DetailsPane(library, tmp_path / "cache")
    splitter.addWidget(left)
    splitter.addWidget(pane)
    splitter.resize(1000, 800)
    splitter.setSizes([640, 360])
    splitter.show()

    pane.show_asset(record)
    qtbot.wait(50)

    content = pane.widget()
    assert content is not None
    widest = max(
        content.findChildren(QWidget), key=lambda w: w.minimumSizeHint().width() if w.isVisible() else 0
    )
    assert pane.minimumSizeHint().width() <= 360
    assert content.minimumSizeHint().width() <= 360, (widest, widest.minimumSizeHint())
    assert pane.width() <= 360
    viewport = pane.viewport().width()
    clipped = [
        (child.objectName() or type(child).__name__, child.mapTo(content, child.rect().topRight()).x())
        for child in content.findChildren(QWidget)
        if child.isVisible() and child.mapTo(content, child.rect().topRight()).x() > viewport
    ]
    assert clipped == [], "nothing may reach past the pane's right edge"
    assert pane.title.text() == long_word  # the whole text is kept, only wrapped


def test_the_users_a1111_description_and_weight_are_shown_as_text(
    pane: DetailsPane, library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "webui" / "models" / "Lora"
    folder.mkdir(parents=True)
    lora = write_case(kohya_lora("sd1", rank=2), folder).rename(folder / "watercolor.safetensors")
    write_a1111_user_metadata(lora, description="<p>Soft <i>watercolor</i> &amp; ink</p>")
    library.add_root(tmp_path / "webui", LibraryLayout.A1111)
    Scanner(library).scan()
    record = library.get_by_path(lora)

    pane.show_asset(record)

    assert pane.description.text() == "Soft watercolor & ink"
    assert pane.preferred_weight.text() == "Preferred weight: 0.7"
    assert [(row.group, row.word) for row in pane.trigger_words.rows] == [
        ("yours", "watercolor"),
        ("yours", "soft light"),
    ]
    assert not pane.civitai.isVisible()


def test_after_a_long_asset_the_placeholder_is_in_view(
    pane: DetailsPane, library: Library, tmp_path: Path, qtbot: QtBot
) -> None:
    """A filter that hides the shown file brings back "Select a model…" where the user looks, not
    centred in the height of the long page it replaced (scrolled out of view)."""
    record = scan_lora(library, tmp_path / "webui", civitai_helper_payload())
    pane.show_asset(library.get(record.id))
    qtbot.waitUntil(lambda: pane.widget().height() > pane.viewport().height())
    pane.verticalScrollBar().setValue(pane.verticalScrollBar().maximum())

    pane.show_asset(None)
    qtbot.waitUntil(lambda: pane.widget().height() <= pane.viewport().height())
    placeholder = pane.widget().currentWidget()
    assert "Select a model" in placeholder.text()
    assert not placeholder.visibleRegion().isEmpty()
