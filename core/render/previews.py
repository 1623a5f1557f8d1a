"""Cheap live previews of a render in progress, straight from the latents.

Decoding latents with the VAE at every step costs about as much as a denoising step. A1111's "Approx
cheap" preview instead maps the 4 latent channels to RGB with a fixed 4x3 matrix (fitted once per VAE
family), which costs well under a millisecond and is good enough to watch a composition form. The
matrices are A1111's (modules/sd_vae_approx.py, cheap_approximation); SD1 and SD2 share a VAE, SDXL's
differs.

torch is imported inside functions only, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image

from core.taxonomy import Architecture

PreviewCallback = Callable[[Image.Image, int, int], None]
"""Receives a preview image, the number of steps done and the total number of steps."""

MAX_UPSCALE = 8

# Rows are latent channels, columns are R, G, B (A1111's ``"...lxy,lr -> ...rxy"`` layout).
SD_LATENT_RGB: tuple[tuple[float, float, float], ...] = (
    (0.298, 0.207, 0.208),
    (0.187, 0.286, 0.173),
    (-0.158, 0.189, 0.264),
    (-0.184, -0.271, -0.473),
)
SDXL_LATENT_RGB: tuple[tuple[float, float, float], ...] = (
    (0.3448, 0.4168, 0.4395),
    (-0.1953, -0.0290, 0.0250),
    (0.1074, 0.0886, -0.0163),
    (-0.3730, -0.2499, -0.2088),
)

_FACTORS: dict[Architecture, tuple[tuple[float, float, float], ...]] = {
    Architecture.SD1: SD_LATENT_RGB,
    Architecture.SD2: SD_LATENT_RGB,
    Architecture.SDXL: SDXL_LATENT_RGB,
    Architecture.SDXL_REFINER: SDXL_LATENT_RGB,
}


class PreviewUnavailableError(ValueError):
    """No cheap preview exists for these latents (another architecture, or not 4-channel latents)."""


def latent_rgb_factors(architecture: Architecture) -> tuple[tuple[float, float, float], ...]:
    """The 4x3 latent-to-RGB matrix for ``architecture``'s VAE."""
    factors = _FACTORS.get(architecture)
    if factors is None:
        known = ", ".join(sorted(a.value for a in _FACTORS))
        raise PreviewUnavailableError(
            f"no cheap live preview for {architecture.value} latents (only {known})"
        )
    return factors


def latents_to_preview(
    latents: Any, architecture: Architecture, *, upscale: int = 1, smooth: bool = False
) -> list[Image.Image]:
    """One RGB preview per batch item of ``latents`` ((B, 4, H, W) or (4, H, W), any device or dtype).

    Images are at latent resolution (a 512 px render gives 64 px previews) unless ``upscale`` (1 to 8)
    enlarges them: nearest-neighbour by default (crisp, honest about the resolution), bilinear when
    ``smooth``. As in A1111, the mapped values are taken from [-1, 1] to [0, 255] and clipped; NaNs
    (an fp16 overflow mid-render) show as grey rather than failing the preview.
    """
    import torch

    factors = latent_rgb_factors(architecture)
    if not 1 <= upscale <= MAX_UPSCALE:
        raise ValueError(f"preview upscale must be between 1 and {MAX_UPSCALE}, not {upscale}")
    if latents.ndim == 3:
        latents = latents.unsqueeze(0)
    if latents.ndim != 4 or latents.shape[1] != len(factors):
        raise PreviewUnavailableError(
            f"cheap previews need latents shaped (batch, {len(factors)}, height, width), "
            f"got {tuple(latents.shape)}"
        )
    with torch.no_grad():
        samples = latents.detach().float()
        matrix = torch.tensor(factors, dtype=torch.float32, device=samples.device)
        rgb = torch.einsum("blhw,lr->bhwr", samples, matrix)
        rgb = torch.nan_to_num(rgb, nan=0.0).mul_(127.5).add_(127.5).clamp_(0.0, 255.0)
        pixels = rgb.to(torch.uint8).cpu().numpy()
    images = [Image.fromarray(item) for item in pixels]
    if upscale == 1:
        return images
    resample = Image.Resampling.BILINEAR if smooth else Image.Resampling.NEAREST
    return [image.resize((image.width * upscale, image.height * upscale), resample) for image in images]
