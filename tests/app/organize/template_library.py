"""A small real library for the organize-by-template tests: real files, sidecars, previews, a scan."""

from __future__ import annotations

from pathlib import Path

from catalog.library import Library
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from tests.factory.civitai_info import civitai_helper_payload, write_civitai_helper_info
from tests.factory.files import tiny_png
from tests.factory.models import emb_params_embedding, kohya_lora, sdxl_embedding
from tests.factory.safetensors_writer import write_safetensors


def write_lora(path: Path, name: str) -> Path:
    """A real SD1 kohya LoRA (sparse), made unique by its output name."""
    case = kohya_lora("sd1", rank=1, metadata={"ss_output_name": name})
    return write_safetensors(path, case.specs, metadata=case.metadata)


def write_embedding(path: Path, seed: int, *, sdxl: bool = False) -> Path:
    """A real A1111 embedding (SD1 ``emb_params`` or SDXL ``clip_l``/``clip_g``) with random values."""
    case = sdxl_embedding(2) if sdxl else emb_params_embedding(768, 2)
    return write_safetensors(path, case.specs, seed=seed)


def linked_lora(folder: Path, name: str = "detail_tweaker", **payload: object) -> Path:
    """A LoRA with Civitai Helper's sidecar (Detail Tweaker by OedoSoldier, SD 1.5) and a preview."""
    model = write_lora(folder / f"{name}.safetensors", name)
    write_civitai_helper_info(model, civitai_helper_payload(**payload))  # type: ignore[arg-type]
    model.with_name(f"{name}.preview.png").write_bytes(tiny_png())
    return model


def open_library(data: Path, *roots: Path, layout: LibraryLayout = LibraryLayout.FLAT) -> Library:
    library = Library.open(data / "catalog.sqlite3")
    for root in roots:
        library.add_root(root.resolve(), layout)
    Scanner(library).scan()
    return library
