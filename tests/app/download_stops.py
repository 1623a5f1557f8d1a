"""Stop a ``main.py download`` mid-way with a signal, for the tests of what a stop leaves behind.

Ctrl+C (SIGINT) is the user stopping it: paused, continued only when asked. SIGKILL is a crash: shown as
interrupted, continued by the window's start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.app.download_sites import FILE_PATH, VERSION_ID, Sites
from tests.fakes.file_server import Fault

ROOT = Path(__file__).resolve().parents[2]


def stop_mid_download(sites: Sites, stop: signal.Signals, *, at_least: int = 16 * 1024) -> tuple[Path, str]:
    """``main.py download`` of the Civitai file on a trickling server, sent ``stop`` once ``at_least``
    bytes are on disk; returns the ``.part`` it left and the child's stderr (the trickle stays on)."""
    sites.file_state.faults[FILE_PATH] = Fault(trickle=(2048, 0.05))
    part = sites.root / "models" / "Lora" / "pixel_art.safetensors.part"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "download", f"civitai:{VERSION_ID}"],
        env={**os.environ, **sites.env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (part.exists() and part.stat().st_size >= at_least):
            assert process.poll() is None, "the download ended before it could be stopped"
            assert time.monotonic() < deadline, "the download did not start"
            time.sleep(0.02)
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if stop is signal.SIGINT:
        assert process.returncode == 130, stderr
    # The server's count settles once it notices the connection is gone (a block may be in flight).
    sites.file_state.wait_until_sent(FILE_PATH)
    return part, stderr
