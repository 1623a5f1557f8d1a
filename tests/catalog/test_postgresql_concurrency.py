"""Several machines on one PostgreSQL catalog: each is its own Library (own engine, own connections) on the
same database, run at once from threads, as several Ateliers would be."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catalog.catalog_url import create_server_engine, parse
from catalog.db import WRITE_LOCK_KEY
from catalog.library import Library
from catalog.records import AssetQuery, BulkEdit, UserDataChanges
from tests.catalog.conftest import scanned

REPO = Path(__file__).resolve().parents[2]


def _open(url: str, data: Path) -> Library:
    location = parse(url)
    assert location.url is not None
    return Library.on_server(create_server_engine(location.url), data, str(location))


@pytest.fixture
def two(pg_catalog_url: str, tmp_path: Path) -> Iterator[tuple[Library, Library]]:
    first, second = _open(pg_catalog_url, tmp_path / "one"), _open(pg_catalog_url, tmp_path / "two")
    yield first, second
    first.close()
    second.close()


def _at_once(*jobs: Callable[[], None]) -> None:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def test_two_machines_editing_one_asset_keep_each_others_fields(
    two: tuple[Library, Library], tmp_path: Path
) -> None:
    first, second = two
    root = first.add_root(tmp_path / "models").id
    (asset,) = first.apply_scan_batch(root, [scanned(tmp_path / "models" / "a.safetensors")])

    def rate() -> None:
        for rating in (1, 2, 3, 4, 5) * 4:
            first.update_user_data(asset, UserDataChanges(rating=rating, tags=("mine",)))

    def annotate() -> None:
        for number in range(20):
            second.update_user_data(asset, UserDataChanges(notes=f"note {number}", favorite=number % 2 == 1))

    _at_once(rate, annotate)
    for library in two:
        record = library.get(asset)
        assert record is not None
        assert (record.rating, record.notes, record.favorite, record.tags) == (5, "note 19", True, ("mine",))
    # The same field from both: the last write wins.
    first.update_user_data(asset, UserDataChanges(notes="from one"))
    second.update_user_data(asset, UserDataChanges(notes="from two"))
    assert first.search_ids(AssetQuery(text="two")) == [asset]


def test_two_machines_scanning_one_folder_at_once_write_each_file_once(
    two: tuple[Library, Library], tmp_path: Path
) -> None:
    first, second = two
    models = tmp_path / "models"
    root = first.add_root(models).id
    assert second.add_root(models).id == root
    files = [scanned(models / f"{number}.safetensors", size=2**33 + number) for number in range(60)]
    found: dict[str, list[int]] = {}

    def scan(name: str, library: Library) -> Callable[[], None]:
        def job() -> None:
            found[name] = [
                i
                for start in range(0, 60, 20)
                for i in library.apply_scan_batch(root, files[start : start + 20])
            ]

        return job

    _at_once(scan("one", first), scan("two", second))
    assert found["one"] == found["two"]  # both name each file by the same row
    assert first.count(AssetQuery()) == 60
    assert sorted(first.search_ids(AssetQuery(text="safetensors"))) == sorted(found["one"])


def test_four_machines_editing_the_same_assets_lose_nothing_and_the_last_write_wins(
    pg_catalog_url: str, tmp_path: Path
) -> None:
    clients = [_open(pg_catalog_url, tmp_path / f"machine{number}") for number in range(4)]
    try:
        root = clients[0].add_root(tmp_path / "models").id
        files = [scanned(tmp_path / "models" / f"{n}.safetensors", inode=n + 1) for n in range(2)]
        assets = clients[0].apply_scan_batch(root, files)
        rounds = 2
        # Every machine tags, rates and annotates every asset, in its own order, all at once.
        wrote: dict[tuple[int, str], dict[int, object]] = {}

        def edits(number: int, library: Library) -> Callable[[], None]:
            def job() -> None:
                for step in range(rounds):
                    for asset in assets[number % 2 :] + assets[: number % 2]:
                        library.bulk_edit([asset], BulkEdit(add_tags=(f"m{number}-{step}",)))
                        rating, notes = (number + step) % 5 + 1, f"machine {number} step {step}"
                        library.update_user_data(asset, UserDataChanges(rating=rating, notes=notes))
                        wrote.setdefault((asset, "rating"), {})[number] = rating
                        wrote.setdefault((asset, "notes"), {})[number] = notes

            return job

        _at_once(*(edits(number, library) for number, library in enumerate(clients)))  # no error reached one
        every_tag = {f"m{number}-{step}" for number in range(4) for step in range(rounds)}
        for library in clients:
            for record in library.get_many(assets):
                assert set(record.tags) == every_tag  # no tag added by one machine was lost
                # Each field holds a machine's last write to it, never one it overwrote itself.
                assert record.rating in wrote[(record.id, "rating")].values()
                assert record.notes in wrote[(record.id, "notes")].values()
        for number, library in enumerate(clients):  # one after the other: the last write wins
            library.update_user_data(assets[0], UserDataChanges(notes=f"last from {number}"))
        assert all(library.get(assets[0]).notes == "last from 3" for library in clients)  # type: ignore[union-attr]
    finally:
        for library in clients:
            library.close()


WRITER = """
import sys, time
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
with engine.begin() as connection:
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(sys.argv[2])})
    connection.execute(text("INSERT INTO roots (path, layout, added_at) VALUES ('/half', 'flat', now())"))
    print("inside", flush=True)
    time.sleep(60)
"""


def test_a_machine_killed_inside_a_write_leaves_nothing_and_frees_the_catalog(
    two: tuple[Library, Library], pg_catalog_url: str, tmp_path: Path
) -> None:
    first, _second = two
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, pg_catalog_url, str(WRITE_LOCK_KEY)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "inside"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    # The server rolled the half-done write back and let go of the catalog's write lock.
    added = first.add_root(tmp_path / "models")
    assert [root.path for root in first.roots()] == [added.path]
