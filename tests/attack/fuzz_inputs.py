"""Hypothesis strategies for hostile model headers, metadata, sidecars and configs, and the tally they feed.

Each strategy starts from what real writers produce and then breaks it the way an attacker (or a damaged
download) would: repeated keys, lone surrogate escapes, numbers past every range, nesting past every
limit, counts and lengths that claim gigabytes, types that do not exist. JSON is written by hand
(``dump``) so that repeated keys and literals Python's ``json`` would never write (``NaN``, ``-0``,
a 5,000-digit integer) can be placed exactly.
"""

from __future__ import annotations

import json
import math
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from core.formats.dtypes import SAFETENSORS_DTYPE_BITS
from core.formats.gguf import GGML_TYPES
from tests.factory.safetensors_writer import TensorSpec, write_safetensors

# An input that takes longer than this to read counts as a hang (the readers are linear in the input).
HANG_SECONDS = 2.0


@dataclass
class Tally:
    """What one property saw: inputs tried, exceptions that escaped, inputs over the time bound."""

    inputs: int = 0
    crashes: int = 0
    hangs: int = 0

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """Count one input; an escaping non-``FormatError`` exception is a crash, a slow input a hang."""
        self.inputs += 1
        started = time.perf_counter()
        try:
            yield
        except AssertionError:
            raise
        except Exception:
            self.crashes += 1
            raise
        elapsed = time.perf_counter() - started
        if elapsed > HANG_SECONDS:
            self.hangs += 1
            raise AssertionError(f"one input took {elapsed:.1f} s (bound {HANG_SECONDS} s)")


# --------------------------------------------------------------------------------------------------
# hand-written JSON
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text placed as is: a literal ``json.dumps`` would never write."""

    text: str


class Pairs(list[tuple[str, Any]]):
    """A JSON object written as its members in order, so a key may appear twice."""


def dump(value: Any) -> str:
    """JSON text of ``value``; ``Raw`` is inlined, ``Pairs`` may repeat keys, NaN is written as NaN."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(key)}:{dump(item)}" for key, item in value) + "}"
    if isinstance(value, dict):
        return dump(Pairs(value.items()))
    if isinstance(value, list | tuple):
        return "[" + ",".join(dump(item) for item in value) + "]"
    return json.dumps(value)  # strings with lone surrogates come out as \ud800 escapes


def nested(depth: int) -> Raw:
    return Raw("[" * depth + "]" * depth)


HOSTILE_LITERALS = (
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e400",
    "1e308",
    "4.9e-324",
    "1e-999",
    "-0",
    "-0.0",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "1" + "0" * 300,
    "1" + "0" * 400,
    "1" + "0" * 4300,
    "7" * 5000,
    '"\\ud800"',
    '"\\udc00x"',
    '"\\ud83d\\ude00"',
    '"a\\u0000b"',
    '"9999999999999999999999999999999"',
    '"nan"',
    '"1e999"',
    '"-0"',
    '""',
    "null",
    "true",
    "{}",
    "[]",
)

hostile_literal = st.sampled_from(HOSTILE_LITERALS).map(Raw)
deep_nesting = st.sampled_from([20, 99, 100, 101, 126, 127, 128, 1_000, 20_000]).map(nested)
odd_text = st.sampled_from(
    ["", " ", "None", "null", "\ud800", "a\udfffb", "x" * 300, "é", "1,2", "(512, 768)"]
)
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    odd_text,
    hostile_literal,
)
json_value = (
    st.recursive(
        leaf,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=6) | odd_text, children, max_size=4),
        ),
        max_leaves=12,
    )
    | deep_nesting
)


def json_text(value: st.SearchStrategy[Any] = json_value) -> st.SearchStrategy[str]:
    """JSON text of a hostile value, or text that is not JSON at all."""
    return st.one_of(
        value.map(dump),
        st.text(max_size=30),
        st.sampled_from(["{", '{"a": }', '{"a": 1,}', "\ufeff{}", "{} x", "'single'"]),
    )


# --------------------------------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------------------------------

_DTYPES = sorted(SAFETENSORS_DTYPE_BITS)
# Around the limits of torch's and numpy's 64-bit dimensions and byte sizes, and of the format's u64.
_HUGE_DIMS = [2**31, 2**40, 2**60, 2**61 - 1, 2**61, 2**62, 2**63 - 1, 2**63, 2**64 - 1]
_NAMES = ["w", "a.weight", "lora_up.weight", "dtype", "shape", "é", "a\\b", 'q"uote', "", "__metadata__x"]


def _entry(dtype: str, shape: list[int], begin: int) -> tuple[Pairs, int]:
    bits = math.prod(shape) * SAFETENSORS_DTYPE_BITS[dtype]
    if bits % 8:
        shape = [*shape, 8]
        bits *= 8
    end = begin + bits // 8
    return Pairs([("dtype", dtype), ("shape", shape), ("data_offsets", [begin, end])]), end


def _rarely(draw: Callable[..., Any]) -> bool:
    """True for about one input in eight: breakage that ends parsing early must not drown the rest."""
    # Hypothesis leans towards small values, so "rare" is a value in the middle of the range, not 0.
    return bool(draw(st.integers(0, 7)) == 5)


def _mutate_entry(draw: Callable[..., Any], entry: Pairs) -> Any:
    kind = draw(
        st.sampled_from(
            [
                "repeat_field",
                "repeat_unknown",
                "drop_field",
                "extra_field",
                "array_form",
                "map_dtype",
                "bad_dtype",
                "dim_literal",
                "overflow_shape",
                "shift_offsets",
                "not_an_object",
            ]
        )
    )
    fields_ = dict(entry)
    # An earlier mutation may have dropped or replaced a field: fall back to plain values.
    given_dtype, given_shape, offsets = (fields_.get(name) for name in ("dtype", "shape", "data_offsets"))
    dtype: str = given_dtype if isinstance(given_dtype, str) else "F16"
    shape: list[Any] = list(given_shape) if isinstance(given_shape, list) else [1]
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(x, int) for x in offsets)):
        offsets = [0, 2]
    if kind == "repeat_field":
        name = draw(st.sampled_from(["dtype", "shape", "data_offsets"]))
        return Pairs([*entry, (name, {"dtype": dtype, "shape": shape, "data_offsets": offsets}[name])])
    if kind == "repeat_unknown":
        return Pairs([*entry, ("x", 1), ("x", 2)])
    if kind == "drop_field":
        name = draw(st.sampled_from(["dtype", "shape", "data_offsets"]))
        return Pairs([(key, value) for key, value in entry if key != name])
    if kind == "extra_field":
        return Pairs([*entry, (draw(st.sampled_from(["x", "byte_size", "offset"])), draw(json_value))])
    if kind == "array_form":
        items = [dtype, shape, offsets]
        return items + draw(st.lists(st.just(0), max_size=1)) if draw(st.booleans()) else items[:2]
    if kind == "map_dtype":
        map_form = draw(st.sampled_from([Pairs([(dtype, None)]), Pairs([(dtype, 1)])]))
        return Pairs([("dtype", map_form), *((k, v) for k, v in entry if k != "dtype")])
    if kind == "bad_dtype":
        dtype = draw(st.sampled_from(["F17", "f16", "Q4_0", "", "F16 ", "\\u0046\\u0031\\u0036"]))
        value: Any = Raw(f'"{dtype}"') if dtype.startswith("\\") else dtype
        return Pairs([("dtype", value), *((k, v) for k, v in entry if k != "dtype")])
    if kind == "dim_literal":
        literal = draw(st.sampled_from(["-0", "2.0", "1e2", "-1", "true", "18446744073709551616", '"2"']))
        shape = shape or [1]
        shape[draw(st.integers(0, len(shape) - 1))] = Raw(literal)
        return Pairs([(k, shape if k == "shape" else v) for k, v in entry])
    if kind == "overflow_shape":
        shape = draw(
            st.sampled_from(
                [[2**40, 2**40, 0], [0, 2**40, 2**40], [0, 2**64 - 1], [2**61], [2**32, 2**32], [2**63, 2, 0]]
            )
        )
        return Pairs([(k, shape if k == "shape" else v) for k, v in entry])
    if kind == "shift_offsets":
        begin, end = offsets
        delta = draw(st.sampled_from([(-1, 0), (1, 0), (0, 1), (0, -1), (1, 1), (end - begin, end - begin)]))
        offsets = [begin + delta[0], end + delta[1]]
        return Pairs([(k, offsets if k == "data_offsets" else v) for k, v in entry])
    return draw(st.sampled_from([None, "x", [], 1, Raw("NaN")]))


@st.composite
def empty_tensor_files(draw: Callable[..., Any]) -> bytes:
    """A sound safetensors file holding an empty tensor whose other dimensions may be huge (0 bytes of data).

    The header check of the library accepts every such shape whose running product stays in 64 bits; its
    torch and numpy loaders refuse some of them, which only inputs this focused find reliably.
    """
    dtype = draw(st.sampled_from(_DTYPES))
    shape = draw(st.lists(st.sampled_from([1, 3, *_HUGE_DIMS]), min_size=1, max_size=3))
    shape.insert(draw(st.integers(0, len(shape))), 0)
    members = [("t", _entry(dtype, shape, 0)[0])]
    if draw(st.booleans()):
        members.append(("w", _entry("U8", [2], 0)[0]))
        data = b"\0\0"
    else:
        data = b""
    header = dump(Pairs(members)).encode("utf-8")
    return len(header).to_bytes(8, "little") + header + data


@st.composite
def safetensors_files(draw: Callable[..., Any]) -> bytes:
    """A safetensors file: mostly sound, then broken in one or two places."""
    members: list[tuple[str, Any]] = []
    offset = 0
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(_NAMES) | st.text(max_size=4))
        dtype = draw(st.sampled_from(_DTYPES))
        shape = draw(st.lists(st.integers(1, 4), max_size=3))
        if _rarely(draw):
            shape.insert(draw(st.integers(0, len(shape))), 0)  # empty tensors take the strict path
            if draw(st.booleans()):
                # Huge dimensions beside the zero: the span stays 0 bytes, but loaders may not build it.
                shape.insert(draw(st.integers(0, len(shape))), draw(st.sampled_from(_HUGE_DIMS)))
        entry, offset = _entry(dtype, shape, offset)
        members.append((name, entry))
    metadata = draw(
        st.none() | st.dictionaries(st.text(max_size=4) | odd_text, st.text(max_size=6) | odd_text)
    )
    if metadata is not None:
        members.insert(draw(st.integers(0, len(members))), ("__metadata__", metadata))
    for _ in range(draw(st.integers(0, 2))):
        mutation = draw(
            st.sampled_from(
                [
                    "entry",
                    "entry",
                    "entry",
                    "repeat_tensor",
                    "repeat_metadata",
                    "metadata_value",
                    "metadata_repeat_key",
                    "metadata_null",
                    "surrogate_name",
                    "not_an_object",
                ]
            )
        )
        if mutation == "entry" and any(name != "__metadata__" for name, _ in members):
            index = draw(
                st.sampled_from([i for i, (name, _) in enumerate(members) if name != "__metadata__"])
            )
            name, entry = members[index]
            if isinstance(entry, Pairs):
                members[index] = (name, _mutate_entry(draw, entry))
        elif mutation == "repeat_tensor" and members:
            members.append(draw(st.sampled_from(members)))
        elif mutation == "repeat_metadata":
            members.append(("__metadata__", {"k": "v"}))
        elif mutation == "metadata_value":
            members.append(("__metadata__", Pairs([("k", draw(json_value))])))
        elif mutation == "metadata_repeat_key":
            members = [(name, value) for name, value in members if name != "__metadata__"]
            dropped = draw(st.sampled_from([1, None, True, "s", [], Pairs([("a", "b")])]) | json_value)
            members.insert(0, ("__metadata__", Pairs([("k", dropped), ("k", "v")])))
        elif mutation == "metadata_null":
            members.append(("__metadata__", None))
        elif mutation == "surrogate_name":
            members.append((draw(st.sampled_from(["\ud800", "a\udc00"])), _entry("U8", [0], offset)[0]))
        elif mutation == "not_an_object":
            members = [("", draw(json_value))]
    text = dump(Pairs(members))
    if _rarely(draw):
        text = draw(st.sampled_from(["", " ", "\t\n\r ", "\ufeff"])) + text
    if _rarely(draw):
        text += draw(st.sampled_from([" ", "\n\r\t", "\x00", "\x0c", "}", " x"]))
    header = text.encode("utf-8", "surrogatepass")
    data_size = offset + (draw(st.sampled_from([1, -1])) if _rarely(draw) else 0)
    declared = len(header) + (draw(st.sampled_from([1, -1, 2**40, -len(header)])) if _rarely(draw) else 0)
    raw = bytearray(struct.pack("<Q", max(declared, 0)) + header + b"\0" * max(data_size, 0))
    if raw and _rarely(draw):
        position = draw(st.integers(0, len(raw) - 1))
        raw[position] = draw(st.integers(0, 255))
    if _rarely(draw):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return bytes(raw)


# --------------------------------------------------------------------------------------------------
# kohya metadata, sidecars, diffusers configs
# --------------------------------------------------------------------------------------------------

_tag_frequency = st.dictionaries(
    st.text(max_size=6), st.dictionaries(st.text(max_size=6) | odd_text, json_value, max_size=4), max_size=3
).map(dump)

kohya_metadata = st.dictionaries(
    st.sampled_from(
        [
            "ss_tag_frequency",
            "ss_dataset_dirs",
            "ss_network_args",
            "ss_network_dim",
            "ss_network_alpha",
            "ss_resolution",
            "ss_v2",
            "ss_v_parameterization",
            "ss_base_model_version",
            "ss_output_name",
            "modelspec.architecture",
            "modelspec.resolution",
            "modelspec.prediction_type",
            "modelspec.trigger_phrase",
            "modelspec.tags",
            "modelspec.title",
            "sshs_model_hash",
        ]
    ),
    st.one_of(json_text(), _tag_frequency, st.sampled_from(HOSTILE_LITERALS), odd_text),
    max_size=8,
)

_CIVITAI_KEYS = [
    "id",
    "modelId",
    "name",
    "baseModel",
    "trainedWords",
    "description",
    "files",
    "images",
    "model",
    "nsfwLevel",
    "createdAt",
]
_IMAGE = st.dictionaries(
    st.sampled_from(["url", "width", "height", "nsfwLevel", "meta", "type", "hash"]),
    json_value
    | st.dictionaries(st.sampled_from(["seed", "steps", "cfgScale", "prompt", "Size"]), json_value),
)
_FILE = st.dictionaries(
    st.sampled_from(["id", "name", "sizeKB", "hashes", "primary", "downloadUrl"]), json_value
)
_MODEL = st.dictionaries(st.sampled_from(["id", "name", "type", "nsfw", "tags", "creator"]), json_value)
civitai_version = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(_CIVITAI_KEYS, json_value),
        "images": st.lists(_IMAGE, max_size=2) | json_value,
        "files": st.lists(_FILE, max_size=2) | json_value,
        "model": _MODEL | json_value,
    },
)
a1111_sidecar = st.dictionaries(
    st.sampled_from(
        ["description", "activation text", "preferred weight", "negative text", "sd version", "notes"]
    ),
    json_value,
)
cm_info_sidecar = st.dictionaries(
    st.sampled_from(
        [
            "ModelId",
            "VersionId",
            "ModelName",
            "VersionName",
            "TrainedWords",
            "Hashes",
            "BaseModel",
            "Nsfw",
            "Tags",
        ]
    ),
    json_value,
)
lora_manager_sidecar = st.fixed_dictionaries(
    {},
    optional={
        "civitai": civitai_version | json_value,
        "usage_tips": json_text(),
        "preview_url": st.sampled_from(
            ["/nonexistent/x.png", "/tmp/\x00.png", "/" + "x" * 5000, "http://h/x.png"]
        ),
        "notes": json_value,
        "tags": json_value,
        "base_model": json_value,
        "modelDescription": json_value,
    },
)
SIDECAR_SUFFIXES = {
    ".json": a1111_sidecar,
    ".civitai.info": civitai_version,
    ".cm-info.json": cm_info_sidecar,
    ".metadata.json": lora_manager_sidecar,
}


@st.composite
def sidecar_files(draw: Callable[..., Any]) -> dict[str, bytes]:
    """Sidecar suffix -> bytes, for one to four sidecars next to one model."""
    files: dict[str, bytes] = {}
    for suffix in draw(
        st.lists(st.sampled_from(sorted(SIDECAR_SUFFIXES)), min_size=1, max_size=4, unique=True)
    ):
        shaped = SIDECAR_SUFFIXES[suffix].map(dump)
        text = draw(st.one_of(shaped, shaped, json_text()))
        data = text.encode("utf-8", "surrogatepass")
        if _rarely(draw):
            data = draw(st.binary(max_size=40))
        files[suffix] = data
    return files


_UNET_KEYS = [
    "_class_name",
    "cross_attention_dim",
    "in_channels",
    "sample_size",
    "addition_embed_type",
    "projection_class_embeddings_input_dim",
    "block_out_channels",
    "attention_head_dim",
    "transformer_layers_per_block",
    "prediction_type",
    "scaling_factor",
    "num_class_embeds",
    "architectures",
    "hidden_size",
    "projection_dim",
]
diffusers_config = st.dictionaries(st.sampled_from(_UNET_KEYS), json_value, max_size=6)
_PIPELINE_INDEX = {
    "_class_name": "StableDiffusionPipeline",
    "unet": ["diffusers", "UNet2DConditionModel"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "scheduler": ["diffusers", "PNDMScheduler"],
}
# model_index.json text: mostly the real one (so the configs behind it are read), else hostile.
model_index = st.one_of(
    st.just(_PIPELINE_INDEX).map(dump),
    st.just(_PIPELINE_INDEX).map(dump),
    st.dictionaries(
        st.sampled_from(["_class_name", "_diffusers_version", "unet", "text_encoder", "scheduler", "vae"]),
        json_value | st.just(["diffusers", "UNet2DConditionModel"]),
        max_size=5,
    ).map(dump),
    json_text(),
)


def write_pipeline(root: Path) -> Path:
    """A minimal SD pipeline folder (tiny sparse weights) whose configs the diffusers property rewrites.

    Written here rather than with ``tests.factory.files`` so the attack suite never imports torch.
    """
    weights: dict[str, dict[str, TensorSpec]] = {
        "unet/diffusion_pytorch_model.safetensors": {"conv_in.weight": ("F16", (320, 4, 3, 3))},
        "text_encoder/model.safetensors": {
            "text_model.embeddings.token_embedding.weight": ("F16", (49408, 768))
        },
    }
    for name, specs in weights.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write_safetensors(root / name, specs)
    (root / "scheduler").mkdir()
    (root / "scheduler" / "scheduler_config.json").write_text('{"prediction_type": "epsilon"}')
    return root


# --------------------------------------------------------------------------------------------------
# GGUF
# --------------------------------------------------------------------------------------------------

_HUGE = [2**31, 2**32 - 1, 2**40, 2**63, 2**64 - 1]


def _gguf_string(draw: Callable[..., Any], text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    length = len(raw) if not _rarely(draw) else draw(st.sampled_from(_HUGE))
    return struct.pack("<Q", length) + raw


def _gguf_value(draw: Callable[..., Any], value_type: int, depth: int) -> bytes:
    scalar_sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    if value_type in scalar_sizes:
        return bytes(draw(st.binary(min_size=scalar_sizes[value_type], max_size=scalar_sizes[value_type])))
    if value_type == 8:
        return _gguf_string(draw, draw(st.text(max_size=6) | odd_text))
    if value_type == 9:
        item_type = draw(st.sampled_from([0, 4, 6, 8, 8, 9, 9, 12, 13, 2**32 - 1]))
        count = draw(st.integers(0, 4)) if depth < 6 else 0
        claimed = count if not _rarely(draw) else draw(st.sampled_from([65, 300, *_HUGE]))
        body = b"".join(_gguf_value(draw, item_type, depth + 1) for _ in range(count))
        return struct.pack("<IQ", item_type, claimed) + body
    return b""


@st.composite
def gguf_files(draw: Callable[..., Any]) -> bytes:
    """A GGUF header with plausible and absurd counts, lengths, nestings, types and tensor records."""
    version = draw(st.sampled_from([1, 4, 2**32 - 1])) if _rarely(draw) else draw(st.sampled_from([3, 2]))
    kvs = []
    for index in range(draw(st.integers(0, 4))):
        value_type = draw(st.sampled_from([4, 6, 8, 9, 9, 9, 10, 12, 7, 13, 99]))
        key = (
            "\udcff"
            if _rarely(draw)
            else draw(st.sampled_from([f"k{index}", "general.alignment", "general.name"]))
        )
        kvs.append(_gguf_string(draw, key) + struct.pack("<I", value_type) + _gguf_value(draw, value_type, 0))
    tensors = []
    offset = 0
    type_ids = sorted(GGML_TYPES)
    for index in range(draw(st.integers(0, 3))):
        type_id = draw(st.sampled_from([*type_ids[:4], 8, 30, 14, 3, 200]))
        block = GGML_TYPES.get(type_id, ("", 1, 1))[1]
        dims = [block * draw(st.integers(0, 2)), *draw(st.lists(st.integers(0, 3), max_size=2))]
        if _rarely(draw):
            dims[draw(st.integers(0, len(dims) - 1))] = draw(st.sampled_from(_HUGE))
        n_dims = len(dims) if not _rarely(draw) else draw(st.sampled_from([0, 5, 2**32 - 1]))
        record = _gguf_string(draw, f"t{index}") + struct.pack("<I", n_dims)
        record += struct.pack(f"<{len(dims)}Q", *dims) + struct.pack("<IQ", type_id, offset)
        tensors.append(record)
        offset += 64 * draw(st.integers(0, 2))
    tensor_count = len(tensors) if not _rarely(draw) else draw(st.sampled_from([len(tensors) + 1, *_HUGE]))
    kv_count = len(kvs) if not _rarely(draw) else draw(st.sampled_from([len(kvs) + 1, *_HUGE]))
    head = b"GGUF" + struct.pack("<IQQ", version, tensor_count, kv_count) + b"".join(kvs) + b"".join(tensors)
    head += b"\0" * (-len(head) % 32)
    raw = bytearray(head + b"\0" * (offset + draw(st.sampled_from([0, 0, 64, 4096]))))
    if _rarely(draw):
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    if _rarely(draw):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return bytes(raw)


# --------------------------------------------------------------------------------------------------
# what may reach the catalog
# --------------------------------------------------------------------------------------------------


def strings_in(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string in a record (dataclasses, mappings, sequences), for the UTF-8 round-trip check."""
    if depth > 200:
        return
    if isinstance(value, str):
        yield value
    elif is_dataclass(value) and not isinstance(value, type):
        for item in fields(value):
            yield from strings_in(getattr(value, item.name), depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key, depth + 1)
            yield from strings_in(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item, depth + 1)
