"""A header whose tensor table was accepted before is read without decoding that table: the answer must be
the full path's, byte for byte, whatever the metadata in front of the table holds (or fails to be).

Each case is read twice: once with an empty cache (the full path: decode, validate) and once after a file
with the same table was read (the known-table path: the file's tail matched against held tables, only
the metadata decoded). Both must give the same header or refuse with the same reason.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.formats import safetensors_header as sh
from core.formats.model_file import CorruptFileError

TABLE = (
    '"lora_unet_a.lora_down.weight":{"dtype":"F16","shape":[4,8],"data_offsets":[0,64]},'
    '"lora_unet_a.lora_up.weight":{"dtype":"F16","shape":[8,4],"data_offsets":[64,128]},'
    '"lora_unet_a.alpha":{"dtype":"F16","shape":[],"data_offsets":[128,130]}}'
)
DATA_SIZE = 130


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    sh._TABLES.clear()
    yield
    sh._TABLES.clear()


def _file(path: Path, header: bytes, data_size: int = DATA_SIZE) -> Path:
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * data_size)
    return path


def _outcome(path: Path) -> tuple[Any, ...]:
    try:
        header = sh.read_safetensors_header(path)
    except CorruptFileError as exc:
        return ("refused", exc.reason)
    return ("read", dict(header.tensors), header.metadata, header.data_start, header.size, header.dtypes)


def _both_ways(tmp_path: Path, header: bytes, data_size: int = DATA_SIZE) -> tuple[Any, Any, bool]:
    """(full path's outcome, known-table path's outcome, whether the table was held for the second)."""
    path = _file(tmp_path / "case.safetensors", header, data_size)
    sh._TABLES.clear()
    full = _outcome(path)
    sh._TABLES.clear()
    sh.read_safetensors_header(
        _file(tmp_path / "seed.safetensors", b'{"__metadata__":{"a":"b"},' + TABLE.encode())
    )
    held = len(sh._TABLES) == 1
    return full, _outcome(path), held


CASES: dict[str, bytes] = {
    "plain metadata": b'{"__metadata__":{"ss_output_name":"one"},' + TABLE.encode(),
    "spaces and newlines around the metadata": b' \n{ "__metadata__" :\t{"a": "b"}\n ,' + TABLE.encode(),
    "padding after the table": b'{"__metadata__":{"a":"b"},' + TABLE.encode() + b"       ",
    "non-ASCII metadata": '{"__metadata__":{"name":"二 ☃"},'.encode() + TABLE.encode(),
    "metadata that is not UTF-8": b'{"__metadata__":{"name":"\xff\xfe"},' + TABLE.encode(),
    "a lone surrogate escape in the metadata": b'{"__metadata__":{"name":"\\ud800"},' + TABLE.encode(),
    "a metadata key twice": b'{"__metadata__":{"a":"b","a":"c"},' + TABLE.encode(),
    "a metadata value that is a number": b'{"__metadata__":{"a":1},' + TABLE.encode(),
    "__metadata__ inside __metadata__": b'{"__metadata__":{"__metadata__":"x"},' + TABLE.encode(),
    "an escaped __metadata__ in a value": b'{"__metadata__":{"a":"\\"__metadata__\\""},' + TABLE.encode(),
    "metadata left open: the table falls inside it": b'{"__metadata__":{"a":"b",' + TABLE.encode(),
    "metadata null": b'{"__metadata__":null,' + TABLE.encode(),
    "metadata an empty object": b'{"__metadata__":{},' + TABLE.encode(),
    "a byte-order mark first": b'\xef\xbb\xbf{"__metadata__":{"a":"b"},' + TABLE.encode(),
    "a second __metadata__ after the first": b'{"__metadata__":{"a":"b"},"__metadata__":{},' + TABLE.encode(),
    "no metadata at all": b"{" + TABLE.encode(),
    "metadata last": b"{" + TABLE.encode()[:-1] + b',"__metadata__":{"a":"b"}}',
    "a tensor before the metadata": (
        b'{"x":{"dtype":"F16","shape":[0],"data_offsets":[0,0]},"__metadata__":{"a":"b"},' + TABLE.encode()
    ),
    "garbage in front of the metadata": b'x{"__metadata__":{"a":"b"},' + TABLE.encode(),
    "a comma missing before the table": b'{"__metadata__":{"a":"b"}' + TABLE.encode(),
    "a form feed before the table": b'{"__metadata__":{"a":"b"}\x0c,' + TABLE.encode(),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_header_reads_the_same_with_its_table_known_or_not(tmp_path: Path, case: str) -> None:
    full, known, held = _both_ways(tmp_path, CASES[case])

    assert held
    assert known == full


def test_a_known_table_with_another_data_size_is_not_taken(tmp_path: Path) -> None:
    header = b'{"__metadata__":{"a":"b"},' + TABLE.encode()

    full, known, _ = _both_ways(tmp_path, header, data_size=DATA_SIZE + 2)

    assert full[0] == "refused"
    assert known == full


def test_the_known_table_path_is_taken_and_decodes_only_the_metadata(tmp_path: Path) -> None:
    seed = _file(tmp_path / "seed.safetensors", b'{"__metadata__":{"a":"b"},' + TABLE.encode())
    sh.read_safetensors_header(seed)
    raw = b'{"__metadata__":{"ss_output_name":"two"},' + TABLE.encode() + b"   "

    known = sh._known_table(raw, DATA_SIZE)

    assert known is not None
    tensors, metadata, dtypes = known
    assert tensors is sh.read_safetensors_header(seed).tensors
    assert (metadata, dtypes) == ({"ss_output_name": "two"}, frozenset({"F16"}))
    # A tail that is no held table leaves the header to the full path.
    assert sh._known_table(raw.replace(b"[4,8]", b"[8,4]"), DATA_SIZE) is None


def test_every_lora_of_a_generated_library_reads_the_same_either_way(tmp_path: Path) -> None:
    """The bench library's LoRAs (real key spaces, ranks, module sets, dtypes and kohya metadata)."""
    from bench.library_generator import _kohya_metadata, lora_specs, random_recipe
    from tests.factory.safetensors_writer import write_safetensors

    rng = random.Random(7)
    paths = []
    for index in range(12):
        family = "sdxl" if index % 4 == 0 else "sd1"
        recipe = random_recipe(rng, family) if index % 3 else random_recipe(random.Random(1), family)
        path = tmp_path / f"lora-{index}.safetensors"
        write_safetensors(path, lora_specs(recipe), metadata=_kohya_metadata(rng, path.stem, recipe))
        paths.append(path)
    sh._TABLES.clear()
    warm = {path: _outcome(path) for path in paths}  # later files find the tables earlier ones left
    assert len(sh._TABLES) < len(paths)  # some files did share a table
    for path in paths:
        sh._TABLES.clear()
        assert _outcome(path) == warm[path], path.name


def test_cases_are_valid_json_where_they_should_be() -> None:
    """The cases that should read are JSON the standard library reads as a header with metadata first."""
    header = json.loads(CASES["plain metadata"])
    assert next(iter(header)) == "__metadata__"


def test_the_cache_knows_the_lengths_it_holds_and_forgets_those_it_let_go() -> None:
    from core.formats.model_file import TensorTable
    from core.formats.table_cache import TableCache, TableKey, ValidatedTable

    cache = TableCache(max_bytes=10**6, max_entries=2)
    table = ValidatedTable(TensorTable(), frozenset())
    cache.put(TableKey("after-metadata", 5, b"x" * 10), table)
    cache.put(TableKey("after-metadata", 5, b"y" * 30), table)
    assert cache.lengths("after-metadata", 5) == (30, 10)
    assert cache.lengths("after-metadata", 6) == cache.lengths("whole", 5) == ()

    assert cache.get(TableKey("after-metadata", 5, b"x" * 10)) is table  # now the most recent
    cache.put(TableKey("whole", 5, b"z" * 20), table)  # evicts the least recent: the 30-byte table

    assert cache.lengths("after-metadata", 5) == (10,)
    assert cache.lengths("whole", 5) == (20,)
    cache.clear()
    assert cache.lengths("after-metadata", 5) == ()
