"""Files nothing recognises: unknown, with one refusal per matcher, and the registry's contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.formats.model_file import ModelHeader
from core.identify import Identification, identify
from core.identify.matchers import DEFAULT_REGISTRY
from core.identify.registry import Match, MatcherRegistry, Refusal
from core.identify.view import HeaderView
from core.taxonomy import Architecture, AssetKind, FileFormat
from tests.core.identify.support import identify_case
from tests.factory import models

MATCHER_NAMES = [matcher.name for matcher in DEFAULT_REGISTRY.matchers]


def test_random_keys_are_unknown_with_every_refusal() -> None:
    result = identify_case(models.random_keys())
    assert result.kind is AssetKind.UNKNOWN
    assert result.architecture is Architecture.UNKNOWN
    assert f"none of Atelier's {len(MATCHER_NAMES)} checks" in result.reasons[0]  # never an empty why
    assert [refusal.split(":", 1)[0] for refusal in result.refusals] == MATCHER_NAMES
    assert all(refusal.split(": ", 1)[1] for refusal in result.refusals)


def test_registry_order() -> None:
    assert MATCHER_NAMES == [
        "diffusers",
        "lora",
        "ip_adapter",
        "controlnet",
        "checkpoint",
        "vae",
        "hypernetwork",
        "embedding",
        "upscaler",
        "clip_vision",
        "text_encoder",
        "unlisted_denoiser",
    ]


def test_empty_file() -> None:
    header = ModelHeader(path=Path("empty.safetensors"), format=FileFormat.SAFETENSORS, size=8)
    result = identify(header)
    assert result.kind is AssetKind.UNKNOWN
    assert result.precision is None
    assert len(result.refusals) == len(MATCHER_NAMES)
    assert result.reasons[0] == "the file holds no tensors"


def test_unknown_still_summarises_metadata() -> None:
    case = models.random_keys().with_metadata(
        **{"modelspec.title": "Mystery", "modelspec.trigger_phrase": "abc"}
    )
    result = identify_case(case)
    assert result.metadata["title"] == "Mystery"
    assert result.trigger_words == ("abc",)


def test_winner_keeps_the_refusals_before_it() -> None:
    result = identify_case(models.vae())
    assert [refusal.split(":", 1)[0] for refusal in result.refusals] == MATCHER_NAMES[:5]


def test_a_custom_registry_decides_by_priority() -> None:
    registry = MatcherRegistry()
    registry.register("low", 1, lambda view: Match(AssetKind.VAE, Architecture.OTHER, ("low",)))
    registry.register("refuses", 10, lambda view: Refusal("never"))
    registry.register("high", 5, lambda view: Match(AssetKind.LORA, Architecture.SD1, ("high",)))
    result = identify(models.to_header(models.random_keys()), registry=registry)
    assert result.kind is AssetKind.LORA
    assert result.refusals == ("refuses: never",)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("low", 3, lambda view: Refusal("dup"))


def test_a_failing_matcher_becomes_a_refusal() -> None:
    def broken(view: HeaderView) -> Match | Refusal:
        raise IndexError("tuple index out of range")

    registry = MatcherRegistry()
    registry.register("broken", 10, broken)
    registry.register("fallback", 1, lambda view: Match(AssetKind.VAE, Architecture.UNKNOWN, ("ok",)))
    result = identify(models.to_header(models.random_keys()), registry=registry)
    assert result.kind is AssetKind.VAE
    assert result.refusals == ("broken: failed on this header (IndexError: tuple index out of range)",)


def test_odd_names_do_not_break_matchers() -> None:
    specs = {
        "².0.linear.0.weight": ("F32", (4, 4)),
        "body.x.weight": ("F32", (4,)),
        "body.0.weight": ("F32", (3,)),
    }
    result = identify_case(models.ModelCase("odd", specs))
    assert result.kind is AssetKind.UNKNOWN
    assert not any("failed on this header" in refusal for refusal in result.refusals)


def test_matchers_see_a_lazy_view() -> None:
    view = HeaderView(models.to_header(models.vae()))
    assert view.has_prefix("decoder.up.")
    assert not view.has_prefix("zzz")
    assert view.with_prefix("quant_conv.") == ["quant_conv.bias", "quant_conv.weight"]
    assert view.dim("decoder.conv_in.weight", 1) == 4
    assert view.dim("decoder.conv_in.weight", 7) is None
    assert view.find_suffix("conv_in.weight") == "decoder.conv_in.weight"


@pytest.mark.parametrize(
    "case",
    [models.sd1_checkpoint(), models.kohya_lora("sdxl"), models.hypernetwork(), models.random_keys()],
    ids=lambda case: case.name,
)
def test_json_round_trip(case: models.ModelCase) -> None:
    result = identify_case(case)
    data = json.loads(json.dumps(result.to_json()))
    assert Identification.from_json(data) == result


def test_a_made_up_dit_is_unknown_with_what_was_looked_for_and_no_misleading_nearest_family() -> None:
    """Too few tensors for the unlisted-denoiser rule (``other``), yet the user is told why: its names and
    its block-like part; the table row sharing the most names shares too few (under half) to be offered
    as its nearest family, and the reason says so."""
    specs: dict[str, tuple[str, tuple[int, ...]]] = {
        "patch_embed.proj.weight": ("BF16", (1152, 4, 2, 2)),
        "t_embedder.mlp.0.weight": ("BF16", (1152, 256)),
        "y_embedder.embedding_table.weight": ("BF16", (1001, 1152)),
    }
    for block in range(24):
        for part in ("attn.qkv.weight", "adaLN_modulation.1.weight", "mlp.fc1.weight"):
            specs[f"dit_layers.{block}.{part}"] = ("BF16", (3456, 1152))
    result = identify_case(models.ModelCase("mystery-dit", specs))
    assert (result.kind, result.architecture) == (AssetKind.UNKNOWN, Architecture.UNKNOWN)
    assert result.reasons[0].startswith("75 tensors under 4 top-level names (dit_layers, patch_embed, ")
    assert "transformer-like blocks (dit_layers) but no family's signature keys" in result.reasons
    nearest = result.reasons[-1]
    assert nearest.startswith("no family of the vocabulary table shares most of its top-level names (")
    assert "nearest match" not in " ".join(result.reasons)
    assert "unlisted_denoiser: fewer than 100 tensors: not a denoiser" in result.refusals


def test_keys_sharing_no_family_name_say_so() -> None:
    result = identify_case(models.random_keys())
    assert result.reasons[-1] == "no top-level name in common with any family of the vocabulary table"


def test_a_small_file_sharing_most_names_with_a_family_is_told_its_nearest_family() -> None:
    """PixArt's top-level names (without its signature keys) in too few tensors for a denoiser: unknown,
    with PixArt offered for orientation, never as its family."""
    specs: dict[str, tuple[str, tuple[int, ...]]] = {
        "x_embedder.proj.weight": ("BF16", (1152, 4, 2, 2)),
        "y_embedder.y_proj.fc1.weight": ("BF16", (1152, 4096)),
    }
    for block in range(4):
        specs[f"blocks.{block}.attn.qkv.weight"] = ("BF16", (3456, 1152))
    result = identify_case(models.ModelCase("pixart-fragment", specs))
    assert (result.kind, result.architecture) == (AssetKind.UNKNOWN, Architecture.UNKNOWN)
    assert result.reasons[-1].startswith("nearest match pixart (PixArt): shares ")
    assert result.reasons[-1].endswith("too little to name the family")
