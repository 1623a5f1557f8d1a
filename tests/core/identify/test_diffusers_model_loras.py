"""Files in each family's diffusers names: its transformer alone, and PEFT LoRAs over every Linear layer.

The module names and widths come from diffusers itself: each transformer class is built on the meta
device (no memory, no weights) with its default config, which is the released model's for these classes,
and a ``transformer.<module>.lora_A/lora_B`` pair is written for each of its Linear layers, as PEFT and
ai-toolkit save them. SD3's default config is not a released size (1152 wide) and is left out.
"""

from __future__ import annotations

import pytest

from core.taxonomy import Architecture, AssetKind
from tests.core.identify.support import identify_case, reasons_text
from tests.factory.models import ModelCase
from tests.factory.safetensors_writer import TensorSpec

CLASSES = {
    "QwenImageTransformer2DModel": Architecture.QWEN_IMAGE,
    "QwenImage21Transformer2DModel": Architecture.QWEN_IMAGE_2,
    "ZImageTransformer2DModel": Architecture.Z_IMAGE,
    "Lumina2Transformer2DModel": Architecture.LUMINA2,
    "WanTransformer3DModel": Architecture.WAN,
    "ChromaTransformer2DModel": Architecture.CHROMA,
    "SanaTransformer2DModel": Architecture.SANA,
    "AuraFlowTransformer2DModel": Architecture.AURAFLOW,
    "LTXVideoTransformer3DModel": Architecture.LTX_VIDEO,
    "LTX2VideoTransformer3DModel": Architecture.LTX2,
    "MochiTransformer3DModel": Architecture.MOCHI,
    "HunyuanVideoTransformer3DModel": Architecture.HUNYUAN_VIDEO,
    "CosmosTransformer3DModel": Architecture.COSMOS,
    "Krea2Transformer2DModel": Architecture.KREA2,
    "ErnieImageTransformer2DModel": Architecture.ERNIE_IMAGE,
    "Flux2Transformer2DModel": Architecture.FLUX2,
    "FluxTransformer2DModel": Architecture.FLUX1,
}


@pytest.mark.parametrize("class_name", sorted(CLASSES))
def test_peft_lora_over_the_diffusers_model(class_name: str) -> None:
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    with torch.device("meta"):
        model = getattr(diffusers, class_name)()
    specs: dict[str, TensorSpec] = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            specs[f"transformer.{name}.lora_A.weight"] = ("BF16", (16, module.in_features))
            specs[f"transformer.{name}.lora_B.weight"] = ("BF16", (module.out_features, 16))
    result = identify_case(ModelCase(class_name, specs))
    assert result.kind is AssetKind.LORA
    assert result.architecture is CLASSES[class_name], reasons_text(result)


@pytest.mark.parametrize("class_name", sorted(CLASSES))
def test_diffusers_named_transformer_file(class_name: str) -> None:
    """``transformer/diffusion_pytorch_model.safetensors`` of each family: every name and shape of the
    diffusers model (meta device, default config), identified from the header alone."""
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    with torch.device("meta"):
        model = getattr(diffusers, class_name)()
    specs: dict[str, TensorSpec] = {name: ("BF16", tuple(t.shape)) for name, t in model.state_dict().items()}
    result = identify_case(ModelCase(class_name, specs))
    assert result.kind is AssetKind.CHECKPOINT
    assert result.architecture is CLASSES[class_name], reasons_text(result)
