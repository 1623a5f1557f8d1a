"""A file named in the wrong slot (a LoRA as ``--checkpoint``, a checkpoint as ``--lora``…) is refused
in one line before anything loads, and a checkpoint diffusers cannot build is one line, not a traceback.

The refusals run through the CLI's entry point in this process (a ``main.py`` child per refusal cost a
second of start-up each); the checkpoint diffusers cannot build runs through ``main.py`` in a child
process, as a user runs it, so its one line is the whole process's stderr. All on small generated files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.in_process import run_in_process
from tests.app.main_process import run_main
from tests.factory.models import emb_params_embedding, kohya_lora, sd1_checkpoint, write_case
from tests.factory.safetensors_writer import write_safetensors

OFFLINE = {"HF_HUB_OFFLINE": "1", "ATELIER_CIVITAI_URL": "http://127.0.0.1:9"}
_PARTIAL_KEYS = (
    "cond_stage_model.transformer.text_model.final_layer_norm.",
    "first_stage_model.decoder.conv_out.",
    "model.diffusion_model.input_blocks.0.0.",
    "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.",
)


def write_partial_sd1(path: Path) -> Path:
    """A 1 MB file identified as an SD 1.x checkpoint from its keys, which diffusers cannot load."""
    specs = {k: v for k, v in sd1_checkpoint().specs.items() if k.startswith(_PARTIAL_KEYS)}
    return write_safetensors(path, specs)


def write_vae(path: Path) -> Path:
    specs = sd1_checkpoint().specs
    parts = ("conv_in", "conv_out", "quant_conv", "norm_out")
    vae = {
        key.removeprefix("first_stage_model."): spec
        for key, spec in specs.items()
        if key.startswith("first_stage_model.") and any(part in key for part in parts)
    }
    return write_safetensors(path, vae)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data dir, models folder) with a checkpoint, a LoRA, a VAE and an embedding scanned in."""
    models = tmp_path_factory.mktemp("models")
    write_partial_sd1(models / "base_model.safetensors")
    write_case(kohya_lora("sd1", rank=1, text=False), models).rename(models / "add_detail.safetensors")
    write_vae(models / "my_vae.safetensors")
    write_case(emb_params_embedding(), models).rename(models / "easynegative.safetensors")
    data = tmp_path_factory.mktemp("data")
    run_in_process("scan", str(models), data_dir=data, env=OFFLINE, check=True)
    return data, models


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--checkpoint", "{models}/add_detail.safetensors"],
            "add_detail is a LoRA; --checkpoint needs a checkpoint (use --lora add_detail)",
        ),
        (
            ["--checkpoint", "add_detail"],
            "add_detail is a LoRA; --checkpoint needs a checkpoint (use --lora add_detail)",
        ),
        (
            ["--checkpoint", "{models}/my_vae.safetensors"],
            "my_vae is a VAE; --checkpoint needs a checkpoint (use --vae my_vae)",
        ),
        (
            ["--checkpoint", "base_model", "--lora", "base_model:0.5"],
            "base_model is a checkpoint; --lora needs a LoRA (use --checkpoint base_model)",
        ),
        (
            ["--checkpoint", "base_model", "--vae", "easynegative"],
            "easynegative is an embedding; --vae needs a VAE (use --embedding easynegative)",
        ),
    ],
)
def test_a_file_in_the_wrong_slot_is_refused_in_one_line(
    library: tuple[Path, Path], args: list[str], line: str
) -> None:
    data, models = library
    given = [arg.format(models=models) for arg in args]

    result = run_in_process("render", *given, "--prompt", "x", data_dir=data, env=OFFLINE)

    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [f"atelier render: {line}"]
    assert not (data / "renders").exists()


def test_a_lora_outside_the_library_given_as_checkpoint_is_refused(
    library: tuple[Path, Path], tmp_path: Path
) -> None:
    data, _ = library
    lora = write_case(kohya_lora("sd1", rank=1, text=False), tmp_path)

    result = run_in_process("render", "--checkpoint", str(lora), "--prompt", "x", data_dir=data, env=OFFLINE)

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"atelier render: {lora.stem} is a LoRA; --checkpoint needs a checkpoint (use --lora {lora})"
    )


@pytest.mark.slow
def test_a_checkpoint_diffusers_cannot_load_is_one_line(library: tuple[Path, Path]) -> None:
    data, _ = library

    result = run_main(
        "render",
        "--checkpoint",
        "base_model",
        "--prompt",
        "x",
        "--steps",
        "1",
        "--size",
        "64x64",
        data_dir=data,
        env=OFFLINE,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("atelier render: ")
    assert "cannot load base_model.safetensors as an SD 1.x checkpoint: " in last


def test_infotext_naming_a_lora_as_its_model_is_refused_without_naming_options(
    library: tuple[Path, Path],
) -> None:
    data, _ = library
    text = "a fox\nSteps: 2, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 64x64, Model: add_detail"

    result = run_in_process("render", "--infotext", text, data_dir=data, env=OFFLINE)

    assert result.returncode == 2
    assert result.stderr.strip() == "atelier render: add_detail is a LoRA, not a checkpoint"


def test_a_file_of_unknown_kind_given_as_checkpoint_says_so(
    library: tuple[Path, Path], tmp_path: Path
) -> None:
    odd = write_safetensors(tmp_path / "oddkeys.safetensors", {"foo.bar": ("F32", (2, 2))})

    result = run_in_process(
        "render", "--checkpoint", str(odd), "--prompt", "x", data_dir=library[0], env=OFFLINE
    )

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "atelier render: oddkeys is a model file of unknown kind; --checkpoint needs a checkpoint"
    )
