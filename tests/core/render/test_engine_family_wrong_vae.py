"""A separate VAE file the family's autoencoder cannot be built from is refused naming that file, never
as "cannot load <checkpoint>": the checkpoint is fine (a tiny real Flux.1 full file with Qwen-Image's
Wan-layout VAE given beside it, which diffusers' AutoencoderKL converter rejects)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.taxonomy import Architecture
from tests.factory.tiny_families import (
    _save,
    flux_parts,
    qwen_image_vae_wan_names,
    tiny_qwen_image_vae,
    write_flux_full,
)

pytestmark = pytest.mark.usefixtures("family_hub_env")
CPU = DeviceChoice("cpu", "float32", "tests")


def test_a_vae_of_another_layout_is_named_not_the_checkpoint(tmp_path: Path) -> None:
    checkpoint = write_flux_full(tmp_path / "flux1-dev-tiny.safetensors", flux_parts(0))
    state = qwen_image_vae_wan_names(tiny_qwen_image_vae(0).state_dict())
    vae = _save(tmp_path / "qwen_image_vae.safetensors", state)
    engine = RenderEngine(tmp_path / "cache", CPU)
    with pytest.raises(
        ValueError, match=r"^qwen_image_vae\.safetensors is not a VAE a Flux\.1 model decodes with \("
    ) as caught:
        engine.load(checkpoint, Architecture.FLUX1, None, vae=vae)
    assert "flux1-dev-tiny" not in str(caught.value)
