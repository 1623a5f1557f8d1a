"""The CLIP tokenizer files derived offline from the openai-clip BPE file give the canonical CLIP ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.render import tokenizer as tok
from core.render.configs import RESOURCES_CONFIG_ROOT

PROMPT = "a photo of a cat, masterpiece"
PROMPT_IDS = [49406, 320, 1125, 539, 320, 2368, 267, 12066, 49407]  # canonical CLIP ids (E.7)


@pytest.fixture(scope="module")
def config_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tok.ensure_tokenizers(RESOURCES_CONFIG_ROOT, tmp_path_factory.mktemp("cache"))


def test_bpe_vocab_path_is_the_known_file() -> None:
    path = tok.bpe_vocab_path()
    assert path.name == tok.BPE_FILE_NAME
    assert tok._sha256(path) == tok.BPE_SHA256


def test_missing_package_gives_an_actionable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tok, "BPE_DISTRIBUTIONS", ("no-such-distribution-atelier",))
    with pytest.raises(tok.TokenizerVocabMissingError, match="openai-clip"):
        tok.bpe_vocab_path()


def test_a_tampered_file_is_rejected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / tok.BPE_FILE_NAME
    fake.write_bytes(b"not the vocabulary")
    monkeypatch.setattr(tok, "_candidate_paths", lambda: [fake])
    with pytest.raises(tok.TokenizerVocabMissingError, match="unexpected SHA-256"):
        tok.bpe_vocab_path()


def test_derived_files_have_the_clip_sizes_and_are_idempotent(tmp_path: Path) -> None:
    tok.derive_clip_tokenizer_files(tmp_path)
    vocab = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    merges = (tmp_path / "merges.txt").read_text(encoding="utf-8").splitlines()
    assert len(vocab) == 49408
    assert vocab["<|startoftext|>"] == 49406
    assert vocab["<|endoftext|>"] == 49407
    assert vocab["!"] == 0
    assert merges[0] == "#version: 0.2"
    assert len(merges) == 1 + 48894
    stamps = [(tmp_path / name).stat().st_mtime_ns for name in tok.TOKENIZER_FILES]
    tok.derive_clip_tokenizer_files(tmp_path)
    assert [(tmp_path / name).stat().st_mtime_ns for name in tok.TOKENIZER_FILES] == stamps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merges.txt", "vocab.json"]  # no temp leftovers


def test_ensure_tokenizers_completes_every_tokenizer_and_reuses_the_copy(
    config_tree: Path, tmp_path: Path
) -> None:
    folders = sorted(p.parent for p in config_tree.rglob("tokenizer_config.json"))
    assert [f.relative_to(config_tree).as_posix() for f in folders] == [
        "flux1/tokenizer",
        "flux1_schnell/tokenizer",
        "sd1/tokenizer",
        "sd2/tokenizer",
        "sd2_v/tokenizer",
        "sd3/tokenizer",
        "sd3/tokenizer_2",
        "sdxl/tokenizer",
        "sdxl/tokenizer_2",
        "sdxl_refiner/tokenizer_2",
    ]  # CLIP tokenizers only: T5's comes from the Hub (hub_tokenizer_dir)
    for folder in folders:
        assert (folder / "vocab.json").is_file()
        assert (folder / "merges.txt").is_file()
    # The bundled resources are never written to.
    assert not list(RESOURCES_CONFIG_ROOT.rglob("vocab.json"))
    assert not list(RESOURCES_CONFIG_ROOT.rglob("merges.txt"))
    # A second call reuses the finished copy instead of rebuilding it.
    marker = config_tree / ".complete"
    stamp = marker.stat().st_mtime_ns
    assert tok.ensure_tokenizers(RESOURCES_CONFIG_ROOT, config_tree.parent) == config_tree
    assert marker.stat().st_mtime_ns == stamp
    assert [p.name for p in config_tree.parent.iterdir()] == [config_tree.name]


def test_ensure_tokenizers_rebuilds_when_the_configs_change(tmp_path: Path) -> None:
    root = tmp_path / "configs"
    (root / "p" / "tokenizer").mkdir(parents=True)
    (root / "p" / "tokenizer" / "tokenizer_config.json").write_text("{}", encoding="utf-8")
    first = tok.ensure_tokenizers(root, tmp_path / "cache")
    (root / "p" / "model_index.json").write_text("{}", encoding="utf-8")
    second = tok.ensure_tokenizers(root, tmp_path / "cache")
    assert first != second
    assert (second / "p" / "model_index.json").is_file()
    assert (second / "p" / "tokenizer" / "vocab.json").is_file()


@pytest.mark.parametrize("folder", ["sd1/tokenizer", "sd2/tokenizer", "sdxl/tokenizer", "sdxl/tokenizer_2"])
def test_derived_tokenizer_gives_the_canonical_ids(config_tree: Path, folder: str) -> None:
    from transformers import CLIPTokenizer

    clip = CLIPTokenizer.from_pretrained(config_tree / folder)
    assert clip(PROMPT).input_ids == PROMPT_IDS
    assert clip.model_max_length == 77


@pytest.mark.parametrize(
    ("folder", "pad_id"),
    [
        ("sd1/tokenizer", 49407),
        ("sdxl/tokenizer", 49407),
        ("sd2/tokenizer", 0),
        ("sd2_v/tokenizer", 0),
        ("sdxl/tokenizer_2", 0),
        ("sdxl_refiner/tokenizer_2", 0),
    ],
)
def test_padding_token_per_tokenizer(config_tree: Path, folder: str, pad_id: int) -> None:
    from transformers import CLIPTokenizer

    clip = CLIPTokenizer.from_pretrained(config_tree / folder)
    ids = clip("a cat", padding="max_length", max_length=clip.model_max_length).input_ids
    assert len(ids) == 77
    assert ids[:4] == [49406, 320, 2368, 49407]
    assert set(ids[4:]) == {pad_id}


def test_a_hub_tokenizer_is_fetched_once_then_read_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """T5's tokenizer (no package ships it) comes from HF_ENDPOINT once, into the Hub cache; then the
    same call answers from the cache with the Hub gone, and says nothing."""
    from tests.factory.tiny_families import add_tokenizer_repo
    from tests.fakes.hub_api import HubHandler, HubState
    from tests.fakes.server import serve

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    heard: list[str] = []
    state = HubState()
    add_tokenizer_repo(state)
    with serve(HubHandler, state) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        folder = tok.hub_tokenizer_dir("black-forest-labs/FLUX.1-schnell", "tokenizer_2", notify=heard.append)
    assert (folder / "tokenizer.json").is_file()
    assert heard == [
        f"Fetching the tokenizer black-forest-labs/FLUX.1-schnell/tokenizer_2 from {hub.base_url} "
        "(once, a few MB)…"
    ]
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    again = tok.hub_tokenizer_dir("black-forest-labs/FLUX.1-schnell", "tokenizer_2", notify=heard.append)
    assert again == folder
    assert len(heard) == 1


def test_a_missing_hub_tokenizer_offline_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(tok.TokenizerUnavailableError) as caught:
        tok.hub_tokenizer_dir("black-forest-labs/FLUX.1-schnell", "tokenizer_2")
    assert str(caught.value) == (
        "the tokenizer black-forest-labs/FLUX.1-schnell/tokenizer_2 is not in the Hugging Face cache and "
        "HF_HUB_OFFLINE is set: render once with network access (it is fetched once, a few MB)"
    )


def test_an_unreachable_hub_fails_at_once_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No network: one short connect (not the Hub client's ~40 s of retries), after the notice."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    heard: list[str] = []

    with pytest.raises(tok.TokenizerUnavailableError) as caught:
        tok.hub_tokenizer_dir("black-forest-labs/FLUX.1-schnell", "tokenizer_2", notify=heard.append)

    message = str(caught.value)
    assert message.startswith(
        "the tokenizer black-forest-labs/FLUX.1-schnell/tokenizer_2 is not cached and could not be fetched "
        "(127.0.0.1:9 unreachable: "
    )
    assert message.endswith("connect to the network once, or set HF_ENDPOINT to a reachable mirror")
    assert "\n" not in message
    assert heard == [
        "Fetching the tokenizer black-forest-labs/FLUX.1-schnell/tokenizer_2 from http://127.0.0.1:9 "
        "(once, a few MB)…"
    ]
    assert tok.cached_hub_tokenizer_dir("black-forest-labs/FLUX.1-schnell", "tokenizer_2") is None


def test_fetch_refusal_says_why_a_tokenizer_cannot_be_fetched_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The render plan's line: nothing to fetch or an answering endpoint is no refusal; HF_HUB_OFFLINE
    or an endpoint that refuses the connection is one line naming the tokenizer and what to do."""
    from core.render.tokenizer import fetch_refusal
    from tests.fakes.hub_api import HubHandler, HubState
    from tests.fakes.hub_tokenizers import list_family_tokenizers
    from tests.fakes.server import serve

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    wanted = ("black-forest-labs/FLUX.1-schnell/tokenizer_2",)
    with serve(HubHandler, list_family_tokenizers(HubState())) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        assert fetch_refusal(()) is None
        assert fetch_refusal(wanted) is None
    refusal = fetch_refusal(wanted)
    assert refusal is not None
    assert refusal.startswith(
        f"the tokenizer {wanted[0]} must be fetched once from {hub.base_url} and cannot be now (127.0.0.1:"
    )
    assert refusal.endswith("connect to the network once, or set HF_ENDPOINT to a reachable mirror")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert fetch_refusal((*wanted, "Qwen/Qwen-Image/tokenizer")) == (
        f"the tokenizers {wanted[0]}, Qwen/Qwen-Image/tokenizer must be fetched once from {hub.base_url} "
        "and cannot be now (HF_HUB_OFFLINE is set): render once with network access"
    )
