"""What an outside tester typed at ``main.py`` and got wrong answers for: a count below 1 is a usage error
(exit 2, like every other bad value), ``~`` in a quoted path is the home folder for every command,
``organize --fields --json`` is JSON, a copy of a catalog onto itself is refused, and a model given as a
cover says so without naming an exception class.

Each runs ``main.py`` in a child process with real files, as a user runs it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from core.organize.template import FIELDS
from tests.app.main_process import run_main
from tests.factory.models import kohya_lora, write_case


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A data folder whose library holds one LoRA: (data folder, the LoRA); scanned once for the tests
    that use it: each runs a command that is refused and changes nothing."""
    folder = tmp_path_factory.mktemp("one-lora")
    data = folder / "data"
    lora = write_case(kohya_lora("sd1", rank=1, text=False), folder / "models")
    run_main("scan", "--no-hash", "--no-lookup", str(lora.parent), data_dir=data, check=True)
    return data, lora


@pytest.mark.parametrize(
    ("command", "value"),
    [("search", "-5"), ("search", "0"), ("history", "0"), ("history", "-1"), ("history", "ten")],
)
def test_a_count_below_one_is_a_usage_error(tmp_path: Path, command: str, value: str) -> None:
    result = run_main(command, "--limit", value, data_dir=tmp_path / "data")

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    shown = value if value != "ten" else repr(value)
    assert result.stderr.strip().splitlines()[-1] == (
        f"atelier {command}: error: argument --limit: a whole number from 1 up, not {shown}"
    )
    assert not (tmp_path / "data").exists(), "refused before anything was opened"


def test_organize_fields_as_json_lists_every_field(tmp_path: Path) -> None:
    result = run_main("organize", "--fields", "--json", data_dir=tmp_path / "data", check=True)

    listed = json.loads(result.stdout)
    assert [item["field"] for item in listed] == list(FIELDS)
    assert [item["description"] for item in listed] == list(FIELDS.values())


def test_a_quoted_tilde_is_the_home_folder_for_inspect_scan_and_cover(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lora = write_case(kohya_lora("sd1", rank=1, text=False), home / "models")
    picture = home / "cover.png"
    from PIL import Image

    Image.new("RGB", (8, 8), "red").save(picture)
    env = {"HOME": str(home)}
    data = tmp_path / "data"

    (inspected,) = json.loads(
        run_main("inspect", f"~/models/{lora.name}", "--json", env=env, check=True).stdout
    )
    run_main("scan", "~/models", "--no-hash", "--no-lookup", data_dir=data, env=env, check=True)
    covered = run_main("set", "1", "--cover", "~/cover.png", data_dir=data, env=env)

    assert (inspected["kind"], inspected["path"]) == ("lora", str(lora))
    assert covered.returncode == 0, covered.stderr
    shown = json.loads(run_main("show", "1", "--json", data_dir=data, check=True).stdout)
    assert shown["path"] == str(lora)
    assert shown["cover_path"]


@pytest.mark.parametrize("replace", [False, True])
def test_copying_a_catalog_onto_itself_is_refused(library: tuple[Path, Path], replace: bool) -> None:
    data, _lora = library
    catalog = data / "catalog.sqlite3"
    before = catalog.read_bytes()
    written_as = str(data / ".." / data.name / "catalog.sqlite3")  # the same file, written another way

    result = run_main("copy-catalog", "--to", written_as, *(["--replace"] if replace else []), data_dir=data)

    assert result.returncode == 2
    assert one_line(result.stderr) == (
        f"atelier copy-catalog: the source and the target are the same catalog ({written_as}): nothing to "
        "copy; give --to another file or server (--from says what to copy, default: this catalog)"
    )
    assert catalog.read_bytes() == before
    with sqlite3.connect(catalog) as connection:
        assert connection.execute("SELECT count(*) FROM assets").fetchone() == (1,)


def test_a_model_given_as_a_cover_is_not_an_image_in_plain_words(library: tuple[Path, Path]) -> None:
    data, lora = library

    result = run_main("set", "1", "--cover", str(lora), data_dir=data)

    assert result.returncode == 1
    assert one_line(result.stderr) == (
        f"atelier set: {lora.name} is not an image Atelier can read: choose a picture (PNG, JPEG, WebP...)"
    )
    assert "Error" not in result.stderr
