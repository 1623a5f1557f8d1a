"""Flow-matching checkpoints (Flux, SD3.5, Qwen-Image, Z-Image, Chroma) sample Forge's and ComfyUI's sigmas.

The expected sequences are written out here in plain Python from the published code's formulas:
ComfyUI's ``ModelSamplingFlux`` (``flux_time_shift(mu, 1, t)``, 10,000 points) and
``ModelSamplingDiscreteFlow`` (``shift*t / (1 + (shift - 1)*t)``, 1,000 points), its ``simple_scheduler``
and ``normal_scheduler``, Forge's (A1111 1.10's) ``sd_schedulers.py`` over that table, and k-diffusion's
``get_sigmas_*``. They are compared with the sigmas of the scheduler :func:`make_scheduler` builds from
the Flux and SD3 configs Atelier ships, after the ``set_timesteps`` call diffusers' own pipelines make.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import pytest
import torch
from scipy import stats

from core.render.configs import RESOURCES_CONFIG_ROOT
from core.render.recipe import SCHEDULE_TYPES, Sampler
from core.render.samplers import (
    FLOW_ARCHITECTURES,
    SamplerUnavailableError,
    effective_schedule,
    flow_shift,
    is_flow_config,
    make_scheduler,
    refusal,
    supported_samplers,
    supported_schedules,
)
from core.taxonomy import Architecture


def _config(family: str) -> dict[str, Any]:
    path = RESOURCES_CONFIG_ROOT / family / "scheduler" / "scheduler_config.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


FLUX = _config("flux1")
SD3 = _config("sd3")
SD1 = _config("sd1")
MU_1024 = 1.15  # diffusers' calculate_shift for 1024x1024 (4,096 tokens) with Flux's config


# --- ComfyUI / Forge, written out independently --------------------------------------------------


def flux_time_shift(mu: float, t: float) -> float:
    return math.exp(mu) / (math.exp(mu) + (1 / t - 1))


@functools.cache
def flux_table(mu: float) -> list[float]:
    return [flux_time_shift(mu, k / 10000) for k in range(1, 10001)]


def sd3_sigma(shift: float, t: float) -> float:
    return shift * t / (1 + (shift - 1) * t)


def sd3_table(shift: float) -> list[float]:
    return [sd3_sigma(shift, k / 1000) for k in range(1, 1001)]


def _linspace(a: float, b: float, n: int) -> list[float]:
    return [a] if n == 1 else [a + (b - a) * i / (n - 1) for i in range(n)]


def expected(schedule: str, n: int, table: list[float], sigma_of: Any) -> list[float]:
    """``schedule``'s sigmas over a flow model's ``table``; ``sigma_of`` maps unshifted flow time."""
    smin, smax = table[0], table[-1]
    size = len(table)
    if schedule == "Simple":
        return [table[-(1 + int(x * size / n))] for x in range(n)] + [0.0]
    if schedule == "Normal":
        return [sigma_of(t) for t in _linspace(smax, smin, n)] + [0.0]
    if schedule == "SGM Uniform":
        return [sigma_of(t) for t in _linspace(smax, smin, n + 1)[:-1]] + [0.0]
    if schedule == "Uniform":  # k-diffusion DiscreteSchedule.get_sigmas over the table

        def t_to_sigma(t: float) -> float:
            low, high = math.floor(t), math.ceil(t)
            w = t - low
            return math.exp((1 - w) * math.log(table[low]) + w * math.log(table[high]))

        return [t_to_sigma(t) for t in _linspace(size - 1, 0, n)] + [0.0]
    if schedule == "Karras":
        lo, hi = smin ** (1 / 7), smax ** (1 / 7)
        return [(hi + r * (lo - hi)) ** 7 for r in _linspace(0, 1, n)] + [0.0]
    if schedule in ("Exponential", "Polyexponential"):
        return [math.exp(x) for x in _linspace(math.log(smax), math.log(smin), n)] + [0.0]
    if schedule == "KL Optimal":
        a_min, a_max = math.atan(smin), math.atan(smax)
        return [math.tan(i / n * a_min + (1 - i / n) * a_max) for i in range(n + 1)]
    if schedule == "DDIM":
        stride = max(size // n, 1)
        return [*[table[x] for x in range(1, size, stride)][::-1], 0.0]
    if schedule == "Beta":
        return [smin + stats.beta.ppf(1 - x, 0.6, 0.6) * (smax - smin) for x in _linspace(0, 1, n)] + [0.0]
    raise AssertionError(schedule)


def _distinct(values: list[float]) -> list[float]:
    out: list[float] = []
    for value in values:
        if not out or abs(out[-1] - value) > 1e-7:
            out.append(value)
    return out


def _close(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all(
        abs(g - w) <= 2e-5 + 1e-4 * w for g, w in zip(got, want, strict=True)
    )


def _flux_pipeline_call(scheduler: Any, steps: int, mu: float = MU_1024) -> list[float]:
    """What FluxPipeline / QwenImagePipeline / ZImagePipeline ask of their scheduler."""
    scheduler.set_timesteps(sigmas=_linspace(1.0, 1 / steps, steps), device="cpu", mu=mu)
    return [float(s) for s in scheduler.sigmas]


FLOW_SCHEDULES = [s for s in SCHEDULE_TYPES if s not in ("Automatic", "Align Your Steps")]


@pytest.mark.parametrize("schedule", FLOW_SCHEDULES)
@pytest.mark.parametrize("steps", [7, 20])
def test_flux_sigmas_are_forge_and_comfyuis(schedule: str, steps: int) -> None:
    table = flux_table(MU_1024)
    want = expected(schedule, steps, table, lambda t: flux_time_shift(MU_1024, t))
    got = _flux_pipeline_call(make_scheduler("Euler", FLUX, schedule), steps)
    assert _close(got, want), (got, want)


@pytest.mark.parametrize("schedule", FLOW_SCHEDULES)
def test_sd3_sigmas_are_forge_and_comfyuis(schedule: str) -> None:
    table = sd3_table(3.0)
    want = expected(schedule, 9, table, lambda t: sd3_sigma(3.0, t))
    scheduler = make_scheduler("Euler", SD3, schedule)
    scheduler.set_timesteps(9, device="cpu")  # StableDiffusion3Pipeline passes the step count alone
    got = [float(s) for s in scheduler.sigmas]
    assert _close(got, want), (got, want)


@pytest.mark.parametrize("sampler", ["Euler", "Heun", "DPM++ 2M"])
@pytest.mark.parametrize("schedule", ["Simple", "Beta", "Karras", "SGM Uniform"])
def test_every_flow_sampler_steps_through_the_same_sigmas(sampler: str, schedule: str) -> None:
    table = flux_table(MU_1024)
    want = expected(schedule, 8, table, lambda t: flux_time_shift(MU_1024, t))
    scheduler = make_scheduler(sampler, FLUX, schedule)
    got = _distinct(_flux_pipeline_call(scheduler, 8))
    assert _close(got, want), (got, want)
    times = _distinct([float(t) for t in scheduler.timesteps])
    assert _close(times, [1000 * s for s in want[:-1]])  # flow time x 1000, as floats


def test_euler_simple_is_what_diffusers_flux_pipeline_samples_by_itself() -> None:
    from diffusers import FlowMatchEulerDiscreteScheduler

    own = FlowMatchEulerDiscreteScheduler.from_config(FLUX)
    for steps in (4, 20, 25):  # steps that divide the 10,000-point table: the same flow times
        want = _flux_pipeline_call(own, steps)
        got = _flux_pipeline_call(make_scheduler("Euler", FLUX, "Automatic"), steps)
        assert _close(got, want)
    # otherwise Simple picks the table entry below each flow time: within the table's 1/10,000 step
    want = _flux_pipeline_call(own, 28)
    got = _flux_pipeline_call(make_scheduler("Euler", FLUX, "Automatic"), 28)
    assert max(abs(g - w) for g, w in zip(got, want, strict=True)) < 5e-4
    assert not _close(got, want)


def test_dynamic_shift_follows_the_pipelines_mu_for_the_image_size() -> None:
    scheduler = make_scheduler("Euler", FLUX, "Simple")
    small = _flux_pipeline_call(scheduler, 6, mu=0.7)
    want = expected("Simple", 6, flux_table(0.7), None)
    assert _close(small, want)
    assert not _close(small, _flux_pipeline_call(make_scheduler("Euler", FLUX, "Simple"), 6, mu=1.15))


@pytest.mark.parametrize("shift", [1.0, 3.0, 6.0])
def test_the_recipes_shift_replaces_the_models_own(shift: float) -> None:
    want = expected("Normal", 10, sd3_table(shift), lambda t: sd3_sigma(shift, t))
    sd3 = make_scheduler("Euler", SD3, "Normal", shift=shift)
    sd3.set_timesteps(10)
    assert _close([float(s) for s in sd3.sigmas], want)
    # on a dynamically shifted model it wins over the size's mu; the table is Flux's 10,000 points
    want = expected("Simple", 10, [sd3_sigma(shift, k / 10000) for k in range(1, 10001)], None)
    assert _close(_flux_pipeline_call(make_scheduler("Euler", FLUX, "Simple", shift=shift), 10), want)


def test_the_models_own_shift() -> None:
    assert flow_shift(SD3) == 3.0
    assert flow_shift(_config("flux1_schnell")) == 1.0
    assert flow_shift(FLUX, mu=0.5) == pytest.approx(math.exp(0.5))
    assert flow_shift(FLUX) == pytest.approx(math.exp(1.15))  # no size known: Forge's fixed Flux shift
    assert flow_shift({**FLUX, "time_shift_type": "linear"}, mu=2.0) == 2.0
    assert flow_shift(FLUX, 4.0, mu=0.5) == 4.0


def test_flow_is_decided_from_the_config_not_the_family() -> None:
    assert is_flow_config(FLUX)
    assert is_flow_config(SD3)
    assert is_flow_config(
        {"_class_name": "DPMSolverMultistepScheduler", "prediction_type": "flow_prediction"}
    )
    assert not is_flow_config(SD1)
    assert type(make_scheduler("Euler", SD1, "Simple")).__mro__[1].__name__ == "EulerDiscreteScheduler"
    assert (
        type(make_scheduler("Euler", FLUX, "Simple")).__mro__[1].__name__ == "FlowMatchEulerDiscreteScheduler"
    )
    assert make_scheduler("DPM++ 2M", FLUX).config.prediction_type == "flow_prediction"
    assert {
        Architecture.FLUX1,
        Architecture.SD3,
        Architecture.CHROMA,
        Architecture.QWEN_IMAGE,
    } <= FLOW_ARCHITECTURES
    assert Architecture.SDXL not in FLOW_ARCHITECTURES


@pytest.mark.parametrize("sampler", ["Euler", "Heun", "DPM++ 2M"])
@pytest.mark.parametrize("schedule", ["Simple", "Karras", "Beta", "Normal"])
def test_a_true_velocity_lands_on_the_image(sampler: str, schedule: str) -> None:
    """With the exact flow velocity (noise - image) every solver ends on the image: the update rules
    really are flow matching's, and the pipelines' step loop runs to the end."""
    image = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    noise = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(2))
    scheduler = make_scheduler(sampler, FLUX, schedule)
    scheduler.set_timesteps(sigmas=_linspace(1.0, 1 / 6, 6), device="cpu", mu=MU_1024)
    latents = noise.clone()
    for t in scheduler.timesteps:
        latents = scheduler.step(noise - image, t, latents, return_dict=False)[0]
    assert torch.allclose(latents, image, atol=1e-4)


def test_img2img_noises_to_the_first_sigma() -> None:
    """Flux img2img (and the hires pass) asks the scheduler for ``scale_noise`` at its start."""
    for sampler in ("Euler", "Heun", "DPM++ 2M"):
        scheduler = make_scheduler(sampler, FLUX, "Simple")
        scheduler.set_timesteps(sigmas=_linspace(1.0, 1 / 4, 4), device="cpu", mu=MU_1024)
        scheduler.set_begin_index(2 * scheduler.order if sampler == "Heun" else 2)
        start = scheduler.timesteps[2 * scheduler.order if sampler == "Heun" else 2]
        sigma = float(start) / 1000
        image, noise = torch.ones(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)
        noised = scheduler.scale_noise(image, start.reshape(1), noise)
        assert torch.allclose(noised, torch.full_like(image, 1 - sigma), atol=1e-5), sampler


# --- what renders, what is refused ----------------------------------------------------------------


def test_flow_matrix() -> None:
    assert supported_samplers(flow=True) == ["DPM++ 2M", "Euler", "Heun"]
    assert supported_schedules("Euler", flow=True) == [s for s in SCHEDULE_TYPES if s != "Align Your Steps"]
    assert effective_schedule("Euler", "Automatic", flow=True) == "Simple"
    assert effective_schedule("Heun", "Automatic", flow=True) == "Simple"
    assert effective_schedule("DPM++ 2M", "Automatic", flow=True) == "Karras"
    assert (
        effective_schedule("Euler", "Automatic") is None
        or effective_schedule("Euler", "Automatic") == "Uniform"
    )


@pytest.mark.parametrize(
    ("sampler", "why"),
    [
        ("Euler a", "would not follow the seed"),
        ("DPM++ 2M SDE", "would not follow the seed"),
        ("DDIM", "noise-predicting checkpoints"),
        ("LCM", "LCM-distilled SD checkpoints"),
        ("[Forge] Flux Realistic", "compiled add-on"),
        ("Restart", "no Restart sampler"),
        ("my_sampler", "not a sampler Atelier knows"),
    ],
)
def test_a_sampler_a_flow_model_cannot_run_is_refused_by_name(sampler: str, why: str) -> None:
    message = refusal(sampler, "Simple", flow=True)
    assert message is not None
    assert message.startswith(f"Atelier cannot render a flow-matching model with sampler {sampler!r} (")
    assert why in message
    assert message.endswith("choose one of: DPM++ 2M, Euler, Heun")
    with pytest.raises(SamplerUnavailableError, match="flow-matching model with sampler"):
        make_scheduler(sampler, FLUX, "Simple")


def test_align_your_steps_is_refused_for_a_flow_model_only() -> None:
    message = refusal("Euler", "Align Your Steps", flow=True)
    assert message is not None
    assert "schedule type 'Align Your Steps'" in message
    assert "choose one of: Automatic, Uniform, Karras" in message
    assert refusal("Euler", "Align Your Steps") is None
    with pytest.raises(SamplerUnavailableError, match="Align Your Steps"):
        make_scheduler("Euler", SD3, "Align Your Steps")


def test_comfyui_spellings_render_the_same() -> None:
    from core.render.recipe import split_sampler

    assert split_sampler("euler", "simple") == ("Euler", "Simple")
    assert split_sampler("dpmpp_2m", "sgm_uniform") == ("DPM++ 2M", "SGM Uniform")
    assert split_sampler("heun", "beta") == ("Heun", "Beta")
    assert Sampler.known("[Forge] Flux Realistic") == "[Forge] Flux Realistic"
