"""A PNG's infotext states only the settings that took effect, as Forge writes only what steered the
image: a Flux.1 render takes no clip skip (the CLI says once that it is ignored, and the infotext has no
"Clip skip"), and Flux.1 schnell has no distilled-guidance input (no ``guidance_in`` layers), so its plan
shows no "Distilled CFG 3.5 (the model's default)" and its infotext no "Distilled CFG Scale" even when one
is typed. A tiny real schnell checkpoint rendered through ``main.py render`` in process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from app.cli import main
from tests.factory.tiny_families import add_tokenizer_repo, flux_parts, write_flux_full
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.server import FakeServer, serve


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeServer]:
    state = HubState()
    add_tokenizer_repo(state)
    with serve(HubHandler, state) as server:
        yield server


@pytest.fixture
def hub_env(hub: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


@pytest.mark.slow  # one tiny render (loading diffusers and a tokenizer fetch: several seconds)
@pytest.mark.usefixtures("hub_env")
def test_schnell_renders_without_the_settings_it_ignores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schnell = write_flux_full(tmp_path / "flux1-schnell-tiny.safetensors", flux_parts(0, guidance=False))
    data = ["--data-dir", str(tmp_path / "data")]
    settings = [
        "--prompt",
        "a red cat",
        "--sampler",
        "Euler",
        "--steps",
        "2",
        "--size",
        "64x64",
        "--seed",
        "3",
    ]

    assert main([*data, "render", "--plan", "--checkpoint", str(schnell), *settings]) == 0
    plan = capsys.readouterr().out
    sampler = next(line for line in plan.splitlines() if line.startswith("Sampler:"))
    assert "Distilled CFG" not in sampler  # schnell has no such input: no "the model's default"

    code = main(
        [*data, "render", "--checkpoint", str(schnell), *settings, "--clip-skip", "2", "--distilled-cfg", "7"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    ignored = (
        "clip skip 2 is ignored: Flux.1 renders without clip skip",
        "Distilled CFG 7 is ignored: this Flux.1 model has no distilled-guidance input",
    )
    for note in ignored:
        assert (out + err).count(note) == 1  # said once, before the render
        assert f"atelier render: note: {note}" in err
    saved = next(line for line in out.splitlines() if line.startswith("Saved "))
    infotext = str(Image.open(saved.split(" ")[1]).info["parameters"])
    assert "Clip skip" not in infotext
    assert "Distilled CFG Scale" not in infotext
    assert "Steps: 2, Sampler: Euler" in infotext


@pytest.mark.usefixtures("hub_env")
def test_dev_keeps_its_distilled_guidance_and_drops_clip_skip_from_the_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = write_flux_full(tmp_path / "flux1-dev-tiny.safetensors", flux_parts(0, guidance=True))
    args = ["--data-dir", str(tmp_path / "data"), "render", "--plan", "--checkpoint", str(dev)]
    assert main([*args, "--prompt", "x", "--sampler", "Euler", "--clip-skip", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.endswith("Distilled CFG 3.5 (the model's default)") for line in lines)
    assert not any("clip skip 2," in line or line.endswith("clip skip 2") for line in lines[:-2])
    assert "Warning: clip skip 2 is ignored: Flux.1 renders without clip skip" in lines
