"""How to fit a render into the device's memory: model offload and VAE tiling decisions, and sizes.

A pipeline in fp16 takes ~2 GB (SD1) to ~7 GB (SDXL) of weights; the UNet's activations at 1024x1024
and the VAE decode of a large image add several GB more. On a GPU that cannot hold all of it, diffusers
can keep only the running component on the GPU (model CPU offload) and decode the image in tiles. Both
cost speed, so they are switched on only when the numbers say the render would not fit. The decision is
pure arithmetic, kept apart from torch so it can be tested for any GPU size.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GIB = 1024**3
# Working memory beyond the weights, per megapixel of output, measured roughly on SD1/SDXL in fp16
# (attention + UNet activations with SDPA, batch 1); the VAE decoder peak grows with the image too.
_ACTIVATION_BYTES_PER_MEGAPIXEL = int(1.5 * GIB)
_VAE_DECODE_BYTES_PER_MEGAPIXEL = int(2.5 * GIB)
_HEADROOM = 0.9  # leave 10 % for the CUDA context and fragmentation
_CPU_TILING_MEGAPIXELS = 4.0  # beyond ~2048x2048 the CPU decode alone needs > 10 GB
# LoRA layer cache (merged weights of switched-off LoRA sets, on the CPU): up to twice the weights, so
# a full-UNet LyCORIS set and another set fit, but never more than half of the memory the system has
# available when the pipeline gets its first LoRA.
_LAYER_CACHE_WEIGHTS_FACTOR = 2.0
_LAYER_CACHE_AVAILABLE_SHARE = 0.5
# Windows has neither /proc/meminfo nor os.sysconf: its available memory is asked of kernel32.
WINDOWS = os.name == "nt"


@dataclass(frozen=True, slots=True)
class MemoryPlan:
    """What to switch on for one render, and why (shown in the GUI's device line)."""

    offload: bool
    vae_tiling: bool
    reason: str


def plan_memory(
    *,
    device_kind: str,
    device_memory_bytes: int | None,
    weights_bytes: int,
    width: int,
    height: int,
    batch: int = 1,
) -> MemoryPlan:
    """Decide offload and tiling for a render of ``batch`` images of ``width`` x ``height``.

    ``device_kind`` is ``"cuda"``, ``"mps"`` or ``"cpu"``; ``device_memory_bytes`` the accelerator's
    total memory (None when unknown: nothing is switched on, as guessing wrong only costs speed).
    """
    megapixels = width * height * batch / 1_000_000
    if device_kind == "cpu" or device_memory_bytes is None:
        tiling = device_kind == "cpu" and megapixels > _CPU_TILING_MEGAPIXELS
        reason = "large image: VAE decoded in tiles" if tiling else "no memory limits applied"
        return MemoryPlan(offload=False, vae_tiling=tiling, reason=reason)
    budget = device_memory_bytes * _HEADROOM
    activations = megapixels * _ACTIVATION_BYTES_PER_MEGAPIXEL
    decode = megapixels * _VAE_DECODE_BYTES_PER_MEGAPIXEL
    offload = weights_bytes + activations > budget
    # With offload only one component is resident, so the decode competes with the VAE weights alone.
    resident = weights_bytes * 0.1 if offload else weights_bytes
    tiling = resident + decode > budget
    parts = []
    if offload:
        parts.append(
            f"weights {weights_bytes / GIB:.1f} GB + activations exceed "
            f"{device_memory_bytes / GIB:.0f} GB: components offloaded to the CPU between steps"
        )
    if tiling:
        parts.append("VAE decoded in tiles")
    return MemoryPlan(offload, tiling, "; ".join(parts) or "fits in device memory")


def available_memory_bytes() -> int | None:
    """Memory the system can still give without swapping: Linux ``MemAvailable``, Windows ``ullAvailPhys``
    (standby and free pages, the same measure); elsewhere (macOS) half the RAM.

    None when none can be read.
    """
    if WINDOWS:
        return _windows_available_bytes()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (AttributeError, OSError, ValueError):
        return None


class MemoryStatusEx(ctypes.Structure):
    """Win32 ``MEMORYSTATUSEX`` (sysinfoapi.h): two DWORDs, then seven 64-bit byte counts; 64 bytes.
    A DWORD is written ``c_uint32``, not ``c_ulong`` (64 bits on Linux): the layout is checked anywhere."""

    _fields_ = [
        ("dwLength", ctypes.c_uint32),
        ("dwMemoryLoad", ctypes.c_uint32),
        ("ullTotalPhys", ctypes.c_uint64),
        ("ullAvailPhys", ctypes.c_uint64),
        ("ullTotalPageFile", ctypes.c_uint64),
        ("ullAvailPageFile", ctypes.c_uint64),
        ("ullTotalVirtual", ctypes.c_uint64),
        ("ullAvailVirtual", ctypes.c_uint64),
        ("ullAvailExtendedVirtual", ctypes.c_uint64),
    ]


def _windows_available_bytes() -> int | None:
    status = MemoryStatusEx(dwLength=ctypes.sizeof(MemoryStatusEx))  # the call fails unless it is set
    try:
        succeeded = _global_memory_status_ex()(ctypes.pointer(status))
    except (AttributeError, OSError):
        return None
    return int(status.ullAvailPhys) if succeeded else None


def _global_memory_status_ex() -> Callable[[Any], int]:
    """kernel32's ``GlobalMemoryStatusEx``."""
    if sys.platform != "win32":  # ctypes has no windll elsewhere (and mypy checks the rest for Windows)
        raise OSError("GlobalMemoryStatusEx is a Windows function")
    function: Callable[[Any], int] = ctypes.windll.kernel32.GlobalMemoryStatusEx
    return function


def layer_cache_budget(weights_bytes: int, available_bytes: int | None) -> int:
    """Bytes the LoRA layer cache may hold for a pipeline of ``weights_bytes``.

    Twice the weights (the merged copies of a full-UNet LyCORIS set and another set fit), capped at half of
    ``available_bytes`` so caching never pushes the system into swap; the cache only trades memory
    for speed, so a small budget costs recomputation, never a different result.
    """
    budget = int(weights_bytes * _LAYER_CACHE_WEIGHTS_FACTOR)
    if available_bytes is not None:
        budget = min(budget, int(available_bytes * _LAYER_CACHE_AVAILABLE_SHARE))
    return max(0, budget)


def module_bytes(module: object) -> int:
    """Bytes of a torch module's parameters and buffers (0 for anything else)."""
    total = 0
    for getter in ("parameters", "buffers"):
        for tensor in getattr(module, getter, lambda: ())():
            total += tensor.numel() * tensor.element_size()
    return total


def pipeline_bytes(pipe: object) -> int:
    """Bytes of every torch component of a diffusers pipeline."""
    components = getattr(pipe, "components", {}) or {}
    return sum(module_bytes(component) for component in components.values())


def format_bytes(count: float) -> str:
    """``'2.1 GB'``, ``'350 MB'``."""
    if count >= GIB:
        return f"{count / GIB:.1f} GB"
    return f"{count / 1024**2:.0f} MB"


# --- where the weights live: the whole model on the GPU, offloaded, or not at all ----------------------

GPU = "gpu"
MODEL_OFFLOAD = "model_offload"
SEQUENTIAL_OFFLOAD = "sequential_offload"
CPU_ONLY = "cpu"
CANNOT_RUN = "cannot_run"
# With sequential offload only one layer and the activations are on the GPU: ~1 GB covers the largest
# layer of every released model at fp16/bf16 (a Flux.1 double block is 0.7 GB).
_SEQUENTIAL_RESIDENT_BYTES = 1 * GIB
_RAM_HEADROOM = 0.9


@dataclass(frozen=True, slots=True)
class Placement:
    """How a model's weights are placed for rendering, and why, in numbers the board and
    ``render --plan`` show. ``mode`` is one of ``gpu``, ``model_offload`` (each component moves to the
    GPU while it runs), ``sequential_offload`` (layer by layer: slow, but needs ~1 GB of VRAM),
    ``cpu``, or ``cannot_run`` (``reason`` then says what is short, by how much)."""

    mode: str
    reason: str
    weights_bytes: int
    largest_component_bytes: int
    device_free_bytes: int | None
    ram_available_bytes: int | None

    @property
    def runnable(self) -> bool:
        return self.mode != CANNOT_RUN

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "reason": self.reason,
            "weights_bytes": self.weights_bytes,
            "largest_component_bytes": self.largest_component_bytes,
            "device_free_bytes": self.device_free_bytes,
            "ram_available_bytes": self.ram_available_bytes,
            "runnable": self.runnable,
        }


def plan_placement(
    *,
    device_kind: str,
    device_free_bytes: int | None,
    ram_available_bytes: int | None,
    weights_bytes: int,
    largest_component_bytes: int,
    width: int = 1024,
    height: int = 1024,
    batch: int = 1,
) -> Placement:
    """Choose full GPU, model offload or sequential offload by free VRAM against the weights' size.

    The weights must fit in RAM for any offload (they wait there between uses), and in RAM for the
    CPU; when even sequential offload cannot run, the placement says so with the numbers, before
    anything is loaded. Unknown free memory (None) is taken as enough: guessing wrong costs an
    out-of-memory error the renderer reports, while refusing wrongly would block a machine that works.
    """
    activations = int(width * height * batch / 1_000_000 * _ACTIVATION_BYTES_PER_MEGAPIXEL)

    def placed(mode: str, reason: str) -> Placement:
        return Placement(
            mode, reason, weights_bytes, largest_component_bytes, device_free_bytes, ram_available_bytes
        )

    ram = ram_available_bytes * _RAM_HEADROOM if ram_available_bytes is not None else None
    short_of_ram = ram is not None and weights_bytes > ram
    if device_kind != "cuda" or device_free_bytes is None:
        if device_kind == "cpu" and short_of_ram:
            assert ram_available_bytes is not None
            return placed(
                CANNOT_RUN,
                f"the weights take {format_bytes(weights_bytes)}, more than the "
                f"{format_bytes(int(ram or 0))} they may use of the {format_bytes(ram_available_bytes)} of "
                "memory available (the render itself needs the rest)",
            )
        where = "CPU" if device_kind == "cpu" else device_kind.upper()
        return placed(
            CPU_ONLY if device_kind == "cpu" else GPU, f"weights {format_bytes(weights_bytes)} on the {where}"
        )
    budget = device_free_bytes * _HEADROOM
    free = format_bytes(device_free_bytes)
    if weights_bytes + activations <= budget:
        return placed(GPU, f"weights {format_bytes(weights_bytes)} fit in {free} of free VRAM")
    if short_of_ram:
        assert ram_available_bytes is not None
        return placed(
            CANNOT_RUN,
            f"the weights take {format_bytes(weights_bytes)}: more than the {free} of free VRAM, and "
            f"offloading needs them in RAM, where they may use {format_bytes(int(ram or 0))} of the "
            f"{format_bytes(ram_available_bytes)} available (the render itself needs the rest)",
        )
    if largest_component_bytes + activations <= budget:
        return placed(
            MODEL_OFFLOAD,
            f"weights {format_bytes(weights_bytes)} exceed {free} of free VRAM; the largest component "
            f"({format_bytes(largest_component_bytes)}) fits: components move to the GPU as they run",
        )
    if _SEQUENTIAL_RESIDENT_BYTES + activations <= budget:
        return placed(
            SEQUENTIAL_OFFLOAD,
            f"the largest component ({format_bytes(largest_component_bytes)}) exceeds {free} of free "
            "VRAM: layers move to the GPU one at a time (slow)",
        )
    return placed(
        CANNOT_RUN,
        f"{free} of free VRAM cannot hold even one layer and the activations of a "
        f"{width}x{height} image ({format_bytes(_SEQUENTIAL_RESIDENT_BYTES + activations)} needed)",
    )


def component_bytes(pipe: object) -> dict[str, int]:
    """Bytes of each torch component of a pipeline, by component name."""
    components = getattr(pipe, "components", {}) or {}
    return {name: module_bytes(module) for name, module in components.items() if module_bytes(module)}
