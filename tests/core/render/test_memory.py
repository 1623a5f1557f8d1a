"""Offload and VAE-tiling decisions for GPUs of every size, and the byte counts behind them."""

from __future__ import annotations

import pytest
import torch

from core.render.memory import GIB, format_bytes, module_bytes, plan_memory


def test_cpu_never_offloads_and_tiles_only_huge_images() -> None:
    small = plan_memory(
        device_kind="cpu", device_memory_bytes=None, weights_bytes=7 * GIB, width=1024, height=1024
    )
    assert (small.offload, small.vae_tiling) == (False, False)
    huge = plan_memory(
        device_kind="cpu", device_memory_bytes=None, weights_bytes=2 * GIB, width=4096, height=4096
    )
    assert (huge.offload, huge.vae_tiling) == (False, True)
    assert "tiles" in huge.reason


def test_big_gpu_needs_nothing() -> None:
    plan = plan_memory(
        device_kind="cuda", device_memory_bytes=80 * GIB, weights_bytes=7 * GIB, width=1024, height=1024
    )
    assert (plan.offload, plan.vae_tiling) == (False, False)
    assert plan.reason == "fits in device memory"


def test_sdxl_on_a_6gb_gpu_offloads() -> None:
    plan = plan_memory(
        device_kind="cuda", device_memory_bytes=6 * GIB, weights_bytes=7 * GIB, width=1024, height=1024
    )
    assert plan.offload
    assert "offloaded" in plan.reason


def test_sd1_on_a_4gb_gpu_fits_but_a_large_decode_tiles() -> None:
    sd1 = 2 * GIB
    plan = plan_memory(
        device_kind="cuda", device_memory_bytes=4 * GIB, weights_bytes=sd1, width=512, height=512
    )
    assert (plan.offload, plan.vae_tiling) == (False, False)
    large = plan_memory(
        device_kind="cuda", device_memory_bytes=4 * GIB, weights_bytes=sd1, width=1024, height=1024
    )
    assert large.vae_tiling


def test_unknown_gpu_memory_changes_nothing() -> None:
    plan = plan_memory(
        device_kind="mps", device_memory_bytes=None, weights_bytes=7 * GIB, width=2048, height=2048
    )
    assert (plan.offload, plan.vae_tiling) == (False, False)


def test_module_bytes_counts_parameters_and_buffers() -> None:
    layer = torch.nn.BatchNorm1d(10)  # 20 parameters + 21 buffer elements (running stats + counter)
    expected = sum(t.numel() * t.element_size() for t in [*layer.parameters(), *layer.buffers()])
    assert module_bytes(layer) == expected
    assert module_bytes(object()) == 0
    assert format_bytes(3 * GIB) == "3.0 GB"
    assert format_bytes(350 * 1024**2) == "350 MB"


def test_layer_cache_budget_is_twice_the_weights_but_at_most_half_the_free_memory() -> None:
    from core.render.memory import available_memory_bytes, layer_cache_budget

    assert layer_cache_budget(4 * GIB, 64 * GIB) == 8 * GIB
    assert layer_cache_budget(4 * GIB, 6 * GIB) == 3 * GIB
    assert layer_cache_budget(4 * GIB, None) == 8 * GIB
    assert layer_cache_budget(4 * GIB, 0) == 0
    available = available_memory_bytes()
    assert available is None or available > 0


def test_the_available_memory_here_is_a_real_share_of_the_ram() -> None:
    import os

    from core.render.memory import available_memory_bytes

    available = available_memory_bytes()
    assert available is not None, "Linux says it in /proc/meminfo"
    assert 0 < available <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def test_memorystatusex_is_laid_out_as_windows_documents_it() -> None:
    """sysinfoapi.h: DWORD dwLength, DWORD dwMemoryLoad, then seven DWORDLONG counts; 64 bytes, which
    GlobalMemoryStatusEx checks in dwLength before it fills anything."""
    import ctypes

    from core.render.memory import MemoryStatusEx

    assert ctypes.sizeof(MemoryStatusEx) == 64
    assert MemoryStatusEx.dwMemoryLoad.offset == 4
    assert MemoryStatusEx.ullTotalPhys.offset == 8
    assert MemoryStatusEx.ullAvailPhys.offset == 16
    assert MemoryStatusEx.ullAvailExtendedVirtual.offset == 56


def test_on_windows_the_available_memory_is_asked_of_kernel32_and_caps_the_layer_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows has no /proc/meminfo and no os.sysconf: without GlobalMemoryStatusEx the budget was
    uncapped (twice the weights, whatever the RAM)."""
    import ctypes

    from core.render import memory

    asked: list[int] = []

    def global_memory_status_ex(pointer: ctypes._Pointer[memory.MemoryStatusEx]) -> int:
        asked.append(pointer.contents.dwLength)
        pointer.contents.ullTotalPhys = 16 * GIB
        pointer.contents.ullAvailPhys = 6 * GIB
        return 1

    monkeypatch.setattr(memory, "WINDOWS", True)
    monkeypatch.setattr(memory, "_global_memory_status_ex", lambda: global_memory_status_ex)
    assert memory.available_memory_bytes() == 6 * GIB
    assert asked == [64]
    assert memory.layer_cache_budget(7 * GIB, memory.available_memory_bytes()) == 3 * GIB

    monkeypatch.setattr(memory, "_global_memory_status_ex", lambda: lambda _pointer: 0)  # the call failed
    assert memory.available_memory_bytes() is None


def test_the_windows_branch_off_windows_says_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.render import memory

    monkeypatch.setattr(memory, "WINDOWS", True)
    assert memory.available_memory_bytes() is None
