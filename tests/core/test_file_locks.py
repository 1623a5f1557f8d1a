"""Locks that die with their holder: another open of the lock file (a thread, another process) cannot
take a held lock, a waiter takes it once the holder lets go, and a killed holder frees it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from core.file_locks import try_lock, unlock, wait_for_lock

ROOT = Path(__file__).resolve().parents[2]
HOLD = textwrap.dedent(
    """
    import sys, time
    from core.file_locks import try_lock
    file = open(sys.argv[1], "a+b")
    print("held" if try_lock(file) else "busy", flush=True)
    time.sleep(60)
    """
)


def test_a_held_lock_is_refused_to_another_open_and_taken_once_let_go(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with path.open("a+b") as holder, path.open("a+b") as other:
        assert try_lock(holder)
        assert not try_lock(other)
        unlock(holder)
        assert try_lock(other)
        unlock(other)


def test_a_waiter_takes_the_lock_when_the_holder_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    taken = threading.Event()
    with path.open("a+b") as holder:
        assert try_lock(holder)

        def wait() -> None:
            with path.open("a+b") as waiter:
                wait_for_lock(waiter)
                taken.set()
                unlock(waiter)

        thread = threading.Thread(target=wait)
        thread.start()
        assert not taken.wait(0.3)  # still held: the waiter waits
        unlock(holder)
        assert taken.wait(10)
        thread.join(10)


def test_a_killed_holder_frees_its_lock(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        with path.open("a+b") as mine:
            assert not try_lock(mine)
            child.kill()
            child.wait(10)
            assert try_lock(mine)
            unlock(mine)
    finally:
        child.kill()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
