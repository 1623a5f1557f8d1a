"""LoRAs in the dialects other UIs apply are identified as LoRAs of the right base, with the dialect named.

The layouts are real-size (``tests/factory/lora_dialect_files.py``: real SD1/SDXL module names and
shapes); the merge of each dialect is checked in ``tests/core/render/test_lora_dialects.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.identify.lora_scan import scan_every_name, scan_lora
from core.taxonomy import Architecture, AssetKind, NetworkType
from tests.core.identify.support import has_reason, identify_case, reasons_text
from tests.factory import lora_dialect_files as files
from tests.factory.models import ModelCase, to_header

CASES: dict[str, tuple[Callable[[], ModelCase], Architecture, NetworkType, str, str]] = {
    "simpletuner lycoris_": (
        files.simpletuner_lycoris,
        Architecture.SD1,
        NetworkType.LOKR,
        "simpletuner",
        "SimpleTuner",
    ),
    "peft base_model.model. .default": (
        files.peft_base_model,
        Architecture.SD1,
        NetworkType.LORA,
        "peft",
        "base_model.model.",
    ),
    "peft base_model.model.": (
        lambda: files.peft_base_model(default=False),
        Architecture.SD1,
        NetworkType.LORA,
        "peft",
        "base_model.model.",
    ),
    "comfyui sdxl": (
        files.comfy_text_encoders,
        Architecture.SDXL,
        NetworkType.LORA,
        "comfyui",
        "text encoder widths 768 + 1280 = 2048",
    ),
    "comfyui sd1 text only": (
        lambda: files.comfy_text_encoders("sd1"),
        Architecture.SD1,
        NetworkType.LORA,
        "comfyui",
        "text encoder width 768 => sd1",
    ),
    "set_weight": (files.set_weight, Architecture.SD1, NetworkType.FULL, "kohya", "768 => sd1"),
    "boft": (files.boft, Architecture.SD1, NetworkType.OFT, "kohya", "text encoder width 768 => sd1"),
    "kohya oft": (files.kohya_oft, Architecture.UNKNOWN, NetworkType.OFT, "kohya", "kohya OFT"),
    "glora new layout": (files.glora_new_layout, Architecture.SD1, NetworkType.GLORA, "kohya", "768 => sd1"),
    "diff_b beside lora": (files.lora_with_diff_b, Architecture.SD1, NetworkType.LORA, "kohya", "768 => sd1"),
}


@pytest.mark.parametrize("name", CASES)
def test_dialect_is_a_lora_of_its_base(name: str) -> None:
    build, arch, network, dialect, reason = CASES[name]
    case = build()
    result = identify_case(case)
    assert result.kind is AssetKind.LORA, reasons_text(result)
    assert result.architecture is arch, reasons_text(result)
    assert result.network is network, reasons_text(result)
    assert result.metadata["lora_format"] == dialect
    assert has_reason(result, reason), reasons_text(result)
    # the fast suffix scan and the name-by-name scan agree on these layouts too
    tensors = to_header(case).tensors
    fast, slow = scan_lora(tensors), scan_every_name(tensors)
    assert fast.counts == slow.counts
    assert fast.primary == slow.primary
