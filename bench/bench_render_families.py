"""Benchmark: a render through Atelier's engine vs a bare diffusers call, per transformer family.

For Flux.1, Chroma, SD3.5, Z-Image and Qwen-Image, a tiny model (tests/factory/tiny_families.py: the
real pipeline classes at widths of 32-256) is written as a full checkpoint and loaded by
``RenderEngine``; then ``RenderEngine.render`` and a bare call of the same pipeline object alternate, and
the median of their times is compared. The bare call gets exactly what the engine passes: the prompt,
steps, size and seed, the scheduler the engine set (with its shift), and the family's own guidance
arguments (Flux.1's distilled guidance, CFG with a negative prompt for Chroma, SD3.5 and Z-Image,
``true_cfg_scale`` for Qwen-Image), at each family's default CFG (1 for Flux.1 and Z-Image Turbo, whose
defaults skip the negative pass; 4 for the others). Target: ratio <= 1.05 (the engine adds bookkeeping,
never work). Both run in this process, on this machine's device, in the same conditions; the T5 and Qwen
tokenizers are served by the tests' loopback Hub.

    python -m bench.bench_render_families [--repeat N] [--steps N] [--size PX] [--threads N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.render.families import FAMILIES
from core.render.family_rules import family_guidance
from core.render.recipe import Recipe
from core.taxonomy import Architecture
from tests.factory.tiny_families import (
    FamilyModel,
    add_tokenizer_repo,
    chroma_model,
    flux_parts,
    qwen_image_model,
    sd3_model,
    write_full,
    z_image_model,
)
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.server import serve


def _flux() -> FamilyModel:
    parts = flux_parts(0)
    return FamilyModel(parts.transformer, parts.vae, {"clip_l": parts.clip_l, "t5xxl": parts.t5})


BUILDERS: dict[Architecture, Callable[[], FamilyModel]] = {
    Architecture.FLUX1: _flux,
    Architecture.CHROMA: chroma_model,
    Architecture.SD3: sd3_model,
    Architecture.Z_IMAGE: z_image_model,
    Architecture.QWEN_IMAGE: qwen_image_model,
}
DEFAULT_CFG = 4.0  # the CFG of a family without a default of its own (Chroma, SD3.5)


def _bare(engine: RenderEngine, architecture: Architecture, recipe: Recipe) -> Callable[[], Any]:
    import torch

    family = FAMILIES[architecture]
    pipe = engine.pipeline
    settings = {
        "cfg": recipe.cfg,
        "guidance": family_guidance(family, recipe),
        "negative_prompt": recipe.negative_prompt,
    }

    def call() -> Any:
        return pipe(
            prompt=recipe.prompt,
            num_inference_steps=recipe.steps,
            width=recipe.width,
            height=recipe.height,
            generator=torch.Generator(device="cpu").manual_seed(recipe.seed),
            output_type="pil",
            **family.arguments(settings),
        )

    return call


def _median_pair(ours: Callable[[], Any], bare: Callable[[], Any], repeat: int) -> tuple[float, float]:
    ours(), bare()  # warm-up: first calls pay one-time costs (kernels, tokenizer caches)
    times_ours, times_bare = [], []
    for _ in range(repeat):
        for fn, bucket in ((ours, times_ours), (bare, times_bare)):
            started = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - started)
    return statistics.median(times_ours), statistics.median(times_bare)


def run(repeat: int, steps: int, size: int) -> list[dict[str, Any]]:
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-families-") as folder,
        serve(HubHandler, HubState()) as hub,
    ):
        add_tokenizer_repo(hub.state)
        os.environ["HF_ENDPOINT"] = hub.base_url
        os.environ["HF_HOME"] = str(Path(folder) / "hf-home")
        os.environ.pop("HF_HUB_OFFLINE", None)
        engine = RenderEngine(Path(folder) / "cache", DeviceChoice("cpu", "float32", "benchmark"))
        for architecture, build in BUILDERS.items():
            checkpoint = write_full(Path(folder) / f"{architecture.value}.safetensors", build())
            engine.load(checkpoint, architecture, None)
            cfg = FAMILIES[architecture].default_cfg or DEFAULT_CFG
            recipe = Recipe(
                prompt="a red cat on a tree",
                negative_prompt="blue" if cfg > 1 else "",
                seed=11,
                steps=steps,
                width=size,
                height=size,
                cfg=cfg,
                sampler="Euler",
            )
            engine.render(recipe)  # applies the sampler once, as a first render does
            ours, bare = _median_pair(
                lambda r=recipe: engine.render(r), _bare(engine, architecture, recipe), repeat
            )
            results.append(
                {
                    "family": architecture.value,
                    "cfg": cfg,
                    "ours_s": ours,
                    "bare_s": bare,
                    "ratio": ours / bare,
                    "target": 1.05,
                }
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1 steadies a busy machine)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    results = run(args.repeat, args.steps, args.size)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for row in results:
        print(
            f"{row['family']:>10} (CFG {row['cfg']:g}): engine {row['ours_s'] * 1000:7.1f} ms, "
            f"bare diffusers {row['bare_s'] * 1000:7.1f} ms -> ratio {row['ratio']:.3f} "
            f"(target <= {row['target']})"
        )


if __name__ == "__main__":
    main()
