"""A Civitai base-model label fills in the family of a LoRA its tensors leave open, when it agrees.

A LoRA with Qwen-Image's layer names but a width no released Qwen-Image has (a pruned or tiny model) is
``other`` with Qwen-Image as its nearest match; beside a ``.civitai.info`` saying "Qwen", the scan files
it as Qwen-Image and says why. A label that names another family than the names allow ("Flux.1 D") is
not taken, and a LoRA the tensors name is never changed by a label.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.library import Library
from catalog.scanner import Scanner
from core.taxonomy import Architecture, LibraryLayout
from tests.factory.civitai_info import civitai_helper_payload, write_civitai_helper_info
from tests.factory.safetensors_writer import TensorSpec, write_safetensors


def _qwen_names_lora(width: int) -> dict[str, TensorSpec]:
    specs: dict[str, TensorSpec] = {}
    for i in range(4):
        for part in ("img_mlp.net.0.proj", "txt_mlp.net.0.proj", "attn.to_q"):
            module = f"diffusion_model.transformer_blocks.{i}.{part}"
            specs[f"{module}.lora_A.weight"] = ("BF16", (4, width))
            specs[f"{module}.lora_B.weight"] = ("BF16", (width, 4))
    return specs


def _scan(tmp_path: Path, width: int, label: str | None) -> tuple[Architecture, tuple[str, ...]]:
    return _scan_lora(tmp_path, _qwen_names_lora(width), label)


def _scan_lora(
    tmp_path: Path, specs: dict[str, TensorSpec], label: str | None
) -> tuple[Architecture, tuple[str, ...]]:
    """The family and reasons the scan records for a LoRA of ``specs``, beside a ``.civitai.info`` sidecar
    labelled ``label`` (none for None)."""
    root = tmp_path / "loras"
    lora = write_safetensors(root / "style.safetensors", specs)
    if label is not None:
        write_civitai_helper_info(lora, civitai_helper_payload(base_model=label))
    with Library.open(tmp_path / "data" / "catalog.sqlite3") as library:
        library.add_root(root, LibraryLayout.FLAT)
        Scanner(library, workers=1).scan()
        record = library.get_by_path(lora)
        assert record is not None
        return record.file_architecture, record.reasons


def test_an_agreeing_label_fills_in_the_family_the_names_allow(tmp_path: Path) -> None:
    arch, reasons = _scan(tmp_path, 64, "Qwen")
    assert arch is Architecture.QWEN_IMAGE, reasons
    assert any("Civitai base model 'Qwen' => qwen_image" in reason for reason in reasons), reasons


@pytest.mark.parametrize("label", [None, "Flux.1 D"])
def test_without_an_agreeing_label_it_stays_other(tmp_path: Path, label: str | None) -> None:
    arch, reasons = _scan(tmp_path, 64, label)
    assert arch is Architecture.OTHER, reasons


def test_a_label_never_changes_what_the_tensors_decided(tmp_path: Path) -> None:
    arch, reasons = _scan(tmp_path, 3072, "Flux.1 D")
    assert arch is Architecture.QWEN_IMAGE, reasons


def _attention_of_blocks(blocks: int) -> dict[str, TensorSpec]:
    """Attention layers of ``blocks`` 3072-wide ``transformer_blocks`` in diffusers naming: Flux.1's double
    blocks and Qwen-Image's first blocks alike (a verification round's Qwen-Image LoRA was called Flux.1)."""
    specs: dict[str, TensorSpec] = {}
    for i in range(blocks):
        for part in ("to_q", "to_k", "to_v", "to_out.0"):
            module = f"transformer.transformer_blocks.{i}.attn.{part}"
            specs[f"{module}.lora_A.weight"] = ("BF16", (8, 3072))
            specs[f"{module}.lora_B.weight"] = ("BF16", (3072, 8))
    return specs


@pytest.mark.parametrize(
    ("label", "arch"),
    [("Qwen", Architecture.QWEN_IMAGE), ("Flux.1 D", Architecture.FLUX1), (None, Architecture.OTHER)],
)
def test_a_label_decides_a_lora_of_blocks_two_families_share(
    tmp_path: Path, label: str | None, arch: Architecture
) -> None:
    found, reasons = _scan_lora(tmp_path, _attention_of_blocks(16), label)
    assert found is arch, reasons
