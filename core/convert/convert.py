"""The conversion job: a safe torch pickle in, a verified ``<stem>.safetensors`` beside it out.

The new file is written to ``<stem>.safetensors.atelier-part``, read back and checked tensor by tensor,
and only then given its name, with a hard link (which fails instead of replacing a file that appeared
meanwhile) or, on file systems without links, a rename after a last existence check. An existing
``<stem>.safetensors`` is never replaced. Any failure or cancel removes the partial file; the source is
never touched (trashing it is the caller's decision, made after this returns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.convert.errors import ConvertError
from core.convert.safetensors_out import verify_safetensors, write_safetensors
from core.convert.selection import OutputTensor, select
from core.convert.torch_tensors import NUMPY_DTYPES, PickledCheckpoint
from core.download_names import partial_path
from core.formats.containers import PICKLE_FORMATS
from core.formats.model_file import CorruptFileError, UnsafeFileError
from core.jobs import CancelledError, CancelToken, Progress, ProgressCallback, no_progress
from core.no_overwrite import rename_no_replace
from core.taxonomy import AssetKind

PART_SUFFIX = ".atelier-part"
CONVERTIBLE_SUFFIXES = frozenset(PICKLE_FORMATS)
HALF_MAX = 65504.0


@dataclass(frozen=True, slots=True)
class ConversionResult:
    """What a conversion wrote: the new file, its tensors, and what was pruned or narrowed."""

    source: Path
    target: Path
    tensors: int
    source_size: int
    target_size: int
    fp16: bool
    layout: str  # "weights" | "embedding"
    pruned: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)


def safetensors_target(source: Path) -> Path:
    """``<stem>.safetensors`` beside the source: the same stem, so the sidecars by stem stay shared."""
    return source.with_name(source.stem + ".safetensors")


def convert_to_safetensors(
    source: Path,
    *,
    target: Path | None = None,
    kind: AssetKind | None = None,
    fp16: bool = False,
    prune: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ConversionResult:
    """Convert ``source`` and return what was written; raises ``ConvertError`` or ``CancelledError``."""
    if source.suffix.lower() not in CONVERTIBLE_SUFFIXES:
        raise ConvertError(f"{source.name} is not a torch pickle (.ckpt, .pt, .pth or .bin)")
    target = target or safetensors_target(source)
    if target.exists() or target.is_symlink():
        raise ConvertError(f"{target.name} already exists beside it; move or rename that file first")
    part = partial_path(target, PART_SUFFIX)
    try:
        checkpoint = PickledCheckpoint(source)
    except UnsafeFileError as exc:
        raise ConvertError(f"{source.name} was not converted: {exc.reason}") from exc
    except CorruptFileError as exc:
        raise ConvertError(f"{source.name} cannot be read: {exc.reason}") from exc
    with checkpoint:
        selection = select(checkpoint.header, kind=kind, fp16=fp16, prune=prune)
        total = selection.total_bytes
        progress(Progress(0, total, f"Converting {source.name}"))
        part.unlink(missing_ok=True)  # a leftover of an interrupted conversion: ours to replace

        def produce(tensor: OutputTensor) -> bytes:
            raw = checkpoint.read(tensor.source)
            if tensor.dtype != tensor.source_dtype:
                return to_half(raw, tensor.source_dtype, tensor.source)
            return raw

        try:
            digests = write_safetensors(
                part,
                selection.tensors,
                selection.metadata,
                produce,
                on_bytes=lambda done: progress(Progress(done, total, f"Converting {source.name}")),
                cancel=cancel,
            )
            progress(Progress(total, total, f"Verifying {target.name}"))
            verify_safetensors(part, selection.tensors, selection.metadata, digests, cancel=cancel)
            _publish(part, target)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        source_size = checkpoint.header.size
    return ConversionResult(
        source=source,
        target=target,
        tensors=len(selection.tensors),
        source_size=source_size,
        target_size=target.stat().st_size,
        fp16=fp16,
        layout=selection.layout,
        pruned=selection.pruned,
        metadata=dict(selection.metadata),
    )


def to_half(raw: bytes, dtype: str, name: str) -> bytes:
    """F32/F64/BF16 bytes as F16; refuses values beyond float16's range rather than making them inf."""
    if dtype == "BF16":
        values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        values = np.frombuffer(raw, dtype=NUMPY_DTYPES[dtype])
    with np.errstate(over="ignore"):
        half = values.astype("<f2")
    overflow = np.isinf(half) & np.isfinite(values)
    if overflow.any():
        largest = float(np.max(np.abs(values[overflow])))
        raise ConvertError(
            f"tensor {name!r} holds {largest:.6g}, beyond float16's largest value {HALF_MAX:g}; "
            "convert without fp16 to keep it exact"
        )
    return half.tobytes()


def _publish(part: Path, target: Path) -> None:
    """Give the verified file its name without ever replacing a file of that name."""
    try:
        rename_no_replace(part, target)
    except FileExistsError:
        raise ConvertError(f"{target.name} appeared while converting; it was left untouched") from None


__all__ = [
    "CONVERTIBLE_SUFFIXES",
    "CancelledError",
    "ConversionResult",
    "ConvertError",
    "convert_to_safetensors",
    "safetensors_target",
]
