"""``main.py move``/``organize`` into a folder the library folder's tool does not scan: refused, exit 2.

An A1111 install is scanned only under ``models/`` and ``embeddings/`` (``core.layouts.scan_roots``): a
file moved to ``R/stuff/`` was on disk but "missing" at the next scan. The engine refuses such a target
before anything moves (``core.organize.names.unscanned_target_refusal``), and a template's plan shows it
as a conflict before Apply. Organize also keeps the install's own folders (``models/Lora`` ...) when it
empties them: without them the folder is no longer recognised as an A1111 install.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.in_process import run_in_process as run_main
from tests.app.organize.ops_library import linked_lora


def a1111_install(tmp_path: Path) -> tuple[Path, Path]:
    """An A1111 install with one LoRA in ``models/Lora``, and an empty ``models/Stable-diffusion``."""
    root = tmp_path / "webui"
    root.mkdir()
    (root / "webui.py").write_text("# A1111\n")
    (root / "models" / "Stable-diffusion").mkdir(parents=True)
    return root, linked_lora(root / "models" / "Lora")


def comfyui_install(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "ComfyUI"
    root.mkdir()
    (root / "main.py").write_text("# ComfyUI\n")
    (root / "models" / "checkpoints").mkdir(parents=True)
    return root, linked_lora(root / "models" / "loras")


@pytest.mark.parametrize(
    ("install", "where"), [(a1111_install, "an AUTOMATIC1111 folder"), (comfyui_install, "a ComfyUI folder")]
)
def test_a_move_out_of_the_scanned_folders_is_refused_exit_2(
    tmp_path: Path, install: object, where: str
) -> None:
    root, lora = install(tmp_path)  # type: ignore[operator]
    data = tmp_path / "data"
    run_main("scan", str(root), "--no-lookup", data_dir=data, check=True)

    refused = run_main("move", str(lora), f"{root}/stuff/", data_dir=data)

    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip() == (
        f"atelier move: {root / 'stuff'} is not scanned in {where}: put models under models/"
    )
    assert lora.is_file()
    assert not (root / "stuff").exists()
    again = run_main("scan", data_dir=data, check=True)
    assert "missing" not in again.stdout
    shown = json.loads(run_main("show", str(lora), "--json", data_dir=data, check=True).stdout)
    assert shown["status"] == "ok"


def test_a_move_to_the_top_of_the_install_names_its_scanned_folders(tmp_path: Path) -> None:
    root, lora = a1111_install(tmp_path)
    (root / "embeddings").mkdir()
    data = tmp_path / "data"
    run_main("scan", str(root), "--no-lookup", data_dir=data, check=True)

    refused = run_main("move", str(lora), str(root), data_dir=data)

    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip() == (
        f"atelier move: files straight in {root} are not scanned in an AUTOMATIC1111 folder: "
        "put models under models/ or embeddings/"
    )
    assert lora.is_file()


def test_a_move_inside_the_models_folder_still_works(tmp_path: Path) -> None:
    root, lora = a1111_install(tmp_path)
    data = tmp_path / "data"
    run_main("scan", str(root), "--no-lookup", data_dir=data, check=True)

    run_main("move", str(lora), f"{root}/models/Lora/styles/", data_dir=data, check=True)

    assert (root / "models" / "Lora" / "styles" / lora.name).is_file()
    again = run_main("scan", data_dir=data, check=True)
    assert "missing" not in again.stdout


def test_organize_into_an_unscanned_folder_is_a_conflict_and_moves_nothing(tmp_path: Path) -> None:
    root, lora = a1111_install(tmp_path)
    data = tmp_path / "data"
    run_main("scan", str(root), "--no-lookup", data_dir=data, check=True)

    planned = run_main("organize", "--template", "o/{kind}", "--dry-run", data_dir=data)
    applied = run_main("organize", "--template", "o/{kind}", "--yes", data_dir=data)

    said = f"{root / 'o'} is not scanned in an AUTOMATIC1111 folder: put models under models/"
    assert said in planned.stdout + planned.stderr
    assert said in applied.stdout + applied.stderr
    assert lora.is_file()
    assert not (root / "o").exists()
    assert "missing" not in run_main("scan", data_dir=data, check=True).stdout


def test_organize_keeps_the_install_folders_it_empties(tmp_path: Path) -> None:
    root, lora = a1111_install(tmp_path)
    data = tmp_path / "data"
    run_main("scan", str(root), "--no-lookup", data_dir=data, check=True)

    run_main("organize", "--template", "models/sorted/{kind}", "--yes", data_dir=data, check=True)

    assert len(list((root / "models" / "sorted").rglob("*.safetensors"))) == 1
    assert not lora.exists()
    assert (root / "models" / "Lora").is_dir()  # emptied, but A1111's own
    assert (root / "models" / "Stable-diffusion").is_dir()
    assert "a1111 layout" in run_main("scan", str(root), "--no-lookup", data_dir=data, check=True).stdout


def test_organize_still_removes_the_folders_it_emptied_that_are_not_the_installs(tmp_path: Path) -> None:
    root, lora = a1111_install(tmp_path)
    moved = root / "models" / "Lora" / "old" / "deeper" / lora.name
    data = tmp_path / "data"
    run_main("scan", str(root), "--no-lookup", data_dir=data, check=True)
    run_main("move", str(lora), f"{moved.parent}/", data_dir=data, check=True)

    run_main("organize", "--template", "models/Lora/{file_name}", "--yes", data_dir=data, check=True)

    assert (root / "models" / "Lora" / lora.name).is_file()
    assert not (root / "models" / "Lora" / "old").exists()


def test_a_folder_whose_name_differs_from_the_installs_only_in_case_is_removed_once_emptied(
    tmp_path: Path,
) -> None:
    """On a case-sensitive disk ``models/LoRA`` is not A1111's ``models/Lora``: organize made it, and
    removes it when it moves its files back (on a case-insensitive disk they are one folder, kept)."""
    root, lora = a1111_install(tmp_path)
    data = tmp_path / "data"
    run_main("scan", str(root), "--no-lookup", data_dir=data, check=True)
    run_main("organize", "--kind", "lora", "--template", "models/LoRA", "--yes", data_dir=data, check=True)
    if (root / "models" / "LoRA").samefile(root / "models" / "Lora"):
        pytest.skip("a case-insensitive disk: models/LoRA is models/Lora")

    run_main("organize", "--kind", "lora", "--template", "models/Lora", "--yes", data_dir=data, check=True)

    assert lora.is_file()
    assert sorted(path.name for path in (root / "models").iterdir()) == ["Lora", "Stable-diffusion"]
