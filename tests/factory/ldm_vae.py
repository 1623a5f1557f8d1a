"""Write a diffusers ``AutoencoderKL`` as the single VAE file users download (LDM key names).

Real VAE files (``vae-ft-mse-840000-ema-pruned.safetensors``, ``kl-f8-anime2.ckpt``) use the original
CompVis names, bare or under ``first_stage_model.``, with attention projections stored as 1x1 convs.
This is the inverse of diffusers' ``convert_ldm_vae_checkpoint`` (as in diffusers'
scripts/convert_diffusers_to_original_stable_diffusion.py), so the renderer's VAE loader is tested
against the naming it meets in a models folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _ldm_name(key: str, up_blocks: int) -> str:
    name = key.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
    name = re.sub(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)", r"encoder.down.\1.block.\2", name)
    name = re.sub(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0", r"encoder.down.\1.downsample", name)
    name = re.sub(
        r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)",
        lambda m: f"decoder.up.{up_blocks - 1 - int(m[1])}.block.{m[2]}",
        name,
    )
    name = re.sub(
        r"decoder\.up_blocks\.(\d+)\.upsamplers\.0",
        lambda m: f"decoder.up.{up_blocks - 1 - int(m[1])}.upsample",
        name,
    )
    name = re.sub(r"mid_block\.resnets\.(\d+)", lambda m: f"mid.block_{int(m[1]) + 1}", name)
    for new, old in _ATTENTION.items():
        name = name.replace(f"mid_block.attentions.0.{new}.", f"mid.attn_1.{old}.")
    return name


def ldm_vae_state_dict(vae: Any, prefix: str = "") -> dict[str, Any]:
    """``vae``'s weights under LDM names (attention weights as 1x1 convs), each key prefixed."""
    up_blocks = len(vae.config.up_block_types)
    state: dict[str, Any] = {}
    for key, tensor in vae.state_dict().items():
        name = _ldm_name(key, up_blocks)
        value = tensor.detach().clone().contiguous()
        if ".attn_1." in name and name.endswith(".weight") and value.ndim == 2:
            value = value[:, :, None, None].contiguous()
        state[prefix + name] = value
    return state


def write_ldm_vae(vae: Any, path: Path, *, prefix: str = "", extra: dict[str, Any] | None = None) -> Path:
    """Save ``vae`` as ``.safetensors`` or, for ``.ckpt``/``.pt``, a torch pickle under ``state_dict``."""
    import torch

    state = ldm_vae_state_dict(vae, prefix)
    state.update(extra or {})
    if path.suffix in (".ckpt", ".pt"):
        torch.save({"state_dict": state, "global_step": 840000}, str(path))
    else:
        from safetensors.torch import save_file

        save_file(state, str(path))
    return path


def tiny_vae(seed: int) -> Any:
    """A VAE with the tiny pipelines' config and different weights (the "other VAE" of a swap test)."""
    import torch

    from tests.factory.tiny_pipeline import _perturb, _vae

    torch.manual_seed(seed)
    vae = _vae()
    _perturb(vae, seed=seed + 1)
    return vae
