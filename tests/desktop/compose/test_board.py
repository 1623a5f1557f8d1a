"""The compose board against a real Library: real drop events carrying library ids build the Recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe, Sampler
from core.taxonomy import Architecture, AssetKind
from desktop.compose.board import ComposeBoard
from desktop.compose.mime import asset_ids_mime
from desktop.compose.parameters import ParameterError
from tests.desktop.conftest import PopulatedLibrary, _ident, _scanned


@pytest.fixture
def board(populated: PopulatedLibrary, qtbot: QtBot) -> ComposeBoard:
    widget = ComposeBoard(populated.library)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def drop(widget: QWidget, mime: QMimeData) -> bool:
    """Delivers a drag-enter and a drop of ``mime`` to ``widget``, as Qt does for a real drag."""
    center = widget.rect().center()
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(center), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(QPointF(center), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_drops_route_each_asset_to_the_slot_of_its_kind(
    board: ComposeBoard, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    ids = populated.ids
    # A checkpoint dropped on the LoRA stack still becomes the checkpoint.
    assert drop(board.loras, asset_ids_mime([ids["dreamshaper_8"]]))
    # A LoRA, a VAE and an embedding dropped together on the checkpoint slot each find their slot.
    with qtbot.waitSignal(board.message) as message:
        assert drop(
            board.checkpoint, asset_ids_mime([ids["pixelArtStyle"], ids["sdxl_vae"], ids["easynegative"]])
        )
    assert "Added LoRA pixelArtStyle" in message.args[0]

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
    with qtbot.waitSignal(board.message) as message:
        assert drop(board.vae, asset_ids_mime([populated.ids["mystery"], populated.ids["evil"]]))
    text = message.args[0]
    assert "Refused mystery: its kind is unknown" in text
    assert "Refused evil: the file is unsafe: pickle imports os.system" in text
    assert board.recipe() == Recipe()
    # Data that is not library rows is not accepted at all.
    foreign = QMimeData()
    foreign.setText("dreamshaper_8")
    assert not drop(board.checkpoint, foreign)


def test_a_dropped_png_asks_for_its_parameters(board: ComposeBoard, tmp_path: Path, qtbot: QtBot) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "render.png"))])
    with qtbot.waitSignal(board.image_dropped) as dropped:
        assert drop(board, mime)
    assert dropped.args == [str(tmp_path / "render.png")]


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
        sampler=Sampler.DPMPP_2M_KARRAS,
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
    board.parameters.dice.click()
    recipe = board.recipe()
    assert (recipe.seed, recipe.width) == (-1, 104)  # sizes snap to multiples of 8
