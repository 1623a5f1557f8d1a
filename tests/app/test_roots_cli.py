"""``atelier roots``: library folders by name, and each machine's own path for a shared one.

Two profiles (two data folders: two machines, each with its own id in its settings) share one catalog on a
PostgreSQL server; the store is a real folder for the first and a symlink to it for the second, as a NAS
mounted at two places. The commands run in-process through the CLI entry (``app.cli.main``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.machine import host_name
from tests.factory.safetensors_writer import write_safetensors

FILES = ("style.safetensors", "Lora/ink.safetensors", "Lora/wash.safetensors")


def _run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def store(tmp_path: Path) -> Path:
    folder = tmp_path / "nas" / "sd"
    for seed, name in enumerate(FILES):
        write_safetensors(folder / name, {"w": ("F16", (8, 8))}, seed=seed)
    return folder


def test_a_second_machine_maps_the_shared_folder_and_rehashes_nothing(
    tmp_path: Path, store: Path, pg_catalog_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    mount = tmp_path / "mnt" / "models"
    mount.parent.mkdir()
    mount.symlink_to(store, target_is_directory=True)

    def on(machine: str, *argv: str) -> tuple[int, str, str]:
        data = str(tmp_path / machine)
        return _run("--data-dir", data, "--catalog", pg_catalog_url, *argv, capsys=capsys)

    code, out, err = on("a", "roots", "add", str(store), "--name", "NAS")
    assert (code, err) == (0, ""), err
    assert out == f"Library folder 'NAS' is {store}\n"
    assert on("a", "scan", str(store), "--no-hash")[0] == 0
    code, out, err = on("a", "hash")
    assert code == 0
    assert "Hashed 3 files" in out + err

    code, out, _ = on("b", "roots")
    assert out.rstrip().endswith(
        f"  {store}  ({host_name()}: {store}; not mapped on this machine: `atelier roots map NAS PATH`)"
    )
    code, out, err = on("b", "scan")
    assert "say where this machine reaches it first: atelier roots map NAS PATH" in out + err
    code, out, err = on("b", "roots", "map", "nas", str(mount))
    assert (code, err) == (0, ""), err
    assert out == f"On this machine 'NAS' is {mount}\n"

    code, out, err = on("b", "scan")
    assert code == 0, err
    assert "(0 new, 0 changed, 3 unchanged)" in out + err
    code, out, err = on("b", "hash")
    assert code == 0
    assert "Every file is already hashed" in out + err

    code, out, _ = on("b", "roots")
    [line] = out.splitlines()
    assert line.split()[1] == "NAS"
    assert line.endswith(f"  {mount}  (stored as {store}; {host_name()}: {store})")
    code, out, _ = on("b", "roots", "--json")
    [listed] = json.loads(out)
    assert (listed["name"], listed["path"], listed["canonical_path"]) == ("NAS", str(mount), str(store))
    assert sorted(m["path"] for m in listed["machines"]) == sorted([str(mount), str(store)])
    code, out, _ = on("b", "show", str(mount / "Lora" / "ink.safetensors"), "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["path"] == str(mount / "Lora" / "ink.safetensors")
    code, out, _ = on("a", "show", str(shown["id"]), "--json")
    assert json.loads(out)["path"] == str(store / "Lora" / "ink.safetensors")


def test_mistakes_are_one_line_each(tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    other = tmp_path / "other"
    (other / "sub").mkdir(parents=True)

    def run(*argv: str) -> tuple[int, str, str]:
        return _run("--data-dir", data, *argv, capsys=capsys)

    assert run("roots", "add", str(store), "--name", "NAS")[0] == 0
    assert run("roots", "add", str(other), "--name", "Other")[0] == 0
    gone = tmp_path / "gone"
    third = tmp_path / "third"
    third.mkdir()
    lora = store / "Lora"
    mounted = "give the folder where the shared one is mounted."
    own_place = "map each shared folder to its own place."
    folders = "(the library's folders: 'NAS', 'Other')"
    refused = [
        (["map", "Nope", str(other)], f"No library folder is named 'Nope' {folders}."),
        (["map", "NAS", str(gone)], f"{gone} does not exist on this machine: {mounted}"),
        (["map", "NAS", str(other / "sub")],
         f"{other / 'sub'} is inside the library folder 'Other' ({other}) on this machine: {own_place}"),
        (["add", str(lora)], f"{lora} is already in the library folder {store} — rescan that instead"),
        (["add", str(third), "--name", "other"],
         "Another library folder is already named 'Other': choose another name."),
    ]  # fmt: skip
    for argv, expected in refused:
        code, out, err = run("roots", *argv)
        assert (code, out) == (1, ""), argv
        assert err.splitlines() == [f"atelier roots: {expected}"], argv
    code, _, err = run("roots", "map", "NAS")
    assert code == 2
    assert err.splitlines() == ["atelier roots: roots map takes NAME PATH (see `atelier roots --help`)"]
    code, _, err = run("roots", "--name", "x")
    assert code == 2
    assert "go with `roots add`" in err
    code, out, _ = run("roots")
    assert [line.split()[1:3] for line in out.splitlines()] == [["NAS", "flat"], ["Other", "flat"]]
