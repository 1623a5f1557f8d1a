"""core.download_catalog_hashes: a download's catalog hashes follow its growing file, at low priority,
across tries, and are finished behind the caller; always equal to core.hashing's of the whole file."""

from __future__ import annotations

import os
import random
import struct
import sys
import threading
import time
from pathlib import Path

import pytest

from core.download_catalog_hashes import BACKGROUND_NICE, CatalogHashes, Follower
from core.hashing import VERIFY_LANES, HashState, hash_file

MIB = 1 << 20


def _safetensors(size: int, seed: int = 3) -> bytes:
    """A safetensors container of ``size`` bytes (AutoV1 window and AutoV3 data section included)."""
    header = b'{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
    header += b" " * (-len(header) % 8)
    head = struct.pack("<Q", len(header)) + header
    return head + random.Random(seed).randbytes(size - len(head))


def _sha256(data: bytes) -> str:
    state = HashState(VERIFY_LANES)
    state.update(memoryview(data))
    return state.sha256_hex()


def _write_in_steps(part: Path, data: bytes, follower: Follower, start: int, step: int) -> None:
    """Append ``data[start:]`` to ``part`` ``step`` bytes at a time, telling the follower each time."""
    with part.open("ab") as file:
        for offset in range(start, len(data), step):
            file.write(data[offset : offset + step])
            file.flush()
            follower.wrote(min(offset + step, len(data)))


def _until(condition: object, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_following_a_growing_file_gives_the_hashes_of_the_finished_file(tmp_path: Path) -> None:
    data = _safetensors(5 * MIB + 333)
    part = tmp_path / "m.safetensors.part"
    part.write_bytes(b"")
    catalog = CatalogHashes()
    follower = catalog.follow(part, 0)
    _write_in_steps(part, data, follower, 0, 300_001)
    follower.stop()
    hashes = catalog.finish_behind(os.open(part, os.O_RDONLY), len(data), _sha256(data)).result(timeout=30)
    assert hashes == hash_file(part)
    assert hashes.autov3 is not None
    assert hashes.autov1 is not None


def test_a_try_that_ends_early_is_continued_by_the_next_follower(tmp_path: Path) -> None:
    """A cut connection: the follower stops where it is; the next try's follower continues its state
    from the .part (never from the start), and the result equals the whole file's hashes."""
    data = _safetensors(6 * MIB + 5)
    part = tmp_path / "m.part"
    part.write_bytes(b"")
    catalog = CatalogHashes()
    first = catalog.follow(part, 0)
    cut = 4 * MIB + 17
    _write_in_steps(part, data[:cut], first, 0, 65_536)
    _until(lambda: first.state.length == cut)  # it hashed everything written before the cut
    first.stop()
    second = catalog.follow(part, cut)
    assert second.state is first.state, "the state is continued, not started again"
    _write_in_steps(part, data, second, cut, 1 * MIB)
    second.stop()
    hashes = catalog.finish_behind(os.open(part, os.O_RDONLY), len(data), _sha256(data)).result(timeout=30)
    assert hashes == hash_file(part)


def test_a_part_shorter_than_what_was_hashed_starts_the_state_again(tmp_path: Path) -> None:
    old = _safetensors(3 * MIB, seed=1)
    part = tmp_path / "m.part"
    part.write_bytes(b"")
    catalog = CatalogHashes()
    first = catalog.follow(part, 0)
    _write_in_steps(part, old, first, 0, MIB)
    _until(lambda: first.state.length == len(old))
    first.stop()
    new = _safetensors(4 * MIB, seed=2)
    part.write_bytes(new[:MIB])  # the .part was replaced by a shorter one (another download's bytes)
    second = catalog.follow(part, MIB)
    assert second.state is not first.state
    _write_in_steps(part, new, second, MIB, MIB)
    second.stop()
    hashes = catalog.finish_behind(os.open(part, os.O_RDONLY), len(new), _sha256(new)).result(timeout=30)
    assert hashes == hash_file(part)


def test_the_finisher_hashes_what_the_follower_never_reached(tmp_path: Path) -> None:
    """The whole file written before the follower saw any of it (a saturated CPU): the finisher, at
    normal priority, hashes all of it from the file."""
    data = _safetensors(3 * MIB + 1)
    part = tmp_path / "m.part"
    part.write_bytes(data)
    catalog = CatalogHashes()
    follower = catalog.follow(part, 0)  # told nothing was written: it hashes nothing
    assert follower.settle()
    assert follower.state.length == 0
    hashes = catalog.finish_behind(os.open(part, os.O_RDONLY), len(data), _sha256(data)).result(timeout=30)
    assert hashes == hash_file(part)


def test_a_file_shorter_than_the_download_fails_the_hashes_not_the_caller(tmp_path: Path) -> None:
    data = _safetensors(2 * MIB)
    part = tmp_path / "m.part"
    part.write_bytes(data[: MIB + 7])
    catalog = CatalogHashes()
    future = catalog.finish_behind(os.open(part, os.O_RDONLY), len(data), _sha256(data))
    with pytest.raises(OSError, match="holds 1,048,583 bytes, not 2,097,152"):
        future.result(timeout=30)


def _nice_of(native_id: int) -> int:
    stat = Path(f"/proc/self/task/{native_id}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[16])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")
def test_the_follower_and_its_hash_threads_run_at_the_lowest_priority(tmp_path: Path) -> None:
    part = tmp_path / "m.part"
    part.write_bytes(b"")
    before = {t.native_id for t in threading.enumerate()}
    catalog = CatalogHashes()
    follower = catalog.follow(part, 0)
    _until(lambda: len({t.native_id for t in threading.enumerate()} - before) == 4)
    started = {t.native_id for t in threading.enumerate()} - before
    assert follower.native_id in started
    assert {_nice_of(tid) for tid in started if tid is not None} == {BACKGROUND_NICE}
    assert _nice_of(threading.get_native_id()) == 0, "the caller's own priority is untouched"
    catalog.reset()
    assert not follower.is_alive()
