"""Receiving a download where the machine cannot hash everything at the link's pace.

A download is verified against its SHA-256 alone; the catalog's other hashes (BLAKE3, CRC32, AutoV3)
trail in lanes of their own (``core.hashing.HashPipeline``'s ``trailing``). A lane that falls behind is
dropped instead of holding the download back, and its hash is computed from the finished file
(``core.hashing.hash_dropped_lanes``). Whatever happened, the hashes handed to the catalog are those of
``hash_file``. A "slow core" is simulated by a hash that waits for a gate before it works: the bytes,
the server, the files and the hash functions are real.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import blake3
import pytest

import core.downloads
from catalog.download_store import SqlDownloadStore
from core.downloads import Downloader, DownloadRequest, DownloadStatus
from core.hashing import CATALOG_LANES, HashPipeline, HashState, hash_dropped_lanes, hash_file
from core.net import make_session
from tests.fakes.file_server import Fault, FileServerState, serve_files
from tests.fakes.server import FakeServer

MIB = 1024 * 1024
GATE_TIMEOUT_S = 20.0  # a gate never opened fails the test instead of hanging it


def _safetensors(size: int) -> bytes:
    payload = os.urandom(size)
    header = json.dumps({"w": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + payload


class _Gated:
    """A real hash whose ``update`` calls from the ``from_call``-th on wait until ``gate`` is set: a lane
    on a core that other work keeps busy."""

    def __init__(self, hasher: object, gate: threading.Event, from_call: int = 1) -> None:
        self.hasher = hasher
        self.gate = gate
        self.from_call = from_call
        self.calls = 0

    def update(self, data: memoryview, /) -> None:
        self.calls += 1
        if self.calls >= self.from_call and not self.gate.wait(GATE_TIMEOUT_S):
            raise TimeoutError("the gate of a stalled hash lane was never opened")
        self.hasher.update(data)  # type: ignore[attr-defined]


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # lets the stalled lane threads end


def _feed(pipeline: HashPipeline, data: bytes, piece: int) -> None:
    for start in range(0, len(data), piece):
        block = data[start : start + piece]
        index = pipeline.take()
        pipeline.views[index][: len(block)] = block
        pipeline.hand_over(index, len(block))


def test_trailing_lanes_that_fall_behind_are_dropped_and_hashed_from_the_file(
    tmp_path: Path, gate: threading.Event
) -> None:
    data = _safetensors(3 * MIB + 4321)
    path = tmp_path / "m.safetensors"
    path.write_bytes(data)
    state = HashState()
    state.blake3 = _Gated(state.blake3, gate)  # type: ignore[assignment]
    state.autov3 = _Gated(state.autov3, gate)  # type: ignore[assignment]
    pipeline = HashPipeline(state, 256 * 1024, buffers=4, trailing=CATALOG_LANES)
    _feed(pipeline, data, 256 * 1024)  # would wait forever for the stalled lanes if they were not dropped
    pipeline.close()
    assert {"blake3", "autov3"} <= state.dropped
    assert state.sha256.hexdigest() == hashlib.sha256(data).hexdigest(), "the required lane saw every byte"
    with pytest.raises(RuntimeError, match="hash_dropped_lanes"):
        state.finish()
    with path.open("rb", buffering=0) as file:
        hash_dropped_lanes(file, state, chunk_size=64 * 1024)
    assert not state.dropped
    assert state.finish() == hash_file(path)


def test_a_trailing_lane_one_buffer_behind_is_waited_for(gate: threading.Event) -> None:
    """One buffer held by a trailing lane alone is jitter between lanes on cores of their own: the filler
    waits for it rather than dropping a lane that keeps up."""
    data = os.urandom(4 * 1000)
    state = HashState()
    sha_gate = threading.Event()
    state.blake3 = _Gated(state.blake3, gate)  # type: ignore[assignment]
    state.sha256 = _Gated(state.sha256, sha_gate, from_call=2)  # type: ignore[assignment]
    pipeline = HashPipeline(state, 1000, buffers=2, trailing=CATALOG_LANES)
    try:
        _feed(pipeline, data[:2000], 1000)  # A: held by blake3 alone; B: by the SHA-256 (and blake3)
        threading.Timer(0.2, gate.set).start()  # blake3 catches up while the filler waits
        index = pipeline.take()
        assert not state.dropped
        sha_gate.set()
        pipeline.views[index][:1000] = data[2000:3000]
        pipeline.hand_over(index, 1000)
        _feed(pipeline, data[3000:], 1000)
        pipeline.close()
    finally:
        sha_gate.set()
    assert not state.dropped
    assert state.blake3.hasher.hexdigest() == blake3.blake3(data).hexdigest()  # type: ignore[attr-defined]
    assert state.sha256.hasher.hexdigest() == hashlib.sha256(data).hexdigest()  # type: ignore[attr-defined]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads have a nice value on Linux only")
def test_trailing_lanes_hash_at_the_lowest_priority_and_required_ones_at_the_callers() -> None:
    seen: dict[str, int] = {}

    class _Priority:
        def __init__(self, name: str) -> None:
            self.name = name

        def update(self, data: memoryview, /) -> None:
            seen[self.name] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    state = HashState()
    state.sha256 = _Priority("sha256")  # type: ignore[assignment]
    state.crc32 = _Priority("crc32")  # type: ignore[assignment]
    pipeline = HashPipeline(state, 100, buffers=2, trailing=CATALOG_LANES)
    _feed(pipeline, b"x" * 100, 100)
    pipeline.close()
    assert seen["crc32"] == 19
    assert seen["sha256"] == os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


# -- the download engine -----------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[tuple[FakeServer, FileServerState]]:
    with serve_files() as pair:
        yield pair


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlDownloadStore]:
    store = SqlDownloadStore.open(tmp_path / "catalog.db")
    yield store
    store.close()


class _SlowCatalogState(HashState):
    """The first state a download makes: its BLAKE3 and AutoV3 wait for ``gate`` (cores kept busy)."""

    gate = threading.Event()

    def __init__(self) -> None:
        super().__init__()
        self.blake3 = _Gated(self.blake3, self.gate)  # type: ignore[assignment]
        self.autov3 = _Gated(self.autov3, self.gate)  # type: ignore[assignment]


@pytest.mark.parametrize("cut", [False, True], ids=["whole", "cut-and-resumed"])
def test_a_download_whose_catalog_hashes_fall_behind_is_verified_and_hands_over_every_hash(  # noqa: PLR0917
    server: tuple[FakeServer, FileServerState],
    store: SqlDownloadStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    gate: threading.Event,
    cut: bool,
) -> None:
    """The download does not wait for the stalled lanes (they are dropped), is verified against the
    SHA-256, and hands the catalog every hash ``hash_file`` gives, the dropped ones read back from the
    file. Cut: the second try feeds only the lanes still running, and the file's bytes from both tries
    are hashed for the dropped ones."""
    http, state = server
    data = _safetensors(3 * MIB + 999)
    state.add("/m.safetensors", data, Fault(cut_after=MIB + 5) if cut else Fault())
    monkeypatch.setattr(_SlowCatalogState, "gate", gate)
    real_hash = core.downloads._Hash
    monkeypatch.setattr(core.downloads, "_Hash", lambda: real_hash(_SlowCatalogState()))
    engine = Downloader(
        make_session(retries=0, timeout=(5.0, 5.0)), store, chunk_size=256 * 1024, backoff_s=0.01
    )
    sha = hashlib.sha256(data).hexdigest()
    download_id = engine.enqueue(
        DownloadRequest(
            f"{http.base_url}/m.safetensors", tmp_path, expected_size=len(data), expected_sha256=sha
        )
    )
    path = engine.run_one(download_id)  # the gate is still shut: the stalled lanes were dropped
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    assert engine.get(download_id).status is DownloadStatus.COMPLETED
    hashes = engine.take_file_hashes(download_id)
    assert hashes == hash_file(path)
    assert hashes is not None
    assert hashes.autov3 is not None, "AutoV3, a dropped lane, hashed from the file's data section"
    gets = [h for method, p, h in http.requests if method == "GET" and p == "/m.safetensors"]
    assert len(gets) == (2 if cut else 1)
