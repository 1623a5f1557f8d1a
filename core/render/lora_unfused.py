"""Plain LoRAs applied beside a layer instead of merged into its weight: y = W·x + Σ s·up(down(x)).

Merging a LoRA rewrites every weight it touches, so each change of its weight was a pass over (for a
full SD1 LoRA) 1.3 GB of weights, and a first LoRA cost a merge of all of them. A plain LoRA/LoCon layer
is two small factors, and applying them to the layer's input costs ``rank·(in + out)`` multiply-adds per
output position against the layer's own ``in·out``: for the usual ranks on SD's wide layers a few per
cent of the layer, and the render barely notices. So such layers keep their weight untouched and carry a
forward hook that adds the low-rank path; changing a LoRA's weight changes one number the hook reads,
and a first LoRA costs reading its file and converting its small factors once.

Where the low-rank path is not cheap (a high rank on a narrow layer), or on an accelerator (where a
merge is milliseconds of device bandwidth and extra kernels at every step of every render cost more),
:func:`prefers_unfused` says so and the patcher merges as before. LoHa, LoKr, DoRA, Tucker and the
weight-dependent types stay merged: their deltas are not low-rank products of the input.

torch is imported inside functions only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.render.gguf_files import compute_dtype, is_quantized_layer, logical_shape

# The low-rank path may add at most this share of a layer's own multiply-adds (5 %: a rank-8 LoRA on
# SD1's narrowest 320-wide attention projections; linear layers are a part of a render's work, so the
# whole render slows down by less).
UNFUSED_MAX_EXTRA = 0.05


@dataclass(frozen=True, slots=True)
class LowRank:
    """One LoRA's factors for one layer, in the layer's dtype and device, and its scale.

    ``down`` is shaped like the layer's weight with ``rank`` rows (a ``Conv2d`` keeps its kernel, so
    the down projection is a convolution with the layer's stride and padding); ``up`` is
    ``(out, rank)`` for a ``Linear`` and ``(out, rank, 1, 1)`` for a ``Conv2d``. ``scale`` is
    alpha/rank times the user's multiplier.
    """

    down: Any
    up: Any
    scale: float


def _is_linear_or_conv(layer: Any) -> str | None:
    import torch

    if type(layer) is torch.nn.Linear or (isinstance(layer, torch.nn.Linear) and is_quantized_layer(layer)):
        return "linear"
    if (
        type(layer) is torch.nn.Conv2d
        and layer.groups == 1
        and layer.padding_mode == "zeros"
        and not isinstance(layer.padding, str)
    ):
        return "conv"
    return None


def low_rank_extra(rank: int, weight_shape: tuple[int, ...]) -> float:
    """The low-rank path's multiply-adds per output position relative to the layer's own."""
    out = weight_shape[0]
    inner = 1
    for dim in weight_shape[1:]:
        inner *= dim
    return rank * (inner + out) / (inner * out)


def execution_device_type(pipe: Any) -> str | None:
    """Where ``pipe``'s forward passes run ("cpu", "cuda", "mps"), offload included: with model CPU
    offload the weights sit on the CPU between steps but run on the GPU. None when ``pipe`` does not
    say (not a diffusers pipeline): then each layer's own device is used."""
    try:
        device = getattr(pipe, "_execution_device", None)
    except (AttributeError, RuntimeError, StopIteration):
        return None
    return None if device is None else str(getattr(device, "type", device)).split(":", 1)[0]


def prefers_unfused(layer: Any, rank: int, device_type: str | None = None) -> bool:
    """Whether a rank-``rank`` LoRA on ``layer`` is better applied beside it than merged into it:
    a plain ``Linear``/``Conv2d`` that runs on the CPU (``device_type``, else where its weight is)
    whose low-rank path costs at most :data:`UNFUSED_MAX_EXTRA` of the layer. A GGUF-quantized layer
    always runs its LoRAs beside it, wherever it runs: its weight is quantized bytes, not numbers to add to.
    """
    if is_quantized_layer(layer):
        return True
    runs_on = device_type or layer.weight.device.type
    if _is_linear_or_conv(layer) is None or runs_on != "cpu" or layer.weight.device.type != "cpu":
        return False
    return low_rank_extra(rank, tuple(int(d) for d in layer.weight.shape)) <= UNFUSED_MAX_EXTRA


def can_run_unfused(layer: Any) -> bool:
    """Whether ``layer`` is a module the forward hook knows how to extend (``Linear``, plain ``Conv2d``)."""
    return _is_linear_or_conv(layer) is not None


def low_rank_factors(layer: Any, down: Any, up: Any) -> tuple[Any, Any]:
    """``down``/``up`` of a LoRA file reshaped for ``layer`` and cast to the dtype it computes in (a GGUF
    layer's compute dtype) and its device."""
    weight = layer.weight
    rank, shape, dtype = int(down.shape[0]), logical_shape(weight), compute_dtype(layer)
    down = down.to(device=weight.device, dtype=dtype).reshape(rank, *shape[1:])
    up = up.to(device=weight.device, dtype=dtype).reshape(shape[0], rank)
    if weight.dim() == 4:
        up = up.reshape(*up.shape, 1, 1)
    return down.contiguous(), up.contiguous()


@dataclass(slots=True)
class LayerAdapters:
    """The forward hook of one layer and the low-rank paths it adds (replaced on every apply)."""

    layer: Any
    paths: list[LowRank] = field(default_factory=list)
    handle: Any = None

    def install(self) -> None:
        if self.handle is None:
            self.handle = self.layer.register_forward_hook(self._hook)

    def remove(self) -> None:
        if self.handle is not None:
            self.handle.remove()
            self.handle = None
        self.paths = []

    def _hook(self, layer: Any, args: tuple[Any, ...], output: Any) -> Any:
        """``output`` + every path's ``scale·up(down(x))``, added in place when nothing records grads
        (one fused ``addmm`` per path for a ``Linear``)."""
        import torch.nn.functional as F  # noqa: N812

        x = args[0]
        grad = output.requires_grad
        for path in self.paths:
            if layer.weight.dim() == 2:
                hidden = F.linear(x, path.down)
                if not grad and output.is_contiguous():
                    flat = output.view(-1, output.shape[-1])
                    flat.addmm_(hidden.reshape(-1, hidden.shape[-1]), path.up.t(), alpha=path.scale)
                    continue
                extra = F.linear(hidden, path.up)
            else:
                hidden = F.conv2d(x, path.down, None, layer.stride, layer.padding, layer.dilation)
                extra = F.conv2d(hidden, path.up)
            output = output.add(extra, alpha=path.scale) if grad else output.add_(extra, alpha=path.scale)
        return output
