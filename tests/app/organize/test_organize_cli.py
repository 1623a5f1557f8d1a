"""``move``, ``rename``, ``delete``, ``undo`` and ``history`` through the CLI's entry point (in this process;
the terminal prompt through ``main.py``), as a user runs them:
the catalog follows (``show``), conflicts are listed and nothing is overwritten, deletes need a yes and
land in the (test's own) trash, undo brings the user's data back, errors are one line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from catalog.library import Library
from catalog.records import UserDataChanges
from tests.app.in_process import run_in_process as run_main
from tests.app.organize.ops_library import digest, linked_lora
from tests.app.organize.test_engine_moves import read_only


@pytest.fixture
def cli(tmp_path: Path) -> dict[str, Any]:
    """A scanned library folder with two linked LoRAs, and the environment of a user with their own trash."""
    root = tmp_path / "models"
    first = linked_lora(root / "incoming")
    second = linked_lora(root / "other", "second")
    (root / "loras").mkdir()
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    data = tmp_path / "data"
    run_main("scan", str(root), "--no-lookup", data_dir=data, env=env, check=True)
    return {
        "root": root,
        "first": first,
        "second": second,
        "data": data,
        "env": env,
        "trash": tmp_path / "xdg" / "Trash",
    }


def _run(cli: dict[str, Any], *args: str) -> Any:
    return run_main(*args, data_dir=cli["data"], env=cli["env"])


def _show(cli: dict[str, Any], target: str) -> dict[str, Any]:
    result = _run(cli, "show", target, "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_move_show_history_and_undo(cli: dict[str, Any]) -> None:
    first: Path = cli["first"]
    dest: Path = cli["root"] / "loras"
    asset_id = str(_show(cli, str(first))["id"])

    moved = _run(cli, "move", asset_id, str(dest), "--json")

    assert moved.returncode == 0, moved.stderr
    report = json.loads(moved.stdout)
    assert report["moved"] == [{"from": str(first), "to": str(dest / first.name)}]
    assert sorted(p.name for p in dest.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    shown = _show(cli, asset_id)
    assert shown["path"] == str(dest / first.name)
    assert shown["cover_path"] == str(dest / "detail_tweaker.preview.png")
    history = json.loads(_run(cli, "history", "--json").stdout)
    assert [(op["kind"], op["state"], op["next_undo"]) for op in history] == [("move", "done", True)]

    undone = _run(cli, "undo")
    assert undone.returncode == 0, undone.stderr
    assert "Undone: 1 file put back" in undone.stdout
    assert first.exists()
    assert _show(cli, asset_id)["path"] == str(first)
    assert list(dest.iterdir()) == []


def test_rename_keeps_the_extension_and_refuses_a_path(cli: dict[str, Any]) -> None:
    first: Path = cli["first"]
    renamed = _run(cli, "rename", str(first), "Détail tweaker v2")
    assert renamed.returncode == 0, renamed.stderr
    new = first.with_name("Détail tweaker v2.safetensors")
    assert new.exists()
    assert new.with_name("Détail tweaker v2.preview.png").exists()
    assert _show(cli, str(new))["file_name"] == new.name

    refused = _run(cli, "rename", str(new), "sub/name")
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "use `atelier move`" in refused.stderr
    assert new.exists()


def test_a_conflict_is_listed_and_nothing_is_overwritten(cli: dict[str, Any]) -> None:
    first: Path = cli["first"]
    second: Path = cli["second"]
    taken = {p: digest(p) for p in first.parent.iterdir()}

    refused = _run(cli, "move", str(second), str(first.parent / "detail_tweaker.safetensors"))

    assert refused.returncode == 1
    assert "1 name conflict, nothing was moved" in refused.stderr
    assert f"{first} already exists" in refused.stderr
    assert "--rename-conflicts" in refused.stderr
    assert {p: digest(p) for p in first.parent.iterdir()} == taken
    assert second.exists()

    skipped = _run(
        cli, "move", str(second), str(first.parent / "detail_tweaker.safetensors"), "--skip-conflicts"
    )
    assert skipped.returncode == 0
    assert "Skipped" in skipped.stdout
    assert second.exists()

    numbered = _run(
        cli, "move", str(second), str(first.parent / "detail_tweaker.safetensors"), "--rename-conflicts"
    )
    assert numbered.returncode == 0, numbered.stderr
    assert (first.parent / "detail_tweaker (2).safetensors").exists()
    assert (first.parent / "detail_tweaker (2).civitai.info").exists()
    assert {p: digest(p) for p in first.parent.iterdir() if p in taken} == taken


def test_delete_asks_then_goes_to_the_trash_and_undo_brings_the_users_data_back(cli: dict[str, Any]) -> None:
    first: Path = cli["first"]
    with Library.open(cli["data"] / "catalog.sqlite3") as library:
        asset = library.get_by_path(first)
        assert asset is not None
        library.update_user_data(
            asset.id, UserDataChanges(display_name="Keep me", notes="my notes", rating=5)
        )
    files = {p.name: digest(p) for p in first.parent.iterdir()}

    refused = _run(cli, "delete", str(asset.id))
    assert refused.returncode == 1
    assert "add --yes" in refused.stderr
    assert first.exists()

    deleted = _run(cli, "delete", str(asset.id), "--yes", "--json")
    assert deleted.returncode == 0, deleted.stderr
    report = json.loads(deleted.stdout)
    assert report["freed_bytes"] == sum(p.stat().st_size for p in (cli["trash"] / "files").iterdir())
    assert sorted(p.name for p in (cli["trash"] / "files").iterdir()) == sorted(files)
    assert not first.exists()
    assert _run(cli, "show", str(asset.id)).returncode == 1

    undone = _run(cli, "undo", "--json")
    assert undone.returncode == 0, undone.stderr
    assert {p.name: digest(p) for p in first.parent.iterdir()} == files
    shown = _show(cli, str(asset.id))
    assert (shown["display_name"], shown["notes"], shown["rating"]) == ("Keep me", "my notes", 5)
    assert list((cli["trash"] / "files").iterdir()) == []


def test_errors_are_one_line_and_lose_nothing(cli: dict[str, Any], tmp_path: Path) -> None:
    first: Path = cli["first"]
    second: Path = cli["second"]

    (tmp_path / "elsewhere").mkdir()
    outside = _run(cli, "move", str(first), str(tmp_path / "elsewhere") + "/")
    assert outside.returncode == 1
    assert outside.stderr.strip().count("\n") == 0
    assert f"add it first with `atelier scan {tmp_path / 'elsewhere'}`" in outside.stderr
    assert first.exists()

    locked = cli["root"] / "locked"
    with read_only(locked):
        assert not os.access(locked, os.W_OK)
        denied = _run(cli, "move", str(first), str(locked))
    assert denied.returncode == 1
    assert denied.stderr.strip().count("\n") == 0
    assert "permission" in denied.stderr.lower()
    assert "Traceback" not in denied.stderr
    assert first.exists()
    assert first.with_name("detail_tweaker.preview.png").exists()

    second.unlink()  # gone behind the catalog's back
    missing = _run(cli, "move", str(_show(cli, str(second))["id"]), str(cli["root"] / "loras"))
    assert missing.returncode == 1
    assert "is missing on disk" in missing.stderr
    assert second.with_name("second.preview.png").exists()
    assert list((cli["root"] / "loras").iterdir()) == []


def _delete_on_a_terminal(cli: dict[str, Any], target: str, answer: str) -> tuple[int, str]:
    """``main.py delete TARGET`` with a terminal as stdin (a pseudo-terminal), answering ``answer``."""
    import subprocess
    import sys

    from tests.app.main_process import MAIN, ROOT, main_env

    leader, follower = os.openpty()
    try:
        child = subprocess.Popen(
            [sys.executable, str(MAIN), "delete", target],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=main_env({"ATELIER_DATA_DIR": str(cli["data"]), **cli["env"]}),
            cwd=ROOT,
        )
        os.write(leader, answer.encode() + b"\n")
        out, err = child.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    return child.returncode, out.decode() + err.decode()


def test_delete_on_a_terminal_asks_first(cli: dict[str, Any]) -> None:
    first: Path = cli["first"]

    code, output = _delete_on_a_terminal(cli, str(first), "n")
    assert code == 0
    assert "to the trash? [y/N]" in output
    assert "Nothing was deleted." in output
    assert first.exists()

    code, output = _delete_on_a_terminal(cli, str(first), "y")
    assert code == 0, output
    assert "Sent 1 file to the trash" in output
    assert not first.exists()
    assert (cli["trash"] / "files" / first.name).exists()
