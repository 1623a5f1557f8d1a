"""Loading a separate VAE (``vae-ft-mse-840000-ema-pruned``, ``kl-f8-anime2.ckpt``...) for a loaded pipeline.

VAE files come in three namings: bare LDM keys (``encoder.down.0.block.0...``), LDM keys under the
``first_stage_model.`` prefix (a full checkpoint, or a VAE cut out of one), and diffusers keys. Many
``.ckpt`` VAEs also carry the training loss (``loss.*``), which is ignored. The new VAE is built with the
*checkpoint's own VAE config*: the latent scaling factor differs between SD1/SD2 and SDXL and belongs
to the checkpoint the latents come from, not to the VAE file.

torch and diffusers are imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.render.tensor_files import (
    UnreadableTensorFileError,
    UnsafePickleError,
    load_pickle,
    read_safetensors,
)

_PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")
_DIFFUSERS_PREFIXES = ("encoder.down_blocks.", "decoder.up_blocks.", "encoder.mid_block.")


class VaeFormatError(ValueError):
    """The file is not a VAE this renderer can use with the loaded checkpoint."""


def read_state_dict(path: Path) -> dict[str, Any]:
    """All tensors of a ``.safetensors`` file or a pickle read with ``weights_only=True`` (never runs code).

    Pickled training checkpoints keep the tensors under ``state_dict``; that level is unwrapped.
    """
    import torch

    if path.suffix.lower() not in _PICKLE_SUFFIXES:
        try:
            return read_safetensors(path)[0]
        except UnreadableTensorFileError as error:
            raise VaeFormatError(f"{path.name} cannot be read: {error}") from error
    try:
        loaded = load_pickle(path)
    except (UnsafePickleError, UnreadableTensorFileError, OSError) as error:
        raise VaeFormatError(f"{path.name} cannot be read safely: {str(error)[:200]}") from error
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping):
        raise VaeFormatError(f"{path.name} does not hold a dictionary of tensors")
    return {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}


def _to_diffusers_keys(state: dict[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    if any(key.startswith(_DIFFUSERS_PREFIXES) for key in state):
        return state
    from diffusers.loaders import single_file_utils

    convert: Any = single_file_utils.convert_ldm_vae_checkpoint  # untyped upstream
    return dict(convert(state, dict(config)))


def load_vae(path: Path, like: Any, *, dtype: Any, device: str) -> Any:
    """An ``AutoencoderKL`` with ``like``'s config (the checkpoint's VAE) and the weights of ``path``.

    ``path`` is a single file (any naming above) or a diffusers VAE folder. Raises
    :class:`VaeFormatError` when the file lacks tensors of that layout or has other shapes (an SD3/Flux
    16-channel VAE on an SD1 checkpoint, a LoRA dropped on the VAE slot).
    """
    import diffusers

    autoencoder: Any = diffusers.AutoencoderKL  # untyped upstream
    path = Path(path)
    config = dict(like.config)
    if path.is_dir():
        weights = next((p for p in sorted(path.glob("diffusion_pytorch_model*.safetensors"))), None)
        if weights is None:
            weights = next((p for p in sorted(path.glob("diffusion_pytorch_model*.bin"))), None)
        if weights is None:
            raise VaeFormatError(f"{path.name} is a folder without diffusers VAE weights")
        path = weights
    state = _to_diffusers_keys(read_state_dict(path), config)
    try:
        from accelerate import init_empty_weights

        with init_empty_weights():
            vae = autoencoder.from_config(config)
    except ImportError:  # accelerate is a dependency, but the fallback costs only time
        vae = autoencoder.from_config(config)
    expected = vae.state_dict()
    missing = [key for key in expected if key not in state]
    if missing:
        raise VaeFormatError(
            f"{path.name} is not a VAE for this checkpoint: {len(missing)} of {len(expected)} tensors are "
            f"missing (e.g. {', '.join(missing[:3])})"
        )
    wrong = [key for key, tensor in expected.items() if tuple(state[key].shape) != tuple(tensor.shape)]
    if wrong:
        key = wrong[0]
        raise VaeFormatError(
            f"{path.name} does not fit this checkpoint: {key} has shape {tuple(state[key].shape)}, "
            f"the checkpoint's VAE needs {tuple(expected[key].shape)}"
        )
    vae.load_state_dict({key: state[key].to(dtype) for key in expected}, strict=True, assign=True)
    vae.eval()
    return vae.to(device)
