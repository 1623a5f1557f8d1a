"""Full checkpoints whose denoiser keeps diffusers names under ``model.diffusion_model.`` (what the
project's own factory and some converters write) are checkpoints of their family, with the bundled text
encoders and VAE reported as parts: the denoiser wins over the encoders it carries."""

from __future__ import annotations

import pytest

from core.identify import identify
from core.identify.vocabulary import CHECKPOINT_ROWS, ArchitectureRow
from core.taxonomy import Architecture, AssetKind
from tests.factory.models import ModelCase, Specs, to_header

P = "model.diffusion_model."

CLIP_L: Specs = {
    "text_encoders.clip_l.transformer.text_model.embeddings.token_embedding.weight": ("F16", (49408, 768)),
    "text_encoders.clip_l.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight": (
        "F16",
        (768, 768),
    ),
}
T5: Specs = {
    "text_encoders.t5xxl.transformer.encoder.block.0.layer.0.SelfAttention.q.weight": ("F16", (4096, 4096)),
    "text_encoders.t5xxl.transformer.shared.weight": ("F16", (32128, 4096)),
}
VAE: Specs = {
    "vae.encoder.conv_in.weight": ("F16", (128, 3, 3, 3)),
    "vae.decoder.conv_in.weight": ("F16", (512, 16, 3, 3)),
    "vae.decoder.conv_out.weight": ("F16", (3, 128, 3, 3)),
}


def _prefixed(names: dict[str, tuple[int, ...]]) -> Specs:
    return {P + name: ("BF16", shape) for name, shape in names.items()}


def _flux_diffusers(guidance: bool = True) -> Specs:
    names: dict[str, tuple[int, ...]] = {
        "x_embedder.weight": (3072, 64),
        "context_embedder.weight": (3072, 4096),
        "time_text_embed.timestep_embedder.linear_1.weight": (3072, 256),
        "transformer_blocks.0.attn.to_q.weight": (3072, 3072),
        "transformer_blocks.0.attn.add_q_proj.weight": (3072, 3072),
        "single_transformer_blocks.0.attn.to_q.weight": (3072, 3072),
        "single_transformer_blocks.0.proj_out.weight": (3072, 15360),
        "norm_out.linear.weight": (6144, 3072),
        "proj_out.weight": (64, 3072),
    }
    if guidance:
        names["time_text_embed.guidance_embedder.linear_1.weight"] = (3072, 256)
    return _prefixed(names)


def _chroma_diffusers() -> Specs:
    specs = _flux_diffusers(guidance=False)
    specs |= _prefixed(
        {
            "distilled_guidance_layer.in_proj.bias": (5120,),
            "distilled_guidance_layer.in_proj.weight": (5120, 64),
        }
    )
    return specs


def _sd3_diffusers() -> Specs:
    return _prefixed(
        {
            "pos_embed.proj.weight": (1536, 16, 2, 2),
            "pos_embed.pos_embed": (1, 36864, 1536),
            "context_embedder.weight": (1536, 4096),
            "time_text_embed.text_embedder.linear_1.weight": (1536, 2048),
            "transformer_blocks.0.attn.to_q.weight": (1536, 1536),
            "transformer_blocks.0.attn.add_q_proj.weight": (1536, 1536),
            "norm_out.linear.weight": (3072, 1536),
            "proj_out.weight": (64, 1536),
        }
    )


def _zimage_diffusers() -> Specs:
    return _prefixed(
        {
            "all_x_embedder.2-1.weight": (3840, 64),
            "cap_embedder.1.weight": (3840, 2560),
            "layers.0.attention.to_q.weight": (3840, 3840),
            "layers.0.adaLN_modulation.0.weight": (15360, 256),
            "noise_refiner.0.attention.to_q.weight": (3840, 3840),
            "context_refiner.0.attention.to_q.weight": (3840, 3840),
            "t_embedder.mlp.0.weight": (1024, 256),
        }
    )


QWEN3: Specs = {
    "text_encoders.qwen3_4b.transformer.model.embed_tokens.weight": ("BF16", (151936, 2560)),
    "text_encoders.qwen3_4b.transformer.model.layers.0.self_attn.q_proj.weight": ("BF16", (4096, 2560)),
}

CASES = {
    "flux1-dev-with-encoders": (_flux_diffusers() | CLIP_L | T5 | VAE, Architecture.FLUX1, True),
    "flux1-schnell-vae-only": (_flux_diffusers(guidance=False) | VAE, Architecture.FLUX1, False),
    "chroma-with-t5": (_chroma_diffusers() | T5 | VAE, Architecture.CHROMA, True),
    "sd35-with-encoders": (_sd3_diffusers() | CLIP_L | T5 | VAE, Architecture.SD3, True),
    "z-image-with-qwen3": (_zimage_diffusers() | QWEN3 | VAE, Architecture.Z_IMAGE, True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_full_checkpoint_in_diffusers_names_is_its_family(name: str) -> None:
    specs, architecture, encoders = CASES[name]
    result = identify(to_header(ModelCase(name, specs)))
    assert (result.kind, result.architecture) == (AssetKind.CHECKPOINT, architecture), result.reasons
    components = result.metadata["components"]
    assert isinstance(components, list)
    assert components[0] == "transformer"
    assert "vae" in components
    assert ("text encoder" in components) is encoders
    assert any(reason.startswith(P) for reason in result.reasons), result.reasons


def test_flux_guidance_embedder_under_the_prefix_names_dev() -> None:
    dev = identify(to_header(ModelCase("dev", CASES["flux1-dev-with-encoders"][0])))
    schnell = identify(to_header(ModelCase("schnell", CASES["flux1-schnell-vae-only"][0])))
    assert (dev.metadata["flux_variant"], schnell.metadata["flux_variant"]) == ("dev", "schnell")
    # The reasons name the tensors as the file spells them.
    assert "time_text_embed.guidance_embedder present => Flux.1 dev (guidance-distilled)" in dev.reasons
    assert "x_embedder in-features 64 => normal" in schnell.reasons


@pytest.mark.parametrize("row", CHECKPOINT_ROWS, ids=lambda row: row.architecture.value)
def test_every_table_signature_under_the_checkpoint_prefix_beats_bundled_encoders(
    row: ArchitectureRow,
) -> None:
    """Each row's signatures (original and diffusers spellings) under ``model.diffusion_model.``, with
    CLIP-L, T5 and a VAE beside them: a checkpoint of that row's family, never a text encoder."""
    assert row.checkpoint is not None
    for signature in row.checkpoint.signatures:
        specs = {P + key: ("BF16", (64, 64)) for key in signature} | CLIP_L | T5 | VAE
        result = identify(to_header(ModelCase(row.architecture.value, specs)))
        assert result.kind is AssetKind.CHECKPOINT, (signature, result.reasons)
        assert result.architecture is row.architecture, (signature, result.reasons)
        assert "text encoder" in result.metadata["components"]
