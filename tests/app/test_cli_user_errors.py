"""User errors on the command line end in one line on stderr, never a traceback: ids beyond any row,
a data folder that is a file, a closed pipe, paths that are folders or no models at all.

The commands run through the CLI's entry point in this process (:mod:`tests.app.in_process`); the window's
start (``main.py`` without a command) and a pipe closed under a real process run ``main.py`` itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app.in_process import run_in_process
from tests.app.main_process import MAIN, ROOT, main_env, run_main
from tests.factory.models import kohya_lora, write_case

HUGE = "99999999999999999999999"


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    run_in_process("roots", data_dir=folder, check=True)
    return folder


def test_show_an_id_beyond_sqlite_is_no_such_asset(data: Path) -> None:
    result = run_in_process("show", HUGE, data_dir=data)

    assert result.returncode == 1
    assert (
        one_line(result.stderr)
        == f"atelier show: no asset with id {HUGE} in the library (see `atelier search`)"
    )


def test_downloads_resume_an_id_beyond_sqlite_is_a_usage_error(data: Path) -> None:
    result = run_in_process("downloads", "resume", HUGE, data_dir=data)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith(f"argument id: no id is as large as {HUGE}")


def test_search_with_a_huge_limit_shows_everything(data: Path) -> None:
    result = run_in_process("search", "--limit", HUGE, "anything", data_dir=data, check=True)

    assert result.stdout.strip() == "0 of 0 shown"


@pytest.mark.parametrize("where", ["--data-dir", "ATELIER_DATA_DIR"])
def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path, where: str) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    args = ["--data-dir", str(afile), "roots"] if where == "--data-dir" else ["roots"]
    env = {"ATELIER_DATA_DIR": str(afile)} if where == "ATELIER_DATA_DIR" else {}

    result = run_in_process(*args, env=env)

    assert result.returncode == 2
    assert one_line(result.stderr) == (
        f"atelier roots: {afile} is a file, not a folder: give the data folder as a folder"
    )
    assert afile.read_text() == "not a folder"


def test_a_data_dir_below_a_file_is_one_line_for_the_window_too(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")

    result = run_main("--data-dir", str(afile / "sub"), env={"QT_QPA_PLATFORM": "offscreen"})

    assert result.returncode == 2
    assert one_line(result.stderr) == (
        f"atelier: the data folder {afile / 'sub'} cannot be made: {afile} is a file, not a folder"
    )


def test_show_into_a_closed_pipe_is_quiet(data: Path, tmp_path: Path) -> None:
    """``show … | head -1``: the reader leaves early; no "Broken pipe" message, exit 141 like a shell's."""
    models = tmp_path / "models"
    models.mkdir()
    write_case(kohya_lora("sd1", rank=1, text=False), models)
    run_in_process("scan", "--no-hash", str(models), data_dir=data, check=True)
    child = subprocess.Popen(
        [sys.executable, str(MAIN), "show", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=main_env({"ATELIER_DATA_DIR": str(data)}),
        cwd=ROOT,
    )
    assert child.stdout is not None
    assert child.stderr is not None
    child.stdout.close()  # the reader is gone before the first line is written
    stderr = child.stderr.read().decode()
    code = child.wait(timeout=60)

    assert stderr == ""
    assert code == 141


def test_inspect_turns_away_a_plain_folder_and_a_sidecar(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    info = tmp_path / "add_detail.civitai.info"
    info.write_text('{"id": 1}')

    result = run_in_process("inspect", str(folder), str(info))

    assert result.returncode == 1
    assert "corrupt" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"atelier inspect: {folder}: a folder, not a diffusers model (no model_index.json or config.json); "
        "`scan` it to catalog the models inside",
        f"atelier inspect: {info}: not a model file (a .civitai.info sidecar: `show` the model beside it)",
    ]


def test_render_infotext_that_is_a_folder_is_a_usage_error(data: Path, tmp_path: Path) -> None:
    result = run_in_process("render", "--infotext", str(tmp_path), data_dir=data)

    assert result.returncode == 2
    assert (
        one_line(result.stderr) == f"atelier render: {tmp_path} is a folder: give --infotext an image or text"
    )


def test_roots_lists_library_folders_as_json(data: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    write_case(kohya_lora("sd1", rank=1, text=False), models)
    empty = run_in_process("roots", data_dir=data, check=True)
    run_in_process("scan", "--no-hash", str(models), data_dir=data, check=True)

    listed = json.loads(run_in_process("roots", "--json", data_dir=data, check=True).stdout)

    assert empty.stdout == "No library folders yet: add one with `atelier scan FOLDER`\n"
    assert [(root["id"], root["path"], root["layout"], root["file_count"]) for root in listed] == [
        (1, str(models), "flat", 1)
    ]
    assert listed[0]["added_at"]
