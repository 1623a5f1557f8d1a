"""Loading a separate VAE in every naming users meet, into the checkpoint's VAE config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from core.render.vae import VaeFormatError, load_vae
from tests.factory.files import write_malicious_torch
from tests.factory.ldm_vae import ldm_vae_state_dict, tiny_vae, write_ldm_vae
from tests.factory.tiny_pipeline import _vae


@pytest.fixture(scope="module")
def other() -> Any:
    return tiny_vae(seed=5)


@pytest.fixture(scope="module")
def like() -> Any:
    torch.manual_seed(0)
    return _vae()


def _same_weights(a: Any, b: Any) -> None:
    left, right = a.state_dict(), b.state_dict()
    assert left.keys() == right.keys()
    for key in left:
        assert torch.equal(left[key], right[key]), key


@pytest.mark.parametrize(
    ("name", "prefix"),
    [("vae-ft-mse.safetensors", ""), ("cut.safetensors", "first_stage_model."), ("anime.ckpt", "")],
)
def test_ldm_named_files_load_exactly(tmp_path: Path, other: Any, like: Any, name: str, prefix: str) -> None:
    extra = {"loss.logvar": torch.zeros(())} if name.endswith(".ckpt") else None
    path = write_ldm_vae(other, tmp_path / name, prefix=prefix, extra=extra)
    loaded = load_vae(path, like, dtype=torch.float32, device="cpu")
    _same_weights(loaded, other)
    assert loaded.config.scaling_factor == like.config.scaling_factor


def test_attention_weights_are_converted_from_1x1_convs(other: Any) -> None:
    state = ldm_vae_state_dict(other)
    assert state["encoder.mid.attn_1.q.weight"].shape[-2:] == (1, 1)


def test_diffusers_named_file_and_folder(tmp_path: Path, other: Any, like: Any) -> None:
    from safetensors.torch import save_file

    flat = save_file(other.state_dict(), str(tmp_path / "diffusers-vae.safetensors"))
    assert flat is None
    _same_weights(
        load_vae(tmp_path / "diffusers-vae.safetensors", like, dtype=torch.float32, device="cpu"), other
    )
    other.save_pretrained(str(tmp_path / "vae-folder"))
    _same_weights(load_vae(tmp_path / "vae-folder", like, dtype=torch.float32, device="cpu"), other)


def test_dtype_is_applied(tmp_path: Path, other: Any, like: Any) -> None:
    path = write_ldm_vae(other, tmp_path / "v.safetensors")
    loaded = load_vae(path, like, dtype=torch.float16, device="cpu")
    assert next(loaded.parameters()).dtype == torch.float16


def test_wrong_layout_is_refused(tmp_path: Path, like: Any) -> None:
    from diffusers import AutoencoderKL

    wide = AutoencoderKL(
        block_out_channels=(32, 64),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=16,
        norm_num_groups=32,
    )
    path = write_ldm_vae(wide, tmp_path / "flux-ae.safetensors")
    with pytest.raises(VaeFormatError, match="does not fit"):
        load_vae(path, like, dtype=torch.float32, device="cpu")


def test_not_a_vae_is_refused(tmp_path: Path, like: Any) -> None:
    from safetensors.torch import save_file

    save_file({"lora_unet_x.lora_down.weight": torch.zeros(4, 4)}, str(tmp_path / "lora.safetensors"))
    with pytest.raises(VaeFormatError, match="not a VAE"):
        load_vae(tmp_path / "lora.safetensors", like, dtype=torch.float32, device="cpu")
    (tmp_path / "broken.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(VaeFormatError, match="cannot be read"):
        load_vae(tmp_path / "broken.safetensors", like, dtype=torch.float32, device="cpu")
    (tmp_path / "empty-folder").mkdir()
    with pytest.raises(VaeFormatError, match="without diffusers VAE weights"):
        load_vae(tmp_path / "empty-folder", like, dtype=torch.float32, device="cpu")


def test_malicious_pickle_is_refused_without_running(tmp_path: Path, like: Any) -> None:
    marker = tmp_path / "pwned"
    path = write_malicious_torch(tmp_path / "evil.ckpt", marker)
    with pytest.raises(VaeFormatError, match="cannot be read safely"):
        load_vae(path, like, dtype=torch.float32, device="cpu")
    assert not marker.exists()
