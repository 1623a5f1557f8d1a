"""A library folder that is itself a diffusers pipeline (or one component) is cataloged as that one model,
as it would be one folder further down; an install whose own ``config.json`` names no model class is
still walked. Run through the CLI's entry point (in this process: :mod:`tests.app.in_process`) as a user
adds the folder they downloaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.app.in_process import run_in_process as run_main
from tests.factory.diffusers_configs import write_json, write_pipeline
from tests.factory.models import kohya_lora, write_case

OFFLINE = {"HF_HUB_OFFLINE": "1", "ATELIER_CIVITAI_URL": "http://127.0.0.1:9"}


def library_rows(data: Path) -> list[dict[str, Any]]:
    result = run_main("search", "--json", data_dir=data, env=OFFLINE, check=True)
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_a_pipeline_folder_added_as_root_is_one_checkpoint(tmp_path: Path) -> None:
    folder = write_pipeline(
        tmp_path / "tiny_sd1", "StableDiffusionPipeline", unet={"cross_attention_dim": 32}
    )
    data = tmp_path / "data"

    run_main("scan", "--no-lookup", str(folder), data_dir=data, env=OFFLINE, check=True)
    rescan = run_main("scan", "--no-lookup", data_dir=data, env=OFFLINE, check=True)

    rows = library_rows(data)
    assert [(row["path"], row["kind"], row["architecture"]) for row in rows] == [
        (str(folder), "checkpoint", "sd1")
    ]
    assert "1 unchanged" in rescan.stdout


def test_a_pipeline_root_is_found_by_name_for_a_render(tmp_path: Path) -> None:
    """The render resolves ``--checkpoint flux_dev`` to the root itself, and a folder holding configs but
    no weights is refused in one line naming the component whose weights are missing."""
    folder = write_pipeline(
        tmp_path / "flux_dev", "FluxPipeline", transformer={"_class_name": "FluxTransformer2DModel"}
    )
    data = tmp_path / "data"
    run_main("scan", "--no-lookup", str(folder), data_dir=data, env=OFFLINE, check=True)

    result = run_main("render", "--checkpoint", "flux_dev", "--prompt", "x", data_dir=data, env=OFFLINE)

    assert result.returncode == 1
    assert "not in the library" not in result.stderr
    assert result.stderr.startswith("atelier render: ")
    assert "cannot load flux_dev as a FLUX.1 checkpoint" in result.stderr
    assert "folders hold a config but no weights" in result.stderr
    assert "text_encoder" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_config_only_component_root_is_one_model(tmp_path: Path) -> None:
    folder = tmp_path / "my-vae"
    write_json(folder / "config.json", {"_class_name": "AutoencoderKL", "scaling_factor": 0.18215})
    data = tmp_path / "data"

    run_main("scan", "--no-lookup", str(folder), data_dir=data, env=OFFLINE, check=True)

    rows = library_rows(data)
    assert [(row["path"], row["kind"]) for row in rows] == [(str(folder), "vae")]


def test_an_install_with_its_own_config_json_is_walked(tmp_path: Path) -> None:
    """A1111 keeps its settings in ``config.json`` at the top: that names no model class."""
    install = tmp_path / "webui"
    write_json(
        install / "config.json", {"sd_model_checkpoint": "v1-5.safetensors", "CLIP_stop_at_last_layers": 1}
    )
    lora = write_case(kohya_lora("sd1", rank=1, text=False), install / "models" / "Lora")
    data = tmp_path / "data"

    run_main("scan", "--no-lookup", "--no-hash", str(install), data_dir=data, env=OFFLINE, check=True)

    rows = library_rows(data)
    assert [(row["path"], row["kind"]) for row in rows] == [(str(lora), "lora")]
