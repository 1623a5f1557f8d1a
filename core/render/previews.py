"""Cheap live previews of a render in progress, straight from the latents.

Decoding latents with the VAE at every step costs about as much as a denoising step. A1111's "Approx
cheap" preview instead maps the latent channels to RGB with a fixed matrix (fitted once per VAE family),
which costs well under a millisecond and is good enough to watch a composition form. The 4-channel
matrices are A1111's (modules/sd_vae_approx.py, cheap_approximation); SD1 and SD2 share a VAE, SDXL's
differs. The 16-channel families map with the factors and biases ComfyUI publishes for its live
previews (comfy/latent_formats.py): Flux.1, Chroma and Z-Image decode with the Flux VAE, SD3.5 has its
own VAE, Qwen-Image decodes with the Wan 2.1 VAE. Those factors apply to the latents as the transformer
sees them (shifted and scaled, or normalized), which is what diffusers hands the step callback.

Flux.1, Chroma and Qwen-Image pipelines keep their latents *packed* during denoising: (batch, sequence,
64), each token a 2x2 patch of 16 channels. They are unpacked with the render's width and height before
the map is applied, exactly as the pipeline unpacks them for the VAE.

torch is imported inside functions only, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from core.taxonomy import Architecture

PreviewCallback = Callable[[Image.Image, int, int], None]
"""Receives a preview image, the number of steps done and the total number of steps."""

MAX_UPSCALE = 8
VAE_SCALE = 8  # pixels per latent pixel in every released VAE (tiny test VAEs may differ)
PATCH = 2  # side of the square of latent pixels one packed token carries

Factors = tuple[tuple[float, float, float], ...]
Bias = tuple[float, float, float]

# Rows are latent channels, columns are R, G, B (A1111's ``"...lxy,lr -> ...rxy"`` layout).
SD_LATENT_RGB: Factors = (
    (0.298, 0.207, 0.208),
    (0.187, 0.286, 0.173),
    (-0.158, 0.189, 0.264),
    (-0.184, -0.271, -0.473),
)
SDXL_LATENT_RGB: Factors = (
    (0.3448, 0.4168, 0.4395),
    (-0.1953, -0.0290, 0.0250),
    (0.1074, 0.0886, -0.0163),
    (-0.3730, -0.2499, -0.2088),
)
FLUX_LATENT_RGB: Factors = (
    (-0.0346, 0.0244, 0.0681),
    (0.0034, 0.0210, 0.0687),
    (0.0275, -0.0668, -0.0433),
    (-0.0174, 0.0160, 0.0617),
    (0.0859, 0.0721, 0.0329),
    (0.0004, 0.0383, 0.0115),
    (0.0405, 0.0861, 0.0915),
    (-0.0236, -0.0185, -0.0259),
    (-0.0245, 0.0250, 0.1180),
    (0.1008, 0.0755, -0.0421),
    (-0.0515, 0.0201, 0.0011),
    (0.0428, -0.0012, -0.0036),
    (0.0817, 0.0765, 0.0749),
    (-0.1264, -0.0522, -0.1103),
    (-0.0280, -0.0881, -0.0499),
    (-0.1262, -0.0982, -0.0778),
)
FLUX_LATENT_BIAS: Bias = (-0.0329, -0.0718, -0.0851)
SD3_LATENT_RGB: Factors = (
    (-0.0922, -0.0175, 0.0749),
    (0.0311, 0.0633, 0.0954),
    (0.1994, 0.0927, 0.0458),
    (0.0856, 0.0339, 0.0902),
    (0.0587, 0.0272, -0.0496),
    (-0.0006, 0.1104, 0.0309),
    (0.0978, 0.0306, 0.0427),
    (-0.0042, 0.1038, 0.1358),
    (-0.0194, 0.0020, 0.0669),
    (-0.0488, 0.0130, -0.0268),
    (0.0922, 0.0988, 0.0951),
    (-0.0278, 0.0524, -0.0542),
    (0.0332, 0.0456, 0.0895),
    (-0.0069, -0.0030, -0.0810),
    (-0.0596, -0.0465, -0.0293),
    (-0.1448, -0.1463, -0.1189),
)
SD3_LATENT_BIAS: Bias = (0.2394, 0.2135, 0.1925)
WAN21_LATENT_RGB: Factors = (
    (-0.1299, -0.1692, 0.2932),
    (0.0671, 0.0406, 0.0442),
    (0.3568, 0.2548, 0.1747),
    (0.0372, 0.2344, 0.1420),
    (0.0313, 0.0189, -0.0328),
    (0.0296, -0.0956, -0.0665),
    (-0.3477, -0.4059, -0.2925),
    (0.0166, 0.1902, 0.1975),
    (-0.0412, 0.0267, -0.1364),
    (-0.1293, 0.0740, 0.1636),
    (0.0680, 0.3019, 0.1128),
    (0.0032, 0.0581, 0.0639),
    (-0.1251, 0.0927, 0.1699),
    (0.0060, -0.0633, 0.0005),
    (0.3477, 0.2275, 0.2950),
    (0.1984, 0.0913, 0.1861),
)
WAN21_LATENT_BIAS: Bias = (-0.1835, -0.0868, -0.3360)
NO_BIAS: Bias = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class LatentMap:
    """How one VAE family's latents become a preview: ``rgb = latents @ factors + bias``.

    ``packed`` says the pipeline denoises 2x2-patch tokens (batch, sequence, 4 x channels) rather than
    a (batch, channels, height, width) grid, so the preview needs the render's size to unpack them.
    """

    factors: Factors
    bias: Bias = NO_BIAS
    packed: bool = False

    @property
    def channels(self) -> int:
        return len(self.factors)


_SD = LatentMap(SD_LATENT_RGB)
_SDXL = LatentMap(SDXL_LATENT_RGB)
_FLUX_PACKED = LatentMap(FLUX_LATENT_RGB, FLUX_LATENT_BIAS, packed=True)

_MAPS: dict[Architecture, LatentMap] = {
    Architecture.SD1: _SD,
    Architecture.SD2: _SD,
    Architecture.SDXL: _SDXL,
    Architecture.SDXL_REFINER: _SDXL,
    Architecture.FLUX1: _FLUX_PACKED,
    Architecture.CHROMA: _FLUX_PACKED,
    Architecture.Z_IMAGE: LatentMap(FLUX_LATENT_RGB, FLUX_LATENT_BIAS),  # Flux VAE, unpacked latents
    Architecture.SD3: LatentMap(SD3_LATENT_RGB, SD3_LATENT_BIAS),
    Architecture.QWEN_IMAGE: LatentMap(WAN21_LATENT_RGB, WAN21_LATENT_BIAS, packed=True),
}


class PreviewUnavailableError(ValueError):
    """No cheap preview exists for these latents (another architecture, or latents of another shape)."""


def latent_map(architecture: Architecture) -> LatentMap:
    """The latent-to-RGB map for ``architecture``'s VAE."""
    found = _MAPS.get(architecture)
    if found is None:
        known = ", ".join(sorted(a.value for a in _MAPS))
        raise PreviewUnavailableError(
            f"no cheap live preview for {architecture.value} latents (only {known})"
        )
    return found


def latent_rgb_factors(architecture: Architecture) -> Factors:
    """The channels x 3 latent-to-RGB matrix for ``architecture``'s VAE."""
    return latent_map(architecture).factors


def has_preview(architecture: Architecture | None) -> bool:
    """Whether renders of ``architecture`` can show cheap live previews."""
    return architecture in _MAPS


def unpack_latents(latents: Any, width: int, height: int, channels: int, vae_scale: int = VAE_SCALE) -> Any:
    """(batch, sequence, channels x 4) packed tokens -> (batch, channels, height/8, width/8) latents.

    The same arithmetic as the pipelines' ``_unpack_latents``: the latent grid is rounded down to an
    even size, and each token holds a 2x2 patch, channel-major.
    """
    rows = PATCH * (int(height) // (vae_scale * PATCH))
    cols = PATCH * (int(width) // (vae_scale * PATCH))
    batch, tokens, packed = latents.shape
    if packed != channels * PATCH * PATCH or tokens != (rows // PATCH) * (cols // PATCH):
        raise PreviewUnavailableError(
            f"packed latents {tuple(latents.shape)} do not fit a {width}x{height} render "
            f"of {channels}-channel latents"
        )
    grid = latents.reshape(batch, rows // PATCH, cols // PATCH, channels, PATCH, PATCH)
    return grid.permute(0, 3, 1, 4, 2, 5).reshape(batch, channels, rows, cols)


def latents_to_preview(
    latents: Any,
    architecture: Architecture,
    *,
    upscale: int = 1,
    smooth: bool = False,
    width: int | None = None,
    height: int | None = None,
    vae_scale: int = VAE_SCALE,
) -> list[Image.Image]:
    """One RGB preview per batch item of ``latents``, any device or dtype.

    ``latents`` is (B, C, H, W) or (C, H, W) for grid families, or (B, sequence, 4C) packed tokens for
    Flux.1, Chroma and Qwen-Image, which need the render's ``width`` and ``height`` (and the VAE's
    ``vae_scale``, the pipeline's ``vae_scale_factor``) to unpack. Images
    are at latent resolution (a 512 px render gives 64 px previews) unless ``upscale`` (1 to 8)
    enlarges them: nearest-neighbour by default (crisp, honest about the resolution), bilinear when
    ``smooth``. As in A1111 and ComfyUI, the mapped values are taken from [-1, 1] to [0, 255] and
    clipped; NaNs (an fp16 overflow mid-render) show as grey rather than failing the preview.
    """
    import torch

    mapping = latent_map(architecture)
    channels = mapping.channels
    if not 1 <= upscale <= MAX_UPSCALE:
        raise ValueError(f"preview upscale must be between 1 and {MAX_UPSCALE}, not {upscale}")
    if mapping.packed:
        if width is None or height is None:
            raise ValueError(f"{architecture.value} previews need the render's width and height")
        if latents.ndim != 3:
            raise PreviewUnavailableError(
                f"packed previews need latents shaped (batch, tokens, {channels * PATCH * PATCH}), "
                f"got {tuple(latents.shape)}"
            )
        latents = unpack_latents(latents, width, height, channels, vae_scale)
    elif latents.ndim == 3:
        latents = latents.unsqueeze(0)
    if latents.ndim == 5 and latents.shape[2] == 1:  # (B, C, 1 frame, H, W) from a video VAE family
        latents = latents[:, :, 0]
    if latents.ndim != 4 or latents.shape[1] != channels:
        raise PreviewUnavailableError(
            f"cheap previews need latents shaped (batch, {channels}, height, width), "
            f"got {tuple(latents.shape)}"
        )
    with torch.no_grad():
        samples = latents.detach().float()
        matrix = torch.tensor(mapping.factors, dtype=torch.float32, device=samples.device)
        rgb = torch.einsum("blhw,lr->bhwr", samples, matrix)
        if mapping.bias != NO_BIAS:
            rgb += torch.tensor(mapping.bias, dtype=torch.float32, device=samples.device)
        rgb = torch.nan_to_num(rgb, nan=0.0).mul_(127.5).add_(127.5).clamp_(0.0, 255.0)
        pixels = rgb.to(torch.uint8).cpu().numpy()
    images = [Image.fromarray(item) for item in pixels]
    if upscale == 1:
        return images
    resample = Image.Resampling.BILINEAR if smooth else Image.Resampling.NEAREST
    return [image.resize((image.width * upscale, image.height * upscale), resample) for image in images]
