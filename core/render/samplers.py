"""A1111 sampler names mapped to diffusers schedulers (after diffusers' own A1111 correspondence table).

Schedulers are always built with ``Scheduler.from_config(checkpoint_config, **overrides)`` so the
checkpoint's training schedule (betas, prediction type, timestep offset) is kept and only the sampling
algorithm changes. Some schedulers need optional packages (LMS needs scipy, the SDE sampler torchsde);
diffusers then exports a placeholder class, which we detect so the user gets a clear error instead of a
crash mid-render. A1111's "DPM++ 2S a" has no diffusers counterpart and is not offered.

diffusers is imported inside functions only: importing this module must not import torch.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.render.recipe import Sampler


@dataclass(frozen=True, slots=True)
class SchedulerSpec:
    """A diffusers scheduler class name and the config overrides that make it behave like the sampler."""

    class_name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)


_K = {"use_karras_sigmas": True}
_NOT_K = {"use_karras_sigmas": False}  # a checkpoint config may ship Karras on; the plain name means off
_2M = {"algorithm_type": "dpmsolver++", "solver_order": 2}  # explicit: checkpoint configs vary

SCHEDULERS: dict[Sampler, SchedulerSpec] = {
    Sampler.EULER_A: SchedulerSpec("EulerAncestralDiscreteScheduler"),
    Sampler.EULER: SchedulerSpec("EulerDiscreteScheduler", _NOT_K),
    Sampler.LMS: SchedulerSpec("LMSDiscreteScheduler", _NOT_K),
    Sampler.LMS_KARRAS: SchedulerSpec("LMSDiscreteScheduler", _K),
    Sampler.HEUN: SchedulerSpec("HeunDiscreteScheduler", _NOT_K),
    Sampler.DPM2: SchedulerSpec("KDPM2DiscreteScheduler", _NOT_K),
    Sampler.DPM2_KARRAS: SchedulerSpec("KDPM2DiscreteScheduler", _K),
    Sampler.DPM2_A: SchedulerSpec("KDPM2AncestralDiscreteScheduler", _NOT_K),
    Sampler.DPM2_A_KARRAS: SchedulerSpec("KDPM2AncestralDiscreteScheduler", _K),
    Sampler.DPMPP_2M: SchedulerSpec("DPMSolverMultistepScheduler", {**_2M, **_NOT_K}),
    Sampler.DPMPP_2M_KARRAS: SchedulerSpec("DPMSolverMultistepScheduler", {**_2M, **_K}),
    Sampler.DPMPP_2M_SDE: SchedulerSpec(
        "DPMSolverMultistepScheduler", {**_2M, "algorithm_type": "sde-dpmsolver++", **_NOT_K}
    ),
    Sampler.DPMPP_2M_SDE_KARRAS: SchedulerSpec(
        "DPMSolverMultistepScheduler", {**_2M, "algorithm_type": "sde-dpmsolver++", **_K}
    ),
    Sampler.DDIM: SchedulerSpec("DDIMScheduler"),
    Sampler.PLMS: SchedulerSpec("PNDMScheduler", {"skip_prk_steps": True}),
    Sampler.UNIPC: SchedulerSpec("UniPCMultistepScheduler", _NOT_K),
}

# DPM++ SDE is the stochastic DPMSolverSDEScheduler, which needs torchsde; without it the singlestep
# DPM-Solver++ is the closest deterministic stand-in.
_SDE = SchedulerSpec("DPMSolverSDEScheduler", _NOT_K)
_SDE_KARRAS = SchedulerSpec("DPMSolverSDEScheduler", _K)
_SDE_FALLBACK = SchedulerSpec("DPMSolverSinglestepScheduler", _NOT_K)
_SDE_FALLBACK_KARRAS = SchedulerSpec("DPMSolverSinglestepScheduler", _K)


def _has_torchsde() -> bool:
    return importlib.util.find_spec("torchsde") is not None


def scheduler_spec(sampler: Sampler) -> SchedulerSpec | None:
    """The scheduler used for ``sampler``, or None when diffusers has no counterpart."""
    if sampler is Sampler.DPMPP_SDE:
        return _SDE if _has_torchsde() else _SDE_FALLBACK
    if sampler is Sampler.DPMPP_SDE_KARRAS:
        return _SDE_KARRAS if _has_torchsde() else _SDE_FALLBACK_KARRAS
    return SCHEDULERS.get(sampler)


def _scheduler_class(class_name: str) -> Any:
    """The diffusers class, or None when it is a placeholder for a missing optional dependency."""
    import diffusers

    cls = getattr(diffusers, class_name, None)
    if cls is None or cls.__module__.startswith("diffusers.utils.dummy_"):
        return None
    return cls


def unavailable_reason(sampler: Sampler) -> str | None:
    """Why ``sampler`` cannot be used here (None when it can), for messages and ``supports()``."""
    spec = scheduler_spec(sampler)
    if spec is None:
        return f"sampler {sampler.value!r} has no diffusers equivalent"
    if _scheduler_class(spec.class_name) is None:
        needs = "scipy" if spec.class_name.startswith("LMS") else "an optional package"
        return f"sampler {sampler.value!r} needs {needs} ({spec.class_name} is unavailable)"
    return None


def supported_samplers() -> list[Sampler]:
    """The samplers that can be used with the installed packages, in A1111's order."""
    return [sampler for sampler in Sampler if unavailable_reason(sampler) is None]


def make_scheduler(sampler: Sampler, base_config: Mapping[str, Any]) -> Any:
    """A new diffusers scheduler for ``sampler`` built from the checkpoint's scheduler config.

    ``base_config`` is ``pipe.scheduler.config`` as loaded with the checkpoint (keep the original: a
    config of an earlier override would carry e.g. ``algorithm_type`` over). Raises ValueError naming
    the supported samplers when ``sampler`` cannot be used. Returns a diffusers ``SchedulerMixin``
    (typed Any: diffusers is not typed).
    """
    reason = unavailable_reason(sampler)
    spec = scheduler_spec(sampler)
    if reason is not None or spec is None:
        names = ", ".join(s.value for s in supported_samplers())
        raise ValueError(f"{reason}; supported samplers: {names}")
    cls = _scheduler_class(spec.class_name)
    return cls.from_config(dict(base_config), **spec.overrides)
