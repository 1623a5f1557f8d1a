from __future__ import annotations

import builtins
import struct
import time
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from core.formats import safetensors_header
from core.formats.model_file import CorruptFileError
from core.formats.safetensors_header import read_safetensors_header
from core.taxonomy import FileFormat
from tests.factory.files import BROKEN_SAFETENSORS, write_raw_safetensors
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors

NUMPY_TO_SAFETENSORS = {
    "float64": "F64",
    "float32": "F32",
    "float16": "F16",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint8": "U8",
    "bool": "BOOL",
}


def test_reads_names_dtypes_shapes_offsets_and_metadata(tmp_path: Path) -> None:
    values = {"b": np.arange(6, dtype=np.float16).reshape(2, 3)}
    path = write_safetensors(
        tmp_path / "m.safetensors",
        {"a": ("F32", (4, 4)), "b": ("F16", (2, 3)), "c": ("I64", ())},
        metadata={"ss_network_dim": "32", "modelspec.title": "x"},
        values=values,
    )

    header = read_safetensors_header(path)

    assert header.format is FileFormat.SAFETENSORS
    assert header.size == path.stat().st_size
    assert header.metadata == {"ss_network_dim": "32", "modelspec.title": "x"}
    assert {name: (t.dtype, t.shape, t.nbytes) for name, t in header.tensors.items()} == {
        "a": ("F32", (4, 4), 64),
        "b": ("F16", (2, 3), 12),
        "c": ("I64", (), 8),
    }
    b = header.tensors["b"]
    position = header.data_offset("b")
    assert position is not None
    with path.open("rb") as fh:
        fh.seek(position)
        assert fh.read(b.nbytes) == values["b"].tobytes()


def test_agrees_with_the_safetensors_library(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    arrays = {
        "model.diffusion_model.input_blocks.0.0.weight": rng.standard_normal((8, 4, 3, 3)).astype(np.float16),
        "first_stage_model.decoder.conv_in.bias": rng.standard_normal(16).astype(np.float32),
        "cond_stage_model.position_ids": np.arange(77, dtype=np.int64).reshape(1, 77),
        "alpha": np.array(4.0, dtype=np.float64),
        "mask": np.array([True, False, True]),
        "bytes": np.arange(5, dtype=np.uint8),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    path = tmp_path / "lib.safetensors"
    save_file(arrays, str(path), metadata={"format": "pt"})

    header = read_safetensors_header(path)

    with safe_open(str(path), framework="numpy") as reference:
        assert set(header.tensors) == set(reference.keys())
        assert header.metadata == reference.metadata()
        for name in reference.keys():  # noqa: SIM118 - safe_open is not a mapping
            expected = reference.get_tensor(name)
            info = header.tensors[name]
            assert info.shape == expected.shape
            assert info.dtype == NUMPY_TO_SAFETENSORS[expected.dtype.name]
            assert info.nbytes == expected.nbytes
            position = header.data_offset(name)
            assert position is not None
            with path.open("rb") as fh:
                fh.seek(position)
                assert fh.read(info.nbytes) == expected.tobytes()


EXPECTED_REASONS = {
    "empty": "empty",
    "shorter_than_8_bytes": "only 3 bytes",
    "truncated_data": "truncated",
    "truncated_header": "header claims",
    "header_length_zero": "header length is 0",
    "header_length_huge": "100 MB",
    "header_length_past_end": "header claims",
    "header_length_too_short": "not valid JSON",
    "not_json": "not valid JSON",
    "not_utf8": "UTF-8",
    "not_an_object": "not a JSON object",
    "overlapping_offsets": "overlaps",
    "gap_between_tensors": "gap",
    "offsets_outside_file": "truncated",
    "trailing_bytes": "unexpected bytes",
    "bad_dtype": "unknown dtype 'F17'",
    "wrong_byte_count": "needs 16 bytes",
    "negative_dimension": "non-negative",
    "entry_not_object": "not [dtype, shape, data_offsets]",
    "metadata_not_strings": "must be strings",
}


def test_every_broken_file_has_an_expected_reason() -> None:
    assert set(EXPECTED_REASONS) == set(BROKEN_SAFETENSORS)


@pytest.mark.parametrize("defect", sorted(BROKEN_SAFETENSORS))
def test_broken_files_are_corrupt_with_a_specific_reason(tmp_path: Path, defect: str) -> None:
    path = BROKEN_SAFETENSORS[defect](tmp_path / f"{defect}.safetensors")

    with pytest.raises(CorruptFileError) as caught:
        read_safetensors_header(path)

    assert EXPECTED_REASONS[defect] in caught.value.reason


@pytest.mark.parametrize("defect", sorted(BROKEN_SAFETENSORS))
def test_the_safetensors_library_rejects_the_same_files(tmp_path: Path, defect: str) -> None:
    """Our diagnosis matches the loader's: every file we call corrupt, safetensors refuses too."""
    path = BROKEN_SAFETENSORS[defect](tmp_path / f"{defect}.safetensors")

    with pytest.raises(SafetensorError), safe_open(str(path), framework="numpy"):
        pass


def test_empty_header_is_a_valid_file_without_tensors(tmp_path: Path) -> None:
    path = write_raw_safetensors(tmp_path / "none.safetensors", {"__metadata__": {"a": "b"}})

    header = read_safetensors_header(path)

    assert header.tensors == {}
    assert header.metadata == {"a": "b"}


def test_sub_byte_dtypes_are_sized_in_bits(tmp_path: Path) -> None:
    path = write_raw_safetensors(
        tmp_path / "f4.safetensors",
        {"w": {"dtype": "F4", "shape": [2, 4], "data_offsets": [0, 4]}},
        b"\0" * 4,
    )

    assert read_safetensors_header(path).tensors["w"].nbytes == 4


def test_boolean_dimensions_are_not_integers(tmp_path: Path) -> None:
    path = write_raw_safetensors(
        tmp_path / "b.safetensors", {"w": {"dtype": "U8", "shape": [True], "data_offsets": [0, 1]}}, b"\0"
    )

    with pytest.raises(CorruptFileError, match="shape"):
        read_safetensors_header(path)


def test_only_the_header_bytes_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_safetensors(tmp_path / "m.safetensors", {"a": ("F32", (256, 256))}, seed=0)
    (header_len,) = struct.unpack("<Q", path.read_bytes()[:8])
    read_sizes: list[int] = []
    real_open = builtins.open

    class CountingFile:
        def __init__(self, fh: IO[bytes]) -> None:
            self._fh = fh

        def read(self, n: int = -1) -> bytes:
            data = self._fh.read(n)
            read_sizes.append(len(data))
            return data

        def __getattr__(self, name: str) -> Any:
            return getattr(self._fh, name)

        def __enter__(self) -> CountingFile:
            return self

        def __exit__(self, *exc: object) -> None:
            self._fh.close()

    def counting_open(file: Any) -> Any:
        return CountingFile(real_open(file, "rb"))

    monkeypatch.setattr(safetensors_header, "open_regular", counting_open)

    header = read_safetensors_header(path)

    assert header.tensors["a"].nbytes == 256 * 256 * 4
    assert read_sizes == [8, header_len]


def test_real_size_sd1_checkpoint_reads_in_milliseconds(tmp_path: Path) -> None:
    specs = keyspace("sd1-ldm", dtype="F16")
    path = write_safetensors(tmp_path / "v1-5-pruned-emaonly.safetensors", specs)
    assert path.stat().st_size > 2_000_000_000  # sparse: costs no disk

    started = time.perf_counter()
    header = read_safetensors_header(path)
    elapsed = time.perf_counter() - started

    assert len(header.tensors) == len(specs) == 1130
    key = "model.diffusion_model.input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight"
    assert header.tensors[key].shape == (320, 768)
    assert elapsed < 0.5
