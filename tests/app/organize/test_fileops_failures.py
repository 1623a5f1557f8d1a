"""A move to another disk that fails while copying (the disk fills up) leaves nothing behind on that
disk: no ``.atelier-part`` file, and the source as it was.

The full disk is real: a child process runs the move with ``RLIMIT_FSIZE`` below the file's size, so
the kernel refuses the write that would pass it (EFBIG), as a full disk refuses one (ENOSPC)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.main_process import ROOT

MOVE_WITH_A_SMALL_DISK = """
import resource, signal, sys
from pathlib import Path
from app.organize.fileops import move_path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
try:
    move_path(Path(sys.argv[1]), Path(sys.argv[2]))
except OSError as exc:
    print("refused", exc.errno)
"""


@pytest.fixture
def other_disk(tmp_path: Path) -> Iterator[Path]:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK) or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on another file system")
    folder = shm / f"atelier-test-{uuid.uuid4().hex}"
    folder.mkdir()
    yield folder
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


def test_a_copy_to_a_full_disk_leaves_no_part_file_and_keeps_the_source(
    tmp_path: Path, other_disk: Path
) -> None:
    source = tmp_path / "dreamshaper_8.safetensors"
    data = os.urandom(300 * 1024)
    source.write_bytes(data)
    target = other_disk / source.name

    child = subprocess.run(
        [sys.executable, "-c", MOVE_WITH_A_SMALL_DISK, str(source), str(target)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )

    assert child.stdout.startswith("refused"), child.stderr
    assert list(other_disk.iterdir()) == []
    assert source.read_bytes() == data
