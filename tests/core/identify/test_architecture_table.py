"""Every row of the vocabulary table, on real-layout key lists, against diffusers' own model-type inference.

The key lists (tests/data/keyspaces, sources in tests/data/README.md) hold the names and shapes of the
released models. For each, Atelier's identification must name the row's family, and diffusers'
``infer_diffusers_model_type`` (given the same names and shapes, header-only) must agree with the model
type the row expects, or the disagreement must be one diffusers is known to make (ARCHITECTURES.md
section 5: it falls back to ``v1`` for families it cannot detect, reads PixArt as Sana, LTX-2 as LTX-Video).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.identify.vocabulary import CHECKPOINT_ROWS
from core.taxonomy import Architecture, AssetKind, Precision
from tests.core.identify.support import identify_case, reasons_text
from tests.factory.keyspaces import keyspace
from tests.factory.models import ModelCase

# key list -> (family, variant or size we report, what diffusers infers, why diffusers differs if it does)
CASES: dict[str, tuple[Architecture, str | None, str, str]] = {
    "stable_cascade-stage_c": (Architecture.STABLE_CASCADE, "stage-c", "stable_cascade_stage_c", ""),
    "stable_cascade-stage_b": (Architecture.STABLE_CASCADE, "stage-b", "stable_cascade_stage_b", ""),
    "chroma-comfyui": (Architecture.CHROMA, "8.9B", "chroma", ""),
    "flux3-bfl": (Architecture.FLUX3, "base", "flux-3-image", ""),
    "krea2-bfl": (Architecture.KREA2, None, "krea2", ""),
    "qwen_image_2-comfyui": (Architecture.QWEN_IMAGE_2, "2.1", "qwen-image-2.1", ""),
    "qwen_image-comfyui": (Architecture.QWEN_IMAGE, "20B", "v1", "diffusers has no Qwen-Image 1.x detection"),
    "z_image-comfyui": (Architecture.Z_IMAGE, "6B", "z-image-turbo", ""),
    "lumina2-comfyui": (Architecture.LUMINA2, "2.6B", "lumina2", ""),
    "sana-original": (Architecture.SANA, "1.6B", "sana", ""),
    "pixart-original": (Architecture.PIXART, "600M", "sana", "diffusers reads PixArt's shared names as Sana"),
    "auraflow-original": (Architecture.AURAFLOW, "6.8B", "auraflow", ""),
    "hidream-original": (Architecture.HIDREAM, "17B", "hidream", ""),
    "anima-net": (
        Architecture.ANIMA,
        "2B",
        "cosmos-2.0-t2i-2B",
        "diffusers loads Anima as Cosmos Predict2 2B",
    ),
    "cosmos2-net": (Architecture.COSMOS, "predict2-t2i", "cosmos-2.0-t2i-2B", ""),
    "cosmos1-net": (Architecture.COSMOS, "1.0-t2w", "cosmos-1.0-t2w-7B", ""),
    "wan-t2v_1.3b": (Architecture.WAN, "t2v", "wan-t2v-1.3B", ""),
    "wan-i2v_14b": (Architecture.WAN, "2.1-i2v", "wan-i2v-14B", ""),
    "wan-ti2v_5b": (Architecture.WAN, "2.2-ti2v-5b", "wan-i2v-14B", "diffusers misreports Wan 2.2 TI2V-5B"),
    "hunyuan_video-original": (Architecture.HUNYUAN_VIDEO, "t2v", "hunyuan-video", ""),
    "ltx2-checkpoint": (
        Architecture.LTX2,
        "19B",
        "ltx-video-0.9.7",
        "diffusers checks LTX-Video's patchify_proj first",
    ),
    "ltx_video-original": (Architecture.LTX_VIDEO, "2B", "ltx-video", ""),
    "mochi-original": (Architecture.MOCHI, "10B", "mochi-1-preview", ""),
    "ernie_image-original": (Architecture.ERNIE_IMAGE, "8B", "v1", "diffusers has no ERNIE-Image detection"),
    "minimax_h3-original": (Architecture.MINIMAX_H3, None, "minimax-h3", ""),
    "hunyuan_dit-original": (
        Architecture.HUNYUAN_DIT,
        "1.5B",
        "v1",
        "diffusers has no Hunyuan-DiT detection (it cannot load one from a single file)",
    ),
    # The rows decided by families.py / dit.py, on the sd-mecha key lists.
    "sd1-ldm": (Architecture.SD1, None, "v1", ""),
    "sdxl-sgm": (Architecture.SDXL, None, "xl_base", ""),
    "sd3-comfyui": (Architecture.SD3, "sd3-medium", "sd3", ""),
    "flux-flux": (Architecture.FLUX1, "dev", "flux-dev", ""),
}


def _variant(metadata: dict[str, object]) -> object:
    for key in ("model_variant", "flux_variant", "sd3_variant", "model_size"):
        if key in metadata:
            return metadata[key]
    return None


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_layout_is_named_by_its_row(name: str) -> None:
    arch, variant, _, _ = CASES[name]
    result = identify_case(ModelCase(name, keyspace(name)))
    assert (result.kind, result.architecture) == (AssetKind.CHECKPOINT, arch), reasons_text(result)
    if variant is not None:
        assert variant in (
            result.metadata.get("model_variant"),
            result.metadata.get("model_size"),
            _variant(dict(result.metadata)),
        )


@pytest.mark.parametrize("name", sorted(CASES))
def test_diffusers_infers_the_same_model_type(name: str) -> None:
    single_file_utils = pytest.importorskip("diffusers.loaders.single_file_utils")
    _, _, expected, known_difference = CASES[name]
    checkpoint = {key: SimpleNamespace(shape=shape) for key, (_, shape) in keyspace(name).items()}
    inferred = single_file_utils.infer_diffusers_model_type(checkpoint)
    assert inferred == expected, known_difference


@pytest.mark.parametrize("prefix", ["", "model.diffusion_model."])
@pytest.mark.parametrize(
    "name", [n for n in CASES if not n.startswith(("sd", "flux-", "ltx2", "anima", "cosmos"))]
)
def test_denoiser_only_and_full_checkpoint_spellings(name: str, prefix: str) -> None:
    """ComfyUI's diffusion-model-only files are bare; full checkpoints put the same names under a prefix."""
    specs = {prefix + key: spec for key, spec in keyspace(name).items()}
    result = identify_case(ModelCase(name, specs))
    assert result.architecture is CASES[name][0], reasons_text(result)
    assert "transformer only" in reasons_text(result)


@pytest.mark.parametrize("prefix", ["", "net.", "model.diffusion_model."])
def test_anima_without_or_with_nvidia_prefix(prefix: str) -> None:
    specs = {prefix + key.removeprefix("net."): spec for key, spec in keyspace("anima-net").items()}
    assert identify_case(ModelCase("anima", specs)).architecture is Architecture.ANIMA


def test_every_checkpoint_row_has_a_key_list() -> None:
    covered = {arch for arch, *_ in CASES.values()}
    assert {row.architecture for row in CHECKPOINT_ROWS} <= covered


def test_checkpoint_details_name_size_width_and_encoders() -> None:
    result = identify_case(ModelCase("qwen", keyspace("qwen_image-comfyui")))
    metadata = result.metadata
    assert metadata["hidden_size"] == 3072
    assert metadata["text_width"] == 3584
    assert metadata["in_channels"] == 64
    assert metadata["text_encoders"] == ["qwen25_vl_7b"]
    assert metadata["vae"] == "qwen_image_vae"
    assert metadata["components"] == ["transformer"]


def test_unreleased_width_is_said_not_hidden() -> None:
    specs = {
        k: (d, tuple(1024 if s == 3840 else s for s in shape))
        for k, (d, shape) in keyspace("z_image-comfyui").items()
    }
    result = identify_case(ModelCase("tiny-z", specs))
    assert result.architecture is Architecture.Z_IMAGE
    assert "not a released size" in reasons_text(result)


def test_all_in_one_checkpoint_names_its_bundled_parts() -> None:
    """ComfyUI's all-in-one Z-Image checkpoint: the denoiser, the Qwen3 encoder and the Flux AE together."""
    specs = {"model.diffusion_model." + key: spec for key, spec in keyspace("z_image-comfyui").items()}
    specs["text_encoders.qwen3_4b.transformer.model.embed_tokens.weight"] = ("BF16", (151936, 2560))
    specs["vae.decoder.conv_in.weight"] = ("BF16", (512, 16, 3, 3))
    result = identify_case(ModelCase("z-aio", specs))
    assert result.architecture is Architecture.Z_IMAGE
    assert result.metadata["components"] == ["transformer", "vae", "text encoder"]


def test_fp8_checkpoint_is_named_and_its_precision_said() -> None:
    """ComfyUI's fp8 files keep every name; the scaled ones add a marker and per-layer scales."""
    specs = dict(keyspace("qwen_image-comfyui", dtype="F8_E4M3"))
    specs["scaled_fp8"] = ("F8_E4M3", (0,))
    specs["transformer_blocks.0.attn.to_q.scale_weight"] = ("F32", (1,))
    result = identify_case(ModelCase("qwen-fp8", specs))
    assert result.architecture is Architecture.QWEN_IMAGE
    assert result.precision is Precision.FP8


def _unlisted_transformer(parts: dict[str, tuple[int, ...]]) -> dict[str, tuple[str, tuple[int, ...]]]:
    """A transformer of 40 ``blocks`` whose other top-level names are ``parts`` (none a row's signature)."""
    specs = {name: ("BF16", shape) for name, shape in parts.items()}
    for block in range(40):
        for part in ("attn1.Wqkv", "attn1.out_proj", "attn2.q_proj", "attn2.kv_proj", "mlp.fc1"):
            specs[f"blocks.{block}.{part}.weight"] = ("BF16", (1408, 1408))
    return specs


def test_transformer_sharing_few_names_with_any_family_is_other_with_no_nearest_match() -> None:
    """Hunyuan-DiT's names without its signature share ``blocks``/``x_embedder``/``t_embedder`` with Anima
    (25% of the names): no family is offered as "nearest", which would point at an unrelated one."""
    specs = _unlisted_transformer(
        {
            "x_embedder.proj.weight": (1408, 4, 2, 2),
            "t_embedder.mlp.0.weight": (1408, 256),
            "pooler.q_proj.weight": (1024, 1024),
            "mlp_t5.0.weight": (8192, 2048),
            "final_layer.linear.weight": (32, 1408),
        }
    )
    result = identify_case(ModelCase("unlisted-dit", specs))
    assert (result.kind, result.architecture) == (AssetKind.CHECKPOINT, Architecture.OTHER), result.refusals
    assert "nearest match" not in reasons_text(result)
    assert result.reasons[-1].startswith(
        "no family of the vocabulary table shares most of its top-level names"
    )
    assert "nearest_architecture" not in result.metadata


def test_transformer_sharing_most_names_with_a_family_names_it_as_nearest_match() -> None:
    """PixArt's top-level names without its signature keys: ``other``, PixArt offered as the nearest."""
    specs = _unlisted_transformer(
        {"x_embedder.proj.weight": (1152, 4, 2, 2), "y_embedder.y_proj.fc1.weight": (1152, 4096)}
    )
    result = identify_case(ModelCase("pixart-like", specs))
    assert result.architecture is Architecture.OTHER, reasons_text(result)
    assert result.reasons[-1].startswith("nearest match pixart (PixArt): ")
    assert result.metadata["nearest_architecture"] == "pixart"


def test_z_image_base_and_turbo_are_not_told_apart_from_the_header() -> None:
    """Base and Turbo share the layout: the file is Z-Image, with no variant, and the reasons say the
    Civitai base model decides (its labels name Z-Image, so they never conflict with the file)."""
    from core.identify.vocabulary import architecture_of_base_model
    from core.sources.site_words import base_model_conflict

    result = identify_case(ModelCase("z_image_turbo_bf16", keyspace("z_image-comfyui")))
    assert result.architecture is Architecture.Z_IMAGE
    assert "model_variant" not in result.metadata
    assert (
        "Base or Turbo is not in the header (both are this same layout): the Civitai base model "
        "(ZImageTurbo or ZImageBase) says which"
    ) in result.reasons
    for label in ("ZImageTurbo", "ZImageBase"):
        assert architecture_of_base_model(label) is Architecture.Z_IMAGE
        assert base_model_conflict(label, Architecture.Z_IMAGE) is None


def test_pixart_sigma_without_its_position_table_is_pixart_not_sana() -> None:
    """PixArt-Σ 1024 files may leave out the fixed ``pos_embed``; their plain MLP (``mlp.fc1``, where Sana
    has a convolutional GLU) still says PixArt (the tester's file came out Sana, variant "pixart-layout")."""
    specs = {name: spec for name, spec in keyspace("pixart-original").items() if name != "pos_embed"}
    result = identify_case(ModelCase("pixart-sigma-no-pos", specs))
    assert result.architecture is Architecture.PIXART, reasons_text(result)
