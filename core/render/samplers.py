"""A1111 samplers and schedule types turned into diffusers schedulers that sample the same noise levels.

A recipe names a sampler and a schedule type as A1111 1.10 / Forge write them ("DPM++ 2M" +
"Karras"). Each runnable sampler maps to a diffusers scheduler class plus config overrides (the solver);
the schedule decides the sigmas. For the k-diffusion samplers the scheduler is handed the exact sigma
sequence A1111 computes (:mod:`core.render.sigma_schedules`), through the same hook diffusers uses for
its own Karras option, so "Exponential", "SGM Uniform", "Beta"... are A1111's, not approximations.
"Automatic" is the sampler's own default in A1111 1.10 (Karras for DPM++ 2M, Exponential for the SDE
samplers, the model's uniform timesteps for Euler...). DDIM, PLMS and UniPC are A1111 "timestep"
samplers: A1111 ignores the schedule type for them, and so does this.

A name Atelier cannot render (Restart, DPM fast, DPM adaptive, an unknown name...) stays in the recipe
and is refused by name before anything loads: it is never silently replaced by another sampler.
Schedulers are built with ``from_config(checkpoint_config, **overrides)`` so the checkpoint's training
schedule (betas, prediction type) is kept. diffusers is imported inside functions only.

Flow-matching checkpoints (Flux, SD3.5, Qwen-Image, Z-Image, Chroma: a scheduler config whose
``_class_name`` is a FlowMatch scheduler, or that predicts flow) sample in flow time. Forge renders them
with the same names: "Euler" + "Simple" is what diffusers' own pipelines do (exactly when the steps
divide the model's sigma table, else within its 1/10,000), and every A1111 schedule type but Align
Your Steps is the same function as in Forge over the model's flow sigma table
(:class:`core.render.sigma_schedules.FlowModel`), shifted by the recipe's Shift or the model's own
(its config's ``shift``, or the resolution-dependent ``mu`` the pipeline computes). Euler runs on
diffusers' FlowMatchEulerDiscreteScheduler, Heun on FlowMatchHeunDiscreteScheduler, DPM++ 2M on
DPMSolverMultistepScheduler in its flow-prediction form; the rest are refused by name for such a model.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.render.recipe import AUTOMATIC, SCHEDULE_TYPES, Sampler, canonical_schedule
from core.taxonomy import Architecture


class SamplerUnavailableError(ValueError):
    """The recipe's sampler or schedule cannot be rendered here; the message names it and the choices."""


@dataclass(frozen=True, slots=True)
class SchedulerSpec:
    """How one A1111 sampler is run with diffusers.

    ``default_schedule`` is what "Automatic" means for it in A1111 1.10; None marks a timestep sampler
    whose schedule A1111 ignores. ``discard_penultimate`` is A1111's option of that name (DPM2, DPM2 a,
    DPM++ 3M SDE). ``any_sigmas`` schedulers accept any sequence (also KL Optimal's, which ends above
    zero, and DDIM's, whose length differs from the steps). ``timesteps_only`` schedulers (LCM, DDPM) take
    the schedule as the integer timesteps its sigmas fall on, which is how diffusers' LCM is driven.
    """

    class_name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    default_schedule: str | None = "Uniform"
    discard_penultimate: bool = False
    any_sigmas: bool = False
    timesteps_only: bool = False
    needs: str | None = None


_2M = {"algorithm_type": "dpmsolver++", "solver_order": 2, "euler_at_final": True}
_SDE = {**_2M, "algorithm_type": "sde-dpmsolver++"}
# A1111's DDIM and PLMS step on ldm's "uniform" discretization: 1, 1 + c, ... with c = 1000 // steps.
_DDIM_STEPS = {"timestep_spacing": "leading", "steps_offset": 1}
# A1111's UniPC: order 3, variant bh1, time-uniform from t = 999 to the smallest training sigma.
_UNIPC = {
    "solver_order": 3,
    "solver_type": "bh1",
    "timestep_spacing": "linspace",
    "final_sigmas_type": "sigma_min",
}

SCHEDULERS: dict[str, SchedulerSpec] = {
    Sampler.DPMPP_2M: SchedulerSpec("DPMSolverMultistepScheduler", _2M, "Karras"),
    Sampler.DPMPP_SDE: SchedulerSpec("DPMSolverSDEScheduler", {}, "Karras", needs="torchsde"),
    Sampler.DPMPP_2M_SDE: SchedulerSpec("DPMSolverMultistepScheduler", _SDE, "Exponential"),
    Sampler.DPMPP_2M_SDE_HEUN: SchedulerSpec(
        "DPMSolverMultistepScheduler", {**_SDE, "solver_type": "heun"}, "Exponential"
    ),
    Sampler.DPMPP_3M_SDE: SchedulerSpec(
        "DPMSolverMultistepScheduler", {**_SDE, "solver_order": 3}, "Exponential", discard_penultimate=True
    ),
    Sampler.EULER_A: SchedulerSpec("EulerAncestralDiscreteScheduler", {}, any_sigmas=True),
    Sampler.EULER: SchedulerSpec("EulerDiscreteScheduler", {}, any_sigmas=True),
    Sampler.LMS: SchedulerSpec("LMSDiscreteScheduler", {}, needs="scipy"),
    Sampler.HEUN: SchedulerSpec("HeunDiscreteScheduler", {}),
    Sampler.DPM2: SchedulerSpec("KDPM2DiscreteScheduler", {}, "Karras", discard_penultimate=True),
    Sampler.DPM2_A: SchedulerSpec("KDPM2AncestralDiscreteScheduler", {}, "Karras", discard_penultimate=True),
    Sampler.DDIM: SchedulerSpec("DDIMScheduler", _DDIM_STEPS, None),
    Sampler.PLMS: SchedulerSpec("PNDMScheduler", {**_DDIM_STEPS, "skip_prk_steps": True}, None),
    Sampler.UNIPC: SchedulerSpec("UniPCMultistepScheduler", _UNIPC, None),
    Sampler.LCM: SchedulerSpec("LCMScheduler", {}, "Uniform", timesteps_only=True),
    Sampler.DDPM: SchedulerSpec("DDPMScheduler", {}, "Uniform", timesteps_only=True),
}

# Known samplers diffusers has no counterpart for, with the reason shown to the user.
UNRUNNABLE: dict[str, str] = {
    Sampler.DPMPP_2S_A: "diffusers has no ancestral single-step DPM-Solver++",
    Sampler.DPM_FAST: "diffusers has no fixed-order DPM-Solver with A1111's step split",
    Sampler.DPM_ADAPTIVE: "it chooses its own step sizes, which diffusers has no scheduler for",
    Sampler.RESTART: "diffusers has no Restart sampler",
    Sampler.DDIM_CFGPP: "diffusers has no CFG++ guidance",
    Sampler.HEUNPP2: "diffusers has no Heun++ sampler",
    Sampler.IPNDM: "diffusers' IPNDM scheduler does not run Stable Diffusion checkpoints",
    Sampler.IPNDM_V: "diffusers has no variable-step IPNDM",
    Sampler.DEIS: "diffusers' DEIS ends on the last sigma instead of zero",
    Sampler.EULER_CFGPP: "diffusers has no CFG++ guidance",
    Sampler.EULER_A_CFGPP: "diffusers has no CFG++ guidance",
    Sampler.FLUX_REALISTIC: "Forge ships it only as a compiled add-on whose steps are not published",
    Sampler.FLUX_REALISTIC_SLOW: "Forge ships it only as a compiled add-on whose steps are not published",
}

# Schedules a fixed-length sigma hook can take: n sigmas above zero, then zero.
_HOOKABLE = frozenset(SCHEDULE_TYPES) - {AUTOMATIC, "KL Optimal", "DDIM"}

# --- flow-matching models ---------------------------------------------------------------------------

# Scheduler classes whose config marks a checkpoint as flow-matching (what its pipeline ships with).
FLOW_SCHEDULER_CLASSES = frozenset(
    {"FlowMatchEulerDiscreteScheduler", "FlowMatchHeunDiscreteScheduler", "FlowMatchLCMScheduler"}
)
# The families whose checkpoints are flow-matching, for refusing a sampler before anything loads.
FLOW_ARCHITECTURES = frozenset(
    {Architecture.SD3, Architecture.FLUX1, Architecture.FLUX2, Architecture.CHROMA, Architecture.QWEN_IMAGE,
     Architecture.Z_IMAGE}
)  # fmt: skip
# Forge's and ComfyUI's sigma table for the Flux family (resolution-shifted models) has 10,000 points.
FLUX_TABLE_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class FlowSpec:
    """How one A1111 sampler runs a flow-matching model; ``default_schedule`` is what Automatic means.

    A1111's Automatic for Euler and Heun is the model's uniform timesteps; for a flow model that is
    "Simple" (evenly spaced flow time, shifted: what diffusers' pipelines, Forge's Flux preset and
    ComfyUI's default do). DPM++ 2M keeps its Karras.
    """

    class_name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    default_schedule: str = "Simple"


FLOW_SCHEDULERS: dict[str, FlowSpec] = {
    Sampler.EULER: FlowSpec("FlowMatchEulerDiscreteScheduler"),
    Sampler.HEUN: FlowSpec("FlowMatchHeunDiscreteScheduler"),
    Sampler.DPMPP_2M: FlowSpec(
        "DPMSolverMultistepScheduler",
        {
            **_2M,
            "use_flow_sigmas": True,
            "prediction_type": "flow_prediction",
            "final_sigmas_type": "zero",
        },
        "Karras",
    ),
}

_NO_SEEDED_NOISE = (
    "diffusers' flow-matching pipelines give the scheduler no seeded generator, so the noise it adds at "
    "each step would not follow the seed"
)
_NOISE_PREDICTION = "it is made for noise-predicting checkpoints; diffusers has no flow-matching form of it"
# Why a sampler that renders SD is refused for a flow-matching model.
FLOW_UNRUNNABLE: dict[str, str] = {
    Sampler.EULER_A: _NO_SEEDED_NOISE,
    Sampler.DPMPP_SDE: _NO_SEEDED_NOISE,
    Sampler.DPMPP_2M_SDE: _NO_SEEDED_NOISE,
    Sampler.DPMPP_2M_SDE_HEUN: _NO_SEEDED_NOISE,
    Sampler.DPMPP_3M_SDE: _NO_SEEDED_NOISE,
    Sampler.DPM2_A: _NO_SEEDED_NOISE,
    Sampler.DDPM: _NO_SEEDED_NOISE,
    Sampler.LMS: _NOISE_PREDICTION,
    Sampler.DPM2: _NOISE_PREDICTION,
    Sampler.DDIM: _NOISE_PREDICTION,
    Sampler.PLMS: _NOISE_PREDICTION,
    Sampler.UNIPC: "A1111's UniPC steps on a noise-predicting model's timesteps",
    Sampler.LCM: "it is for LCM-distilled SD checkpoints",
}
# Schedules a flow model takes (Align Your Steps is NVIDIA's SD1/SDXL sigmas).
_FLOW_SCHEDULES = frozenset(SCHEDULE_TYPES) - {AUTOMATIC, "Align Your Steps"}


def is_flow_config(config: Mapping[str, Any]) -> bool:
    """Whether a pipeline's scheduler config is flow-matching (decided from the config, not the family)."""
    return (
        config.get("_class_name") in FLOW_SCHEDULER_CLASSES
        or config.get("prediction_type") == "flow_prediction"
        or bool(config.get("use_flow_sigmas"))
    )


def flow_shift(config: Mapping[str, Any], shift: float | None = None, mu: float | None = None) -> float:
    """The time shift ``s`` a flow model samples with: the recipe's, else the model's own.

    A config with ``use_dynamic_shifting`` (Flux, Chroma, Qwen-Image) shifts by resolution: its pipeline
    computes ``mu`` from the image's token count and the curve is ``s = exp(mu)`` (``s = mu`` for the
    "linear" time-shift type). Without ``mu`` such a model gets its largest shift (``max_shift``: Forge's
    fixed Flux shift, and diffusers' at 1024x1024). Otherwise the config's ``shift`` (SD3.5: 3).
    """
    if shift is not None:
        return float(shift)
    if config.get("use_dynamic_shifting"):
        value = float(mu) if mu is not None else float(config.get("max_shift") or 1.15)
        return value if config.get("time_shift_type") == "linear" else math.exp(value)
    return float(config.get("shift") or 1.0)


def flow_table_points(config: Mapping[str, Any]) -> int:
    """The size of the flow model's sigma table: Flux's 10,000 for resolution-shifted models, else the
    training timesteps (1,000), as Forge's and ComfyUI's model samplings build them."""
    if config.get("use_dynamic_shifting"):
        return FLUX_TABLE_POINTS
    return int(config.get("num_train_timesteps") or 1000)


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _scheduler_class(class_name: str) -> Any:
    """The diffusers class, or None when it is a placeholder for a missing optional dependency."""
    import diffusers

    cls = getattr(diffusers, class_name, None)
    if cls is None or cls.__module__.startswith("diffusers.utils.dummy_"):
        return None
    return cls


def effective_schedule(sampler: str, schedule: str, *, flow: bool = False) -> str | None:
    """The schedule A1111 samples ``sampler`` with: "Automatic" resolved; None for timestep samplers.

    ``flow``: for a flow-matching model (see :class:`FlowSpec` for what Automatic means there).
    """
    label = canonical_schedule(schedule) or schedule
    if flow:
        flow_spec = FLOW_SCHEDULERS.get(sampler)
        if flow_spec is None:
            return None
        return flow_spec.default_schedule if label == AUTOMATIC else label
    spec = SCHEDULERS.get(sampler)
    if spec is None or spec.default_schedule is None:
        return None
    return spec.default_schedule if label == AUTOMATIC else label


def _flow_unavailable_reason(sampler: str, schedule: str) -> str | None:
    if sampler not in FLOW_SCHEDULERS:
        why = FLOW_UNRUNNABLE.get(sampler) or UNRUNNABLE.get(sampler, "it is not a sampler Atelier knows")
        return f"Atelier cannot render a flow-matching model with sampler {sampler!r} ({why})"
    label = canonical_schedule(schedule)
    if label is None:
        return f"Atelier cannot render with schedule type {schedule!r} (not an A1111 schedule type)"
    resolved = effective_schedule(sampler, label, flow=True)
    if resolved not in _FLOW_SCHEDULES:
        return (
            f"Atelier cannot render a flow-matching model with schedule type {resolved!r} "
            "(its sigmas are NVIDIA's for SD1 and SDXL)"
        )
    return None


def unavailable_reason(sampler: str, schedule: str = AUTOMATIC, *, flow: bool = False) -> str | None:
    """One line saying why ``sampler`` with ``schedule`` cannot be rendered here, or None when it can.

    Decided without importing diffusers (a plan, the CLI's refusal and the board stay light): the only
    schedulers diffusers leaves out are those whose optional package (``needs``) is missing. ``flow``:
    for a flow-matching model (Flux, SD3.5, Qwen-Image, Z-Image, Chroma), which runs fewer samplers.
    """
    if flow:
        return _flow_unavailable_reason(sampler, schedule)
    spec = SCHEDULERS.get(sampler)
    if spec is None:
        why = UNRUNNABLE.get(sampler, "it is not a sampler Atelier knows")
        return f"Atelier cannot render with sampler {sampler!r} yet ({why})"
    if spec.needs and not _has(spec.needs):
        return f"Atelier cannot render with sampler {sampler!r}: it needs the Python package {spec.needs}"
    resolved = effective_schedule(sampler, schedule)
    label = canonical_schedule(schedule)
    if label is None:
        return f"Atelier cannot render with schedule type {schedule!r} (not an A1111 schedule type)"
    if resolved is not None and resolved not in _HOOKABLE and not spec.any_sigmas:
        return (
            f"Atelier cannot render sampler {sampler!r} with schedule type {resolved!r} yet "
            "(only Euler and Euler a take that sequence)"
        )
    return None


def supported_samplers(*, flow: bool = False) -> list[str]:
    """The sampler names that render with the installed packages, in A1111's order (``flow``: for a
    flow-matching model)."""
    return [s.value for s in Sampler if unavailable_reason(s.value, flow=flow) is None]


def supported_schedules(sampler: str, *, flow: bool = False) -> list[str]:
    """The schedule types ``sampler`` renders with (all, for a timestep sampler: A1111 ignores them)."""
    return [label for label in SCHEDULE_TYPES if unavailable_reason(sampler, label, flow=flow) is None]


def refusal(sampler: str, schedule: str = AUTOMATIC, *, flow: bool = False) -> str | None:
    """The user-facing refusal for a recipe: the reason and what to choose instead; None when it renders.

    ``flow``: the checkpoint is flow-matching (its architecture is in :data:`FLOW_ARCHITECTURES`, or its
    scheduler config says so: :func:`is_flow_config`).
    """
    reason = unavailable_reason(sampler, schedule, flow=flow)
    if reason is None:
        return None
    if unavailable_reason(sampler, flow=flow) is None:  # the sampler runs, the schedule does not
        return f"{reason}; choose one of: {', '.join(supported_schedules(sampler, flow=flow))}"
    return f"{reason}; choose one of: {', '.join(supported_samplers(flow=flow))}"


def beta_parameters(extra: Mapping[str, str]) -> tuple[float, float]:
    """The Beta schedule's (alpha, beta): A1111 writes them as "Beta schedule alpha/beta"; else 0.6, 0.6."""
    values = []
    for key in ("Beta schedule alpha", "Beta schedule beta"):
        try:
            value = float(extra.get(key, "0.6"))
        except ValueError:
            value = 0.6
        values.append(value if value > 0 else 0.6)
    return values[0], values[1]


def _sequence_for(
    spec: SchedulerSpec, schedule: str, *, sdxl: bool, beta: tuple[float, float]
) -> Callable[[Any, int], Any]:
    from core.render.sigma_schedules import schedule_sigmas

    def sequence(alphas_cumprod: Any, steps: int) -> Any:
        return schedule_sigmas(
            schedule,
            steps,
            alphas_cumprod.numpy() if hasattr(alphas_cumprod, "numpy") else alphas_cumprod,
            sdxl=sdxl,
            discard_penultimate=spec.discard_penultimate,
            beta_alpha=beta[0],
            beta_beta=beta[1],
        )

    return sequence


def _hooked_class(cls: Any, sequence: Callable[[Any, int], Any]) -> Any:
    """``cls`` whose Karras conversion returns A1111's sigmas (the hook all k-diffusion schedulers share)."""

    def _convert_to_karras(self: Any, in_sigmas: Any, num_inference_steps: int | None = None) -> Any:
        steps = num_inference_steps or self.num_inference_steps
        return sequence(self.alphas_cumprod, steps)[:-1].astype("float32")

    return type(
        cls.__name__, (cls,), {"_convert_to_karras": _convert_to_karras, "__module__": cls.__module__}
    )


def _replaced_class(cls: Any, sequence: Callable[[Any, int], Any]) -> Any:
    """``cls`` (Euler, Euler a) that samples exactly A1111's sequence, whatever its length and last value."""
    import numpy as np
    import torch

    from core.render.sigma_schedules import DiscreteModel

    def set_timesteps(
        self: Any, num_inference_steps: int | None = None, device: Any = None, **kwargs: Any
    ) -> None:
        cls.set_timesteps(self, num_inference_steps, device=device, **kwargs)
        if num_inference_steps is None:  # the caller gave its own sigmas or timesteps
            return
        sigmas = np.asarray(sequence(self.alphas_cumprod, num_inference_steps), dtype=np.float64)
        model = DiscreteModel(self.alphas_cumprod.numpy())  # k-diffusion's sigma -> t, as A1111 uses
        timesteps = np.array([model.sigma_to_t(float(s)) for s in sigmas[:-1]], dtype=np.float32)
        self.num_inference_steps = len(timesteps)
        self.timesteps = torch.from_numpy(timesteps).to(device=device)
        self.sigmas = torch.from_numpy(sigmas.astype(np.float32))
        self._step_index = None
        self._begin_index = None

    return type(cls.__name__, (cls,), {"set_timesteps": set_timesteps, "__module__": cls.__module__})


def _timesteps_class(cls: Any, sequence: Callable[[Any, int], Any]) -> Any:
    """``cls`` (LCM) stepping through the timesteps of A1111's sigma sequence, rounded as diffusers needs."""
    from core.render.sigma_schedules import DiscreteModel

    def set_timesteps(
        self: Any, num_inference_steps: int | None = None, device: Any = None, **kwargs: Any
    ) -> None:
        if num_inference_steps is None:  # the caller gave its own timesteps
            cls.set_timesteps(self, device=device, **kwargs)
            return
        model = DiscreteModel(self.alphas_cumprod.numpy())
        sigmas = sequence(self.alphas_cumprod, num_inference_steps)
        timesteps = [round(model.sigma_to_t(float(s))) for s in sigmas[:-1]]
        # diffusers warns that A1111's timesteps are off its 50-step distillation grid: they are meant to be.
        logger = logging.getLogger(cls.__module__)
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            cls.set_timesteps(self, device=device, timesteps=timesteps)
        finally:
            logger.setLevel(level)

    return type(cls.__name__, (cls,), {"set_timesteps": set_timesteps, "__module__": cls.__module__})


def _accepted(cls: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config keys ``cls`` takes (a checkpoint's config carries keys other schedulers warn about)."""
    import inspect

    names = set(inspect.signature(cls.__init__).parameters)
    return {key: value for key, value in config.items() if key in names}


def make_scheduler(
    sampler: str,
    base_config: Mapping[str, Any],
    schedule: str = AUTOMATIC,
    *,
    sdxl: bool = False,
    beta: tuple[float, float] = (0.6, 0.6),
    shift: float | None = None,
) -> Any:
    """A new diffusers scheduler sampling like A1111's ``sampler`` with ``schedule``.

    ``base_config`` is the checkpoint's original scheduler config. ``sdxl`` picks Align Your Steps'
    SDXL sigmas; ``beta`` is the Beta schedule's (alpha, beta). Raises SamplerUnavailableError with a
    one-line message naming the sampler (or schedule) and the choices when it cannot be rendered.
    Returns a diffusers ``SchedulerMixin`` (typed Any: diffusers is not typed).

    When ``base_config`` is a flow-matching one (:func:`is_flow_config`: Flux, SD3.5, Qwen-Image,
    Z-Image, Chroma), the scheduler samples flow time: ``shift`` is the recipe's Shift (Forge's "Shift",
    the static ``s`` of ``s*u / (1 + (s - 1)*u)``); None keeps the model's own, the config's ``shift`` or,
    for a config with dynamic shifting, the ``mu`` the pipeline passes to ``set_timesteps`` for the
    image's size. The scheduler takes the pipeline's ``set_timesteps(sigmas=..., mu=...)`` call: the
    pipeline's default sigmas only give the step count; the schedule type decides the sigmas. SD
    configs ignore ``shift``.
    """
    if is_flow_config(base_config):
        return _make_flow_scheduler(sampler, base_config, schedule, beta=beta, shift=shift)
    problem = refusal(sampler, schedule)
    if problem is not None:
        raise SamplerUnavailableError(problem)
    spec = SCHEDULERS[sampler]
    cls = _scheduler_class(spec.class_name)
    if cls is None:
        raise SamplerUnavailableError(
            f"Atelier cannot render with sampler {sampler!r}: diffusers lacks {spec.class_name}"
        )
    if spec.needs == "torchsde":
        _quiet_brownian_tree()
    resolved = effective_schedule(sampler, schedule)
    config = _accepted(cls, base_config)
    if resolved is None:
        return cls.from_config(config, **spec.overrides)
    sequence = _sequence_for(spec, resolved, sdxl=sdxl, beta=beta)
    if spec.timesteps_only:
        return _timesteps_class(cls, sequence).from_config(config, **spec.overrides)
    if spec.any_sigmas:
        return _replaced_class(cls, sequence).from_config(config, **spec.overrides)
    overrides = {**spec.overrides, "use_karras_sigmas": True}
    return _hooked_class(cls, sequence).from_config(config, **overrides)


def _quiet_brownian_tree() -> None:
    """torchsde warns "Should have ta>=t0" when diffusers asks its Brownian tree for a time a float
    rounding below the tree's start (it clamps and samples correctly): noise for a user's terminal, once
    per step of every DPM++ SDE render."""
    import warnings

    warnings.filterwarnings("ignore", message="Should have ta>=t0", category=UserWarning, module="torchsde")


def _make_flow_scheduler(
    sampler: str,
    base_config: Mapping[str, Any],
    schedule: str,
    *,
    beta: tuple[float, float],
    shift: float | None,
) -> Any:
    problem = refusal(sampler, schedule, flow=True)
    if problem is not None:
        raise SamplerUnavailableError(problem)
    spec = FLOW_SCHEDULERS[sampler]
    cls = _scheduler_class(spec.class_name)
    if cls is None:
        raise SamplerUnavailableError(
            f"Atelier cannot render with sampler {sampler!r}: diffusers lacks {spec.class_name}"
        )
    resolved = effective_schedule(sampler, schedule, flow=True)
    assert resolved is not None  # refusal() passed
    config = dict(base_config)

    def sequence(steps: int, mu: float | None) -> Any:
        from core.render.sigma_schedules import FlowModel, model_sigmas

        model = FlowModel(flow_shift(config, shift, mu), flow_table_points(config))
        return model_sigmas(resolved, steps, model, beta_alpha=beta[0], beta_beta=beta[1])

    flow_class = _flow_class(cls, sequence)
    # _class_name keeps the scheduler's own config saying what it is (and, with prediction_type, flow).
    return flow_class.from_config({**_accepted(cls, config), "_class_name": cls.__name__}, **spec.overrides)


def _flow_class(cls: Any, sequence: Callable[[int, float | None], Any]) -> Any:
    """``cls`` stepping through ``sequence``'s flow sigmas, whatever its ``set_timesteps`` was asked.

    diffusers' flow pipelines call ``set_timesteps(sigmas=<their default linspace>, mu=<shift for the
    size>)`` (SD3: ``set_timesteps(steps)``): the step count and ``mu`` are taken from the call, the
    sigmas from the schedule type. Timesteps are flow time x ``num_train_timesteps`` as float, as the
    FlowMatch schedulers give them to the transformer.
    """
    import numpy as np
    import torch

    def set_timesteps(
        self: Any,
        num_inference_steps: int | None = None,
        device: Any = None,
        *,
        sigmas: Any = None,
        mu: float | None = None,
        timesteps: Any = None,
        **_: Any,
    ) -> None:
        steps = num_inference_steps or len(sigmas if sigmas is not None else timesteps)
        values = np.asarray(sequence(int(steps), mu), dtype=np.float64)
        flow_sigmas = torch.from_numpy(values.astype(np.float32))
        times = flow_sigmas[:-1] * float(self.config.num_train_timesteps)
        self.num_inference_steps = len(times)
        if cls.__name__ == "FlowMatchHeunDiscreteScheduler":  # every sigma but the ends is evaluated twice
            self.timesteps = torch.cat([times[:1], times[1:].repeat_interleave(2)]).to(device=device)
            middle = flow_sigmas[1:-1].repeat_interleave(2)
            self.sigmas = torch.cat([flow_sigmas[:1], middle, flow_sigmas[-1:]]).to(device=device)
            self.prev_derivative = None
            self.dt = None
        elif cls.__name__ == "DPMSolverMultistepScheduler":
            self.timesteps = times.to(device=device)
            self.sigmas = flow_sigmas
            self.model_outputs = [None] * self.config.solver_order
            self.lower_order_nums = 0
        else:
            self.timesteps = times.to(device=device)
            self.sigmas = flow_sigmas.to(device=device)
        self._step_index = None
        self._begin_index = None

    namespace: dict[str, Any] = {"set_timesteps": set_timesteps, "__module__": cls.__module__}
    if not hasattr(cls, "scale_noise"):
        namespace["scale_noise"] = _scale_noise
    return type(cls.__name__, (cls,), namespace)


def _scale_noise(self: Any, sample: Any, timestep: Any, noise: Any = None) -> Any:
    """Flow matching's forward process ``sigma*noise + (1 - sigma)*sample`` (what an img2img flow
    pipeline asks of its scheduler; DPM-Solver has only the noise-prediction ``add_noise``)."""
    times = self.timesteps.to(sample.device)
    if self.begin_index is not None:
        index = self.begin_index
    else:
        wanted = timestep.flatten()[0] if hasattr(timestep, "flatten") else timestep
        index = int((times - wanted).abs().argmin())
    sigma = self.sigmas[index].to(device=sample.device, dtype=sample.dtype)
    return sigma * noise + (1.0 - sigma) * sample
