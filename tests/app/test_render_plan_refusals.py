"""``render --plan`` refuses, before anything loads, what the render itself would refuse: a Flux.1
diffusion model given only one of its two text encoders (the slots are matched as the loader matches
them, by what each file holds), and a LoRA of another family (a Qwen-Image or Z-Image LoRA on Flux.1),
named with both families and exiting 2 like the other refusals. Header-true sparse files: nothing but the
header is read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.cli import main
from tests.factory.family_loras import family_lora
from tests.factory.flux_part_files import part_specs, write_flux_parts
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors

# The tokenizer a family's render fetches once must be fetchable for its plan to be ready.
pytestmark = pytest.mark.usefixtures("hub_up")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("flux-refusals")
    found = {
        "transformer": write_safetensors(
            root / "flux1-dev.safetensors", keyspace("flux-flux", components=("diffuser",), dtype="BF16")
        ),
        "full": write_safetensors(root / "flux1-dev-full.safetensors", keyspace("flux-flux", dtype="BF16")),
    }
    found |= write_flux_parts(root)
    for family in ("qwen_image", "z_image", "chroma"):
        case = family_lora(family, "ai_toolkit")
        found[f"{family}_lora"] = write_safetensors(root / f"{family}_style.safetensors", dict(case.specs))
    return found


def _plan(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["--data-dir", str(tmp_path / "data"), "render", "--plan", "--sampler", "Euler", *args])
    return code, capsys.readouterr().out.splitlines()


def test_one_text_encoder_of_two_is_refused_naming_the_missing_slot(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files["transformer"]),
        "--text-encoder", str(files["clip_l"]), "--vae", str(files["vae"]),
    )  # fmt: skip

    assert lines[-1] == (
        "Would not render: flux1-dev is a Flux.1 diffusion model without its text encoders: choose the "
        "text-encoder files (clip_l, t5xxl); t5xxl is missing (add it with --text-encoder NAME)"
    )
    assert code == 1

    # The T5 alone: the CLIP slot is the one named.
    code, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files["transformer"]),
        "--text-encoder", str(files["t5xxl"]), "--vae", str(files["vae"]),
    )  # fmt: skip
    assert lines[-1].endswith("; clip_l is missing (add it with --text-encoder NAME)")
    assert code == 1


def test_a_file_that_is_no_text_encoder_is_named_and_only_a_missing_vae_points_at_vae(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t5_part = dict(list(part_specs("t5xxl").items())[:3])  # three T5 tensors: no encoder to load
    partial = write_safetensors(tmp_path / "t5xxl_partial.safetensors", t5_part)
    code, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files["transformer"]),
        "--text-encoder", str(files["clip_l"]), "--text-encoder", str(partial), "--vae", str(files["vae"]),
    )  # fmt: skip
    assert code == 1
    assert lines[-1] == "Would not render: t5xxl_partial.safetensors is not a CLIP or T5 text encoder file"

    code, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files["transformer"]),
        "--text-encoder", str(files["clip_l"]), "--text-encoder", str(files["t5xxl"]),
    )  # fmt: skip
    assert code == 1
    assert lines[-1] == (
        "Would not render: flux1-dev is a Flux.1 diffusion model without a VAE: choose a VAE file "
        "(ae.safetensors) with --vae NAME"
    )


def test_both_encoders_or_a_full_checkpoint_are_ready(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files["transformer"]), "--text-encoder", str(files["t5xxl"]),
        "--text-encoder", str(files["clip_l"]), "--vae", str(files["vae"]),
    )  # fmt: skip
    assert lines[-1] in ("Ready to render.", "Would not render on this machine.")
    assert code in (0, 1)

    # A full checkpoint's own T5 fills the slot a separate CLIP file does not.
    _, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files["full"]), "--text-encoder", str(files["clip_l"])
    )
    assert lines[-1] in ("Ready to render.", "Would not render on this machine.")


@pytest.mark.parametrize(("family", "label"), [("qwen_image", "Qwen-Image"), ("z_image", "Z-Image")])
def test_a_lora_of_another_family_is_refused_with_both_families_named(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], family: str, label: str
) -> None:
    code, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files["full"]), "--lora", f"{files[f'{family}_lora']}:0.8"
    )

    assert lines[-1] == (
        f"Would not render: LoRA '{family}_style' does not fit this checkpoint: it was made for {label}, "
        "and this checkpoint is Flux.1"
    )
    assert code == 2


@pytest.mark.parametrize("stem", ["qwen_image_style", "this is art", "bob's style"])
def test_a_refused_lora_is_named_once_whatever_its_name(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], stem: str
) -> None:
    # A name holding " is " or an apostrophe (which the warning quoted otherwise) once kept its
    # "is a Qwen-Image LoRA" warning beside the refusal that already names it.
    lora = tmp_path / f"{stem}.safetensors"
    shutil.copyfile(files["qwen_image_lora"], lora)
    code, lines = _plan(tmp_path, capsys, "--checkpoint", str(files["full"]), "--lora", f"{lora}:0.8")

    assert lines[-1] == (
        f"Would not render: LoRA '{stem}' does not fit this checkpoint: it was made for Qwen-Image, "
        "and this checkpoint is Flux.1"
    )
    assert [line for line in lines if "Qwen-Image" in line] == [lines[-1]]
    assert code == 2


def test_a_chroma_lora_on_flux_is_ready(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files["full"]), "--lora", f"{files['chroma_lora']}:0.8"
    )
    assert lines[-1] in ("Ready to render.", "Would not render on this machine.")


def test_the_plan_says_a_tokenizer_will_be_fetched_once_when_not_cached(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], hub_up: str
) -> None:
    _, lines = _plan(tmp_path, capsys, "--checkpoint", str(files["full"]))  # an empty Hub cache

    assert (
        f"Tokenizer black-forest-labs/FLUX.1-schnell/tokenizer_2: will be fetched once from {hub_up}" in lines
    )
    assert lines[-1] in ("Ready to render.", "Would not render on this machine.")


def test_a_tokenizer_that_cannot_be_fetched_now_is_said_before_rendering(
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not cached and the Hub down (a loopback Hub that stopped), or HF_HUB_OFFLINE: the plan is not
    ready and says so in one line, instead of 'Ready' and a failure once the render starts loading."""
    from tests.fakes.hub_api import HubHandler, HubState
    from tests.fakes.server import serve

    with serve(HubHandler, HubState()) as hub:
        down = hub.base_url
    monkeypatch.setenv("HF_ENDPOINT", down)
    code, lines = _plan(tmp_path, capsys, "--checkpoint", str(files["full"]))
    port = down.rsplit(":", 1)[1]
    assert (
        f"Tokenizer black-forest-labs/FLUX.1-schnell/tokenizer_2: cannot be fetched now from {down}" in lines
    )
    assert lines[-1] == (
        "Would not render: the tokenizer black-forest-labs/FLUX.1-schnell/tokenizer_2 must be fetched once "
        f"from {down} and cannot be now (127.0.0.1:{port} unreachable: Connection refused): connect to the "
        "network once, or set HF_ENDPOINT to a reachable mirror"
    )
    assert code != 0

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, lines = _plan(tmp_path, capsys, "--checkpoint", str(files["full"]))
    assert lines[-1] == (
        "Would not render: the tokenizer black-forest-labs/FLUX.1-schnell/tokenizer_2 must be fetched once "
        f"from {down} and cannot be now (HF_HUB_OFFLINE is set): render once with network access"
    )
    assert code != 0
