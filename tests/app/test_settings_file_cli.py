"""A hand-edited ``settings.json`` with a value of the wrong kind (a word where a number goes, null) ran
every command into a traceback (``int("abc")`` while the settings were read). Through ``main.py``: the
command runs with the default for that value, the other values are kept, and one line says which values
were not used; once the settings are saved again the file holds the defaults and nothing more is said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import Settings, SettingsStore
from tests.app.main_process import run_main

type_defaults = Settings()


def test_a_value_of_the_wrong_kind_is_said_and_the_command_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    settings_file = data / "settings.json"
    written = {"hash_workers": "abc", "thumbnail_size": None, "theme": "dark", "download_concurrency": 3}
    settings_file.write_text(json.dumps(written), encoding="utf-8")

    result = run_main("roots", data_dir=data)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f'{settings_file}: ignored hash_workers="abc", thumbnail_size=null (not the right kind of value); '
        "the defaults are used instead"
    )
    kept = json.loads(settings_file.read_text(encoding="utf-8"))  # saved since (the machine's id)
    assert (kept["theme"], kept["download_concurrency"]) == ("dark", 3)
    assert (kept["hash_workers"], kept["thumbnail_size"]) == (type_defaults.hash_workers, 160)
    again = run_main("roots", data_dir=data)
    assert (again.returncode, again.stderr) == (0, "")  # said once: the file holds the defaults now


def test_the_values_of_the_right_kind_are_used(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text(
        json.dumps(
            {"hash_workers": "abc", "theme": "dark", "render_keep_checkpoints_gb": 2, "watch_folders": "no"}
        ),
        encoding="utf-8",
    )
    store = SettingsStore(data)
    settings = store.load()
    assert settings.theme == "dark"
    assert settings.render_keep_checkpoints_gb == 2.0  # an int where a float goes is a number all the same
    assert settings.hash_workers == type_defaults.hash_workers
    assert settings.watch_folders is True  # a word is not a yes/no: the default stands
    assert store.ignored == {"hash_workers": "abc", "watch_folders": "no"}


@pytest.mark.parametrize("content", ["[1, 2]", '"dark"', "null"])
def test_json_that_is_not_settings_is_set_aside_and_said(tmp_path: Path, content: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    settings_file = data / "settings.json"
    settings_file.write_text(content, encoding="utf-8")

    result = run_main("roots", data_dir=data)

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (
        f"{settings_file} could not be read: it was moved to {data / 'settings.json.bad'} and the default "
        "settings are used (copy back what you need from it)"
    )
    assert (data / "settings.json.bad").read_text(encoding="utf-8") == content
