"""``render --plan`` refuses an SD LoRA whose layer widths name another SD family than the checkpoint's (an
SDXL LoRA on SD 1.x, an SD 1.x LoRA on SDXL) before anything loads, as it refuses a Flux.1 LoRA there: the
render would stop on its first layer of another width ("the renderer refused the recipe"), so a warning
that "Render anyway" clicks past was a promise the render could not keep. A LoRA of the checkpoint's own
family is ready. Header-true files (zeros) made by the test factory, through ``main``."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.factory.models import kohya_lora, sd1_checkpoint, sdxl_checkpoint, write_case

pytestmark = pytest.mark.usefixtures("hub_up")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sd-loras")
    cases = {
        "dreamy_sd15": sd1_checkpoint(),
        "juggernaut_xl": sdxl_checkpoint(),
        "pony_glow": kohya_lora("sdxl", rank=2),
        "add_detail": kohya_lora("sd1", rank=2),
    }
    return {stem: write_case(case, root).rename(root / f"{stem}.safetensors") for stem, case in cases.items()}


def _plan(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["--data-dir", str(tmp_path / "data"), "render", "--plan", "--sampler", "Euler", *args])
    return code, capsys.readouterr().out.splitlines()


CASES = {  # checkpoint, LoRA: what the LoRA was made for, the checkpoint's family
    ("dreamy_sd15", "pony_glow"): ("SDXL", "SD 1.x"),
    ("juggernaut_xl", "add_detail"): ("SD 1.x", "SDXL"),
}


@pytest.mark.parametrize(("checkpoint", "lora"), list(CASES))
def test_an_sd_lora_of_another_sd_family_is_refused_up_front(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], checkpoint: str, lora: str
) -> None:
    made_for, checkpoint_family = CASES[checkpoint, lora]
    code, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files[checkpoint]), "--lora", f"{files[lora]}:1"
    )

    assert lines[-1] == (
        f"Would not render: LoRA '{lora}' does not fit this checkpoint: it was made for {made_for}, "
        f"and this checkpoint is {checkpoint_family}"
    )
    assert code == 2
    assert not any(line.startswith("Warning:") for line in lines), lines  # said once, as the refusal


def test_an_sd_lora_of_the_checkpoints_family_is_ready(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files["dreamy_sd15"]), "--lora", f"{files['add_detail']}:0.8"
    )

    assert lines[-1] in ("Ready to render.", "Would not render on this machine."), lines
    assert code == 0
