"""A1111 hypernetworks (``.pt``) loaded and applied to a diffusers UNet exactly as the webui does.

No diffusers-based tool renders these files, so we follow AUTOMATIC1111's
``modules/hypernetworks/hypernetwork.py``: each file holds, per context width, a pair of small residual
MLPs ``(h_k, h_v)``. In *every* attention layer (self-attention, where the context is the normed hidden
states, and cross-attention, where it is the text encoding) the keys and values are computed from the
transformed context, ``K = to_k(h_k(ctx))`` and ``V = to_v(h_v(ctx))``, with ``h(x) = x + MLP(x) * strength``;
the query is untouched and several hypernetworks chain in order. Layers whose context width the file has
no pair for are left alone.

We install a diffusers attention processor that mirrors ``AttnProcessor2_0`` except for that one step,
only on the attention modules that need it, and hand the original processors back when no hypernetwork is
in use, so an unpatched pipeline keeps diffusers' stock (and fastest) path.

torch is imported inside functions only: importing this module must not pull in the renderer stack.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.render.tensor_files import (
    UnreadableTensorFileError,
    UnsafePickleError,
    load_pickle,
)

DEFAULT_LAYER_STRUCTURE: tuple[float, ...] = (1.0, 2.0, 1.0)
_DROPOUT_P = 0.3  # the only dropout probability A1111's training UI ever wrote
_OLD_KEYS = {  # A1111 ``fix_old_state_dict``: the first format had two named linears, no activation
    "linear1.weight": "linear.0.weight",
    "linear1.bias": "linear.0.bias",
    "linear2.weight": "linear.1.weight",
    "linear2.bias": "linear.1.bias",
}


class HypernetworkFormatError(ValueError):
    """The file is not a usable A1111 hypernetwork; the message says what is wrong and where."""


@dataclass(eq=False, slots=True)
class Hypernetwork:
    """One loaded hypernetwork: per context width, the ``(h_k, h_v)`` MLPs (``torch.nn.Sequential``, eval).

    ``name`` is the file stem (what prompts call it, ``<hypernet:name:0.8>``); ``trained_name`` is the
    name stored in the file by the trainer. The MLPs hold the *residual* branch only; the patcher adds
    ``x + MLP(x) * strength`` so one loaded file can be used at any strength without copies.
    """

    name: str
    path: Path
    modules: dict[int, tuple[Any, Any]]
    layer_structure: tuple[float, ...] = DEFAULT_LAYER_STRUCTURE
    activation_func: str | None = None
    is_layer_norm: bool = False
    activate_output: bool = True
    dropout_structure: tuple[float, ...] = (0.0, 0.0, 0.0)
    weight_initialization: str = "Normal"
    trained_name: str | None = None
    step: int = 0
    sd_checkpoint: str | None = None
    sd_checkpoint_name: str | None = None

    @property
    def widths(self) -> tuple[int, ...]:
        """The context widths this file has a module pair for (e.g. 320/640/768/1280 for SD1)."""
        return tuple(sorted(self.modules))


# ------------------------------------------------------------------------------------------------ loading


def parse_dropout_structure(
    layer_structure: Sequence[float] | None, use_dropout: bool, last_layer_dropout: bool
) -> list[float]:
    """A1111's ``parse_dropout_structure``: the per-layer dropout list for files that predate it.

    Index ``i + 1`` is the dropout after the ``i``-th linear block; the first and last entries are 0, the
    second-to-last is 0.3 only when ``last_layer_dropout``. Only the Sequential indices depend on it at
    inference (dropout itself is off in eval mode), but those must match the saved keys exactly.
    """
    structure = list(layer_structure) if layer_structure is not None else list(DEFAULT_LAYER_STRUCTURE)
    if not use_dropout:
        return [0.0] * len(structure)
    values = [0.0] + [_DROPOUT_P] * (len(structure) - 3)
    values.append(_DROPOUT_P if last_layer_dropout else 0.0)
    values.append(0.0)
    return values


def activation_classes() -> dict[str, Any]:
    """A1111's ``activation_dict``: its named few plus every torch activation class by lowercase name."""
    import inspect

    import torch

    classes: dict[str, Any] = {
        "linear": torch.nn.Identity,
        "relu": torch.nn.ReLU,
        "leakyrelu": torch.nn.LeakyReLU,
        "elu": torch.nn.ELU,
        "swish": torch.nn.Hardswish,
        "tanh": torch.nn.Tanh,
        "sigmoid": torch.nn.Sigmoid,
    }
    classes.update(
        {
            name.lower(): cls
            for name, cls in inspect.getmembers(torch.nn.modules.activation)
            if inspect.isclass(cls) and cls.__module__ == "torch.nn.modules.activation"
        }
    )
    return classes


def load_hypernetwork(path: Path) -> Hypernetwork:
    """Load an A1111 hypernetwork ``.pt`` without executing pickled code.

    Raises ``HypernetworkFormatError`` for files torch refuses to load safely, corrupt files, and files
    whose settings or state dicts do not describe A1111 hypernetwork modules (loaded strictly, as A1111
    does, so a missing or misplaced key is an error rather than a silently random layer).
    """
    raw = _torch_load(path)
    where = f"hypernetwork {path.name}"
    if not isinstance(raw, Mapping):
        raise HypernetworkFormatError(f"{where}: expected a dict of layers, found {type(raw).__name__}")
    widths = [key for key in raw if type(key) is int]
    if not widths:
        raise HypernetworkFormatError(
            f"{where}: no layers (no integer width keys such as 768); this is not an A1111 hypernetwork"
        )

    layer_structure = _layer_structure(raw.get("layer_structure"), where)
    activation = raw.get("activation_func")
    if activation is not None and not isinstance(activation, str):
        raise HypernetworkFormatError(f"{where}: activation_func must be a name, not {activation!r}")
    is_layer_norm = bool(raw.get("is_layer_norm", False))
    activate_output = bool(raw.get("activate_output", True))  # A1111's default for files without it
    dropout = _dropout_structure(raw, layer_structure, where)

    modules: dict[int, tuple[Any, Any]] = {}
    for width in sorted(widths):
        pair = raw[width]
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise HypernetworkFormatError(
                f"{where}: width {width} must map to a (keys, values) pair of state dicts, "
                f"found {type(pair).__name__}"
            )
        if width <= 0:
            raise HypernetworkFormatError(f"{where}: width {width} is not a positive size")
        built = []
        for side, state in zip(("k", "v"), pair, strict=True):
            module = _build_mlp(
                width,
                layer_structure=layer_structure,
                activation=activation,
                layer_norm=is_layer_norm,
                activate_output=activate_output,
                dropout=dropout,
                where=where,
            )
            _load_state(module, state, f"{where}, width {width} ({side})")
            module.eval()
            module.requires_grad_(False)
            built.append(module)
        modules[width] = (built[0], built[1])

    trained_name = raw.get("name")
    step = raw.get("step")
    return Hypernetwork(
        name=path.stem,
        path=path,
        modules=modules,
        layer_structure=layer_structure,
        activation_func=activation,
        is_layer_norm=is_layer_norm,
        activate_output=activate_output,
        dropout_structure=tuple(dropout),
        weight_initialization=str(raw.get("weight_initialization") or "Normal"),
        trained_name=trained_name if isinstance(trained_name, str) else None,
        step=step if type(step) is int else 0,
        sd_checkpoint=_optional_str(raw.get("sd_checkpoint")),
        sd_checkpoint_name=_optional_str(raw.get("sd_checkpoint_name")),
    )


def _torch_load(path: Path) -> Any:
    try:
        return load_pickle(path)  # a missing or unreadable path (OSError) is not a format problem
    except UnsafePickleError as error:
        raise HypernetworkFormatError(
            f"hypernetwork {path.name} was refused: it contains pickled objects other than tensors and "
            "plain values, which could run code when loaded, so it is not opened"
        ) from error
    except UnreadableTensorFileError as error:
        raise HypernetworkFormatError(
            f"hypernetwork {path.name} is not a readable .pt file: {error}"
        ) from error


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _layer_structure(value: object, where: str) -> tuple[float, ...]:
    if value is None:
        return DEFAULT_LAYER_STRUCTURE
    if not isinstance(value, list | tuple) or len(value) < 2 or not all(_is_number(v) for v in value):
        raise HypernetworkFormatError(f"{where}: layer_structure must be a list of numbers, found {value!r}")
    numbers = tuple(float(v) for v in value)
    if numbers[0] != 1 or numbers[-1] != 1 or any(v <= 0 for v in numbers):
        raise HypernetworkFormatError(
            f"{where}: layer_structure {list(value)} must be positive and start and end with 1"
        )
    return numbers


def _dropout_structure(raw: Mapping[Any, Any], layer_structure: tuple[float, ...], where: str) -> list[float]:
    """The file's own ``dropout_structure`` (newer A1111) or the one A1111 derives from the old flags."""
    given = raw.get("dropout_structure")
    if given is None:
        return parse_dropout_structure(
            layer_structure, bool(raw.get("use_dropout", False)), bool(raw.get("last_layer_dropout", False))
        )
    if not isinstance(given, list | tuple) or not all(_is_number(v) for v in given):
        raise HypernetworkFormatError(
            f"{where}: dropout_structure must be a list of numbers, found {given!r}"
        )
    if len(given) != len(layer_structure):
        raise HypernetworkFormatError(
            f"{where}: dropout_structure {list(given)} must have one entry per layer_structure entry "
            f"({len(layer_structure)})"
        )
    if any(v >= 1 for v in given[1:]):
        raise HypernetworkFormatError(f"{where}: dropout probabilities {list(given)} must be below 1")
    return [float(v) for v in given]


def _build_mlp(
    width: int,
    *,
    layer_structure: tuple[float, ...],
    activation: str | None,
    layer_norm: bool,
    activate_output: bool,
    dropout: Sequence[float],
    where: str,
) -> Any:
    """A1111's ``HypernetworkModule.linear``: the Sequential whose indices the saved keys refer to."""
    import torch

    classes = activation_classes()
    layers: list[Any] = []
    last = len(layer_structure) - 2
    for i in range(len(layer_structure) - 1):
        size_in, size_out = int(width * layer_structure[i]), int(width * layer_structure[i + 1])
        if size_in < 1 or size_out < 1:
            raise HypernetworkFormatError(f"{where}: layer_structure gives an empty layer at width {width}")
        layers.append(torch.nn.Linear(size_in, size_out))
        if activation is None or activation == "linear" or (i >= last and not activate_output):
            pass
        elif activation in classes:
            try:
                layers.append(classes[activation]())
            except TypeError as error:
                raise HypernetworkFormatError(
                    f"{where}: activation {activation!r} cannot be built without arguments"
                ) from error
        else:
            raise HypernetworkFormatError(f"{where}: unsupported activation function {activation!r}")
        if layer_norm:
            layers.append(torch.nn.LayerNorm(size_out))
        if dropout[i + 1] > 0:
            layers.append(torch.nn.Dropout(p=dropout[i + 1]))
    return torch.nn.Sequential(*layers)


def _load_state(module: Any, state: object, where: str) -> None:
    import torch

    if not isinstance(state, Mapping):
        raise HypernetworkFormatError(f"{where}: expected a state dict, found {type(state).__name__}")
    fixed: dict[str, Any] = {_OLD_KEYS.get(str(key), str(key)): value for key, value in state.items()}
    not_tensors = sorted(key for key, value in fixed.items() if not isinstance(value, torch.Tensor))
    if not_tensors:
        raise HypernetworkFormatError(f"{where}: entries {not_tensors} are not tensors")
    # A1111 saves HypernetworkModule, whose Sequential is its ``linear`` attribute: ``linear.<index>.*``
    expected: set[str] = {f"linear.{key}" for key in module.state_dict()}
    missing, unexpected = sorted(expected - fixed.keys()), sorted(fixed.keys() - expected)
    if missing or unexpected:
        raise HypernetworkFormatError(
            f"{where}: the weights do not match the layer settings (missing {missing}, unexpected "
            f"{unexpected}); the file's layer_structure/activation/layer norm/dropout settings disagree "
            "with its weights"
        )
    try:
        module.load_state_dict(
            {key.removeprefix("linear."): value for key, value in fixed.items()}, strict=True
        )
    except RuntimeError as error:
        raise HypernetworkFormatError(
            f"{where}: weight shapes do not match the layer settings: {error}"
        ) from error


# ------------------------------------------------------------------------------------------------ applying


@dataclass(eq=False, slots=True)
class HypernetworkStage:
    """One hypernetwork's module pair at one width, with its strength (changeable between renders)."""

    name: str
    position: int  # index in the ``uses`` sequence, so strengths can be updated in place
    h_k: Any
    h_v: Any
    strength: float

    def keys(self, context: Any) -> Any:
        return context + self.h_k(context) * self.strength

    def values(self, context: Any) -> Any:
        return context + self.h_v(context) * self.strength


@dataclass(eq=False)
class HypernetworkAttnProcessor:
    """diffusers ``AttnProcessor2_0`` with A1111's hypernetwork step on the key/value context.

    ``stages`` maps a context width to the hypernetworks (in chain order) that transform contexts of
    that width; attention calls with other widths run exactly like the stock processor.
    """

    stages: dict[int, list[HypernetworkStage]] = field(default_factory=dict)

    def contexts(self, context: Any) -> tuple[Any, Any]:
        """``(keys context, values context)`` after every hypernetwork for this width, in order."""
        context_k = context_v = context
        for stage in self.stages.get(int(context.shape[-1]), ()):
            context_k, context_v = stage.keys(context_k), stage.values(context_v)
        return context_k, context_v

    def __call__(
        self,
        attn: Any,
        hidden_states: Any,
        encoder_hidden_states: Any = None,
        attention_mask: Any = None,
        temb: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        from torch.nn.functional import scaled_dot_product_attention

        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)

        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            batch_size, channel, height, width = hidden_states.shape
            hidden_states = hidden_states.view(batch_size, channel, height * width).transpose(1, 2)

        batch_size, sequence_length, _ = (
            hidden_states.shape if encoder_hidden_states is None else encoder_hidden_states.shape
        )
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, sequence_length, batch_size)
            attention_mask = attention_mask.view(batch_size, attn.heads, -1, attention_mask.shape[-1])

        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)

        query = attn.to_q(hidden_states)
        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        elif attn.norm_cross:
            encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)

        context_k, context_v = self.contexts(encoder_hidden_states)
        key = attn.to_k(context_k)
        value = attn.to_v(context_v)

        inner_dim = key.shape[-1]
        head_dim = inner_dim // attn.heads
        query = query.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        key = key.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        value = value.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)

        hidden_states = scaled_dot_product_attention(
            query, key, value, attn_mask=attention_mask, dropout_p=0.0, is_causal=False
        )
        hidden_states = hidden_states.transpose(1, 2).reshape(batch_size, -1, attn.heads * head_dim)
        hidden_states = hidden_states.to(query.dtype)
        hidden_states = attn.to_out[0](hidden_states)
        hidden_states = attn.to_out[1](hidden_states)

        if input_ndim == 4:
            hidden_states = hidden_states.transpose(-1, -2).reshape(batch_size, channel, height, width)
        if attn.residual_connection:
            hidden_states = hidden_states + residual
        return hidden_states / attn.rescale_output_factor


class HypernetworkPatcher:
    """Installs and removes hypernetwork attention processors on one pipeline's UNet.

    The original processors are remembered on the first install and put back by ``restore()`` (or
    ``apply([])``). Re-applying the same hypernetworks in the same order only updates the strengths
    stored on the installed processor, so changing a strength between renders costs nothing.
    """

    def __init__(self, pipe: Any) -> None:
        self._unet = pipe.unet
        self._original: dict[str, Any] | None = None
        self._processor: HypernetworkAttnProcessor | None = None
        self._active: tuple[Hypernetwork, ...] = ()

    @property
    def processor(self) -> HypernetworkAttnProcessor | None:
        """The installed processor (shared by every patched attention module), or None when stock."""
        return self._processor

    def apply(self, uses: Sequence[tuple[Hypernetwork, float]]) -> list[str]:
        """Use ``uses`` (hypernetwork, strength) in order from the next render on; returns warnings."""
        if not uses:
            self.restore()
            return []
        for hypernetwork, strength in uses:
            if not _is_number(strength):
                raise ValueError(f"hypernetwork '{hypernetwork.name}': strength {strength!r} is not a number")

        widths = self._attention_widths()
        model_widths = set(widths.values())
        warnings = _width_warnings(uses, model_widths)
        device, dtype = self._device_dtype()
        for hypernetwork, _ in uses:
            for width in model_widths & hypernetwork.modules.keys():
                for module in hypernetwork.modules[width]:
                    module.to(device=device, dtype=dtype)

        hypernetworks = tuple(hypernetwork for hypernetwork, _ in uses)
        if self._processor is not None and _same(hypernetworks, self._active):
            for chain in self._processor.stages.values():
                for stage in chain:
                    stage.strength = float(uses[stage.position][1])
            return warnings

        stages: dict[int, list[HypernetworkStage]] = {}
        for position, (hypernetwork, strength) in enumerate(uses):
            for width in sorted(model_widths & hypernetwork.modules.keys()):
                h_k, h_v = hypernetwork.modules[width]
                stages.setdefault(width, []).append(
                    HypernetworkStage(hypernetwork.name, position, h_k, h_v, float(strength))
                )
        if not stages:
            self.restore()
            return warnings

        if self._original is None:
            self._original = dict(self._unet.attn_processors)
        processor = HypernetworkAttnProcessor(stages)
        mapping = {
            name: processor if widths.get(name) in stages else original
            for name, original in self._original.items()
        }
        self._unet.set_attn_processor(mapping)
        self._processor, self._active = processor, hypernetworks
        return warnings

    def restore(self) -> None:
        """Put the UNet's original attention processors back (no-op when nothing is installed)."""
        if self._original is not None:
            self._unet.set_attn_processor(dict(self._original))  # diffusers pops from the dict it gets
        self._original, self._processor, self._active = None, None, ()

    def _attention_widths(self) -> dict[str, int]:
        """Processor name -> the width of the context its keys/values are computed from."""
        widths: dict[str, int] = {}
        for name in self._unet.attn_processors:
            module = self._unet.get_submodule(name.removesuffix(".processor"))
            width = getattr(module, "cross_attention_dim", None)
            if isinstance(width, int):
                widths[name] = width
        return widths

    def _device_dtype(self) -> tuple[Any, Any]:
        parameter = next(self._unet.parameters())
        return parameter.device, parameter.dtype


def _same(left: tuple[Hypernetwork, ...], right: tuple[Hypernetwork, ...]) -> bool:
    return len(left) == len(right) and all(a is b for a, b in zip(left, right, strict=True))


def _width_warnings(uses: Sequence[tuple[Hypernetwork, float]], model_widths: set[int]) -> list[str]:
    warnings: list[str] = []
    for hypernetwork, _ in uses:
        covered = model_widths & hypernetwork.modules.keys()
        if not covered:
            warnings.append(
                f"hypernetwork '{hypernetwork.name}' has no modules for any attention width of this model "
                f"(file: {', '.join(map(str, hypernetwork.widths))}; model: "
                f"{', '.join(map(str, sorted(model_widths)))}); it is not applied"
            )
            continue
        warnings.extend(
            f"hypernetwork '{hypernetwork.name}' has no modules for width {width}; those layers are unchanged"
            for width in sorted(model_widths - covered)
        )
    return warnings
