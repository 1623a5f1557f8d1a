"""Live-preview cost: turning a 512 px render's latents into a preview image, against a baseline.

The baseline is the least any preview does with the same latents: one 4→3 channel matrix product and
the conversion of the result to 8-bit pixels. A second line does the same for a 1024 px Flux.1 render,
whose packed 16-channel latents must be unpacked first (the baseline unpacks and maps them bare).
The ratio shows what the preview adds on top (the latent approximation, clamping, the PIL image); it
runs after every denoising step, so it must stay a small fraction of a step. Printed as ratios; run
with ``python -m bench.bench_previews`` (``OMP_NUM_THREADS=1`` gives steadier figures on a busy machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from core.render.previews import latents_to_preview
from core.taxonomy import Architecture

ROUNDS = 50


def best_of(work: Callable[[], object]) -> float:
    work()  # warm-up
    timings = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        work()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    latents = torch.randn(1, 4, 64, 64)  # a 512x512 SD1 render
    factors = torch.randn(4, 3)

    def baseline() -> object:
        rgb = torch.einsum("bchw,cr->bhwr", latents, factors)
        return rgb.clamp(-1, 1).add(1).mul(127.5).to(torch.uint8).numpy()

    ours = best_of(lambda: latents_to_preview(latents, Architecture.SD1))
    bare = best_of(baseline)
    print(
        f"live preview of a 512 px SD1 render: {ours * 1000:.2f} ms vs bare conversion {bare * 1000:.2f} ms"
    )
    print(f"ratio {ours / bare:.2f} (target: well under a denoising step; ≤ 2 ms absolute)")

    # A 1024x1024 Flux.1 render: packed 2x2-patch tokens of 16 channels, unpacked before the map.
    packed = torch.randn(1, 64 * 64, 64)
    flux_factors = torch.randn(16, 3)
    flux_bias = torch.randn(3)

    def flux_baseline() -> object:
        grid = packed.view(1, 64, 64, 16, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(1, 16, 128, 128)
        rgb = torch.einsum("bchw,cr->bhwr", grid, flux_factors) + flux_bias
        return rgb.clamp(-1, 1).add(1).mul(127.5).to(torch.uint8).numpy()

    flux_ours = best_of(lambda: latents_to_preview(packed, Architecture.FLUX1, width=1024, height=1024))
    flux_bare = best_of(flux_baseline)
    print(
        f"live preview of a 1024 px Flux.1 render: {flux_ours * 1000:.2f} ms "
        f"vs bare unpack + conversion {flux_bare * 1000:.2f} ms"
    )
    print(f"ratio {flux_ours / flux_bare:.2f} (target: well under a denoising step; ≤ 5 ms absolute)")


if __name__ == "__main__":
    main()
