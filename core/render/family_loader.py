"""Builds a transformer family's pipeline (Flux.1, Chroma, SD3.5...) from the files users actually have.

One path for every layout:

- a full checkpoint: ``model.diffusion_model.*`` plus ``text_encoders.<slot>.*`` and ``vae.*`` inside;
- a diffusion-model-only file (BFL/ComfyUI or diffusers names) plus separate text-encoder files
  (``clip_l``, ``t5xxl``...) and a VAE file;
- a diffusers folder (``model_index.json``), whose components separate files may replace.

Each part of the file(s) is read once, fp8 tensors (``float8_e4m3fn``/``e5m2``) are upcast to the
compute dtype (a "scaled" fp8 file's weights, such as ComfyUI's ``t5xxl_fp8_e4m3fn_scaled``, multiplied
by their ``scale_weight`` first), a GGUF transformer (city96's ``flux1-dev-Q8_0.gguf``: a
diffusion-model-only file in the same names) keeps its quantized tensors, which diffusers' GGUF layers
dequantize as they run (:mod:`core.render.gguf_files`), and each component is built from the bundled config
(:mod:`core.render.configs`' folder) with the depths and widths read off the tensors
(:mod:`core.render.family_shapes`). The transformer and VAE go through diffusers' own single-file
converters; text encoders are filled by name. Nothing touches the network except a tokenizer no package
ships, fetched once (:func:`hub_tokenizer_dir`).

torch, diffusers and transformers are imported inside functions only.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.render.families import EncoderSlot, Family
from core.render.family_shapes import (
    ENCODER_SHAPES,
    TRANSFORMER_SHAPES,
    autoencoder,
    encoder_width,
    qwen_image_vae,
)
from core.render.gguf_files import (
    dequantize_outside_layers,
    gguf_tensor_names,
    is_gguf,
    is_quantized_state,
    logical_shape,
    read_gguf,
)
from core.render.tokenizer import ensure_tokenizers, hub_tokenizer_dir

log = logging.getLogger(__name__)

_FP8 = ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz")


# How messages name each kind of text encoder (never the internal kind names).
ENCODER_KIND_NAMES = {"clip": "CLIP", "t5": "T5", "qwen3": "Qwen3", "qwen2_5_vl": "Qwen2.5-VL"}
# The transformer config entry holding the width of text it reads, and the encoder config's width entry.
_TEXT_WIDTH_KEYS = {
    "t5": ("joint_attention_dim", "d_model"),
    "qwen3": ("cap_feat_dim", "hidden_size"),
    "qwen2_5_vl": ("joint_attention_dim", "hidden_size"),
}


def _kinds_named(family: Family) -> str:
    return " or ".join(sorted({ENCODER_KIND_NAMES.get(slot.kind, slot.kind) for slot in family.encoders}))


class FamilyLoadError(ValueError):
    """The files cannot make this family's pipeline; the message says which file and what is missing."""


@dataclass(frozen=True, slots=True)
class FamilyFiles:
    """The files one render of a family loads: the checkpoint, separate encoders, a separate VAE."""

    checkpoint: Path
    text_encoders: tuple[Path, ...] = ()
    vae: Path | None = None


def tensor_names(path: Path) -> frozenset[str]:
    """Every tensor name in a ``.safetensors`` or ``.gguf`` file (header only)."""
    if is_gguf(path):
        return gguf_tensor_names(path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt", device="cpu") as handle:
        return frozenset(handle.keys())


def _read(
    path: Path, wanted: Callable[[str], str | None], dtype: Any, *, keep_quantized: bool = False
) -> dict[str, Any]:
    """The tensors of ``path`` whose names ``wanted`` maps to a new name (None: skip), fp8 upcast.

    A GGUF file's quantized tensors stay quantized with ``keep_quantized`` (the transformer, built with
    diffusers' GGUF layers); any other part of a GGUF file is dequantized to ``dtype`` here.
    """
    if is_gguf(path):
        return read_gguf(path, wanted, dtype, keep_quantized=keep_quantized)
    if path.suffix.lower() not in (".safetensors", ".sft"):
        from core.render.tensor_files import load_pickle

        loaded = load_pickle(path)
        state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else {}
        items: Iterable[tuple[str, Any]] = state.items()
        return {new: _upcast(t, dtype) for name, t in items if (new := wanted(name)) is not None}
    from safetensors import safe_open

    found: dict[str, Any] = {}
    with safe_open(str(path), framework="pt", device="cpu") as handle:
        names = list(handle.keys())
        scales = {
            name.removesuffix(".scale_weight"): name for name in names if name.endswith(".scale_weight")
        }
        for name in names:
            if _is_scale_entry(name):
                continue
            new = wanted(name)
            if new is None:
                continue
            tensor = handle.get_tensor(name)
            scale = scales.get(name.removesuffix(".weight")) if name.endswith(".weight") else None
            if scale is not None:
                tensor = _descaled(tensor, handle.get_tensor(scale), dtype)
            found[new] = _upcast(tensor, dtype)
    return found


def _is_scale_entry(name: str) -> bool:
    """The bookkeeping of ComfyUI's "scaled" fp8 files (``t5xxl_fp8_e4m3fn_scaled``): the ``scaled_fp8``
    marker, each linear's ``scale_weight`` (read with its weight) and ``scale_input`` (used only by fp8
    matrix products, which an upcast model does not run). None of them is a parameter of the model."""
    return name.rpartition(".")[2] in ("scaled_fp8", "scale_weight", "scale_input")


def _descaled(weight: Any, scale: Any, dtype: Any) -> Any:
    """A scaled fp8 weight as the model's: the stored fp8 values times their scale (ComfyUI's
    ``scale_weight``, one per tensor or per row), computed in float32 and then stored in ``dtype``."""
    import torch

    return (weight.to(torch.float32) * scale.to(torch.float32)).to(dtype)


_ALIGNMENT = 64  # bytes: CPU kernels pick their vector path by the data's alignment


def _upcast(tensor: Any, dtype: Any) -> Any:
    """fp8 weights (ComfyUI's ``*_fp8_e4m3fn`` files) become the compute dtype; others stay as stored.

    A tensor whose data is not 64-byte aligned (safetensors aligns to 8) is copied: CPU matmuls take
    another vector path on misaligned data and round differently, so the same weights stored at other
    offsets (a full checkpoint vs. the separate files) would not give the same image.
    """
    if str(tensor.dtype).removeprefix("torch.") in _FP8:
        return tensor.to(dtype)
    return tensor.clone() if tensor.data_ptr() % _ALIGNMENT else tensor


def _strip_prefix(prefixes: Sequence[str]) -> Callable[[str], str | None]:
    def strip(name: str) -> str | None:
        for prefix in prefixes:
            if name.startswith(prefix):
                return name[len(prefix) :]
        return None

    return strip


def _checkpoint_encoder(prefixes: Sequence[str]) -> Callable[[str], str | None]:
    """An encoder inside a full checkpoint: its prefix and the file's wrappers (``model.``) removed."""
    strip = _strip_prefix(prefixes)

    def read(name: str) -> str | None:
        inner = strip(name)
        return _encoder_key(inner) if inner is not None else None

    return read


def _partition(family: Family, names: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """Which prefixes of a checkpoint hold which part: 'transformer', 'vae' and each encoder slot.

    A file without ``model.diffusion_model.`` is a diffusion-model-only file: every tensor not under
    a known encoder/VAE prefix is the transformer's (the prefix "" stands for that).
    """
    parts: dict[str, tuple[str, ...]] = {}
    for slot in family.encoders:
        present = tuple(p for p in slot.prefixes if any(n.startswith(p) for n in names))
        if present:
            parts[slot.name] = present[:1]
    vae = tuple(p for p in family.vae_prefixes if any(n.startswith(p) for n in names))
    if vae:
        parts["vae"] = vae[:1]
    transformer = tuple(p for p in family.transformer_prefixes if any(n.startswith(p) for n in names))
    parts["transformer"] = transformer[:1] or ("",)
    return parts


def _transformer_reader(family: Family, parts: Mapping[str, tuple[str, ...]]) -> Callable[[str], str | None]:
    prefix = parts["transformer"][0]
    others = tuple(p for key, value in parts.items() if key != "transformer" for p in value)
    others += tuple(p for slot in family.encoders for p in slot.prefixes) + family.vae_prefixes

    def read(name: str) -> str | None:
        if prefix:
            return name[len(prefix) :] if name.startswith(prefix) else None
        return None if name.startswith(others) else name

    return read


def _config(folder: Path, component: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    path = folder / component / "config.json"
    config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    config.update(overrides)
    return config


def _shapes(state: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Each tensor's shape as the model sees it (a GGUF-quantized tensor's, not its bytes')."""
    return {name: logical_shape(tensor) for name, tensor in state.items()}


def build_transformer(family: Family, state: dict[str, Any], folder: Path, dtype: Any) -> Any:
    """The family's transformer from a state dict in original or diffusers names (diffusers converts);
    a state holding GGUF-quantized tensors gets diffusers' GGUF layers, computing in ``dtype``."""
    import diffusers

    library: Any = diffusers
    cls = getattr(library, family.transformer_class)
    overrides: dict[str, Any] = TRANSFORMER_SHAPES[family.transformer_class](_shapes(state))
    quantized = is_quantized_state(state)
    if quantized:
        overrides["quantization_config"] = library.GGUFQuantizationConfig(compute_dtype=dtype)
    model = cls.from_single_file(
        state,
        config=str(folder),
        subfolder="transformer",
        torch_dtype=dtype,
        local_files_only=True,
        **overrides,
    )
    if quantized:
        dequantize_outside_layers(model, dtype)
    return model


def build_vae(state: dict[str, Any], folder: Path, dtype: Any, vae_class: str = "AutoencoderKL") -> Any:
    """The family's autoencoder: an ``AutoencoderKL`` (ldm or diffusers names) with the family's scaling
    and shift factors, or Qwen-Image's video VAE (Wan-style names, as ComfyUI's ``qwen_image_vae``)."""
    import diffusers

    if vae_class == "AutoencoderKLQwenImage":
        return _qwen_image_vae(state, folder, dtype)
    overrides = autoencoder(_shapes(state))
    return diffusers.AutoencoderKL.from_single_file(
        state, config=str(folder), subfolder="vae", torch_dtype=dtype, local_files_only=True, **overrides
    )


def _qwen_image_vae(state: dict[str, Any], folder: Path, dtype: Any) -> Any:
    """diffusers 0.42 has no single-file loader for ``AutoencoderKLQwenImage``; its layout is the Wan 2.1
    VAE's, so diffusers' Wan VAE name mapping converts ComfyUI's file (diffusers names pass unchanged)."""
    model, converted = _qwen_image_vae_on_meta(state, folder)
    expected = set(model.state_dict())
    missing, unexpected = expected - set(converted), set(converted) - expected
    if missing or unexpected:
        raise FamilyLoadError(
            f"not a Qwen-Image VAE ({len(missing)} tensors missing, {len(unexpected)} unexpected): "
            "choose qwen_image_vae.safetensors"
        )
    model.load_state_dict({k: v.to(dtype) for k, v in converted.items()}, assign=True)
    return model.eval()


def _qwen_image_vae_on_meta(state: Mapping[str, Any], folder: Path) -> tuple[Any, dict[str, Any]]:
    """The state in diffusers' names and an empty ``AutoencoderKLQwenImage`` of its widths and depth."""
    import diffusers
    import torch
    from diffusers.loaders import single_file_utils

    library: Any = diffusers
    convert: Any = single_file_utils.convert_wan_vae_to_diffusers
    converted: dict[str, Any] = convert(dict(state))
    config = _config(folder, "vae", qwen_image_vae(_shapes(converted)))
    with torch.device("meta"):
        model = library.AutoencoderKLQwenImage.from_config(config)
    return model, converted


def build_text_encoder(slot: EncoderSlot, state: dict[str, Any], folder: Path, dtype: Any) -> Any:
    """A transformers text encoder filled from ``state`` by name, whatever prefix the file used.

    The model is created on the meta device and the file's tensors are assigned (no second copy of a
    9 GB T5). ``text_model.`` is optional on both sides (transformers 5 flattened CLIPTextModel).
    Raises :class:`FamilyLoadError` when the file does not hold this encoder.
    """
    import torch
    import transformers

    library: Any = transformers
    cls = getattr(library, slot.model_class)
    base = json.loads((folder / slot.component / "config.json").read_text(encoding="utf-8"))
    config = cls.config_class.from_dict(_merged(base, ENCODER_SHAPES[slot.kind](_shapes(state))))
    with torch.device("meta"):
        model = cls(config)
    expected = {_encoder_key(name): name for name in model.state_dict()}
    named: dict[str, Any] = {}
    for name, tensor in state.items():
        key = expected.get(_encoder_key(name))
        if key is not None:
            named[key] = tensor.to(dtype) if tensor.is_floating_point() else tensor
    missing = [name for name in expected.values() if name not in named]
    tied = "shared.weight" in named and "encoder.embed_tokens.weight" in missing  # T5 ties them
    if tied:
        named["encoder.embed_tokens.weight"] = named["shared.weight"]
        missing.remove("encoder.embed_tokens.weight")
    if "text_projection.weight" in missing and slot.model_class.endswith("WithProjection"):
        hidden = int(config.hidden_size)
        named["text_projection.weight"] = torch.eye(config.projection_dim, hidden, dtype=dtype)
        missing.remove("text_projection.weight")
    if len(missing) > len(expected) // 2 or not named:
        raise FamilyLoadError(
            f"no {slot.name} text encoder found ({len(missing)} of its {len(expected)} tensors missing)"
        )
    model.load_state_dict(named, strict=False, assign=True)
    if tied:
        # Assigned under two names, the one tensor became two Parameters: counted twice by the memory
        # plan and copied apart by a later .to() (a second 263 MB embedding for T5-XXL in bf16). One
        # Parameter for both, as transformers' own tied model holds it.
        model.get_submodule("encoder.embed_tokens").weight = model.get_submodule("shared").weight
    for name in missing:
        owner_name, _, attr = name.rpartition(".")
        owner = model.get_submodule(owner_name) if owner_name else model
        setattr(owner, attr, torch.nn.Parameter(torch.zeros(getattr(owner, attr).shape, dtype=dtype)))
    if missing:
        log.warning("%s text encoder lacks %d tensors, zero-filled: %s", slot.name, len(missing), missing[:5])
    for owner_name, owner in list(model.named_modules()):  # a rotary table is computed, not stored
        if type(owner).__name__.endswith("RotaryEmbedding") and any(b.is_meta for b in owner.buffers()):
            parent_name, _, attr = owner_name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, attr, type(owner)(config=getattr(owner, "config", config)))
    for buffer_owner in model.modules():  # non-persistent buffers (CLIP's position ids) are still meta
        for buffer_name, buffer in list(buffer_owner.named_buffers(recurse=False)):
            if not buffer.is_meta:
                continue
            if buffer_name != "position_ids":
                raise FamilyLoadError(f"{slot.name}: buffer {buffer_name} could not be initialised")
            positions = torch.arange(buffer.shape[-1]).expand(tuple(buffer.shape))
            buffer_owner.register_buffer(buffer_name, positions, persistent=False)
    return model.eval()


def _merged(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied; nested configs (Qwen2.5-VL's ``text_config``) entry by entry."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def match_encoder_files(family: Family, files: Sequence[Path]) -> dict[str, Path]:
    """Which separate file fills which encoder slot, by what the file holds (never by its name).

    T5 files carry ``encoder.block.*``; CLIP files ``encoder.layers.*``. Within a kind, a file whose
    width is a slot's released width (CLIP-L 768, CLIP-G 1280) takes that slot; the other files fill the
    remaining slots narrowest first, or, when fewer files than slots are left, each goes to the slot of
    the nearest width (see :func:`_assign_by_width`). Raises :class:`FamilyLoadError` for a file that is
    no text encoder, one too many of a kind, or two files for one slot.
    """
    by_kind: dict[str, list[tuple[int, Path]]] = {}
    for path in files:
        if is_gguf(path):  # llama.cpp names (enc.blk.0.attn_q), which diffusers' GGUF loader does not map
            kinds = _kinds_named(family)
            raise FamilyLoadError(
                f"{path.name} is a GGUF text encoder: Atelier reads GGUF diffusion models only; choose "
                f"the .safetensors {kinds} file"
            )
        names = tensor_names(path) if path.suffix.lower() in (".safetensors", ".sft") else frozenset()
        shapes = _header_shapes(path) if names else {}
        stripped = {_encoder_key(name): shape for name, shape in shapes.items()}
        kind = next((k for k in ENCODER_SHAPES if ENCODER_SHAPES[k](stripped)), None)
        if kind is None:
            raise FamilyLoadError(f"{path.name} is not a {_kinds_named(family)} text encoder file")
        by_kind.setdefault(kind, []).append((encoder_width(kind, stripped), path))
    matched: dict[str, Path] = {}
    for kind, found in by_kind.items():
        slots = [slot for slot in family.encoders if slot.kind == kind]
        if len(found) > len(slots):
            given = ", ".join(path.name for _, path in found)
            named = ENCODER_KIND_NAMES.get(kind, kind)
            takes = (
                f"one {named} text encoder"
                if len(slots) == 1
                else (f"{len(slots)} {named} text encoders" if slots else f"no {named} text encoder")
            )
            raise FamilyLoadError(f"{family.label} takes {takes}; given {given}")
        matched |= _assign_by_width(family, slots, found)
    return matched


def _assign_by_width(
    family: Family, slots: Sequence[EncoderSlot], found: Sequence[tuple[int, Path]]
) -> dict[str, Path]:
    """Slot name -> file for the files of one kind, by the width each file holds (see
    :func:`match_encoder_files`): a lone CLIP-G file never lands in the CLIP-L slot."""
    matched: dict[str, Path] = {}
    left = sorted(found, key=lambda item: item[0])
    for width, path in list(left):
        slot = next((s for s in slots if s.width == width and s.name not in matched), None)
        if slot is not None:
            matched[slot.name] = path
            left.remove((width, path))
    for width, path in left:
        taken = next((s for s in slots if s.width == width), None)
        if taken is not None:
            _refuse_two(family, taken, matched[taken.name], path)
    free = [slot for slot in slots if slot.name not in matched]
    if len(left) == len(free):
        for slot, (_, path) in zip(free, left, strict=True):
            matched[slot.name] = path
        return matched
    for width, path in left:
        slot = min(free, key=lambda s: abs(s.width - width))
        if slot.name in matched:
            _refuse_two(family, slot, matched[slot.name], path)
        matched[slot.name] = path
    return matched


def _refuse_two(family: Family, slot: EncoderSlot, first: Path, second: Path) -> None:
    raise FamilyLoadError(
        f"{first.name} and {second.name} are both {family.label}'s {slot.name} text encoder: choose one"
    )


def _encoder_key(name: str) -> str:
    """A text-encoder tensor name without the wrappers files put around it."""
    for prefix in ("transformer.", "model.", "language_model."):
        name = name.removeprefix(prefix)
    return name.removeprefix("text_model.")


def _header_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor shapes from the safetensors header (no tensor read, no torch: the render plan calls it);
    a file that is no model file is refused by name (:class:`FamilyLoadError`)."""
    from core.formats.errors import FormatError
    from core.formats.reader import read_header

    try:
        tensors = read_header(path).tensors
    except FormatError as error:
        raise FamilyLoadError(f"{path.name}: {error.reason}") from error
    return {name: tuple(info.shape) for name, info in tensors.items()}


def text_width_problem(family: Family, checkpoint: Path, encoder_files: Mapping[str, Path]) -> str | None:
    """The refusal :func:`_check_text_width` gives after loading, read from the headers before it: a
    separate T5/Qwen encoder file of another width than the text the checkpoint's transformer reads
    (a 32-wide T5 with a Flux.1 that reads 4096-wide text). None when they agree or cannot be read
    (a diffusers folder or a GGUF transformer are judged when they load)."""
    if checkpoint.is_dir() or is_gguf(checkpoint) or not encoder_files:
        return None
    try:
        shapes = _header_shapes(checkpoint)
    except (OSError, ValueError):
        return None
    read = _transformer_reader(family, _partition(family, frozenset(shapes)))
    inner = {key: shape for name, shape in shapes.items() if (key := read(name)) is not None}
    config = TRANSFORMER_SHAPES[family.transformer_class](inner)
    for slot in family.encoders:
        path = encoder_files.get(slot.name)
        if path is None or slot.kind not in _TEXT_WIDTH_KEYS:
            continue
        wanted = config.get(_TEXT_WIDTH_KEYS[slot.kind][0])
        try:
            stripped = {_encoder_key(name): shape for name, shape in _header_shapes(path).items()}
        except (OSError, ValueError):
            continue
        width = encoder_width(slot.kind, stripped)
        if isinstance(wanted, int) and width and wanted != width:
            return _width_refusal(family, slot, path.name, width, wanted)
    return None


def _width_refusal(family: Family, slot: EncoderSlot, source: str, width: int, wanted: int) -> str:
    name = ENCODER_KIND_NAMES[slot.kind]
    return (
        f"{source} is a {width}-wide {name} text encoder; this {family.label} model reads "
        f"{wanted}-wide text: choose the {name} it was trained with ({slot.name})"
    )


def _tokenizer(slot: EncoderSlot, folder: Path, notify: Callable[[str], None] | None) -> Any:
    import transformers

    library: Any = transformers
    if slot.tokenizer is None:
        return library.CLIPTokenizer.from_pretrained(
            str(folder / slot.tokenizer_component), local_files_only=True
        )
    source = hub_tokenizer_dir(slot.tokenizer.repo, slot.tokenizer.subfolder, notify=notify)
    return getattr(library, slot.tokenizer.tokenizer_class).from_pretrained(
        str(source), local_files_only=True
    )


def load_family_pipeline(
    family: Family,
    files: FamilyFiles,
    *,
    cache_dir: Path,
    config_root: Path,
    dtype: Any,
    notify: Callable[[str], None] | None = None,
) -> Any:
    """The family's pipeline from ``files`` (see the module docstring), on the CPU in ``dtype``.

    diffusers 0.42's own Chroma transformer builds ``FluxPosEmbed`` from the module it deprecates, which
    warns on every load; that FutureWarning (diffusers' business, nothing a user can act on) is silenced
    for this call only, every other warning untouched."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_POS_EMBED_DEPRECATION, category=FutureWarning)
        return _load_family_pipeline(
            family, files, cache_dir=cache_dir, config_root=config_root, dtype=dtype, notify=notify
        )


# Matched from the start of the message (diffusers prefixes "`FluxPosEmbed` is deprecated and ...").
_POS_EMBED_DEPRECATION = r".*Importing and using `FluxPosEmbed` from `diffusers\.models\.embeddings`"


def _load_family_pipeline(
    family: Family,
    files: FamilyFiles,
    *,
    cache_dir: Path,
    config_root: Path,
    dtype: Any,
    notify: Callable[[str], None] | None = None,
) -> Any:
    import diffusers

    library: Any = diffusers
    pipeline_cls = getattr(library, family.pipeline_class)
    encoder_files = match_encoder_files(family, files.text_encoders)
    if files.checkpoint.is_dir():
        return _load_folder(
            family,
            files,
            pipeline_cls,
            encoder_files=encoder_files,
            cache_dir=cache_dir,
            config_root=config_root,
            dtype=dtype,
        )
    names = tensor_names(files.checkpoint)
    root = ensure_tokenizers(config_root, cache_dir)
    folder = root / family.folder_for(names)
    parts = _partition(family, names)
    components: dict[str, Any] = {}
    transformer_state = _read(
        files.checkpoint, _transformer_reader(family, parts), dtype, keep_quantized=True
    )
    if not transformer_state:
        raise FamilyLoadError(f"{files.checkpoint.name} holds no {family.label} diffusion model")
    components["transformer"] = build_transformer(family, transformer_state, folder, dtype)
    del transformer_state
    for slot in family.encoders:
        if slot.name in encoder_files:
            state = _read(encoder_files[slot.name], _encoder_reader(), dtype)
            source = encoder_files[slot.name].name
        elif slot.name in parts:
            state = _read(files.checkpoint, _checkpoint_encoder(parts[slot.name]), dtype)
            source = files.checkpoint.name
        else:
            raise FamilyLoadError(_missing_encoder(family, slot, files.checkpoint))
        try:
            components[slot.component] = build_text_encoder(slot, state, folder, dtype)
        except FamilyLoadError as error:
            raise FamilyLoadError(f"{source}: {error}") from error
        _check_text_width(family, slot, components, source)
        components[slot.tokenizer_component] = _tokenizer(slot, folder, notify)
    if files.vae is not None:
        vae_state = _read(files.vae, _vae_reader(family), dtype)
    elif "vae" in parts:
        vae_state = _read(files.checkpoint, _strip_prefix(parts["vae"]), dtype)
    else:
        raise FamilyLoadError(
            f"{files.checkpoint.name} is {family.a_label} diffusion model without a VAE: choose a VAE file "
            "(ae.safetensors for Flux.1, Chroma and Z-Image, qwen_image_vae.safetensors for Qwen-Image)"
        )
    try:
        components["vae"] = build_vae(vae_state, folder, dtype, family.vae_class)
    except FamilyLoadError as error:
        raise FamilyLoadError(f"{(files.vae or files.checkpoint).name}: {error}") from error
    except Exception as error:  # diffusers' converters raise many types for a file of another layout
        if files.vae is None:
            raise
        # The separate VAE file is at fault, never the checkpoint the engine would otherwise name.
        reason = next(
            (line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__
        )
        raise FamilyLoadError(
            f"{files.vae.name} is not a VAE {family.a_label} model decodes with ({reason})"
        ) from error
    components["scheduler"] = library.FlowMatchEulerDiscreteScheduler.from_pretrained(
        str(folder / "scheduler"), local_files_only=True
    )
    return _aligned(pipeline_cls(**components))


def _check_text_width(family: Family, slot: EncoderSlot, components: Mapping[str, Any], source: str) -> None:
    """A T5 or Qwen encoder of another width than the transformer reads would fail deep inside the
    first step (CLIP widths are checked by the pooled projection, differently per family)."""
    if slot.kind not in _TEXT_WIDTH_KEYS:
        return
    wanted_key, width_key = _TEXT_WIDTH_KEYS[slot.kind]
    wanted = getattr(components["transformer"].config, wanted_key, None)
    encoder_config = components[slot.component].config
    width = getattr(getattr(encoder_config, "text_config", encoder_config), width_key, None)
    if wanted is not None and width is not None and wanted != width:
        raise FamilyLoadError(_width_refusal(family, slot, source, width, wanted))


def _encoder_reader() -> Callable[[str], str | None]:
    """A separate text-encoder file: every tensor, wrappers (``transformer.``, ``model.``) removed."""
    return _encoder_key


def _vae_reader(family: Family) -> Callable[[str], str | None]:
    def read(name: str) -> str | None:
        for prefix in family.vae_prefixes:
            if name.startswith(prefix):
                return name[len(prefix) :]
        return name

    return read


def _missing_encoder(family: Family, slot: EncoderSlot, checkpoint: Path) -> str:
    wanted = ", ".join(s.name for s in family.encoders)
    return (
        f"{checkpoint.name} is {family.a_label} diffusion model without its text encoders: choose the "
        f"text-encoder files ({wanted}); {slot.name} is missing"
    )


def _load_folder(
    family: Family,
    files: FamilyFiles,
    pipeline_cls: Any,
    *,
    encoder_files: Mapping[str, Path],
    cache_dir: Path,
    config_root: Path,
    dtype: Any,
) -> Any:
    """A diffusers folder; separate encoder or VAE files given with it replace its own."""
    overrides: dict[str, Any] = {}
    if encoder_files or files.vae is not None:
        folder = ensure_tokenizers(config_root, cache_dir) / family.default_folder
        for slot in family.encoders:
            if slot.name in encoder_files:
                state = _read(encoder_files[slot.name], _encoder_reader(), dtype)
                overrides[slot.component] = build_text_encoder(slot, state, folder, dtype)
        if files.vae is not None:
            vae_state = _read(files.vae, _vae_reader(family), dtype)
            overrides["vae"] = build_vae(vae_state, folder, dtype, family.vae_class)
    pipe = pipeline_cls.from_pretrained(
        str(files.checkpoint), dtype=dtype, local_files_only=True, **overrides
    )
    return _aligned(pipe)


def _aligned(pipe: Any) -> Any:
    """``pipe`` with every weight at a 64-byte aligned address (see :func:`_upcast`): whichever layout
    the weights came from, the CPU runs the same kernels on them and the image is the same."""
    import torch

    for module in pipe.components.values():
        if not isinstance(module, torch.nn.Module):
            continue
        for tensor in [*module.parameters(), *module.buffers()]:
            if tensor.data_ptr() % _ALIGNMENT and not hasattr(tensor, "quant_type"):  # GGUF: read whole
                tensor.data = tensor.data.clone()
    return pipe


@dataclass(frozen=True, slots=True)
class KeyGaps:
    """What a conversion left out: model tensors no file tensor filled, file tensors nothing used."""

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]


def conversion_gaps(family: Family, checkpoint: Mapping[str, Any], config_root: Path) -> dict[str, KeyGaps]:
    """Convert a whole checkpoint's tensors (meta tensors suffice) the way a load does, per component.

    For the transformer and VAE this runs diffusers' own single-file converters against models built
    on the meta device from the bundled config with the file's depths and widths; for text encoders
    the name matching of :func:`build_text_encoder`. Nothing real-sized is allocated, so real layouts
    (Flux.1's 12 B transformer) are checked in milliseconds.
    """
    import diffusers
    from accelerate import init_empty_weights
    from diffusers.loaders.single_file_model import SINGLE_FILE_LOADABLE_CLASSES

    library: Any = diffusers
    names = frozenset(checkpoint)
    folder = config_root / family.folder_for(names)
    parts = _partition(family, names)
    gaps: dict[str, KeyGaps] = {}
    read = _transformer_reader(family, parts)
    transformer = {new: t for name, t in checkpoint.items() if (new := read(name)) is not None}
    cls = getattr(library, family.transformer_class)
    config = _config(
        folder, "transformer", TRANSFORMER_SHAPES[family.transformer_class](_shapes(transformer))
    )
    gaps["transformer"] = _gaps(cls, config, transformer, SINGLE_FILE_LOADABLE_CLASSES, init_empty_weights)
    if "vae" in parts and family.vae_class == "AutoencoderKLQwenImage":
        vae = {n: t for name, t in checkpoint.items() if (n := _strip_prefix(parts["vae"])(name)) is not None}
        gaps["vae"] = _qwen_image_vae_gaps(vae, folder)
    elif "vae" in parts:
        vae = {n: t for name, t in checkpoint.items() if (n := _strip_prefix(parts["vae"])(name)) is not None}
        vae_config = _config(folder, "vae", autoencoder(_shapes(vae)))
        gaps["vae"] = _gaps(
            library.AutoencoderKL, vae_config, vae, SINGLE_FILE_LOADABLE_CLASSES, init_empty_weights
        )
    for slot in family.encoders:
        if slot.name in parts:
            strip = _checkpoint_encoder(parts[slot.name])
            state = {n: t for name, t in checkpoint.items() if (n := strip(name)) is not None}
            gaps[slot.name] = _encoder_gaps(slot, state, folder)
    return gaps


def _qwen_image_vae_gaps(state: Mapping[str, Any], folder: Path) -> KeyGaps:
    """What converting a Qwen-Image VAE state (Wan-style or diffusers names) leaves out."""
    model, converted = _qwen_image_vae_on_meta(state, folder)
    expected = set(model.state_dict())
    return KeyGaps(tuple(sorted(expected - set(converted))), tuple(sorted(set(converted) - expected)))


def _gaps(cls: Any, config: dict[str, Any], state: dict[str, Any], table: Any, empty: Any) -> KeyGaps:
    with empty():
        model = cls.from_config(config)
    expected = set(model.state_dict())
    convert = table[cls.__name__]["checkpoint_mapping_fn"]
    converted = convert(checkpoint=dict(state), config=config) if not expected <= set(state) else state
    return KeyGaps(tuple(sorted(expected - set(converted))), tuple(sorted(set(converted) - expected)))


def _encoder_gaps(slot: EncoderSlot, state: dict[str, Any], folder: Path) -> KeyGaps:
    import torch
    import transformers

    library: Any = transformers
    cls = getattr(library, slot.model_class)
    base = json.loads((folder / slot.component / "config.json").read_text(encoding="utf-8"))
    base = _merged(base, ENCODER_SHAPES[slot.kind](_shapes(state)))
    with torch.device("meta"):
        model = cls(cls.config_class.from_dict(base))
    expected = {_encoder_key(name): name for name in model.state_dict()}
    found = {_encoder_key(name) for name in state}
    optional = {"encoder.embed_tokens.weight", "text_projection.weight"}
    missing = tuple(sorted(expected[n] for n in set(expected) - found if n not in optional))
    unexpected = tuple(sorted(n for n in found - set(expected) if not n.endswith("logit_scale")))
    return KeyGaps(missing, unexpected)
