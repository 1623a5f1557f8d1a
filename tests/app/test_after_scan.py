"""The after-scan chain (scan → hash → look up on Civitai) on real files against the loopback Civitai; the
``scan`` command through the CLI's entry point, in this process (:mod:`tests.app.in_process`)."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.after_scan import ChainSteps, LookupRequest, context_jobs, run_chain
from app.context import AppContext
from tests.app.in_process import run_in_process
from tests.conftest import CIVITAI_URL_ENV, closed_loopback_url
from tests.factory.safetensors_writer import write_safetensors
from tests.fakes.civitai_api import CivitaiState, fake_civitai, load_payload
from tests.fakes.server import FakeServer

ROOT = Path(__file__).resolve().parents[2]
LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": ("F16", ()),
}


def civitai_model_for(sha256: str) -> dict[str, Any]:
    """A Civitai model whose first version holds a file with this SHA-256 (no example images)."""
    model: dict[str, Any] = copy.deepcopy(load_payload("04_models_modelId.json"))
    model["id"] = 700001
    model["name"] = "Detail Tweaker"
    version = model["modelVersions"][0]
    version.update(id=700002, modelId=700001, name="v1.0", baseModel="SD 1.5", images=[])
    version["trainedWords"] = ["detailed"]
    version["files"][0]["hashes"] = {"SHA256": sha256.upper()}
    return model


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """A library folder with two LoRAs: ``known`` is on the fake Civitai, ``unknown`` is not."""
    root = tmp_path / "models"
    write_safetensors(root / "Lora" / "known.safetensors", LORA, seed=1)
    write_safetensors(root / "Lora" / "unknown.safetensors", LORA, seed=2)
    return root


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest().upper()


@pytest.fixture
def state(models: Path) -> CivitaiState:
    state = CivitaiState()
    state.add_model(civitai_model_for(sha256_of(models / "Lora" / "known.safetensors")))
    return state


@pytest.fixture
def civitai(state: CivitaiState, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    with fake_civitai(state) as server:
        monkeypatch.setenv(CIVITAI_URL_ENV, server.base_url)
        yield server


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext(tmp_path / "profile")
    try:
        yield context
    finally:
        context.close()


def by_hash_posts(server: FakeServer) -> list[str]:
    return [path for method, path, _ in server.requests if method == "POST"]


def test_the_chain_finds_and_links_a_file_civitai_knows(
    context: AppContext, models: Path, civitai: FakeServer, state: CivitaiState
) -> None:
    root = context.add_root(models)

    summary = run_chain(context_jobs(context), ChainSteps(root_ids=(root.id,)))

    assert by_hash_posts(civitai) == ["/api/v1/model-versions/by-hash"], "one batch for both files"
    assert sorted(state.post_bodies[0]) == sorted(
        sha256_of(models / "Lora" / name) for name in ("known.safetensors", "unknown.safetensors")
    )
    known = context.library.get_by_path(models / "Lora" / "known.safetensors")
    assert known is not None
    (link,) = [link for link in context.library.remote_links(known.id) if link.version_id]
    assert (link.model_id, link.version_id, link.model_name) == ("700001", "700002", "Detail Tweaker")
    assert summary.looked_up is not None
    assert (summary.looked_up.matched, summary.looked_up.not_found) == (1, 1)
    assert "1 found on Civitai, 1 not on Civitai" in str(summary)


def test_offline_the_lookup_stops_quietly_and_keeps_the_files_for_later(
    context: AppContext, models: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(CIVITAI_URL_ENV, closed_loopback_url())
    root = context.add_root(models)

    started = time.monotonic()
    summary = run_chain(context_jobs(context), ChainSteps(root_ids=(root.id,)))
    elapsed = time.monotonic() - started

    assert elapsed < 5, f"an unreachable Civitai must not hold the chain up ({elapsed:.1f} s)"
    assert summary.offline
    assert summary.looked_up is not None
    assert summary.looked_up.requests == 1, "no request after the first"
    assert "next time" in str(summary)
    assert len(context.library.lookup_candidates()) == 2, "nothing recorded: both files are asked again"
    assert capfd.readouterr().err == ""


def test_a_selection_is_hashed_and_asked_again_even_when_asked_recently(
    context: AppContext, models: Path, civitai: FakeServer, state: CivitaiState
) -> None:
    root = context.add_root(models)
    run_chain(context_jobs(context), ChainSteps(root_ids=(root.id,), hash=False))
    unknown = context.library.get_by_path(models / "Lora" / "unknown.safetensors")
    assert unknown is not None
    assert unknown.hashes is None

    first = run_chain(context_jobs(context), _selection(unknown.id))
    assert first.looked_up is not None
    assert first.looked_up.not_found == 1
    again = run_chain(context_jobs(context), _selection(unknown.id))

    assert again.looked_up is not None
    assert again.looked_up.requests == 1, "asked afresh despite the miss"
    assert state.post_bodies[-1] == [sha256_of(models / "Lora" / "unknown.safetensors")]
    assert all(len(body) == 1 for body in state.post_bodies), "only the selection is asked about"


def _selection(asset_id: int) -> ChainSteps:
    return ChainSteps(scan=False, hash=False, lookup=LookupRequest(asset_ids=(asset_id,), force=True))


def _main(*args: str, data_dir: Path, civitai_url: str) -> subprocess.CompletedProcess[str]:
    env = {CIVITAI_URL_ENV: civitai_url, "ATELIER_CIVITAI_TOKEN": None}
    return run_in_process(*args, data_dir=data_dir, env=env)


def test_cli_scan_looks_new_files_up(models: Path, tmp_path: Path, civitai: FakeServer) -> None:
    data_dir = tmp_path / "cli"
    result = _main("scan", str(models), "--json", data_dir=data_dir, civitai_url=civitai.base_url)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    summary = json.loads(result.stdout)
    assert (summary["lookup"]["matched"], summary["lookup"]["not_found"]) == (1, 1)
    human = _main(
        "show", str(models / "Lora" / "known.safetensors"), "--json", data_dir=data_dir, civitai_url=""
    )
    shown = json.loads(human.stdout)
    assert any(link["version_id"] == "700002" for link in shown["remote_links"])


def test_cli_scan_no_lookup_and_the_setting_off_send_nothing(
    models: Path, tmp_path: Path, civitai: FakeServer
) -> None:
    skipped = _main("scan", str(models), "--no-lookup", data_dir=tmp_path / "a", civitai_url=civitai.base_url)
    assert skipped.returncode == 0, skipped.stderr

    settings_off = tmp_path / "b"
    settings_off.mkdir()
    (settings_off / "settings.json").write_text(json.dumps({"auto_lookup_civitai": False}))
    off = _main("scan", str(models), data_dir=settings_off, civitai_url=civitai.base_url)
    assert off.returncode == 0, off.stderr
    assert "Hashed 2 files" in off.stdout

    assert civitai.requests == [], "no request reaches Civitai"


def test_cli_scan_offline_prints_one_line_and_succeeds(models: Path, tmp_path: Path) -> None:
    result = _main("scan", str(models), data_dir=tmp_path / "c", civitai_url=closed_loopback_url())

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    (line,) = [text for text in result.stdout.splitlines() if "Civitai" in text]
    assert "next time" in line
