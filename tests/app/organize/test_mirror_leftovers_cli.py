"""What a mirror leaves behind after the library changes, through the CLI as a user runs it.

Folders the mirror made for entries that moved away (a sub-folder emptied by a move or an undo, another
UI's layout after ``--ui`` changed) are removed once empty; a folder holding the user's own file stays. An
entry the user changed (an edited copy whose library file was renamed since) is kept as theirs, and every
sync says so in its one line, not only the silent sync that ran with the rename.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.app.in_process import run_in_process as run_main
from tests.app.organize.mirror_library import a1111_install


def _folders(top: Path) -> list[str]:
    return sorted(str(path.relative_to(top)) for path in top.rglob("*") if path.is_dir())


def _asset_id(data: Path, path: Path) -> str:
    return str(json.loads(run_main("show", str(path), "--json", data_dir=data, check=True).stdout)["id"])


def test_folders_the_mirror_made_go_once_empty_and_the_users_stay(tmp_path: Path) -> None:
    data = tmp_path / "data"
    webui = a1111_install(tmp_path / "webui")
    run_main("scan", str(webui), "--no-hash", "--no-lookup", data_dir=data, check=True)
    comfy = tmp_path / "ComfyUI"
    run_main("mirror", "--ui", "comfyui", "--mode", "hardlink", str(comfy), data_dir=data, check=True)
    pixel = _asset_id(data, webui / "models/Lora/pixel.safetensors")

    run_main("move", pixel, str(webui / "models/Lora/pk") + "/", data_dir=data, check=True)
    assert (comfy / "models/loras/pk/pixel.safetensors").is_file()  # the mirror followed the move
    run_main("undo", data_dir=data, check=True)

    assert (comfy / "models/loras/pixel.safetensors").is_file()
    assert not (comfy / "models/loras/pk").exists()  # left empty by the undo: gone
    synced = run_main("mirror", "--sync", data_dir=data, check=True)
    assert not (comfy / "models/loras/pk").exists()
    assert "0 added, 0 updated, 0 removed" in synced.stdout

    (comfy / "models/loras/styles/mine.safetensors").write_bytes(b"the user's own")
    changed = run_main("mirror", "--ui", "a1111", str(comfy), data_dir=data, check=True)

    assert "1 empty folder removed" in changed.stdout  # models/embeddings: ComfyUI's, now empty
    assert _folders(comfy) == [
        "embeddings",
        "models",
        "models/Lora",
        "models/Lora/styles",
        "models/loras",  # kept: it holds the folder with the user's file
        "models/loras/styles",
    ]
    assert (comfy / "models/loras/styles/mine.safetensors").read_bytes() == b"the user's own"


def test_a_copy_the_user_edited_is_kept_and_every_sync_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    webui = a1111_install(tmp_path / "webui")
    run_main("scan", str(webui), "--no-hash", "--no-lookup", data_dir=data, check=True)
    mirror = tmp_path / "forge"
    run_main("mirror", "--ui", "a1111", "--mode", "copy", str(mirror), data_dir=data, check=True)
    copy = mirror / "models/Lora/styles/ink.safetensors"
    with copy.open("ab") as handle:
        handle.write(b"the user's edit")
    ink = _asset_id(data, webui / "models/Lora/styles/ink.safetensors")

    run_main("rename", ink, "ink2", data_dir=data, check=True)  # the mirror syncs with it, silently

    assert copy.read_bytes().endswith(b"the user's edit")
    assert (mirror / "models/Lora/styles/ink2.safetensors").is_file()
    for _ in range(2):  # every sync says it, not only the first after the rename
        synced = run_main("mirror", "--sync", data_dir=data, check=True)
        (line,) = synced.stdout.strip().splitlines()
        assert (
            f"kept {copy} as yours: changed since Atelier made it, it no longer follows the library" in line
        )
    copy.unlink()
    synced = run_main("mirror", "--sync", data_dir=data, check=True)
    assert "kept" not in synced.stdout
