"""Weight deltas of the network types whose change depends on the layer's own weight: GLoRA, OFT, BOFT
and full weight replacement (``set_weight``).

LoRA, LoHa and LoKr deltas are products of their factors alone (:mod:`core.render.lora`); these four
read the original weight ``W`` too, so they are computed here from the float32 original, as A1111
(``extensions-builtin/Lora/network_{glora,oft}.py``) and ComfyUI (``comfy/weight_adapter/{glora,oft,
boft}.py``, ``comfy/lora.py`` "set") compute them:

* GLoRA (LyCORIS): ``ΔW = W·A + B`` with two low-rank pairs; files come in two layouts (old LyCORIS
  ``ΔW = b2·b1 + W·a2·a1``, new ``ΔW = W·a1·a2 + b1·b2``), told apart by their shapes as ComfyUI does,
  scaled by alpha/rank as LyCORIS trains it (A1111 applies the old layout unscaled).
* OFT (kohya ``oft_blocks`` with a ``oft_unet_`` prefix, LyCORIS diag-OFT ``oft_blocks``, old LyCORIS
  ``oft_diag``): the output rows of ``W`` are rotated block by block, ``ΔW = R·W − W``; ``oft_blocks``
  hold a skew-symmetric generator turned into ``R`` by the Cayley transform with its norm clamped to
  ``alpha·out_dim`` (the constraint both trainers use, alpha being the stored constraint), ``oft_diag``
  holds ``R`` itself. A LyCORIS ``rescale`` multiplies each output row of the rotated weight.
* BOFT (LyCORIS butterfly OFT, 4-D ``oft_blocks``): ``m`` butterfly stages, each a block-diagonal
  rotation between a permutation of the rows and its inverse, applied to ``W`` in turn.
* ``set_weight`` (ComfyUI): the layer's weight is replaced, ``ΔW = S − W``.

The user's multiplier scales every delta linearly, as A1111's ``finalize_updown`` does for every type
(so 0 is the bare model and 1 the file's own result).

torch is imported inside functions only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

# kinds whose delta reads the layer's weight (the others are products of their factors)
WEIGHT_DEPENDENT = ("glora", "oft", "boft", "set")

Getter = Callable[[str], Any]


def _shape(tensor: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape)


def glora_old_layout(tensors: Mapping[str, Any]) -> bool:
    """True for old LyCORIS GLoRA files (``ΔW = b2·b1 + W·a2·a1``), False for the new layout.

    Old: a1 (r, in) a2 (in, r) b1 (r, in) b2 (out, r); new: a1 (in, r) a2 (r, in) b1 (out, r)
    b2 (r, in). On a square layer both readings fit; then, as in ComfyUI (old when a2's first
    dimension is the layer's width), a2 taller than wide (in × r) is the old layout.
    """
    a1, a2, b1, b2 = (_shape(tensors[r]) for r in ("a1", "a2", "b1", "b2"))
    old = b2[1] == b1[0] == a1[0] == a2[1]
    new = b2[0] == b1[1] == a1[1] == a2[0]
    if old and new:
        return a2[0] >= a2[1]
    return old


def glora_rank(tensors: Mapping[str, Any]) -> int:
    """The rank alpha/rank divides by: a1's rows (old layout) or a2's rows (new layout)."""
    if glora_old_layout(tensors):
        return int(tensors["a1"].shape[0])
    return int(tensors["a2"].shape[0])


def _glora(get: Getter, tensors: Mapping[str, Any], weight: Any) -> Any:
    import torch

    shape = _shape(weight)
    a1, a2, b1, b2 = (get(r).flatten(start_dim=1) for r in ("a1", "a2", "b1", "b2"))
    if glora_old_layout(tensors):
        return (b2 @ b1 + (weight.flatten(start_dim=1) @ a2) @ a1).reshape(shape)
    # new layout: W·a1·a2 acts on the input channels (every kernel position alike for a conv)
    mixed = torch.einsum("o i ..., i j -> o j ...", weight, a1)
    mixed = torch.einsum("o i ..., i j -> o j ...", mixed, a2)
    return mixed.reshape(shape) + (b1 @ b2).reshape(shape)


def cayley_rotations(blocks: Any, constraint: float | None) -> Any:
    """Orthogonal blocks ``R = (I + Q)(I − Q)⁻¹`` of ``Q = B − Bᵀ``, with ‖Q‖ clamped to ``constraint``.

    ``blocks`` is (..., b, b); the clamp uses the norm of every block together (kohya, LyCORIS).
    """
    import torch

    q = blocks - blocks.transpose(-1, -2)
    if constraint is not None and constraint > 0:
        norm = float(torch.linalg.vector_norm(q))
        if norm > constraint:
            q = q * (constraint / norm)
    eye = torch.eye(int(blocks.shape[-1]), dtype=blocks.dtype, device=blocks.device)
    return (eye + q) @ torch.linalg.inv(eye - q)


def _constraint(tensors: Mapping[str, Any], out_dim: int) -> float | None:
    """kohya/LyCORIS store the OFT constraint as ``alpha``; the clamp is ``alpha·out_dim``."""
    if "alpha" not in tensors:
        return None
    return float(tensors["alpha"].item()) * out_dim


def _rescaled(tensors: Mapping[str, Any], get: Getter, rotated: Any) -> Any:
    if "rescale" not in tensors:
        return rotated
    return rotated * get("rescale").reshape(int(rotated.shape[0]), *[1] * (rotated.dim() - 1))


def _oft(get: Getter, tensors: Mapping[str, Any], weight: Any) -> Any:
    import torch

    shape = _shape(weight)
    if "oft_blocks" in tensors:
        rotations = cayley_rotations(get("oft_blocks"), _constraint(tensors, shape[0]))
    else:
        rotations = get("oft_diag")  # old LyCORIS: the rotation blocks themselves
    count, size = int(rotations.shape[0]), int(rotations.shape[1])
    # output row n of block k becomes Σ_n R[k, n, m]·W[k, n]: the rows of each block rotated by Rᵀ
    rotated = torch.einsum("k n m, k n ... -> k m ...", rotations, weight.reshape(count, size, *shape[1:]))
    return _rescaled(tensors, get, rotated.reshape(shape)) - weight


def _boft(get: Getter, tensors: Mapping[str, Any], weight: Any) -> Any:
    import torch

    shape = _shape(weight)
    blocks = get("oft_blocks")
    stages, _, size = int(blocks.shape[0]), int(blocks.shape[1]), int(blocks.shape[2])
    rotations = cayley_rotations(blocks, _constraint(tensors, shape[0]))
    rows: Any = weight
    half = size // 2
    for stage in range(stages):
        span = 2**stage * half
        # gather the rows this stage pairs up, rotate each block, then put them back
        rows = rows.unflatten(0, (-1, 2, span)).transpose(1, 2).flatten(0, 2).unflatten(0, (-1, size))
        rows = torch.einsum("b i j, b j ... -> b i ...", rotations[stage], rows)
        rows = rows.flatten(0, 1).unflatten(0, (-1, span, 2)).transpose(1, 2).flatten(0, 2)
    return _rescaled(tensors, get, rows) - weight


def weight_dependent_delta(
    kind: str, get: Getter, tensors: Mapping[str, Any], weight: Any
) -> tuple[Any, int | None]:
    """(ΔW at multiplier 1 before alpha/rank, the rank alpha/rank uses or None) of a ``kind`` in
    :data:`WEIGHT_DEPENDENT`, for the float32 original ``weight`` of its layer."""
    if kind == "glora":
        return _glora(get, tensors, weight), glora_rank(tensors)
    if kind == "oft":
        return _oft(get, tensors, weight), None
    if kind == "boft":
        return _boft(get, tensors, weight), None
    if kind == "set":
        return get("set_weight").reshape(weight.shape) - weight, None
    raise ValueError(f"not a weight-dependent network type: {kind}")


def rotated_rows(kind: str, tensors: Mapping[str, Any]) -> int:
    """Output rows an OFT/BOFT module rotates (blocks × block size): must be the layer's rows."""
    blocks = tensors["oft_blocks"] if "oft_blocks" in tensors else tensors["oft_diag"]
    shape = _shape(blocks)
    return shape[1] * shape[2] if kind == "boft" else shape[0] * shape[1]


def weight_dependent_shape(kind: str, tensors: Mapping[str, Any]) -> tuple[int, int]:
    """(output rows, element count) of the delta; 0 elements: "as many as the layer" (OFT/BOFT rotate
    the weight they are applied to, whatever its input size)."""
    if kind == "glora":
        if glora_old_layout(tensors):
            rows = _shape(tensors["b2"])[0]
            return rows, rows * math.prod(_shape(tensors["b1"])[1:])
        rows = _shape(tensors["b1"])[0]
        return rows, rows * math.prod(_shape(tensors["b2"])[1:])
    if kind == "set":
        shape = _shape(tensors["set_weight"])
        return shape[0], math.prod(shape)
    return rotated_rows(kind, tensors), 0
