"""ComfyUI's extra_model_paths.yaml: Atelier's section written beside the user's, and read back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.organize.comfyui_yaml import (
    ComfyYamlError,
    offered_roots,
    read_folders,
    section_for_root,
    write_section,
)
from core.taxonomy import LibraryLayout
from tests.app.organize.mirror_library import a1111_install

USERS_FILE = """\
# ComfyUI's example, edited by the user
a111:
    base_path: /opt/stable-diffusion-webui/   # my old install

    checkpoints: models/Stable-diffusion
    loras: |
         models/Lora
         models/LyCORIS
    embeddings: embeddings

#comfyui:
#     base_path: path/to/comfyui/
other_ui:
    base_path: ../shared models
    vae: vae
"""


def test_atelier_section_is_added_and_the_users_sections_keep_their_text(tmp_path: Path) -> None:
    webui = a1111_install(tmp_path / "webui")
    (webui / "models/LyCORIS").mkdir()
    path = tmp_path / "ComfyUI/extra_model_paths.yaml"
    path.parent.mkdir()
    path.write_text(USERS_FILE, encoding="utf-8")

    assert write_section(path, webui, LibraryLayout.A1111) == "atelier"
    text = path.read_text(encoding="utf-8")
    assert text.startswith(USERS_FILE)  # every line of theirs, comments included, as it was
    assert (path.with_name("extra_model_paths.yaml.bak")).read_text(encoding="utf-8") == USERS_FILE
    data = yaml.safe_load(text)
    assert data["a111"] == yaml.safe_load(USERS_FILE)["a111"]
    assert data["atelier"] == {
        "base_path": str(webui),
        "checkpoints": "models/Stable-diffusion",
        "loras": "models/Lora\nmodels/LyCORIS",
        "embeddings": "embeddings",
    }

    # writing again replaces Atelier's own section instead of adding a second one
    (webui / "models/VAE").mkdir()
    assert write_section(path, webui, LibraryLayout.A1111) == "atelier"
    again = path.read_text(encoding="utf-8")
    assert again.startswith(USERS_FILE)
    assert again.count("atelier:") == 1
    assert yaml.safe_load(again)["atelier"]["vae"] == "models/VAE"


def test_a_second_library_folder_gets_a_section_of_its_own(tmp_path: Path) -> None:
    first = a1111_install(tmp_path / "webui")
    second = a1111_install(tmp_path / "forge")
    path = tmp_path / "extra_model_paths.yaml"
    assert write_section(path, first, LibraryLayout.A1111) == "atelier"
    assert write_section(path, second, LibraryLayout.A1111) == "atelier_2"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert (data["atelier"]["base_path"], data["atelier_2"]["base_path"]) == (str(first), str(second))


def test_a_models_folder_root_is_written_from_its_install(tmp_path: Path) -> None:
    webui = a1111_install(tmp_path / "webui")
    section = section_for_root(webui / "models", LibraryLayout.A1111)
    assert section["base_path"] == str(webui)
    assert section["embeddings"] == "embeddings"


def test_a_plain_folder_is_refused_with_what_to_do_instead(tmp_path: Path) -> None:
    (tmp_path / "loras").mkdir()
    with pytest.raises(ComfyYamlError, match="mirror --ui comfyui"):
        section_for_root(tmp_path / "loras", LibraryLayout.FLAT)


def test_a_broken_file_is_left_untouched(tmp_path: Path) -> None:
    webui = a1111_install(tmp_path / "webui")
    path = tmp_path / "extra_model_paths.yaml"
    path.write_text("a111: [unclosed\n", encoding="utf-8")
    with pytest.raises(ComfyYamlError, match="not valid YAML"):
        write_section(path, webui, LibraryLayout.A1111)
    assert path.read_text(encoding="utf-8") == "a111: [unclosed\n"
    assert not path.with_name("extra_model_paths.yaml.bak").exists()


def test_reading_offers_each_sections_base_folder_once(tmp_path: Path) -> None:
    webui = a1111_install(tmp_path / "webui")
    shared = tmp_path / "shared models"
    (shared / "vae").mkdir(parents=True)
    comfy = tmp_path / "ComfyUI"
    comfy.mkdir()
    path = comfy / "extra_model_paths.yaml"
    path.write_text(USERS_FILE.replace("/opt/stable-diffusion-webui/", str(webui)), encoding="utf-8")
    folders = read_folders(path)
    assert [(f.section, f.key, f.path, f.exists) for f in folders if f.key in ("base_path", "vae")] == [
        ("a111", "base_path", webui, True),
        ("other_ui", "base_path", shared, True),  # relative to the yaml file's folder
        ("other_ui", "vae", shared / "vae", True),
    ]
    lycoris = next(f for f in folders if f.path.name == "LyCORIS")
    assert not lycoris.exists
    assert offered_roots(folders, []) == [webui, shared]
    assert offered_roots(folders, [webui]) == [shared]  # already in the library
