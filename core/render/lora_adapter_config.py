"""The PEFT adapter config diffusers saves beside a LoRA's tensors, turned into per-layer alphas.

diffusers' ``save_lora_weights`` stores no ``.alpha`` tensors: the scale of a ``lora_A``/``lora_B`` pair
is in the file's ``__metadata__["lora_adapter_metadata"]``, a JSON dict of PEFT ``LoraConfig`` fields
per component (``"transformer.r"``, ``"transformer.lora_alpha"``, ``"transformer.alpha_pattern"``,
``"transformer.rank_pattern"``, ``"transformer.use_rslora"``; ``unet.``/``text_encoder.`` alike), and
PEFT scales each layer by ``lora_alpha / r`` (``/ √r`` with rsLoRA), a pattern's value overriding the
default for the layers it names. Written as an ``alpha`` per layer, the same scale comes out of the
patcher's kohya rule ``alpha / rank`` (rank = the layer's ``lora_A`` rows, which is PEFT's ``r`` for it).
Without that metadata diffusers, like Atelier, applies such a file at scale 1.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

METADATA_KEY = "lora_adapter_metadata"
_PAIR = re.compile(r"^(?P<prefix>[^.]+)\.(?P<module>.+)\.lora_A(?:\.default)?\.weight$")


def _configs(metadata: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """component prefix -> its LoraConfig fields, from the JSON (empty when absent or unreadable)."""
    raw = metadata.get(METADATA_KEY)
    if not raw:
        return {}
    try:
        packed = json.loads(raw)
    except ValueError:
        return {}
    configs: dict[str, dict[str, Any]] = {}
    if isinstance(packed, dict):
        for key, value in packed.items():
            prefix, _, field = str(key).partition(".")
            if field:
                configs.setdefault(prefix, {})[field] = value
    return configs


def _pattern_value(patterns: Any, module: str) -> Any:
    """PEFT's ``get_pattern_key``: the first pattern the module path ends with (as a regex)."""
    if not isinstance(patterns, dict):
        return None
    for pattern, value in patterns.items():
        if re.match(rf"(.*\.)?({pattern})$", module):
            return value
    return None


def with_adapter_alphas(tensors: Mapping[str, Any], metadata: Mapping[str, str]) -> Mapping[str, Any]:
    """``tensors`` plus an ``<prefix>.<module>.alpha`` for every PEFT pair its saved config scales;
    the same mapping when the file carries no config."""
    configs = _configs(metadata)
    if not configs:
        return tensors
    import torch

    out = dict(tensors)
    for key, tensor in tensors.items():
        match = _PAIR.match(key)
        config = configs.get(match["prefix"]) if match else None
        if match is None or config is None or "lora_alpha" not in config:
            continue
        alpha_key = f"{match['prefix']}.{match['module']}.alpha"
        if alpha_key in tensors:
            continue
        rank = int(tensor.shape[0])
        alpha = _pattern_value(config.get("alpha_pattern"), match["module"])
        alpha = float(config["lora_alpha"] if alpha is None else alpha)
        if config.get("use_rslora"):
            alpha *= math.sqrt(rank)  # alpha/√r, written as the alpha of alpha/rank
        out[alpha_key] = torch.tensor(alpha)
    return out
