"""Ctrl+C and Ctrl+D in the CLI, sent to a real ``main.py`` child process.

A bulk command stops after the file it is on at the first SIGINT, says what it did and exits 130, and
``undo`` reverses exactly that; SIGINT at a ``[y/N]`` question ends the command with 130 and no
traceback; Ctrl+D (end of input) at the question is a "no". The scans that set the library up and the
``undo`` that checks what a stopped delete did run through the CLI's entry point in this process: only the
interrupted commands are about the process.
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.app.in_process import run_in_process
from tests.app.main_process import MAIN, ROOT, main_env
from tests.app.organize.template_library import write_embedding

FILES = 150


@pytest.fixture
def many(tmp_path: Path) -> dict[str, Any]:
    root = tmp_path / "models" / "embeddings"
    paths = [write_embedding(root / f"emb {index:03d}.safetensors", index) for index in range(FILES)]
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "ATELIER_DATA_DIR": str(tmp_path / "data")}
    run_in_process("scan", str(tmp_path / "models"), "--no-hash", env=env, check=True)
    return {"paths": paths, "env": env, "trash": tmp_path / "xdg" / "Trash"}


def _start(many: dict[str, Any], *args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    """``main.py ARGS`` started as a shell script's background job (`main.py delete ... &`) is: with
    SIGINT ignored, which it inherits; the command must still stop on `kill -INT`."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.Popen(
            [sys.executable, str(MAIN), *args],
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=main_env(many["env"]),
            cwd=ROOT,
        )
    finally:
        signal.signal(signal.SIGINT, previous)


def _wait_for(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_ctrl_c_stops_a_delete_after_the_current_file_and_undo_reverses_what_was_done(
    many: dict[str, Any],
) -> None:
    paths: list[Path] = many["paths"]
    process = _start(many, "delete", *map(str, paths), "--yes")
    _wait_for(lambda: sum(not path.exists() for path in paths) >= 3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)

    gone = [path for path in paths if not path.exists()]
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert 3 <= len(gone) < FILES
    assert f"Stopped: sent {len(gone)} of {FILES} files to the trash; `atelier undo` reverses them" in err
    assert f"Sent {len(gone)} files to the trash" in out

    undone = run_in_process("undo", env=many["env"])
    assert undone.returncode == 0, undone.stderr
    assert all(path.exists() for path in paths)


def test_ctrl_c_at_the_question_ends_the_command_without_a_traceback(many: dict[str, Any]) -> None:
    master, slave = pty.openpty()
    try:
        process = _start(many, "delete", str(many["paths"][0]), stdin=slave)
        _read_until(process, "[y/N]")
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    finally:
        os.close(master)
        os.close(slave)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "atelier delete: interrupted" in err
    assert many["paths"][0].exists()


@pytest.mark.parametrize("command", [("delete", "PATH"), ("dupes", "--resolve", "trash")])
def test_ctrl_d_at_the_question_is_a_no(many: dict[str, Any], command: tuple[str, ...]) -> None:
    first: Path = many["paths"][0]
    twin = first.with_name("twin.safetensors")
    twin.write_bytes(first.read_bytes())
    run_in_process("scan", "--no-lookup", env=many["env"], check=True)  # hashes both: one duplicate group
    args = [str(first) if part == "PATH" else part for part in command]
    master, slave = pty.openpty()
    try:
        process = _start(many, *args, stdin=slave)
        asked = _read_until(process, "[y/N]")
        os.write(master, b"\x04")
        out, err = process.communicate(timeout=30)
        out = asked + out
    finally:
        os.close(master)
        os.close(slave)
    assert "Traceback" not in err
    assert process.returncode == 0, err
    assert "Nothing was" in out
    assert first.exists()
    assert twin.exists()


def _read_until(process: subprocess.Popen[str], text: str) -> str:
    """The child's stdout up to ``text`` (its question), read straight from the pipe."""
    assert process.stdout is not None
    seen = b""
    while text.encode() not in seen:
        chunk = os.read(process.stdout.fileno(), 4096)
        assert chunk, f"the command ended without asking: {seen!r}"
        seen += chunk
    return seen.decode()


def test_a_ctrl_c_caught_by_the_database_pool_prints_no_traceback() -> None:
    """A Ctrl+C landing while SQLAlchemy returns a connection is logged by its pool with a traceback;
    the command already says "interrupted", so that record never reaches the user's terminal."""
    script = (
        "import logging, app.interrupts\n"
        "log = logging.getLogger('sqlalchemy.pool.impl.QueuePool')\n"
        "try:\n    raise KeyboardInterrupt\n"
        "except KeyboardInterrupt:\n    log.error('Exception during reset or similar', exc_info=True)\n"
        "log.error('a real pool error is still shown')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert "Traceback" not in done.stderr
    assert "a real pool error is still shown" in done.stderr
