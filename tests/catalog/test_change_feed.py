"""Live changes (catalog.change_feed): what one client commits reaches another client's feed.

On PostgreSQL each client is its own Library (own engine and connections) on one database, as two machines
would be; on SQLite the other client is ``main.py`` in a subprocess, as a command run while the window is
open would be.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.catalog_url import create_server_engine, parse
from catalog.change_feed import Changes, merge, parse_payload
from catalog.library import Library
from catalog.records import UserDataChanges
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from tests import pg_server
from tests.catalog.conftest import scanned
from tests.factory.safetensors_writer import write_safetensors

REPO = Path(__file__).resolve().parents[2]
WITHIN_S = 2.0  # the brief's promise: a change shows on the other machine within two seconds
LORA_KEYS = {
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", (4, 320)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ("F16", ()),
}


class Heard:
    """What a feed delivered (from its thread), and its state reports."""

    def __init__(self) -> None:
        self.batches: queue.Queue[Changes] = queue.Queue()
        self.states: queue.Queue[str | None] = queue.Queue()

    def until(self, wanted: Changes, timeout: float = WITHIN_S) -> Changes:
        """Batches merged until they hold every id of ``wanted`` (and ``unknown`` if wanted); fails after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        got: list[Changes] = []
        while True:
            so_far = merge(got)
            if (
                wanted.asset_ids <= so_far.asset_ids
                and wanted.root_ids <= so_far.root_ids
                and (so_far.unknown or not wanted.unknown)
            ):
                return so_far
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"waited {timeout} s for {wanted}, heard {so_far}")
            try:
                got.append(self.batches.get(timeout=left))
            except queue.Empty:
                continue

    def nothing_for(self, seconds: float) -> bool:
        try:
            self.batches.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


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


def _write_lora(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_safetensors(path, LORA_KEYS, metadata={"ss_output_name": path.stem}, seed=seed)


def test_payloads_name_files_or_folders_and_anything_else_is_unknown() -> None:
    assert parse_payload("3,12,40") == Changes(asset_ids=frozenset({3, 12, 40}))
    assert parse_payload("root:7") == Changes(root_ids=frozenset({7}))
    assert parse_payload("something newer") == Changes(unknown=True)


def test_a_scan_a_tag_a_rating_and_a_move_on_one_machine_reach_the_other(
    two: tuple[Library, Library], tmp_path: Path
) -> None:
    here, there = two
    heard = Heard()
    feed = there.follow_changes(heard.batches.put, heard.states.put)
    try:
        models = tmp_path / "models"
        lora = _write_lora(models / "models" / "Lora" / "detail.safetensors")
        root = here.add_root(models, LibraryLayout.A1111)
        heard.until(Changes(root_ids=frozenset({root.id})))

        Scanner(here).scan([root.id])  # a new file
        record = here.get_by_path(lora)
        assert record is not None
        heard.until(Changes(asset_ids=frozenset({record.id})))

        here.update_user_data(record.id, UserDataChanges(tags=("portrait",)))
        heard.until(Changes(asset_ids=frozenset({record.id})))
        shown = there.get(record.id)
        assert shown is not None
        assert shown.tags == ("portrait",)

        here.update_user_data(record.id, UserDataChanges(rating=4))
        heard.until(Changes(asset_ids=frozenset({record.id})))
        shown = there.get(record.id)
        assert shown is not None
        assert shown.rating == 4

        (lora.parent / "sub").mkdir()
        moved = lora.rename(lora.parent / "sub" / "detail.safetensors")
        Scanner(here).scan([root.id])
        heard.until(Changes(asset_ids=frozenset({record.id})))
        shown = there.get(record.id)
        assert shown is not None
        assert shown.path == str(moved)
        assert heard.states.empty(), "the feed never lost the server"
    finally:
        feed.stop()


def test_a_machine_does_not_hear_its_own_writes_but_the_other_does(
    two: tuple[Library, Library], tmp_path: Path
) -> None:
    here, there = two
    root = here.add_root(tmp_path / "models").id
    (asset,) = here.apply_scan_batch(root, [scanned(tmp_path / "models" / "a.safetensors")])
    heard_here, heard_there = Heard(), Heard()
    feeds = [here.follow_changes(heard_here.batches.put), there.follow_changes(heard_there.batches.put)]
    try:
        here.update_user_data(asset, UserDataChanges(notes="written here"))
        heard_there.until(Changes(asset_ids=frozenset({asset})))
        assert heard_here.nothing_for(0.3), "a window already shows what it wrote itself"
    finally:
        for feed in feeds:
            feed.stop()


def test_a_scan_batch_of_hundreds_of_files_arrives_as_one_batch(
    two: tuple[Library, Library], tmp_path: Path
) -> None:
    here, there = two
    root = here.add_root(tmp_path / "models").id
    heard = Heard()
    feed = there.follow_changes(heard.batches.put)
    try:
        files = [
            scanned(tmp_path / "models" / f"f{number}.safetensors", inode=number) for number in range(700)
        ]
        ids = here.apply_scan_batch(root, files)
        batch = heard.until(Changes(asset_ids=frozenset(ids)))
        assert batch.asset_ids == frozenset(ids)
        assert heard.nothing_for(0.3), (
            "700 rows in one transaction (two payloads) are one batch, not 700 refreshes"
        )
    finally:
        feed.stop()


def test_the_feed_survives_a_server_restart_and_says_so(
    two: tuple[Library, Library], pg: pg_server.PgServer, tmp_path: Path
) -> None:
    here, there = two
    root = here.add_root(tmp_path / "models").id
    (asset,) = here.apply_scan_batch(root, [scanned(tmp_path / "models" / "a.safetensors")])
    heard = Heard()
    feed = there.follow_changes(heard.batches.put, heard.states.put)
    try:
        pg_server.restart(pg)
        problem = heard.states.get(timeout=10)
        assert problem is not None
        assert "Live updates from postgresql://" in problem
        assert pg.password not in problem
        assert heard.states.get(timeout=10) is None  # back
        heard.until(Changes(unknown=True), timeout=5)  # what changed meanwhile is not known
        here.update_user_data(asset, UserDataChanges(rating=2))
        heard.until(Changes(asset_ids=frozenset({asset})))
    finally:
        feed.stop()


def test_stopping_the_feed_closes_its_connection(
    two: tuple[Library, Library], pg: pg_server.PgServer, pg_catalog_url: str
) -> None:
    import psycopg

    _here, there = two
    feed = there.follow_changes(lambda _changes: None)
    database = parse(pg_catalog_url).url
    assert database is not None

    def listeners() -> int:
        with psycopg.connect(pg._dsn(str(database.database))) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'atelier change feed'"
                " AND datname = current_database()"
            ).fetchone()
            return int(row[0]) if row else 0

    deadline = time.monotonic() + 5
    while listeners() != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listeners() == 1
    started = time.monotonic()
    feed.stop()
    assert time.monotonic() - started < 1.0
    deadline = time.monotonic() + 5
    while listeners() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listeners() == 0


def test_a_command_in_another_process_reaches_an_open_feed_on_sqlite(tmp_path: Path) -> None:
    data = tmp_path / "data"
    library = Library.open(data / "catalog.sqlite3")
    root = library.add_root(tmp_path / "models").id
    (asset,) = library.apply_scan_batch(root, [scanned(tmp_path / "models" / "a.safetensors")])
    heard = Heard()
    feed = library.follow_changes(heard.batches.put, heard.states.put)
    try:
        env = {**os.environ, "ATELIER_DATA_DIR": str(data)}
        env.pop("ATELIER_CATALOG_URL", None)
        done = subprocess.run(
            [
                sys.executable,
                str(REPO / "main.py"),
                "--data-dir",
                str(data),
                "tag",
                str(asset),
                "--add",
                "from-cli",
            ],
            check=False,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        heard.until(Changes(unknown=True), timeout=3)
        record = library.get(asset)
        assert record is not None
        assert record.tags == ("from-cli",)
        assert heard.states.empty()
    finally:
        feed.stop()
        library.close()


def test_every_commit_of_another_process_is_heard_while_this_process_reads_too(tmp_path: Path) -> None:
    """The window reads its first page through the light reader (``AppContext.reads``) before the feed
    starts: each later commit of another process must be heard, not only the first."""
    from app.context import AppContext
    from catalog.asset_query import AssetQuery

    data = tmp_path / "data"
    with Library.open(data / "catalog.sqlite3") as library:
        root = library.add_root(tmp_path / "models").id
        (asset,) = library.apply_scan_batch(root, [scanned(tmp_path / "models" / "a.safetensors")])
    context = AppContext(data)
    heard = Heard()
    write = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"
    try:
        assert list(context.reads.search_ids(AssetQuery())) == [asset]
        feed = context.change_feed(heard.batches.put, heard.states.put)
        try:
            for rating in (1, 2):
                sql = f"UPDATE assets SET rating = {rating} WHERE id = {asset}"
                subprocess.run(
                    [sys.executable, "-c", write, str(context.catalog_path), sql], check=True, timeout=30
                )
                heard.until(Changes(unknown=True), timeout=3)
                assert list(context.reads.search_ids(AssetQuery(min_rating=rating))) == [asset]
            assert heard.states.empty()
        finally:
            feed.stop()
    finally:
        context.close()
