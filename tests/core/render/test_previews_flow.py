"""Live previews of the flow families: 16-channel factor maps with their bias, Flux-style packed
latents unpacked with the render's size, and a real tiny Flux render streaming previews at every step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.render.previews import (
    FLUX_LATENT_BIAS,
    FLUX_LATENT_RGB,
    SD3_LATENT_BIAS,
    SD3_LATENT_RGB,
    WAN21_LATENT_BIAS,
    WAN21_LATENT_RGB,
    Bias,
    Factors,
    PreviewUnavailableError,
    latents_to_preview,
)
from core.render.recipe import Recipe
from core.taxonomy import Architecture
from tests.factory.tiny_families import (
    FamilyModel,
    flux_parts,
    sd3_model,
    write_flux_full,
    write_full,
    z_image_model,
)

CPU = DeviceChoice("cpu", "float32", "tests")


def _by_hand(latent: torch.Tensor, factors: Factors, bias: Bias) -> np.ndarray:
    """ComfyUI's preview formula per pixel: RGB = sum_c latent[c] * factor[c] + bias, [-1,1] -> [0,255]."""
    channels, height, width = latent.shape
    out = np.zeros((height, width, 3), dtype=np.uint8)
    for y in range(height):
        for x in range(width):
            for colour in range(3):
                value = sum(float(latent[c, y, x]) * factors[c][colour] for c in range(channels))
                value += bias[colour]
                out[y, x, colour] = int(min(max(value * 0.5 + 0.5, 0.0), 1.0) * 255)
    return out


def _pack(grid: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H/2 * W/2, 4C): 2x2 patches, channel-major, as diffusers' Flux pipeline
    packs its latents (FluxPipeline._pack_latents, written out to keep the pipeline import out)."""
    batch, channels, height, width = grid.shape
    patches = grid.view(batch, channels, height // 2, 2, width // 2, 2).permute(0, 2, 4, 1, 3, 5)
    return patches.reshape(batch, (height // 2) * (width // 2), channels * 4)


def test_sd3_and_z_image_grid_latents_match_the_factor_formula() -> None:
    latent = torch.randn(16, 3, 5, generator=torch.Generator().manual_seed(1)) * 3
    for architecture, factors, bias in (
        (Architecture.SD3, SD3_LATENT_RGB, SD3_LATENT_BIAS),
        (Architecture.Z_IMAGE, FLUX_LATENT_RGB, FLUX_LATENT_BIAS),
    ):
        (image,) = latents_to_preview(latent, architecture)
        expected = _by_hand(latent, factors, bias).astype(int)
        assert np.abs(np.asarray(image).astype(int) - expected).max() <= 1


@pytest.mark.parametrize(
    ("architecture", "factors", "bias"),
    [
        (Architecture.FLUX1, FLUX_LATENT_RGB, FLUX_LATENT_BIAS),
        (Architecture.CHROMA, FLUX_LATENT_RGB, FLUX_LATENT_BIAS),
        (Architecture.QWEN_IMAGE, WAN21_LATENT_RGB, WAN21_LATENT_BIAS),
    ],
)
def test_packed_latents_unpack_with_the_render_size(
    architecture: Architecture, factors: Factors, bias: Bias
) -> None:
    # A 48x80 render: a 6x10 latent grid, 3x5 tokens of 2x2 patches.
    grid = torch.randn(2, 16, 6, 10, generator=torch.Generator().manual_seed(2)) * 3
    images = latents_to_preview(_pack(grid), architecture, width=80, height=48)
    assert [image.size for image in images] == [(10, 6), (10, 6)]
    for image, latent in zip(images, grid, strict=True):
        expected = _by_hand(latent, factors, bias).astype(int)
        assert np.abs(np.asarray(image).astype(int) - expected).max() <= 1


def test_zero_flux_latents_show_the_bias_colour() -> None:
    (image,) = latents_to_preview(torch.zeros(1, 4, 64), Architecture.FLUX1, width=32, height=32)
    assert image.getpixel((0, 0)) == tuple(int((b * 0.5 + 0.5) * 255) for b in FLUX_LATENT_BIAS)


def test_packed_latents_refuse_a_size_they_do_not_fit() -> None:
    packed = torch.zeros(1, 16, 64)  # a 64x64 render
    with pytest.raises(PreviewUnavailableError, match=r"do not fit a 128x64 render"):
        latents_to_preview(packed, Architecture.FLUX1, width=128, height=64)
    with pytest.raises(ValueError, match="need the render's width and height"):
        latents_to_preview(packed, Architecture.FLUX1)
    with pytest.raises(PreviewUnavailableError, match=r"\(batch, tokens, 64\)"):
        latents_to_preview(torch.zeros(1, 16, 8, 8), Architecture.FLUX1, width=64, height=64)


# The T5/Qwen tokenizers come from the loopback Hub (tests/core/render/conftest.py), which also resets
# huggingface_hub's offline flag an earlier offline test in this process may have left set.
@pytest.mark.usefixtures("family_hub_env")
def test_a_tiny_flux_render_streams_a_preview_at_every_step(tmp_path: Path) -> None:
    checkpoint = write_flux_full(tmp_path / "flux-tiny.safetensors", flux_parts(0))
    engine = RenderEngine(tmp_path / "cache", CPU)
    engine.load(checkpoint, Architecture.FLUX1, None)
    seen: list[tuple[Image.Image, int, int]] = []
    recipe = Recipe(prompt="a red cat", seed=7, steps=3, width=80, height=64, cfg=1.0, sampler="Euler")

    result = engine.render(recipe, preview=lambda image, done, total: seen.append((image, done, total)))

    assert [(done, total) for _, done, total in seen] == [(1, 3), (2, 3), (3, 3)]
    # The tiny VAE has two blocks: 2 pixels per latent pixel (released Flux VAEs have 8).
    assert all(image.mode == "RGB" and image.size == (40, 32) for image, _, _ in seen)
    assert result.images[0].size == (80, 64)
    # The latents change at every step, and so does what the user watches.
    pixels = [np.asarray(image).tolist() for image, _, _ in seen]
    assert pixels[0] != pixels[-1]


@pytest.mark.usefixtures("family_hub_env")
@pytest.mark.parametrize(
    ("architecture", "model", "original_names"),
    [(Architecture.SD3, sd3_model, False), (Architecture.Z_IMAGE, z_image_model, True)],
)
def test_sd3_and_z_image_renders_stream_previews(
    architecture: Architecture,
    model: Callable[[], FamilyModel],
    original_names: bool,
    *,
    tmp_path: Path,
) -> None:
    checkpoint = write_full(tmp_path / "tiny.safetensors", model(), original_names=original_names)
    engine = RenderEngine(tmp_path / "cache", CPU)
    engine.load(checkpoint, architecture, None)
    seen: list[tuple[Image.Image, int, int]] = []
    recipe = Recipe(prompt="a red cat", seed=7, steps=2, width=64, height=64, cfg=1.0, sampler="Euler")

    engine.render(recipe, preview=lambda image, done, total: seen.append((image, done, total)))

    assert [(done, total) for _, done, total in seen] == [(1, 2), (2, 2)]
    assert all(image.mode == "RGB" and image.size == (32, 32) for image, _, _ in seen)
