"""A1111's hires fix as plain data: the second pass's size, upscaler, steps and denoising strength.

A1111 renders a hires image in two passes: the first at the recipe's size, then the result is upscaled
(in latent space, or decoded, resized and encoded again) and denoised a second time at the target size.
Its infotext says so with ``Hires upscale`` (a factor) or ``Hires resize`` (``WxH``), ``Hires steps``
(0: as many as the first pass), ``Hires upscaler`` and ``Denoising strength``; texts from before 1.0 wrote
the final size as ``Size`` and the first pass as ``First pass size``. This module reads and writes
those keys and computes the target size exactly as A1111's ``StableDiffusionProcessingTxt2Img`` does;
it imports no torch (the upscaling itself is :mod:`core.render.upscale`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from core.render.recipe import MAX_SIZE, MAX_STEPS, Recipe

# A1111 modules/shared_items.py: latent upscale modes, as torch.nn.functional.interpolate arguments.
LATENT_UPSCALE_MODES: dict[str, tuple[str, bool]] = {
    "Latent": ("bilinear", False),
    "Latent (antialiased)": ("bilinear", True),
    "Latent (bicubic)": ("bicubic", False),
    "Latent (bicubic antialiased)": ("bicubic", True),
    "Latent (nearest)": ("nearest", False),
    "Latent (nearest-exact)": ("nearest-exact", False),
}
# The image upscalers A1111 ships without downloading a model (modules/upscaler.py), as Pillow filters.
# "None" leaves the image as is and A1111's resize_image then brings it to size with Lanczos.
IMAGE_UPSCALERS: dict[str, str] = {"None": "LANCZOS", "Lanczos": "LANCZOS", "Nearest": "NEAREST"}
UPSCALERS: tuple[str, ...] = (*LATENT_UPSCALE_MODES, *IMAGE_UPSCALERS)
DEFAULT_UPSCALER = "Latent"  # A1111's shared.latent_upscale_default_mode
DEFAULT_DENOISING = 0.7  # A1111's txt2img default
SAME_CHECKPOINT = "Use same checkpoint"
HIRES_KEYS = ("Denoising strength", "Hires upscale", "Hires resize", "Hires steps", "Hires upscaler")
_SIZE = re.compile(r"^(\d+)x(\d+)$")
_OPT_F = 8  # pixels per latent cell


@dataclass(frozen=True, slots=True)
class HiresFix:
    """The second pass: upscale by ``scale`` (or to ``resize``), then denoise ``steps`` steps.

    ``resize`` (width, height) wins over ``scale`` when given; one side 0 means "keep the proportions",
    as in A1111. ``steps`` 0 uses the first pass's steps. ``upscaler`` is kept as written: a name
    Atelier cannot run ("4x-UltraSharp") stays in the recipe and is refused by :func:`upscaler_refusal`.
    """

    upscaler: str = DEFAULT_UPSCALER
    scale: float = 2.0
    resize: tuple[int, int] | None = None
    steps: int = 0
    denoising: float = DEFAULT_DENOISING

    def __post_init__(self) -> None:
        object.__setattr__(self, "upscaler", self.upscaler.strip() or DEFAULT_UPSCALER)
        if not math.isfinite(self.scale) or not 1.0 <= self.scale <= 8.0:
            raise ValueError(f"hires upscale must be between 1 and 8, not {self.scale}")
        if not math.isfinite(self.denoising) or not 0.0 <= self.denoising <= 1.0:
            raise ValueError(f"denoising strength must be between 0 and 1, not {self.denoising}")
        if not 0 <= self.steps <= MAX_STEPS:
            raise ValueError(f"hires steps must be between 0 and {MAX_STEPS}, not {self.steps}")
        if self.resize is not None:
            width, height = self.resize
            if width == 0 and height == 0:
                object.__setattr__(self, "resize", None)
            elif not (0 <= width <= MAX_SIZE and 0 <= height <= MAX_SIZE):
                raise ValueError(f"hires resize must be at most {MAX_SIZE}x{MAX_SIZE}, not {width}x{height}")
            else:
                object.__setattr__(self, "resize", (int(width), int(height)))

    @property
    def latent_mode(self) -> tuple[str, bool] | None:
        """(interpolate mode, antialias) for a latent upscaler; None for an image upscaler."""
        return LATENT_UPSCALE_MODES.get(self.upscaler)

    def second_pass_steps(self, first_pass_steps: int) -> int:
        """The steps the second pass runs (A1111: ``hr_second_pass_steps or steps``)."""
        return self.steps or first_pass_steps

    def steps_run(self, first_pass_steps: int) -> int:
        """Denoising steps the second pass really runs (none at denoising 0: the upscale is kept)."""
        return self.second_pass_steps(first_pass_steps) if self.denoising > 0 else 0


@dataclass(frozen=True, slots=True)
class HiresTarget:
    """Where the second pass goes: the upscaled size, then the crop to the requested size (A1111)."""

    upscale_width: int
    upscale_height: int
    width: int
    height: int

    @property
    def crop(self) -> tuple[int, int]:
        """A1111's truncate_x/truncate_y: latent cells cut from the upscaled size (half on each side)."""
        return (
            (self.upscale_width - self.width) // _OPT_F,
            (self.upscale_height - self.height) // _OPT_F,
        )


def target_size(hires: HiresFix, width: int, height: int) -> HiresTarget:
    """The second pass's size for a first pass of ``width`` x ``height`` (A1111's ``init`` of txt2img).

    A factor multiplies both sides; a resize with one side 0 keeps the proportions; a resize of both
    sides upscales to cover it with the first pass's proportions, then crops the excess.
    """
    if hires.resize is None:
        up_w, up_h = int(width * hires.scale), int(height * hires.scale)
        return _cells(up_w, up_h, up_w, up_h)
    resize_w, resize_h = hires.resize
    if resize_h == 0:
        up_w, up_h = resize_w, resize_w * height // width
        return _cells(up_w, up_h, up_w, up_h)
    if resize_w == 0:
        up_w, up_h = resize_h * width // height, resize_h
        return _cells(up_w, up_h, up_w, up_h)
    if width / height < resize_w / resize_h:
        up_w, up_h = resize_w, resize_w * height // width
    else:
        up_w, up_h = resize_h * width // height, resize_h
    return _cells(up_w, up_h, resize_w, resize_h)


def _cells(up_w: int, up_h: int, width: int, height: int) -> HiresTarget:
    """Sizes in whole latent cells: A1111 interpolates to ``size // 8`` cells, so the image is that x 8."""
    cut_x, cut_y = (up_w - width) // _OPT_F, (up_h - height) // _OPT_F
    up_w, up_h = up_w // _OPT_F * _OPT_F, up_h // _OPT_F * _OPT_F
    return HiresTarget(up_w, up_h, up_w - cut_x * _OPT_F, up_h - cut_y * _OPT_F)


def upscaler_refusal(hires: HiresFix | None) -> str | None:
    """Why Atelier cannot run the hires pass's upscaler (None when it can), naming it."""
    if hires is None or hires.upscaler in UPSCALERS:
        return None
    return (
        f"hires upscaler {hires.upscaler!r} is a model Atelier cannot run; "
        f"choose one of {', '.join(UPSCALERS)}"
    )


def hires_refusal(recipe: Recipe) -> str | None:
    """Why Atelier cannot run the recipe's hires pass as A1111 would (None when it can): an upscaler
    model, A1111's ``Hires checkpoint`` (another model for the second pass) or a ``Hires sampler`` it
    cannot run, each named as written."""
    if recipe.hires is None:
        return None
    problem = upscaler_refusal(recipe.hires)
    if problem:
        return problem
    checkpoint = recipe.extra.get("Hires checkpoint", "").strip()
    if checkpoint and checkpoint != SAME_CHECKPOINT:
        return f"Hires checkpoint {checkpoint!r}: Atelier renders both passes with the board's checkpoint"
    own = second_pass(recipe.extra)
    if own.sampler or own.schedule:
        from core.render.samplers import refusal

        return refusal(own.sampler or recipe.sampler, own.schedule or recipe.schedule)
    return None


@dataclass(frozen=True, slots=True)
class SecondPass:
    """What A1111 lets the hires pass change (its ``Hires prompt``, ``Hires sampler``... keys);
    None: as in the first pass."""

    prompt: str | None = None
    negative_prompt: str | None = None
    cfg: float | None = None
    sampler: str | None = None
    schedule: str | None = None


def second_pass(extra: Mapping[str, str]) -> SecondPass:
    """The second pass's own settings from the keys A1111 1.10 and Forge write when they differ."""
    cfg_text = extra.get("Hires CFG Scale", "").strip()
    try:
        cfg = float(cfg_text) if cfg_text else None
    except ValueError:
        cfg = None
    return SecondPass(
        prompt=extra.get("Hires prompt") or None,
        negative_prompt=extra.get("Hires negative prompt") or None,
        cfg=cfg if cfg is not None and math.isfinite(cfg) and cfg >= 0 else None,
        sampler=extra.get("Hires sampler", "").strip() or None,
        schedule=extra.get("Hires schedule type", "").strip() or None,
    )


def _size(text: str | None) -> tuple[int, int] | None:
    match = _SIZE.match(text.strip()) if text else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def hires_from_params(params: Mapping[str, str], warnings: list[str]) -> HiresFix | None:
    """The hires fix an A1111 text asks for, or None; a bad value costs only itself (with a warning).

    A1111 turns hires fix on when ``Denoising strength`` is given with ``Hires upscale``, ``Hires
    upscaler`` or ``Hires resize`` (or an old ``First pass size``, whose ``Size`` is the target).
    """
    has_hires = any(key in params for key in ("Hires upscale", "Hires upscaler", "Hires resize"))
    old_first_pass = _size(params.get("First pass size"))
    if "Denoising strength" not in params or not (has_hires or old_first_pass is not None):
        return None
    fields: dict[str, object] = {}
    readers: tuple[tuple[str, str, type[int] | type[float]], ...] = (
        ("Denoising strength", "denoising", float),
        ("Hires upscale", "scale", float),
        ("Hires steps", "steps", int),
    )
    for key, name, kind in readers:
        raw = params.get(key, "").strip()
        if not raw:
            continue
        try:
            value = kind(float(raw)) if kind is int else kind(raw)
            HiresFix(**{name: value})  # type: ignore[arg-type]
        except ValueError as error:
            warnings.append(f"{key}: {raw!r} cannot be used ({error}); using the default")
            continue
        fields[name] = value
    upscaler = params.get("Hires upscaler", "").strip()
    if upscaler:
        fields["upscaler"] = upscaler
    resize = _size(params.get("Hires resize"))
    if resize is None and "Hires resize" in params:
        warnings.append(f"Hires resize: {params['Hires resize']!r} is not WIDTHxHEIGHT; using the factor")
    if resize is None and old_first_pass is not None:
        resize = _size(params.get("Size"))  # before A1111 1.0, Size was the hires pass's size
    if resize is not None:
        try:
            HiresFix(resize=resize)
            fields["resize"] = resize
        except ValueError as error:
            warnings.append(f"Hires resize: {params.get('Hires resize')!r} cannot be used ({error})")
    return HiresFix(**fields)  # type: ignore[arg-type]


def hires_params(hires: HiresFix | None) -> dict[str, str | None]:
    """The keys A1111's ``create_infotext`` writes for ``hires`` (values None where it writes none)."""
    if hires is None:
        return dict.fromkeys(HIRES_KEYS)
    return {
        "Denoising strength": f"{hires.denoising:g}",
        "Hires upscale": f"{hires.scale:g}" if hires.resize is None else None,
        "Hires resize": f"{hires.resize[0]}x{hires.resize[1]}" if hires.resize is not None else None,
        "Hires steps": str(hires.steps) if hires.steps else None,
        "Hires upscaler": hires.upscaler,
    }
