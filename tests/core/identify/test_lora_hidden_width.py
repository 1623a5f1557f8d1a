"""The hidden width of a transformer LoRA is read from its self-attention, not from whatever width most
adapted layers read: an Anima LoRA that adapts the cross-attention keys (1024-wide text) and the LLM
adapter (1024 wide) beside its 2048-wide self-attention is Anima, not ``other`` with "hidden size 1024"."""

from __future__ import annotations

from pathlib import Path

from core.formats.reader import read_header
from core.identify import identify
from core.taxonomy import Architecture, AssetKind
from tests.factory.safetensors_writer import TensorSpec, write_safetensors


def _pair(specs: dict[str, TensorSpec], module: str, fan_in: int, fan_out: int) -> None:
    specs[f"{module}.lora_A.weight"] = ("BF16", (16, fan_in))
    specs[f"{module}.lora_B.weight"] = ("BF16", (fan_out, 16))


def _anima_comfy_lora() -> dict[str, TensorSpec]:
    """The tester's ``anima_comfy.safetensors``: ComfyUI names, 28 blocks and 6 LLM-adapter blocks."""
    specs: dict[str, TensorSpec] = {}
    for i in range(28):
        _pair(specs, f"diffusion_model.blocks.{i}.self_attn.q_proj", 2048, 2048)
        _pair(specs, f"diffusion_model.blocks.{i}.cross_attn.k_proj", 1024, 2048)
    for i in range(6):
        _pair(specs, f"diffusion_model.llm_adapter.blocks.{i}.self_attn.q_proj", 1024, 1024)
    return specs


def test_an_anima_lora_with_cross_attention_and_adapter_is_anima(tmp_path: Path) -> None:
    result = identify(
        read_header(write_safetensors(tmp_path / "anima_comfy.safetensors", _anima_comfy_lora()))
    )
    assert result.kind is AssetKind.LORA
    assert result.architecture is Architecture.ANIMA, result.reasons
    assert any("hidden size 2048" in reason for reason in result.reasons), result.reasons
