"""A tool's install found by its own files plus any of its model folders, as ``scan`` and ``organize`` see it.

An A1111 install whose ``models/Stable-diffusion`` was never made (its checkpoints live elsewhere) still has
``webui.py`` and ``models/Lora``; a ComfyUI install has ``main.py`` and ``models/loras`` even without
``models/checkpoints`` or its ``comfy/`` code folder (a copy of the models only). Taken for plain folders,
their LoRAs were organized out of the tool's folder into ``LoRA/...``, where the tool no longer sees them.
Through ``main.py`` as a user runs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.main_process import run_main
from tests.factory.models import kohya_lora, write_case


@pytest.mark.parametrize(
    ("marker", "lora_folder", "layout"),
    [("webui.py", "models/Lora", "a1111"), ("main.py", "models/loras", "comfyui")],
)
def test_the_tools_file_and_one_model_folder_are_its_layout(
    tmp_path: Path, marker: str, lora_folder: str, layout: str
) -> None:
    install = tmp_path / "install"
    (install / lora_folder).mkdir(parents=True)
    (install / marker).write_text("", encoding="utf-8")
    lora = write_case(kohya_lora("sd1", "lora", rank=4), install / lora_folder)
    data = tmp_path / "data"

    scanned = run_main("scan", str(install), "--no-lookup", data_dir=data, check=True)
    planned = run_main("organize", "--dry-run", data_dir=data, check=True)

    assert scanned.stdout.splitlines()[0] == f"Library folder: {install} ({layout} layout)"
    moves = [line for line in planned.stdout.splitlines() if "  ->  " in line]
    assert moves == [f"  {lora_folder}/{lora.name}  ->  {lora_folder}/SD 1.x/{lora.name}"]


def test_a_webui_py_beside_comfyui_folders_is_not_a1111(tmp_path: Path) -> None:
    """Fooocus has a webui.py with ComfyUI's folder names: ``models/loras`` and an A1111-looking ``Lora``
    beside it are not enough to call it A1111."""
    install = tmp_path / "Fooocus"
    for folder in ("models/loras", "models/Lora"):
        (install / folder).mkdir(parents=True)
    (install / "webui.py").write_text("", encoding="utf-8")

    scanned = run_main("scan", str(install), "--no-lookup", data_dir=tmp_path / "data", check=True)

    assert "(a1111 layout)" not in scanned.stdout
