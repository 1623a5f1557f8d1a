from __future__ import annotations

import json
import math
import os
import struct
import time
from pathlib import Path

import pytest

from core.formats.gguf import read_gguf_header
from core.formats.model_file import CorruptFileError, UnreadableFileError
from core.taxonomy import FileFormat
from tests.factory.files import patch_bytes, write_gguf

FLUX_TENSORS: dict[str, tuple[str | int, tuple[int, ...]]] = {
    "double_blocks.0.img_attn.qkv.weight": ("Q4_0", (9216, 3072)),
    "double_blocks.0.img_attn.norm.key_norm.scale": ("F32", (128,)),
    "img_in.weight": ("F16", (3072, 64)),
    "guidance_in.in_layer.weight": ("Q8_0", (3072, 256)),
    "final_layer.linear.weight": ("BF16", (64, 3072)),
    "single_blocks.0.linear1.weight": ("Q4_K", (21504, 3072)),
}
METADATA: dict[str, object] = {
    "general.architecture": "flux",
    "general.quantization_version": 2,
    "general.file_type": 2,
    "flag": True,
    "ratio": 0.5,
    "big": -(2**40),
    "small.list": [1, 2, 3],
    "names": ["a", "b"],
    "tokenizer.ggml.tokens": [f"tok{i}" for i in range(5000)],
    "tokenizer.ggml.scores": [0.0] * 5000,
}


def test_reads_tensors_in_torch_order_with_absolute_offsets(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "flux1-dev-Q4_0.gguf", FLUX_TENSORS, METADATA)

    header = read_gguf_header(path)

    assert header.format is FileFormat.GGUF
    assert header.size == path.stat().st_size
    assert {name: (t.dtype, t.shape) for name, t in header.tensors.items()} == FLUX_TENSORS
    qkv = header.tensors["double_blocks.0.img_attn.qkv.weight"]
    assert qkv.nbytes == 9216 * 3072 // 32 * 18
    assert header.tensors["single_blocks.0.linear1.weight"].nbytes == 21504 * 3072 // 256 * 144
    offsets = sorted(header.data_offset(name) or 0 for name in header.tensors)
    assert all(offset % 32 == 0 for offset in offsets)
    last = max(header.tensors, key=lambda name: header.data_offset(name) or 0)
    assert (header.data_offset(last) or 0) + header.tensors[last].nbytes <= header.size


def test_small_metadata_is_kept_as_strings_and_vocabularies_are_skipped(tmp_path: Path) -> None:
    header = read_gguf_header(write_gguf(tmp_path / "m.gguf", FLUX_TENSORS, METADATA))

    assert header.metadata["general.architecture"] == "flux"
    assert header.metadata["general.quantization_version"] == "2"
    assert header.metadata["flag"] == "true"
    assert header.metadata["ratio"] == "0.5"
    assert header.metadata["big"] == str(-(2**40))
    assert json.loads(header.metadata["small.list"]) == [1, 2, 3]
    assert json.loads(header.metadata["names"]) == ["a", "b"]
    assert "tokenizer.ggml.tokens" not in header.metadata
    assert "tokenizer.ggml.scores" not in header.metadata


def test_version_2_and_custom_alignment(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "v2.gguf", FLUX_TENSORS, {"general.architecture": "flux"}, version=2, alignment=64
    )

    header = read_gguf_header(path)

    assert header.metadata["general.alignment"] == "64"
    assert all((header.data_offset(name) or 0) % 64 == 0 for name in header.tensors)


def test_bad_magic(tmp_path: Path) -> None:
    path = patch_bytes(write_gguf(tmp_path / "m.gguf", FLUX_TENSORS), 0, b"GGML")

    with pytest.raises(CorruptFileError, match="magic"):
        read_gguf_header(path)


@pytest.mark.parametrize("version", [1, 4, 0x03000000])
def test_unsupported_versions(tmp_path: Path, version: int) -> None:
    path = patch_bytes(write_gguf(tmp_path / "m.gguf", FLUX_TENSORS), 4, struct.pack("<I", version))

    with pytest.raises(CorruptFileError, match="version"):
        read_gguf_header(path)


def test_truncated_header(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", FLUX_TENSORS, METADATA)
    path.write_bytes(path.read_bytes()[:300])

    with pytest.raises(CorruptFileError, match="truncated"):
        read_gguf_header(path)


def test_truncated_tensor_data(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", FLUX_TENSORS)
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size - 1)

    with pytest.raises(CorruptFileError, match="truncated"):
        read_gguf_header(path)


def test_absurd_tensor_count(tmp_path: Path) -> None:
    path = patch_bytes(write_gguf(tmp_path / "m.gguf", FLUX_TENSORS), 8, struct.pack("<Q", 2**60))

    with pytest.raises(CorruptFileError, match="tensors"):
        read_gguf_header(path)


def test_absurd_string_length(tmp_path: Path) -> None:
    # The first metadata key's length field sits right after the 24-byte preamble.
    path = patch_bytes(write_gguf(tmp_path / "m.gguf", FLUX_TENSORS, METADATA), 24, struct.pack("<Q", 2**50))

    with pytest.raises(CorruptFileError, match="string bytes"):
        read_gguf_header(path)


def test_unknown_ggml_type(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", {"w": (99, (4, 4))})

    with pytest.raises(CorruptFileError, match="unknown ggml type 99"):
        read_gguf_header(path)


def test_rows_must_be_whole_quantisation_blocks(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", {"w": ("Q4_0", (4, 30))})

    with pytest.raises(CorruptFileError, match="blocks"):
        read_gguf_header(path)


def test_alignment_must_be_a_power_of_two(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", {"w": ("F32", (4,))}, alignment=48)

    with pytest.raises(CorruptFileError, match="alignment"):
        read_gguf_header(path)


def test_unknown_metadata_value_type(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", {"w": ("F32", (4,))}, {"k": 1})
    value_type_at = 24 + 8 + len(b"k")

    with pytest.raises(CorruptFileError, match="value type"):
        read_gguf_header(patch_bytes(path, value_type_at, struct.pack("<I", 77)))


def test_too_short_for_a_header(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF\x03\x00")

    with pytest.raises(CorruptFileError, match="too short"):
        read_gguf_header(path)


def test_nested_small_arrays_cannot_multiply_into_millions_of_kept_values(tmp_path: Path) -> None:
    # 64 x 64 x 64 x 8 one-byte flags: 2 MiB of file that used to become two million kept Python values.
    leaf = [True] * 8
    nested = [[[leaf] * 64] * 64] * 64
    path = write_gguf(tmp_path / "bomb.gguf", {"w": ("F32", (4,))}, {"bomb": nested, "small": [1, 2, 3]})

    started = time.perf_counter()
    header = read_gguf_header(path)

    assert time.perf_counter() - started < 5
    assert "bomb" not in header.metadata  # too many values in all: skipped like a vocabulary
    assert json.loads(header.metadata["small"]) == [1, 2, 3]


def test_non_finite_float_metadata_is_kept_as_strict_json(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "nan.gguf", {"w": ("F32", (4,))}, {"a": math.nan, "b": [math.inf, 1.5]})

    header = read_gguf_header(path)

    assert header.metadata["a"] == '"nan"'
    assert json.loads(header.metadata["b"]) == ["inf", 1.5]


def test_an_unknown_array_element_type_is_corrupt(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "t.gguf", {"w": ("F32", (4,))}, {"arr": [7, 8]})
    raw = path.read_bytes()
    at = raw.index(b"arr") + 3 + 4  # after the key and the value type (array)
    patch_bytes(path, at, struct.pack("<I", 99))

    with pytest.raises(CorruptFileError, match="unknown metadata array element type 99"):
        read_gguf_header(path)


def test_a_named_pipe_called_gguf_is_unreadable_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "pipe.gguf"
    os.mkfifo(path)

    with pytest.raises(UnreadableFileError, match=r"named pipe \(FIFO\)"):
        read_gguf_header(path)
