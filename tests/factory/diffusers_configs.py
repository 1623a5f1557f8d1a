"""Diffusers folders as diffusers saves them, configs only: ``model_index.json`` and one config per
component, so identification and render planning can be tested on real folders without weights (the
tiny pipelines with weights are in ``tiny_pipeline.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def write_pipeline(
    root: Path,
    pipeline: str,
    *,
    unet: dict[str, Any] | None = None,
    transformer: dict[str, Any] | None = None,
    prediction: str = "epsilon",
    text_encoder: bool = True,
    text_encoder_2: bool = False,
) -> Path:
    """A pipeline folder as diffusers saves it: model_index.json and one config per component."""
    index: dict[str, Any] = {"_class_name": pipeline, "_diffusers_version": "0.42.1"}
    if unet is not None:
        index["unet"] = ["diffusers", "UNet2DConditionModel"]
        write_json(root / "unet" / "config.json", {"_class_name": "UNet2DConditionModel", **unet})
    if transformer is not None:
        index["transformer"] = ["diffusers", transformer["_class_name"]]
        write_json(root / "transformer" / "config.json", transformer)
    index["text_encoder"] = ["transformers", "CLIPTextModel"] if text_encoder else [None, None]
    if text_encoder_2:
        index["text_encoder_2"] = ["transformers", "CLIPTextModelWithProjection"]
        write_json(
            root / "text_encoder_2" / "config.json", {"architectures": ["CLIPTextModelWithProjection"]}
        )
    if text_encoder:
        write_json(root / "text_encoder" / "config.json", {"architectures": ["CLIPTextModel"]})
    index["scheduler"] = ["diffusers", "EulerDiscreteScheduler"]
    write_json(root / "scheduler" / "scheduler_config.json", {"prediction_type": prediction})
    index["vae"] = ["diffusers", "AutoencoderKL"]
    write_json(root / "vae" / "config.json", {"_class_name": "AutoencoderKL", "scaling_factor": 0.18215})
    write_json(root / "model_index.json", index)
    return root
