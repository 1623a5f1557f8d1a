"""Reading tensors from model files without ever running pickled code: the one place the renderer
calls ``torch.load`` and ``safe_open``.

LoRAs, embeddings, hypernetworks and VAEs all arrive as ``.safetensors`` or as torch pickles
(``.pt``/``.ckpt``/``.bin``). Pickles are read with ``weights_only=True``, so a file that would import
or call anything beyond tensors and plain values is refused rather than executed. Each caller turns the
two errors here into its own typed error with a message about *its* kind of file.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")


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
    """Every tensor (on the CPU, stored dtype) and the ``__metadata__`` of a ``.safetensors`` file.

    Raises :class:`UnreadableTensorFileError` for a damaged file or an unreadable path.
    """
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 - not a dict
    except Exception as error:  # SafetensorError, OSError, ValueError depending on the defect
        raise UnreadableTensorFileError(str(error)) from error
    return tensors, metadata
