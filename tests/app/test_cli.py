"""The CLI, run as a user runs it: ``python main.py <command>`` in a subprocess, real files, real catalog.

(The scans that only set a catalog up for a later command, and the searches that check the rows it left,
run through the CLI's entry point in this process.)
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.app.in_process import run_in_process
from tests.app.main_process import run_main
from tests.factory.safetensors_writer import write_safetensors

ROOT = Path(__file__).resolve().parents[2]
LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": ("F16", ()),
    "lora_te_text_model_encoder_layers_0_self_attn_out_proj.lora_down.weight": ("F16", (4, 768)),
    "lora_te_text_model_encoder_layers_0_self_attn_out_proj.lora_up.weight": ("F16", (768, 4)),
}


def run(*args: str, data_dir: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_main(*args, data_dir=data_dir, check=check)


def run_here(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """A setting-up or checking command, in this process (see the module docstring)."""
    return run_in_process(*args, data_dir=data_dir, check=True)


@pytest.fixture
def library_folder(tmp_path: Path) -> Path:
    root = tmp_path / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    write_safetensors(
        root / "models/loras/pixel-art.safetensors",
        LORA,
        metadata={"modelspec.trigger_phrase": "pixel art", "ss_output_name": "pixel-art"},
        seed=3,
    )
    write_safetensors(
        root / "models/embeddings/badhands.safetensors", {"emb_params": ("F32", (4, 768))}, seed=4
    )
    (root / "models/loras/broken.safetensors").write_bytes(b"\x10\0\0\0\0\0\0\0{not json at all")
    return root


def test_inspect_json_without_a_catalog(library_folder: Path, tmp_path: Path) -> None:
    lora = library_folder / "models/loras/pixel-art.safetensors"
    broken = library_folder / "models/loras/broken.safetensors"
    data_dir = tmp_path / "never-created"

    result = run("inspect", str(lora), str(broken), "--json", "--hash", data_dir=data_dir)

    items: list[dict[str, Any]] = json.loads(result.stdout)
    assert [item["path"] for item in items] == [str(lora), str(broken)]
    first = items[0]
    for key in (
        "kind",
        "architecture",
        "network",
        "variant",
        "prediction",
        "format",
        "precision",
        "status",
        "reasons",
        "metadata",
        "trigger_words",
        "hashes",
    ):
        assert key in first
    assert (first["kind"], first["architecture"], first["format"], first["status"]) == (
        "lora",
        "sd1",
        "safetensors",
        "ok",
    )
    assert first["network"] == "lora"
    assert first["trigger_words"] == ["pixel art"]
    assert first["hashes"]["sha256"] == hashlib.sha256(lora.read_bytes()).hexdigest().upper()
    assert first["hashes"]["autov1"] is None, "AutoV1 is undefined under 2 MiB"
    assert items[1]["status"] == "corrupt"
    assert items[1]["status_reason"]
    assert not data_dir.exists(), "inspect must not create a catalog"


def test_inspect_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = run("inspect", str(tmp_path / "nope.safetensors"), data_dir=tmp_path / "d", check=False)
    assert result.returncode == 1
    assert "nope.safetensors: no such file or folder" in result.stderr


def test_scan_search_show_round_trip(library_folder: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "profile"

    scanned = run("scan", str(library_folder), "--json", data_dir=data_dir)
    summary = json.loads(scanned.stdout)
    assert summary["scan"]["new"] == 3
    assert summary["scan"]["corrupt"] == 1
    assert summary["hash"]["hashed"] == 2

    roots = run("roots", data_dir=data_dir).stdout
    assert "comfyui" in roots
    assert str(library_folder.resolve()) in roots

    found = json.loads(run("search", "pixel", "--json", data_dir=data_dir).stdout)
    assert [item["file_name"] for item in found] == ["pixel-art.safetensors"]
    assert found[0]["hashes"]["sha256"]

    by_kind = json.loads(run("search", "--kind", "embedding", "--json", data_dir=data_dir).stdout)
    assert [item["file_name"] for item in by_kind] == ["badhands.safetensors"]
    assert json.loads(run("search", "--arch", "sdxl", "--json", data_dir=data_dir).stdout) == []

    shown = json.loads(run("show", str(found[0]["id"]), "--json", data_dir=data_dir).stdout)
    assert shown["path"] == found[0]["path"]
    assert shown["kind"] == "lora"
    by_path = json.loads(run("show", found[0]["path"], "--json", data_dir=data_dir).stdout)
    assert by_path["id"] == found[0]["id"]
    human = run("show", str(found[0]["id"]), data_dir=data_dir).stdout
    assert "pixel-art.safetensors" in human

    rescanned = json.loads(run("scan", "--json", data_dir=data_dir).stdout)
    assert rescanned["scan"]["unchanged"] == 3


def test_errors_exit_non_zero_with_one_clear_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "profile"
    no_roots = run("scan", data_dir=data_dir, check=False)
    assert no_roots.returncode == 1
    assert "no library folders yet" in no_roots.stderr

    not_a_folder = run("scan", str(tmp_path / "missing"), data_dir=data_dir, check=False)
    assert not_a_folder.returncode == 1
    assert "not a folder" in not_a_folder.stderr

    unknown = run("show", "12345", data_dir=data_dir, check=False)
    assert unknown.returncode == 1
    assert "no asset" in unknown.stderr

    usage = run("search", "--kind", "bogus", data_dir=data_dir, check=False)
    assert usage.returncode == 2


def test_data_dir_option_overrides_the_environment(library_folder: Path, tmp_path: Path) -> None:
    env_dir, flag_dir = tmp_path / "env", tmp_path / "flag"
    run("--data-dir", str(flag_dir), "scan", str(library_folder), "--no-hash", data_dir=env_dir)
    assert (flag_dir / "catalog.sqlite3").exists()
    assert not env_dir.exists()


def test_a_scan_whose_folder_is_not_there_says_it_scanned_none(library_folder: Path, tmp_path: Path) -> None:
    """An unplugged drive: the folder is left as it was, and the summary does not claim it was scanned."""
    data_dir = tmp_path / "profile"
    run_here("scan", str(library_folder), "--no-hash", data_dir=data_dir)
    library_folder.rename(tmp_path / "unplugged")

    out = run("scan", "--no-hash", data_dir=data_dir).stdout

    assert "Scanned 0 folders (1 left as it was: its files are not here): 0 files" in out
    assert f"  ! {library_folder.resolve()}: folder not found (is the drive connected?" in out
    statuses = {item["status"] for item in json.loads(run_here("search", "--json", data_dir=data_dir).stdout)}
    assert statuses == {"ok", "corrupt"}, "nothing was marked missing"


def test_a_scan_of_an_empty_mount_point_says_it_scanned_none(tmp_path: Path) -> None:
    """A drive not mounted leaves its mount point: an empty folder where the catalog lists files."""
    mount = tmp_path / "mnt" / "models"
    mount.mkdir(parents=True)
    for number in range(6):
        write_safetensors(mount / f"lora{number}.safetensors", {"w": ("F16", (8,))}, seed=number)
    data_dir = tmp_path / "profile"
    run_here("scan", str(mount), "--no-hash", data_dir=data_dir)
    for model in mount.iterdir():
        model.rename(tmp_path / model.name)  # unmounted: the folder stays, empty

    out = run("scan", "--no-hash", data_dir=data_dir).stdout

    assert "Scanned 0 folders (1 left as it was: its files are not here): 0 files" in out
    statuses = {item["status"] for item in json.loads(run_here("search", "--json", data_dir=data_dir).stdout)}
    assert statuses == {"ok"}, "nothing was marked missing"
