"""``render --plan`` with ``HF_ENDPOINT`` at a mirror that answers but lacks the repository of the
tokenizer the render would fetch once: the plan is not ready and its last line names the mirror and the
missing repository, before anything loads (it used to say "will be fetched once", and the render then
failed on the fetch). The mirror is the loopback Hub fake; the checkpoint a header-true Flux.1 file.
A mirror that holds it is ready: ``test_render_plan_refusals`` (``hub_up`` lists the tokenizers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.server import serve

T5_REPO = "black-forest-labs/FLUX.1-schnell"


@pytest.fixture
def flux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty Hub cache: T5's tokenizer is fetched
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return write_safetensors(tmp_path / "flux1-dev-full.safetensors", keyspace("flux-flux", dtype="BF16"))


def _plan(flux: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["--data-dir", str(tmp_path / "data"), "render", "--plan", "--checkpoint", str(flux)])
    return code, capsys.readouterr().out.splitlines()


def test_a_mirror_without_the_tokenizers_repository_is_named_before_rendering(
    flux: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(HubHandler, HubState()) as mirror:
        monkeypatch.setenv("HF_ENDPOINT", mirror.base_url)
        code, lines = _plan(flux, tmp_path, capsys)
    assert f"Tokenizer {T5_REPO}/tokenizer_2: cannot be fetched now from {mirror.base_url}" in lines
    assert lines[-1] == (
        f"Would not render: the tokenizer {T5_REPO}/tokenizer_2 must be fetched once from {mirror.base_url} "
        f"and cannot be now (the mirror {mirror.base_url} has no repository {T5_REPO}): set HF_ENDPOINT "
        f"to a mirror that holds {T5_REPO}, or unset it to fetch from https://huggingface.co"
    )
    assert code != 0
