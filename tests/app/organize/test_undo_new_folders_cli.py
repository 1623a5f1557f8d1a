"""``undo`` of an organize through the CLI's entry point (in this process, as the other organize CLI tests:
the test is about what the commands do to the folders): the folders the organize made for its files go
again when the undo leaves them empty, and only those (the tester's undo left 306 empty ``{hash8}``
folders)."""

from __future__ import annotations

from pathlib import Path

from tests.app.in_process import run_in_process as run_main
from tests.app.organize.template_library import linked_lora, write_embedding

TEMPLATE = "{kind}/{architecture}/{creator}"


def test_undo_of_an_organize_removes_the_folders_it_made_and_only_those(tmp_path: Path) -> None:
    root = tmp_path / "models"
    linked_lora(root / "incoming")
    write_embedding(root / "e1.safetensors", 1)
    write_embedding(root / "e2.safetensors", 2, sdxl=True)
    (root / "LoRA").mkdir()  # there before: the organize puts files under it, the undo leaves it
    env = {"ATELIER_DATA_DIR": str(tmp_path / "data"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    run_main("scan", str(root), "--no-hash", env=env, check=True)
    before = sorted(path.relative_to(root) for path in root.rglob("*"))

    run_main("organize", "--template", TEMPLATE, "--yes", env=env, check=True)
    assert (root / "LoRA" / "SD 1.x" / "OedoSoldier").is_dir()
    assert (root / "Embedding" / "SD 1.x").is_dir()
    # A file the user puts in one of the new folders meanwhile keeps that folder (and those above it).
    (root / "Embedding" / "SDXL" / "notes.txt").write_text("mine")

    run_main("undo", env=env, check=True)

    left = sorted(path.relative_to(root) for path in root.rglob("*"))
    kept = [Path("Embedding"), Path("Embedding/SDXL"), Path("Embedding/SDXL/notes.txt")]
    assert left == sorted([*before, *kept]), "LoRA/SD 1.x/OedoSoldier and Embedding/SD 1.x are gone"
    assert (root / "LoRA").is_dir(), "a folder that was there before stays, though empty again"
