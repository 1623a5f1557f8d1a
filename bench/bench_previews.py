"""Live-preview cost: turning a 512 px render's latents into a preview image, against a baseline.

The baseline is the least any preview does with the same latents: one 4→3 channel matrix product and
the conversion of the result to 8-bit pixels. The ratio shows what the preview adds on top (A1111's
latent approximation, clamping, the PIL image); it runs after every denoising step, so it must stay a
small fraction of a step. Printed as a ratio; run with ``python -m bench.bench_previews``.
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


if __name__ == "__main__":
    main()
