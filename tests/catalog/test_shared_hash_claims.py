"""Two machines hashing the same new files at once share them (catalog.hash_claims, migration 0017): each
claims the files of a round before hashing them and leaves those the other holds; a claim of a job that
was killed expires and its files are taken over (at once on the machine that ran it).

Each test runs on a real PostgreSQL server (two Library objects with their own engines, as two Ateliers)
and on one SQLite file opened twice; both machines reach the store at the same path (a share mounted at
one path on both).
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest

from catalog.hashing_job import HashSummary, hash_pending
from catalog.library import Library
from catalog.records import AssetQuery
from catalog.scanner import Scanner
from core.jobs import Progress
from tests.catalog.shared_machines import A, B, Opener
from tests.factory.safetensors_writer import write_safetensors

COUNT = 40


@pytest.fixture
def machines(open_as: Opener, tmp_path: Path) -> tuple[Library, Library]:
    """A has scanned 40 new files of about 256 KiB (none hashed yet); B reaches the store at A's path."""
    store = tmp_path / "nas" / "sd"
    for number in range(COUNT):
        write_safetensors(
            store / "Lora" / f"l{number:02}.safetensors", {"w": ("F16", (128, 1024 + number))}, seed=number
        )
    a, b = open_as(A), open_as(B)
    a.add_root(store, name="NAS")
    b.map_root("NAS", store)
    assert Scanner(a, workers=1).scan().new == COUNT
    return a, b


def test_two_machines_hashing_the_same_new_files_at_once_each_hash_about_half(
    machines: tuple[Library, Library],
) -> None:
    a, b = machines
    start = threading.Barrier(2)
    summaries: dict[str, HashSummary] = {}

    def as_read_from_a_share(_progress: Progress) -> None:
        # Each file hashed takes what reading it from a NAS would (about 10 ms): both threads then wait
        # on "the network" as two machines do, instead of taking turns on this process's GIL.
        time.sleep(0.01)

    def hash_on(name: str, library: Library) -> None:
        start.wait()
        summaries[name] = hash_pending(library, workers=1, round_bytes=0, progress=as_read_from_a_share)

    threads = [threading.Thread(target=hash_on, args=item) for item in (("a", a), ("b", b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    on_a, on_b = summaries["a"], summaries["b"]
    assert on_a.hashed + on_b.hashed == COUNT, (str(on_a), str(on_b))
    assert 0.4 * COUNT <= on_a.hashed <= 0.6 * COUNT, (str(on_a), str(on_b))
    rows = a.search_rows(AssetQuery())
    assert len(rows) == COUNT
    for row in rows:
        record = a.get(row.id)
        assert record is not None
        assert record.hashes is not None
        assert record.hashes.sha256.lower() == hashlib.sha256(Path(record.path).read_bytes()).hexdigest()
    assert a.unhashed() == []
    assert b.unhashed() == []


def test_a_killed_jobs_claims_expire_and_its_files_are_taken_over_and_live_ones_are_left(
    machines: tuple[Library, Library],
) -> None:
    a, b = machines
    ids = [asset_id for asset_id, _path, _size in a.unhashed()]
    held = ids[:10]
    with a.running_hash_job("alive-job"):  # A is hashing these right now
        assert set(a.claim_for_hashing(held, "alive-job", 600)) == set(held)
        assert set(a.claim_for_hashing(ids[10:], "killed-job", -1)) == set(ids[10:])  # ended with A's crash

        on_b = hash_pending(b, workers=1)

        assert (on_b.hashed, on_b.claimed, on_b.elsewhere) == (COUNT - 10, 10, 0)
        assert "10 being hashed by another Atelier" in str(on_b)
        assert sorted(asset_id for asset_id, _path, _size in b.unhashed()) == sorted(held)
        a.release_hash_claims("alive-job")  # A's job ended without hashing them (cancelled)
    assert hash_pending(b, workers=1).hashed == 10
    assert b.unhashed() == []


def test_a_job_whose_process_died_is_taken_over_at_once_on_its_machine_and_left_to_expire_elsewhere(
    machines: tuple[Library, Library],
) -> None:
    """A's job claimed ten files for ten minutes and its process was killed: its lock (held while a job
    runs, dropped by the operating system with the process) is free. B cannot tell a job on A is gone and
    leaves the files until the claim expires; A's next job takes them over at once."""
    a, b = machines
    ids = [asset_id for asset_id, _path, _size in a.unhashed()]
    assert set(a.claim_for_hashing(ids[:10], "killed-job", 600)) == set(ids[:10])  # no lock: its process died

    on_b = hash_pending(b, workers=1, limit=20)
    assert (on_b.hashed, on_b.claimed) == (10, 10), str(on_b)

    on_a = hash_pending(a, workers=1)
    assert (on_a.hashed, on_a.claimed) == (COUNT - 10, 0), str(on_a)  # the killed job's ten among them
    assert a.unhashed() == []
