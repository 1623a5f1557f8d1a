"""core.hashing against Civitai's test vectors and against hashlib/blake3/zlib on constructed files.

Small chunk sizes push multi-MiB files through the threaded pipeline with many chunk boundaries, so the
AutoV1 window and the safetensors header are also tested where they straddle chunks.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import struct
import zlib
from pathlib import Path

import blake3
import pytest

from core.hashing import (
    AUTOV1_MIN_FILE_SIZE,
    CATALOG_LANES,
    MIN_CHUNK_SIZE,
    VERIFY_LANES,
    FileHashes,
    HashPipeline,
    HashState,
    feed_file,
    hash_file,
    hash_files,
    render_crc32,
    short_autov3,
)
from core.jobs import CancelledError, CancelToken, Progress

MIB = 1 << 20
HELLO = FileHashes(
    sha256="B94D27B9934D3E08A52E52D7DA7DABFAC484EFE37A5380EE9088F7ACE2EFCDE9",
    blake3="D74981EFA70A0C880B8D8C1985D075DBCBF679B99A5F9914E5AAF96B831A9E24",
    crc32="85114A0D",
    autov1=None,
    autov2="B94D27B993",
    autov3=None,
)


def _random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def _expected(data: bytes, autov3_from: int | None) -> FileHashes:
    sha = hashlib.sha256(data).hexdigest().upper()
    window = data[0x100000 : 0x100000 + 0x10000]
    return FileHashes(
        sha256=sha,
        blake3=blake3.blake3(data).hexdigest().upper(),
        crc32=zlib.crc32(data).to_bytes(4, "little").hex().upper(),
        autov1=hashlib.sha256(window).hexdigest()[:8].upper() if len(data) >= 0x200000 else None,
        autov2=sha[:10],
        autov3=hashlib.sha256(data[autov3_from:]).hexdigest().upper() if autov3_from is not None else None,
    )


def _safetensors_bytes(data: bytes, metadata: dict[str, str]) -> tuple[bytes, int]:
    """A real safetensors container around ``data`` (one U8 tensor); returns it and its data offset."""
    header = {
        "__metadata__": metadata,
        "weight": {"dtype": "U8", "shape": [len(data)], "data_offsets": [0, len(data)]},
    }
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data, 8 + len(raw)


@pytest.mark.parametrize("chunk_size", [MIN_CHUNK_SIZE, 8 * MIB])
def test_civitai_hello_world_vectors(tmp_path: Path, chunk_size: int) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello world")
    assert hash_file(path, chunk_size=chunk_size) == HELLO


def test_crc32_is_rendered_little_endian() -> None:
    assert render_crc32(zlib.crc32(b"hello world")) == "85114A0D"
    assert render_crc32(0x0D4A1185) == "85114A0D"
    assert render_crc32(0) == "00000000"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    assert hash_file(path) == _expected(b"", None)


# 12 KiB chunks: neither the 1 MiB AutoV1 offset nor the 64 KiB window is aligned with a chunk boundary.
@pytest.mark.parametrize("chunk_size", [12 * 1024, 5 * MIB])
@pytest.mark.parametrize(
    "size",
    [AUTOV1_MIN_FILE_SIZE - 1, AUTOV1_MIN_FILE_SIZE, 3 * MIB + 12345],
    ids=["just-under-2MiB", "exactly-2MiB", "3MiB-odd"],
)
def test_raw_file_matches_reference_implementations(tmp_path: Path, size: int, chunk_size: int) -> None:
    data = _random_bytes(size, seed=size)
    path = tmp_path / "model.ckpt"
    path.write_bytes(data)
    hashes = hash_file(path, chunk_size=chunk_size)
    assert hashes == _expected(data, None)
    assert (hashes.autov1 is None) == (size < AUTOV1_MIN_FILE_SIZE)


def test_autov1_is_sha256_of_the_64k_window_at_1mib(tmp_path: Path) -> None:
    data = bytearray(_random_bytes(2 * MIB, seed=7))
    path = tmp_path / "model.ckpt"
    path.write_bytes(data)
    before = hash_file(path, chunk_size=64 * 1024)
    assert before.autov1 == hashlib.sha256(data[0x100000:0x110000]).hexdigest()[:8].upper()
    # A byte outside the window changes SHA-256 but not AutoV1; a byte inside changes both.
    data[0x110000] ^= 0xFF
    path.write_bytes(data)
    outside = hash_file(path, chunk_size=64 * 1024)
    assert outside.autov1 == before.autov1
    assert outside.sha256 != before.sha256
    data[0x10FFFF] ^= 0xFF
    path.write_bytes(data)
    assert hash_file(path, chunk_size=64 * 1024).autov1 != before.autov1


@pytest.mark.parametrize("chunk_size", [MIN_CHUNK_SIZE, 8 * MIB])
def test_autov3_is_sha256_of_the_safetensors_data_section(tmp_path: Path, chunk_size: int) -> None:
    payload = _random_bytes(3 * MIB + 5, seed=3)
    container, data_start = _safetensors_bytes(payload, {"ss_output_name": "test"})
    path = tmp_path / "lora.safetensors"
    path.write_bytes(container)

    hashes = hash_file(path, chunk_size=chunk_size)

    assert hashes == _expected(container, data_start)
    assert hashes.autov3 == hashlib.sha256(payload).hexdigest().upper()
    assert len(hashes.autov3) == 64


def test_metadata_edit_keeps_autov3_and_changes_sha256(tmp_path: Path) -> None:
    payload = _random_bytes(2 * MIB, seed=4)
    first, _ = _safetensors_bytes(payload, {"ss_output_name": "a"})
    # A longer header moves the data section, as a real metadata edit does.
    second, _ = _safetensors_bytes(payload, {"ss_output_name": "renamed", "modelspec.title": "x" * 5000})
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    a.write_bytes(first)
    b.write_bytes(second)

    ha, hb = hash_file(a, chunk_size=MIN_CHUNK_SIZE), hash_file(b, chunk_size=MIN_CHUNK_SIZE)

    assert ha.autov3 == hb.autov3
    assert ha.sha256 != hb.sha256
    assert ha.autov2 != hb.autov2


def test_header_longer_than_a_chunk(tmp_path: Path) -> None:
    payload = _random_bytes(100_000, seed=5)
    container, data_start = _safetensors_bytes(payload, {"notes": "n" * 50_000})
    path = tmp_path / "big-header.safetensors"
    path.write_bytes(container)
    assert data_start > 3 * MIN_CHUNK_SIZE
    assert hash_file(path, chunk_size=MIN_CHUNK_SIZE) == _expected(container, data_start)


def test_safetensors_with_empty_data_section(tmp_path: Path) -> None:
    raw = b'{"__metadata__":{"a":"b"}}'
    raw += b" " * (-len(raw) % 8)
    container = struct.pack("<Q", len(raw)) + raw
    path = tmp_path / "empty.safetensors"
    path.write_bytes(container)
    assert hash_file(path).autov3 == hashlib.sha256(b"").hexdigest().upper()


@pytest.mark.parametrize(
    "head",
    [
        struct.pack("<Q", 10) + b"[not json]",  # header does not open an object
        struct.pack("<Q", 1 << 40) + b"{}",  # length beyond the file
        struct.pack("<Q", 0) + b"{}",  # empty header
        b"PK\x03\x04" + b"\x00" * 60,  # a torch zip checkpoint
    ],
    ids=["not-an-object", "length-too-large", "zero-length", "zip"],
)
@pytest.mark.parametrize("chunk_size", [MIN_CHUNK_SIZE, 8 * MIB])
def test_autov3_is_none_for_files_that_are_not_safetensors(
    tmp_path: Path, head: bytes, chunk_size: int
) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(head + _random_bytes(20_000, seed=6))
    assert hash_file(path, chunk_size=chunk_size).autov3 is None


def test_short_autov3() -> None:
    full = "bf82986f8597" + "0" * 52
    assert short_autov3(full) == "BF82986F8597"


def test_progress_reports_bytes_done_per_chunk(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(_random_bytes(100_000, seed=8))
    seen: list[int] = []
    hash_file(path, progress=seen.append, chunk_size=MIN_CHUNK_SIZE * 4)
    assert seen == sorted(seen)
    assert seen[-1] == 100_000
    assert len(seen) == -(-100_000 // (MIN_CHUNK_SIZE * 4))


@pytest.mark.parametrize("chunk_size", [MIN_CHUNK_SIZE, 8 * MIB])
def test_cancel_before_start(tmp_path: Path, chunk_size: int) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"x" * 50_000)
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        hash_file(path, cancel=token, chunk_size=chunk_size)


def test_cancel_mid_file_stops_within_a_chunk(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(_random_bytes(2 * MIB, seed=9))
    token = CancelToken()
    seen: list[int] = []

    def on_progress(done: int) -> None:
        seen.append(done)
        if done >= 64 * 1024:
            token.cancel()

    with pytest.raises(CancelledError):
        hash_file(path, progress=on_progress, cancel=token, chunk_size=MIN_CHUNK_SIZE)
    assert seen[-1] == 64 * 1024


def test_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "nope.safetensors")


def test_chunk_size_too_small_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match="chunk_size"):
        hash_file(path, chunk_size=16)


def test_hash_files_hashes_all_and_reports_unreadable_ones(tmp_path: Path) -> None:
    files = {}
    for index, size in enumerate([0, 11, 300_000, 9 * MIB + 7]):
        path = tmp_path / f"m{index}.bin"
        data = _random_bytes(size, seed=index)
        path.write_bytes(data)
        files[path] = _expected(data, None)
    missing = tmp_path / "missing.safetensors"
    reports: list[Progress] = []

    results = dict(hash_files([*files, missing], workers=2, progress=reports.append))

    assert set(results) == {*files, missing}
    assert isinstance(results[missing], FileNotFoundError)
    for path, expected in files.items():
        assert results[path] == expected
    total = sum(p.stat().st_size for p in files)
    assert reports
    assert all(r.total == total and 0 <= r.done <= total for r in reports)
    assert reports[-1].done == total
    assert [r.done for r in reports] == sorted(r.done for r in reports)


def test_hash_files_hashes_several_files_at_once(tmp_path: Path) -> None:
    """With two workers a tiny file listed after a big one is done first: both were being hashed at
    once (the hash functions release the GIL, so threads put every core to work across files)."""
    big, small = tmp_path / "big.safetensors", tmp_path / "small.bin"
    big.write_bytes(_random_bytes(12 * MIB, seed=1))  # over one chunk: the threaded pipeline
    small.write_bytes(b"tiny embedding")
    in_order = [path for path, _ in hash_files([big, small], workers=1)]
    at_once = [path for path, _ in hash_files([big, small], workers=2)]
    assert in_order == [big, small]
    assert at_once == [small, big]


def test_hash_files_with_nothing_to_do() -> None:
    assert list(hash_files([])) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_hash_files_cancel_raises_promptly(tmp_path: Path, workers: int) -> None:
    paths = []
    for index in range(4):
        path = tmp_path / f"m{index}.bin"
        path.write_bytes(os.urandom(3 * MIB))
        paths.append(path)
    token = CancelToken()

    def on_progress(report: Progress) -> None:
        token.cancel()

    yielded: list[object] = []

    def consume() -> None:
        yielded.extend(hash_files(paths, workers=workers, progress=on_progress, cancel=token))

    with pytest.raises(CancelledError):
        consume()
    assert len(yielded) < len(paths)


def test_hash_files_stops_when_the_consumer_stops(tmp_path: Path) -> None:
    paths = []
    for index in range(3):
        path = tmp_path / f"m{index}.bin"
        path.write_bytes(os.urandom(MIB))
        paths.append(path)
    iterator = hash_files(paths, workers=1)
    first = next(iterator)
    iterator.close()  # must not hang or raise: the remaining work is abandoned
    assert first[0] in paths


def test_a_named_pipe_swapped_in_for_a_file_is_refused_at_once_not_read(tmp_path: Path) -> None:
    # A file the scan called ok may be replaced before hashing; opening a FIFO for reading would block
    # the hashing job forever, waiting for a writer that never comes.
    import os
    import time

    from core.formats.model_file import UnreadableFileError

    pipe = tmp_path / "model.safetensors"
    os.mkfifo(pipe)
    started = time.monotonic()
    with pytest.raises(UnreadableFileError, match="named pipe") as caught:
        hash_file(pipe)
    assert isinstance(caught.value, OSError), "hashing's callers handle it as the OSError it also is"
    assert time.monotonic() - started < 1.0


# -- the state and the ring a download hashes through ------------------------------------------------------


def _fed_in_pieces(data: bytes, sizes: list[int]) -> FileHashes:
    """``data`` handed to a HashPipeline in pieces of the given sizes (cycled), as a download does."""
    state = HashState()
    pipeline = HashPipeline(state, max(sizes), buffers=2)
    offset, turn = 0, 0
    while offset < len(data):
        length = min(sizes[turn % len(sizes)], len(data) - offset)
        index = pipeline.take()
        pipeline.views[index][:length] = data[offset : offset + length]
        pipeline.hand_over(index, length)
        offset, turn = offset + length, turn + 1
    pipeline.give_back(pipeline.take())  # a buffer that held nothing to hash costs nothing
    pipeline.close()
    assert state.length == len(data)
    return state.finish()


@pytest.mark.parametrize("sizes", [[1, 3, 4, 100_000], [7, 65_536], [MIB]], ids=["tiny-head", "odd", "mib"])
def test_a_state_fed_in_any_pieces_has_the_hashes_of_the_file(tmp_path: Path, sizes: list[int]) -> None:
    """The download path (pieces of whatever size the socket gives, a header split across them) and the
    scan's path (hash_file) record the same hashes for the same bytes."""
    container, data_start = _safetensors_bytes(_random_bytes(2 * MIB + 999, seed=11), {"k": "v"})
    plain = _random_bytes(300_000, seed=12)
    for name, data, start in (("m.safetensors", container, data_start), ("m.ckpt", plain, None)):
        path = tmp_path / name
        path.write_bytes(data)
        assert _fed_in_pieces(data, sizes) == hash_file(path) == _expected(data, start)


class _FailingHash:
    def update(self, data: memoryview, /) -> None:
        raise MemoryError("no memory for the hash")


def test_an_error_in_a_hash_lane_is_raised_by_close_and_never_blocks_the_filler() -> None:
    state = HashState()
    state.blake3 = _FailingHash()  # type: ignore[assignment]
    pipeline = HashPipeline(state, 1000, buffers=1)
    pipeline.hand_over(pipeline.take(), 10)
    pipeline.give_back(pipeline.take())  # the buffer still comes back: the filler is never left waiting
    with pytest.raises(MemoryError, match="no memory"):
        pipeline.close()


def test_feed_file_continues_a_state_up_to_a_given_length(tmp_path: Path) -> None:
    """A resumed download rebuilds its state from the bytes already on disk, then goes on from there."""
    container, data_start = _safetensors_bytes(_random_bytes(3 * MIB, seed=13), {"k": "v"})
    path = tmp_path / "m.safetensors"
    path.write_bytes(container)
    state = HashState()
    with path.open("rb", buffering=0) as file:
        feed_file(file, state, until=5, chunk_size=MIN_CHUNK_SIZE)  # a part holding less than the header
        assert state.length == 5
        feed_file(file, state, until=MIB + 3, chunk_size=MIN_CHUNK_SIZE)
        assert state.length == MIB + 3
        state.update(memoryview(container)[MIB + 3 :])
    assert state.finish() == _expected(container, data_start)


def test_a_state_of_some_lanes_computes_only_those_and_finishes_with_the_verified_sha256() -> None:
    """A download verifies with the SHA-256 lane alone and computes the others in another state; the
    two finish into the same record as one state of every lane."""
    container, data_start = _safetensors_bytes(_random_bytes(2 * MIB + 9, seed=5), {"k": "v"})
    verify, catalog = HashState(VERIFY_LANES), HashState(CATALOG_LANES)
    assert set(verify.lanes()) == {"sha256"}
    assert set(catalog.lanes()) == {"blake3", "crc32", "autov3"}
    for state in (verify, catalog):
        feed_pieces = HashPipeline(state, 100_000, buffers=2)
        for start in range(0, len(container), 100_000):
            index = feed_pieces.take()
            piece = container[start : start + 100_000]
            feed_pieces.views[index][: len(piece)] = piece
            feed_pieces.hand_over(index, len(piece))
        feed_pieces.close()
    assert catalog.finish(verify.sha256_hex()) == _expected(container, data_start)
    assert catalog.sha256.hexdigest() == hashlib.sha256(b"").hexdigest(), "the SHA-256 was not computed"
    with pytest.raises(ValueError, match="does not compute the SHA-256"):
        catalog.finish()
    with pytest.raises(ValueError, match="computes only"):
        verify.finish()
    with pytest.raises(ValueError, match="must be some of"):
        HashState(frozenset({"md5"}))
