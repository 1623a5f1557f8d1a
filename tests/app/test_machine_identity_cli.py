"""This profile's machine id survives what users do to a data folder (app.machine), through ``main.py``.

Two commands started at once on a new data folder each made an id and wrote it to settings.json; the
last write won, and the folder the other had added was "not mapped on this machine" from then on (scan
skipped it). A damaged settings.json was reset to the defaults with a new id, with the same effect and
no word said. The id now lives in its own file, created by whichever process comes first.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from app.machine import ID_FILE
from tests.app.main_process import MAIN, ROOT, main_env, run_main
from tests.factory.safetensors_writer import write_safetensors

STARTED_AT_ONCE = 6


def _library(tmp_path: Path) -> Path:
    folder = tmp_path / "lib"
    for seed in range(3):
        write_safetensors(folder / "Lora" / f"l{seed}.safetensors", {"w": ("F16", (8, 8))}, seed=seed)
    return folder


def _settings_id(data: Path) -> str:
    return str(json.loads((data / "settings.json").read_text(encoding="utf-8"))["machine_id"])


def _machines_mapping_folders(data: Path) -> set[str]:
    with sqlite3.connect(data / "catalog.sqlite3") as connection:
        rows = connection.execute("SELECT machine FROM root_paths")
        return {machine for (machine,) in rows}


def test_commands_started_at_once_on_a_new_data_folder_agree_on_one_machine(tmp_path: Path) -> None:
    """Six ``roots add`` at once, each its own folder: every folder is mapped on this one machine."""
    folders = [_library(tmp_path / f"store{number}") for number in range(STARTED_AT_ONCE)]
    data = tmp_path / "data"
    # The new folder gets a new, empty catalog first: creating the catalog file itself at once is not
    # what is tested here, the machine id every command makes on first use is.
    run_main("roots", data_dir=tmp_path / "seed", check=True)
    data.mkdir()
    shutil.copyfile(tmp_path / "seed" / "catalog.sqlite3", data / "catalog.sqlite3")
    env = main_env({"ATELIER_DATA_DIR": str(data)})
    running = [
        subprocess.Popen(
            [sys.executable, str(MAIN), "roots", "add", str(folder)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for folder in folders
    ]
    for process in running:
        _out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()

    roots = run_main("roots", data_dir=data, check=True)
    assert all(str(folder) in roots.stdout for folder in folders), roots.stdout
    assert "not mapped on this machine" not in roots.stdout
    rescan = run_main("scan", "--no-lookup", data_dir=data, check=True)
    assert f"Scanned {STARTED_AT_ONCE} folders" in rescan.stdout, rescan.stdout + rescan.stderr
    the_id = _settings_id(data)
    assert _machines_mapping_folders(data) == {the_id}
    assert (data / ID_FILE).read_text(encoding="ascii").strip() == the_id


def test_a_damaged_settings_file_is_reported_once_and_the_folders_stay_mapped(tmp_path: Path) -> None:
    library = _library(tmp_path)
    data = tmp_path / "data"
    run_main("scan", str(library), "--no-lookup", data_dir=data, check=True)
    the_id = _settings_id(data)
    (data / "settings.json").write_text('{"theme": "dark",', encoding="utf-8")

    first = run_main("roots", data_dir=data, check=True)
    again = run_main("roots", data_dir=data, check=True)

    damaged = data / "settings.json.bad"
    for listing in (first, again):
        assert "not mapped on this machine" not in listing.stdout
    assert "Scanned 1 folder" in run_main("scan", "--no-lookup", data_dir=data, check=True).stdout
    assert _machines_mapping_folders(data) == {the_id}
    assert damaged.read_text(encoding="utf-8") == '{"theme": "dark",'
    assert first.stderr.strip() == (
        f"{data / 'settings.json'} could not be read: it was moved to {damaged} and the default settings are "
        "used (copy back what you need from it)"
    )
    assert again.stderr == ""


def test_an_older_profile_keeps_its_id_from_settings_even_from_a_damaged_copy(tmp_path: Path) -> None:
    """A profile from before the id file: its id is in settings.json, or in settings.json.bad once a
    damaged settings file was moved there."""
    library = _library(tmp_path)
    data = tmp_path / "data"
    run_main("scan", str(library), "--no-lookup", data_dir=data, check=True)
    the_id = _settings_id(data)
    (data / ID_FILE).unlink(missing_ok=True)  # as an older Atelier left it: the id in settings.json only
    settings = (data / "settings.json").read_text(encoding="utf-8")
    (data / "settings.json").write_text(settings[: settings.rindex("}")], encoding="utf-8")  # damaged

    listing = run_main("roots", data_dir=data, check=True)

    assert "not mapped on this machine" not in listing.stdout
    assert _machines_mapping_folders(data) == {the_id}
    assert (data / ID_FILE).read_text(encoding="ascii").strip() == the_id
