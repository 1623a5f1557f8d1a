"""A small real A1111 library for the mirror tests: LoRAs (one in a sub-folder) with a sidecar and a
preview, an embedding, scanned into a real catalog."""

from __future__ import annotations

from pathlib import Path

from catalog.library import Library
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from tests.factory.files import tiny_png
from tests.factory.models import emb_params_embedding, kohya_lora
from tests.factory.safetensors_writer import write_safetensors


def write_lora(path: Path, name: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    case = kohya_lora("sd1", rank=1, metadata={"ss_output_name": name})
    return write_safetensors(path, case.specs, metadata=case.metadata)


def write_embedding(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_safetensors(path, emb_params_embedding(768, 2).specs, seed=seed)


def a1111_install(folder: Path) -> Path:
    """``folder`` as an A1111 install: models/Lora/pixel (+ preview, + notes), models/Lora/styles/ink,
    embeddings/bad_hands."""
    (folder / "models" / "Stable-diffusion").mkdir(parents=True)
    pixel = write_lora(folder / "models" / "Lora" / "pixel.safetensors", "pixel")
    pixel.with_name("pixel.preview.png").write_bytes(tiny_png())
    pixel.with_name("pixel.json").write_text('{"activation text": "pixel art"}', encoding="utf-8")
    write_lora(folder / "models" / "Lora" / "styles" / "ink.safetensors", "ink")
    write_embedding(folder / "embeddings" / "bad_hands.safetensors", 3)
    return folder


def open_library(catalog: Path, *roots: Path) -> Library:
    library = Library.open(catalog)
    for root in roots:
        library.add_root(root.resolve(), LibraryLayout.A1111)
    Scanner(library).scan()
    return library
