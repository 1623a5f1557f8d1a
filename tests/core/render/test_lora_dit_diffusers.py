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
from pathlib import Path
from typing import Any

import pytest
import torch

from core.render.lora import LoraApplication, LoraPatcher, load_network, network_from_tensors
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


@pytest.mark.parametrize("rslora", [False, True])
def test_a_diffusers_saved_lora_is_scaled_by_its_saved_peft_config(
    pipes: dict[str, Any], rslora: bool, tmp_path: Path
) -> None:
    """diffusers keeps alpha in the file's ``lora_adapter_metadata`` (lora_alpha, alpha_pattern, rsLoRA),
    not in tensors: the file written by diffusers' own ``save_lora_weights`` merges as it fuses it."""
    from peft import LoraConfig

    base = pipes["flux"]
    layers = files.with_lora(files.LAYERS["flux"](), alpha=None)
    tensors = files.diffusers_peft(layers, prefix="")
    config = LoraConfig(
        r=4, lora_alpha=8, alpha_pattern={"attn.to_q": 2.0}, use_rslora=rslora, target_modules=["to_q"]
    ).to_dict()
    config = {key: sorted(value) if isinstance(value, set) else value for key, value in config.items()}
    type(base).save_lora_weights(
        tmp_path,
        transformer_lora_layers={key: value.clone() for key, value in tensors.items()},
        transformer_lora_adapter_metadata=config,
    )
    path = next(tmp_path.glob("*.safetensors"))
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    theirs.load_lora_weights(str(path))
    theirs.fuse_lora(components=["transformer"], lora_scale=1.0)
    theirs.unload_lora_weights()
    assert LoraPatcher(ours, unfused=False).apply([LoraApplication(load_network(path), 1.0, 1.0, "x")]) == []

    before, mine, other = (
        base.transformer.state_dict(),
        ours.transformer.state_dict(),
        theirs.transformer.state_dict(),
    )
    assert sum(not torch.equal(other[key], before[key]) for key in mine) == 20
    for key in mine:
        torch.testing.assert_close(mine[key], other[key], rtol=0, atol=1e-6)
    q = "transformer_blocks.0.attn.to_q.weight"
    k = "transformer_blocks.0.attn.to_k.weight"
    # PEFT: lora_alpha / r, or lora_alpha / √r with rsLoRA (r = 4, √r = 2)
    scale_q, scale_k = (2.0 / 4, 8.0 / 4) if not rslora else (2.0 / 2, 8.0 / 2)
    delta = files.expected_deltas(files.with_lora(files.LAYERS["flux"](), alpha=None))
    torch.testing.assert_close(
        mine[q], before[q] + scale_q * delta["transformer_blocks.0.attn.to_q"], rtol=0, atol=1e-6
    )
    torch.testing.assert_close(
        mine[k], before[k] + scale_k * delta["transformer_blocks.0.attn.to_k"], rtol=0, atol=1e-6
    )
