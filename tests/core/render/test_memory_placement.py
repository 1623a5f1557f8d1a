"""Full GPU, model offload, sequential offload or 'cannot run': chosen from free VRAM, the weights' size
and the RAM the offload needs, with the numbers in the reason (what the board and render --plan show)."""

from __future__ import annotations

from core.render.memory import (
    CANNOT_RUN,
    CPU_ONLY,
    GPU,
    MODEL_OFFLOAD,
    SEQUENTIAL_OFFLOAD,
    plan_placement,
)

GB = 1024**3
FLUX_WEIGHTS = int(31.4 * GB)  # bf16 transformer 22.2 GB + T5-XXL 8.9 GB + CLIP-L + VAE
FLUX_TRANSFORMER = int(22.2 * GB)


def _cuda(free_gb: float, ram_gb: float | None = 128) -> str:
    placement = plan_placement(
        device_kind="cuda",
        device_free_bytes=int(free_gb * GB),
        ram_available_bytes=int(ram_gb * GB) if ram_gb is not None else None,
        weights_bytes=FLUX_WEIGHTS,
        largest_component_bytes=FLUX_TRANSFORMER,
    )
    return placement.mode


def test_modes_follow_free_vram() -> None:
    assert _cuda(80) == GPU  # H100: everything resident
    assert _cuda(30) == MODEL_OFFLOAD  # the 22 GB transformer fits alone
    assert _cuda(12) == SEQUENTIAL_OFFLOAD  # a 12 GB card runs it layer by layer
    assert _cuda(1.5) == CANNOT_RUN


def test_offload_needs_the_weights_in_ram_and_says_so_with_numbers() -> None:
    placement = plan_placement(
        device_kind="cuda",
        device_free_bytes=12 * GB,
        ram_available_bytes=16 * GB,
        weights_bytes=FLUX_WEIGHTS,
        largest_component_bytes=FLUX_TRANSFORMER,
    )
    assert placement.mode == CANNOT_RUN
    assert not placement.runnable
    assert "31.4 GB" in placement.reason
    assert "12.0 GB of free VRAM" in placement.reason
    assert "14.4 GB of the 16.0 GB available" in placement.reason


def test_a_refusal_never_names_less_weight_than_memory_without_saying_why() -> None:
    """The tester's case: 21.2 GB of weights, 21.6 GB available: refused, and the line says why."""
    placement = plan_placement(
        device_kind="cpu",
        device_free_bytes=None,
        ram_available_bytes=int(21.6 * GB),
        weights_bytes=int(21.2 * GB),
        largest_component_bytes=12 * GB,
    )
    assert placement.mode == CANNOT_RUN
    assert placement.reason == (
        "the weights take 21.2 GB, more than the 19.4 GB they may use of the 21.6 GB of memory "
        "available (the render itself needs the rest)"
    )


def test_cpu_runs_what_fits_in_ram() -> None:
    fits = plan_placement(
        device_kind="cpu",
        device_free_bytes=None,
        ram_available_bytes=64 * GB,
        weights_bytes=2 * GB,
        largest_component_bytes=GB,
    )
    assert fits.mode == CPU_ONLY
    too_big = plan_placement(
        device_kind="cpu",
        device_free_bytes=None,
        ram_available_bytes=8 * GB,
        weights_bytes=FLUX_WEIGHTS,
        largest_component_bytes=FLUX_TRANSFORMER,
    )
    assert too_big.mode == CANNOT_RUN
    assert too_big.as_dict()["runnable"] is False
    assert too_big.as_dict()["weights_bytes"] == FLUX_WEIGHTS
