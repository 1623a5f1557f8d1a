"""Reading tensors from model files without ever running pickled code: the one place the renderer
calls ``torch.load`` and ``safe_open``.

LoRAs, embeddings, hypernetworks and VAEs all arrive as ``.safetensors`` or as torch pickles
(``.pt``/``.ckpt``/``.bin``). Pickles are read with ``weights_only=True``, so a file that would import
or call anything beyond tensors and plain values is refused rather than executed. Each caller turns the
two errors here into its own typed error with a message about *its* kind of file.

On Windows no tensor handed out here stays backed by its file: Windows refuses to delete, move, rename
over or replace a file while any part of it is memory-mapped, and the engine keeps what these files hold
for many renders (its file cache of 24 add-ons, a swapped-in VAE), so a user could not organize, dedupe
or trash a LoRA they had rendered with. Elsewhere the tensors stay mapped: a mapped file can be moved or
deleted there, and its pages are page cache the system may drop, while copies would be private memory
(24 cached SDXL LoRAs: several GB). The model parts that diffusers and the family loader read themselves
(multi-GB checkpoints, text encoders) are treated the same way, once they are loaded
(:func:`own_cpu_weights`).
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")

# Windows cannot delete, move or replace a file while a mapping of it is open; elsewhere a mapped file
# can be, and its pages are page cache the system may drop, so copying multi-GB weights would only cost.
MAPPED_FILES_ARE_LOCKED = os.name == "nt"


class UnreadableTensorFileError(ValueError):
    """The file is damaged, truncated or not in the format its name says."""


class UnsafePickleError(ValueError):
    """The pickle asks for something other than tensor data (``global_name``, e.g. ``builtins.exec``)."""

    def __init__(self, global_name: str | None, detail: str) -> None:
        super().__init__(detail)
        self.global_name = global_name


def load_pickle(path: Path, *, allowed: Sequence[Any] = ()) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; ``allowed`` are extra classes to accept.

    Raises :class:`UnsafePickleError` when the file asks for a global outside the allow-list,
    :class:`UnreadableTensorFileError` for anything else that fails inside the unpickler (garbage bytes
    fail in arbitrary ways). OSError (missing or unreadable path) passes through unchanged.
    """
    import torch

    try:
        with torch.serialization.safe_globals(list(allowed)):
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except OSError:
        raise
    except pickle.UnpicklingError as error:
        text = str(error)
        refused = _UNSUPPORTED_GLOBAL.search(text)
        if refused is not None:
            raise UnsafePickleError(refused.group(1), text.splitlines()[0][:200]) from error
        raise UnreadableTensorFileError(f"corrupt or truncated ({text.splitlines()[0][:200]})") from error
    except Exception as error:
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise UnreadableTensorFileError(reason) from error


def read_safetensors(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Every tensor (on the CPU, stored dtype) and the ``__metadata__`` of a ``.safetensors`` file; on
    Windows held in memory, not mapped from the file (see the module docstring: the file stays free to
    move).

    There each tensor is copied out of the mapping on its own rather than the whole file read into bytes
    and parsed: that holds one copy of the tensors at a time instead of two (a 100 MB LoRA: 97 MB of
    private memory at the peak against 196 MB) and was no slower (measured 40-80 ms against 100-190 ms).

    Raises :class:`UnreadableTensorFileError` for a damaged file or an unreadable path.
    """
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = dict(handle.metadata() or {})
            names = handle.keys()
            if MAPPED_FILES_ARE_LOCKED:
                tensors = {key: handle.get_tensor(key).clone() for key in names}
            else:
                tensors = {key: handle.get_tensor(key) for key in names}
    except Exception as error:  # SafetensorError, OSError, ValueError depending on the defect
        raise UnreadableTensorFileError(str(error)) from error
    return tensors, metadata


def own_cpu_weights(modules: Iterable[Any]) -> None:
    """On Windows, copy every CPU parameter and buffer of ``modules`` out of the file it is mapped from.

    diffusers and the family loader map checkpoints, text encoders and VAEs (safetensors, GGUF) and
    hand the mapped tensors to the model when their dtype is already the compute dtype. A model that
    stays on the CPU (CPU rendering, or offloading, which keeps the weights on the CPU between uses)
    would keep the file mapped for as long as the engine keeps it loaded, so on Windows the file could
    not be moved or deleted. Elsewhere nothing is copied (see :data:`MAPPED_FILES_ARE_LOCKED`). Tensors
    already on an accelerator or on the meta device are left alone; call this before offloading is
    enabled (accelerate then takes its own references to the weights) and after a move to the GPU.
    """
    if not MAPPED_FILES_ARE_LOCKED:
        return
    import torch

    def owned(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.clone() if tensor.device.type == "cpu" else tensor

    for module in modules:
        if isinstance(module, torch.nn.Module):
            apply: Any = module._apply  # what .to() runs: each tensor swapped in place, one at a time
            apply(owned)
