"""``atelier mirror`` through the CLI's entry point (in this process), as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.app.in_process import run_in_process as run_main
from tests.app.organize.mirror_library import a1111_install


@pytest.mark.slow
def test_mirror_create_list_follow_a_scan_and_remove(tmp_path: Path) -> None:
    data = tmp_path / "data"
    webui = a1111_install(tmp_path / "webui")
    run_main("scan", str(webui), "--no-hash", data_dir=data, check=True)
    comfy = tmp_path / "ComfyUI"
    (comfy / "models/loras").mkdir(parents=True)
    (comfy / "models/loras/mine.safetensors").write_bytes(b"the user's own")

    made = run_main(
        "mirror", "--ui", "comfyui", "--mode", "hardlink", str(comfy), "--json", data_dir=data, check=True
    )
    (report,) = json.loads(made.stdout)
    assert (report["added"], report["used_mode"], report["state"]) == (5, "hardlink", "ok")
    link = comfy / "models/loras/pixel.safetensors"
    assert link.stat().st_ino == (webui / "models/Lora/pixel.safetensors").stat().st_ino

    listed = json.loads(run_main("mirror", "--list", "--json", data_dir=data, check=True).stdout)
    assert [(m["ui"], m["mode"], m["target"], m["entries"]) for m in listed] == [
        ("comfyui", "hardlink", str(comfy), 5)
    ]

    # a file renamed in the library: the next scan brings the mirror along and says so
    (webui / "models/Lora/styles/ink.safetensors").rename(webui / "models/Lora/styles/ink2.safetensors")
    scanned = run_main("scan", "--no-hash", data_dir=data, check=True)
    assert "ComfyUI mirror" in scanned.stdout
    assert "1 added" in scanned.stdout
    assert "1 removed" in scanned.stdout
    assert (comfy / "models/loras/styles/ink2.safetensors").exists()
    assert not (comfy / "models/loras/styles/ink.safetensors").exists()

    removed = run_main("mirror", "--remove", str(comfy), data_dir=data, check=True)
    assert "5 entries removed" in removed.stdout
    # what it left is listed; the folders it made are gone once empty, the user's stays
    assert f"left alone: {comfy / 'models/loras/mine.safetensors'}: not made by Atelier" in removed.stdout
    assert not (comfy / "models/loras/styles").exists()
    assert not (comfy / "models/embeddings").exists()
    assert (comfy / "models/loras").is_dir()
    assert (comfy / "models/loras/mine.safetensors").read_bytes() == b"the user's own"
    assert not link.exists()
    assert (webui / "models/Lora/pixel.safetensors").exists()


def test_mirror_refusals_are_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    webui = a1111_install(tmp_path / "webui")
    run_main("scan", str(webui), "--no-hash", data_dir=data, check=True)
    inside = run_main("mirror", "--ui", "a1111", str(webui / "mirror"), data_dir=data)
    assert inside.returncode == 1
    assert inside.stderr.count("\n") == 1
    assert "is inside the library folder" in inside.stderr
    # a folder that is a link to the library: the advice fits the UI asked for
    (tmp_path / "linkroot").symlink_to(webui)
    a1111 = run_main("mirror", "--ui", "a1111", str(tmp_path / "linkroot"), data_dir=data)
    assert a1111.returncode == 1
    assert "(through a link)" in a1111.stderr
    assert "--lora-dir" in a1111.stderr
    assert "extra_model_paths" not in a1111.stderr
    no_ui = run_main("mirror", str(tmp_path / "x"), data_dir=data)
    assert no_ui.returncode == 1
    assert "--ui comfyui" in no_ui.stderr
    assert "Traceback" not in no_ui.stderr + inside.stderr


def test_comfyui_yaml_written_for_a_root_and_read_back_as_roots(tmp_path: Path) -> None:
    data = tmp_path / "data"
    webui = a1111_install(tmp_path / "webui")
    run_main("scan", str(webui), "--no-hash", data_dir=data, check=True)
    comfy = tmp_path / "ComfyUI"
    comfy.mkdir()
    yaml_file = comfy / "extra_model_paths.yaml"
    yaml_file.write_text("# mine\nother:\n  base_path: /srv/models\n  loras: loras\n", encoding="utf-8")

    written = run_main(
        "mirror", "--comfyui-yaml", str(yaml_file), "--root", str(webui), data_dir=data, check=True
    )
    assert "section 'atelier'" in written.stdout
    text = yaml_file.read_text(encoding="utf-8")
    assert text.startswith("# mine\nother:\n  base_path: /srv/models\n  loras: loras\n")
    assert yaml.safe_load(text)["atelier"]["loras"] == "models/Lora"

    # another profile reads the file and takes its folders as library folders
    other_data = tmp_path / "other-data"
    listed = run_main(
        "mirror", "--read-comfyui-yaml", str(yaml_file), "--json", data_dir=other_data, check=True
    )
    assert json.loads(listed.stdout)["offered"] == [str(webui)]  # /srv/models is not on this machine
    run_main("mirror", "--read-comfyui-yaml", str(yaml_file), "--add-roots", data_dir=other_data, check=True)
    roots = json.loads(run_main("roots", "--json", data_dir=other_data, check=True).stdout)
    assert [(r["path"], r["layout"]) for r in roots] == [(str(webui), "a1111")]


def test_kinds_take_spaces_or_commas_with_dest_before_or_after(tmp_path: Path) -> None:
    data = tmp_path / "data"
    webui = a1111_install(tmp_path / "webui")  # two LoRAs and an embedding
    run_main("scan", str(webui), "--no-hash", data_dir=data, check=True)
    lines = {
        "dest last": ("--ui", "comfyui", "--kinds", "checkpoint", "lora", str(tmp_path / "last"), "--json"),
        "dest first": (str(tmp_path / "first"), "--ui", "comfyui", "--kinds", "checkpoint", "lora", "--json"),
        "commas": ("--ui", "comfyui", "--kinds", "checkpoint,lora", str(tmp_path / "commas"), "--json"),
    }
    for name, argv in lines.items():
        made = run_main("mirror", *argv, data_dir=data)
        assert made.returncode == 0, (name, made.stderr)
        (report,) = json.loads(made.stdout)
        assert report["added"] == 4, name  # the two LoRAs, pixel's preview and notes; not the embedding
    listed = json.loads(run_main("mirror", "--list", "--json", data_dir=data, check=True).stdout)
    assert sorted((Path(m["target"]).name, m["kinds"]) for m in listed) == [
        (name, ["checkpoint", "lora"]) for name in ("commas", "first", "last")
    ]
    assert (tmp_path / "last/models/loras/pixel.safetensors").is_symlink()
    assert not (tmp_path / "last/models/embeddings").exists()

    # A kind mistyped last is said, never taken as the folder to fill.
    typo = run_main("mirror", "--ui", "comfyui", "--kinds", "checkpoint", "lorra", data_dir=data)
    assert typo.returncode != 0
    assert typo.stderr.count("\n") == 1
    assert "'lorra' is not a kind (did you mean lora?" in typo.stderr
    assert not (Path.cwd() / "lorra").exists()
    help_text = run_main("mirror", "--help", data_dir=data).stdout
    assert "--kinds KIND [KIND ...]" in help_text
    assert "separated by spaces or commas" in " ".join(help_text.split())
