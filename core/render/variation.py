"""A1111's variation seed and eta noise seed delta, applied to the noise the engine draws.

A1111 writes ``Variation seed: 99, Variation seed strength: 0.3`` when the starting noise of image ``i``
is its seed's noise blended (``slerp``, ``modules/processing.py``) towards the noise of ``variation seed
+ i`` by the strength, and ``ENSD: 31337`` when the noise an ancestral/SDE sampler adds at each step
comes from a generator seeded ``seed + i + ENSD`` instead of continuing the seed's generator.

The engine draws the starting noise exactly as the diffusers pipeline would (same generators, shape and
dtype), so a render without these keys is unchanged; with them the blended noise is passed as
``latents=`` and the sampler's generators are reseeded for ENSD. torch is imported inside functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VARIATION_SEED = "Variation seed"
VARIATION_STRENGTH = "Variation seed strength"
ENSD = "ENSD"
SEED_RESIZE = "Seed resize from"
HONOURED_KEYS = (VARIATION_SEED, VARIATION_STRENGTH, ENSD)
_SEED_MODULUS = 2**64


@dataclass(frozen=True, slots=True)
class NoiseSettings:
    """What the recipe's extra keys ask of the noise; ``warnings`` name what cannot be used."""

    variation_seed: int | None = None
    strength: float = 0.0
    ensd: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def changes_noise(self) -> bool:
        return (self.variation_seed is not None and self.strength > 0) or self.ensd != 0


def noise_settings(extra: Mapping[str, str]) -> NoiseSettings:
    """Read A1111's variation and ENSD keys; an unreadable value is named in a warning, not guessed."""
    warnings: list[str] = []

    def number(key: str, kind: type[int] | type[float]) -> float | None:
        text = extra.get(key)
        if text is None:
            return None
        try:
            return kind(text.strip())
        except ValueError:
            warnings.append(f"{key}: {text} is not a number; it is not applied")
            return None

    seed = number(VARIATION_SEED, int)
    strength = number(VARIATION_STRENGTH, float)
    ensd = number(ENSD, int)
    if strength is not None and not 0.0 <= strength <= 1.0:
        warnings.append(f"{VARIATION_STRENGTH}: {strength} is outside 0..1; it is not applied")
        strength = None
    if strength and seed is None:
        warnings.append(f"{VARIATION_STRENGTH}: {strength} has no {VARIATION_SEED}; it is not applied")
    resize = extra.get(SEED_RESIZE)
    if resize is not None and resize.strip() not in ("", "-1x-1", "0x0"):
        warnings.append(
            f"{SEED_RESIZE}: {resize} is not applied by Atelier (the image will differ from A1111's)"
        )
    return NoiseSettings(
        variation_seed=int(seed) if seed is not None else None,
        strength=float(strength or 0.0),
        ensd=int(ensd or 0),
        warnings=tuple(warnings),
    )


def slerp(value: float, low: Any, high: Any) -> Any:
    """A1111's ``slerp`` (modules/processing.py), verbatim: ``low`` towards ``high`` by ``value``."""
    import torch

    low_norm = low / torch.norm(low, dim=1, keepdim=True)
    high_norm = high / torch.norm(high, dim=1, keepdim=True)
    dot = (low_norm * high_norm).sum(1)
    if dot.mean() > 0.9995:
        return low * value + high * (1 - value)
    omega = torch.acos(dot)
    so = torch.sin(omega)
    return (torch.sin((1.0 - value) * omega) / so).unsqueeze(1) * low + (
        torch.sin(value * omega) / so
    ).unsqueeze(1) * high


def starting_noise(
    settings: NoiseSettings,
    *,
    seed: int,
    generators: list[Any],
    shape: tuple[int, int, int],
    device: Any,
    dtype: Any,
) -> tuple[Any, list[Any]]:
    """The batch's starting noise and the generators the sampler continues with.

    The seed's noise is drawn from ``generators`` exactly as diffusers' ``prepare_latents`` draws it
    (one ``(1, *shape)`` sample per generator), so their state afterwards is what it is today.
    """
    import torch
    from diffusers.utils.torch_utils import randn_tensor

    samples: list[Any] = []
    for index, generator in enumerate(generators):
        noise = randn_tensor((1, *shape), generator=generator, device=device, dtype=dtype)
        if settings.variation_seed is not None and settings.strength > 0:
            sub_generator = torch.Generator(device=generator.device).manual_seed(
                (settings.variation_seed + index) % _SEED_MODULUS
            )
            sub = randn_tensor((1, *shape), generator=sub_generator, device=device, dtype=dtype)
            noise = slerp(settings.strength, noise[0], sub[0]).unsqueeze(0)
        samples.append(noise)
    if settings.ensd:
        generators = [
            torch.Generator(device=generator.device).manual_seed(
                (seed + index + settings.ensd) % _SEED_MODULUS
            )
            for index, generator in enumerate(generators)
        ]
    return torch.cat(samples), generators
