"""SIGKILL at a random point of a real ``main.py move`` of many files, then the next start: the set of
(model bytes, sidecar bytes) is the same before and after, every model sits with its sidecars, no
``.atelier-part`` is left, and the catalog matches the disk. The kill point is chosen by watching the
destination from outside (a random number of files arrived there), with no hook in the product; the
journal records finished moves in batches, so most kills land between the disk and the catalog."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.organize.engine import FLUSH_STEPS
from catalog.library import Library
from catalog.records import AssetQuery
from tests.app.main_process import MAIN, ROOT, main_env, run_main
from tests.app.organize.ops_library import disk_fingerprint, fingerprint, open_hashed_library, write_embedding
from tests.factory.files import tiny_png

pytestmark = pytest.mark.slow


def _library_of(folder: Path, count: int, data: Path, *roots: Path) -> Library:
    for index in range(count):
        model = write_embedding(folder / f"emb {index:04d} ü.safetensors", index)
        model.with_name(f"{model.stem}.preview.png").write_bytes(tiny_png() + index.to_bytes(4, "big"))
        model.with_name(f"{model.stem}.json").write_text(json.dumps({"notes": f"note {index}"}))
    return open_hashed_library(data, *roots)


def _operation_state(catalog: Path) -> str | None:
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=5) as db:
        state = db.execute("SELECT state FROM organize_operations ORDER BY id DESC LIMIT 1").fetchone()
    return state[0] if state else None


def _kill_after(args: list[str], data: Path, destination: Path, arrived: int) -> str | None:
    """Run ``main.py ARGS``, SIGKILL it once ``arrived`` files are in ``destination``; returns the
    operation's state then."""
    child = subprocess.Popen(
        [sys.executable, str(MAIN), *args],
        env=main_env({"ATELIER_DATA_DIR": str(data)}),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    try:
        while child.poll() is None and time.monotonic() < deadline:
            if sum(1 for _ in destination.iterdir()) >= arrived:
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.001)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    return _operation_state(data / "catalog.sqlite3")


def _check_consistent(data: Path, root: Path, before: set[tuple[str, frozenset[tuple[str, str]]]]) -> None:
    history = run_main("history", "--json", data_dir=data, check=True)  # the next start recovers
    latest = json.loads(history.stdout)[0]
    assert (latest["state"], latest["summary"].get("recovered")) == ("done", True)
    assert not list(root.rglob("*.atelier-part"))
    with Library.open(data / "catalog.sqlite3") as library:
        assert fingerprint(library) == before
        catalog_paths = {record.path for record in library.search(AssetQuery())}
    assert disk_fingerprint(root) == before
    assert catalog_paths == {str(path) for path in root.rglob("*.safetensors")}


def test_a_move_killed_at_a_random_point_is_completed_on_the_next_start(tmp_path: Path) -> None:
    root = tmp_path / "models"
    # The journal writes finished moves FLUSH_STEPS at a time: a third of the kill points (up to half of
    # the files) fall after the first batch was written, the rest before it (1,000 models took 18 s).
    count = 3 * FLUSH_STEPS
    library = _library_of(root / "incoming", count, tmp_path / "data", root)
    (root / "sorted").mkdir()
    before = fingerprint(library)
    ids = [str(record.id) for record in library.search(AssetQuery())]
    library.close()
    arrived = random.Random().randint(1, count * 3 // 2)  # of the 3 * count files that move

    state = _kill_after(["move", *ids, str(root / "sorted")], tmp_path / "data", root / "sorted", arrived)

    assert state == "applying", f"the move finished before the kill after {arrived} files"
    _check_consistent(tmp_path / "data", root, before)
    assert len(list((root / "sorted").glob("*.safetensors"))) == count


@pytest.fixture
def other_disk() -> Iterator[Path]:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm for a move across file systems")
    folder = shm / f"atelier-test-{uuid.uuid4().hex}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_move_across_disks_killed_at_a_random_point_is_completed(tmp_path: Path, other_disk: Path) -> None:
    root = tmp_path / "models"
    if root.parent.stat().st_dev == other_disk.stat().st_dev:
        pytest.skip("/dev/shm is on the same file system here")
    count = 60
    library = _library_of(root, count, tmp_path / "data", root, other_disk)
    before = fingerprint(library)
    ids = [str(record.id) for record in library.search(AssetQuery())]
    library.close()
    arrived = random.Random().randint(1, count * 3 // 2)  # .atelier-part copies count too

    state = _kill_after(["move", *ids, str(other_disk)], tmp_path / "data", other_disk, arrived)

    assert state == "applying", f"the move finished before the kill after {arrived} files"
    history = run_main("history", "--json", data_dir=tmp_path / "data", check=True)
    assert json.loads(history.stdout)[0]["state"] == "done"
    assert not list(other_disk.glob("*.atelier-part"))
    with Library.open(tmp_path / "data" / "catalog.sqlite3") as reopened:
        assert fingerprint(reopened) == before
        paths = {record.path for record in reopened.search(AssetQuery())}
    assert paths == {str(path) for path in other_disk.glob("*.safetensors")}
    assert disk_fingerprint(other_disk) == before
    assert not list(root.glob("*"))
