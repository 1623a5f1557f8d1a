"""core.download_room through the download engine: a body of no known size stops before the disk is full.

A real loopback server sending zeros without ``Content-Length`` (tests/fakes/hostile_server.py), the real
queue store, a real ``.part`` on the test's disk. The reserve is set a few MiB under the disk's free space
at the test's start, so the download must stop after those few MiB (the disk itself is never filled).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import core.download_room
from catalog.download_store import SqlDownloadStore
from core.download_room import reserve_of
from core.downloads import Downloader, DownloadRequest, DownloadSource, DownloadStatus
from core.net import make_session
from core.sources.errors import DiskFullError
from tests.fakes.hostile_server import Endless, hostile_server

MIB = 1024 * 1024


def test_a_body_of_no_known_size_stops_at_the_disk_reserve_and_keeps_its_bytes(
    store: SqlDownloadStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "models"
    target.mkdir()
    free = shutil.disk_usage(target).free
    monkeypatch.setattr(core.download_room, "RESERVE_SHARE", 1.0)
    monkeypatch.setattr(core.download_room, "FREE_SPACE_RESERVE", free - 8 * MIB)
    monkeypatch.setattr(core.download_room, "CHECK_EVERY", 1 * MIB)
    engine = Downloader(make_session(retries=0), store, attempts=1)
    with hostile_server() as (server, state):
        # A bound for the test machine: the old engine wrote all of it and called the download done.
        state.routes["/stream.bin"] = Endless(cap=160 * MIB)
        download_id = engine.enqueue(
            DownloadRequest(f"{server.base_url}/stream.bin", target, source=DownloadSource.URL)
        )

        with pytest.raises(DiskFullError) as caught:
            engine.run_one(download_id)

    part = target / "stream.bin.part"
    kept = part.stat().st_size
    assert 1 * MIB <= kept < 100 * MIB, "stopped near the reserve, not at the server's end"
    assert caught.value.message.startswith("The disk is nearly full (")
    assert "while saving stream.bin: the download stopped to keep " in caught.value.message
    assert caught.value.message.endswith("are kept in stream.bin.part; free some space and resume.")
    record = engine.get(download_id)
    assert (record.status, record.bytes_done) == (DownloadStatus.FAILED, kept)
    assert not (target / "stream.bin").exists()
    assert record.error == caught.value.message  # the line the queue shows


def test_a_disk_with_little_room_is_looked_at_often_enough_to_stop_in_time(
    store: SqlDownloadStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on a 300 MiB tmpfs (a 3 MiB reserve): with 8 MiB of room above the reserve, the guard's own
    spacing (no test setting) stops the download before it eats into the reserve by more than its first
    MiB. The engine that looked every 64 MiB wrote the disk full."""
    target = tmp_path / "models"
    target.mkdir()
    free = shutil.disk_usage(target).free
    monkeypatch.setattr(core.download_room, "RESERVE_SHARE", 1.0)
    monkeypatch.setattr(core.download_room, "FREE_SPACE_RESERVE", free - 8 * MIB)
    engine = Downloader(make_session(retries=0), store, attempts=1)
    with hostile_server() as (server, state):
        state.routes["/stream.bin"] = Endless(cap=160 * MIB)
        download_id = engine.enqueue(
            DownloadRequest(f"{server.base_url}/stream.bin", target, source=DownloadSource.URL)
        )
        with pytest.raises(DiskFullError):
            engine.run_one(download_id)
    kept = (target / "stream.bin.part").stat().st_size
    assert kept <= 9 * MIB, f"wrote {kept / MIB:.1f} MiB into a disk with 8 MiB of room"


def test_the_reserve_is_small_next_to_a_model_and_to_a_small_disk() -> None:
    assert reserve_of(2 * 1024 * 1024 * MIB) == 256 * MIB  # a 2 TiB disk keeps 256 MiB
    assert reserve_of(10 * 1024 * MIB) == int(10 * 1024 * MIB * 0.01)  # a 10 GiB disk keeps 1 %
