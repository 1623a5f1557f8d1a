"""A large scan's own process reads chunks too, whenever its workers have enough queued.

On two cores a scan runs one worker process beside its own (``Scanner.pool_size``), which reads a chunk
itself instead of waiting for the worker. These tests hold that to what matters: the findings are the
ones an in-process read gives, in the walk's order; pickles and a caller's own reader stay in workers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import catalog.scanner as scanner_module
from catalog.examine import FoundFile, examine, found_at
from catalog.library import Library
from catalog.records import ScannedFile
from catalog.scanner import CHUNKSIZE, Scanner, _in_workers
from core.formats import safetensors_header as sh
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": ("F16", ()),
}
OTHER_LORA = {  # another table, of another data size: rank 16
    name: (dtype, tuple(16 if dim == 4 else dim for dim in shape)) for name, (dtype, shape) in LORA.items()
}


def _reader(found: FoundFile) -> ScannedFile:
    """A caller's own reader (module level: worker processes receive it by name)."""
    return examine(found)


def test_the_scan_counts_itself_as_a_reader_only_with_its_own_reader(lib: Library) -> None:
    assert Scanner(lib, workers=2).pool_size == 1
    assert Scanner(lib, workers=4).pool_size == 3
    assert Scanner(lib, workers=2, examine_file=_reader).pool_size == 2  # never read here


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "in_flight",
    [
        pytest.param(1, id="while-walking"),  # the worker holds a chunk: the next is read here
        pytest.param(100, id="after-the-walk"),  # all sent on: the ones no worker began are taken back
    ],
)
def test_chunks_read_here_are_found_as_the_worker_finds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_flight: int
) -> None:
    """Once the worker is up, chunks are read here while it holds one (or, once the walk is over, those
    it has not begun); every finding is the in-process one, in the walk's order, and a pickle among them
    is still read by the worker."""
    first = [write_safetensors(tmp_path / f"a{i:03}.safetensors", LORA, seed=i) for i in range(CHUNKSIZE)]
    later = [
        write_safetensors(tmp_path / f"b{i:03}.safetensors", OTHER_LORA, seed=i) for i in range(8 * CHUNKSIZE)
    ]
    pickle = tmp_path / "b999.ckpt"
    pickle.write_bytes(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.")  # a pickle of the number 1
    items = [found_at(path) for path in [*first, pickle, *later]]
    read_here: list[list[Any]] = []
    read = scanner_module._read_here

    def counted(chunk: list[Any]) -> Any:
        read_here.append(chunk)
        return read(chunk)

    monkeypatch.setattr(scanner_module, "_read_here", counted)

    def walk_waiting_for_the_worker() -> Iterator[FoundFile]:
        for position, item in enumerate(items):
            if position == CHUNKSIZE:  # the first chunk is out: wait until the worker is up
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline and any(
                    thread.name == "scan-workers-start" for thread in threading.enumerate()
                ):
                    time.sleep(0.02)
                read_here.clear()  # what was read here while it started is not the point
            assert item is not None
            yield item

    sh.forget_validated_tables()
    try:
        walk = walk_waiting_for_the_worker()
        results = [scanned for _item, scanned in _in_workers(walk, 1, examine, in_flight)]
        held = _tables_held(later[-1])
    finally:
        sh.forget_validated_tables()
    assert read_here, "no chunk was read here"
    assert held  # the later files' table was validated in this process too
    assert all(str(item.path) != str(pickle) for chunk in read_here for item in chunk)
    assert results == [examine(item) for item in items if item is not None]
    assert results[CHUNKSIZE].path == str(pickle)


def _tables_held(path: Path) -> tuple[int, ...]:
    """The lengths of the tables this process holds for files of ``path``'s data size."""
    data_size = path.stat().st_size - 8 - int.from_bytes(path.read_bytes()[:8], "little")
    return sh._TABLES.lengths("whole", data_size) + sh._TABLES.lengths("after-metadata", data_size)
