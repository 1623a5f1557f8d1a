"""Folders no user means as a library folder (the disk's root, the home folder itself, a system folder) are
refused by ``scan DIR``, ``roots add`` and ``download --to`` alike, in one line, exit 2, nothing added:
the tester's ``download … --to /`` made ``/`` a library folder and the next scan cataloged the whole disk.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.app.download_sites import VERSION_ID, Sites
from tests.app.main_process import run_main
from tests.factory.safetensors_writer import write_safetensors


def _refused(result: subprocess.CompletedProcess[str], command: str, folder: str, why: str) -> None:
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"atelier {command}: {folder} is {why}, not a library folder"), line
    assert "Give the folder that holds your models" in line


def _roots(env: dict[str, str]) -> list[str]:
    return [root["path"] for root in json.loads(run_main("roots", "--json", env=env, check=True).stdout)]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    write_safetensors(folder / "models" / "lora.safetensors", {"w": ("F16", (8,))}, seed=1)
    return folder


def test_scan_and_roots_add_refuse_the_disk_root_the_home_folder_and_system_folders(
    tmp_path: Path, home: Path
) -> None:
    env = {"ATELIER_DATA_DIR": str(tmp_path / "data"), "HOME": str(home)}

    _refused(run_main("roots", "add", "/", env=env), "roots", "/", "the root of the file system")
    _refused(run_main("roots", "add", "/usr", env=env), "roots", "/usr", "a folder of the system")
    _refused(run_main("scan", "~", "--no-hash", env=env), "scan", str(home), "your home folder itself")
    assert _roots(env) == []

    # A folder inside the home folder is what users mean.
    run_main("scan", str(home / "models"), "--no-hash", env=env, check=True)
    assert _roots(env) == [str(home / "models")]

    # With a library folder in the catalog, "/" holds it: still refused as the disk's root (exit 2), not
    # sent to "remove them first", advice that would only lead to this refusal.
    _refused(run_main("scan", "/", "--no-hash", env=env), "scan", "/", "the root of the file system")
    _refused(run_main("roots", "add", "/", env=env), "roots", "/", "the root of the file system")
    assert _roots(env) == [str(home / "models")]


def test_download_to_the_home_folder_is_refused_before_anything_is_fetched(sites: Sites, home: Path) -> None:
    env = {**sites.env, "HOME": str(home)}

    result = run_main("download", f"civitai:{VERSION_ID}", "--to", str(home), env=env)

    _refused(result, "download", str(home), "your home folder itself")
    assert not list(home.glob("*.safetensors*")), "nothing fetched into it"
    assert not [request for request in sites.files.requests if request[0] == "GET"]
    assert _roots(env) == []
