"""A Flux.1 LoRA through the render engine, as the board uses it: the same image as the transformer
with the LoRA's rows merged by hand, weight 0 the bare image bit for bit, weight changes and on/off
without reloading the checkpoint, and the same LoRA in two dialects the same image.

The checkpoint is the tiny Flux.1 ``tests/factory/tiny_families.py`` writes as a full ComfyUI-style
file (its T5 tokenizer served by the loopback Hub); the LoRAs are real .safetensors files in kohya's
BFL naming and diffusers' naming (``tests/factory/dit_lora_files.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.render.recipe import AssetRef, LoraUse, Recipe
from core.taxonomy import Architecture
from tests.factory import dit_lora_files as loras
from tests.factory.tiny_families import TEXT_WIDTH, flux_parts, write_flux_full

CPU = DeviceChoice("cpu", "float32", "tests")
HIDDEN = 64  # the tiny Flux.1's width (2 heads of 32)


pytestmark = pytest.mark.usefixtures("family_hub_env")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("flux-lora")
    checkpoint = write_flux_full(root / "flux-tiny.safetensors", flux_parts(0))
    layers = loras.with_lora(
        loras.flux_layers(hidden=HIDDEN, text_width=TEXT_WIDTH), rank=4, alpha=2.0, seed=3
    )
    for layer in layers:  # strong enough to move pixels in a 2-step render
        layer.factors["up"] = layer.factors["up"] * 20
    files = {}
    for name, writer in (("kohya", loras.kohya), ("diffusers", loras.diffusers_peft)):
        path = root / f"flux-lora-{name}.safetensors"
        save_file({key: value.clone().contiguous() for key, value in writer(layers).items()}, str(path))
        files[name] = path
    return {"checkpoint": checkpoint, "layers": layers, **files}


def _recipe(*uses: LoraUse) -> Recipe:
    return Recipe(
        prompt="a red cat", seed=7, steps=2, width=64, height=64, cfg=1.0, sampler="Euler", loras=uses
    )


def _lora(path: object, weight: float = 1.0) -> LoraUse:
    return LoraUse(AssetRef(Path(str(path)).stem, path=str(path)), weight=weight)


def _pixels(engine: RenderEngine, recipe: Recipe) -> np.ndarray:
    return np.asarray(engine.render(recipe).images[0], dtype=np.int16)


def test_a_flux_lora_renders_as_its_merged_rows(setup: dict[str, object], tmp_path: Path) -> None:
    engine = RenderEngine(tmp_path / "cache", CPU)
    engine.load(Path(str(setup["checkpoint"])), Architecture.FLUX1, None)
    bare = _pixels(engine, _recipe())
    pipe = engine.pipeline

    with_lora = _pixels(engine, _recipe(_lora(setup["kohya"])))
    assert np.abs(with_lora - bare).mean() > 1  # the LoRA changes the picture
    assert np.array_equal(_pixels(engine, _recipe(_lora(setup["kohya"], 0.0))), bare)  # weight 0: bare
    half = _pixels(engine, _recipe(_lora(setup["kohya"], 0.5)))
    assert not np.array_equal(half, with_lora)
    assert np.array_equal(_pixels(engine, _recipe(_lora(setup["kohya"]))), with_lora)  # back, not reloaded
    assert engine.pipeline is pipe
    assert np.array_equal(_pixels(engine, _recipe()), bare)  # off: the bare model again
    diffusers_named = _pixels(engine, _recipe(_lora(setup["diffusers"])))
    assert np.abs(diffusers_named - with_lora).max() <= 1  # same LoRA, other dialect

    # the LoRA's fused deltas cut by rows and merged by hand, rendered without it (after a render
    # without it, so the engine has already put its own LoRA state back)
    assert np.array_equal(_pixels(engine, _recipe()), bare)
    transformer = pipe.transformer
    originals = {name: p.detach().clone() for name, p in transformer.named_parameters()}
    layers = setup["layers"]
    assert isinstance(layers, list)
    with torch.no_grad():
        for path, delta in loras.expected_deltas(layers).items():
            transformer.get_submodule(path).weight.add_(delta)
    try:
        by_hand = _pixels(engine, _recipe())
    finally:
        with torch.no_grad():
            for name, parameter in transformer.named_parameters():
                parameter.copy_(originals[name])
    assert np.abs(by_hand - with_lora).max() <= 1
