from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.formats.gguf import read_gguf_header
from core.formats.model_file import CorruptFileError
from core.formats.pickle_reader import read_pickle_header
from core.formats.safetensors_header import read_safetensors_header
from core.formats.tensor_data import read_tensor
from tests.factory.files import write_a1111_embedding, write_gguf, write_raw_safetensors
from tests.factory.safetensors_writer import write_safetensors

NORM_BIAS = "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias"


@pytest.mark.parametrize("dtype", ["F32", "F16", "F64"])
def test_reads_float_tensors_as_float64(tmp_path: Path, dtype: str) -> None:
    values = np.linspace(-1, 1, 320)
    path = write_safetensors(
        tmp_path / "sd2.safetensors",
        {NORM_BIAS: (dtype, (320,)), "other": ("F32", (8, 8))},
        values={NORM_BIAS: values},
    )

    data = read_tensor(read_safetensors_header(path), NORM_BIAS)

    assert data.dtype == np.float64
    assert data.shape == (320,)
    np.testing.assert_allclose(data, values, atol=1e-3)


def test_reads_bf16(tmp_path: Path) -> None:
    values = np.array([1.0, -2.5, 0.15625, 3e38], dtype=np.float32)
    raw = (values.view(np.uint32) >> 16).astype("<u2").tobytes()  # exact for these values
    path = write_raw_safetensors(
        tmp_path / "b.safetensors", {"w": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}}, raw
    )

    data = read_tensor(read_safetensors_header(path), "w")

    np.testing.assert_allclose(data, values, rtol=1e-2)
    assert data.shape == (4,)


def test_v_prediction_heuristic_reads_one_small_tensor(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(0, 0.2, 320)
    path = write_safetensors(
        tmp_path / "v.safetensors", {NORM_BIAS: ("F16", (320,))}, values={NORM_BIAS: values}
    )

    assert read_tensor(read_safetensors_header(path), NORM_BIAS).std() > 0.09


def test_too_many_elements(tmp_path: Path) -> None:
    header = read_safetensors_header(
        write_safetensors(tmp_path / "m.safetensors", {"w": ("F32", (300, 300))})
    )

    with pytest.raises(ValueError, match="more than the 65,536 allowed"):
        read_tensor(header, "w")
    assert read_tensor(header, "w", max_elements=90_000).shape == (90_000,)


def test_unsupported_dtype_and_missing_name(tmp_path: Path) -> None:
    header = read_safetensors_header(write_safetensors(tmp_path / "m.safetensors", {"ids": ("I64", (1, 77))}))

    with pytest.raises(ValueError, match="I64"):
        read_tensor(header, "ids")
    with pytest.raises(ValueError, match="no tensor"):
        read_tensor(header, "missing")


def test_pickles_have_no_random_access(tmp_path: Path) -> None:
    header = read_pickle_header(write_a1111_embedding(tmp_path / "e.pt"))

    with pytest.raises(ValueError, match="random access"):
        read_tensor(header, "string_to_param.*")


def test_file_truncated_after_the_header_was_read(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "m.safetensors", {"a": ("F32", (4,)), "b": ("F32", (4,))}, seed=1)
    header = read_safetensors_header(path)
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size - 4)

    with pytest.raises(CorruptFileError, match="truncated"):
        read_tensor(header, "b")


def test_reads_gguf_float_tensors(tmp_path: Path) -> None:
    header = read_gguf_header(
        write_gguf(tmp_path / "m.gguf", {"q": ("Q8_0", (32, 32)), "bias": ("F32", (64,))})
    )

    np.testing.assert_array_equal(read_tensor(header, "bias"), np.zeros(64))
    with pytest.raises(ValueError, match="Q8_0"):
        read_tensor(header, "q")
