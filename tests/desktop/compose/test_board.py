"""The compose board against a real Library: dropped library ids and files build the Recipe.

These call the board's drop entry point with the data a drag carries; the real drag (QDrag started by
the library view, delivered by Qt to the docked board) is driven in ``test_real_drag.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe, Sampler
from core.taxonomy import Architecture, AssetKind
from desktop.compose.board import ComposeBoard
from desktop.compose.board_panel import BoardPanel
from desktop.compose.mime import asset_ids_mime
from desktop.compose.notices import MissingList
from desktop.compose.parameters import ParameterError
from tests.desktop.conftest import PopulatedLibrary, _ident, _scanned
from tests.factory.files import write_malicious_torch
from tests.factory.models import kohya_lora, write_case


@pytest.fixture
def board(populated: PopulatedLibrary, qtbot: QtBot) -> ComposeBoard:
    widget = ComposeBoard(populated.library)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_drops_route_each_asset_to_the_slot_of_its_kind(
    board: ComposeBoard, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    ids = populated.ids
    assert board.drop(asset_ids_mime([ids["dreamshaper_8"]]))
    # A LoRA, a VAE and an embedding dragged together light their three slots, then each finds its slot.
    several = asset_ids_mime([ids["pixelArtStyle"], ids["sdxl_vae"], ids["easynegative"]])
    assert board.show_drop_targets(several)
    lit = [slot for slot in board.slots.values() if slot.drop_highlighted]
    assert lit == [board.vae, board.loras, board.embeddings]
    with qtbot.waitSignal(board.message) as message:
        assert board.drop(several)
    assert "Added LoRA pixelArtStyle" in message.args[0]
    assert not any(slot.drop_highlighted for slot in board.slots.values())

    recipe = board.recipe()
    models = populated.root_dir
    assert recipe.checkpoint == AssetRef(
        "dreamshaper_8", path=str(models / "dreamshaper_8.safetensors"), asset_id=ids["dreamshaper_8"]
    )
    assert recipe.vae is not None
    assert recipe.vae.asset_id == ids["sdxl_vae"]
    assert recipe.loras == (
        LoraUse(
            AssetRef(
                "pixelArtStyle",
                path=str(models / "pixelArtStyle.safetensors"),
                hash="aaaaaaaaaa",
                asset_id=ids["pixelArtStyle"],
            ),
            weight=1.0,
        ),
    )
    # EasyNegative is a negative embedding: its token goes to the negative prompt.
    assert [(e.ref.name, e.negative) for e in recipe.embeddings] == [("easynegative", True)]
    assert recipe.negative_prompt == "easynegative"
    assert recipe.prompt == ""


def test_kinds_without_a_slot_and_unusable_files_are_refused(
    board: ComposeBoard, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    refused = asset_ids_mime([populated.ids["mystery"], populated.ids["evil"]])
    assert board.show_drop_targets(refused)
    assert not any(slot.drop_highlighted for slot in board.slots.values())  # nowhere to land
    with qtbot.waitSignal(board.message) as message:
        board.drop(refused)
    text = message.args[0]
    assert "Refused mystery: its kind is unknown" in text
    assert "Refused evil: the file is unsafe: pickle imports os.system" in text
    assert board.recipe() == Recipe()
    # Data that is neither library rows nor files is not accepted at all.
    foreign = QMimeData()
    foreign.setText("dreamshaper_8")
    assert not board.accepts(foreign)


def _files(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    return mime


def test_a_dropped_png_asks_for_its_parameters(board: ComposeBoard, tmp_path: Path, qtbot: QtBot) -> None:
    with qtbot.waitSignal(board.image_dropped) as dropped:
        assert board.drop(_files(tmp_path / "render.png"))
    assert dropped.args == [str(tmp_path / "render.png")]


def test_files_from_outside_the_library_are_used_where_they_are(
    board: ComposeBoard, populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot
) -> None:
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    lora = write_case(kohya_lora("sdxl", rank=2), downloads).rename(downloads / "crisp.safetensors")
    evil = write_malicious_torch(downloads / "evil.pt", tmp_path / "marker")
    mime = _files(lora)
    assert board.show_drop_targets(mime)
    assert board.loras.drop_highlighted
    assert not board.checkpoint.drop_highlighted
    assert board.drop(mime)
    (use,) = board.recipe().loras
    assert use.ref == AssetRef("crisp", path=str(lora))  # by path: no library id, no hash
    assert "file outside the library" in board.loras.rows[0].name_label.text()
    with qtbot.waitSignal(board.message) as message:
        board.drop(_files(evil, downloads))
    assert "Refused evil: the file is unsafe" in message.args[0]
    assert "Refused Downloads: not a model file" in message.args[0]
    assert not (tmp_path / "marker").exists()  # read, never unpickled
    # A file that is in the library is taken as its library record.
    library_file = populated.root_dir / "dreamshaper_8.safetensors"
    board.drop(_files(library_file))
    assert board.recipe().checkpoint == AssetRef(
        "dreamshaper_8", path=str(library_file), asset_id=populated.ids["dreamshaper_8"]
    )


def test_rows_that_do_not_fit_the_checkpoint_are_marked_at_once(
    board: ComposeBoard, populated: PopulatedLibrary
) -> None:
    ids = populated.ids
    board.drop(asset_ids_mime([ids["pixelArtStyle"], ids["animeLineart"], ids["sdxl_vae"]]))
    assert board.mark_misfits() == []  # no checkpoint yet: nothing to judge against
    messages = board.add_asset_ids([ids["dreamshaper_8"]])  # an SD1 checkpoint
    assert messages == ["Checkpoint: dreamshaper_8"]
    pixel, lineart = board.loras.rows
    assert not pixel.fit_badge.isHidden()
    assert pixel.fit_badge.text() == "SDXL LoRA — does not fit this SD 1.x checkpoint"
    assert lineart.fit_badge.isHidden()  # an SD1 LoHa fits
    assert board.vae.fit_badge.text() == "SDXL VAE — does not fit this SD 1.x checkpoint"
    # Dropping another misfit says so in the message too.
    (text,) = board.add_asset_ids([ids["pixelArtStyle"]])
    assert text == "Added LoRA pixelArtStyle to the stack (SDXL LoRA — does not fit this SD 1.x checkpoint)"
    # An SDXL checkpoint re-marks every row.
    library = populated.library
    scanned = _scanned(
        populated.root_dir, "juggernaut.safetensors", _ident(AssetKind.CHECKPOINT, Architecture.SDXL)
    )
    (sdxl_id,) = library.apply_scan_batch(populated.root.id, [scanned])
    board.add_asset_ids([sdxl_id])
    pixel, lineart = board.loras.rows
    assert pixel.fit_badge.isHidden()
    assert lineart.fit_badge.text() == "SD 1.x LoRA — does not fit this SDXL checkpoint"
    assert board.vae.fit_badge.isHidden()
    board.checkpoint.clear_button.click()
    assert all(row.fit_badge.isHidden() for row in board.loras.rows)


def test_weight_slider_and_spin_box_stay_in_sync(board: ComposeBoard, populated: PopulatedLibrary) -> None:
    board.add_asset_ids([populated.ids["animeLineart"]])
    row = board.loras.rows[0]
    row.weight.slider.setValue(-15)
    assert row.weight.spin.value() == pytest.approx(-0.75)
    assert board.recipe().loras[0].weight == pytest.approx(-0.75)
    row.weight.spin.setValue(1.35)
    assert row.weight.slider.value() == 27
    assert board.recipe().loras[0].weight == pytest.approx(1.35)
    row.weight.spin.setValue(3.0)  # beyond the slider: the slider rests at its end
    assert row.weight.slider.value() == row.weight.slider.maximum() == 40
    assert board.recipe().loras[0].weight == pytest.approx(3.0)
    row.enabled.setChecked(False)
    assert board.recipe().loras[0].enabled is False
    row.remove_button.click()
    assert board.recipe().loras == ()


def test_trigger_words_are_inserted_once(board: ComposeBoard, populated: PopulatedLibrary) -> None:
    board.parameters.prompt.setPlainText("a castle")
    board.add_asset_ids([populated.ids["pixelArtStyle"], populated.ids["animeLineart"]])
    pixel, lineart = board.loras.rows
    assert not lineart.trigger_button.isEnabled()  # no trained words known
    pixel.trigger_button.click()
    assert board.recipe().prompt == "a castle, pixel art, pixelsprite"
    pixel.trigger_button.click()
    assert board.recipe().prompt == "a castle, pixel art, pixelsprite"


def test_embedding_tokens_follow_their_side(board: ComposeBoard, populated: PopulatedLibrary) -> None:
    board.parameters.prompt.setPlainText("a cat")
    board.parameters.negative.setPlainText("blurry")
    board.add_asset_ids([populated.ids["easynegative"]])
    assert board.parameters.negative.toPlainText() == "blurry, easynegative"
    row = board.embeddings.rows[0]
    row.set_negative(False)
    recipe = board.recipe()
    assert (recipe.prompt, recipe.negative_prompt) == ("a cat, easynegative", "blurry")
    assert recipe.embeddings == (EmbeddingUse(recipe.embeddings[0].ref, negative=False),)
    row.remove_button.click()
    recipe = board.recipe()
    assert (recipe.prompt, recipe.negative_prompt, recipe.embeddings) == ("a cat", "blurry", ())


def test_hypernetwork_strength(board: ComposeBoard, populated: PopulatedLibrary) -> None:
    library = populated.library
    scanned = _scanned(populated.root_dir, "anime_3.pt", _ident(AssetKind.HYPERNETWORK, Architecture.SD1))
    (hyper_id,) = library.apply_scan_batch(populated.root.id, [scanned])
    assert not board.hypernetwork.strength.isEnabled()
    board.add_asset_ids([hyper_id])
    assert board.recipe().hypernetworks == (HypernetworkUse(board.hypernetwork.ref, 1.0),)  # type: ignore[arg-type]
    board.hypernetwork.strength.slider.setValue(10)
    assert board.recipe().hypernetworks[0].strength == pytest.approx(0.5)
    assert board.hypernetwork.strength.slider.minimum() == 0
    assert board.hypernetwork.strength.slider.maximum() == 40
    board.hypernetwork.clear_button.click()
    assert board.recipe().hypernetworks == ()


def test_a_loaded_recipe_comes_back_unchanged(board: ComposeBoard, populated: PopulatedLibrary) -> None:
    lora = AssetRef(
        "pixelArtStyle", asset_id=populated.ids["pixelArtStyle"], path="/x/pixelArtStyle.safetensors"
    )
    recipe = Recipe(
        checkpoint=AssetRef("notHere", hash="1234567890"),
        loras=(
            LoraUse(lora, weight=0.7, text_encoder_weight=0.5),
            LoraUse(AssetRef("other"), 1.0, enabled=False),
        ),
        embeddings=(EmbeddingUse(AssetRef("easynegative"), negative=True),),
        hypernetworks=(HypernetworkUse(AssetRef("anime_3"), 0.6),),
        prompt="a cat, pixel art",
        negative_prompt="easynegative",
        seed=2**63 + 5,
        steps=33,
        cfg=4.5,
        width=640,
        height=832,
        clip_skip=2,
        batch=3,
        sampler=Sampler.DPMPP_2M.value,
        schedule="Karras",
        extra={"Hires upscale": "2"},
    )
    board.load_recipe(recipe)
    assert board.recipe() == recipe
    assert board.loras.rows[0].trigger_words == ("pixel art", "pixelsprite")  # read back from the library
    assert "not in the library" in board.checkpoint.name_label.text()
    # Changing the weight drops the separate text-encoder weight that came with the infotext.
    board.loras.rows[0].weight.spin.setValue(0.9)
    assert board.recipe().loras[0].text_encoder_weight is None


def test_settings_are_validated(board: ComposeBoard) -> None:
    board.parameters.width_box.setValue(101)
    board.parameters.seed.setText("99999999999999999999")
    with pytest.raises(ParameterError, match="seed must be -1"):
        board.recipe()
    assert not board.parameters.dice.icon().isNull()  # an icon, not an emoji that some systems lack
    board.parameters.dice.click()
    recipe = board.recipe()
    assert (recipe.seed, recipe.width) == (-1, 104)  # sizes snap to multiples of 8


def test_the_wheel_scrolls_the_board_instead_of_changing_an_unfocused_weight(
    populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    board = ComposeBoard(populated.library)
    panel = BoardPanel(board, MissingList())
    qtbot.addWidget(panel)
    panel.resize(380, 320)  # far shorter than the board: it scrolls
    panel.show()
    qtbot.waitExposed(panel)
    board.add_asset_ids([populated.ids["pixelArtStyle"], populated.ids["animeLineart"]])
    slider = board.loras.rows[0].weight.slider
    before = slider.value()
    scroll_bar = panel.scroll_area.verticalScrollBar()
    assert scroll_bar.maximum() > 0
    assert scroll_bar.value() == 0

    def wheel(widget: QWidget) -> None:
        center = QPointF(widget.rect().center())
        event = QWheelEvent(
            center,
            QPointF(widget.mapToGlobal(widget.rect().center())),
            QPoint(0, 0),
            QPoint(0, -120),  # one notch down
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(widget, event)

    assert not slider.hasFocus()
    wheel(slider)
    assert slider.value() == before  # the weight is untouched...
    assert scroll_bar.value() > 0  # ...and the board scrolled
    spin = board.parameters.steps
    steps = spin.value()
    wheel(spin)
    assert spin.value() == steps
    # A control the user clicked into (focused) takes the wheel as usual.
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus)
    wheel(slider)
    assert slider.value() != before
