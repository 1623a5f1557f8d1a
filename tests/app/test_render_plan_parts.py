"""``render --plan`` says what a Flux.1 file really holds: a full checkpoint's own text encoders and
VAE, or, for a diffusion-model-only file, that they are needed; never "the checkpoint's own" for a VAE
the file does not have. The refusal is said the CLI's way (``--text-encoder``, ``--vae``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors

# The tokenizer a family's render fetches once must be fetchable for its plan to be ready.
pytestmark = pytest.mark.usefixtures("hub_up")


@pytest.fixture(scope="module")
def flux(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("flux-parts")
    return {
        "full": write_safetensors(root / "flux1-dev-full.safetensors", keyspace("flux-flux", dtype="BF16")),
        "alone": write_safetensors(
            root / "flux1-dev.safetensors", keyspace("flux-flux", components=("diffuser",), dtype="BF16")
        ),
        "encoders": write_safetensors(
            root / "flux1-dev-no-vae.safetensors",
            keyspace("flux-flux", components=("diffuser", "clip_l", "t5xxl"), dtype="BF16"),
        ),
    }


def _plan_text(capsys: pytest.CaptureFixture[str], tmp_path: Path, checkpoint: Path) -> tuple[int, list[str]]:
    code = main(["--data-dir", str(tmp_path / "data"), "render", "--plan", "--checkpoint", str(checkpoint)])
    return code, capsys.readouterr().out.splitlines()


def test_a_full_checkpoint_uses_its_own_encoders_and_vae(
    flux: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lines = _plan_text(capsys, tmp_path, flux["full"])

    assert "VAE: the checkpoint's own" in lines
    assert "Text encoders (clip_l, t5xxl): the checkpoint's own" in lines
    # Nothing is refused (a machine too small for the real-size model says only that).
    assert lines[-1] in ("Ready to render.", "Would not render on this machine.")


def test_a_diffusion_model_alone_needs_its_encoders_and_vae(
    flux: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _plan_text(capsys, tmp_path, flux["alone"])

    assert "VAE: needed, none chosen" in lines
    assert "Text encoders (clip_l, t5xxl): needed, none chosen" in lines
    assert lines[-1] == (
        "Would not render: flux1-dev is a Flux.1 diffusion model without its text encoders: "
        "choose its text encoders (clip_l, t5xxl) with --text-encoder NAME, once for each"
    )
    assert code == 1


def test_a_file_with_encoders_but_no_vae_asks_for_the_vae_only(
    flux: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _plan_text(capsys, tmp_path, flux["encoders"])

    assert "Text encoders (clip_l, t5xxl): the checkpoint's own" in lines
    assert "VAE: needed, none chosen" in lines
    assert lines[-1] == (
        "Would not render: flux1-dev-no-vae is a Flux.1 diffusion model without a VAE: "
        "choose a VAE file (ae.safetensors) with --vae NAME"
    )
    assert code == 1
