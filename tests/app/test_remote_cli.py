"""``search civitai|hf`` and ``enrich`` run as a user runs them, against loopback Civitai and Hub servers
(through the CLI's entry point, in this process: :mod:`tests.app.in_process`)."""

from __future__ import annotations

import copy
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.in_process import run_in_process
from tests.factory.safetensors_writer import write_safetensors
from tests.fakes.civitai_api import CivitaiState, fake_civitai, load_payload
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.hub_api import load_payload as load_hub_payload
from tests.fakes.server import FakeHandler, FakeServer, serve

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_in_process(*args, env=env, check=check)


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
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "atelier search: --sort 'bogus' is not one of: "
        "downloads, likes, last_modified, created_at, trending_score"
    )


def test_search_hf_takes_options_before_the_words_and_says_when_nothing_matches(
    hub: FakeServer, tmp_path: Path
) -> None:
    env = _env(tmp_path, hub=hub)

    found = run("search", "hf", "--sort", "likes", "turbo", env=env)
    nothing = run("search", "hf", "--sort", "Most liked", "zzzz", env=env)

    assert "stabilityai/sdxl-turbo" in found.stdout
    assert nothing.stdout == "No models match “zzzz”.\n"
    assert any("search=turbo" in path and "sort=likes" in path for _, path, _ in hub.requests)


def test_search_civitai_options_may_come_before_the_words(civitai: FakeServer, tmp_path: Path) -> None:
    env = _env(tmp_path, civitai=civitai)

    result = run("search", "civitai", "--type", "LORA", "pixel", "--sort", "Newest", "art", env=env)

    assert result.returncode == 0
    paths = [path for _, path, _ in civitai.requests]
    assert any("query=pixel+art" in p and "types=LORA" in p and "sort=Newest" in p for p in paths), paths


def test_search_civitai_says_on_stderr_while_the_site_asks_to_wait(
    civitai: FakeServer, tmp_path: Path
) -> None:
    civitai.state.fail_next(429, retry_after="1")

    result = run("search", "civitai", "pixel", env=_env(tmp_path, civitai=civitai))

    assert result.returncode == 0, result.stderr
    assert "asked us to wait 1 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert "asked us to wait" not in result.stdout  # the results stay clean for a pipe


def test_search_civitai_says_when_nothing_matches(civitai: FakeServer, tmp_path: Path) -> None:
    result = run("search", "civitai", "zzzz", env=_env(tmp_path, civitai=civitai))

    assert result.returncode == 0
    assert result.stdout == "No models match “zzzz”.\n"


def test_search_civitai_speaks_the_users_words(civitai: FakeServer, tmp_path: Path) -> None:
    """``--type embedding`` asks for TextualInversion; the answer says "Embedding", not the API's word."""
    result = run("search", "civitai", "--type", "embedding", env=_env(tmp_path, civitai=civitai))

    assert "Embedding" in result.stdout
    assert "TextualInversion" not in result.stdout
    assert any("types=TextualInversion" in path for _, path, _ in civitai.requests)


@pytest.mark.parametrize(
    ("option", "value", "known"),
    [
        ("--type", "Foo", "Checkpoint, LoRA, LoCon, DoRA, LyCORIS, Embedding, "),
        ("--sort", "foo", "Highest rated, Most downloaded, Newest"),
        ("--period", "fortnight", "All time, Past year, Past month, Past week, Past day"),
    ],
)
def test_search_civitai_refuses_unknown_values_in_one_line(
    civitai: FakeServer, tmp_path: Path, option: str, value: str, known: str
) -> None:
    result = run("search", "civitai", option, value, "x", env=_env(tmp_path, civitai=civitai), check=False)

    assert result.returncode == 2
    assert result.stderr.startswith(f"atelier search: {option} {value!r} is not one of: {known}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert civitai.requests == []


def test_other_commands_still_refuse_stray_words(tmp_path: Path) -> None:
    result = run("history", "stray", env=_env(tmp_path), check=False)

    assert result.returncode == 2
    assert "unrecognized arguments: stray" in result.stderr
    # roots takes an action now (list, add, map, unmap, remove): a stray word is an unknown action.
    result = run("roots", "stray", env=_env(tmp_path), check=False)
    assert result.returncode == 2
    assert "invalid choice: 'stray' (choose from 'list', 'add', 'map', 'unmap', 'remove')" in result.stderr


def _scanned_lora(tmp_path: Path, env: dict[str, str]) -> tuple[Path, str]:
    """A small LoRA scanned into the library: its path and SHA256."""
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
    run("scan", str(tmp_path / "webui"), env=env)
    found = json.loads(run("search", "pixel", "--json", env=env).stdout)
    return lora, str(found[0]["hashes"]["sha256"])


def test_enrich_finds_a_scanned_file_on_civitai(tmp_path: Path) -> None:
    env = _env(tmp_path)
    lora, sha256 = _scanned_lora(tmp_path, env)

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
    assert summary["message"] == "Looked up 1 file on Civitai in 1 request: 1 found, 0 not on Civitai"
    assert shown["civitai"]["trigger_words"] == ["pixel art"]
    assert shown["remote_links"][0]["version_id"] == str(version["id"])
    assert "[in library]" in listed


def test_enrich_keeps_a_huge_description_trimmed(tmp_path: Path) -> None:
    """A lookup whose model and version each carry a 3 MB description (under the answer cap): the library's
    link keeps each cut to 64 Ki characters with the mark a download's facts get (before: 3 MB as HTML,
    3 MB again as text and 3 MB in the payload)."""
    env = _env(tmp_path)
    _, sha256 = _scanned_lora(tmp_path, env)
    model: dict[str, Any] = copy.deepcopy(load_payload("04_models_modelId.json"))
    huge = "<p>" + "A" * (3 * 1024 * 1024) + "</p>"
    model["description"] = huge
    version = model["modelVersions"][0]
    version["files"][0]["hashes"] = {"SHA256": sha256}
    version["description"] = huge
    state = CivitaiState()
    state.add_model(model)
    with fake_civitai(state) as server:
        env["ATELIER_CIVITAI_URL"] = server.base_url
        summary = json.loads(run("enrich", "--json", env=env).stdout)

    assert summary["matched"] == 1
    with sqlite3.connect(tmp_path / "profile" / "catalog.sqlite3") as db:
        html, text, payload = db.execute(
            "SELECT description_html, description_text, payload FROM remote_links"
        ).fetchone()
    mark = f"\n… [cut by Atelier: the site's description has {len(huge):,} characters]"
    assert html == huge[: 64 * 1024] + mark
    assert json.loads(payload)["description"] == huge[: 64 * 1024] + mark
    assert len(text) < 64 * 1024 + 100


class NotASiteHandler(FakeHandler):
    """Some other web server: 404 for every path (``state`` "404"), or JSON of another shape ("json")."""

    def do_GET(self) -> None:
        self.record()
        if self.server.state == "404":
            self.send_json({"error": "no such page"}, status=404)
        else:
            self.send_json({"hello": "world"})

    def do_POST(self) -> None:
        self.do_GET()


@pytest.mark.parametrize(
    ("answer", "detail"),
    [("404", "HTTP 404 for /api/v1/models"), ("json", "an answer for /api/v1/models in another shape")],
)
def test_a_civitai_address_that_is_not_civitai_is_named(tmp_path: Path, answer: str, detail: str) -> None:
    with serve(NotASiteHandler, answer) as other:
        env = {**_env(tmp_path), "ATELIER_CIVITAI_URL": other.base_url}
        result = run("search", "civitai", "pixel", env=env, check=False)

    assert result.returncode == 1
    assert result.stderr == (
        f"atelier search: The Civitai address in Settings ({other.base_url}) does not answer like Civitai "
        f"({detail}) — check it\n"
    )


def test_a_model_civitai_does_not_have_is_still_not_found(civitai: FakeServer, tmp_path: Path) -> None:
    """A 404 for one model (not a listing) keeps its meaning: that model is not on Civitai."""
    env = _env(tmp_path, civitai=civitai)
    result = run("download", "civitai:999999", "--to", str(tmp_path / "lib"), env=env, check=False)

    assert result.returncode != 0
    assert "does not answer like Civitai" not in result.stderr
    assert "999999" in result.stderr


@pytest.mark.parametrize(
    ("answer", "detail"),
    [("404", "HTTP 404 for /api/models"), ("json", "an answer for /api/models in another shape")],
)
def test_a_hub_address_that_is_not_a_hub_is_named(tmp_path: Path, answer: str, detail: str) -> None:
    with serve(NotASiteHandler, answer) as other:
        env = {**_env(tmp_path), "HF_ENDPOINT": other.base_url}
        result = run("search", "hf", "pixel", env=env, check=False)

    assert result.returncode == 1
    assert result.stderr == (
        f"atelier search: The Hugging Face address in Settings ({other.base_url}) does not answer like the "
        f"Hugging Face Hub ({detail}) — check it\n"
    )


def _attention_lora(path: Path, blocks: int) -> Path:
    """Attention layers of ``blocks`` 3072-wide ``transformer_blocks`` (diffusers naming): Flux.1's double
    blocks and Qwen-Image's first blocks alike, so the tensors leave the family open."""
    specs: dict[str, tuple[str, tuple[int, ...]]] = {}
    for i in range(blocks):
        for part in ("to_q", "to_k", "to_v"):
            module = f"transformer.transformer_blocks.{i}.attn.{part}"
            specs[f"{module}.lora_A.weight"] = ("BF16", (4, 3072))
            specs[f"{module}.lora_B.weight"] = ("BF16", (3072, 4))
    return write_safetensors(path, specs, seed=7)


def _enrich_with_label(env: dict[str, str], sha256: str, base_model: str) -> dict[str, Any]:
    """``enrich`` against a loopback Civitai whose one version holds the file, labelled ``base_model``."""
    model: dict[str, Any] = copy.deepcopy(load_payload("04_models_modelId.json"))
    version = model["modelVersions"][0]
    version["files"][0]["hashes"] = {"SHA256": sha256}
    version["baseModel"] = base_model
    version["images"] = []
    state = CivitaiState()
    state.add_model(model)
    with fake_civitai(state) as server:
        env["ATELIER_CIVITAI_URL"] = server.base_url
        summary: dict[str, Any] = json.loads(run("enrich", "--json", env=env).stdout)
    return summary


def test_a_civitai_match_decides_the_family_the_tensors_left_open(tmp_path: Path) -> None:
    """The lookup's "Qwen" decides a LoRA of some blocks as a ``.civitai.info`` sidecar's label does
    (the tester's finding: only the sidecar did), and a rescan that reads a new sidecar keeps it."""
    lora = _attention_lora(tmp_path / "webui/models/Lora/partial.safetensors", 16)
    env = _env(tmp_path)
    run("scan", str(tmp_path / "webui"), env=env)
    before = json.loads(run("show", str(lora), "--json", env=env).stdout)
    assert before["architecture"] == "other", before["reasons"]

    summary = _enrich_with_label(env, before["hashes"]["sha256"], "Qwen")
    shown = json.loads(run("show", str(lora), "--json", env=env).stdout)
    found = json.loads(run("search", "--arch", "qwen_image", "--json", env=env).stdout)

    assert summary["matched"] == 1
    assert shown["architecture"] == "qwen_image", shown["reasons"]
    assert "Civitai base model 'Qwen' => qwen_image" in shown["reasons"][-1]
    assert [item["path"] for item in found] == [str(lora)]

    # A1111's sidecar appears beside it: the file is read and identified again, the match's label kept.
    lora.with_suffix(".json").write_text(json.dumps({"description": "a note"}), encoding="utf-8")
    run("scan", str(tmp_path / "webui"), env=env)
    rescanned = json.loads(run("show", str(lora), "--json", env=env).stdout)
    assert rescanned["description"] == "a note", "the sidecar was read"
    assert rescanned["architecture"] == "qwen_image", rescanned["reasons"]


def test_a_civitai_match_never_changes_what_the_tensors_decided(tmp_path: Path) -> None:
    """40 blocks: only Qwen-Image has that many; a "Flux.1 D" label stays a label."""
    lora = _attention_lora(tmp_path / "webui/models/Lora/deep.safetensors", 40)
    env = _env(tmp_path)
    run("scan", str(tmp_path / "webui"), env=env)
    before = json.loads(run("show", str(lora), "--json", env=env).stdout)
    _enrich_with_label(env, before["hashes"]["sha256"], "Flux.1 D")
    shown = json.loads(run("show", str(lora), "--json", env=env).stdout)
    assert (before["architecture"], shown["architecture"]) == ("qwen_image", "qwen_image"), shown["reasons"]


def test_a_file_deleted_on_disk_is_no_longer_in_the_library_in_site_searches(tmp_path: Path) -> None:
    """`search civitai` marks a result's file "in library" only while the library's copy is there: once
    it is deleted and a scan marked it missing, the result is downloadable again, as in the window."""
    env = _env(tmp_path)
    lora, sha256 = _scanned_lora(tmp_path, env)
    model: dict[str, Any] = copy.deepcopy(load_payload("04_models_modelId.json"))
    model["modelVersions"][0]["files"][0]["hashes"] = {"SHA256": sha256}
    state = CivitaiState()
    state.add_model(model)
    with fake_civitai(state) as server:
        env["ATELIER_CIVITAI_URL"] = server.base_url

        def in_library() -> bool:
            data = json.loads(run("search", "civitai", "--json", env=env).stdout)
            return bool(data["items"][0]["versions"][0]["files"][0]["in_library"])

        assert in_library()
        assert "[in library]" in run("search", "civitai", env=env).stdout
        lora.unlink()
        run("scan", str(tmp_path / "webui"), env=env)
        assert json.loads(run("show", str(lora), "--json", env=env).stdout)["status"] == "missing"
        assert not in_library()
        assert "[in library]" not in run("search", "civitai", env=env).stdout
