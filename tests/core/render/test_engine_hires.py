"""The hires fix on a tiny SD1 diffusers folder: two passes, A1111's sizes, upscalers, progress.

Renders are 64 -> 96 with 1-2 steps (the upscale factor is not under test; 1.5 keeps the second pass
small). The upscaling itself is
checked without a pipeline in test_hires; here the question is that the engine runs the second pass on
the loaded modules (no second load) and that what comes out has the target size.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from core.jobs import Progress
from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.render.hires import HiresFix
from core.render.recipe import Recipe
from core.taxonomy import Architecture
from tests.factory.tiny_pipeline import tiny_sd1_folder

pytestmark = pytest.mark.slow

CPU = DeviceChoice(device="cpu", dtype_name="float32", reason="tests run on the CPU")
# One first-pass step, as the hires pass (the step count is checked with two steps in the first test).
BASE = Recipe(prompt="a photo of a cat", seed=7, steps=1, width=64, height=64)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RenderEngine]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", refuse)
        root = tmp_path_factory.mktemp("models")
        folder = tiny_sd1_folder(root / "tiny-sd1", tmp_path_factory.mktemp("cache"), seed=0)
        engine = RenderEngine(tmp_path_factory.mktemp("engine"), device=CPU)
        engine.load(folder, Architecture.SD1, None)
        yield engine


def test_latent_hires_renders_two_passes_at_the_target_size(engine: RenderEngine) -> None:
    reports: list[Progress] = []
    recipe = BASE.replace(steps=2, hires=HiresFix("Latent", scale=1.5, steps=1, denoising=0.5))

    result = engine.render(recipe, progress=reports.append)
    again = engine.render(recipe)

    assert [image.size for image in result.images] == [(96, 96)]
    assert result.images[0].tobytes() == again.images[0].tobytes()
    steps = [(r.done, r.total) for r in reports if r.message.startswith("Step")]
    # Sampling starts (0), 2 first-pass steps, then the 1 hires step.
    assert steps == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert result.recipe is not None
    assert result.recipe.hires == recipe.hires
    assert engine.load_count == 1


def test_image_upscalers_and_a_resize_with_a_crop(engine: RenderEngine) -> None:
    lanczos = engine.render(BASE.replace(hires=HiresFix("Lanczos", scale=1.5, steps=1, denoising=0.4)))
    nearest = engine.render(BASE.replace(hires=HiresFix("Nearest", scale=1.5, steps=1, denoising=0.4)))
    cropped = engine.render(BASE.replace(hires=HiresFix("Latent (bicubic)", resize=(96, 64), steps=1)))

    assert lanczos.images[0].size == nearest.images[0].size == (96, 96)
    assert lanczos.images[0].tobytes() != nearest.images[0].tobytes()
    assert cropped.images[0].size == (96, 64)


def test_an_upscaler_model_atelier_cannot_run_is_refused_by_name(engine: RenderEngine) -> None:
    recipe = BASE.replace(hires=HiresFix("4x-UltraSharp", steps=1))

    assert engine.supports(recipe)[0].startswith("hires upscaler '4x-UltraSharp' is a model Atelier")
    with pytest.raises(ValueError, match="4x-UltraSharp"):
        engine.render(recipe)


def test_a1111s_hires_prompt_and_cfg_change_only_the_second_pass(engine: RenderEngine) -> None:
    recipe = BASE.replace(hires=HiresFix("Latent", scale=1.5, steps=1, denoising=0.6))

    plain = engine.render(recipe).images[0].tobytes()
    own = engine.render(recipe.with_extra({"Hires prompt": "a dog", "Hires CFG Scale": "3"})).images[0]

    assert own.size == (96, 96)
    assert own.tobytes() != plain
