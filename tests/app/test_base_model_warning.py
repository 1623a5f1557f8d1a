"""An SDXL LoRA whose ``.civitai.info`` says "Flux.1 D": ``show`` prints the label and, beside it,
"Civitai says Flux.1 Dev; the file is SDXL" (the label is not shown silently)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from catalog.library import Library
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from tests.factory.civitai_info import civitai_helper_payload, write_civitai_helper_info
from tests.factory.safetensors_writer import write_safetensors

SDXL_LORA = {
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight": ("F16", (4, 2048)),
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (640, 4)),
}


@pytest.fixture
def scanned(tmp_path: Path) -> Iterator[tuple[Library, Path]]:
    root = tmp_path / "loras"
    lora = write_safetensors(root / "detail-xl.safetensors", SDXL_LORA)
    write_civitai_helper_info(lora, civitai_helper_payload(base_model="Flux.1 D"))
    library = Library.open(tmp_path / "data" / "catalog.sqlite3")
    library.add_root(root, LibraryLayout.FLAT)
    Scanner(library, workers=1).scan()
    yield library, lora
    library.close()


def test_show_says_the_label_contradicts_the_file(
    scanned: tuple[Library, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lora = scanned
    assert main(["show", "--data-dir", str(tmp_path / "data"), str(lora)]) == 0
    out = capsys.readouterr().out
    assert "base model label:  Flux.1 Dev" in out
    assert "base model warning: Civitai says Flux.1 Dev; the file is SDXL" in out
