"""The flow samplers inside diffusers' real FluxPipeline (tiny seeded model, 64 px, CPU).

The pipeline calls ``set_timesteps(sigmas=..., mu=...)``, steps with float timesteps and, for img2img
(the hires pass), ``scale_noise``: each supported sampler must take those calls, follow the seed and
sample its own sigmas.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from core.render.configs import RESOURCES_CONFIG_ROOT
from core.render.families import T5_TOKENIZER
from core.render.samplers import make_scheduler
from tests.factory.tiny_families import flux_parts, t5_tokenizer_files


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from diffusers import FluxPipeline
    from transformers import CLIPTokenizer, T5TokenizerFast

    from core.render.tokenizer import ensure_tokenizers

    folder = tmp_path_factory.mktemp("flux-tokenizers")
    root = ensure_tokenizers(RESOURCES_CONFIG_ROOT, folder / "cache")
    for name, data in t5_tokenizer_files().items():
        target = folder / "t5" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    parts = flux_parts(7)
    return FluxPipeline(
        scheduler=make_scheduler("Euler", FLUX),
        vae=parts.vae,
        text_encoder=parts.clip_l,
        tokenizer=CLIPTokenizer.from_pretrained(str(root / "flux1" / "tokenizer")),
        text_encoder_2=parts.t5,
        tokenizer_2=T5TokenizerFast.from_pretrained(str(Path(folder / "t5" / T5_TOKENIZER.subfolder))),
        transformer=parts.transformer,
    )


FLUX = json.loads((RESOURCES_CONFIG_ROOT / "flux1" / "scheduler" / "scheduler_config.json").read_text())


def _render(pipe: Any, sampler: str, schedule: str, seed: int = 3, shift: float | None = None) -> Any:
    pipe.scheduler = make_scheduler(sampler, FLUX, schedule, shift=shift)  # from the checkpoint's config
    return pipe(
        prompt="a red cat",
        height=64,
        width=64,
        num_inference_steps=3,
        guidance_scale=3.5,
        max_sequence_length=16,
        generator=torch.Generator().manual_seed(seed),
        output_type="latent",
    ).images


@pytest.mark.parametrize(
    ("sampler", "schedule"), [("Euler", "Simple"), ("DPM++ 2M", "Karras"), ("Heun", "Beta")]
)
def test_each_flow_sampler_renders_and_follows_the_seed(pipe: Any, sampler: str, schedule: str) -> None:
    first = _render(pipe, sampler, schedule)
    assert torch.isfinite(first).all()
    assert torch.equal(first, _render(pipe, sampler, schedule))
    assert not torch.equal(first, _render(pipe, sampler, schedule, seed=4))
    sigmas = [round(float(s), 4) for s in pipe.scheduler.sigmas]
    assert sigmas[0] == 1.0
    assert sigmas[-1] == 0.0


def test_schedules_and_shift_change_the_image(pipe: Any) -> None:
    simple = _render(pipe, "Euler", "Simple")
    assert not torch.equal(simple, _render(pipe, "Euler", "Karras"))
    assert not torch.equal(simple, _render(pipe, "Euler", "Simple", shift=1.0))


def test_img2img_takes_the_flow_schedulers(pipe: Any) -> None:
    from diffusers import FluxImg2ImgPipeline

    image = torch.rand(1, 3, 64, 64)
    for sampler in ("Euler", "DPM++ 2M", "Heun"):
        img2img = FluxImg2ImgPipeline(**pipe.components)
        img2img.scheduler = make_scheduler(sampler, FLUX, "Simple")
        out = img2img(
            prompt="a red cat",
            image=image,
            strength=0.6,
            height=64,
            width=64,
            num_inference_steps=4,
            max_sequence_length=16,
            generator=torch.Generator().manual_seed(1),
            output_type="latent",
        ).images
        assert torch.isfinite(out).all(), sampler
