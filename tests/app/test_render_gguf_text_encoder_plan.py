"""city96's ``t5-v1_1-xxl-encoder-Q8_0.gguf`` chosen as Flux's T5: the plan names it a GGUF text encoder
and refuses it before anything loads (as the README says), never "(not found)" or "a model file of unknown
kind" as when the library could not identify it. Header-true sparse files: only headers are read."""

from __future__ import annotations

from pathlib import Path

from catalog.library import Library
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from tests.app.in_process import run_in_process
from tests.factory.gguf_encoders import write_t5_xxl_gguf
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors


def test_render_plan_refuses_a_gguf_t5_by_name(tmp_path: Path) -> None:
    models = tmp_path / "models"
    write_safetensors(models / "flux1-dev.safetensors", keyspace("flux-flux"))
    write_t5_xxl_gguf(models)
    data = tmp_path / "data"
    with Library.open(data / "catalog.sqlite3") as library:
        library.add_root(models, LibraryLayout.FLAT)
        Scanner(library, workers=1).scan()
    offline = {"ATELIER_CIVITAI_URL": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "1"}
    result = run_in_process(
        "render", "--checkpoint", "flux1-dev", "--text-encoder", "t5-v1_1-xxl-encoder-Q8_0",
        "--prompt", "x", "--plan", data_dir=data, env=offline,
    )  # fmt: skip
    shown = result.stdout + result.stderr
    assert "t5-v1_1-xxl-encoder-Q8_0.gguf is a GGUF text encoder" in shown, shown
    assert "not found" not in shown, shown
    assert "unknown kind" not in shown, shown
    assert "Ready to render" not in shown, shown
