"""Cheap latent previews: the A1111 4x3 map, image sizes, architectures and cost."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from core.render.previews import (
    SD_LATENT_RGB,
    SDXL_LATENT_RGB,
    PreviewUnavailableError,
    latent_rgb_factors,
    latents_to_preview,
)
from core.taxonomy import Architecture


def _by_hand(latent: torch.Tensor, factors: tuple[tuple[float, float, float], ...]) -> np.ndarray:
    """The A1111 formula written out per pixel: RGB = sum_c latent[c] * factor[c], then [-1,1] -> [0,255]."""
    channels, height, width = latent.shape
    out = np.zeros((height, width, 3), dtype=np.uint8)
    for y in range(height):
        for x in range(width):
            for colour in range(3):
                value = sum(float(latent[c, y, x]) * factors[c][colour] for c in range(channels))
                out[y, x, colour] = int(min(max(value * 0.5 + 0.5, 0.0), 1.0) * 255)
    return out


@pytest.mark.parametrize(
    ("architecture", "factors"),
    [
        (Architecture.SD1, SD_LATENT_RGB),
        (Architecture.SD2, SD_LATENT_RGB),
        (Architecture.SDXL, SDXL_LATENT_RGB),
    ],
)
def test_map_equals_the_coefficients_applied_by_hand(
    architecture: Architecture, factors: tuple[tuple[float, float, float], ...]
) -> None:
    latent = torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(3)) * 2
    (image,) = latents_to_preview(latent, architecture)
    actual = np.asarray(image).astype(int)
    expected = _by_hand(latent, factors).astype(int)
    assert actual.shape == (3, 5, 3)
    assert np.abs(actual - expected).max() <= 1  # float32 vs float64 rounding at the truncation


def test_known_pixel_values() -> None:
    # Channel 0 only at 1.0 -> the first coefficient row; zero latents -> mid grey; large values clip.
    latent = torch.zeros(4, 1, 3)
    latent[0, 0, 0] = 1.0
    latent[:, 0, 2] = 100.0
    (image,) = latents_to_preview(latent, Architecture.SD1)
    row = [image.getpixel((x, 0)) for x in range(3)]
    assert row[0] == tuple(int((v * 0.5 + 0.5) * 255) for v in SD_LATENT_RGB[0])
    assert row[1] == (127, 127, 127)
    sums = [sum(SD_LATENT_RGB[c][k] for c in range(4)) for k in range(3)]
    assert row[2] == tuple(255 if s > 0 else 0 for s in sums)


def test_batch_size_mode_and_upscale() -> None:
    latents = torch.randn(3, 4, 8, 16, dtype=torch.float16)
    images = latents_to_preview(latents, Architecture.SDXL)
    assert len(images) == 3
    assert all(image.mode == "RGB" and image.size == (16, 8) for image in images)
    big = latents_to_preview(latents, Architecture.SDXL, upscale=8)
    assert [image.size for image in big] == [(128, 64)] * 3
    # Nearest keeps each latent pixel as an 8x8 block of the x1 colour.
    assert big[1].getpixel((8 * 5 + 7, 8 * 3)) == images[1].getpixel((5, 3))
    smooth = latents_to_preview(latents, Architecture.SDXL, upscale=8, smooth=True)
    assert smooth[0].size == (128, 64)
    assert np.asarray(smooth[0]).tolist() != np.asarray(big[0]).tolist()


def test_sd1_and_sdxl_differ_and_refiner_uses_sdxl() -> None:
    latent = torch.randn(1, 4, 6, 6, generator=torch.Generator().manual_seed(0))
    sd1 = np.asarray(latents_to_preview(latent, Architecture.SD1)[0])
    sdxl = np.asarray(latents_to_preview(latent, Architecture.SDXL)[0])
    assert not np.array_equal(sd1, sdxl)
    assert latent_rgb_factors(Architecture.SDXL_REFINER) == SDXL_LATENT_RGB
    assert latent_rgb_factors(Architecture.SD2) == SD_LATENT_RGB


def test_nan_latents_give_grey_not_garbage() -> None:
    latent = torch.full((4, 2, 2), float("nan"))
    (image,) = latents_to_preview(latent, Architecture.SD1)
    assert image.getpixel((1, 1)) == (127, 127, 127)


def test_refusals() -> None:
    with pytest.raises(PreviewUnavailableError, match="no cheap live preview for qwen_image_2"):
        latents_to_preview(torch.zeros(1, 16, 8, 8), Architecture.QWEN_IMAGE_2)
    with pytest.raises(PreviewUnavailableError, match=r"\(batch, 4, height, width\), got \(1, 16, 8, 8\)"):
        latents_to_preview(torch.zeros(1, 16, 8, 8), Architecture.SD1)
    with pytest.raises(PreviewUnavailableError, match="got"):
        latents_to_preview(torch.zeros(8, 8), Architecture.SD1)
    with pytest.raises(ValueError, match="upscale must be between 1 and 8"):
        latents_to_preview(torch.zeros(4, 8, 8), Architecture.SD1, upscale=9)


def test_previews_module_does_not_import_torch() -> None:
    code = "import sys, core.render.previews; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
