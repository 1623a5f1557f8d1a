"""A1111 sampler names map to the diffusers schedulers of diffusers' correspondence table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.render import samplers
from core.render.configs import RESOURCES_CONFIG_ROOT
from core.render.recipe import Sampler
from core.render.samplers import make_scheduler, supported_samplers, unavailable_reason

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def sd1_config() -> dict[str, Any]:
    path = RESOURCES_CONFIG_ROOT / "sd1" / "scheduler" / "scheduler_config.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_importing_render_modules_does_not_import_torch() -> None:
    modules = "core.render.engine, core.render.samplers, core.render.devices, core.render.png"
    code = f"import sys, {modules}; print('torch' in sys.modules, 'diffusers' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False False"


@pytest.mark.parametrize(
    ("sampler", "class_name", "karras"),
    [
        (Sampler.EULER_A, "EulerAncestralDiscreteScheduler", None),
        (Sampler.EULER, "EulerDiscreteScheduler", False),
        (Sampler.HEUN, "HeunDiscreteScheduler", False),
        (Sampler.DPM2, "KDPM2DiscreteScheduler", False),
        (Sampler.DPM2_KARRAS, "KDPM2DiscreteScheduler", True),
        (Sampler.DPM2_A, "KDPM2AncestralDiscreteScheduler", False),
        (Sampler.DPM2_A_KARRAS, "KDPM2AncestralDiscreteScheduler", True),
        (Sampler.DPMPP_2M, "DPMSolverMultistepScheduler", False),
        (Sampler.DPMPP_2M_KARRAS, "DPMSolverMultistepScheduler", True),
        (Sampler.DPMPP_2M_SDE, "DPMSolverMultistepScheduler", False),
        (Sampler.DPMPP_2M_SDE_KARRAS, "DPMSolverMultistepScheduler", True),
        (Sampler.DDIM, "DDIMScheduler", None),
        (Sampler.PLMS, "PNDMScheduler", None),
        (Sampler.UNIPC, "UniPCMultistepScheduler", False),
    ],
)
def test_sampler_maps_to_scheduler(
    sampler: Sampler, class_name: str, karras: bool | None, sd1_config: dict[str, Any]
) -> None:
    scheduler = make_scheduler(sampler, sd1_config)
    assert type(scheduler).__name__ == class_name
    assert scheduler.config.get("use_karras_sigmas") == karras
    # The checkpoint's training schedule is kept.
    assert scheduler.config.prediction_type == "epsilon"
    assert (scheduler.config.beta_start, scheduler.config.beta_end) == (0.00085, 0.012)
    assert scheduler.config.beta_schedule == "scaled_linear"
    assert sampler in supported_samplers()


def test_sde_samplers_use_torchsde_or_singlestep(sd1_config: dict[str, Any]) -> None:
    expected = "DPMSolverSDEScheduler" if samplers._has_torchsde() else "DPMSolverSinglestepScheduler"
    plain = make_scheduler(Sampler.DPMPP_SDE, sd1_config)
    karras = make_scheduler(Sampler.DPMPP_SDE_KARRAS, sd1_config)
    assert type(plain).__name__ == type(karras).__name__ == expected
    assert plain.config.use_karras_sigmas is False
    assert karras.config.use_karras_sigmas is True


def test_sde_2m_uses_sde_algorithm(sd1_config: dict[str, Any]) -> None:
    assert make_scheduler(Sampler.DPMPP_2M_SDE, sd1_config).config.algorithm_type == "sde-dpmsolver++"
    assert make_scheduler(Sampler.DPMPP_2M, sd1_config).config.algorithm_type == "dpmsolver++"


def test_v_prediction_is_kept(sd1_config: dict[str, Any]) -> None:
    config = {**sd1_config, "prediction_type": "v_prediction"}
    assert make_scheduler(Sampler.EULER_A, config).config.prediction_type == "v_prediction"


def test_karras_flag_of_base_config_is_reset_for_plain_names(sd1_config: dict[str, Any]) -> None:
    config = {**sd1_config, "use_karras_sigmas": True}
    assert make_scheduler(Sampler.DPMPP_2M, config).config.use_karras_sigmas is False


@pytest.mark.parametrize("sampler", [Sampler.DPMPP_2S_A, Sampler.DPMPP_2S_A_KARRAS])
def test_unmapped_sampler_raises_listing_supported(sampler: Sampler, sd1_config: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="supported samplers: Euler a, Euler") as info:
        make_scheduler(sampler, sd1_config)
    assert "no diffusers equivalent" in str(info.value)
    assert sampler not in supported_samplers()


def test_lms_needs_scipy(sd1_config: dict[str, Any]) -> None:
    """LMS is a diffusers placeholder without scipy: a clear error, not a crash while rendering."""
    for sampler, karras in ((Sampler.LMS, False), (Sampler.LMS_KARRAS, True)):
        if unavailable_reason(sampler) is None:
            scheduler = make_scheduler(sampler, sd1_config)
            assert type(scheduler).__name__ == "LMSDiscreteScheduler"
            assert scheduler.config.use_karras_sigmas is karras
        else:
            with pytest.raises(ValueError, match="needs scipy"):
                make_scheduler(sampler, sd1_config)
