"""The fast header path must agree exactly with the strict validator, wherever the metadata sits."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from safetensors import SafetensorError, safe_open

from core.formats import safetensors_header as sh
from core.formats.model_file import CorruptFileError

TENSORS = {
    "a.weight": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]},
    'odd "name" with \\ and ,"__meta': {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]},
    "c": {"dtype": "BF16", "shape": [], "data_offsets": [16, 18]},
}
METADATA = {"ss_output_name": "x", "note": 'quotes " and "__metadata__" inside a value'}


def _write(path: Path, members: list[tuple[str, object]], data_size: int = 18) -> Path:
    body = "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in members) + "}"
    raw = body.encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * data_size)
    return path


def _strict(path: Path) -> tuple[dict[str, object], dict[str, str]]:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    data_start = 8 + length
    return sh._validate(sh._parse_json(raw[8:data_start].decode()), len(raw) - data_start)  # type: ignore[return-value]


@pytest.mark.parametrize("where", ["first", "last", "middle", "absent"])
def test_fast_and_strict_paths_give_the_same_header(tmp_path: Path, where: str) -> None:
    members: list[tuple[str, object]] = list(TENSORS.items())
    if where == "first":
        members.insert(0, ("__metadata__", METADATA))
    elif where == "last":
        members.append(("__metadata__", METADATA))
    elif where == "middle":
        members.insert(1, ("__metadata__", METADATA))
    path = _write(tmp_path / f"{where}.safetensors", members)

    header = sh.read_safetensors_header(path)

    tensors, metadata = _strict(path)
    assert dict(header.tensors) == tensors
    assert dict(header.metadata) == metadata
    assert dict(header.metadata) == ({} if where == "absent" else METADATA)
    # The dtype set the fast path hands to identification is the tensors' own (None from the strict path).
    assert header.dtypes is None or header.dtypes == {info.dtype for info in header.tensors.values()}
    assert (header.dtypes is None) == (where == "middle")


def test_fast_path_is_taken_for_a_well_formed_header(tmp_path: Path) -> None:
    path = _write(tmp_path / "ok.safetensors", [("__metadata__", {"k": "v"}), *TENSORS.items()])
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    tensors, metadata, dtypes = sh._fast_validate(raw[8 : 8 + length].decode(), 18)
    assert dtypes == {"F16", "F32", "BF16"}
    assert set(tensors) == set(TENSORS)
    assert metadata == {"k": "v"}


def test_a_repeated_metadata_key_is_refused_as_the_library_refuses_it(tmp_path: Path) -> None:
    text = (
        '{"__metadata__":{"a":"1"},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
        '"__metadata__":{"b":"2"}}'
    )
    raw = text.encode()
    path = tmp_path / "dup.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0")
    with pytest.raises(sh._FastPathRefusedError):
        sh._fast_validate(text, 1)
    with pytest.raises(CorruptFileError, match="__metadata__ twice"):
        sh.read_safetensors_header(path)
    refused = "duplicate field `__metadata__`"
    with pytest.raises(SafetensorError, match=refused), safe_open(str(path), "numpy"):
        pass


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 10]}, "needs 12 bytes"),
        ({"dtype": "Q9", "shape": [2, 3], "data_offsets": [0, 12]}, "unknown dtype"),
        ({"dtype": "F16", "shape": [-2, -3], "data_offsets": [0, 12]}, "non-negative"),
        ({"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12], "extra": 1}, None),
    ],
)
def test_what_the_fast_path_refuses_gets_the_strict_verdict(
    tmp_path: Path, entry: dict[str, object], message: str | None
) -> None:
    path = _write(tmp_path / "bad.safetensors", [("__metadata__", {"k": "v"}), ("t", entry)], data_size=12)
    if message is None:  # unknown keys are tolerated by the strict validator, like the safetensors library
        assert sh.read_safetensors_header(path).tensors["t"].nbytes == 12
        return
    with pytest.raises(CorruptFileError, match=message):
        sh.read_safetensors_header(path)


def _raw_file(path: Path, text: str, data_size: int) -> Path:
    raw = text.encode("utf-8", "surrogatepass")
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * data_size)
    return path


def _library_accepts(path: Path) -> bool:
    try:
        with safe_open(str(path), "numpy") as handle:
            list(handle.keys())
    except SafetensorError:
        return False
    return True


# Headers built to slip past the fast path's counts: each must be refused by it and judged by the strict
# validator exactly as the safetensors library judges it.
TRICKY = {
    # One key loses its colon-after-quote to whitespace while a field is given twice: 4 colons, 4 keys.
    "repeated field, spaced key": ('{"t":{"dtype" :"U8","shape":[1],"shape":[2],"data_offsets":[0,2]}}', 2),
    "repeated tensor name": (
        '{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
        1,
    ),
    "byte_size instead of data_offsets": ('{"t":{"dtype":"U8","shape":[1],"byte_size":1}}', 1),
    "lone surrogate in metadata": (
        '{"__metadata__":{"k":"\\ud800"},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
        1,
    ),
    "lone surrogate in a name": ('{"\\udc00":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1),
    "minus zero": ('{"t":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}', 0),
    "unsorted offsets": (
        '{"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
        3,
    ),
    "unsorted with a gap": (
        '{"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
        4,
    ),
    "mixed dtypes, one wrong": (
        '{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]},"b":{"dtype":"F16","shape":[2],"data_offsets":[2,5]}}',
        5,
    ),
}


@pytest.mark.parametrize("label", sorted(TRICKY))
def test_headers_made_to_fool_the_fast_path_are_judged_as_the_library_judges_them(
    tmp_path: Path, label: str
) -> None:
    text, data_size = TRICKY[label]
    path = _raw_file(tmp_path / "tricky.safetensors", text, data_size)
    if label != "unsorted offsets":
        with pytest.raises(sh._FastPathRefusedError):
            sh._fast_validate(text, data_size)
    accepted = True
    try:
        sh.read_safetensors_header(path)
    except CorruptFileError:
        accepted = False
    assert accepted == _library_accepts(path)


def test_unsorted_offsets_that_tile_are_accepted_by_the_fast_path() -> None:
    text, data_size = TRICKY["unsorted offsets"]
    tensors, _, _ = sh._fast_validate(text, data_size)
    assert {name: info.data_offsets for name, info in tensors.items()} == {"b": (1, 3), "a": (0, 1)}
