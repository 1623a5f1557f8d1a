"""The one fit rule: the compose board marks rows with it, the render service warns with it."""

from __future__ import annotations

from app.asset_fit import conflicts, encoder_slots, fit_problem
from core.taxonomy import Architecture, AssetKind


def test_an_adapter_of_another_family_does_not_fit() -> None:
    assert (
        fit_problem(AssetKind.LORA, Architecture.SD1, Architecture.SDXL)
        == "SD 1.x LoRA — does not fit this SDXL checkpoint"
    )
    assert fit_problem(AssetKind.EMBEDDING, Architecture.SDXL, Architecture.SD1) == (
        "SDXL embedding — does not fit this SD 1.x checkpoint"
    )
    assert fit_problem(AssetKind.LORA, Architecture.SDXL, Architecture.SDXL) is None


def test_vaes_conflict_only_across_latent_spaces() -> None:
    assert fit_problem(AssetKind.VAE, Architecture.SD1, Architecture.SD2) is None
    assert fit_problem(AssetKind.VAE, Architecture.SDXL, Architecture.SD1) == (
        "SDXL VAE — does not fit this SD 1.x checkpoint"
    )


def test_a_known_family_the_renderer_cannot_load_still_conflicts() -> None:
    assert fit_problem(AssetKind.LORA, Architecture.FLUX1, Architecture.SDXL) == (
        "FLUX.1 LoRA — does not fit this SDXL checkpoint"
    )
    assert conflicts(AssetKind.HYPERNETWORK, Architecture.SD3, Architecture.SD1)
    assert fit_problem(AssetKind.LORA, Architecture.WAN, Architecture.QWEN_IMAGE) == (
        "Wan LoRA — does not fit this Qwen-Image checkpoint"
    )


def test_the_new_families_judge_their_loras() -> None:
    assert fit_problem(AssetKind.LORA, Architecture.SDXL, Architecture.FLUX1) == (
        "SDXL LoRA — does not fit this FLUX.1 checkpoint"
    )
    assert fit_problem(AssetKind.LORA, Architecture.QWEN_IMAGE, Architecture.CHROMA) == (
        "Qwen-Image LoRA — does not fit this Chroma checkpoint"
    )
    for family in (Architecture.FLUX1, Architecture.SD3, Architecture.QWEN_IMAGE, Architecture.Z_IMAGE):
        assert fit_problem(AssetKind.LORA, family, family) is None


def test_flux_and_chroma_loras_fit_each_other_as_the_renderer_applies_them() -> None:
    # The vocabulary rows say Chroma shares Flux.1's LoRAs; the renderer's refusal reads the same fact.
    assert fit_problem(AssetKind.LORA, Architecture.FLUX1, Architecture.CHROMA) is None
    assert fit_problem(AssetKind.LORA, Architecture.CHROMA, Architecture.FLUX1) is None
    assert fit_problem(AssetKind.EMBEDDING, Architecture.FLUX1, Architecture.CHROMA) == (
        "FLUX.1 embedding — does not fit this Chroma checkpoint"
    )


def test_families_sharing_an_autoencoder_share_vaes() -> None:
    # Chroma and Z-Image decode with Flux.1's AE; SD3.5's 16-channel VAE is another latent space.
    assert fit_problem(AssetKind.VAE, Architecture.FLUX1, Architecture.CHROMA) is None
    assert fit_problem(AssetKind.VAE, Architecture.FLUX1, Architecture.Z_IMAGE) is None
    assert fit_problem(AssetKind.VAE, Architecture.SD3, Architecture.FLUX1) == (
        "SD3 VAE — does not fit this FLUX.1 checkpoint"
    )
    # Wan 2.1's and Qwen-Image's causal VAE are one layout: a header cannot tell them apart.
    assert fit_problem(AssetKind.VAE, Architecture.WAN, Architecture.QWEN_IMAGE) is None
    assert fit_problem(AssetKind.VAE, Architecture.SDXL, Architecture.QWEN_IMAGE) == (
        "SDXL VAE — does not fit this Qwen-Image checkpoint"
    )


def test_text_encoders_fit_the_families_that_list_them() -> None:
    # A shared encoder (architecture unknown) is judged by the encoder its record names.
    unknown = Architecture.UNKNOWN
    assert fit_problem(AssetKind.TEXT_ENCODER, unknown, Architecture.FLUX1, "clip_l") is None
    assert fit_problem(AssetKind.TEXT_ENCODER, unknown, Architecture.SD3, "t5xxl") is None
    assert fit_problem(AssetKind.TEXT_ENCODER, unknown, Architecture.QWEN_IMAGE, "t5xxl") == (
        "T5-XXL text encoder — does not fit this Qwen-Image checkpoint"
    )
    assert fit_problem(AssetKind.TEXT_ENCODER, unknown, Architecture.FLUX1, "qwen3_4b") == (
        "Qwen3 4B text encoder — does not fit this FLUX.1 checkpoint"
    )
    assert fit_problem(AssetKind.TEXT_ENCODER, unknown, Architecture.Z_IMAGE, "qwen3_4b") is None
    # An encoder only one family uses carries that family, which decides without the encoder's name.
    assert fit_problem(AssetKind.TEXT_ENCODER, Architecture.QWEN_IMAGE, Architecture.FLUX1) == (
        "Qwen-Image text encoder — does not fit this FLUX.1 checkpoint"
    )
    assert fit_problem(AssetKind.TEXT_ENCODER, Architecture.QWEN_IMAGE, Architecture.QWEN_IMAGE) is None
    # An encoder of no known name or family (a tiny test file, a new model) cannot be judged.
    assert fit_problem(AssetKind.TEXT_ENCODER, unknown, Architecture.FLUX1, "clip_32") is None


def test_encoder_slots_come_from_the_vocabulary_table() -> None:
    def ids(architecture: Architecture) -> list[str]:
        return [row.id for row in encoder_slots(architecture)]

    assert ids(Architecture.FLUX1) == ["clip_l", "t5xxl"]
    assert ids(Architecture.SD3) == ["clip_l", "clip_g", "t5xxl"]
    assert ids(Architecture.CHROMA) == ["t5xxl"]
    assert ids(Architecture.QWEN_IMAGE) == ["qwen25_vl_7b"]
    assert ids(Architecture.Z_IMAGE) == ["qwen3_4b"]
    assert ids(Architecture.SDXL) == []  # SD checkpoints always carry their encoders
    assert ids(Architecture.WAN) == []  # not a family the board renders


def test_unknown_families_and_missing_checkpoints_are_not_judged() -> None:
    assert fit_problem(AssetKind.LORA, Architecture.OTHER, Architecture.SDXL) is None
    assert fit_problem(AssetKind.LORA, Architecture.UNKNOWN, Architecture.SD1) is None
    assert fit_problem(AssetKind.LORA, Architecture.SD1, Architecture.WAN) is None  # not rendered
    assert fit_problem(AssetKind.LORA, Architecture.SD1, None) is None
    assert fit_problem(AssetKind.LORA, None, Architecture.SD1) is None
    assert fit_problem(AssetKind.CHECKPOINT, Architecture.SD1, Architecture.SDXL) is None


def test_a_vae_is_judged_by_the_layouts_its_header_matches() -> None:
    from app.asset_fit import held_part, vae_cannot_decode

    wan = held_part(AssetKind.VAE, {"vae": ["wan_vae", "qwen_image_vae"], "latent_channels": 16})
    ae = held_part(AssetKind.VAE, {"vae_naming": "diffusers", "latent_channels": 16})
    sd = held_part(AssetKind.VAE, {"latent_channels": 4})
    assert (wan, ae, sd) == ("wan_vae+qwen_image_vae", "sd3_vae+flux_vae", "sd_vae+sdxl_vae")
    # The library may call these files "other" or "unknown": the layout still decides.
    assert fit_problem(AssetKind.VAE, Architecture.UNKNOWN, Architecture.FLUX1, wan) == (
        "Wan 2.1 VAE / Qwen-Image VAE — does not fit this FLUX.1 checkpoint"
    )
    assert fit_problem(AssetKind.VAE, Architecture.OTHER, Architecture.SDXL, ae) == (
        "SD3 VAE / FLUX.1 AE — does not fit this SDXL checkpoint"
    )
    assert vae_cannot_decode(ae, Architecture.QWEN_IMAGE)
    for checkpoint in (Architecture.FLUX1, Architecture.CHROMA, Architecture.Z_IMAGE, Architecture.SD3):
        assert fit_problem(AssetKind.VAE, Architecture.OTHER, checkpoint, ae) is None
    assert fit_problem(AssetKind.VAE, Architecture.UNKNOWN, Architecture.QWEN_IMAGE, wan) is None
    assert fit_problem(AssetKind.VAE, Architecture.SD1, Architecture.SD2, sd) is None


def test_encoders_are_named_as_users_know_them() -> None:
    from app.asset_fit import encoder_name

    assert [encoder_name(e) for e in ("t5xxl", "qwen3_4b", "t5_32", "qwen2_256", "clip_48")] == [
        "T5-XXL",
        "Qwen3 4B",
        "32-wide T5",
        "256-wide Qwen2.5-VL",
        "48-wide CLIP",
    ]
