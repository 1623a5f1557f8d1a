"""GGUF transformers (city96's ``flux1-dev-Q8_0.gguf``, ``qwen-image-Q4_K_M.gguf``...) for the renderer.

ComfyUI-GGUF users keep a family's diffusion model as a ``.gguf`` file: the same tensor names as the
diffusion-model-only ``.safetensors`` file, each tensor either plain (F32, F16: small tensors, norms,
biases) or quantized in llama.cpp's block formats (Q8_0, Q4_K...). diffusers reads such a file into
``GGUFParameter`` tensors that keep the quantized bytes and builds ``GGUFLinear`` layers that dequantize
their weight as they run (``GGUFQuantizationConfig``), so a Q8_0 Flux.1 takes about half the memory of
its bf16 file. This module is the one place the renderer reads GGUF data and tells quantized tensors and
layers apart; :mod:`core.render.family_loader` builds the pipeline and :mod:`core.render.lora` applies
LoRAs beside the quantized layers, whose weights cannot be rewritten in place.

Tensor names come from Atelier's own header reader (no tensor data read); the data from diffusers'
GGUF loader, which imports the ``gguf`` package. torch and diffusers are imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def is_gguf(path: Path) -> bool:
    """Whether ``path`` is a GGUF file (by its name, as every other loader of the renderer decides)."""
    return path.suffix.lower() == ".gguf"


def gguf_tensor_names(path: Path) -> frozenset[str]:
    """Every tensor name of a GGUF file, from its header alone."""
    from core.formats.gguf import read_gguf_header

    return frozenset(read_gguf_header(path).tensors)


def is_quantized(tensor: Any) -> bool:
    """Whether ``tensor`` holds GGUF block-quantized bytes (diffusers' ``GGUFParameter``)."""
    return getattr(tensor, "quant_type", None) is not None


def is_quantized_state(state: Mapping[str, Any]) -> bool:
    """Whether any tensor of ``state`` is GGUF-quantized (an all-F16 GGUF file loads as a plain model)."""
    return any(is_quantized(tensor) for tensor in state.values())


def is_quantized_layer(layer: Any) -> bool:
    """Whether ``layer`` is a diffusers GGUF layer whose weight is quantized bytes."""
    return is_quantized(getattr(layer, "weight", None))


def logical_shape(tensor: Any) -> tuple[int, ...]:
    """A weight's shape as the model uses it: a GGUF-quantized tensor's stored shape counts bytes."""
    return tuple(int(d) for d in getattr(tensor, "quant_shape", None) or tensor.shape)


def compute_dtype(layer: Any) -> Any:
    """The dtype ``layer`` computes in: a GGUF layer's compute dtype, else its weight's dtype."""
    weight = layer.weight
    if is_quantized(weight):
        return getattr(layer, "compute_dtype", None) or weight.dtype
    return weight.dtype


def dequantized(tensor: Any, dtype: Any, device: Any = None) -> Any:
    """``tensor`` as plain numbers of ``dtype`` on ``device`` (None: where it is); a GGUF-quantized one
    is moved as bytes and dequantized there."""
    if not is_quantized(tensor):
        return tensor.to(device=device, dtype=dtype)
    from diffusers.quantizers.gguf import utils

    dequantize: Any = utils.dequantize_gguf_tensor
    return dequantize(tensor.to(device=device)).to(dtype)


def read_gguf(
    path: Path, wanted: Callable[[str], str | None], dtype: Any, *, keep_quantized: bool
) -> dict[str, Any]:
    """The tensors of a GGUF file whose names ``wanted`` maps to a new name (None: skip).

    Quantized tensors stay ``GGUFParameter`` with ``keep_quantized`` (for diffusers' GGUF layers) and
    are dequantized to ``dtype`` otherwise; plain F16/F32 tensors are returned as stored (the model's
    loader casts them, as for a ``.safetensors`` file). Raises ValueError (one line) when the ``gguf``
    package is missing.
    """
    try:
        import gguf  # noqa: F401 - diffusers imports it inside; a missing one is said here in one line
    except ImportError as error:
        raise ValueError(
            f"{path.name} is a GGUF file and reading it needs the 'gguf' package: pip install gguf"
        ) from error
    from diffusers.models import model_loading_utils

    load: Any = model_loading_utils.load_gguf_checkpoint
    found: dict[str, Any] = {}
    for name, tensor in load(str(path)).items():
        new = wanted(name)
        if new is None:
            continue
        found[new] = tensor if keep_quantized or not is_quantized(tensor) else dequantized(tensor, dtype)
    return found


def dequantize_outside_layers(model: Any, dtype: Any) -> int:
    """Dequantize every quantized parameter of ``model`` that no GGUF layer runs; return how many.

    diffusers replaces only ``Linear`` layers by GGUF layers; a converter may still have quantized
    another 2-D parameter (Z-Image's ``x_pad_token``), which would reach the model as raw bytes. Those
    are small: they become plain ``dtype`` parameters.
    """
    import torch

    count = 0
    for module in model.modules():
        if type(module).__name__ == "GGUFLinear":
            continue
        for name, parameter in list(module.named_parameters(recurse=False)):
            if is_quantized(parameter):
                setattr(module, name, torch.nn.Parameter(dequantized(parameter, dtype), requires_grad=False))
                count += 1
    return count
