"""Model files for identification tests: tensor specs + metadata of every kind and dialect Atelier knows.

Each builder returns a ``ModelCase`` (name -> (dtype, shape) specs, ``__metadata__``, pickle extras,
diffusers configs). Where a real key space exists (tests/data/keyspaces, via ``keyspaces.py``) the case is
built from it, so the rules are checked against the names and shapes real files contain; LoRAs target the
real module names of those key spaces. Families without a bundled key space (SD2, the SDXL refiner,
Flux.2, adapters, upscalers, encoders) are derived from the closest real layout by the documented shape
changes, or reduced to the tensors their loaders look at.

``to_header`` builds an in-memory ``ModelHeader``; ``write_case`` writes a real, zero-filled (sparse)
safetensors file of the same layout.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from core.formats.model_file import DiffusersInfo, ModelHeader, TensorInfo
from core.taxonomy import FileFormat
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import DTYPE_SIZES, TensorSpec, write_safetensors

Specs = dict[str, TensorSpec]


@dataclass(frozen=True)
class ModelCase:
    """Everything a header reader would return for one file (or folder)."""

    name: str
    specs: Mapping[str, TensorSpec]
    metadata: Mapping[str, str] = field(default_factory=dict)
    extras: Mapping[str, Any] = field(default_factory=dict)
    format: FileFormat = FileFormat.SAFETENSORS
    diffusers: DiffusersInfo | None = None
    values: Mapping[str, np.ndarray] = field(default_factory=dict)

    def with_metadata(self, **metadata: str) -> ModelCase:
        return replace(self, metadata={**self.metadata, **metadata})


def to_header(case: ModelCase, path: Path | None = None) -> ModelHeader:
    """The ``ModelHeader`` a reader would produce for ``case`` (offsets laid out as the writer does)."""
    tensors: dict[str, TensorInfo] = {}
    offset = 0
    for name in sorted(case.specs, key=lambda n: (-DTYPE_SIZES[case.specs[n][0]], n)):
        dtype, shape = case.specs[name]
        nbytes = math.prod(shape) * DTYPE_SIZES[dtype]
        tensors[name] = TensorInfo(dtype=dtype, shape=shape, data_offsets=(offset, offset + nbytes))
        offset += nbytes
    suffix = ".safetensors" if case.format is FileFormat.SAFETENSORS else f".{case.format.value}"
    return ModelHeader(
        path=path or Path(f"{case.name}{suffix}"),
        format=case.format,
        size=offset,
        tensors=tensors,
        metadata=dict(case.metadata),
        extras=dict(case.extras),
        diffusers=case.diffusers,
    )


def write_case(case: ModelCase, directory: Path) -> Path:
    """Write ``case`` as a real zero-filled safetensors file (only ``case.values`` are non-zero)."""
    assert case.format is FileFormat.SAFETENSORS, case.name
    assert case.diffusers is None, case.name
    return write_safetensors(
        directory / f"{case.name}.safetensors", case.specs, metadata=case.metadata or None, values=case.values
    )


def tensor_reader(case: ModelCase) -> Callable[[str], np.ndarray]:
    """``read_tensor`` for an in-memory case: its explicit values, zeros elsewhere (a zero-filled file)."""

    def read(name: str) -> np.ndarray:
        if name in case.values:
            return case.values[name]
        return np.zeros(case.specs[name][1], dtype=np.float32)

    return read


# --------------------------------------------------------------------------------------------- helpers


def _rename(specs: Mapping[str, TensorSpec], old: str, new: str) -> Specs:
    return {(new + name[len(old) :] if name.startswith(old) else name): spec for name, spec in specs.items()}


def _scaled(specs: Mapping[str, TensorSpec], sizes: Mapping[int, int]) -> Specs:
    return {name: (dtype, tuple(sizes.get(d, d) for d in shape)) for name, (dtype, shape) in specs.items()}


def _only(specs: Mapping[str, TensorSpec], prefix: str, strip: bool = True) -> Specs:
    cut = len(prefix) if strip else 0
    return {name[cut:]: spec for name, spec in specs.items() if name.startswith(prefix)}


def _reshape(specs: Specs, name: str, shape: tuple[int, ...]) -> Specs:
    dtype = specs[name][0]
    return {**specs, name: (dtype, shape)}


# ------------------------------------------------------------------------------------------ checkpoints


@cache
def _sd1_specs(use_alias: bool, dtype: str | None) -> Specs:
    return keyspace("sd1-ldm", components=("clip_l", "vae", "diffuser"), use_alias=use_alias, dtype=dtype)


def sd1_checkpoint(
    *, in_channels: int = 4, old_clip_names: bool = False, dtype: str | None = None
) -> ModelCase:
    specs = dict(_sd1_specs(old_clip_names, dtype))
    key = "model.diffusion_model.input_blocks.0.0.weight"
    specs = _reshape(specs, key, (320, in_channels, 3, 3))
    return ModelCase(f"sd1-{in_channels}ch{'-old-clip' if old_clip_names else ''}", specs)


def _open_clip_h(prefix: str) -> Specs:
    """SD2's OpenCLIP ViT-H text encoder (width 1024, 24 layers), derived from SDXL's bigG (1280, 32)."""
    big_g = keyspace("sdxl-sgm", components=("clip_g",), include_optional=True)
    kept = {
        name: spec
        for name, spec in big_g.items()
        if ".resblocks." not in name or int(name.split(".resblocks.")[1].split(".")[0]) < 24
    }
    return _rename(
        _scaled(kept, {1280: 1024, 3840: 3072, 5120: 4096}), "conditioner.embedders.1.model.", prefix
    )


def _sd2_shape(name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """SD1 -> SD2 UNet: cross-attention reads 1024-wide OpenCLIP states; proj_in/out become linears."""
    if "attn2.to_k.weight" in name or "attn2.to_v.weight" in name:
        return (shape[0], 1024)
    if name.endswith(("proj_in.weight", "proj_out.weight")):
        return shape[:2]
    return shape


@cache
def _sd2_specs() -> Specs:
    sd1 = keyspace("sd1-ldm", components=("vae", "diffuser"))
    unet: Specs = {}
    for name, (dtype, shape) in sd1.items():
        unet[name] = (dtype, _sd2_shape(name, shape))
    return {**unet, **_open_clip_h("cond_stage_model.model.")}


def sd2_checkpoint(*, in_channels: int = 4, fmt: FileFormat = FileFormat.SAFETENSORS) -> ModelCase:
    specs = _reshape(
        dict(_sd2_specs()), "model.diffusion_model.input_blocks.0.0.weight", (320, in_channels, 3, 3)
    )
    return ModelCase(f"sd2-{in_channels}ch", specs, format=fmt)


SD2_PROBE = "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias"


def sd2_probe_values(std: float, seed: int = 0) -> np.ndarray:
    """320 values with exactly the requested population std (what ComfyUI measures)."""
    raw: np.ndarray = np.random.default_rng(seed).standard_normal(320)
    scaled: np.ndarray = (raw - raw.mean()) / raw.std() * std
    return scaled.astype(np.float32)


@cache
def _sdxl_specs() -> Specs:
    return keyspace("sdxl-sgm", components=("clip_l", "clip_g", "vae", "diffuser"))


def sdxl_checkpoint(*, in_channels: int = 4, v_pred: bool = False, edm: bool = False) -> ModelCase:
    specs = _reshape(
        dict(_sdxl_specs()), "model.diffusion_model.input_blocks.0.0.weight", (320, in_channels, 3, 3)
    )
    if v_pred:  # ComfyUI's marker tensors (empty int64)
        specs["v_pred"] = ("I64", (0,))
        specs["ztsnr"] = ("I64", (0,))
    if edm:
        specs["edm_mean"] = ("F32", (1, 4, 1, 1))
        specs["edm_std"] = ("F32", (1, 4, 1, 1))
    return ModelCase(f"sdxl-{in_channels}ch{'-vpred' if v_pred else ''}{'-edm' if edm else ''}", specs)


def sdxl_unet_only_ldm() -> ModelCase:
    """An SDXL UNet saved alone in LDM naming (no prefix), as UNet loaders accept."""
    return ModelCase("sdxl-unet-ldm", _only(_sdxl_specs(), "model.diffusion_model."))


def sdxl_unet_only_diffusers() -> ModelCase:
    return ModelCase("sdxl-unet-diffusers", keyspace("sdxl-diffusers_unet_only"))


def sdxl_refiner_checkpoint() -> ModelCase:
    """The SDXL refiner's decisive tensors (no refiner key space is bundled): 384 channels, context 1280."""
    p = "model.diffusion_model."
    specs: Specs = {
        f"{p}input_blocks.0.0.weight": ("F16", (384, 4, 3, 3)),
        f"{p}input_blocks.0.0.bias": ("F16", (384,)),
        f"{p}time_embed.0.weight": ("F16", (1536, 384)),
        f"{p}time_embed.2.weight": ("F16", (1536, 1536)),
        f"{p}label_emb.0.0.weight": ("F16", (1536, 2560)),
        f"{p}label_emb.0.2.weight": ("F16", (1536, 1536)),
        f"{p}input_blocks.4.1.proj_in.weight": ("F16", (768, 768)),
        f"{p}out.2.weight": ("F16", (4, 384, 3, 3)),
    }
    for block in range(4):
        base = f"{p}input_blocks.4.1.transformer_blocks.{block}."
        for attn in ("attn1", "attn2"):
            specs[f"{base}{attn}.to_q.weight"] = ("F16", (768, 768))
            context = 1280 if attn == "attn2" else 768
            specs[f"{base}{attn}.to_k.weight"] = ("F16", (768, context))
            specs[f"{base}{attn}.to_v.weight"] = ("F16", (768, context))
            specs[f"{base}{attn}.to_out.0.weight"] = ("F16", (768, 768))
    big_g = _rename(
        keyspace("sdxl-sgm", components=("clip_g",), dtype="F16"),
        "conditioner.embedders.1.",
        "conditioner.embedders.0.",
    )
    vae = keyspace("sdxl-sgm", components=("vae",), dtype="F16")
    return ModelCase("sdxl-refiner", {**specs, **big_g, **vae})


def sd3_checkpoint() -> ModelCase:
    return ModelCase("sd3-medium", keyspace("sd3-comfyui"))


@cache
def _flux_specs(bare: bool) -> Specs:
    if bare:
        return keyspace("flux-flux", components=("diffuser",), use_alias=True)
    return keyspace("flux-flux")


def flux_checkpoint(*, dev: bool = True, bare: bool = True, img_in: int = 64) -> ModelCase:
    specs = dict(_flux_specs(bare))
    p = "" if bare else "model.diffusion_model."
    if not dev:
        specs = {name: spec for name, spec in specs.items() if not name.startswith(p + "guidance_in.")}
    specs = _reshape(specs, p + "img_in.weight", (3072, img_in))
    return ModelCase(f"flux1-{'dev' if dev else 'schnell'}-{'bare' if bare else 'bundled'}-{img_in}", specs)


def flux2_checkpoint(*, context_dim: int = 15360, hidden: int = 3072) -> ModelCase:
    """Flux.2 (no bundled key space): Flux.1 block names, 128-channel img_in, an LLM-width txt_in."""
    specs = {name: spec for name, spec in _flux_specs(True).items() if not name.startswith("vector_in.")}
    specs = _reshape(specs, "img_in.weight", (3072, 128))
    specs = _reshape(specs, "txt_in.weight", (3072, context_dim))
    if hidden != 3072:
        specs = _scaled(specs, {3072: hidden})
    return ModelCase(f"flux2-{context_dim}", specs)


# ---------------------------------------------------------------------------------------------- LoRAs

Module = tuple[str, tuple[int, ...]]  # dotted module path, weight shape (out, in[, kh, kw])


def _is_attention(name: str) -> bool:
    return "transformer_blocks" in name or name.endswith(("proj_in.weight", "proj_out.weight"))


def _is_conv_scope(name: str) -> bool:
    return any(
        part in name
        for part in (
            "resnets",
            "downsamplers",
            "upsamplers",
            "in_layers",
            "out_layers",
            "skip_connection",
            "emb_layers",
            ".op.",
            ".2.conv.",
        )
    )


@cache
def unet_modules(space: str, conv: bool = False) -> tuple[Module, ...]:
    """kohya's UNet targets in a kohya key space: attention layers, plus resnet/resample convs for LoCon."""
    found: list[Module] = []
    for name, (_, shape) in keyspace(space, components=("diffuser",)).items():
        if not name.endswith(".weight") or len(shape) < 2:
            continue
        if _is_attention(name) or (conv and _is_conv_scope(name)):
            found.append((name[len("unet.") : -len(".weight")], shape))
    return tuple(found)


@cache
def text_modules(space: str, component: str) -> tuple[Module, ...]:
    """CLIPAttention / CLIPMLP linears of one text encoder of a kohya key space."""
    found: list[Module] = []
    for name, (_, shape) in keyspace(space, components=(component,)).items():
        if name.endswith(".weight") and ("self_attn." in name or ".mlp." in name) and len(shape) == 2:
            found.append((name.split(".", 1)[1][: -len(".weight")], shape))
    return tuple(found)


def _sd2_unet_modules() -> tuple[Module, ...]:
    return tuple(
        (module, _sd2_shape(module + ".weight", shape)) for module, shape in unet_modules("sd1-kohya")
    )


def _sd2_text_modules() -> tuple[Module, ...]:
    """SD2's OpenCLIP ViT-H text encoder in the HF CLIP names kohya converts it to (23 layers, 1024 wide)."""
    modules: list[Module] = []
    for i in range(23):
        base = f"text_model.encoder.layers.{i}."
        modules += [(f"{base}self_attn.{p}_proj", (1024, 1024)) for p in ("q", "k", "v", "out")]
        modules += [(f"{base}mlp.fc1", (4096, 1024)), (f"{base}mlp.fc2", (1024, 4096))]
    return tuple(modules)


def _kohya_name(prefix: str, module: str) -> str:
    return prefix + module.replace(".", "_")


def _network_tensors(module: str, shape: tuple[int, ...], network: str, rank: int, dtype: str) -> Specs:
    """One module's tensors for ``network`` in LyCORIS/kohya naming."""
    out_dim, in_dim = shape[0], shape[1]
    kernel = shape[2:]
    m = module + "."
    specs: Specs = {}
    if network in ("lora", "locon", "dora"):
        down = (rank, in_dim, *kernel) if kernel else (rank, in_dim)
        up = (out_dim, rank, 1, 1) if kernel else (out_dim, rank)
        specs[m + "lora_down.weight"] = (dtype, down)
        specs[m + "lora_up.weight"] = (dtype, up)
        specs[m + "alpha"] = (dtype, ())
        if network == "dora":
            specs[m + "dora_scale"] = (dtype, (out_dim, 1))
    elif network == "loha":
        flat_in = in_dim * math.prod(kernel)
        for w in ("w1", "w2"):
            specs[m + f"hada_{w}_a"] = (dtype, (out_dim, rank))
            specs[m + f"hada_{w}_b"] = (dtype, (rank, flat_in))
        specs[m + "alpha"] = (dtype, ())
    elif network == "lokr":
        specs[m + "lokr_w1"] = (dtype, (8, 8))
        specs[m + "lokr_w2_a"] = (dtype, (out_dim // 8, rank))
        specs[m + "lokr_w2_b"] = (dtype, (rank, in_dim // 8 * math.prod(kernel)))
        specs[m + "alpha"] = (dtype, ())
    elif network == "ia3":
        specs[m + "weight"] = (dtype, (out_dim,))
        specs[m + "on_input"] = ("BOOL", ())
    elif network == "full":
        specs[m + "diff"] = (dtype, shape)
        specs[m + "diff_b"] = (dtype, (out_dim,))
    elif network == "glora":
        specs[m + "a1.weight"] = (dtype, (rank, in_dim))
        specs[m + "a2.weight"] = (dtype, (in_dim, rank))
        specs[m + "b1.weight"] = (dtype, (rank, in_dim))
        specs[m + "b2.weight"] = (dtype, (out_dim, rank))
        specs[m + "alpha"] = (dtype, ())
    elif network == "oft":
        blocks = 4
        specs[m + "oft_blocks"] = (dtype, (blocks, out_dim // blocks, out_dim // blocks))
        specs[m + "alpha"] = (dtype, ())
    else:
        raise ValueError(network)
    return specs


_LORA_SPACES = {"sd1": "sd1-kohya", "sdxl": "sdxl-kohya"}


def kohya_lora(
    arch: str = "sd1",
    network: str = "lora",
    *,
    unet: bool = True,
    text: bool = True,
    rank: int = 8,
    dtype: str = "F16",
    metadata: Mapping[str, str] | None = None,
) -> ModelCase:
    """A kohya/LyCORIS file: ``lora_unet_``/``lora_te*_`` names over the real module paths.

    SD1 UNet names use diffusers paths and SDXL UNet names SGM paths, as sd-scripts writes them.
    """
    conv = network in ("locon", "loha", "lokr", "full")
    targets: list[tuple[str, tuple[int, ...]]] = []
    if arch == "sd2":
        if unet:
            targets += [(_kohya_name("lora_unet_", m), s) for m, s in _sd2_unet_modules()]
        if text:
            targets += [(_kohya_name("lora_te_", m), s) for m, s in _sd2_text_modules()]
    else:
        space = _LORA_SPACES[arch]
        if unet:
            targets += [(_kohya_name("lora_unet_", m), s) for m, s in unet_modules(space, conv)]
        if text and arch == "sd1":
            targets += [(_kohya_name("lora_te_", m), s) for m, s in text_modules(space, "clip_l")]
        elif text:
            targets += [(_kohya_name("lora_te1_", m), s) for m, s in text_modules(space, "clip_l")]
            targets += [(_kohya_name("lora_te2_", m), s) for m, s in text_modules(space, "clip_g")]
    specs: Specs = {}
    for module, shape in targets:
        kind = network
        if network == "locon" and len(shape) == 4 and shape[2] == 1:
            kind = "lora"
        specs.update(_network_tensors(module, shape, kind, rank, dtype))
    parts = [arch, network, "unet" if unet else "", "te" if text else ""]
    return ModelCase("-".join(p for p in parts if p), specs, metadata=dict(metadata or {}))


def onetrainer_lora(arch: str = "sdxl", *, dora: bool = False) -> ModelCase:
    """OneTrainer SD/SDXL: kohya prefixes (``lora_te1_`` even for SD1) over *diffusers* UNet paths."""
    space = {"sd1": "sd1-kohya", "sdxl": "sdxl-kohya_but_diffusers"}[arch]
    targets = [(_kohya_name("lora_unet_", m), s) for m, s in unet_modules(space)]
    targets += [(_kohya_name("lora_te1_", m), s) for m, s in text_modules(space, "clip_l")]
    if arch == "sdxl":
        targets += [(_kohya_name("lora_te2_", m), s) for m, s in text_modules(space, "clip_g")]
    specs: Specs = {}
    for module, shape in targets:
        specs.update(_network_tensors(module, shape, "dora" if dora else "lora", 16, "F32"))
    return ModelCase(f"onetrainer-{arch}{'-dora' if dora else ''}", specs)


def sdxl_unet_lora_without_cross_attention() -> ModelCase:
    """A UNet-only SDXL LoRA in diffusers paths that skips attn2 (decided by transformer block depth)."""
    specs: Specs = {}
    for module, shape in unet_modules("sdxl-kohya_but_diffusers"):
        if "attn2" not in module:
            specs.update(_network_tensors(_kohya_name("lora_unet_", module), shape, "lora", 4, "F16"))
    return ModelCase("sdxl-unet-no-attn2", specs)


def peft_lora(arch: str = "sdxl", *, dora: bool = False) -> ModelCase:
    """diffusers/PEFT: ``unet.<path>.lora_A.weight`` + ``text_encoder(_2).`` (DoRA: lora_magnitude_vector)."""
    space = {"sd1": "sd1-kohya", "sdxl": "sdxl-kohya_but_diffusers"}[arch]
    targets = [("unet." + m, s) for m, s in unet_modules(space)]
    targets += [("text_encoder." + m, s) for m, s in text_modules(space, "clip_l")]
    if arch == "sdxl":
        targets += [("text_encoder_2." + m, s) for m, s in text_modules(space, "clip_g")]
    specs: Specs = {}
    for module, shape in targets:
        out_dim, in_dim = shape[0], shape[1]
        kernel = shape[2:]
        specs[f"{module}.lora_A.weight"] = ("F16", (8, in_dim, *kernel))
        specs[f"{module}.lora_B.weight"] = ("F16", (out_dim, 8, *(1 for _ in kernel)))
        if dora:
            specs[f"{module}.lora_magnitude_vector"] = ("F16", (out_dim,))
    return ModelCase(f"peft-{arch}{'-dora' if dora else ''}", specs)


def legacy_attn_procs_lora() -> ModelCase:
    """diffusers' pre-PEFT attention-processor LoRA for SD1 (``processor.to_q_lora.down.weight``)."""
    specs: Specs = {}
    for module, shape in unet_modules("sd1-kohya"):
        head, _, proj = module.rpartition(".")
        if not head.endswith(("attn1", "attn2")) or proj not in ("to_q", "to_k", "to_v"):
            continue
        base = f"unet.{head}.processor.{proj}_lora"
        specs[f"{base}.down.weight"] = ("F32", (4, shape[1]))
        specs[f"{base}.up.weight"] = ("F32", (shape[0], 4))
    for module, shape in text_modules("sd1-kohya", "clip_l"):
        if "self_attn" in module:
            specs[f"text_encoder.{module}.lora_linear_layer.down.weight"] = ("F32", (4, shape[1]))
            specs[f"text_encoder.{module}.lora_linear_layer.up.weight"] = ("F32", (shape[0], 4))
    return ModelCase("diffusers-attn-procs-sd1", specs)


@cache
def flux_modules() -> tuple[Module, ...]:
    """Flux.1's adaptable linears in BFL naming (bare), from the real key space."""
    return tuple(
        (name[: -len(".weight")], shape)
        for name, (_, shape) in _flux_specs(True).items()
        if name.startswith(("double_blocks.", "single_blocks."))
        and name.endswith(".weight")
        and len(shape) == 2
    )


def _flux_diffusers_modules() -> tuple[Module, ...]:
    """Flux.1's linears in diffusers naming (double = ``transformer_blocks``, then the single blocks)."""
    h = 3072
    modules: list[Module] = []
    for i in range(19):
        b = f"transformer_blocks.{i}."
        for proj in ("to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj"):
            modules.append((f"{b}attn.{proj}", (h, h)))
        modules += [(f"{b}attn.to_out.0", (h, h)), (f"{b}attn.to_add_out", (h, h))]
        modules += [(f"{b}ff.net.0.proj", (4 * h, h)), (f"{b}ff.net.2", (h, 4 * h))]
        modules += [(f"{b}ff_context.net.0.proj", (4 * h, h)), (f"{b}ff_context.net.2", (h, 4 * h))]
        modules += [(f"{b}norm1.linear", (6 * h, h)), (f"{b}norm1_context.linear", (6 * h, h))]
    for i in range(38):
        b = f"single_transformer_blocks.{i}."
        modules += [(f"{b}attn.{p}", (h, h)) for p in ("to_q", "to_k", "to_v")]
        modules += [
            (f"{b}proj_mlp", (4 * h, h)),
            (f"{b}proj_out", (h, 5 * h)),
            (f"{b}norm.linear", (3 * h, h)),
        ]
    return tuple(modules)


def flux_lora(dialect: str = "kohya", *, hidden: int = 3072) -> ModelCase:
    """Flux.1 LoRAs as kohya, ai-toolkit (BFL or diffusers names), OneTrainer and XLabs write them."""
    specs: Specs = {}
    if dialect == "kohya":
        for module, shape in flux_modules():
            specs.update(_network_tensors(_kohya_name("lora_unet_", module), shape, "lora", 16, "BF16"))
    elif dialect == "ai_toolkit":
        for module, (out_dim, in_dim) in flux_modules():
            specs[f"diffusion_model.{module}.lora_A.weight"] = ("BF16", (16, in_dim))
            specs[f"diffusion_model.{module}.lora_B.weight"] = ("BF16", (out_dim, 16))
    elif dialect == "diffusers":
        for module, (out_dim, in_dim) in _flux_diffusers_modules():
            specs[f"transformer.{module}.lora_A.weight"] = ("BF16", (16, in_dim))
            specs[f"transformer.{module}.lora_B.weight"] = ("BF16", (out_dim, 16))
    elif dialect == "onetrainer":
        for module, shape in _flux_diffusers_modules():
            specs.update(
                _network_tensors(_kohya_name("lora_transformer_", module), shape, "lora", 16, "BF16")
            )
    elif dialect == "xlabs":
        for i in range(19):
            for stream in ("1", "2"):
                base = f"double_blocks.{i}.processor."
                specs[f"{base}qkv_lora{stream}.down.weight"] = ("BF16", (16, 3072))
                specs[f"{base}qkv_lora{stream}.up.weight"] = ("BF16", (9216, 16))
                specs[f"{base}proj_lora{stream}.down.weight"] = ("BF16", (16, 3072))
                specs[f"{base}proj_lora{stream}.up.weight"] = ("BF16", (3072, 16))
    else:
        raise ValueError(dialect)
    if hidden != 3072:
        specs = _scaled(specs, {3072: hidden, 9216: 3 * hidden, 12288: 4 * hidden})
    return ModelCase(f"flux-lora-{dialect}-{hidden}", specs)


def flux2_klein_lora() -> ModelCase:
    """A Flux.2 klein-4B kohya LoRA: Flux.1 names and width, but SwiGLU single blocks (linear1 27648)."""
    specs: Specs = {}
    for module, shape in flux_modules():
        klein = (27648, 3072) if module.endswith("linear1") else shape
        specs.update(_network_tensors(_kohya_name("lora_unet_", module), klein, "lora", 16, "BF16"))
    return ModelCase("flux2-klein-lora", specs)


# ------------------------------------------------------------------------------------------ embeddings


def a1111_embedding(width: int = 768, vectors: int = 4) -> ModelCase:
    return ModelCase(
        f"a1111-emb-{width}",
        {"string_to_param.*": ("F32", (vectors, width))},
        extras={
            "string_to_token": {"*": 265},
            "name": "my-style",
            "step": 3000,
            "sd_checkpoint_name": "v1-5",
        },
        format=FileFormat.PT,
    )


def emb_params_embedding(width: int = 768, vectors: int = 8) -> ModelCase:
    return ModelCase(f"emb-params-{width}", {"emb_params": ("F32", (vectors, width))})


def sdxl_embedding(vectors: int = 2) -> ModelCase:
    return ModelCase("sdxl-emb", {"clip_l": ("F16", (vectors, 768)), "clip_g": ("F16", (vectors, 1280))})


def diffusers_embedding(shape: tuple[int, ...] = (768,), token: str = "<cat-toy>") -> ModelCase:
    return ModelCase(
        f"learned-embeds-{'x'.join(map(str, shape))}", {token: ("F32", shape)}, format=FileFormat.BIN
    )


# ------------------------------------------------------------------------------------- hypernetworks


def hypernetwork(
    widths: Iterable[int] = (320, 640, 768, 1280), layer_structure: tuple[float, ...] = (1, 2, 1)
) -> ModelCase:
    specs: Specs = {}
    for width in widths:
        for side in (0, 1):
            for layer, (a, b) in enumerate(itertools.pairwise(layer_structure)):
                index = layer * 2  # activation modules sit between the linears in the Sequential
                specs[f"{width}.{side}.linear.{index}.weight"] = ("F32", (int(width * b), int(width * a)))
                specs[f"{width}.{side}.linear.{index}.bias"] = ("F32", (int(width * b),))
    extras = {
        "layer_structure": list(layer_structure),
        "activation_func": "relu",
        "is_layer_norm": False,
        "weight_initialization": "Normal",
        "use_dropout": False,
        "name": "anime-hn",
        "step": 12000,
        "sd_checkpoint": "a9263745",
    }
    return ModelCase(f"hypernetwork-{'-'.join(map(str, widths))}", specs, extras=extras, format=FileFormat.PT)


# ------------------------------------------------------------------------------------------------ VAEs


def vae(prefix: str = "", *, latent: int = 4, leftovers: bool = False, space: str = "sdxl-sgm") -> ModelCase:
    """An LDM-named VAE, bare or prefixed; ``latent`` 16 uses the SD3/Flux AE layout."""
    if latent == 4:
        specs = _only(keyspace(space, components=("vae",)), "first_stage_model.")
    else:
        specs = _only(keyspace("flux-flux", components=("vae",)), "vae.")
        if latent != 16:
            specs = _scaled(specs, {16: latent, 32: 2 * latent})
    specs = {prefix + name: spec for name, spec in specs.items()}
    if leftovers:
        specs["loss.logvar"] = ("F32", ())
        specs["loss.discriminator.main.0.weight"] = ("F32", (64, 3, 4, 4))
        specs["loss.perceptual_loss.lin0.model.1.weight"] = ("F32", (1, 64, 1, 1))
    return ModelCase(f"vae{latent}-{prefix or 'bare'}{'-loss' if leftovers else ''}", specs)


def diffusers_vae() -> ModelCase:
    """A VAE in diffusers naming (``encoder.down_blocks``, ``mid_block.attentions.0.to_q``)."""
    sd = _only(keyspace("sd1-kohya", components=("vae",)), "vae.")
    return ModelCase("vae-diffusers", sd)


# ---------------------------------------------------------------------------------------------- others


def ldm_controlnet(arch: str = "sd1") -> ModelCase:
    """An LDM ControlNet: the UNet encoder half under ``control_model.`` plus hint block and zero convs."""
    source = _sd1_specs(False, None) if arch == "sd1" else _sdxl_specs()
    unet = _only(source, "model.diffusion_model.")
    kept = {
        "control_model." + name: spec
        for name, spec in unet.items()
        if name.startswith(("input_blocks.", "middle_block.", "time_embed.", "label_emb."))
    }
    kept["control_model.input_hint_block.0.weight"] = ("F16", (16, 3, 3, 3))
    kept["control_model.input_hint_block.14.weight"] = ("F16", (320, 256, 3, 3))
    for i in range(12):
        kept[f"control_model.zero_convs.{i}.0.weight"] = ("F16", (320, 320, 1, 1))
    kept["control_model.middle_block_out.0.weight"] = ("F16", (1280, 1280, 1, 1))
    return ModelCase(f"controlnet-ldm-{arch}", kept)


def diffusers_controlnet_sdxl() -> ModelCase:
    unet = keyspace("sdxl-diffusers_unet_only")
    kept = {
        name: spec
        for name, spec in unet.items()
        if name.startswith(("conv_in.", "down_blocks.", "mid_block.", "time_embedding.", "add_embedding."))
    }
    kept["controlnet_cond_embedding.conv_in.weight"] = ("F16", (16, 3, 3, 3))
    kept["controlnet_cond_embedding.conv_out.weight"] = ("F16", (320, 256, 3, 3))
    for i in range(9):
        kept[f"controlnet_down_blocks.{i}.weight"] = ("F16", (320, 320, 1, 1))
    kept["controlnet_mid_block.weight"] = ("F16", (1280, 1280, 1, 1))
    return ModelCase("controlnet-diffusers-sdxl", kept)


def flux_controlnet() -> ModelCase:
    """XLabs Flux ControlNet: two double blocks, controlnet_blocks and an input hint block."""
    kept = {
        n: s for n, s in _flux_specs(True).items() if n.startswith(("double_blocks.0.", "double_blocks.1."))
    }
    kept.update({f"controlnet_blocks.{i}.weight": ("BF16", (3072, 3072)) for i in range(2)})
    kept["input_hint_block.0.weight"] = ("BF16", (16, 3, 3, 3))
    kept["img_in.weight"] = ("BF16", (3072, 64))
    return ModelCase("controlnet-flux-xlabs", kept)


def ip_adapter(arch: str = "sd1", *, plus: bool = False) -> ModelCase:
    context = {"sd1": 768, "sd2": 1024, "sdxl": 2048}[arch]
    specs: Specs = {}
    if plus:
        specs["image_proj.latents"] = ("F16", (1, 16, 1280))
        specs["image_proj.proj_in.weight"] = ("F16", (1280, 1280))
        specs["image_proj.proj_out.weight"] = ("F16", (context, 1280))
    else:
        specs["image_proj.proj.weight"] = ("F16", (4 * context, 1024))
        specs["image_proj.norm.weight"] = ("F16", (context,))
    widths = [320] * 6 + [640] * 6 + [1280] * 4 if arch != "sdxl" else [640] * 4 + [1280] * 66
    for i, width in enumerate(widths):
        specs[f"ip_adapter.{2 * i + 1}.to_k_ip.weight"] = ("F16", (width, context))
        specs[f"ip_adapter.{2 * i + 1}.to_v_ip.weight"] = ("F16", (width, context))
    return ModelCase(f"ip-adapter-{arch}{'-plus' if plus else ''}", specs, format=FileFormat.BIN)


def flux_ip_adapter() -> ModelCase:
    specs: Specs = {"ip_adapter_proj_model.proj.weight": ("BF16", (16384, 768))}
    for i in range(19):
        specs[f"double_blocks.{i}.processor.ip_adapter_double_stream_k_proj.weight"] = ("BF16", (3072, 4096))
        specs[f"double_blocks.{i}.processor.ip_adapter_double_stream_v_proj.weight"] = ("BF16", (3072, 4096))
    return ModelCase("ip-adapter-flux-xlabs", specs)


def realesrgan(scale: int = 4, prefix: str = "params_ema.") -> ModelCase:
    """BasicSR RRDBNet (Real-ESRGAN x4plus / x2plus): x2 pixel-unshuffles its input (12 channels)."""
    p = prefix
    specs: Specs = {f"{p}conv_first.weight": ("F32", (64, 3 if scale == 4 else 12, 3, 3))}
    for block in range(23):
        for rdb in (1, 2, 3):
            for conv in range(1, 6):
                out = 64 if conv == 5 else 32
                specs[f"{p}body.{block}.rdb{rdb}.conv{conv}.weight"] = (
                    "F32",
                    (out, 64 + 32 * (conv - 1), 3, 3),
                )
    for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        specs[f"{p}{name}.weight"] = ("F32", (64, 64, 3, 3))
    specs[f"{p}conv_last.weight"] = ("F32", (3, 64, 3, 3))
    return ModelCase(f"realesrgan-x{scale}", specs, format=FileFormat.PT)


def esrgan_old() -> ModelCase:
    specs: Specs = {"model.0.weight": ("F32", (64, 3, 3, 3)), "model.0.bias": ("F32", (64,))}
    for block in range(23):
        for rdb in (1, 2, 3):
            for conv in range(1, 6):
                out = 64 if conv == 5 else 32
                specs[f"model.1.sub.{block}.RDB{rdb}.conv{conv}.0.weight"] = (
                    "F32",
                    (out, 64 + 32 * (conv - 1), 3, 3),
                )
    specs["model.1.sub.23.weight"] = ("F32", (64, 64, 3, 3))
    for index in (3, 6, 8):
        specs[f"model.{index}.weight"] = ("F32", (64, 64, 3, 3))
    specs["model.10.weight"] = ("F32", (3, 64, 3, 3))
    return ModelCase("esrgan-4x-old", specs, format=FileFormat.PT)


def srvgg_compact(scale: int = 4, convs: int = 16) -> ModelCase:
    specs: Specs = {"body.0.weight": ("F32", (64, 3, 3, 3)), "body.0.bias": ("F32", (64,))}
    index = 1
    for _ in range(convs):
        specs[f"body.{index}.weight"] = ("F32", (64,))  # PReLU
        specs[f"body.{index + 1}.weight"] = ("F32", (64, 64, 3, 3))
        specs[f"body.{index + 1}.bias"] = ("F32", (64,))
        index += 2
    specs[f"body.{index}.weight"] = ("F32", (64,))
    specs[f"body.{index + 1}.weight"] = ("F32", (3 * scale * scale, 64, 3, 3))
    specs[f"body.{index + 1}.bias"] = ("F32", (3 * scale * scale,))
    return ModelCase(f"srvgg-x{scale}", specs, format=FileFormat.PT)


def swinir() -> ModelCase:
    specs: Specs = {
        "conv_first.weight": ("F32", (180, 3, 3, 3)),
        "layers.0.residual_group.blocks.0.attn.qkv.weight": ("F32", (540, 180)),
        "conv_after_body.weight": ("F32", (180, 180, 3, 3)),
        "conv_last.weight": ("F32", (3, 64, 3, 3)),
    }
    return ModelCase("swinir-x4", specs, format=FileFormat.PT)


def clip_vision(width: int = 1280, layers: int = 32) -> ModelCase:
    specs: Specs = {
        "vision_model.embeddings.patch_embedding.weight": ("F16", (width, 3, 14, 14)),
        "vision_model.embeddings.class_embedding": ("F16", (width,)),
        "vision_model.embeddings.position_embedding.weight": ("F16", (257, width)),
        "vision_model.post_layernorm.weight": ("F16", (width,)),
        "visual_projection.weight": ("F16", (1024, width)),
    }
    for i in range(layers):
        specs[f"vision_model.encoder.layers.{i}.self_attn.q_proj.weight"] = ("F16", (width, width))
        specs[f"vision_model.encoder.layers.{i}.mlp.fc1.weight"] = ("F16", (4 * width, width))
    return ModelCase(f"clip-vision-{width}", specs)


def clip_l_text_encoder() -> ModelCase:
    return ModelCase("clip-l", _only(keyspace("sd1-kohya", components=("clip_l",)), "te."))


def t5xxl_text_encoder() -> ModelCase:
    return ModelCase(
        "t5xxl", _only(keyspace("flux-flux", components=("t5xxl",)), "text_encoders.t5xxl.transformer.")
    )


def bundled_text_encoders() -> ModelCase:
    """ComfyUI-style ``text_encoders.clip_l.*`` + ``text_encoders.t5xxl.*`` without a denoiser."""
    return ModelCase("clip-l-t5", keyspace("flux-flux", components=("clip_l", "t5xxl")))


def random_keys(count: int = 40, seed: int = 7) -> ModelCase:
    rng = np.random.default_rng(seed)
    words = ["alpha_net", "blk", "proj", "gate", "mixer", "head", "emb", "conv", "stage", "core"]
    specs: Specs = {}
    while len(specs) < count:
        name = ".".join(str(rng.choice(words)) + str(int(rng.integers(0, 9))) for _ in range(3)) + ".weight"
        specs[name] = ("F32", (int(rng.integers(1, 64)), int(rng.integers(1, 64))))
    return ModelCase("random-keys", specs)


# ---------------------------------------------------------------------------------------- diffusers


def diffusers_pipeline(
    pipeline: str = "StableDiffusionPipeline",
    *,
    unet: Mapping[str, Any] | None = None,
    transformer: Mapping[str, Any] | None = None,
    scheduler: Mapping[str, Any] | None = None,
    fp16: bool = False,
) -> ModelCase:
    """A diffusers pipeline folder as the folder reader reports it (configs only, no tensors)."""
    model_index: dict[str, Any] = {"_class_name": pipeline, "_diffusers_version": "0.30.0"}
    configs: dict[str, Mapping[str, Any]] = {}
    if unet is not None:
        model_index["unet"] = ["diffusers", "UNet2DConditionModel"]
        configs["unet"] = {"_class_name": "UNet2DConditionModel", **unet}
    if transformer is not None:
        model_index["transformer"] = ["diffusers", str(transformer.get("_class_name"))]
        configs["transformer"] = dict(transformer)
    model_index["vae"] = ["diffusers", "AutoencoderKL"]
    model_index["text_encoder"] = ["transformers", "CLIPTextModel"]
    model_index["safety_checker"] = [None, None]
    model_index["scheduler"] = ["diffusers", "EulerDiscreteScheduler"]
    configs["vae"] = {"_class_name": "AutoencoderKL", "latent_channels": 4}
    if scheduler is not None:
        configs["scheduler"] = dict(scheduler)
    suffix = ".fp16.safetensors" if fp16 else ".safetensors"
    files = tuple(f"{part}/diffusion_pytorch_model{suffix}" for part in ("unet", "vae"))
    info = DiffusersInfo(model_index=model_index, configs=configs, weight_files=files)
    return ModelCase(f"diffusers-{pipeline}", {}, format=FileFormat.DIFFUSERS, diffusers=info)


def diffusers_component(config: Mapping[str, Any]) -> ModelCase:
    info = DiffusersInfo(
        model_index={}, configs={"": dict(config)}, weight_files=("diffusion_pytorch_model.safetensors",)
    )
    return ModelCase(
        f"diffusers-{config.get('_class_name')}", {}, format=FileFormat.DIFFUSERS, diffusers=info
    )
