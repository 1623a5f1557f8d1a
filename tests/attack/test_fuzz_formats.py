"""Property-based attack on every non-pickle reader: nothing escapes, nothing hangs, labels match the library.

Hypothesis generates safetensors headers (with their metadata), kohya metadata values, sidecars, GGUF
headers and diffusers configs (``tests/attack/fuzz_inputs.py``). For every input the public entry point
(``read_header``, ``read_sidecars``, then ``identify`` on what was read) must either succeed or raise a
``FormatError`` with a reason; any other exception is a crash, an input slower than the bound a hang.
What is returned must be storable: no integer past 64 bits, no NaN or infinity, no string that cannot be
written as UTF-8. For safetensors the verdict must be the library's: ``safe_open(path, "numpy")`` succeeds
exactly when Atelier calls the file readable. The safetensors package is imported here (it is not torch
and it runs no code from the files).

Runs are reproducible (``derandomize``, no example database) and bounded in count.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file

from core.formats.embedded_metadata import read_embedded_metadata
from core.formats.model_file import FormatError, ModelHeader
from core.formats.reader import read_header
from core.formats.sidecars import read_sidecars
from core.formats.strict_json import unstorable_number
from core.identify import identify
from tests.attack.fuzz_inputs import (
    Tally,
    diffusers_config,
    dump,
    gguf_files,
    json_text,
    kohya_metadata,
    model_index,
    safetensors_files,
    sidecar_files,
    strings_in,
    write_pipeline,
)
from tests.attack.report import record

FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
# numpy has these; the others (F4, F8, C64...) load in torch only, so load_file is asked about these alone.
_NUMPY_DTYPES = {"BOOL", "U8", "I8", "U16", "I16", "F16", "U32", "I32", "F32", "U64", "I64", "F64"}


def _run_property(suite: str, tally: Tally, check: Callable[[], None]) -> None:
    try:
        check()
    finally:
        record(suite, fuzz_inputs=tally.inputs, crashes=tally.crashes, hangs=tally.hangs)
    assert tally.crashes == 0
    assert tally.hangs == 0


def _read(path: Path) -> ModelHeader | FormatError:
    try:
        return read_header(path)
    except FormatError as exc:
        failure = exc
    assert failure.reason, "a refusal without a reason"
    assert "\n" not in failure.reason, repr(failure.reason)  # one line, shown as is
    return failure


def _assert_storable(record_: Any) -> None:
    """What the catalog would write: numbers that fit a column, strict JSON, strings UTF-8 can encode."""
    problem = unstorable_number(record_)
    assert problem is None, problem
    for text in strings_in(record_):
        text.encode("utf-8")


def _identify_storable(header: ModelHeader) -> None:
    ident = identify(header)
    data = ident.to_json()
    json.dumps(data, allow_nan=False)
    _assert_storable(data)


def _numpy_can_hold(dtype: str, shape: tuple[int, ...]) -> bool:
    """numpy has the dtype, and refuses no shape (it rejects [0, 2**40, 2**40]: its dims overflow intp)."""
    return dtype in _NUMPY_DTYPES and math.prod(dim for dim in shape if dim) < 2**62


def _library_loads(path: Path) -> bool:
    try:
        with safe_open(str(path), framework="numpy") as handle:
            list(handle.keys())
    except (SafetensorError, OSError, ValueError):
        return False
    return True


def test_safetensors_headers_are_judged_exactly_as_the_library_judges_them(tmp_path: Path) -> None:
    tally = Tally()
    path = tmp_path / "fuzz.safetensors"

    @settings(FUZZ, max_examples=300)
    @given(raw=safetensors_files())
    def check(raw: bytes) -> None:
        path.write_bytes(raw)
        with tally.attempt():
            outcome = _read(path)
            if isinstance(outcome, ModelHeader):
                _identify_storable(outcome)
        library = _library_loads(path)
        atelier = isinstance(outcome, ModelHeader)
        assert atelier == library, (
            f"Atelier {'accepts' if atelier else 'refuses'} ({outcome}); library differs"
        )
        if isinstance(outcome, ModelHeader) and all(
            _numpy_can_hold(info.dtype, info.shape) for info in outcome.tensors.values()
        ):
            loaded = load_file(str(path))
            assert {name: tuple(array.shape) for name, array in loaded.items()} == {
                name: info.shape for name, info in outcome.tensors.items()
            }

    _run_property("fuzz: safetensors headers vs the safetensors library", tally, check)


def test_kohya_metadata_values_never_crash_and_stay_storable(tmp_path: Path) -> None:
    tally = Tally()
    path = tmp_path / "lora.safetensors"

    @settings(FUZZ, max_examples=200)
    @given(metadata=kohya_metadata)
    def check(metadata: dict[str, str]) -> None:
        with tally.attempt():
            summary = read_embedded_metadata(metadata)
            json.dumps(summary.to_json(), allow_nan=False)
            _assert_storable(summary.to_json())
            # The same values inside a real file, through the public reader and identification.
            header = json.dumps(
                {"__metadata__": metadata, "w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}
            )
            raw = header.encode("utf-8", "surrogatepass")
            path.write_bytes(len(raw).to_bytes(8, "little") + raw + b"\0" * 4)
            outcome = _read(path)
            if isinstance(outcome, ModelHeader):
                _identify_storable(outcome)
        assert isinstance(outcome, ModelHeader) == _library_loads(path)

    _run_property("fuzz: kohya metadata values", tally, check)


def test_sidecars_never_crash_never_hang_and_stay_storable(tmp_path: Path) -> None:
    tally = Tally()
    model = tmp_path / "model.safetensors"
    model.write_bytes(b"")

    @settings(FUZZ, max_examples=200)
    @given(files=sidecar_files())
    def check(files: dict[str, bytes]) -> None:
        for leftover in tmp_path.glob("model.*"):
            if leftover != model:
                leftover.unlink()
        for suffix, data in files.items():
            (tmp_path / f"model{suffix}").write_bytes(data)
        with tally.attempt():
            info = read_sidecars(model)
            _assert_storable(info)
        assert len(info.sources) + len(info.errors) == len(files)

    _run_property("fuzz: sidecars", tally, check)


def test_gguf_headers_never_crash_and_stay_bounded(tmp_path: Path) -> None:
    tally = Tally()
    path = tmp_path / "fuzz.gguf"

    @settings(FUZZ, max_examples=300)
    @given(raw=gguf_files())
    def check(raw: bytes) -> None:
        path.write_bytes(raw)
        with tally.attempt():
            outcome = _read(path)
            if isinstance(outcome, ModelHeader):
                _identify_storable(outcome)

    _run_property("fuzz: GGUF headers", tally, check)


def test_diffusers_configs_never_crash_and_stay_storable(tmp_path: Path) -> None:
    tally = Tally()
    root = write_pipeline(tmp_path / "pipeline")

    @settings(FUZZ, max_examples=200)
    @given(
        index=model_index,
        unet=st.one_of(diffusers_config.map(dump), json_text()),
        text_encoder=st.one_of(diffusers_config.map(dump), st.just('{"architectures": ["CLIPTextModel"]}')),
    )
    def check(index: str, unet: str, text_encoder: str) -> None:
        (root / "model_index.json").write_bytes(index.encode("utf-8", "surrogatepass"))
        (root / "unet" / "config.json").write_bytes(unet.encode("utf-8", "surrogatepass"))
        (root / "text_encoder" / "config.json").write_bytes(text_encoder.encode("utf-8", "surrogatepass"))
        with tally.attempt():
            outcome = _read(root)
            if isinstance(outcome, ModelHeader):
                _identify_storable(outcome)

    _run_property("fuzz: diffusers configs", tally, check)


@pytest.mark.parametrize(
    "header",
    [
        {"a": {"dtype": "U8", "shape": [0, 2**40, 2**40], "data_offsets": [0, 0]}},
        {"a": ["F16", [2], [0, 4]]},
        {"a": {"dtype": {"F16": None}, "shape": [2], "data_offsets": [0, 4]}},
        {"__metadata__": None, "a": {"dtype": "F8_E4M3FNUZ", "shape": [4], "data_offsets": [0, 4]}},
    ],
)
def test_unusual_headers_the_library_loads_are_read(tmp_path: Path, header: dict[str, Any]) -> None:
    path = tmp_path / "odd.safetensors"
    raw = json.dumps(header).encode()
    (entry,) = (value for key, value in header.items() if key != "__metadata__")
    size = entry[2][1] if isinstance(entry, list) else entry["data_offsets"][1]
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + b"\0" * size)

    assert _library_loads(path)
    assert isinstance(_read(path), ModelHeader)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[0],"data_offsets":[2,2],"x":"\\ud800"}}',
            "lone UTF-16 surrogate",
        ),
        ('{"a":{"dtype":"U8","dtype":"U8","shape":[2],"data_offsets":[0,2]}}', "gives dtype twice"),
        # A repeated name keeps the last entry, but the library still parses the one it drops.
        (
            '{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"dtype":"U8"},'
            '"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}',
            "gives dtype twice",
        ),
        (
            '{"__metadata__":{"k":1,"k":"v"},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}',
            "must be strings",
        ),
        ('{"a":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}', "overflows 64 bits"),
        (
            '{"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}',
            "is not a list of non-negative 64-bit integers",
        ),
        (
            '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":1e999}}',
            "beyond the range of a 64-bit float",
        ),
        (
            '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":' + "[" * 126 + "]" * 126 + "}}",
            "nested more than 127",
        ),
    ],
)
def test_headers_the_library_refuses_are_corrupt_with_the_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "bad.safetensors"
    raw = text.encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + b"\0\0")

    outcome = _read(path)

    assert not _library_loads(path)
    assert isinstance(outcome, FormatError)
    assert reason in outcome.reason


def test_a_named_pipe_named_like_a_model_is_unreadable_without_blocking(tmp_path: Path) -> None:
    for name in ("pipe.safetensors", "pipe.gguf"):
        os.mkfifo(tmp_path / name)
        outcome = _read(tmp_path / name)
        assert isinstance(outcome, FormatError)
        assert "named pipe" in outcome.reason
