"""What the new safetensors file carries: which tensors, under which names, in which dtype, which metadata.

Pure decisions on a checkpoint's header, no I/O:

* **Embeddings** (A1111 ``.pt`` with ``string_to_param``) become one ``emb_params`` tensor, the layout
  A1111, Forge and ComfyUI load from ``.safetensors``; ``name``/``step``/``sd_checkpoint`` go to metadata.
* **Hypernetworks** are refused: A1111 and Forge load them only from ``.pt``, so a ``.safetensors`` copy
  would load nowhere.
* **Pruning** (``prune=True``) drops the EMA copy of the weights (``model_ema.*``) and any optimizer or
  scheduler state kept beside them; A1111 loads ``model.diffusion_model.*``, ``first_stage_model.*`` and
  ``cond_stage_model.*`` (or ``conditioner.*``) and never reads those. A file whose weights are *only* EMA
  is refused rather than emptied. Lightning's ``optimizer_states`` are bookkeeping, not tensors the
  catalog lists, so they are never carried, pruned or not.
* **fp16** (``fp16=True``) turns F32, F64 and BF16 tensors into F16; integer tensors (``position_ids``,
  EMA counters) keep their type. A value beyond float16's range (±65504) would become infinity, so the
  conversion is refused with the tensor's name instead of clamping silently.
* **Metadata**: the checkpoint's plain values (``epoch``, ``global_step``, an embedding's ``name``...) are
  kept as ``__metadata__`` strings; containers are written as JSON when short, optimizer and callback
  bookkeeping is left out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.convert.errors import ConvertError
from core.convert.torch_tensors import element_size
from core.formats.model_file import ModelHeader
from core.taxonomy import AssetKind

EMA_PREFIX = "model_ema."
STATE_PREFIXES = ("optimizer", "optimizer_states", "optimizer_state_dict", "lr_scheduler", "lr_schedulers")
FLOAT_TO_HALF = frozenset({"F32", "F64", "BF16"})
# safetensors has no complex128, no packed 4-bit pairs and no "fnuz" float8 variants.
_UNSUPPORTED = {"C128": "complex128", "C32": "complex32", "F4_X2": "packed 4-bit", "F4": "4-bit"}
_SKIPPED_EXTRAS = ("optimizer", "lr_scheduler", "callbacks", "loops", "state_dict")
MAX_METADATA_VALUE = 4096
MAX_METADATA_KEYS = 256
EMBEDDING_METADATA = ("name", "step", "sd_checkpoint", "sd_checkpoint_name")


@dataclass(frozen=True, slots=True)
class OutputTensor:
    """One tensor of the new file: its name there, the source tensor it comes from, dtype and shape."""

    name: str
    source: str
    source_dtype: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * element_size(self.dtype)


@dataclass(frozen=True, slots=True)
class Selection:
    """The plan for the new file: tensors in writing order, metadata, and what was left out."""

    tensors: tuple[OutputTensor, ...]
    metadata: Mapping[str, str]
    pruned: tuple[str, ...] = ()
    layout: str = "weights"  # "weights" | "embedding"

    @property
    def total_bytes(self) -> int:
        return sum(tensor.nbytes for tensor in self.tensors)


def select(
    header: ModelHeader, *, kind: AssetKind | None = None, fp16: bool = False, prune: bool = False
) -> Selection:
    """Decide the new file's contents; raises ``ConvertError`` for what cannot or should not convert."""
    extras = dict(header.extras)
    if kind is AssetKind.HYPERNETWORK or ("layer_structure" in extras and "activation_func" in extras):
        raise ConvertError(
            "hypernetworks stay .pt: A1111 and Forge load them only from .pt files, "
            "so a .safetensors copy would not load anywhere"
        )
    names = list(header.tensors)
    if not names:
        raise ConvertError("the file holds no tensors to convert")
    embedding = [name for name in names if name.startswith("string_to_param.")]
    if embedding:
        if len(embedding) > 1:
            raise ConvertError(
                "the embedding holds several vectors sets (string_to_param has "
                f"{len(embedding)} entries); A1111's safetensors layout has room for one"
            )
        source = embedding[0]
        info = header.tensors[source]
        metadata = {key: _text(extras[key]) for key in EMBEDDING_METADATA if _is_plain(extras.get(key))}
        tensor = _output("emb_params", source, info.dtype, info.shape, fp16)
        return Selection(tensors=(tensor,), metadata=metadata, layout="embedding")
    pruned: list[str] = []
    if prune:
        pruned = [name for name in names if _is_pruned(name)]
        kept = [name for name in names if not _is_pruned(name)]
        if not kept:
            raise ConvertError("the file holds only EMA weights and optimizer state; pruning would empty it")
        names = kept
    tensors = [
        _output(name, name, header.tensors[name].dtype, header.tensors[name].shape, fp16) for name in names
    ]
    # Widest elements first, then by name (as the safetensors library writes): every tensor stays aligned.
    tensors.sort(key=lambda tensor: (-element_size(tensor.dtype), tensor.name))
    return Selection(tensors=tuple(tensors), metadata=metadata_from_extras(extras), pruned=tuple(pruned))


def _is_pruned(name: str) -> bool:
    return name.startswith(EMA_PREFIX) or name.split(".", 1)[0] in STATE_PREFIXES


def _output(name: str, source: str, dtype: str, shape: tuple[int, ...], fp16: bool) -> OutputTensor:
    if dtype in _UNSUPPORTED or element_size(dtype) == 0 or dtype.endswith("FNUZ"):
        what = _UNSUPPORTED.get(dtype, dtype)
        raise ConvertError(f"tensor {source!r} is {what}, a type safetensors cannot hold")
    target = "F16" if fp16 and dtype in FLOAT_TO_HALF else dtype
    return OutputTensor(name=name, source=source, source_dtype=dtype, dtype=target, shape=tuple(shape))


def metadata_from_extras(extras: Mapping[str, Any]) -> dict[str, str]:
    """The checkpoint's plain values as safetensors metadata strings (bookkeeping objects left out)."""
    found: dict[str, str] = {}
    for key, value in extras.items():
        if key.split(".", 1)[0] in _SKIPPED_EXTRAS or key.startswith(_SKIPPED_EXTRAS):
            continue
        if _is_plain(value):
            text = _text(value)
        elif isinstance(value, list | dict):
            text = json.dumps(value, ensure_ascii=False, default=str)
        else:
            continue
        if len(text) <= MAX_METADATA_VALUE and isinstance(key, str) and key != "__metadata__":
            found[key] = text
        if len(found) >= MAX_METADATA_KEYS:
            break
    return found


def _is_plain(value: object) -> bool:
    return isinstance(value, str | int | float | bool) and not (
        isinstance(value, float) and not math.isfinite(value)
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)
