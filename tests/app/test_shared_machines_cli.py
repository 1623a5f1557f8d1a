"""Two profiles (two data folders: two machines) on one catalog on a PostgreSQL server, through the CLI
entry in the test's process (``app.cli.main``): each machine lists and syncs only its own mirrors, and
machine B undoes a delete machine A made in the shared folder, at B's own path.

B reaches A's store ``nas/sd`` through ``mnt/b/sd``, a link to it (a share mounted elsewhere).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import EXIT_FAILED, EXIT_OK
from app.machine import host_name
from tests.app.machines_on_server import Run
from tests.app.organize.ops_library import linked_lora, own_trash


@pytest.fixture
def shared(on: Run, tmp_path: Path) -> tuple[Path, Path]:
    """A adds and scans the store; B maps it at its own path. Returns (A's path, B's path)."""
    store = tmp_path / "nas" / "sd"
    linked_lora(store)
    assert on("a", "roots", "add", str(store), "--name", "NAS")[0] == EXIT_OK
    assert on("a", "scan", "--no-hash")[0] == EXIT_OK
    mount = tmp_path / "mnt" / "b" / "sd"
    mount.parent.mkdir(parents=True)
    mount.symlink_to(store, target_is_directory=True)
    assert on("b", "roots", "map", "NAS", str(mount))[0] == EXIT_OK
    return store, mount


def test_each_machine_lists_and_syncs_only_its_own_mirrors(
    on: Run, shared: tuple[Path, Path], tmp_path: Path
) -> None:
    code, out, err = on(
        "a", "mirror", "--ui", "comfyui", "--mode", "symlink", str(tmp_path / "a" / "ComfyUI")
    )
    assert (code, err) == (EXIT_OK, "")
    (mirror,) = json.loads(on("a", "mirror", "--list", "--json")[1])

    code, out, _ = on("b", "mirror", "--list")
    assert out.splitlines() == [
        "No mirrors on this machine yet: make one with `atelier mirror --ui comfyui|a1111|invokeai DEST`",
        f"Mirrors of other machines sharing this catalog (1 on {host_name()}): each machine lists and syncs "
        "its own",
    ]
    code, _, err = on("b", "mirror", "--sync", str(mirror["id"]))
    assert code == EXIT_FAILED
    assert err.splitlines() == [
        f"atelier mirror: mirror {mirror['id']} is a folder on another computer ({host_name()}): only that "
        "machine lists, syncs or removes it (see `atelier mirror --list` for this machine's mirrors)"
    ]
    code, _, err = on("b", "mirror", "--sync")  # B has none to sync
    assert (code, err.splitlines()) == (
        EXIT_FAILED,
        [
            "atelier mirror: no mirrors on this machine yet (other machines sharing this catalog have their "
            f"own: 1 on {host_name()}; each syncs its own): make one with `atelier mirror --ui comfyui DEST`"
        ],
    )
    assert json.loads(on("a", "mirror", "--list", "--json")[1]) == [mirror]  # untouched by B
    assert (tmp_path / "a" / "ComfyUI" / "models" / "loras" / "detail_tweaker.safetensors").is_symlink()


def test_b_undoes_a_delete_made_on_a(
    on: Run, shared: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_trash(monkeypatch, tmp_path / "xdg")
    store, mount = shared
    code, out, err = on("a", "delete", str(store / "detail_tweaker.safetensors"), "--yes")
    assert (code, err) == (EXIT_OK, "")
    assert not (store / "detail_tweaker.safetensors").exists()
    (operation,) = json.loads(on("b", "history", "--json")[1])

    code, out, err = on("b", "undo", str(operation["id"]))

    assert (code, err) == (EXIT_OK, "")
    assert f"  restored {mount / 'detail_tweaker.safetensors'}" in out.splitlines()
    assert (store / "detail_tweaker.safetensors").is_file()
    (hit,) = json.loads(on("a", "search", "detail", "--json")[1])
    assert hit["path"] == str(store / "detail_tweaker.safetensors")
