"""``main.py organize --template``: the plan first, then the moves with sidecars, the catalog following."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.app.in_process import run_in_process as run_main
from tests.app.main_process import MAIN, ROOT, main_env
from tests.app.organize.template_library import linked_lora, write_embedding

TEMPLATE = "{kind}/{architecture}/{creator}"


def _library(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "models"
    linked_lora(root / "incoming")
    write_embedding(root / "e1.safetensors", 1)
    write_embedding(root / "e2.safetensors", 2, sdxl=True)
    env = {"ATELIER_DATA_DIR": str(tmp_path / "data"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    run_main("scan", str(root), "--no-hash", env=env, check=True)
    return root, env


def test_dry_run_shows_the_plan_and_moves_nothing(tmp_path: Path) -> None:
    root, env = _library(tmp_path)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))

    shown = run_main("organize", "--template", TEMPLATE, "--dry-run", env=env, check=True)

    assert "incoming/detail_tweaker.safetensors  ->  LoRA/SD 1.x/OedoSoldier/detail_tweaker.safetensors" in (
        shown.stdout
    )
    assert "3 to move (5 files with sidecars and previews), 0 conflicts, 0 already in place" in shown.stdout
    assert "dry run: nothing was moved" in shown.stdout
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before

    data = json.loads(run_main("organize", "--template", TEMPLATE, "--dry-run", "--json", env=env).stdout)
    assert data["dry_run"] is True
    assert data["considered"] == 3
    lora = next(m for m in data["moves"] if m["from"].endswith("detail_tweaker.safetensors"))
    assert {Path(c["to"]).name for c in lora["companions"]} == {
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
    }


def test_apply_moves_files_with_their_sidecars_and_the_catalog_follows(tmp_path: Path) -> None:
    root, env = _library(tmp_path)

    done = run_main("organize", "--template", TEMPLATE, "--yes", "--json", env=env, check=True)

    result = json.loads(done.stdout)["result"]
    assert (result["done"], result["failed"], result["cancelled"]) == (3, [], False)
    target = root / "LoRA" / "SD 1.x" / "OedoSoldier"
    assert sorted(p.name for p in target.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    assert not (root / "incoming").exists()  # the folder the move emptied is gone
    shown = json.loads(run_main("show", str(target / "detail_tweaker.safetensors"), "--json", env=env).stdout)
    assert shown["path"] == str(target / "detail_tweaker.safetensors")
    again = run_main("organize", "--template", TEMPLATE, env=env, check=True)  # nothing to ask about
    assert "0 to move, 0 conflicts, 3 already in place" in again.stdout
    undone = run_main("undo", env=env)
    if undone.returncode == 0:  # the engine's undo (another command) puts everything back
        assert (root / "incoming" / "detail_tweaker.safetensors").exists()


def _safetensors(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.safetensors"))


def test_conflicts_stop_everything_as_move_does(tmp_path: Path) -> None:
    root, env = _library(tmp_path)
    before = _safetensors(root)

    shown = run_main("organize", "--template", "{kind}/same.{ext}", "--yes", env=env)

    assert shown.returncode == 1
    assert "another file of this operation goes to" in shown.stdout  # listed with the plan
    assert "2 to move (4 files with sidecars and previews), 1 conflict," in shown.stdout
    assert "atelier organize: 1 conflict, nothing was moved (nothing is ever overwritten)" in shown.stderr
    assert '--rename-conflicts to add " (2)"' in shown.stderr
    assert "--skip-conflicts to move the rest" in shown.stderr
    assert "Traceback" not in shown.stderr
    assert _safetensors(root) == before  # not one file moved

    data = json.loads(
        run_main("organize", "--template", "{kind}/same.{ext}", "--yes", "--json", env=env).stdout
    )
    assert data["result"] is None
    assert [c["code"] for c in data["conflicts"]] == ["taken"]
    assert _safetensors(root) == before


def test_skip_conflicts_moves_the_rest(tmp_path: Path) -> None:
    root, env = _library(tmp_path)

    done = run_main("organize", "--template", "{kind}/same.{ext}", "--skip-conflicts", "--yes", env=env)

    assert done.returncode == 0, done.stderr
    assert "Moved 2 files with 1 sidecar and 1 preview, 1 conflict left in place" in done.stdout
    assert _safetensors(root) == ["Embedding/same.safetensors", "LoRA/same.safetensors", "e2.safetensors"]


def test_rename_conflicts_numbers_the_taken_names(tmp_path: Path) -> None:
    root, env = _library(tmp_path)

    done = run_main("organize", "--template", "{kind}/same.{ext}", "--rename-conflicts", "--yes", env=env)

    assert done.returncode == 0, done.stderr
    assert "Moved 3 files with 1 sidecar and 1 preview (undo with `atelier undo`)" in done.stdout
    assert _safetensors(root) == [
        "Embedding/same (2).safetensors",
        "Embedding/same.safetensors",
        "LoRA/same.safetensors",
    ]
    assert sorted(p.name for p in (root / "LoRA").iterdir()) == [
        "same.civitai.info",
        "same.preview.png",
        "same.safetensors",
    ]


def test_without_a_terminal_it_needs_yes(tmp_path: Path) -> None:
    root, env = _library(tmp_path)
    before = _safetensors(root)

    refused = run_main("organize", "--template", TEMPLATE, env=env)

    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "atelier organize: not moving 3 files without confirmation: add --yes" in refused.stderr
    assert "3 to move" in refused.stdout  # the plan was shown first
    assert _safetensors(root) == before


def _organize_on_a_terminal(env: dict[str, str], answer: str) -> tuple[int, str]:
    """``main.py organize --template TEMPLATE`` with a pseudo-terminal as stdin, answering ``answer``."""
    leader, follower = os.openpty()
    try:
        child = subprocess.Popen(
            [sys.executable, str(MAIN), "organize", "--template", TEMPLATE],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=main_env(env),
            cwd=ROOT,
        )
        os.write(leader, answer.encode() + b"\n")
        out, err = child.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    return child.returncode, out.decode() + err.decode()


def test_on_a_terminal_it_asks_first(tmp_path: Path) -> None:
    root, env = _library(tmp_path)
    before = _safetensors(root)

    code, output = _organize_on_a_terminal(env, "n")

    assert code == 0, output
    assert "Move 3 files (5 with sidecars and previews)? [y/N]" in output
    assert "Nothing was moved." in output
    assert _safetensors(root) == before

    code, output = _organize_on_a_terminal(env, "y")

    assert code == 0, output
    assert "Moved 3 files with 1 sidecar and 1 preview (undo with `atelier undo`)" in output
    assert "LoRA/SD 1.x/OedoSoldier/detail_tweaker.safetensors" in _safetensors(root)


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    _root, env = _library(tmp_path)
    for args, message, code in (
        (
            ("--template", "{kind}/{creater}"),
            "unknown field {creater} in the template (did you mean {creator}?)",
            2,
        ),
        (("--template", "{nosuch}"), "unknown field {nosuch} in the template", 2),
        (("--template", "{kind", "--dry-run"), "the template has a '{' without its '}'", 2),
        (("--template", "/etc/{kind}", "--yes"), "the template '/etc/{kind}' is an absolute path", 2),
        (("--template", "..", "--yes"), "the template may not use '.' or '..' as a folder", 2),
        (("--template", "{kind}/.old", "--yes"), "the template's part '.old' starts with '.'", 2),
        (("--root", "77", "--dry-run"), "'77' is not a library folder (see `atelier roots`)", 1),
        (("nope.safetensors", "--dry-run"), "no asset with id or path 'nope.safetensors'", 1),
    ):
        result = run_main("organize", *args, env=env)
        assert result.returncode == code, (args, result.stderr)  # a bad template is a usage mistake: 2
        assert message in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_names_from_the_catalog_never_hide_a_file_from_the_next_scan(tmp_path: Path) -> None:
    """A display name starting with "." made a hidden folder: the next scan skipped it, marked the file
    missing and it left the library while still on disk. The leading dots are dropped."""
    root, env = _library(tmp_path)
    first, second = root / "e1.safetensors", root / "e2.safetensors"
    run_main("set", str(first), "--name", ".hack style", env=env, check=True)
    run_main("set", str(second), "--name", "../../../escape", env=env, check=True)
    template = "{kind}/{model_name}/{model_name}.{ext}"

    run_main("organize", str(first), str(second), "--template", template, "--yes", env=env, check=True)
    run_main("scan", env=env, check=True)

    hack = root / "Embedding" / "hack style" / "hack style.safetensors"
    escape = root / "Embedding" / "_.._.._escape" / "_.._.._escape.safetensors"
    for path in (hack, escape):
        shown = json.loads(run_main("show", str(path), "--json", env=env, check=True).stdout)
        assert (shown["path"], shown["status"]) == (str(path), "ok")
    assert not [path for path in root.rglob("*") if path.name.startswith(".")]


def test_fields_are_documented(tmp_path: Path) -> None:
    env = {"ATELIER_DATA_DIR": str(tmp_path / "data")}
    listed = run_main("organize", "--fields", env=env, check=True).stdout
    assert "{base_label}" in listed
    assert "{kind_folder}" in listed
    helped = run_main("organize", "--help", env=env, check=True).stdout
    assert "{field|text}" in helped
    assert "{creator}" in helped


def test_files_go_into_the_chosen_library_folder(tmp_path: Path) -> None:
    first, env = _library(tmp_path)
    second = tmp_path / "ssd"
    second.mkdir()
    run_main("scan", str(second), "--no-hash", env=env, check=True)

    moved = run_main(
        "organize",
        "--template",
        "{kind}",
        "--from",
        str(first),
        "--kind",
        "embedding",
        "--root",
        str(second),
        "--yes",
        "--json",
        env=env,
        check=True,
    )

    result = json.loads(moved.stdout)
    assert result["result"]["done"] == 2
    assert sorted(p.name for p in (second / "Embedding").iterdir()) == ["e1.safetensors", "e2.safetensors"]
    assert (first / "incoming" / "detail_tweaker.safetensors").exists()  # a LoRA: not in the scope
    roots = {r["path"]: r["file_count"] for r in json.loads(run_main("roots", "--json", env=env).stdout)}
    assert roots[str(second.resolve())] == 2
    assert roots[str(first.resolve())] == 1
