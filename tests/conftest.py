"""Fixtures for every test: no test may reach the real Civitai.

``scan`` and the window look new files up on Civitai after hashing; unless a test points
``ATELIER_CIVITAI_URL`` at its loopback fake, it goes to a loopback port nobody listens on, so the
lookup fails at once as it would offline (and subprocesses inherit the variable).

No test may touch the user's system trash either: deletes go through send2trash, which reads
``XDG_DATA_HOME`` once, when it is first imported; it is set here, before any test imports it, to a folder
of this test process (tests that look inside the trash still give themselves their own, see
``tests/app/organize/ops_library.own_trash``).

Torch's CPU kernels run on one thread each: the suite runs one test worker per core, and two workers
each spinning a thread per core for tiny renders spent half their CPU time waiting on each other
(measured: a render test's CPU time halves). Set before torch is first imported; children inherit it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile

CIVITAI_URL_ENV = "ATELIER_CIVITAI_URL"


def closed_loopback_url() -> str:
    """``http://127.0.0.1:PORT`` for a port that was free a moment ago: connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


os.environ.setdefault(CIVITAI_URL_ENV, closed_loopback_url())
os.environ.setdefault("OMP_NUM_THREADS", "1")

os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="atelier-tests-xdg-")
# Removed when this test process ends, so runs do not pile folders up in the temp directory.
atexit.register(shutil.rmtree, os.environ["XDG_DATA_HOME"], True)

# The throwaway PostgreSQL server fixtures (pg, pg_url): any test may ask for them.
pytest_plugins = ["tests.pg_fixtures"]
