"""The hires pass's upscaling: latents with torch's interpolate, or decoded images with Pillow.

A1111 upscales the first pass either in latent space (``torch.nn.functional.interpolate`` with the
mode of the chosen "Latent …" upscaler) or, for an image upscaler, decodes it, resizes the picture and
encodes it again (the img2img pipeline does the encoding here). Either way the result is first sized to
cover the target in the first pass's proportions and then cropped to it, as A1111's truncate does.
torch is imported inside the functions: importing this module must stay light.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from core.render.hires import IMAGE_UPSCALERS, HiresFix, HiresTarget

_OPT_F = 8


def upscale_latents(latents: Any, hires: HiresFix, target: HiresTarget, pixels_per_cell: int = _OPT_F) -> Any:
    """``latents`` (batch, channels, h, w) interpolated to the target's cells, then cropped to it.

    ``pixels_per_cell`` is the VAE's downscale factor (8 for every SD checkpoint).
    """
    import torch

    mode = hires.latent_mode
    if mode is None:
        raise ValueError(f"{hires.upscaler!r} is not a latent upscaler")
    name, antialias = mode
    size = (target.upscale_height // pixels_per_cell, target.upscale_width // pixels_per_cell)
    scaled = torch.nn.functional.interpolate(latents, size=size, mode=name, antialias=antialias)
    cut_x = (target.upscale_width - target.width) // pixels_per_cell
    cut_y = (target.upscale_height - target.height) // pixels_per_cell
    bottom, right = scaled.shape[2] - (cut_y + 1) // 2, scaled.shape[3] - (cut_x + 1) // 2
    return scaled[:, :, cut_y // 2 : bottom, cut_x // 2 : right]


def upscale_image(image: Image.Image, hires: HiresFix, target: HiresTarget) -> Image.Image:
    """``image`` resized with the upscaler's Pillow filter to cover the target, then cropped to it."""
    resample = getattr(Image.Resampling, IMAGE_UPSCALERS[hires.upscaler])
    resized = image.convert("RGB").resize((target.upscale_width, target.upscale_height), resample=resample)
    cut_x, cut_y = target.crop
    left, top = cut_x // 2 * _OPT_F, cut_y // 2 * _OPT_F
    return resized.crop((left, top, left + target.width, top + target.height))
