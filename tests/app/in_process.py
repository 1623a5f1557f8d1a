"""Runs a CLI command in the test's own process, with what :func:`tests.app.main_process.run_main` gives.

A ``main.py`` child costs about a second of CPU (Python, SQLAlchemy and the command's module are imported
again for each command); a test that runs a dozen commands to check what they *do* to the library (moves,
undo, the catalog following) spends most of its time starting processes. Such tests call
:func:`run_in_process` instead: the same entry point (``app.cli.main``), the same arguments, environment
variables, exit code and captured text, as a :class:`subprocess.CompletedProcess`. Tests of process
behaviour (start-up, a terminal on stdin, kill, Ctrl+C, a closed pipe) keep :func:`run_main`.

stdin is empty and not a terminal, as for ``run_main``'s child in CI; an argparse exit (``--help``, a
usage error) is its exit code; ``XDG_DATA_HOME`` also moves send2trash's trash (it reads the variable
once, at import: :func:`tests.trash.own_trash`). Any other exception fails the test with its traceback.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.trash import own_trash


def run_in_process(
    *args: str, data_dir: Path | None = None, env: Mapping[str, str | None] = {}, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """``atelier ARGS`` through ``app.cli.main`` here, with ``ATELIER_DATA_DIR=data_dir`` (when given)
    and ``env`` set (None: removed) while it runs; with ``check`` a non-zero exit fails the test."""
    from app.cli import main

    extra: dict[str, str | None] = dict(env)
    if data_dir is not None:
        extra["ATELIER_DATA_DIR"] = str(data_dir)
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in extra.items():
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)
        trash_home = extra.get("XDG_DATA_HOME")
        if trash_home is not None:
            import send2trash  # noqa: F401  (own_trash patches the module the app's deletes use)

            own_trash(patch, Path(trash_home))
        patch.setattr(sys, "stdin", io.StringIO(""))
        patch.setattr(sys, "stdout", out)
        patch.setattr(sys, "stderr", err)
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse: --help (0), a usage error (2)
            code = 0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 1
    result = subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"exit {code}\n{result.stdout}\n{result.stderr}")
    return result
