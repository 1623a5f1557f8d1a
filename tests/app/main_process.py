"""Runs ``python main.py …`` in a child process, the way a user runs the CLI, for the CLI tests.

One runner for every test that goes through ``main.py``: the environment is the test's plus the given
variables (a value of None removes one), the output is captured as text, and with ``check`` a non-zero
exit fails the test with both streams.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "main.py"


def main_env(extra: Mapping[str, str | None] = {}) -> dict[str, str]:
    """The environment of a child ``main.py``: this process's, with ``extra`` set (None: removed)."""
    env = dict(os.environ)
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_main(
    *args: str,
    data_dir: Path | None = None,
    env: Mapping[str, str | None] = {},
    check: bool = False,
    timeout: float = 300,
    wrapper: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """``python main.py ARGS`` with ``ATELIER_DATA_DIR=data_dir`` (when given) and ``env`` on top;
    ``wrapper`` is a command that runs it (``unshare --user``: without root's rights on files)."""
    extra: dict[str, str | None] = dict(env)
    if data_dir is not None:
        extra["ATELIER_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [*wrapper, sys.executable, str(MAIN), *args],
        capture_output=True,
        text=True,
        env=main_env(extra),
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result
