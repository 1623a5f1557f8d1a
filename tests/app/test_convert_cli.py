"""``atelier convert`` through the CLI's entry point (in this process): real pickles, a real catalog, one line
for a refusal."""

from __future__ import annotations

import json
from pathlib import Path

import safetensors.torch
import torch

from tests.app.in_process import run_in_process as run_main
from tests.factory.files import save_torch, write_malicious_torch


def _checkpoint(path: Path) -> Path:
    state = {
        "model.diffusion_model.out.2.weight": torch.randn(4, 8).to(torch.bfloat16),
        "model.diffusion_model.out.2.bias": torch.randn(4),
        "model_ema.decay": torch.tensor(0.9999),
        "model_ema.diffusion_modelout2weight": torch.randn(4, 8),
    }
    return save_torch(path, {"state_dict": state, "global_step": 42})


def test_convert_by_path_with_fp16_and_prune(tmp_path: Path) -> None:
    data = tmp_path / "data"
    models = tmp_path / "models"
    source = _checkpoint(models / "Stable-diffusion" / "tiny model.ckpt")
    run_main("scan", str(models), "--no-lookup", data_dir=data, check=True)

    result = run_main("convert", str(source), "--fp16", "--prune", "--json", data_dir=data, check=True)

    report = json.loads(result.stdout)
    target = source.with_suffix(".safetensors")
    assert report["target"] == str(target)
    assert report["fp16"] is True
    assert sorted(report["pruned"]) == ["model_ema.decay", "model_ema.diffusion_modelout2weight"]
    assert report["metadata"] == {"global_step": "42"}
    written = safetensors.torch.load_file(target)
    assert {name: tensor.dtype for name, tensor in written.items()} == {
        "model.diffusion_model.out.2.weight": torch.float16,
        "model.diffusion_model.out.2.bias": torch.float16,
    }
    shown = json.loads(
        run_main("show", str(report["asset"]["id"]), "--json", data_dir=data, check=True).stdout
    )
    assert shown["path"] == str(target)


def test_convert_by_id_and_trash_the_old_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = _checkpoint(tmp_path / "models" / "m.ckpt")
    run_main("scan", str(tmp_path / "models"), "--no-lookup", data_dir=data, check=True)
    asset_id = json.loads(run_main("show", str(source), "--json", data_dir=data, check=True).stdout)["id"]
    trash = {"XDG_DATA_HOME": str(tmp_path / "xdg")}

    result = run_main("convert", str(asset_id), "--trash-old", data_dir=data, env=trash, check=True)

    first, second = result.stdout.splitlines()
    assert first.startswith("m.ckpt -> m.safetensors: 4 tensors, ")
    assert first.endswith(", old file moved to the trash")
    assert second.startswith("New asset ")
    assert not source.exists()
    assert (tmp_path / "xdg" / "Trash" / "files" / "m.ckpt").is_file()
    gone = run_main("show", str(asset_id), data_dir=data)
    assert gone.returncode == 1
    history = json.loads(run_main("history", "--json", data_dir=data, env=trash, check=True).stdout)
    latest = history[0]
    assert latest["kind"] == "delete"
    assert latest["label"] == "Convert m.ckpt: old file to the trash"


def test_an_unsafe_pickle_is_one_line_with_the_reason(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = write_malicious_torch(tmp_path / "models" / "evil.ckpt", tmp_path / "pwned")
    run_main("scan", str(tmp_path / "models"), "--no-lookup", data_dir=data, check=True)

    result = run_main("convert", str(source), data_dir=data)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("atelier convert: evil.ckpt was not converted: unsafe pickle")
    assert "builtins.exec" in result.stderr
    assert not (tmp_path / "pwned").exists()
    assert not source.with_suffix(".safetensors").exists()
