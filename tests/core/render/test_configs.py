"""Bundled diffusers configs load real single-file layouts offline, with no missing or unexpected keys.

The checkpoints are zero-filled sparse files of the true key spaces (tests/data/keyspaces), so the whole
``from_single_file`` conversion runs on real names and shapes without multi-GB downloads. Sockets are
blocked and the Hub endpoint points at a dead loopback port: any network attempt fails the test.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from core.render import configs
from core.render.configs import RESOURCES_CONFIG_ROOT, config_dir_for, config_folder_name
from core.taxonomy import Architecture, Prediction
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import TensorSpec, write_safetensors

REPO_ROOT = Path(__file__).resolve().parents[3]


def _read(folder: str, rel: str) -> dict[str, Any]:
    return json.loads((RESOURCES_CONFIG_ROOT / folder / rel).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# --- cheap checks (no torch) -------------------------------------------------------------------------


def test_importing_configs_does_not_import_torch() -> None:
    code = "import sys, core.render.configs, core.render.tokenizer; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(
    ("architecture", "prediction", "folder"),
    [
        (Architecture.SD1, None, "sd1"),
        (Architecture.SD1, Prediction.EPS, "sd1"),
        (Architecture.SD2, Prediction.EPS, "sd2"),
        (Architecture.SD2, Prediction.V, "sd2_v"),
        (Architecture.SD2, None, "sd2_v"),
        (Architecture.SDXL, None, "sdxl"),
        (Architecture.SDXL_REFINER, None, "sdxl_refiner"),
    ],
)
def test_config_folder_mapping(
    architecture: Architecture, prediction: Prediction | None, folder: str
) -> None:
    assert config_folder_name(architecture, prediction) == folder
    assert (RESOURCES_CONFIG_ROOT / folder / "model_index.json").is_file()


@pytest.mark.parametrize("architecture", [Architecture.SD3, Architecture.FLUX1, Architecture.UNKNOWN])
def test_unsupported_architectures_raise(architecture: Architecture) -> None:
    with pytest.raises(configs.UnsupportedArchitectureError):
        config_folder_name(architecture, None)


def test_config_dir_for_has_tokenizer_files(tmp_path: Path) -> None:
    folder = config_dir_for(Architecture.SDXL, None, tmp_path)
    assert folder.name == "sdxl"
    for sub in ("tokenizer", "tokenizer_2"):
        assert (folder / sub / "vocab.json").is_file()
        assert (folder / sub / "merges.txt").is_file()


@pytest.mark.parametrize(
    ("folder", "cross", "scaling", "prediction", "scheduler"),
    [
        ("sd1", 768, 0.18215, "epsilon", "PNDMScheduler"),
        ("sd2", 1024, 0.18215, "epsilon", "PNDMScheduler"),
        ("sd2_v", 1024, 0.18215, "v_prediction", "DDIMScheduler"),
        ("sdxl", 2048, 0.13025, "epsilon", "EulerDiscreteScheduler"),
        ("sdxl_refiner", 1280, 0.13025, "epsilon", "EulerDiscreteScheduler"),
    ],
)
def test_config_facts(folder: str, cross: int, scaling: float, prediction: str, scheduler: str) -> None:
    unet = _read(folder, "unet/config.json")
    assert unet["cross_attention_dim"] == cross
    assert _read(folder, "vae/config.json")["scaling_factor"] == scaling
    sched = _read(folder, "scheduler/scheduler_config.json")
    assert sched["_class_name"] == scheduler
    assert sched["prediction_type"] == prediction
    assert (sched["beta_schedule"], sched["beta_start"], sched["beta_end"]) == (
        "scaled_linear",
        0.00085,
        0.012,
    )
    index = _read(folder, "model_index.json")
    assert index["_class_name"] == configs.PIPELINE_CLASSES[folder]
    assert index["feature_extractor"] == [None, None]
    assert index["image_encoder"] == [None, None]
    if folder.startswith("sdxl"):
        assert unet["addition_embed_type"] == "text_time"
        assert unet["projection_class_embeddings_input_dim"] == (2560 if folder == "sdxl_refiner" else 2816)
    else:
        assert index["safety_checker"] == [None, None]
    for sub in ("tokenizer", "tokenizer_2"):
        if (RESOURCES_CONFIG_ROOT / folder / sub).is_dir():
            assert _read(folder, f"{sub}/tokenizer_config.json")["model_max_length"] == 77


# --- real layouts through from_single_file -----------------------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """HF offline, a dead Hub endpoint, and no outgoing TCP at all."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _sd2_keyspace() -> dict[str, TensorSpec]:
    """SD2.x LDM layout, built from the real SD1 and SDXL key spaces by SD2's documented differences.

    UNet: cross-attention K/V take 1024-wide context and proj_in/proj_out are linear (2-D) instead of
    1x1 convs. Text encoder: OpenCLIP ViT-H under ``cond_stage_model.model.`` (24 resblocks, width 1024,
    MLP 4096), i.e. SDXL's OpenCLIP bigG block with its widths scaled and 8 blocks fewer. VAE unchanged.
    """
    specs: dict[str, TensorSpec] = {}
    for name, (dtype, sd1_shape) in keyspace("sd1-ldm", dtype="F16").items():
        if name.startswith("cond_stage_model."):
            continue
        shape = sd1_shape
        if re.search(r"attn2\.to_[kv]\.weight$", name):
            shape = (sd1_shape[0], 1024)
        elif re.search(r"\.proj_(in|out)\.weight$", name):
            shape = sd1_shape[:2]
        specs[name] = (dtype, shape)
    widths = {1280: 1024, 3840: 3072, 5120: 4096}
    clip_g = keyspace("sdxl-sgm", components=("clip_g",), include_optional=True, dtype="F16")
    for name, (dtype, shape) in clip_g.items():
        block = re.search(r"resblocks\.(\d+)\.", name)
        if block and int(block.group(1)) >= 24:
            continue
        new = name.replace("conditioner.embedders.1.model.", "cond_stage_model.model.")
        specs[new] = (dtype, tuple(widths.get(dim, dim) for dim in shape))
    return specs


def _real_specs(name: str) -> dict[str, TensorSpec]:
    if name == "sd2":
        return _sd2_keyspace()
    specs = keyspace(name, dtype="F16")
    if name == "sdxl-sgm":
        # Official SDXL base files carry the full text encoders (the key space marks the parts SDXL does
        # not condition on as optional); the ones lacking them are covered by the zero-fill test.
        full = keyspace(name, components=("clip_l", "clip_g"), include_optional=True, dtype="F16")
        specs.update(full)
    return specs


class _KeyAudit:
    """Records state-dict keys diffusers hands to each module that the module does not have."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import diffusers.loaders.single_file_model as sfm
        import diffusers.loaders.single_file_utils as sfu

        self.unexpected: dict[str, list[str]] = {}
        original = sfu.load_model_dict_into_meta  # type: ignore[attr-defined]

        def audit(model: Any, state_dict: Any, *args: Any, **kwargs: Any) -> Any:
            known = set(model.state_dict())
            # position_ids is a non-persistent buffer in transformers >= 4.31; old files still carry it and
            # the loader drops it, so it is no mismatch.
            extra = sorted(k for k in state_dict if k not in known and not k.endswith("position_ids"))
            self.unexpected[type(model).__name__] = extra
            return original(model, state_dict, *args, **kwargs)

        monkeypatch.setattr(sfm, "load_model_dict_into_meta", audit)
        monkeypatch.setattr(sfu, "load_model_dict_into_meta", audit)


def _load(
    name: str,
    architecture: Architecture,
    prediction: Prediction | None,
    *,
    tmp: Path,
    dtype_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Any, _KeyAudit, dict[str, list[str]]]:
    import torch

    path = write_safetensors(tmp / f"{name}.safetensors", _real_specs(name))
    audit = _KeyAudit(monkeypatch)
    missing: dict[str, list[str]] = {}
    original = configs.materialize_missing_tensors

    def record(pipe: Any) -> dict[str, list[str]]:
        missing.update(original(pipe))
        return missing

    monkeypatch.setattr(configs, "materialize_missing_tensors", record)
    pipe = configs.load_single_file_pipeline(
        path, architecture, prediction, cache_dir=tmp / "cache", dtype=getattr(torch, dtype_name)
    )
    return pipe, audit, missing


def _param_count(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.usefixtures("offline")
@pytest.mark.slow
def test_sd1_real_layout_loads_and_denoises_one_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    pipe, audit, missing = _load(
        "sd1-ldm", Architecture.SD1, None, tmp=tmp_path, dtype_name="float32", monkeypatch=monkeypatch
    )
    assert missing == {}
    assert audit.unexpected == {"UNet2DConditionModel": [], "AutoencoderKL": [], "CLIPTextModel": []}
    assert type(pipe).__name__ == "StableDiffusionPipeline"
    assert pipe.unet.config.cross_attention_dim == 768
    assert pipe.text_encoder.config.hidden_size == 768
    assert pipe.vae.config.scaling_factor == 0.18215
    assert pipe.scheduler.config.prediction_type == "epsilon"
    assert pipe.safety_checker is None
    # Parameter counts of stable-diffusion-v1-5.
    assert _param_count(pipe.unet) == 859_520_964
    assert _param_count(pipe.text_encoder) == 123_060_480
    assert _param_count(pipe.vae) == 83_653_863
    image = pipe("a photo of a cat", num_inference_steps=1, height=64, width=64, output_type="np").images
    assert image.shape == (1, 64, 64, 3)
    assert np.isfinite(image).all()


@pytest.mark.usefixtures("offline")
@pytest.mark.slow
@pytest.mark.parametrize("prediction", [Prediction.EPS, Prediction.V])
def test_sd2_layout_loads(prediction: Prediction, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pipe, audit, missing = _load(
        "sd2", Architecture.SD2, prediction, tmp=tmp_path, dtype_name="float16", monkeypatch=monkeypatch
    )
    assert missing == {}
    assert audit.unexpected == {"UNet2DConditionModel": [], "AutoencoderKL": [], "CLIPTextModel": []}
    assert pipe.unet.config.cross_attention_dim == 1024
    assert pipe.unet.config.use_linear_projection is True
    assert pipe.text_encoder.config.num_hidden_layers == 23
    expected = "epsilon" if prediction is Prediction.EPS else "v_prediction"
    assert pipe.scheduler.config.prediction_type == expected
    assert _param_count(pipe.unet) == 865_910_724


@pytest.mark.usefixtures("offline")
@pytest.mark.slow
def test_sdxl_real_layout_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pipe, audit, missing = _load(
        "sdxl-sgm", Architecture.SDXL, None, tmp=tmp_path, dtype_name="float16", monkeypatch=monkeypatch
    )
    assert missing == {}
    assert audit.unexpected == {
        "UNet2DConditionModel": [],
        "AutoencoderKL": [],
        "CLIPTextModel": [],
        "CLIPTextModelWithProjection": [],
    }
    assert type(pipe).__name__ == "StableDiffusionXLPipeline"
    assert pipe.unet.config.cross_attention_dim == 2048
    assert pipe.unet.config.projection_class_embeddings_input_dim == 2816
    assert pipe.text_encoder_2.config.hidden_size == 1280
    assert pipe.text_encoder_2.config.projection_dim == 1280
    assert pipe.vae.config.scaling_factor == 0.13025
    # Parameter counts of stable-diffusion-xl-base-1.0.
    assert _param_count(pipe.unet) == 2_567_463_684
    assert _param_count(pipe.text_encoder) == 123_060_480
    assert _param_count(pipe.text_encoder_2) == 694_659_840
    # No denoising step here: through the full-size fp16 UNet on a CPU it cost 60% of this test (~20 s
    # quiet) and checks nothing the tiny SDXL renders (both text encoders, text-time conditioning) and
    # the SD1 real-layout step above do not.


def test_refiner_config_builds_the_refiner_network() -> None:
    """No refiner key space is stored, so check the config builds the refiner's shapes (C.2 table)."""
    from accelerate import init_empty_weights
    from diffusers import UNet2DConditionModel

    config = UNet2DConditionModel.load_config(RESOURCES_CONFIG_ROOT / "sdxl_refiner" / "unet")
    with init_empty_weights():
        unet = UNet2DConditionModel.from_config(config)  # type: ignore[no-untyped-call]
    shapes = {name: tuple(p.shape) for name, p in unet.named_parameters()}
    assert shapes["conv_in.weight"] == (384, 4, 3, 3)
    assert shapes["add_embedding.linear_1.weight"] == (1536, 2560)
    assert shapes["down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight"] == (768, 1280)


def test_missing_tensors_are_zero_filled_and_reported() -> None:
    """Files lacking tensors (e.g. SDXL merges without CLIP-L's last layer) must not leave meta tensors."""
    import torch
    from accelerate import init_empty_weights

    with init_empty_weights():
        module = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.LayerNorm(3))
    module[0].weight = torch.nn.Parameter(torch.ones(3, 2))
    module.register_buffer("scale", torch.empty(4, device="meta"))

    pipe = types.SimpleNamespace(components={"text_encoder": module, "tokenizer": object()})
    missing = configs.materialize_missing_tensors(pipe)
    assert missing == {"text_encoder": ["0.bias", "1.weight", "1.bias", "scale"]}
    assert not any(t.is_meta for t in [*module.parameters(), *module.buffers()])
    assert torch.equal(module[0].weight, torch.ones(3, 2))
    assert torch.equal(module(torch.ones(1, 2)), torch.zeros(1, 3))
