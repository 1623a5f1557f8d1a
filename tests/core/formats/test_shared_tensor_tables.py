"""Headers whose tensor table was validated before: the same verdict, shared read-only, per exact bytes."""

from __future__ import annotations

import copy
import json
import pickle
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.formats import safetensors_header as sh
from core.formats.model_file import CorruptFileError, TensorInfo, TensorTable
from core.formats.table_cache import TableCache, TableKey, TableSpan, ValidatedTable

TENSORS: dict[str, dict[str, object]] = {
    "lora_unet_a.lora_down.weight": {"dtype": "F16", "shape": [4, 8], "data_offsets": [0, 64]},
    "lora_unet_a.lora_up.weight": {"dtype": "F16", "shape": [8, 4], "data_offsets": [64, 128]},
    "lora_unet_a.alpha": {"dtype": "F16", "shape": [], "data_offsets": [128, 130]},
}
DATA_SIZE = 130


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    sh._TABLES.clear()
    yield
    sh._TABLES.clear()


def _write(
    path: Path,
    tensors: dict[str, dict[str, object]],
    metadata: dict[str, str] | None = None,
    data_size: int = DATA_SIZE,
) -> Path:
    members: list[tuple[str, object]] = [("__metadata__", metadata)] if metadata is not None else []
    members += list(tensors.items())
    raw = ("{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in members) + "}").encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * data_size)
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(CorruptFileError) as caught:
        sh.read_safetensors_header(path)
    return caught.value.reason


def test_files_sharing_a_table_share_its_tensors_but_keep_their_own_metadata(tmp_path: Path) -> None:
    one = sh.read_safetensors_header(_write(tmp_path / "one.safetensors", TENSORS, {"ss_output_name": "one"}))
    two = sh.read_safetensors_header(_write(tmp_path / "two.safetensors", TENSORS, {"ss_output_name": "二"}))

    assert two.tensors is one.tensors
    assert len(sh._TABLES) == 1
    assert (one.metadata, two.metadata) == ({"ss_output_name": "one"}, {"ss_output_name": "二"})
    assert (one.path.name, two.path.name) == ("one.safetensors", "two.safetensors")
    assert one.dtypes == two.dtypes == frozenset({"F16"})
    assert two.tensors["lora_unet_a.lora_down.weight"] == TensorInfo("F16", (4, 8), (0, 64))


def test_headers_without_metadata_share_their_table_too(tmp_path: Path) -> None:
    one = sh.read_safetensors_header(_write(tmp_path / "one.safetensors", TENSORS))
    two = sh.read_safetensors_header(_write(tmp_path / "two.safetensors", TENSORS))
    assert two.tensors is one.tensors
    assert two.metadata == {}
    assert two.metadata is not one.metadata


@pytest.mark.parametrize(
    ("data_size", "reason"),
    [
        (DATA_SIZE - 2, "the file is truncated: its tensors need 130 bytes of data but only 128 are present"),
        (DATA_SIZE + 3, "the file has 3 unexpected bytes after the last tensor's data"),
    ],
)
@pytest.mark.parametrize("metadata", [{"ss_output_name": "x"}, None])
def test_an_accepted_table_with_another_data_size_is_refused_exactly_as_without_the_cache(
    tmp_path: Path, data_size: int, reason: str, metadata: dict[str, str] | None
) -> None:
    sh.read_safetensors_header(_write(tmp_path / "sound.safetensors", TENSORS, metadata))
    bad = _write(tmp_path / "bad.safetensors", TENSORS, metadata, data_size=data_size)

    assert _refusal(bad) == reason
    sh._TABLES.clear()
    assert _refusal(bad) == reason  # what the reader says without any table cached


def _changed(field: str) -> dict[str, dict[str, object]]:
    tensors = copy.deepcopy(TENSORS)
    if field == "name":
        tensors["lora_unet_b.alpha"] = tensors.pop("lora_unet_a.alpha")
    elif field == "dtype":
        tensors["lora_unet_a.alpha"]["dtype"] = "BF16"
    elif field == "shape":
        tensors["lora_unet_a.lora_up.weight"]["shape"] = [8, 5]
    else:
        tensors["lora_unet_a.alpha"]["data_offsets"] = [129, 131]
    return tensors


@pytest.mark.parametrize("field", ["name", "dtype", "shape", "offset"])
def test_a_table_one_byte_away_from_an_accepted_one_is_validated_afresh(tmp_path: Path, field: str) -> None:
    accepted = sh.read_safetensors_header(_write(tmp_path / "a.safetensors", TENSORS, {"k": "v"}))
    path = _write(tmp_path / "b.safetensors", _changed(field), {"k": "v"})

    if field in ("name", "dtype"):  # still a sound table, but not the same one
        other = sh.read_safetensors_header(path)
        assert other.tensors is not accepted.tensors
        assert other.tensors != accepted.tensors
        assert len(sh._TABLES) == 2
    else:
        reason = _refusal(path)
        sh._TABLES.clear()
        assert _refusal(path) == reason
        assert reason.startswith("tensor 'lora_unet_a.")


def test_a_shared_tensor_table_cannot_be_changed(tmp_path: Path) -> None:
    header = sh.read_safetensors_header(_write(tmp_path / "a.safetensors", TENSORS, {"k": "v"}))
    tensors = header.tensors
    assert isinstance(tensors, TensorTable)
    info = TensorInfo("F16", (1,), (0, 2))
    attempts: list[Callable[[], object]] = [
        lambda: tensors.__setitem__("x", info),
        lambda: tensors.__delitem__("lora_unet_a.alpha"),
        lambda: tensors.pop("lora_unet_a.alpha"),
        tensors.popitem,
        lambda: tensors.setdefault("x", info),
        lambda: tensors.update({"x": info}),
        tensors.clear,
    ]
    for attempt in attempts:
        with pytest.raises(TypeError, match="read-only"):
            attempt()
    with pytest.raises(TypeError, match="read-only"):
        tensors.__ior__({"x": info})
    assert list(tensors) == list(TENSORS)
    # It still travels and copies as the same table (a scan's worker results are pickled).
    assert pickle.loads(pickle.dumps(tensors)) == tensors
    assert copy.copy(tensors) is tensors
    assert copy.deepcopy(tensors) is tensors


def _table(size: int) -> ValidatedTable:
    return ValidatedTable(TensorTable(), frozenset({"F16"}))


def test_the_cache_keeps_within_its_bytes_and_its_entries() -> None:
    by_bytes = TableCache(max_bytes=1000, max_entries=100)
    for index in range(10):
        by_bytes.put(TableKey("whole", 0, bytes([index]) * 300), _table(300))
        assert by_bytes.held_bytes <= 1000
    assert len(by_bytes) == 3
    assert by_bytes.held_bytes == 900
    # Least recently used goes first: the oldest of the three, unless it was just used.
    assert by_bytes.get(TableKey("whole", 0, bytes([7]) * 300)) is not None
    by_bytes.put(TableKey("whole", 0, b"\x0a" * 300), _table(300))
    assert by_bytes.get(TableKey("whole", 0, bytes([8]) * 300)) is None
    assert by_bytes.get(TableKey("whole", 0, bytes([7]) * 300)) is not None
    by_bytes.put(TableKey("whole", 0, b"x" * 1001), _table(1001))  # larger than the budget: not kept
    assert by_bytes.held_bytes <= 1000
    assert by_bytes.get(TableKey("whole", 0, b"x" * 1001)) is None

    by_entries = TableCache(max_bytes=10**6, max_entries=4)
    for index in range(10):
        by_entries.put(TableKey("whole", 0, bytes([index]) * 10), _table(10))
    assert len(by_entries) == 4
    assert by_entries.held_bytes == 40


def test_keys_are_the_exact_bytes_even_when_their_samples_agree() -> None:
    base = bytes(range(256)) * 8
    twin = bytearray(base)
    twin[1] ^= 1  # outside the strided sample and the tail the hash reads
    one, two = TableKey("whole", 5, base), TableKey("whole", 5, bytes(twin))
    assert hash(one) == hash(two)
    assert one != two
    cache = TableCache()
    cache.put(one, _table(len(base)))
    assert cache.get(two) is None
    assert cache.get(TableKey("whole", 5, bytes(base))) is not None
    assert cache.get(TableKey("whole", 6, base)) is None
    assert cache.get(TableKey("after-metadata", 5, base)) is None


def test_a_form_feed_before_the_header_is_refused_as_the_library_refuses_it(tmp_path: Path) -> None:
    raw = b'\x0c{"__metadata__":{"k":"v"},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
    path = tmp_path / "ff.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0")
    assert _refusal(path).startswith("the header ")


def test_a_span_of_a_header_finds_the_key_of_the_same_bytes_and_only_that() -> None:
    table = bytes(range(256)) * 8
    raw = b'{"__metadata__":{"k":"v"},' + table + b"   "
    start, end = raw.index(table), raw.index(table) + len(table)
    span = TableSpan("after-metadata", 5, raw, start, end)
    key = TableKey("after-metadata", 5, table)
    assert hash(span) == hash(key)
    assert span == key
    assert key == span
    assert span.key() == key
    assert span.key().data == table
    cache = TableCache()
    cache.put(key, _table(len(table)))
    assert cache.get(span) is not None

    twin = bytearray(raw)
    twin[start + 1] ^= 1  # outside what the hash samples: told apart by the full comparison
    other = TableSpan("after-metadata", 5, bytes(twin), start, end)
    assert hash(other) == hash(key)
    assert cache.get(other) is None
    assert cache.get(TableSpan("after-metadata", 6, raw, start, end)) is None
    assert cache.get(TableSpan("whole", 5, raw, start, end)) is None
    assert cache.get(TableSpan("after-metadata", 5, raw, start, end - 1)) is None
    assert cache.get(TableSpan("after-metadata", 5, raw, start + 1, end)) is None
    # A span that ends before it starts is empty, as the slice would be.
    assert TableSpan("whole", 0, raw, 9, 3) == TableKey("whole", 0, b"")
