"""``search civitai|hf`` and ``enrich`` run as a user runs them, against loopback Civitai and Hub servers."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.main_process import run_main
from tests.factory.safetensors_writer import write_safetensors
from tests.fakes.civitai_api import CivitaiState, fake_civitai, load_payload
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.hub_api import load_payload as load_hub_payload
from tests.fakes.server import FakeServer, serve

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_main(*args, env=env, check=check)


@pytest.fixture
def civitai() -> Iterator[FakeServer]:
    with fake_civitai(CivitaiState.from_reference()) as server:
        yield server


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeServer]:
    state = HubState()
    state.add(load_hub_payload(str(ROOT / "tests/data/huggingface/RepoHFMetadata1.json")))
    with serve(HubHandler, state) as server:
        yield server


def _env(tmp_path: Path, civitai: FakeServer | None = None, hub: FakeServer | None = None) -> dict[str, str]:
    env = {
        "ATELIER_DATA_DIR": str(tmp_path / "profile"),
        "HF_HOME": str(tmp_path / "hf-home"),
        "ATELIER_CIVITAI_TOKEN": "",
        "HF_TOKEN": "",
    }
    if civitai is not None:
        env["ATELIER_CIVITAI_URL"] = civitai.base_url
    if hub is not None:
        env["HF_ENDPOINT"] = hub.base_url
    return env


def test_search_civitai_with_filters_and_json(civitai: FakeServer, tmp_path: Path) -> None:
    env = _env(tmp_path, civitai=civitai)

    human = run("search", "civitai", "--type", "Checkpoint", env=env).stdout
    data: dict[str, Any] = json.loads(run("search", "civitai", "--json", "--limit", "2", env=env).stdout)

    assert "Checkpoint" in human
    assert len(data["items"]) == 2
    first_file = data["items"][0]["versions"][0]["files"][0]
    assert first_file["in_library"] is False
    assert "raw" not in data["items"][0]
    paths = [path for _, path, _ in civitai.requests]
    assert any("types=Checkpoint" in path for path in paths)


def test_search_hf(hub: FakeServer, tmp_path: Path) -> None:
    env = _env(tmp_path, hub=hub)
    out = run("search", "hf", "turbo", env=env).stdout
    assert "stabilityai/sdxl-turbo" in out
    data = json.loads(run("search", "hf", "turbo", "--json", env=env).stdout)
    assert data[0]["repo_id"] == "stabilityai/sdxl-turbo"
    bad = run("search", "hf", "x", "--sort", "bogus", env=env, check=False)
    assert bad.returncode == 1
    assert "--sort for hf" in bad.stderr


def test_enrich_finds_a_scanned_file_on_civitai(tmp_path: Path) -> None:
    lora = write_safetensors(
        tmp_path / "webui/models/Lora/pixel.safetensors",
        {
            "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
                "F16",
                (4, 768),
            ),
            "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": (
                "F16",
                (320, 4),
            ),
        },
        seed=5,
    )
    env = _env(tmp_path)
    run("scan", str(tmp_path / "webui"), env=env)
    found = json.loads(run("search", "pixel", "--json", env=env).stdout)
    sha256 = found[0]["hashes"]["sha256"]

    model: dict[str, Any] = copy.deepcopy(load_payload("04_models_modelId.json"))
    version = model["modelVersions"][0]
    version["files"][0]["hashes"] = {"SHA256": sha256}
    version["trainedWords"] = ["pixel art"]
    version["images"] = []
    state = CivitaiState()
    state.add_model(model)
    with fake_civitai(state) as server:
        env["ATELIER_CIVITAI_URL"] = server.base_url
        summary = json.loads(run("enrich", "--json", env=env).stdout)
        shown = json.loads(run("show", str(lora), "--json", env=env).stdout)
        listed = run("search", "civitai", env=env).stdout

    assert (summary["matched"], summary["requests"]) == (1, 1)
    assert shown["civitai"]["trigger_words"] == ["pixel art"]
    assert shown["remote_links"][0]["version_id"] == str(version["id"])
    assert "[in library]" in listed
