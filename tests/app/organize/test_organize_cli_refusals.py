"""One-line refusals of ``move``, ``rename`` and ``history`` in this process: what is wrong and what to
do, nothing moved; with ``--json`` the error is also a JSON object on stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.organize import names
from tests.app.in_process import run_in_process as run_main
from tests.app.organize.test_organize_cli import cli

__all__ = ["cli"]  # the fixture, shared with the other organize CLI tests


def _run(cli: dict[str, Any], *args: str) -> Any:
    return run_main(*args, data_dir=cli["data"], env=cli["env"])


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_several_files_to_one_new_file_name_are_refused(cli: dict[str, Any]) -> None:
    first, second = cli["first"], cli["second"]
    dest = cli["root"] / "loras" / "newname.safetensors"

    result = _run(cli, "move", str(first), str(second), str(dest))

    assert result.returncode == 1
    assert _lines(result.stderr) == [
        "atelier move: 2 files cannot take one file name (newname.safetensors): give an existing folder, "
        "or end DEST with / to make one"
    ]
    assert not dest.exists()
    assert first.exists()
    assert second.exists()


def test_a_name_over_255_bytes_is_its_own_error_not_a_conflict(cli: dict[str, Any]) -> None:
    first: Path = cli["first"]
    name = "é" * 130  # 260 bytes

    for extra in ((), ("--rename-conflicts",)):
        result = _run(cli, "rename", str(first), name, *extra)
        assert result.returncode == 1
        assert _lines(result.stderr) == [
            "atelier rename: the name is longer than 255 bytes (272): shorten it"
        ], extra
    assert first.exists()


def test_moving_into_a_folder_that_does_not_exist_says_so(cli: dict[str, Any], tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "x"

    result = _run(cli, "move", str(cli["first"]), f"{missing}/")

    assert result.returncode == 1
    assert _lines(result.stderr) == [
        f"atelier move: the folder {missing} does not exist (and is not inside a library folder)"
    ]
    assert "scan" not in result.stderr


def test_history_refuses_a_limit_below_one_as_a_usage_error(cli: dict[str, Any]) -> None:
    result = _run(cli, "history", "--limit", "-1")

    assert result.returncode == 2
    assert (
        _lines(result.stderr)[-1]
        == "atelier history: error: argument --limit: a whole number from 1 up, not -1"
    )


def test_an_error_with_json_is_also_a_json_object_on_stdout(cli: dict[str, Any]) -> None:
    result = _run(cli, "undo", "424242", "--json")

    assert result.returncode == 1
    message = "no operation 424242 (see `atelier history`)"
    assert json.loads(result.stdout) == {"error": message, "exit_code": 1}
    assert _lines(result.stderr) == [f"atelier undo: {message}"]


def test_a_move_says_which_symlink_of_the_user_now_dangles(cli: dict[str, Any]) -> None:
    first: Path = cli["first"]
    link = first.with_name("detail_tweaker_symlink.safetensors")
    link.symlink_to(first.name)
    dest = cli["root"] / "loras"

    result = _run(cli, "move", str(first), f"{dest}/")

    assert result.returncode == 0, result.stderr
    assert (
        f"Note: the symlink {link} pointed at {first} and now dangles: the file is at {dest / first.name}"
        in result.stdout
    )
    assert link.is_symlink()  # the user's link is theirs: reported, not changed


def test_on_windows_a_name_windows_would_not_keep_is_refused_in_one_line(
    cli: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first: Path = cli["first"]
    monkeypatch.setattr(names, "WINDOWS_NAME_RULES", True)

    for typed, said in (
        ("a:b", 'Windows does not allow “:” in a name (nor any of < > : " | ? * or control characters)'),
        ("aux", "Windows keeps “aux” for a device, with any extension: choose another name"),
        ("detail v2.", "Windows drops a dot or space at the end of a name: remove it"),
    ):
        result = _run(cli, "rename", str(first), typed)
        assert result.returncode == 2  # a usage mistake
        assert _lines(result.stderr) == [f"atelier rename: {said}"], typed
    assert first.exists()

    monkeypatch.setattr(names, "WINDOWS_NAME_RULES", False)
    renamed = _run(cli, "rename", str(first), "a:b")  # an ordinary name on Linux
    assert renamed.returncode == 0, renamed.stderr
    assert first.with_name("a:b.safetensors").exists()
