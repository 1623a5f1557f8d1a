"""A file host that accepts and stays silent is given up within 30 s with the wait said, through main.py
(the worst case of the default budget; its own file so its 25 s wait runs beside the other give-up tests).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.net import host_of
from tests.app.download_sites import FILE_PATH, VERSION_ID, Sites
from tests.app.main_process import run_main
from tests.fakes.file_server import Fault
from tests.fakes.silent_server import silent_server


@pytest.mark.slow
def test_a_file_host_that_never_answers_is_given_up_within_30_seconds(sites: Sites, tmp_path: Path) -> None:
    """The worst case of the budget: Civitai's link leads to a host that accepts and stays silent. The
    whole command, from its start to the message naming that host (not Civitai), ends within 30 s."""
    with silent_server() as silent:
        sites.file_state.faults[FILE_PATH] = Fault(redirect_to=f"{silent}/pixel_art.safetensors")
        started = time.monotonic()
        failed = run_main(
            "download", f"civitai:{VERSION_ID}", "--to", str(tmp_path / "lib"), env=sites.env, check=False
        )
        elapsed = time.monotonic() - started

    assert elapsed < 30.0  # 24 s of budget, then the message; 32 s before
    assert failed.returncode == 1
    (line,) = failed.stderr.strip().splitlines()
    said = (
        f"atelier download: {host_of(silent)} (the file host Civitai pointed to) stopped answering "
        "(nothing arrived in time) — gave up after 1 try in "
    )
    assert line.startswith(said), line
    seconds = int(line.removeprefix(said).removesuffix(" s. Try again later."))
    assert 22 <= seconds < elapsed  # the seconds it says are the seconds it waited
