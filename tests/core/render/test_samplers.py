"""A1111 samplers and schedule types give diffusers schedulers that sample A1111's own noise levels.

The expected sequences are computed here, in plain Python, from the published formulas (k-diffusion's
get_sigmas_karras / _exponential / _polyexponential and DiscreteSchedule.t_to_sigma, A1111 1.10's
sd_schedulers.py), and compared with the sigmas the diffusers scheduler built from the SD1 config that
Atelier ships actually produces after ``set_timesteps``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.render.configs import RESOURCES_CONFIG_ROOT
from core.render.recipe import SCHEDULE_TYPES, Sampler
from core.render.samplers import (
    SamplerUnavailableError,
    beta_parameters,
    effective_schedule,
    make_scheduler,
    refusal,
    supported_samplers,
    supported_schedules,
    unavailable_reason,
)
from core.render.sigma_schedules import beta_cdf, beta_ppf

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def sd1_config() -> dict[str, Any]:
    path = RESOURCES_CONFIG_ROOT / "sd1" / "scheduler" / "scheduler_config.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# --- A1111 / k-diffusion, written out independently -----------------------------------------------


def _train_sigmas() -> list[float]:
    """SD1's scaled_linear betas (0.00085..0.012) as k-diffusion's CompVisDenoiser sigmas."""
    start, end = math.sqrt(0.00085), math.sqrt(0.012)
    sigmas, product = [], 1.0
    for i in range(1000):
        beta = (start + (end - start) * i / 999) ** 2
        product *= 1 - beta
        sigmas.append(math.sqrt((1 - product) / product))
    return sigmas


SIGMAS = _train_sigmas()
SMIN, SMAX = SIGMAS[0], SIGMAS[-1]


def _linspace(a: float, b: float, n: int) -> list[float]:
    return [a] if n == 1 else [a + (b - a) * i / (n - 1) for i in range(n)]


def _t_to_sigma(t: float) -> float:
    low, high = math.floor(t), math.ceil(t)
    w = t - low
    return math.exp((1 - w) * math.log(SIGMAS[low]) + w * math.log(SIGMAS[high]))


def expected(schedule: str, n: int) -> list[float]:
    if schedule in ("Uniform", "Normal"):
        return [_t_to_sigma(t) for t in _linspace(999, 0, n)] + [0.0]
    if schedule == "SGM Uniform":
        return [_t_to_sigma(t) for t in _linspace(999, 0, n + 1)[:-1]] + [0.0]
    if schedule == "Karras":
        rho = 7.0
        lo, hi = SMIN ** (1 / rho), SMAX ** (1 / rho)
        return [(hi + r * (lo - hi)) ** rho for r in _linspace(0, 1, n)] + [0.0]
    if schedule == "Exponential":
        return [math.exp(x) for x in _linspace(math.log(SMAX), math.log(SMIN), n)] + [0.0]
    if schedule == "Polyexponential":  # rho 1: the same curve as Exponential
        return [
            math.exp(r * (math.log(SMAX) - math.log(SMIN)) + math.log(SMIN)) for r in _linspace(1, 0, n)
        ] + [0.0]
    if schedule == "KL Optimal":
        a_min, a_max = math.atan(SMIN), math.atan(SMAX)
        return [math.tan(i / n * a_min + (1 - i / n) * a_max) for i in range(n + 1)]
    if schedule == "Simple":
        return [SIGMAS[-(1 + int(x * 1000 / n))] for x in range(n)] + [0.0]
    if schedule == "DDIM":
        step = max(1000 // n, 1)
        return [*[SIGMAS[x] for x in range(1, 1000, step)][::-1], 0.0]
    if schedule == "Align Your Steps":
        base = [14.615, 6.475, 3.861, 2.697, 1.886, 1.396, 0.963, 0.652, 0.399, 0.152, 0.029]
        if n == len(base):
            return [*base, 0.0]
        logs = [math.log(v) for v in base[::-1]]
        out = []
        for x in _linspace(0, 1, n):
            pos = x * (len(base) - 1)
            i = min(int(pos), len(base) - 2)
            out.append(math.exp(logs[i] + (pos - i) * (logs[i + 1] - logs[i])))
        return [*out[::-1], 0.0]
    if schedule == "Beta":  # quantiles of Beta(0.6, 0.6) by bisection on its CDF

        def ppf(q: float) -> float:
            lo, hi = 0.0, 1.0
            for _ in range(100):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if beta_cdf(mid, 0.6, 0.6) < q else (lo, mid)
            return lo

        return [SMIN + ppf(1 - x) * (SMAX - SMIN) for x in _linspace(0, 1, n)] + [0.0]
    raise AssertionError(schedule)


def _distinct(values: list[float]) -> list[float]:
    """Heun and DPM2 repeat or interleave sigmas; keep the schedule's own points."""
    out: list[float] = []
    for value in values:
        if not out or abs(out[-1] - value) > 1e-6 * max(1.0, value):
            out.append(value)
    return out


def _close(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all(
        abs(g - w) <= 2e-4 * max(1.0, w) for g, w in zip(got, want, strict=True)
    )


# --- sequences ------------------------------------------------------------------------------------

SIGMA_SAMPLERS = ["DPM++ 2M", "DPM++ 2M SDE", "DPM++ 2M SDE Heun", "Euler", "Euler a", "Heun"]
HOOK_SCHEDULES = [s for s in SCHEDULE_TYPES if s not in ("Automatic", "KL Optimal", "DDIM")]


@pytest.mark.parametrize("sampler", SIGMA_SAMPLERS)
@pytest.mark.parametrize("schedule", HOOK_SCHEDULES)
@pytest.mark.parametrize("steps", [7, 11])
def test_sigmas_are_a1111s(sampler: str, schedule: str, steps: int, sd1_config: dict[str, Any]) -> None:
    scheduler = make_scheduler(sampler, sd1_config, schedule)
    scheduler.set_timesteps(steps)
    got = [float(v) for v in scheduler.sigmas]
    if sampler == "Heun":
        got = _distinct(got)
    assert _close(got, expected(schedule, steps)), (got, expected(schedule, steps))


@pytest.mark.parametrize("schedule", ["KL Optimal", "DDIM"])
@pytest.mark.parametrize("sampler", ["Euler", "Euler a"])
def test_euler_takes_sequences_of_any_length_and_end(
    sampler: str, schedule: str, sd1_config: dict[str, Any]
) -> None:
    scheduler = make_scheduler(sampler, sd1_config, schedule)
    scheduler.set_timesteps(30)  # DDIM's stride of 33 gives 31 steps in A1111 too
    want = expected(schedule, 30)
    assert _close([float(v) for v in scheduler.sigmas], want)
    assert len(scheduler.timesteps) == len(want) - 1


def test_discard_penultimate_sigma_of_dpm2(sd1_config: dict[str, Any]) -> None:
    """DPM2 schedules one step more and drops the next-to-last sigma, with Karras by default (A1111 1.10)."""
    scheduler = make_scheduler("DPM2", sd1_config, "Automatic")
    scheduler.set_timesteps(8)
    karras9 = expected("Karras", 9)
    main = [float(v) for v in scheduler.sigmas[::2]]  # KDPM2 interleaves its midpoints
    assert _close(main, karras9[:-2] + karras9[-1:])


def test_dpmpp_3m_sde_is_third_order_exponential_without_penultimate(sd1_config: dict[str, Any]) -> None:
    scheduler = make_scheduler("DPM++ 3M SDE", sd1_config)
    assert scheduler.config.solver_order == 3
    assert scheduler.config.algorithm_type == "sde-dpmsolver++"
    scheduler.set_timesteps(6)
    exp7 = expected("Exponential", 7)
    assert _close([float(v) for v in scheduler.sigmas], exp7[:-2] + exp7[-1:])


@pytest.mark.parametrize(
    ("sampler", "automatic"),
    [("DPM++ 2M", "Karras"), ("DPM++ 2M SDE", "Exponential"), ("DPM++ 3M SDE", "Exponential"),
     ("DPM2 a", "Karras"), ("Euler a", "Uniform"), ("Euler", "Uniform"), ("Heun", "Uniform"),
     ("DDIM", None), ("UniPC", None), ("PLMS", None)],
)  # fmt: skip
def test_automatic_is_the_samplers_a1111_default(sampler: str, automatic: str | None) -> None:
    assert effective_schedule(sampler, "Automatic") == automatic


def test_ddim_uses_a1111_timesteps_and_ignores_the_schedule(sd1_config: dict[str, Any]) -> None:
    """A1111's DDIM: timesteps 1, 1+c, ... with c = 1000 // steps; the schedule type does not apply."""
    trailing = {
        **sd1_config,
        "timestep_spacing": "trailing",
        "steps_offset": 0,
    }  # whatever the checkpoint says
    for schedule, config in (("Automatic", sd1_config), ("Karras", sd1_config), ("Automatic", trailing)):
        scheduler = make_scheduler("DDIM", config, schedule)
        scheduler.set_timesteps(7)
        assert [int(t) for t in scheduler.timesteps] == [853, 711, 569, 427, 285, 143, 1]


def test_unipc_is_a1111s_time_uniform_order_3_bh1(sd1_config: dict[str, Any]) -> None:
    scheduler = make_scheduler("UniPC", sd1_config)
    assert (scheduler.config.solver_order, scheduler.config.solver_type) == (3, "bh1")
    scheduler.set_timesteps(7)
    assert [int(t) for t in scheduler.timesteps] == [round(t) for t in _linspace(999, 0, 8)[:-1]]
    assert abs(float(scheduler.sigmas[-1]) - SMIN) < 1e-4  # A1111's UniPC stops at t_0 = 1/N, not at 0


@pytest.mark.parametrize("sampler", ["LCM", "DDPM"])
def test_k_diffusion_samplers_run_as_timesteps_step_through_the_schedule(
    sampler: str, sd1_config: dict[str, Any]
) -> None:
    """A1111's LCM and Forge's DDPM sample the schedule's sigmas: here, the timesteps they fall on."""
    scheduler = make_scheduler(sampler, sd1_config)
    scheduler.set_timesteps(4)
    assert [int(t) for t in scheduler.timesteps] == [999, 666, 333, 0]


def test_solver_settings(sd1_config: dict[str, Any]) -> None:
    heun = make_scheduler("DPM++ 2M SDE Heun", sd1_config)
    assert (heun.config.algorithm_type, heun.config.solver_type) == ("sde-dpmsolver++", "heun")
    assert make_scheduler("DPM++ 2M", sd1_config).config.algorithm_type == "dpmsolver++"
    config = {**sd1_config, "prediction_type": "v_prediction"}
    assert make_scheduler("Euler a", config).config.prediction_type == "v_prediction"


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", ["Restart", "DPM fast", "DPM adaptive", "DPM++ 2S a", "My Sampler"])
def test_unrunnable_sampler_is_refused_by_name(sampler: str, sd1_config: dict[str, Any]) -> None:
    with pytest.raises(SamplerUnavailableError) as info:
        make_scheduler(sampler, sd1_config)
    message = str(info.value)
    assert message.startswith(f"Atelier cannot render with sampler {sampler!r} yet")
    assert "choose one of: DPM++ 2M" in message
    assert "\n" not in message
    assert sampler not in supported_samplers()


def test_schedule_a_sampler_cannot_take_is_refused_naming_both(sd1_config: dict[str, Any]) -> None:
    message = refusal("DPM++ 2M", "KL Optimal")
    assert message is not None
    assert "'DPM++ 2M'" in message
    assert "'KL Optimal'" in message
    assert "choose one of: Automatic, Uniform, Karras" in message
    assert refusal("DPM++ 2M", "Sideways") is not None
    assert "KL Optimal" in supported_schedules("Euler")
    assert "KL Optimal" not in supported_schedules("DPM++ 2M")


def test_optional_packages_are_named() -> None:
    for sampler, package in (("LMS", "scipy"), ("DPM++ SDE", "torchsde")):
        reason = unavailable_reason(sampler)
        assert reason is None or package in reason


def test_every_known_name_is_either_runnable_or_refused_with_a_reason() -> None:
    for sampler in Sampler:
        reason = unavailable_reason(sampler.value)
        assert reason is None or reason.startswith(f"Atelier cannot render with sampler {sampler.value!r}")


def test_importing_render_modules_does_not_import_torch() -> None:
    modules = "core.render.engine, core.render.samplers, core.render.devices, core.render.png"
    checks = "core.render.samplers.refusal('Restart'); core.render.samplers.supported_schedules('DPM++ 2M')"
    code = f"import sys, {modules}; {checks}; print('torch' in sys.modules, 'diffusers' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False False"


@pytest.mark.parametrize("x", [0.01, 0.2, 0.5, 0.77, 0.999])
def test_beta_cdf_matches_closed_forms(x: float) -> None:
    """The Beta schedule's quantiles need scipy's beta.ppf; ours is checked where the CDF is known exactly."""
    assert abs(beta_cdf(x, 0.5, 0.5) - 2 / math.pi * math.asin(math.sqrt(x))) < 1e-12
    assert abs(beta_cdf(x, 1.0, 1.0) - x) < 1e-12
    assert abs(beta_cdf(x, 2.0, 1.0) - x * x) < 1e-12
    assert abs(beta_ppf(beta_cdf(x, 0.6, 0.6), 0.6, 0.6) - x) < 1e-9


def test_beta_schedule_takes_the_alpha_and_beta_the_infotext_names(sd1_config: dict[str, Any]) -> None:
    assert beta_parameters({"Beta schedule alpha": "0.5", "Beta schedule beta": "0.7"}) == (0.5, 0.7)
    assert beta_parameters({"Beta schedule alpha": "x"}) == (0.6, 0.6)
    scheduler = make_scheduler("Euler", sd1_config, "Beta", beta=(0.5, 0.5))
    scheduler.set_timesteps(5)
    quantiles = [math.sin(math.pi / 2 * (1 - i / 4)) ** 2 for i in range(5)]  # arcsine law inverse
    want = [SMIN + q * (SMAX - SMIN) for q in quantiles] + [0.0]
    assert _close([float(v) for v in scheduler.sigmas], want)


@pytest.mark.parametrize("sampler", ["DPM++ SDE", "LMS"])
@pytest.mark.parametrize("steps", [7, 11])
def test_samplers_with_optional_packages_follow_a1111s_sigmas(
    sampler: str, steps: int, sd1_config: dict[str, Any]
) -> None:
    """LMS (scipy) and DPM++ SDE (torchsde) are project dependencies: they run, on A1111's sequences."""
    assert unavailable_reason(sampler) is None
    schedules = [s for s in supported_schedules(sampler) if s in HOOK_SCHEDULES]
    assert "Karras" in schedules
    for schedule in schedules:
        scheduler = make_scheduler(sampler, sd1_config, schedule)
        scheduler.set_timesteps(steps)
        got = _distinct([float(v) for v in scheduler.sigmas])
        assert _close(got, expected(schedule, steps)), (sampler, schedule, got, expected(schedule, steps))
