"""``download`` and ``downloads`` run as a user runs them, against loopback Civitai, Hub and file servers."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.factory.safetensors_writer import write_safetensors
from tests.fakes.civitai_api import CivitaiState, fake_civitai, load_payload
from tests.fakes.file_server import Fault, FileServerState, serve_files
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.server import FakeServer, serve

ROOT = Path(__file__).resolve().parents[2]
LORA_KEYS = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
}
VERSION_ID = 910002


@dataclass
class Sites:
    civitai: FakeServer
    hub: FakeServer
    files: FakeServer
    file_state: FileServerState
    lora: bytes
    env: dict[str, str]
    root: Path


def _lora(tmp: Path) -> bytes:
    return write_safetensors(tmp / "factory" / "lora.safetensors", LORA_KEYS, seed=11).read_bytes()


def _civitai_state(lora: bytes, file_url: str) -> CivitaiState:
    model: dict[str, Any] = copy.deepcopy(load_payload("04_models_modelId.json"))
    model["id"] = 910001
    model["type"] = "LORA"
    model["tags"] = ["pixel", "style"]
    version = model["modelVersions"][0]
    version.update(id=VERSION_ID, modelId=910001, baseModel="SD 1.5", trainedWords=["pixel art"], images=[])
    file = version["files"][0]
    file.update(
        name="pixel_art.safetensors",
        sizeKB=len(lora) / 1024,
        hashes={"SHA256": hashlib.sha256(lora).hexdigest().upper()},
        downloadUrl=file_url,
        primary=True,
    )
    version["files"] = [file]
    state = CivitaiState()
    state.add_model(model)
    return state


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Sites]:
    lora = _lora(tmp_path)
    with serve_files() as (files, file_state):
        file_state.add("/api/download/models/910002", lora)
        hub_state = HubState()
        hub_state.add(
            {"id": "someone/pixel-lora", "sha": "d" * 40, "tags": ["lora", "diffusers"]},
            contents={"pixel_lora.safetensors": lora},
        )
        with (
            fake_civitai(_civitai_state(lora, files.base_url + "/api/download/models/910002")) as civitai,
            serve(HubHandler, hub_state) as hub,
        ):
            root = tmp_path / "stable-diffusion-webui"
            (root / "models" / "Stable-diffusion").mkdir(parents=True)
            (root / "webui.py").write_text("")
            env = {
                "ATELIER_DATA_DIR": str(tmp_path / "profile"),
                "ATELIER_CIVITAI_URL": civitai.base_url,
                "ATELIER_CIVITAI_TOKEN": "",
                "HF_ENDPOINT": hub.base_url,
                "HF_HOME": str(tmp_path / "hf-home"),
                "HF_TOKEN": "",
            }
            yield Sites(civitai, hub, files, file_state, lora, env, root)


def run(sites: Sites, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **sites.env},
        cwd=ROOT,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def test_download_from_civitai_lands_identified_and_linked(sites: Sites) -> None:
    run(sites, "scan", str(sites.root))

    (result,) = json.loads(run(sites, "download", f"civitai:{VERSION_ID}", "--json").stdout)

    path = Path(result["path"])
    assert path == sites.root / "models" / "Lora" / "pixel_art.safetensors"
    assert path.read_bytes() == sites.lora
    assert not list(path.parent.glob("*.part"))
    assert (result["kind"], result["architecture"]) == ("lora", "sd1")
    shown = json.loads(run(sites, "show", str(result["asset_id"]), "--json").stdout)
    assert shown["trigger_words"] == ["pixel art"]
    assert shown["base_model_label"] == "SD 1.5"
    assert shown["remote_links"][0]["version_id"] == str(VERSION_ID)
    lookups = [p for method, p, _ in sites.civitai.requests if method == "POST"]
    assert lookups == [], "a downloaded file needs no hash lookup"
    listed = json.loads(run(sites, "downloads", "--json").stdout)
    assert [(d["status"], d["completed_path"]) for d in listed] == [("completed", str(path))]


def test_download_from_hugging_face(sites: Sites) -> None:
    run(sites, "scan", str(sites.root))
    (result,) = json.loads(
        run(sites, "download", "hf:someone/pixel-lora/pixel_lora.safetensors", "--json").stdout
    )
    assert Path(result["path"]).parent == sites.root / "models" / "Lora"
    shown = json.loads(run(sites, "show", str(result["asset_id"]), "--json").stdout)
    assert shown["remote_links"][0]["site"] == "huggingface"
    assert shown["remote_links"][0]["model_id"] == "someone/pixel-lora"


def test_a_failed_download_is_reported_and_can_be_resumed(sites: Sites) -> None:
    run(sites, "scan", str(sites.root))
    sites.file_state.faults["/api/download/models/910002"] = Fault(
        status=401, status_times=1, json_body={"error": "Unauthorized", "message": "log in"}
    )

    failed = run(sites, "download", f"civitai:{VERSION_ID}", check=False)

    assert failed.returncode == 1
    assert "API key" in failed.stderr
    (record,) = json.loads(run(sites, "downloads", "--json").stdout)
    assert record["status"] == "failed"
    resumed = run(sites, "downloads", "resume", str(record["id"]))
    assert "Downloaded" in resumed.stdout
    assert (sites.root / "models" / "Lora" / "pixel_art.safetensors").read_bytes() == sites.lora


def test_targets_are_checked_before_anything_is_fetched(sites: Sites) -> None:
    bad = run(sites, "download", f"civitai:{VERSION_ID}", "not-a-target", check=False)
    assert bad.returncode == 1
    assert "expected civitai:" in bad.stderr
    assert sites.civitai.requests == []
    no_root = run(sites, "download", f"civitai:{VERSION_ID}", check=False)
    assert no_root.returncode == 1
    assert "library folder" in no_root.stderr
