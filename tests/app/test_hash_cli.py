"""``atelier hash`` as a user runs it (``main.py``): after a ``kill -9``, the Civitai lookup it does and
``--no-lookup``, and a summary whose sizes show for small files.

A hash killed with ``kill -9`` left its claims (``catalog.hash_claims``) and the next ``hash`` skipped
those files as "being hashed by another Atelier" for minutes with nothing else running; the claims of a
job of this machine whose process is gone are now taken over at once.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.app.download_sites import Sites
from tests.app.main_process import MAIN, ROOT, main_env, run_main
from tests.factory.safetensors_writer import write_safetensors

# The kill lands in the first round, with rounds still to come (8 files hashed 512 MiB twice for nothing).
BIG_FILES = 3
BIG_FILE_BYTES = 64 * 2**20  # one hashing round each (catalog.hashing_job.ROUND_BYTES)


def _claims(data: Path) -> int:
    with sqlite3.connect(data / "catalog.sqlite3") as connection:
        return int(connection.execute("SELECT count(*) FROM hash_claims").fetchone()[0])


def _kill_mid_hash(data: Path) -> None:
    """Start ``main.py hash``, SIGKILL it while it holds claims on files it is hashing."""
    process = subprocess.Popen(
        [sys.executable, str(MAIN), "hash", "--no-lookup"],
        cwd=ROOT,
        env=main_env({"ATELIER_DATA_DIR": str(data)}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while _claims(data) == 0:
            assert process.poll() is None, "hash ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(30)


def test_hash_after_a_killed_hash_takes_its_files_over_at_once(tmp_path: Path) -> None:
    library, data = tmp_path / "lib", tmp_path / "data"
    for number in range(BIG_FILES):
        width = BIG_FILE_BYTES // 2 // 1024 + number  # zeros, written sparsely; each its own size
        write_safetensors(library / "Lora" / f"big{number}.safetensors", {"w": ("F16", (1024, width))})
    run_main("scan", str(library), "--no-hash", data_dir=data, check=True)
    settings = json.loads((data / "settings.json").read_text(encoding="utf-8"))
    (data / "settings.json").write_text(json.dumps({**settings, "hash_workers": 1}), encoding="utf-8")

    _kill_mid_hash(data)
    assert _claims(data) > 0, "the killed hash left its claims (what is tested)"
    again = run_main("hash", "--no-lookup", data_dir=data, check=True)

    assert "being hashed by another Atelier" not in again.stdout
    assert again.stdout.startswith("Hashed "), again.stdout
    assert (
        run_main("hash", "--no-lookup", data_dir=data, check=True).stdout == "Every file is already hashed\n"
    )
    assert _claims(data) == 0


def test_hash_looks_files_up_on_civitai_unless_no_lookup(tmp_path: Path, sites: Sites) -> None:
    library = tmp_path / "lib"
    (library / "Lora").mkdir(parents=True)
    (library / "Lora" / "pixel.safetensors").write_bytes(sites.lora)
    write_safetensors(library / "Lora" / "other.safetensors", {"w": ("F16", (8, 8))}, seed=3)
    run_main("scan", str(library), "--no-hash", env=sites.env, check=True)

    quiet = run_main("hash", "--no-lookup", env=sites.env, check=True)
    assert "Civitai" not in quiet.stdout + quiet.stderr
    assert quiet.stdout.startswith("Hashed 2 files, "), quiet.stdout
    assert "GiB" not in quiet.stdout
    assert " 0 MiB/s" not in quiet.stdout
    assert "KiB at " in quiet.stdout, quiet.stdout
    assert "pixel_art" not in run_main("show", "1", "--json", env=sites.env, check=True).stdout

    help_text = run_main("hash", "--help", env=sites.env, check=True).stdout
    assert "--no-lookup" in help_text
    assert "look them up on Civitai" in " ".join(help_text.split())


def test_hash_then_looks_the_hashed_files_up(tmp_path: Path, sites: Sites) -> None:
    library = tmp_path / "lib"
    (library / "Lora").mkdir(parents=True)
    (library / "Lora" / "pixel.safetensors").write_bytes(sites.lora)
    run_main("scan", str(library), "--no-hash", env=sites.env, check=True)

    looked_up = run_main("hash", env=sites.env, check=True)

    assert "1 found on Civitai" in looked_up.stdout, looked_up.stdout + looked_up.stderr
