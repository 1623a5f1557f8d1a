"""Property-based attack on every non-pickle reader: nothing escapes, nothing hangs, labels match the library.

Hypothesis generates safetensors headers (with their metadata), kohya metadata values, sidecars, GGUF
headers and diffusers configs (``tests/attack/fuzz_inputs.py``). For every input the public entry point
(``read_header``, ``read_sidecars``, then ``identify`` on what was read) must either succeed or raise a
``FormatError`` with a reason; any other exception is a crash, an input slower than the bound a hang.
What is returned must be storable: no integer past 64 bits, no NaN or infinity, no string that cannot be
written as UTF-8. For safetensors the verdict must be the library's: a file Atelier calls readable opens in
``safe_open(path, "numpy")`` and, where numpy has every dtype, loads with ``load_file`` into arrays of the
shapes Atelier read; a file ``safe_open`` accepts is refused only for a shape the loaders cannot build (and
``load_file`` then fails too). The safetensors package is imported here (it is not torch and it runs no code
from the files); torch's loader is asked in a child process.

Runs are reproducible (``derandomize``, no example database) and bounded in count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    empty_tensor_files,
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


def _library_loads(path: Path) -> bool:
    """The library's own header check: ``safe_open`` accepts the file."""
    try:
        with safe_open(str(path), framework="numpy") as handle:
            list(handle.keys())
    except (SafetensorError, OSError, ValueError):
        return False
    return True


def _numpy_loads(path: Path) -> bool:
    """The library builds every tensor: ``load_file`` into numpy arrays succeeds.

    Any exception is a refusal: for a dtype numpy lacks (BF16, F4...) the library fails with whatever numpy
    raises (TypeError, AttributeError).
    """
    try:
        load_file(str(path))
    except Exception:
        return False
    return True


# Refusals of shapes safe_open accepts but the torch and numpy loaders cannot build.
_LOADER_REFUSAL = "the safetensors library refuses to load it"


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
        _assert_judged_as_the_library_judges(path, outcome)

    _run_property("fuzz: safetensors headers vs the safetensors library", tally, check)


def test_empty_tensors_with_huge_dimensions_are_judged_as_the_loaders_judge_them(tmp_path: Path) -> None:
    tally = Tally()
    path = tmp_path / "empty.safetensors"

    @settings(FUZZ, max_examples=150)
    @given(raw=empty_tensor_files())
    def check(raw: bytes) -> None:
        path.write_bytes(raw)
        with tally.attempt():
            outcome = _read(path)
        _assert_judged_as_the_library_judges(path, outcome)

    _run_property("fuzz: empty safetensors tensors with huge dimensions", tally, check)


def _assert_judged_as_the_library_judges(path: Path, outcome: ModelHeader | FormatError) -> None:
    """OK: safe_open accepts it and numpy loads it (where numpy has the dtypes); refused: the library does."""
    library = _library_loads(path)
    if not isinstance(outcome, ModelHeader):
        if library:  # safe_open accepts it: only a shape the loaders cannot build may be refused
            assert _LOADER_REFUSAL in outcome.reason, f"Atelier refuses ({outcome}); library loads it"
            assert not _numpy_loads(path)
        return
    assert library, f"Atelier accepts ({outcome.tensors}); safe_open refuses it"
    if all(info.dtype in _NUMPY_DTYPES for info in outcome.tensors.values()):
        loaded = load_file(str(path))
        assert {name: tuple(array.shape) for name, array in loaded.items()} == {
            name: info.shape for name, info in outcome.tensors.items()
        }


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
        {"a": {"dtype": "U8", "shape": [2**63 - 1, 0], "data_offsets": [0, 0]}},
        {"a": {"dtype": "F32", "shape": [0, 2**61 - 1], "data_offsets": [0, 0]}},
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
    if isinstance(entry, dict) and isinstance(entry["dtype"], str) and entry["dtype"] in _NUMPY_DTYPES:
        assert _numpy_loads(path)


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


# Empty tensors safe_open accepts (0 bytes of data) whose shape torch's or numpy's loader cannot build.
_UNBUILDABLE_EMPTY_SHAPES = [
    ("F32", [2**64 - 1, 0]),  # torch: "Overflow when unpacking long long"; numpy: "Maximum allowed dimension"
    ("F32", [2**63, 0]),
    ("U8", [0, 2**63]),
    ("F32", [2**61, 0]),  # numpy: 2**61 float32 are 2**63 bytes, "array is too big"
    ("U8", [0, 2**40, 2**40]),
]
_TORCH_LOADS = """
import json, sys
from safetensors.torch import load_file
verdicts = {}
for path in sys.argv[1:]:
    try:
        load_file(path)
        verdicts[path] = "loads"
    except Exception as exc:
        verdicts[path] = f"{type(exc).__name__}: {exc}"
print(json.dumps(verdicts))
"""


def _write_empty_tensor(path: Path, dtype: str, shape: list[int]) -> None:
    raw = json.dumps({"t": {"dtype": dtype, "shape": shape, "data_offsets": [0, 0]}}).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw)


def test_empty_tensors_the_loaders_cannot_build_are_corrupt(tmp_path: Path) -> None:
    for index, (dtype, shape) in enumerate(_UNBUILDABLE_EMPTY_SHAPES):
        path = tmp_path / f"empty-{index}.safetensors"
        _write_empty_tensor(path, dtype, shape)

        outcome = _read(path)

        assert _library_loads(path), shape  # the header check alone lets it through
        assert not _numpy_loads(path), shape
        assert isinstance(outcome, FormatError), shape
        assert _LOADER_REFUSAL in outcome.reason, outcome.reason
    record(
        "safetensors: empty tensors the loaders cannot build",
        fuzz_inputs=len(_UNBUILDABLE_EMPTY_SHAPES),
    )


def test_torch_loader_agrees_with_the_dimension_limit(tmp_path: Path) -> None:
    """In a child (torch stays out of the test process): past 2**63 - 1 torch refuses, at it torch loads."""
    refused = tmp_path / "refused.safetensors"
    _write_empty_tensor(refused, "F32", [2**63, 0])
    largest = tmp_path / "largest.safetensors"
    _write_empty_tensor(largest, "U8", [2**63 - 1, 0])

    child = subprocess.run(
        [sys.executable, "-c", _TORCH_LOADS, str(refused), str(largest)],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    verdicts = json.loads(child.stdout)

    assert verdicts[str(refused)] != "loads"
    assert isinstance(_read(refused), FormatError)
    assert verdicts[str(largest)] == "loads"
    assert _numpy_loads(largest)
    assert isinstance(_read(largest), ModelHeader)


def test_a_named_pipe_named_like_a_model_is_unreadable_without_blocking(tmp_path: Path) -> None:
    for name in ("pipe.safetensors", "pipe.gguf"):
        os.mkfifo(tmp_path / name)
        outcome = _read(tmp_path / name)
        assert isinstance(outcome, FormatError)
        assert "named pipe" in outcome.reason
