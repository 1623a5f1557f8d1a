"""A small real profile (data folder with a scanned catalog) for the catalog-access tests, made once.

Made through ``python main.py scan`` like a user's, then copied for each test (a copy is cheaper than a
scan, and each test may damage its own).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.app.main_process import run_main
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": ("F16", ()),
}
CATALOG = "catalog.sqlite3"


def make_profile(where: Path) -> tuple[Path, Path]:
    """(data folder, library folder): one LoRA scanned into the catalog, as ``atelier scan`` leaves it."""
    library = where / "ComfyUI"
    (library / "comfy").mkdir(parents=True)
    write_safetensors(library / "models/loras/pixel-art.safetensors", LORA, seed=3)
    data = where / "data"
    run_main("scan", str(library), "--no-hash", data_dir=data, check=True)
    return data, library


def copy_profile(made: tuple[Path, Path], to: Path) -> Path:
    """A copy of the profile's data folder (the library folder is shared: the tests never change it)."""
    data = to / "data"
    shutil.copytree(made[0], data)
    return data


def folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry below ``folder`` with its size and mtime: equal before and after means untouched."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
    }
