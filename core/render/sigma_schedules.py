"""The noise levels A1111's schedule types give a sampler, computed from a checkpoint's training schedule.

A1111 (1.9+) and Forge let the user pick a "Schedule type" separately from the sampler; each one is a
function from the step count to a descending list of sigmas ending in 0 (KL Optimal ends at the
smallest training sigma instead). These are the same formulas as k-diffusion's ``get_sigmas_*`` and
A1111's ``modules/sd_schedulers.py``, written over numpy so a diffusers scheduler can be handed the exact
sequence A1111 would sample (see :mod:`core.render.samplers`). numpy only: no torch, no scipy.

The "inner model" of A1111 is k-diffusion's discrete denoiser: its sigmas are
``sqrt((1 - alphas_cumprod) / alphas_cumprod)`` for t = 0..999, ``t_to_sigma`` interpolates log-sigma
linearly between integer timesteps, and ``sigma_min`` / ``sigma_max`` are the first and last of them.

Flow-matching models (Flux, SD3.5, Qwen-Image, Z-Image, Chroma) have no betas: their "sigma" is flow
time, from 1 (pure noise) to 0, bent by a shift ``s``: ``sigma(u) = s*u / (1 + (s - 1)*u)``. Forge and
ComfyUI give such a model a table of sigmas at u = k/N (k = 1..N; N = 10,000 for the Flux family's
resolution-shifted models, 1,000 for SD3's fixed shift) and run the same schedule functions over it:
:class:`FlowModel` is that table, so "Simple", "Karras", "Beta"... mean for a flow model what they mean
in Forge and ComfyUI. Normal and SGM Uniform space the timesteps evenly in unshifted flow time and shift
them, as ComfyUI's ``ModelSamplingDiscreteFlow`` / ``ModelSamplingFlux`` (and Forge's SD3.5) do.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from core.render.recipe import AUTOMATIC, SCHEDULE_TYPES, canonical_schedule

__all__ = [
    "AUTOMATIC",
    "SCHEDULE_TYPES",
    "FlowModel",
    "canonical_schedule",
    "model_sigmas",
    "schedule_sigmas",
]

Floats = npt.NDArray[np.float64]

# Align Your Steps, NVIDIA's published 10-step sigmas (A1111 get_align_your_steps_sigmas).
_AYS_SD1 = (14.615, 6.475, 3.861, 2.697, 1.886, 1.396, 0.963, 0.652, 0.399, 0.152, 0.029)
_AYS_SDXL = (14.615, 6.315, 3.771, 2.181, 1.342, 0.862, 0.555, 0.380, 0.234, 0.113, 0.029)

BETA_ALPHA = 0.6  # A1111's defaults for opts.beta_dist_alpha / beta_dist_beta
BETA_BETA = 0.6


class DiscreteModel:
    """k-diffusion's view of a discrete-time checkpoint: its 1000 sigmas and t <-> sigma conversions."""

    def __init__(self, alphas_cumprod: npt.ArrayLike) -> None:
        alphas = np.asarray(alphas_cumprod, dtype=np.float64)
        self.sigmas: Floats = np.sqrt((1.0 - alphas) / alphas)
        self.log_sigmas: Floats = np.log(self.sigmas)

    @property
    def sigma_min(self) -> float:
        return float(self.sigmas[0])

    @property
    def sigma_max(self) -> float:
        return float(self.sigmas[-1])

    def t_to_sigma(self, t: npt.ArrayLike) -> Floats:
        t = np.asarray(t, dtype=np.float64)
        low = np.floor(t).astype(np.int64)
        high = np.ceil(t).astype(np.int64)
        w = t - low
        return np.exp((1.0 - w) * self.log_sigmas[low] + w * self.log_sigmas[high])  # type: ignore[no-any-return]

    def sigma_to_t(self, sigma: float) -> float:
        log_sigma = math.log(sigma)
        dists = log_sigma - self.log_sigmas
        low = int(np.clip(np.cumsum(dists >= 0).argmax(), 0, len(self.log_sigmas) - 2))
        high = low + 1
        low_v, high_v = self.log_sigmas[low], self.log_sigmas[high]
        w = float(np.clip((low_v - log_sigma) / (low_v - high_v), 0.0, 1.0))
        return (1.0 - w) * low + w * high

    def timestep(self, sigma: float) -> float:
        """The model's timestep for ``sigma``, as the Normal and SGM Uniform schedules space them."""
        return self.sigma_to_t(sigma)

    def sigma_at(self, timesteps: npt.ArrayLike) -> Floats:
        """The sigmas at ``timesteps`` (the inverse of :meth:`timestep`)."""
        return self.t_to_sigma(timesteps)


def time_shift(shift: float, u: npt.ArrayLike) -> Floats:
    """Flow time ``u`` shifted by ``shift``: SD3's ``s*u / (1 + (s - 1)*u)``.

    Flux's resolution-dependent ``exp(mu) / (exp(mu) + 1/u - 1)`` is the same curve with s = exp(mu).
    """
    values = np.asarray(u, dtype=np.float64)
    return shift * values / (1.0 + (shift - 1.0) * values)


class FlowModel(DiscreteModel):
    """A flow-matching model's sigma table as Forge and ComfyUI build it: ``time_shift(s, k/N)``, k = 1..N.

    Table lookups (Uniform, Simple, DDIM, sigma_min/max) work as for a discrete model; a timestep is the
    unshifted flow time itself, so Normal and SGM Uniform shift evenly spaced flow times.
    """

    def __init__(self, shift: float, points: int = 1000) -> None:
        if not shift > 0 or points < 2:
            raise ValueError(f"a flow model needs a positive shift and a table, not {shift!r}, {points!r}")
        self.shift = float(shift)
        self.sigmas = time_shift(self.shift, np.arange(1, points + 1, dtype=np.float64) / points)
        self.log_sigmas = np.log(self.sigmas)

    def timestep(self, sigma: float) -> float:
        return float(sigma)

    def sigma_at(self, timesteps: npt.ArrayLike) -> Floats:
        return time_shift(self.shift, timesteps)


def _append_zero(values: npt.ArrayLike) -> Floats:
    return np.append(np.asarray(values, dtype=np.float64), 0.0)


def _uniform(n: int, model: DiscreteModel) -> Floats:
    t = np.linspace(len(model.sigmas) - 1, 0, n)
    return _append_zero(model.t_to_sigma(t))


def _normal(n: int, model: DiscreteModel, *, sgm: bool = False) -> Floats:
    start, end = model.timestep(model.sigma_max), model.timestep(model.sigma_min)
    t = np.linspace(start, end, n + 1)[:-1] if sgm else np.linspace(start, end, n)
    return _append_zero(model.sigma_at(t))


def _karras(n: int, model: DiscreteModel, rho: float = 7.0) -> Floats:
    ramp = np.linspace(0, 1, n)
    min_inv, max_inv = model.sigma_min ** (1 / rho), model.sigma_max ** (1 / rho)
    return _append_zero((max_inv + ramp * (min_inv - max_inv)) ** rho)


def _exponential(n: int, model: DiscreteModel) -> Floats:
    return _append_zero(np.exp(np.linspace(math.log(model.sigma_max), math.log(model.sigma_min), n)))


def _polyexponential(n: int, model: DiscreteModel, rho: float = 1.0) -> Floats:
    ramp = np.linspace(1, 0, n) ** rho
    log_min, log_max = math.log(model.sigma_min), math.log(model.sigma_max)
    return _append_zero(np.exp(ramp * (log_max - log_min) + log_min))


def _kl_optimal(n: int, model: DiscreteModel) -> Floats:
    alpha_min, alpha_max = math.atan(model.sigma_min), math.atan(model.sigma_max)
    i = np.arange(n + 1) / n
    return np.tan(i * alpha_min + (1.0 - i) * alpha_max)


def _loglinear_interp(values: tuple[float, ...], count: int) -> Floats:
    xs = np.linspace(0, 1, len(values))
    ys = np.log(np.asarray(values[::-1]))
    return np.exp(np.interp(np.linspace(0, 1, count), xs, ys))[::-1].copy()  # type: ignore[no-any-return]


def _align_your_steps(n: int, sdxl: bool) -> Floats:
    base = _AYS_SDXL if sdxl else _AYS_SD1
    return _append_zero(base if n == len(base) else _loglinear_interp(base, n))


def _simple(n: int, model: DiscreteModel) -> Floats:
    stride = len(model.sigmas) / n
    return _append_zero([model.sigmas[-(1 + int(x * stride))] for x in range(n)])


def _ddim(n: int, model: DiscreteModel) -> Floats:
    stride = max(len(model.sigmas) // n, 1)
    picked = [model.sigmas[x] for x in range(1, len(model.sigmas), stride)]
    return _append_zero(picked[::-1])


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def beta_cdf(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(a, b): the Beta(a, b) distribution's CDF."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, 1.0 - x) / b


def beta_ppf(q: float, a: float, b: float) -> float:
    """The inverse of :func:`beta_cdf` (scipy's ``stats.beta.ppf``), by bisection to float precision."""
    if q <= 0.0:
        return 0.0
    if q >= 1.0:
        return 1.0
    low, high = 0.0, 1.0
    for _ in range(200):
        mid = (low + high) / 2
        if beta_cdf(mid, a, b) < q:
            low = mid
        else:
            high = mid
        if high - low < 1e-16:
            break
    return (low + high) / 2


def _beta(n: int, model: DiscreteModel, alpha: float, beta: float) -> Floats:
    quantiles = [beta_ppf(float(q), alpha, beta) for q in 1 - np.linspace(0, 1, n)]
    spread = model.sigma_max - model.sigma_min
    return _append_zero([model.sigma_min + q * spread for q in quantiles])


def schedule_sigmas(
    schedule: str,
    steps: int,
    alphas_cumprod: npt.ArrayLike,
    *,
    sdxl: bool = False,
    discard_penultimate: bool = False,
    beta_alpha: float = BETA_ALPHA,
    beta_beta: float = BETA_BETA,
) -> Floats:
    """The sigmas A1111 samples for ``steps`` steps with ``schedule`` (a concrete label, not Automatic).

    ``discard_penultimate`` is A1111's option of DPM2, DPM2 a and DPM++ 3M SDE: one more step is
    scheduled and the next-to-last sigma dropped. Raises ValueError for an unknown schedule.
    """
    return model_sigmas(
        schedule,
        steps,
        DiscreteModel(alphas_cumprod),
        sdxl=sdxl,
        discard_penultimate=discard_penultimate,
        beta_alpha=beta_alpha,
        beta_beta=beta_beta,
    )


def model_sigmas(
    schedule: str,
    steps: int,
    model: DiscreteModel,
    *,
    sdxl: bool = False,
    discard_penultimate: bool = False,
    beta_alpha: float = BETA_ALPHA,
    beta_beta: float = BETA_BETA,
) -> Floats:
    """:func:`schedule_sigmas` over any model's table: a checkpoint's :class:`DiscreteModel` or a
    :class:`FlowModel`. Align Your Steps is NVIDIA's sigmas for SD1/SDXL, meaningless in flow time: a
    flow model refuses it (ValueError)."""
    if isinstance(model, FlowModel) and schedule == "Align Your Steps":
        raise ValueError("Align Your Steps has sigmas for SD1 and SDXL only, not for flow-matching models")
    n = steps + 1 if discard_penultimate else steps
    functions: dict[str, Callable[[], Floats]] = {
        "Uniform": lambda: _uniform(n, model),
        "Normal": lambda: _normal(n, model),
        "SGM Uniform": lambda: _normal(n, model, sgm=True),
        "Karras": lambda: _karras(n, model),
        "Exponential": lambda: _exponential(n, model),
        "Polyexponential": lambda: _polyexponential(n, model),
        "KL Optimal": lambda: _kl_optimal(n, model),
        "Align Your Steps": lambda: _align_your_steps(n, sdxl),
        "Simple": lambda: _simple(n, model),
        "DDIM": lambda: _ddim(n, model),
        "Beta": lambda: _beta(n, model, beta_alpha, beta_beta),
    }
    function = functions.get(schedule)
    if function is None:
        raise ValueError(f"no sigma formula for schedule type {schedule!r}")
    sigmas = function()
    if discard_penultimate:
        sigmas = np.concatenate([sigmas[:-2], sigmas[-1:]])
    return sigmas
