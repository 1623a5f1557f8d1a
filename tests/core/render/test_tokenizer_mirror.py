"""A Hub mirror (``HF_ENDPOINT``) that answers but lacks a tokenizer's repository: the render plan says
so in one line naming the mirror and the repository, before anything loads, instead of "will be fetched
once" and a render that fails on the fetch. The check is one HEAD of the tokenizer's
``tokenizer_config.json`` on the loopback Hub, remembered so a board that plans on every change does
not ask again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.render import tokenizer as tok
from tests.fakes.hub_api import HubHandler, HubState, resolve_path
from tests.fakes.hub_tokenizers import list_family_tokenizers
from tests.fakes.server import FakeServer, serve

T5 = "black-forest-labs/FLUX.1-schnell/tokenizer_2"
Z_IMAGE = "Tongyi-MAI/Z-Image-Turbo/tokenizer"


@pytest.fixture(autouse=True)
def _online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    tok._presence.clear()
    yield
    tok._presence.clear()


def _heads(server: FakeServer, where: str) -> int:
    repo, subfolder = tok.split_tokenizer_name(where)
    path = resolve_path(repo, f"{subfolder}/{tok.PROBE_FILE}")
    return sum(1 for method, seen, _ in server.requests if (method, seen) == ("HEAD", path))


def test_a_mirror_without_the_repository_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(HubHandler, HubState()) as mirror:
        monkeypatch.setenv("HF_ENDPOINT", mirror.base_url)
        refusal = tok.fetch_refusal((Z_IMAGE,))
        assert refusal == (
            f"the tokenizer {Z_IMAGE} must be fetched once from {mirror.base_url} and cannot be now "
            f"(the mirror {mirror.base_url} has no repository Tongyi-MAI/Z-Image-Turbo): set HF_ENDPOINT "
            "to a mirror that holds Tongyi-MAI/Z-Image-Turbo, or unset it to fetch from https://huggingface.co"
        )
        # Asked once: the board plans again a moment later without another request.
        assert tok.fetch_refusal((Z_IMAGE,)) == refusal
        assert _heads(mirror, Z_IMAGE) == 1


def test_a_mirror_holding_the_tokenizers_is_no_refusal_and_is_asked_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve(HubHandler, list_family_tokenizers(HubState())) as mirror:
        monkeypatch.setenv("HF_ENDPOINT", mirror.base_url)
        for _ in range(3):
            assert tok.fetch_refusal((T5, Z_IMAGE)) is None
        assert (_heads(mirror, T5), _heads(mirror, Z_IMAGE)) == (1, 1)
        assert not any(method == "GET" for method, _, _ in mirror.requests)  # nothing is downloaded


def test_only_the_missing_repository_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    state = list_family_tokenizers(HubState())
    del state.repos["Tongyi-MAI/Z-Image-Turbo"]
    with serve(HubHandler, state) as mirror:
        monkeypatch.setenv("HF_ENDPOINT", mirror.base_url)
        refusal = tok.fetch_refusal((T5, Z_IMAGE))
    assert refusal is not None
    assert f"(the mirror {mirror.base_url} has no repository Tongyi-MAI/Z-Image-Turbo)" in refusal
    assert "black-forest-labs/FLUX.1-schnell)" not in refusal
    assert "\n" not in refusal


def test_a_repository_without_the_tokenizer_folder_and_a_gated_one(monkeypatch: pytest.MonkeyPatch) -> None:
    state = HubState()
    state.add({"id": "Tongyi-MAI/Z-Image-Turbo", "siblings": [{"rfilename": "README.md", "size": 1}]})
    state.add(
        {
            "id": "black-forest-labs/FLUX.1-schnell",
            "siblings": [{"rfilename": "tokenizer_2/tokenizer_config.json"}],
        },
        gated_token="secret",
    )
    with serve(HubHandler, state) as mirror:
        monkeypatch.setenv("HF_ENDPOINT", mirror.base_url)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        folder = tok.endpoint_lacks(*tok.split_tokenizer_name(Z_IMAGE))
        gated = tok.endpoint_lacks(*tok.split_tokenizer_name(T5))
    assert folder is not None
    assert folder.reason == (
        f"the mirror {mirror.base_url} has no tokenizer/tokenizer_config.json in Tongyi-MAI/Z-Image-Turbo"
    )
    assert gated is not None
    assert gated.reason == f"black-forest-labs/FLUX.1-schnell is gated on the mirror {mirror.base_url}"
    assert gated.advice.startswith("accept its terms on the Hub and set HF_TOKEN")


def test_the_fetch_itself_names_the_mirror_instead_of_a_hub_client_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve(HubHandler, HubState()) as mirror:
        monkeypatch.setenv("HF_ENDPOINT", mirror.base_url)
        with pytest.raises(tok.TokenizerUnavailableError) as caught:
            tok.hub_tokenizer_dir("Tongyi-MAI/Z-Image-Turbo", "tokenizer")
    assert str(caught.value) == (
        f"the tokenizer {Z_IMAGE} is not cached and could not be fetched (the mirror {mirror.base_url} "
        "has no repository Tongyi-MAI/Z-Image-Turbo); set HF_ENDPOINT to a mirror that holds "
        "Tongyi-MAI/Z-Image-Turbo, or unset it to fetch from https://huggingface.co"
    )
    assert not any(method == "GET" for method, _, _ in mirror.requests)
