"""LoRAs of attention layers only: no family's own layer names, just ``transformer_blocks.N.attn.to_q`` or
``blocks.N.self_attn.q``. The block count and the hidden width, both rows of the vocabulary table, must
agree to name the family; one alone names nothing (the tester's Qwen-Image LoRA came out Flux.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.formats.reader import read_header
from core.identify import identify
from core.identify.matchers.lora import NAMED_FAMILIES
from core.taxonomy import Architecture, AssetKind
from tests.core.identify.support import identify_case, reasons_text
from tests.factory.family_loras import DIALECTS, Module, _blocks, _module, family_lora
from tests.factory.models import ModelCase
from tests.factory.safetensors_writer import TensorSpec, write_safetensors


def _attention(template: str, width: int, blocks: int) -> tuple[Module, ...]:
    names = tuple((f"{template}.{part}", width, width) for part in ("to_q", "to_k", "to_v"))
    return _blocks(names, tuple(range(blocks)))


QWEN_ATTENTION = _attention("transformer_blocks.{i}.attn", 3072, 60)


def _diffusers_lora(modules: tuple[Module, ...]) -> ModelCase:
    """As diffusers' own trainers save a transformer LoRA: ``transformer.`` + ``lora_A``/``lora_B``."""
    specs = {}
    for name, fan_in, fan_out in modules:
        specs.update(_module(f"transformer.{name}", "ai_toolkit", fan_in, fan_out, 4))
    return ModelCase("diffusers-lora", specs)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_qwen_image_attention_lora_is_qwen_image_in_every_dialect(dialect: str) -> None:
    result = identify_case(family_lora("qwen_image", dialect, modules=QWEN_ATTENTION))
    assert result.kind is AssetKind.LORA
    assert result.architecture is Architecture.QWEN_IMAGE, reasons_text(result)
    assert "60 blocks of hidden size 3072" in reasons_text(result)


def test_the_diffusers_trainers_qwen_image_lora_is_not_flux() -> None:
    result = identify_case(_diffusers_lora(QWEN_ATTENTION))
    assert result.architecture is Architecture.QWEN_IMAGE, reasons_text(result)


@pytest.mark.parametrize(("width", "blocks"), [(1536, 30), (5120, 40), (3072, 30)])
@pytest.mark.parametrize("dialect", ["kohya", "ai_toolkit"])
def test_a_wan_self_attention_lora_is_wan(width: int, blocks: int, dialect: str) -> None:
    modules = _blocks(
        tuple((f"blocks.{{i}}.self_attn.{part}", width, width) for part in "qkvo"), tuple(range(blocks))
    )
    result = identify_case(family_lora("wan", dialect, modules=modules))
    assert result.architecture is Architecture.WAN, reasons_text(result)


def test_attention_of_19_blocks_3072_wide_is_left_to_the_metadata_between_flux_and_qwen_image() -> None:
    """Flux.1's 19 double blocks and Qwen-Image's first 19 of 60 read alike in diffusers naming: the
    family stays open, with both named for a label or the metadata to choose (never a wrong family)."""
    result = identify_case(_diffusers_lora(_attention("transformer_blocks.{i}.attn", 3072, 19)))
    assert result.architecture is Architecture.OTHER, reasons_text(result)
    assert "fits flux1, qwen_image and hunyuan_video alike" in reasons_text(result)
    assert result.metadata[NAMED_FAMILIES] == ["flux1", "qwen_image", "hunyuan_video"]


@pytest.mark.parametrize(
    ("metadata", "arch"),
    [
        ({"modelspec.architecture": "qwen-image/lora"}, Architecture.QWEN_IMAGE),
        ({"ss_base_model_version": "flux1"}, Architecture.FLUX1),
    ],
)
def test_the_metadata_decides_a_lora_of_some_blocks(metadata: dict[str, str], arch: Architecture) -> None:
    case = _diffusers_lora(_attention("transformer_blocks.{i}.attn", 3072, 12))
    result = identify_case(ModelCase(case.name, case.specs, metadata=metadata))
    assert result.architecture is arch, reasons_text(result)


def test_a_flux_double_block_lora_with_its_own_layer_names_is_flux() -> None:
    """``ff_context`` (the text stream's feed-forward) exists only in Flux.1's double blocks."""
    modules = (
        *_attention("transformer_blocks.{i}.attn", 3072, 19),
        *_blocks((("transformer_blocks.{i}.ff_context.net.0.proj", 3072, 12288),), tuple(range(19))),
    )
    result = identify_case(_diffusers_lora(modules))
    assert result.architecture is Architecture.FLUX1, reasons_text(result)


def test_flux_width_with_more_blocks_than_flux_has_is_qwen_image() -> None:
    """3072 wide like Flux.1, but 40 blocks: Flux.1 has 19 double blocks, so only Qwen-Image's 60 hold
    them (a LoRA of some of its blocks)."""
    result = identify_case(_diffusers_lora(_attention("transformer_blocks.{i}.attn", 3072, 40)))
    assert result.architecture is Architecture.QWEN_IMAGE, reasons_text(result)
    assert "transformer_blocks 0-39" in reasons_text(result)
    assert "a LoRA of some of its blocks" in reasons_text(result)
    assert NAMED_FAMILIES not in result.metadata


def _later_attention(first: int, last: int) -> tuple[Module, ...]:
    names = tuple((f"transformer_blocks.{{i}}.attn.{part}", 3072, 3072) for part in ("to_q", "to_k", "to_v"))
    return _blocks(names, tuple(range(first, last + 1)))


def test_a_lora_of_later_blocks_only_is_qwen_image_and_says_which_blocks() -> None:
    """Blocks 40-45 only: the deepest index says 46 blocks at least, which only Qwen-Image has; the
    reasons name the blocks the file adapts, not 0-45."""
    result = identify_case(_diffusers_lora(_later_attention(40, 45)))
    assert result.architecture is Architecture.QWEN_IMAGE, reasons_text(result)
    assert "transformer_blocks 40-45" in reasons_text(result)
    assert "blocks 0-45" not in reasons_text(result)


def test_the_qwen_image_metadata_agrees_with_a_lora_of_its_later_blocks() -> None:
    case = _diffusers_lora(_later_attention(20, 58))
    result = identify_case(
        ModelCase(case.name, case.specs, metadata={"modelspec.architecture": "qwen-image/lora"})
    )
    assert result.architecture is Architecture.QWEN_IMAGE, reasons_text(result)
    assert "metadata agrees" in reasons_text(result)


def test_flux_width_with_more_blocks_than_any_family_has_is_other() -> None:
    """3072 wide like Flux.1, but 61 blocks: Flux.1 has 19 and Qwen-Image 60, so no family is named."""
    result = identify_case(_diffusers_lora(_attention("transformer_blocks.{i}.attn", 3072, 61)))
    assert result.architecture is Architecture.OTHER, reasons_text(result)
    assert "the two measurements disagree" in reasons_text(result)
    assert NAMED_FAMILIES not in result.metadata


@pytest.mark.parametrize("blocks", [12, 40])
def test_numbered_attention_3072_wide_is_neither_flux_nor_qwen_image(blocks: int) -> None:
    """``attn1`` in ``transformer_blocks`` (Mochi's 48 blocks of 3072, LTX-Video's) is neither Flux.1's
    nor Qwen-Image's ``attn``: their block counts say nothing about it."""
    result = identify_case(_diffusers_lora(_attention("transformer_blocks.{i}.attn1", 3072, blocks)))
    assert result.architecture is Architecture.OTHER, reasons_text(result)
    named = result.metadata.get(NAMED_FAMILIES, [])
    assert not {"flux1", "qwen_image"} & set(named), named


def _kohya_attention(blocks: int) -> ModelCase:
    """kohya's and musubi's naming: ``lora_unet_transformer_blocks_N_attn_to_q`` with ``lora_down``/
    ``lora_up`` and ``alpha`` (the tester's 19- and 30-block files came out unknown)."""
    specs: dict[str, TensorSpec] = {}
    for i in range(blocks):
        for part in ("to_q", "to_k", "to_v", "to_out_0"):
            module = f"lora_unet_transformer_blocks_{i}_attn_{part}"
            specs[f"{module}.lora_down.weight"] = ("BF16", (8, 3072))
            specs[f"{module}.lora_up.weight"] = ("BF16", (3072, 8))
            specs[f"{module}.alpha"] = ("F32", ())
    return ModelCase("kohya-lora", specs)


def test_kohya_attention_of_19_blocks_is_left_between_flux_and_qwen_image() -> None:
    result = identify_case(_kohya_attention(19))
    assert result.kind is AssetKind.LORA
    assert result.architecture is Architecture.OTHER, reasons_text(result)
    assert result.metadata[NAMED_FAMILIES] == ["flux1", "qwen_image", "hunyuan_video"]


@pytest.mark.parametrize("blocks", [30, 60])
def test_kohya_attention_of_more_blocks_than_flux_has_is_qwen_image(blocks: int) -> None:
    result = identify_case(_kohya_attention(blocks))
    assert result.kind is AssetKind.LORA
    assert result.architecture is Architecture.QWEN_IMAGE, reasons_text(result)


def test_a_block_count_without_its_width_names_nothing() -> None:
    """60 blocks as Qwen-Image, but 2048 wide: neither measurement alone decides."""
    result = identify_case(
        family_lora("qwen_image", "kohya", modules=_attention("transformer_blocks.{i}.attn", 2048, 60))
    )
    assert result.architecture is not Architecture.QWEN_IMAGE, reasons_text(result)


# A PEFT LoRA saved from the transformer itself has no ``transformer.`` prefix: its names start at the
# block list (``transformer_blocks.0.attn.to_q.lora_A.default.weight``; the tester's files, real layouts).
_QWEN_ADDED = ("add_q_proj", "add_k_proj", "add_v_proj", "to_add_out")


def _bare_attention_file(
    tmp_path: Path, blocks: int, width: int, *, suffix: str = ".weight", added: bool = False
) -> Path:
    parts = ("to_q", "to_k", "to_v", "to_out.0", *(_QWEN_ADDED if added else ()))
    specs: dict[str, TensorSpec] = {}
    for i in range(blocks):
        for part in parts:
            module = f"transformer_blocks.{i}.attn.{part}"
            specs[f"{module}.lora_A{suffix}"] = ("BF16", (16, width))
            specs[f"{module}.lora_B{suffix}"] = ("BF16", (width, 16))
    return write_safetensors(tmp_path / "bare.safetensors", specs)


@pytest.mark.parametrize(
    ("layout", "arch"),
    [
        ((60, 3072, ".default.weight", False), Architecture.QWEN_IMAGE),
        ((60, 3072, ".weight", True), Architecture.QWEN_IMAGE),
        ((19, 3072, ".weight", False), Architecture.OTHER),  # Flux.1's double blocks or Qwen-Image's first
        ((24, 1536, ".weight", False), Architecture.SD3),
    ],
)
def test_bare_diffusers_names_are_told_like_prefixed_ones(
    tmp_path: Path, layout: tuple[int, int, str, bool], arch: Architecture
) -> None:
    blocks, width, suffix, added = layout
    result = identify(read_header(_bare_attention_file(tmp_path, blocks, width, suffix=suffix, added=added)))
    assert result.kind is AssetKind.LORA
    assert result.architecture is arch, reasons_text(result)


def test_all_20_of_hunyuan_videos_double_blocks_are_left_between_it_and_qwen_image() -> None:
    """Hunyuan Video's 20 double blocks in diffusers naming read as Qwen-Image's first 20: both named,
    never one of them from the count alone; the file's metadata decides."""
    case = _diffusers_lora(_attention("transformer_blocks.{i}.attn", 3072, 20))
    result = identify_case(case)
    assert result.architecture is Architecture.OTHER, reasons_text(result)
    assert result.metadata[NAMED_FAMILIES] == ["qwen_image", "hunyuan_video"]
    metadata = {"ss_base_model_version": "hunyuan_video"}
    hinted = identify_case(ModelCase(case.name, case.specs, metadata=metadata))
    assert hinted.architecture is Architecture.HUNYUAN_VIDEO, reasons_text(hinted)
