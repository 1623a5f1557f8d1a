"""Real files for the ``core.formats`` tests: broken safetensors, torch pickles, hostile pickles, GGUF,
diffusers folders and the sidecars other tools write.

Every writer produces the bytes the real tool would: pickles come from ``torch.save`` (both the zip and the
legacy format), GGUF from a small writer following the v3 layout, so the readers are tested against what
they meet in a user's models folder rather than against hand-made approximations of it. Big tensors are
stored as ``torch.zeros(1).expand(shape)``: the pickle records the real shape while the file stays tiny.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import struct
import subprocess
import sys
import types
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from tests.factory.safetensors_writer import TensorSpec, write_safetensors

# --------------------------------------------------------------------------------------------------
# safetensors, broken in every way the reader must diagnose
# --------------------------------------------------------------------------------------------------


def write_raw_safetensors(
    path: Path, header: Mapping[str, Any] | bytes, data: bytes = b"", *, header_len: int | None = None
) -> Path:
    """A safetensors-shaped file with exactly this header (JSON-encoded unless bytes) and data section."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode("utf-8")
    length = len(raw) if header_len is None else header_len
    path.write_bytes(struct.pack("<Q", length) + raw + data)
    return path


def _entry(dtype: str, shape: list[int], begin: int, end: int) -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def _valid_then(path: Path, mutate: Callable[[bytes], bytes]) -> Path:
    write_safetensors(path, {"a": ("F32", (4, 4)), "b": ("F16", (8,))}, seed=0)
    path.write_bytes(mutate(path.read_bytes()))
    return path


# defect -> writer. Each file is broken in exactly one way.
BROKEN_SAFETENSORS: dict[str, Callable[[Path], Path]] = {
    "empty": lambda p: _write(p, b""),
    "shorter_than_8_bytes": lambda p: _write(p, b"\x10\x00\x00"),
    "truncated_data": lambda p: _valid_then(p, lambda b: b[:-5]),
    "truncated_header": lambda p: _valid_then(p, lambda b: b[:20]),
    "header_length_zero": lambda p: write_raw_safetensors(p, b"{}", header_len=0),
    "header_length_huge": lambda p: write_raw_safetensors(p, b"{}", header_len=2**40),
    "header_length_past_end": lambda p: write_raw_safetensors(p, {}, header_len=4096),
    "header_length_too_short": lambda p: write_raw_safetensors(
        p, {"a": _entry("F32", [1], 0, 4)}, b"\0" * 4, header_len=10
    ),
    "not_json": lambda p: write_raw_safetensors(p, b"this is not json at all!"),
    "not_utf8": lambda p: write_raw_safetensors(p, b'{"a\xff\xfe": 1}        '),
    "not_an_object": lambda p: write_raw_safetensors(p, b"[1, 2, 3]       "),
    "overlapping_offsets": lambda p: write_raw_safetensors(
        p, {"a": _entry("F32", [2], 0, 8), "b": _entry("F32", [2], 4, 12)}, b"\0" * 12
    ),
    "gap_between_tensors": lambda p: write_raw_safetensors(
        p, {"a": _entry("F32", [1], 0, 4), "b": _entry("F32", [1], 8, 12)}, b"\0" * 12
    ),
    "offsets_outside_file": lambda p: write_raw_safetensors(
        p, {"a": _entry("F32", [1], 0, 4), "b": _entry("F32", [256], 4, 1028)}, b"\0" * 8
    ),
    "trailing_bytes": lambda p: write_raw_safetensors(p, {"a": _entry("F32", [1], 0, 4)}, b"\0" * 9),
    "bad_dtype": lambda p: write_raw_safetensors(p, {"a": _entry("F17", [1], 0, 4)}, b"\0" * 4),
    "wrong_byte_count": lambda p: write_raw_safetensors(p, {"a": _entry("F32", [2, 2], 0, 12)}, b"\0" * 12),
    "negative_dimension": lambda p: write_raw_safetensors(p, {"a": _entry("F32", [-1], 0, 0)}),
    "entry_not_object": lambda p: write_raw_safetensors(p, {"a": [1, 2]}),
    "metadata_not_strings": lambda p: write_raw_safetensors(
        p, {"__metadata__": {"ss_network_dim": 32}, "a": _entry("F32", [1], 0, 4)}, b"\0" * 4
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------------------------------
# torch pickles as A1111-era tools wrote them
# --------------------------------------------------------------------------------------------------


def big_zeros(shape: Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A tensor of ``shape`` backed by a single element, so a real-size layout pickles to a few bytes."""
    if not shape:
        return torch.zeros((), dtype=dtype)
    return torch.zeros(1, dtype=dtype).expand(*shape)


def save_torch(path: Path, obj: object, *, legacy: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path


def write_a1111_embedding(
    path: Path,
    *,
    dim: int = 768,
    vectors: int = 2,
    legacy: bool = False,
    parameter_dict: bool = False,
    name: str = "my-style",
) -> Path:
    """``Embedding.save`` of A1111's textual_inversion.py (old versions kept a ``ParameterDict``)."""
    param = torch.zeros(vectors, dim)
    string_to_param: object = {"*": param}
    if parameter_dict:
        string_to_param = torch.nn.ParameterDict({"*": torch.nn.Parameter(param)})
    data = {
        "string_to_token": {"*": 265},
        "string_to_param": string_to_param,
        "name": name,
        "step": 1500,
        "sd_checkpoint": "7460a6fa",
        "sd_checkpoint_name": "v1-5-pruned-emaonly",
    }
    return save_torch(path, data, legacy=legacy)


def hypernetwork_layer(dim: int, layer_structure: Sequence[float] = (1, 2, 1)) -> OrderedDict[str, Any]:
    """One K or V MLP of an A1111 hypernetwork with a ReLU between Linear layers (indices 0, 2, ...)."""
    sd: OrderedDict[str, Any] = OrderedDict()
    for i in range(len(layer_structure) - 1):
        fan_in, fan_out = int(dim * layer_structure[i]), int(dim * layer_structure[i + 1])
        sd[f"linear.{2 * i}.weight"] = big_zeros((fan_out, fan_in))
        sd[f"linear.{2 * i}.bias"] = big_zeros((fan_out,))
    return sd


def write_a1111_hypernetwork(
    path: Path, *, dims: Sequence[int] = (320, 640, 768, 1280), legacy: bool = False
) -> Path:
    """``Hypernetwork.save`` of A1111's hypernetwork.py: int keys -> [sd_k, sd_v] plus settings."""
    data: dict[Any, Any] = {dim: [hypernetwork_layer(dim), hypernetwork_layer(dim)] for dim in dims}
    data.update(
        {
            "layer_structure": [1, 2, 1],
            "activation_func": "relu",
            "is_layer_norm": False,
            "weight_initialization": "Normal",
            "use_dropout": False,
            "activate_output": False,
            "last_layer_dropout": False,
            "name": "anime-hn",
            "step": 4000,
            "sd_checkpoint": "7460a6fa",
            "sd_checkpoint_name": "v1-5-pruned-emaonly",
        }
    )
    return save_torch(path, data, legacy=legacy)


@contextmanager
def fake_lightning() -> Iterator[type]:
    """Make ``pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint`` importable while saving.

    Real SD 1.x checkpoints key their ``callbacks`` dict by that class; pickling needs the class to be
    findable under its module name, and the modules are removed again so nothing else sees them.
    """
    names = [
        "pytorch_lightning",
        "pytorch_lightning.callbacks",
        "pytorch_lightning.callbacks.model_checkpoint",
    ]
    saved = {name: sys.modules.get(name) for name in names}
    module = types.ModuleType(names[-1])
    checkpoint_class = type("ModelCheckpoint", (), {"__module__": names[-1]})
    module.ModelCheckpoint = checkpoint_class  # type: ignore[attr-defined]
    for name in names[:-1]:
        sys.modules[name] = types.ModuleType(name)
    sys.modules[names[-1]] = module
    try:
        yield checkpoint_class
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


def write_lightning_checkpoint(
    path: Path, specs: Mapping[str, TensorSpec], *, legacy: bool = False, global_step: int = 220000
) -> Path:
    """A Lightning ``.ckpt``: ``state_dict`` + bookkeeping, with a ModelCheckpoint-keyed callbacks dict."""
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
    state_dict = OrderedDict(
        (name, big_zeros(shape, dtypes[dtype])) for name, (dtype, shape) in specs.items()
    )
    with fake_lightning() as checkpoint_class:
        data = {
            "epoch": 3,
            "global_step": global_step,
            "pytorch-lightning_version": "1.4.2",
            "state_dict": state_dict,
            "callbacks": {
                checkpoint_class: {"monitor": None, "best_model_score": None, "best_model_path": ""}
            },
        }
        return save_torch(path, data, legacy=legacy)


def write_learned_embeds_bin(path: Path, *, token: str = "<cat-toy>", dim: int = 768) -> Path:
    """What diffusers' textual-inversion training script saves: ``{token: tensor[dim]}``."""
    return save_torch(path, {token: torch.zeros(dim)})


# --------------------------------------------------------------------------------------------------
# hostile pickles: each would create ``marker`` if anything executed it
# --------------------------------------------------------------------------------------------------


class _Payload:
    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.func, self.args


def _write_marker_code(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('pwned')"


def payload_for(vector: str, marker: Path) -> _Payload:
    """The object whose unpickling creates ``marker`` through ``vector``."""
    code = _write_marker_code(marker)
    payloads = {
        "os.system": _Payload(os.system, (f'echo pwned > "{marker}"',)),
        "builtins.exec": _Payload(exec, (code,)),
        "builtins.eval": _Payload(eval, (code,)),
        "subprocess.call": _Payload(subprocess.call, ([sys.executable, "-c", code],)),
    }
    return payloads[vector]


# vector -> the global the reader must name (os.system pickles as posix.system or nt.system).
PLAIN_VECTORS = {
    "os.system": os.system.__module__ + ".system",
    "builtins.exec": "builtins.exec",
    "builtins.eval": "builtins.eval",
    "subprocess.call": "subprocess.call",
}


def write_malicious_pickle(path: Path, marker: Path, vector: str, *, protocol: int = 2) -> Path:
    """A bare pickle (as a ``.pt``/``.bin`` might be) whose payload runs ``vector``."""
    path.write_bytes(pickle.dumps({"weight": payload_for(vector, marker)}, protocol=protocol))
    return path


def write_malicious_torch(path: Path, marker: Path, *, legacy: bool = False) -> Path:
    """A genuine ``torch.save`` checkpoint with ``builtins.exec`` hidden among its tensors."""
    data = {
        "state_dict": {"model.diffusion_model.out.2.bias": torch.zeros(4)},
        "global_step": 1,
        "callbacks": {"on_load": payload_for("builtins.exec", marker)},
    }
    return save_torch(path, data, legacy=legacy)


def write_zip_with_hidden_pickle(path: Path, marker: Path) -> Path:
    """A clean torch zip plus an extra ``.pkl`` entry that torch never loads but a scanner must flag."""
    save_torch(path, {"w": torch.zeros(2)})
    with zipfile.ZipFile(path, "a") as archive:
        prefix = archive.namelist()[0].split("/", 1)[0]
        archive.writestr(f"{prefix}/extra.pkl", pickle.dumps(payload_for("os.system", marker), protocol=2))
    return path


def write_importlib_pickle(path: Path) -> Path:
    """A global picklescan only calls suspicious (``importlib.import_module``); the allow-list refuses it."""
    import importlib

    path.write_bytes(pickle.dumps({"m": _Payload(importlib.import_module, ("os",))}, protocol=2))
    return path


# --------------------------------------------------------------------------------------------------
# GGUF
# --------------------------------------------------------------------------------------------------

# name -> (ggml type id, block size, bytes per block), written independently of the reader's table.
GGML = {
    "F32": (0, 1, 4),
    "F16": (1, 1, 2),
    "Q4_0": (2, 32, 18),
    "Q8_0": (8, 32, 34),
    "Q4_K": (12, 256, 144),
    "Q6_K": (14, 256, 210),
    "BF16": (30, 1, 2),
}
_GGUF_U32, _GGUF_STRING, _GGUF_ARRAY, _GGUF_BOOL, _GGUF_F32, _GGUF_I64 = 4, 8, 9, 7, 6, 11


def _gguf_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def _gguf_value(value: object) -> tuple[int, bytes]:
    if isinstance(value, bool):
        return _GGUF_BOOL, struct.pack("<?", value)
    if isinstance(value, int):
        if 0 <= value < 2**32:
            return _GGUF_U32, struct.pack("<I", value)
        return _GGUF_I64, struct.pack("<q", value)
    if isinstance(value, float):
        return _GGUF_F32, struct.pack("<f", value)
    if isinstance(value, str):
        return _GGUF_STRING, _gguf_string(value)
    if isinstance(value, list):
        item_type = _gguf_value(value[0])[0] if value else _GGUF_U32
        body = b"".join(_gguf_value(item)[1] for item in value)
        return _GGUF_ARRAY, struct.pack("<IQ", item_type, len(value)) + body
    raise TypeError(f"no GGUF encoding for {value!r}")


def write_gguf(
    path: Path,
    tensors: Mapping[str, tuple[str | int, tuple[int, ...]]],
    metadata: Mapping[str, object] | None = None,
    *,
    version: int = 3,
    alignment: int = 32,
) -> Path:
    """A GGUF file: ``tensors`` maps names to (ggml type name or raw id, shape in torch order).

    Tensor data is zero and written sparsely; ``general.alignment`` is written when not the default 32.
    """
    meta = dict(metadata or {})
    if alignment != 32:
        meta["general.alignment"] = alignment
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(meta)))
    for key, value in meta.items():
        value_type, payload = _gguf_value(value)
        out += _gguf_string(key) + struct.pack("<I", value_type) + payload
    offset = 0
    for name, (type_name, shape) in tensors.items():
        type_id, block, block_bytes = GGML[type_name] if isinstance(type_name, str) else (type_name, 1, 1)
        dims = shape[::-1]  # GGUF lists the fastest-varying dimension first
        out += _gguf_string(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        out += struct.pack("<IQ", type_id, offset)
        nbytes = math.prod(shape) // block * block_bytes
        offset += nbytes + (-nbytes % alignment)
    out += b"\0" * (-len(out) % alignment)
    with path.open("wb") as fh:
        fh.write(out)
        fh.truncate(len(out) + offset)
    return path


def patch_bytes(path: Path, offset: int, data: bytes) -> Path:
    with path.open("r+b") as fh:
        fh.seek(offset)
        fh.write(data)
    return path


# --------------------------------------------------------------------------------------------------
# diffusers folders
# --------------------------------------------------------------------------------------------------


def _json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _unet_config(cross_attention_dim: int, *, sdxl: bool) -> dict[str, Any]:
    config: dict[str, Any] = {
        "_class_name": "UNet2DConditionModel",
        "_diffusers_version": "0.27.0",
        "in_channels": 4,
        "out_channels": 4,
        "cross_attention_dim": cross_attention_dim,
        "block_out_channels": [320, 640, 1280] if sdxl else [320, 640, 1280, 1280],
        "sample_size": 128 if sdxl else 64,
    }
    if sdxl:
        config |= {"addition_embed_type": "text_time", "projection_class_embeddings_input_dim": 2816}
    return config


def _vae_config(scaling_factor: float) -> dict[str, Any]:
    return {
        "_class_name": "AutoencoderKL",
        "_diffusers_version": "0.27.0",
        "latent_channels": 4,
        "scaling_factor": scaling_factor,
        "block_out_channels": [128, 256, 512, 512],
    }


_TINY_UNET = {"conv_in.weight": ("F16", (320, 4, 3, 3)), "conv_in.bias": ("F16", (320,))}
_TINY_VAE = {
    "encoder.conv_in.weight": ("F32", (128, 3, 3, 3)),
    "decoder.conv_in.weight": ("F32", (512, 4, 3, 3)),
    "decoder.conv_out.bias": ("F32", (3,)),
}
_TINY_TEXT = {"text_model.embeddings.token_embedding.weight": ("F16", (49408, 768))}


def write_diffusers_pipeline(root: Path, kind: str = "sd1", *, fp16_variant: bool = False) -> Path:
    """An SD 1.x (``kind="sd1"``) or SDXL (``"sdxl"``) pipeline folder as ``save_pretrained`` writes it."""
    sdxl = kind == "sdxl"
    variant = ".fp16" if fp16_variant else ""
    index: dict[str, Any] = {
        "_class_name": "StableDiffusionXLPipeline" if sdxl else "StableDiffusionPipeline",
        "_diffusers_version": "0.27.0",
        "scheduler": ["diffusers", "EulerDiscreteScheduler" if sdxl else "PNDMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    if sdxl:
        index |= {
            "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
            "tokenizer_2": ["transformers", "CLIPTokenizer"],
            "force_zeros_for_empty_prompt": True,
        }
    else:
        index |= {
            "safety_checker": [None, None],
            "feature_extractor": ["transformers", "CLIPImageProcessor"],
            "requires_safety_checker": False,
        }
    _json(root / "model_index.json", index)
    _json(root / "unet" / "config.json", _unet_config(2048 if sdxl else 768, sdxl=sdxl))
    write_safetensors(root / "unet" / f"diffusion_pytorch_model{variant}.safetensors", _TINY_UNET)
    _json(root / "vae" / "config.json", _vae_config(0.13025 if sdxl else 0.18215))
    write_safetensors(root / "vae" / f"diffusion_pytorch_model{variant}.safetensors", _TINY_VAE)
    _json(
        root / "scheduler" / "scheduler_config.json",
        {"_class_name": "PNDMScheduler", "prediction_type": "epsilon"},
    )
    encoders = ["text_encoder", "text_encoder_2"] if sdxl else ["text_encoder"]
    for encoder in encoders:
        _json(root / encoder / "config.json", {"architectures": ["CLIPTextModel"], "hidden_size": 768})
        write_safetensors(root / encoder / f"model{variant}.safetensors", _TINY_TEXT)
    for tokenizer in ["tokenizer", "tokenizer_2"] if sdxl else ["tokenizer"]:
        _json(root / tokenizer / "tokenizer_config.json", {"model_max_length": 77})
        (root / tokenizer / "vocab.json").write_text("{}", encoding="utf-8")
    if not sdxl:
        _json(root / "feature_extractor" / "preprocessor_config.json", {"crop_size": 224})
    return root


def write_diffusers_vae(root: Path, *, sdxl: bool = False, fp16_variant: bool = False) -> Path:
    """A bare diffusers VAE folder (``config.json`` + ``diffusion_pytorch_model.safetensors``)."""
    _json(root / "config.json", _vae_config(0.13025 if sdxl else 0.18215))
    variant = ".fp16" if fp16_variant else ""
    write_safetensors(root / f"diffusion_pytorch_model{variant}.safetensors", _TINY_VAE)
    return root


# --------------------------------------------------------------------------------------------------
# sidecars
# --------------------------------------------------------------------------------------------------


def tiny_png() -> bytes:
    """A valid 1x1 RGBA PNG: previews only need to exist, but a real image keeps thumbnailers honest."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80\x80\x80\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def civitai_version_payload(
    *,
    version_id: int = 242807,
    model_id: int = 215485,
    version_name: str = "v1-128dim",
    model_name: str = "SDXL Turbo LoRA",
    base_model: str = "SDXL 1.0",
    trained_words: Sequence[str] = ("turbo style",),
) -> dict[str, Any]:
    """A Civitai ``/model-versions/:id`` payload in the shape Civitai Helper stores verbatim."""
    return {
        "id": version_id,
        "modelId": model_id,
        "name": version_name,
        "baseModel": base_model,
        "trainedWords": list(trained_words),
        "description": "<p>v1: first version</p>",
        "model": {"name": model_name, "type": "LORA", "nsfw": False, "poi": False},
        "files": [{"name": "sd_xl_turbo_lora_v1.safetensors", "hashes": {"SHA256": "A599C42A9F4F"}}],
        "images": [{"url": "https://image.civitai.com/x/4080480.jpeg", "nsfw": "None", "width": 768}],
    }


def write_a1111_user_metadata(model_path: Path, **fields: Any) -> Path:
    """A1111's ``<stem>.json`` user metadata (keys with spaces, as the webui writes them)."""
    data = {
        "description": "Soft watercolor style",
        "sd version": "SD1",
        "activation text": "watercolor, soft light",
        "preferred weight": 0.7,
        "negative text": "lowres",
        "notes": "works best at 0.6-0.8",
    }
    data.update(fields)
    return _sidecar(model_path, ".json", data)


def write_civitai_info(model_path: Path, payload: Mapping[str, Any] | None = None) -> Path:
    """Civitai Helper's ``<stem>.civitai.info``; ``payload=None`` writes the empty "not found" marker."""
    path = model_path.with_name(model_path.stem + ".civitai.info")
    path.write_text("" if payload is None else json.dumps(payload), encoding="utf-8")
    return path


def write_cm_info(model_path: Path, **fields: Any) -> Path:
    """Stability Matrix's ``<stem>.cm-info.json`` (``ConnectedModelInfo`` serialized with PascalCase keys)."""
    data: dict[str, Any] = {
        "ModelId": 215485,
        "ModelName": "SDXL Turbo LoRA",
        "ModelDescription": "<p>Fast.</p>",
        "Nsfw": False,
        "Tags": ["style", "turbo"],
        "ModelType": "LORA",
        "VersionId": 242807,
        "VersionName": "v1-128dim",
        "BaseModel": "SDXL 1.0",
        "TrainedWords": ["turbo style"],
        "Hashes": {"SHA256": "A599C42A9F4F", "BLAKE3": "930E9A5CA9D3"},
        "ImportedAt": "2024-01-02T03:04:05+00:00",
        "Source": "Civitai",
    }
    data.update(fields)
    return _sidecar(model_path, ".cm-info.json", data)


def write_lora_manager_metadata(model_path: Path, **fields: Any) -> Path:
    """ComfyUI LoRA Manager's ``<stem>.metadata.json`` (documented schema, with a Civitai payload)."""
    data: dict[str, Any] = {
        "file_name": model_path.stem,
        "model_name": "SDXL Turbo LoRA",
        "file_path": model_path.as_posix(),
        "size": 1234,
        "modified": 1700000000.0,
        "sha256": "a599c42a9f4f",
        "base_model": "SDXL 1.0",
        "preview_url": "",
        "notes": "LM notes",
        "from_civitai": True,
        "civitai": civitai_version_payload(),
        "tags": ["style", "Turbo"],
        "modelDescription": "LM description",
        "usage_tips": json.dumps({"strength": 0.8, "clip_skip": 2}),
    }
    data.update(fields)
    return _sidecar(model_path, ".metadata.json", data)


def _sidecar(model_path: Path, suffix: str, data: Mapping[str, Any]) -> Path:
    path = model_path.with_name(model_path.stem + suffix)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
