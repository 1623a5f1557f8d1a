"""Cross-check: where diffusers itself loads a DiT LoRA dialect, its ``load_lora_weights`` +
``fuse_lora`` gives the same transformer weights as Atelier's merge.

Both run on copies of the same tiny pipeline (``tests/factory/dit_lora_files.py``) with the same
file. Cases are the dialects diffusers 0.42 converts for each family; layers diffusers cannot take in
a tiny model are left out of that file and named here (the independent-formula tests in
``test_lora_dit.py`` cover them):

* Flux.1 kohya: its converter hard-codes the real Flux sizes for ``single_blocks.N.linear1``
  (3072·3 + 12288 rows), ignores ``alpha`` on ``final_layer`` and leaves ``txt_in``/``guidance_in``
  unapplied, so those four layers are left out of the kohya files;
* Chroma and SD3.5: diffusers converts only diffusers/PEFT and XLabs names for them;
* Z-Image: diffusers splits a fused ``qkv`` only in ComfyUI's ``.lora.down.weight`` files.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch

from core.render.lora import LoraApplication, LoraPatcher, network_from_tensors
from tests.factory import dit_lora_files as files
from tests.factory.dit_lora_files import FusedLayer

_DIFFUSERS_SKIPS_IN_KOHYA = (
    "single_blocks.0.linear1",
    "final_layer.adaLN_modulation.1",
    "txt_in",
    "guidance_in.in_layer",
)


def _without_kohya_skips(layers: list[FusedLayer]) -> list[FusedLayer]:
    return [layer for layer in layers if layer.original not in _DIFFUSERS_SKIPS_IN_KOHYA]


def _z_image_blocks(layers: list[FusedLayer]) -> list[FusedLayer]:
    return [
        layer
        for layer in layers
        if layer.original.startswith(("layers.", "noise_refiner", "context_refiner"))
    ]


Case = tuple[str, Callable[[list[FusedLayer]], dict[str, torch.Tensor]]]
CASES: dict[str, Case] = {
    "flux-kohya": ("flux", lambda layers: files.kohya(_without_kohya_skips(layers))),
    "flux-comfy-lora_down": (
        "flux",
        lambda layers: files.comfy(_without_kohya_skips(layers), files.KOHYA_ROLES),
    ),
    "flux-diffusers": ("flux", files.diffusers_peft),
    "flux-xlabs": ("flux", files.xlabs),
    "chroma-diffusers": ("chroma", files.diffusers_peft),
    "chroma-xlabs": ("chroma", files.xlabs),
    "sd3-diffusers": ("sd3", files.diffusers_peft),
    "qwen-kohya": ("qwen", files.kohya),
    "qwen-ai-toolkit": ("qwen", files.comfy),
    "qwen-diffusers": ("qwen", files.diffusers_peft),
    "zimage-musubi": ("zimage", files.musubi),
    "zimage-comfy-dot": ("zimage", lambda layers: files.comfy_dot(_z_image_blocks(layers))),
    "zimage-diffusers": ("zimage", files.diffusers_peft),
}


@pytest.fixture(autouse=True)
def _quiet_diffusers() -> Iterator[None]:
    """diffusers/PEFT log every component a LoRA has no keys for (the None ones here)."""
    from diffusers.utils import logging as diffusers_logging

    level = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    logging.disable(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
    logging.disable(logging.NOTSET)
    diffusers_logging.set_verbosity(level)


@pytest.fixture(scope="module")
def pipes() -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {family: files.PIPELINES[family]() for family in ("flux", "chroma", "sd3", "qwen", "zimage")}


@pytest.mark.parametrize("case", list(CASES))
def test_atelier_merges_what_diffusers_fuses(pipes: dict[str, Any], case: str) -> None:
    family, write = CASES[case]
    tensors = write(files.with_lora(files.LAYERS[family]()))
    base = pipes[family]
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)

    theirs.load_lora_weights({key: value.clone() for key, value in tensors.items()})
    theirs.fuse_lora(components=["transformer"], lora_scale=0.7)
    theirs.unload_lora_weights()
    patcher = LoraPatcher(ours, unfused=False)
    assert patcher.apply([LoraApplication(network_from_tensors(case, tensors), 0.7, 1.0, case)]) == []

    before = base.transformer.state_dict()
    mine, other = ours.transformer.state_dict(), theirs.transformer.state_dict()
    assert mine.keys() == other.keys()
    changed = [key for key in mine if not torch.equal(other[key], before[key])]
    assert changed, "diffusers applied nothing: the case does not test anything"
    assert changed == [key for key in mine if not torch.equal(mine[key], before[key])]
    for key in mine:
        torch.testing.assert_close(mine[key], other[key], rtol=0, atol=1e-6)
