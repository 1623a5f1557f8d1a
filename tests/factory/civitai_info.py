"""Civitai Helper ``.civitai.info`` sidecars built from real Civitai payloads (tests/data/civitai).

Civitai Helper stores the by-hash model-version answer verbatim and copies in what only the model page
has: ``creator`` at the top, and ``description`` and ``tags`` under ``model`` (zixaphir's
``append_parent_model_metadata``). The version and model captured in ``RepoCivitai*Metadata1.json`` give the
real shape (files with hashes, example images with their generation ``meta``); names can be changed so a
test reads like the model it stands for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "civitai"
DETAIL_TWEAKER_HTML = (
    "<p>Detail tweaker LoRA: <strong>enhances or reduces</strong> detail while keeping the overall style"
    " &amp; character.</p><ul><li>weight 0.5 to 1: more detail</li><li>negative weights: less detail</li>"
    '</ul><p><img src="https://image.civitai.com/x/banner.jpeg" />Made by '
    '<a href="https://civitai.com/user/OedoSoldier">OedoSoldier</a></p>'
)


def civitai_helper_payload(
    *,
    model_name: str = "Detail Tweaker LoRA",
    version_name: str = "v1.0",
    creator: str = "OedoSoldier",
    base_model: str = "SD 1.5",
    trained_words: tuple[str, ...] = ("add_detail",),
    description: str = DETAIL_TWEAKER_HTML,
    tags: tuple[str, ...] = ("concept", "detail", "tool"),
    model_id: int = 58390,
    version_id: int = 62833,
) -> dict[str, Any]:
    """What Civitai Helper writes for one file: the version payload plus the model's creator,
    description and tags (Detail Tweaker's by default; images and files are the captured ones)."""
    version: dict[str, Any] = json.loads((DATA / "RepoCivitaiVersionMetadata1.json").read_text("utf-8"))
    model = json.loads((DATA / "RepoCivitaiModelMetadata1.json").read_text("utf-8"))
    version.update(
        id=version_id,
        modelId=model_id,
        name=version_name,
        baseModel=base_model,
        trainedWords=list(trained_words),
    )
    version["model"] = {
        **version.get("model", {}),
        "name": model_name,
        "description": description,
        "tags": list(tags),
        "allowNoCredit": model.get("allowNoCredit"),
    }
    version["creator"] = {**model["creator"], "username": creator}
    return version


def write_civitai_helper_info(model_path: Path, payload: dict[str, Any] | None = None) -> Path:
    """``<stem>.civitai.info`` next to ``model_path``."""
    path = model_path.with_name(model_path.stem + ".civitai.info")
    path.write_text(
        json.dumps(payload if payload is not None else civitai_helper_payload()), encoding="utf-8"
    )
    return path
