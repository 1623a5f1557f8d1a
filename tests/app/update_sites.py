"""Publishing a newer version of the loopback sites' Civitai LoRA (model 910001), for the update tests.

The new version's file is a real kohya LoRA with other weights, served by the file server with its true
size and SHA-256, so downloading it runs the whole pipeline (verify, rename, ingest, link).
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

from tests.app.download_sites import Sites
from tests.factory.safetensors_writer import write_safetensors

MODEL_ID = 910001
_LORA_KEY = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"


def publish_version(
    sites: Sites,
    tmp: Path,
    version_id: int,
    *,
    name: str,
    published: str,
    changes: str = "",
    base_model: str = "SD 1.5",
) -> bytes:
    """Add version ``version_id`` (newest first) with its own file, and return the file's bytes."""
    keys = {
        f"{_LORA_KEY}.lora_down.weight": ("F16", (4, 768)),
        f"{_LORA_KEY}.lora_up.weight": ("F16", (320, 4)),
    }
    data = write_safetensors(
        tmp / "factory" / f"lora_{version_id}.safetensors", keys, seed=version_id
    ).read_bytes()
    path = f"/api/download/models/{version_id}"
    sites.file_state.add(path, data)
    state = sites.civitai.state
    model: dict[str, Any] = copy.deepcopy(state.models[MODEL_ID])
    version = copy.deepcopy(model["modelVersions"][0])
    version.pop("modelId", None)
    version.update(
        id=version_id,
        name=name,
        publishedAt=published,
        createdAt=published,
        description=changes,
        baseModel=base_model,
    )
    (file,) = version["files"]
    file.update(
        id=version_id * 10,
        name=f"pixel_art_{name}.safetensors",
        sizeKB=len(data) / 1024,
        hashes={"SHA256": hashlib.sha256(data).hexdigest().upper()},
        downloadUrl=sites.files.base_url + path,
    )
    model["modelVersions"] = [version, *model["modelVersions"]]
    state.add_model(model)
    return data
