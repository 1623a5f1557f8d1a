"""The one fit rule: the compose board marks rows with it, the render service warns with it."""

from __future__ import annotations

from app.asset_fit import conflicts, fit_problem
from core.taxonomy import Architecture, AssetKind


def test_an_adapter_of_another_family_does_not_fit() -> None:
    assert (
        fit_problem(AssetKind.LORA, Architecture.SD1, Architecture.SDXL)
        == "SD1 LoRA — does not fit this SDXL checkpoint"
    )
    assert fit_problem(AssetKind.EMBEDDING, Architecture.SDXL, Architecture.SD1) == (
        "SDXL embedding — does not fit this SD1 checkpoint"
    )
    assert fit_problem(AssetKind.LORA, Architecture.SDXL, Architecture.SDXL) is None


def test_vaes_conflict_only_across_latent_spaces() -> None:
    assert fit_problem(AssetKind.VAE, Architecture.SD1, Architecture.SD2) is None
    assert fit_problem(AssetKind.VAE, Architecture.SDXL, Architecture.SD1) == (
        "SDXL VAE — does not fit this SD1 checkpoint"
    )


def test_a_known_family_the_renderer_cannot_load_still_conflicts() -> None:
    assert fit_problem(AssetKind.LORA, Architecture.FLUX1, Architecture.SDXL) == (
        "FLUX.1 LoRA — does not fit this SDXL checkpoint"
    )
    assert conflicts(AssetKind.HYPERNETWORK, Architecture.SD3, Architecture.SD1)


def test_unknown_families_and_missing_checkpoints_are_not_judged() -> None:
    assert fit_problem(AssetKind.LORA, Architecture.OTHER, Architecture.SDXL) is None
    assert fit_problem(AssetKind.LORA, Architecture.UNKNOWN, Architecture.SD1) is None
    assert fit_problem(AssetKind.LORA, Architecture.SD1, Architecture.FLUX1) is None  # not rendered
    assert fit_problem(AssetKind.LORA, Architecture.SD1, None) is None
    assert fit_problem(AssetKind.LORA, None, Architecture.SD1) is None
    assert fit_problem(AssetKind.CHECKPOINT, Architecture.SD1, Architecture.SDXL) is None
