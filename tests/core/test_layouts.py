"""core.layouts on fake installs built as real folder trees with each tool's marker files."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from core import layouts
from core.layouts import (
    KIND_FOLDERS,
    MODEL_FILE_SUFFIXES,
    detect_layout,
    discover_model_folders,
    folder_for,
    is_ignored_dir,
    is_ignored_file,
    is_ignored_name,
    kind_hint_for,
    models_dir,
    scan_roots,
)
from core.taxonomy import Architecture, AssetKind, LibraryLayout

L = LibraryLayout
K = AssetKind


def _touch(path: Path, content: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _dirs(root: Path, *relatives: str) -> None:
    for relative in relatives:
        (root / relative).mkdir(parents=True, exist_ok=True)


def make_a1111(root: Path, *, forge: bool = False) -> Path:
    _touch(root / "webui.py")
    _touch(root / "launch.py")
    _dirs(root, "modules", "models/Stable-diffusion", "models/Lora", "models/VAE", "embeddings")
    _dirs(root, "models/hypernetworks", "models/ControlNet", "models/ESRGAN")
    if forge:
        _dirs(root, "modules_forge", "models/text_encoder", "models/ControlNetPreprocessor")
    return root


def make_comfyui(root: Path) -> Path:
    _touch(root / "main.py")
    _touch(root / "folder_paths.py")
    _dirs(root, "comfy", "custom_nodes")
    _dirs(root, "models/checkpoints", "models/loras", "models/vae", "models/embeddings", "models/clip")
    _dirs(root, "models/text_encoders", "models/diffusion_models", "models/unet", "models/upscale_models")
    return root


def make_invokeai(root: Path) -> Path:
    _touch(root / "invokeai.yaml", b"schema_version: 4.0.2\n")
    _touch(root / "databases" / "invokeai.db")
    _dirs(root, "models/sdxl/main", "models/sd-1/lora", "models/any/clip_vision", "models/.download_cache")
    return root


def make_stability_matrix(data: Path) -> Path:
    """A Stability Matrix library folder (``Data`` in portable mode)."""
    _touch(data / "settings.json", b"{}")
    _dirs(data, "Packages", "Models/StableDiffusion", "Models/Lora", "Models/Embeddings", "Models/VAE")
    return data


# -- detect_layout ------------------------------------------------------------------------------------


def test_detects_each_install_at_its_root(tmp_path: Path) -> None:
    assert detect_layout(make_a1111(tmp_path / "a1111")) is L.A1111
    assert detect_layout(make_a1111(tmp_path / "forge", forge=True)) is L.FORGE
    assert detect_layout(make_comfyui(tmp_path / "ComfyUI")) is L.COMFYUI
    assert detect_layout(make_invokeai(tmp_path / "invokeai")) is L.INVOKEAI
    portable = tmp_path / "StabilityMatrix"
    _touch(portable / "StabilityMatrix.exe")
    make_stability_matrix(portable / "Data")
    assert detect_layout(portable) is L.STABILITY_MATRIX
    assert detect_layout(portable / "Data") is L.STABILITY_MATRIX
    assert detect_layout(make_stability_matrix(tmp_path / "share" / "StabilityMatrix")) is L.STABILITY_MATRIX


def test_detects_a_models_folder_given_directly(tmp_path: Path) -> None:
    assert detect_layout(make_a1111(tmp_path / "a1111") / "models") is L.A1111
    assert detect_layout(make_a1111(tmp_path / "forge", forge=True) / "models") is L.FORGE
    assert detect_layout(make_comfyui(tmp_path / "comfy") / "models") is L.COMFYUI
    assert detect_layout(make_invokeai(tmp_path / "invoke") / "models") is L.INVOKEAI
    assert detect_layout(make_stability_matrix(tmp_path / "sm" / "Data") / "Models") is L.STABILITY_MATRIX


def test_detects_a_models_folder_moved_away_from_its_install(tmp_path: Path) -> None:
    shared = tmp_path / "shared-models"
    _dirs(shared, "Stable-diffusion", "Lora")
    assert detect_layout(shared) is L.A1111
    comfy_like = tmp_path / "comfy-models"
    _dirs(comfy_like, "checkpoints", "loras")
    assert detect_layout(comfy_like) is L.COMFYUI
    invoke_like = tmp_path / "invoke-models"
    _dirs(invoke_like, "sdxl/lora")
    assert detect_layout(invoke_like) is L.INVOKEAI


def test_detects_portable_packages(tmp_path: Path) -> None:
    make_comfyui(tmp_path / "ComfyUI_windows_portable" / "ComfyUI")
    _dirs(tmp_path / "ComfyUI_windows_portable", "python_embeded")
    assert detect_layout(tmp_path / "ComfyUI_windows_portable") is L.COMFYUI
    make_a1111(tmp_path / "sd.webui" / "webui")
    assert detect_layout(tmp_path / "sd.webui") is L.A1111


def test_fooocus_has_a_webui_py_but_comfyui_folders(tmp_path: Path) -> None:
    root = tmp_path / "Fooocus"
    _touch(root / "webui.py")
    _touch(root / "launch.py")
    _dirs(root, "modules", "models/checkpoints", "models/loras", "models/embeddings")
    assert detect_layout(root) is L.COMFYUI
    assert folder_for(root, L.COMFYUI, K.LORA) == root / "models" / "loras"


def test_comfyui_desktop_base_folder_without_code(tmp_path: Path) -> None:
    base = tmp_path / "Documents" / "ComfyUI"
    _dirs(base, "models/checkpoints", "user", "custom_nodes")
    assert detect_layout(base) is L.COMFYUI


def test_comfyui_code_folder_alone_is_enough(tmp_path: Path) -> None:
    _dirs(tmp_path / "ComfyUI", "comfy", "models/loras")
    assert detect_layout(tmp_path / "ComfyUI") is L.COMFYUI


def test_a_tools_own_file_with_any_of_its_model_folders_is_enough(tmp_path: Path) -> None:
    """No ``models/Stable-diffusion`` (A1111) or ``models/checkpoints`` and ``comfy/`` (ComfyUI): the
    tool's file beside one of its own model folders still names the install."""
    _touch(tmp_path / "webui" / "webui.py")
    _dirs(tmp_path / "webui", "models/Lora")
    assert detect_layout(tmp_path / "webui") is L.A1111
    _touch(tmp_path / "forge" / "webui.py")
    _dirs(tmp_path / "forge", "modules_forge", "models/ESRGAN")
    assert detect_layout(tmp_path / "forge") is L.FORGE
    _touch(tmp_path / "comfyui" / "main.py")
    _dirs(tmp_path / "comfyui", "models/loras")
    assert detect_layout(tmp_path / "comfyui") is L.COMFYUI
    _touch(tmp_path / "other" / "main.py")  # any Python project has a main.py: a folder of its own
    _dirs(tmp_path / "other", "models/vae")
    assert detect_layout(tmp_path / "other") is L.FLAT
    _touch(tmp_path / "fooocus" / "webui.py")  # with ComfyUI's folder names: not A1111
    _dirs(tmp_path / "fooocus", "models/loras")
    assert detect_layout(tmp_path / "fooocus") is not L.A1111


def test_plain_and_missing_folders_are_flat(tmp_path: Path) -> None:
    _touch(tmp_path / "plain" / "model.safetensors")
    assert detect_layout(tmp_path / "plain") is L.FLAT
    assert detect_layout(tmp_path / "missing") is L.FLAT
    assert detect_layout(_touch(tmp_path / "file.txt")) is L.FLAT


# -- KIND_FOLDERS / folder_for ---------------------------------------------------------------------------


def test_kind_folders_cover_every_layout_and_are_relative() -> None:
    assert set(KIND_FOLDERS) == set(LibraryLayout)
    assert not KIND_FOLDERS[L.FLAT]
    for layout, kinds in KIND_FOLDERS.items():
        if layout is L.FLAT:
            continue
        assert {K.CHECKPOINT, K.LORA, K.EMBEDDING, K.VAE} <= set(kinds), layout
        for folders in kinds.values():
            assert folders
            for folder in folders:
                assert folder
                assert not folder.startswith("/")
                assert "\\" not in folder
    assert K.HYPERNETWORK not in KIND_FOLDERS[L.INVOKEAI]  # InvokeAI has no hypernetworks


def test_model_file_suffixes() -> None:
    assert {".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft"} == MODEL_FILE_SUFFIXES


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (K.CHECKPOINT, "models/Stable-diffusion"),
        (K.LORA, "models/Lora"),
        (K.EMBEDDING, "embeddings"),
        (K.HYPERNETWORK, "models/hypernetworks"),
        (K.VAE, "models/VAE"),
        (K.CONTROLNET, "models/ControlNet"),
        (K.UPSCALER, "models/ESRGAN"),
        (K.UNKNOWN, "models"),
    ],
)
def test_folder_for_a1111_from_the_install_and_from_its_models_folder(
    tmp_path: Path, kind: AssetKind, expected: str
) -> None:
    root = make_a1111(tmp_path / "webui")
    assert folder_for(root, L.A1111, kind) == root / expected
    assert folder_for(root / "models", L.A1111, kind) == root / expected


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (K.CHECKPOINT, "models/checkpoints"),
        (K.LORA, "models/loras"),
        (K.EMBEDDING, "models/embeddings"),
        (K.HYPERNETWORK, "models/hypernetworks"),
        (K.VAE, "models/vae"),
        (K.CONTROLNET, "models/controlnet"),
        (K.IP_ADAPTER, "models/ipadapter"),
        (K.UPSCALER, "models/upscale_models"),
        (K.CLIP_VISION, "models/clip_vision"),
        (K.TEXT_ENCODER, "models/text_encoders"),
    ],
)
def test_folder_for_comfyui(tmp_path: Path, kind: AssetKind, expected: str) -> None:
    root = make_comfyui(tmp_path / "ComfyUI")
    assert folder_for(root, L.COMFYUI, kind) == root / expected
    assert folder_for(root / "models", L.COMFYUI, kind) == root / expected
    portable = tmp_path / "portable"
    make_comfyui(portable / "ComfyUI")
    assert folder_for(portable, L.COMFYUI, kind) == portable / "ComfyUI" / expected


def test_folder_for_comfyui_uses_legacy_clip_folder_when_it_is_the_only_one(tmp_path: Path) -> None:
    root = tmp_path / "old-comfy"
    _dirs(root, "comfy", "models/checkpoints", "models/clip")
    _touch(root / "main.py")
    assert folder_for(root, L.COMFYUI, K.TEXT_ENCODER) == root / "models" / "clip"


def test_folder_for_forge_has_text_encoders(tmp_path: Path) -> None:
    root = make_a1111(tmp_path / "forge", forge=True)
    assert folder_for(root, L.FORGE, K.TEXT_ENCODER) == root / "models" / "text_encoder"
    assert folder_for(root, L.FORGE, K.LORA) == root / "models" / "Lora"


def test_folder_for_stability_matrix_at_every_depth(tmp_path: Path) -> None:
    portable = tmp_path / "StabilityMatrix"
    data = make_stability_matrix(portable / "Data")
    expected = data / "Models" / "Lora"
    assert folder_for(portable, L.STABILITY_MATRIX, K.LORA) == expected
    assert folder_for(data, L.STABILITY_MATRIX, K.LORA) == expected
    assert folder_for(data / "Models", L.STABILITY_MATRIX, K.LORA) == expected
    assert models_dir(portable, L.STABILITY_MATRIX) == data / "Models"


def test_folder_for_stability_matrix_keeps_the_old_folder_names_of_an_old_install(tmp_path: Path) -> None:
    data = tmp_path / "Data"
    _touch(data / "settings.json")
    _dirs(data, "Models/StableDiffusion", "Models/TextualInversion")
    assert folder_for(data, L.STABILITY_MATRIX, K.EMBEDDING) == data / "Models" / "TextualInversion"
    fresh = make_stability_matrix(tmp_path / "fresh")
    assert folder_for(fresh, L.STABILITY_MATRIX, K.EMBEDDING) == fresh / "Models" / "Embeddings"


def test_folder_for_invokeai_sorts_by_base(tmp_path: Path) -> None:
    root = make_invokeai(tmp_path / "invokeai")
    assert folder_for(root, L.INVOKEAI, K.LORA, architecture=Architecture.SDXL) == root / "models/sdxl/lora"
    assert folder_for(root, L.INVOKEAI, K.CHECKPOINT, architecture=Architecture.FLUX1) == (
        root / "models/flux/main"
    )
    assert folder_for(root, L.INVOKEAI, K.LORA) == root / "models/any/lora"
    assert folder_for(root, L.INVOKEAI, K.LORA, architecture=Architecture.OTHER) == root / "models/any/lora"
    assert folder_for(root, L.INVOKEAI, K.HYPERNETWORK) == root / "models"


def test_folder_for_a_new_empty_root_uses_the_install_layout(tmp_path: Path) -> None:
    root = tmp_path / "new-comfy"
    assert folder_for(root, L.COMFYUI, K.LORA) == root / "models" / "loras"
    models = tmp_path / "elsewhere" / "models"
    models.mkdir(parents=True)
    assert folder_for(models, L.COMFYUI, K.LORA) == models / "loras"
    empty = tmp_path / "empty-existing"
    empty.mkdir()
    assert folder_for(empty, L.COMFYUI, K.LORA) == empty / "models" / "loras"
    assert folder_for(empty, L.STABILITY_MATRIX, K.LORA) == empty / "Data" / "Models" / "Lora"
    sm_data = tmp_path / "sm" / "Data"
    (sm_data / "Models").mkdir(parents=True)  # Models exists, none of its kind folders yet
    assert folder_for(sm_data, L.STABILITY_MATRIX, K.LORA) == sm_data / "Models" / "Lora"
    assert folder_for(sm_data.parent, L.STABILITY_MATRIX, K.VAE) == sm_data / "Models" / "VAE"


def test_folder_for_flat_is_the_root(tmp_path: Path) -> None:
    for kind in AssetKind:
        assert folder_for(tmp_path, L.FLAT, kind) == tmp_path


def test_scan_roots_cover_models_and_a1111_embeddings(tmp_path: Path) -> None:
    root = make_a1111(tmp_path / "webui")
    assert scan_roots(root, L.A1111) == [root / "models", root / "embeddings"]
    comfy = make_comfyui(tmp_path / "ComfyUI")
    assert scan_roots(comfy, L.COMFYUI) == [comfy / "models"]  # never custom_nodes
    assert scan_roots(tmp_path, L.FLAT) == [tmp_path]


# -- kind_hint_for ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "relative", "expected"),
    [
        (L.A1111, "models/Stable-diffusion/sd15.safetensors", K.CHECKPOINT),
        (L.A1111, "models/Stable-diffusion/sub/dir/sd15.safetensors", K.CHECKPOINT),
        (L.A1111, "models/Lora/x.safetensors", K.LORA),
        (L.A1111, "models/LyCORIS/x.safetensors", K.LORA),
        (L.A1111, "models/lora/x.safetensors", K.LORA),  # case-insensitive
        (L.A1111, "embeddings/bad-hands.pt", K.EMBEDDING),
        (L.A1111, "models/hypernetworks/h.pt", K.HYPERNETWORK),
        (L.A1111, "models/ControlNet/ip-adapter_sd15.bin", K.CONTROLNET),  # shared folder: primary kind
        (L.A1111, "models/RealESRGAN/x4.pth", K.UPSCALER),
        (L.A1111, "models/x.safetensors", None),
        (L.A1111, "outputs/x.safetensors", None),
        (L.FORGE, "models/text_encoder/t5.safetensors", K.TEXT_ENCODER),
        (L.COMFYUI, "models/unet/flux.safetensors", K.CHECKPOINT),
        (L.COMFYUI, "models/clip/clip_l.safetensors", K.TEXT_ENCODER),
        (L.COMFYUI, "models/ipadapter/ip.safetensors", K.IP_ADAPTER),
        (L.COMFYUI, "ComfyUI/models/loras/x.safetensors", K.LORA),  # from a portable package's root
        (L.INVOKEAI, "models/sdxl/lora/x.safetensors", K.LORA),
        (L.INVOKEAI, "models/sd-1/main/model/unet/diffusion_pytorch_model.safetensors", K.CHECKPOINT),
        (L.INVOKEAI, "models/any/clip_vision/x.safetensors", K.CLIP_VISION),
        (L.INVOKEAI, "models/some-future-base/lora/x.safetensors", K.LORA),
        (L.INVOKEAI, "models/0b1c2d3e-uuid-key/x.safetensors", None),  # InvokeAI 6: key folders
        (L.STABILITY_MATRIX, "Data/Models/Lora/x.safetensors", K.LORA),
        (L.STABILITY_MATRIX, "Data/Models/TextualInversion/x.pt", K.EMBEDDING),
        (L.STABILITY_MATRIX, "Data/Models/DiffusionModels/x.gguf", K.CHECKPOINT),
        (L.FLAT, "Lora/x.safetensors", None),
    ],
)
def test_kind_hint_from_the_install_root(
    tmp_path: Path, layout: LibraryLayout, relative: str, expected: AssetKind | None
) -> None:
    assert kind_hint_for(tmp_path, layout, tmp_path / relative) == expected


def test_kind_hint_from_a_models_folder_root(tmp_path: Path) -> None:
    assert kind_hint_for(tmp_path, L.A1111, tmp_path / "Lora" / "x.safetensors") is K.LORA
    assert kind_hint_for(tmp_path, L.COMFYUI, tmp_path / "checkpoints" / "x.safetensors") is K.CHECKPOINT
    assert kind_hint_for(tmp_path, L.INVOKEAI, tmp_path / "sdxl" / "vae" / "x.safetensors") is K.VAE
    assert kind_hint_for(tmp_path, L.STABILITY_MATRIX, tmp_path / "Models" / "VAE" / "x.pt") is K.VAE
    assert kind_hint_for(tmp_path, L.STABILITY_MATRIX, tmp_path / "ESRGAN" / "x.pth") is K.UPSCALER


def test_kind_hint_outside_the_root_is_none(tmp_path: Path) -> None:
    assert kind_hint_for(tmp_path / "a", L.A1111, tmp_path / "b" / "models" / "Lora" / "x.pt") is None


# -- ignored files and folders ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ignored"),
    [
        ("model.safetensors", False),
        ("model.SAFETENSORS", False),
        ("model.ckpt", False),
        ("model.pt", False),
        ("model.pth", False),
        ("model.bin", False),
        ("model.gguf", False),
        ("model.sft", False),
        ("model.safetensors.part", True),
        ("model.safetensors.partial", True),
        ("model.safetensors.crdownload", True),
        ("model.safetensors.download", True),
        ("model.safetensors.tmp", True),
        ("model.safetensors.aria2", True),
        ("model.safetensors.incomplete", True),
        (".~lock.model.safetensors#", True),
        (".hidden.safetensors", True),
        ("model.preview.png", True),
        ("model.jpg", True),
        ("model.webp", True),
        ("model.json", True),
        ("model.civitai.info", True),
        ("model.cm-info.json", True),
        ("model.metadata.json", True),
        ("model.txt", True),
        ("model.yaml", True),
        ("README.md", True),
        ("script.py", True),
        ("model", True),
        ("model.safetensors.", True),
        (".safetensors", True),
        ("~$lock.safetensors", True),
    ],
)
def test_is_ignored_file(tmp_path: Path, name: str, ignored: bool) -> None:
    assert is_ignored_file(tmp_path / name) is ignored
    # The walk's form, on the folder's listing, says the same without a Path or a stat.
    assert is_ignored_name(name, frozenset({name})) is ignored
    assert is_ignored_file(tmp_path / name, frozenset({name})) is ignored


def test_a_file_with_an_aria2_control_file_is_still_downloading(tmp_path: Path) -> None:
    model = _touch(tmp_path / "model.safetensors")
    assert not is_ignored_file(model)
    assert not is_ignored_name(model.name, frozenset({model.name}))
    _touch(tmp_path / "model.safetensors.aria2")
    assert is_ignored_file(model)
    assert is_ignored_name(model.name, frozenset({model.name, "model.safetensors.aria2"}))


@pytest.mark.parametrize(
    ("relative", "ignored"),
    [
        ("models/Lora", False),
        ("models/Lora/characters", False),
        (".git", True),
        ("__pycache__", True),
        (".cache", True),
        ("node_modules", True),
        ("venv", True),
        (".venv", True),
        ("models/.download_cache", True),
        ("models/tmpinstall_abc123", True),
        ("hub/models--org--name/blobs", True),
        ("models/blobs", False),  # only a hub cache's blob store is skipped
        ("hub/models--org--name/snapshots", False),
    ],
)
def test_is_ignored_dir(tmp_path: Path, relative: str, ignored: bool) -> None:
    assert is_ignored_dir(tmp_path / relative) is ignored


# -- discovery --------------------------------------------------------------------------------------------


def _fake_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    webui = make_a1111(home / "stable-diffusion-webui")
    for name in ("a.safetensors", "b.ckpt", "c.safetensors.part", "c.preview.png"):
        _touch(webui / "models" / "Stable-diffusion" / name)
    _touch(webui / "embeddings" / "neg.pt")
    _touch(webui / "models" / "Lora" / "nested" / "deeper" / "l.safetensors")
    _touch(webui / "venv" / "lib" / "x.bin")  # outside the scan roots

    comfy = make_comfyui(home / "AI" / "tools" / "ComfyUI")
    _touch(comfy / "models" / "loras" / "l1.safetensors")
    _touch(comfy / "models" / "loras" / "l2.safetensors")
    _touch(comfy / "custom_nodes" / "node" / "weights.pth")  # not counted: not a models folder

    make_stability_matrix(home / ".local" / "share" / "StabilityMatrix")
    _touch(home / ".local" / "share" / "StabilityMatrix" / "Models" / "Lora" / "sm.safetensors")
    make_invokeai(home / "pinokio" / "api" / "invoke.git" / "app")

    # A symlink loop and a second path to the ComfyUI install must neither hang nor duplicate.
    if sys.platform != "win32":
        (home / "AI" / "loop").symlink_to(home, target_is_directory=True)
        (home / "ComfyUI").symlink_to(comfy, target_is_directory=True)  # found first, by this path
    return home


def test_discovers_installs_in_a_fake_home(tmp_path: Path) -> None:
    home = _fake_home(tmp_path)
    started = time.monotonic()
    found = discover_model_folders(home=home)
    elapsed = time.monotonic() - started

    by_path = {f.path: f for f in found}
    webui = by_path[home / "stable-diffusion-webui"]
    assert webui.layout is L.A1111
    assert (webui.model_files, webui.count_complete) == (4, True)
    comfy = [f for f in found if f.layout is L.COMFYUI]
    assert len(comfy) == 1  # reached through ~/ComfyUI and through ~/AI/tools/ComfyUI: reported once
    assert comfy[0].model_files == 2
    sm = by_path[home / ".local" / "share" / "StabilityMatrix"]
    assert (sm.layout, sm.model_files) == (L.STABILITY_MATRIX, 1)
    assert by_path[home / "pinokio" / "api" / "invoke.git" / "app"].layout is L.INVOKEAI
    assert len(found) == 4
    assert elapsed < 0.5


def test_discovery_of_extra_folders(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    plain = tmp_path / "D" / "my-models"
    _touch(plain / "one.safetensors")
    _touch(plain / "two.gguf")
    empty = tmp_path / "D" / "empty"
    empty.mkdir()
    container = tmp_path / "D" / "apps"
    make_comfyui(container / "ComfyUI_windows_portable" / "ComfyUI")

    found = discover_model_folders(home=home, extra=[plain, empty, container])

    assert [(f.path, f.layout, f.model_files) for f in found] == [
        (container / "ComfyUI_windows_portable", L.COMFYUI, 0),
        (plain, L.FLAT, 2),
    ]


def test_discovery_count_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    root = make_a1111(home / "stable-diffusion-webui")
    for index in range(5):
        _touch(root / "models" / "Lora" / f"{index}.safetensors")
    monkeypatch.setattr(layouts, "DISCOVERY_COUNT_CAP", 3)
    (found,) = discover_model_folders(home=home)
    assert (found.model_files, found.count_complete) == (3, False)


def test_discovery_in_an_empty_or_missing_home(tmp_path: Path) -> None:
    assert discover_model_folders(home=tmp_path) == []
    assert discover_model_folders(home=tmp_path / "missing") == []


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs POSIX symlinks")
def test_discovery_counts_through_symlinked_model_folders_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shared = tmp_path / "shared-loras"
    _touch(shared / "x.safetensors")
    (shared / "self").symlink_to(shared, target_is_directory=True)  # a loop inside the linked folder
    root = make_a1111(home / "stable-diffusion-webui")
    (root / "models" / "Lora").rmdir()
    (root / "models" / "Lora").symlink_to(shared, target_is_directory=True)
    (found,) = discover_model_folders(home=home)
    assert (found.model_files, found.count_complete) == (1, True)


# -- A1111 / Forge trees without their code ------------------------------------------------------------


def test_an_a1111_tree_without_webui_py_is_recognised_from_its_folders(tmp_path: Path) -> None:
    """A models tree synced or copied from an A1111 install, without the install's code."""
    root = tmp_path / "sd-backup"
    _dirs(root, "models/Stable-diffusion", "models/Lora", "models/VAE", "embeddings")
    _touch(root / "models" / "Lora" / "detail.safetensors")

    assert detect_layout(root) is L.A1111
    assert detect_layout(root / "models") is L.A1111
    assert folder_for(root, L.A1111, K.EMBEDDING) == root / "embeddings"
    assert folder_for(root / "models", L.A1111, K.EMBEDDING) == root / "embeddings"
    assert kind_hint_for(root, L.A1111, root / "models" / "Lora" / "detail.safetensors") is K.LORA
    assert set(scan_roots(root, L.A1111)) == {root / "models", root / "embeddings"}


def test_an_a1111_tree_without_checkpoints_needs_two_of_its_folders(tmp_path: Path) -> None:
    lora_and_embeddings = tmp_path / "a"
    _dirs(lora_and_embeddings, "models/Lora", "embeddings")
    lora_and_hypernetworks = tmp_path / "b"
    _dirs(lora_and_hypernetworks, "models/Lora", "models/hypernetworks")
    only_a_vae = tmp_path / "c"
    _dirs(only_a_vae, "models/VAE")
    vae_and_hypernetworks = tmp_path / "d"  # shared names only: nothing says A1111
    _dirs(vae_and_hypernetworks, "models/VAE", "models/hypernetworks")

    assert detect_layout(lora_and_embeddings) is L.A1111
    assert detect_layout(lora_and_hypernetworks) is L.A1111
    assert detect_layout(lora_and_hypernetworks / "models") is L.A1111
    assert detect_layout(only_a_vae) is L.FLAT
    assert detect_layout(vae_and_hypernetworks) is L.FLAT


def test_a_forge_tree_without_code_is_told_from_a1111_by_its_own_folders(tmp_path: Path) -> None:
    by_folders = tmp_path / "forge-models"
    _dirs(by_folders, "models/Stable-diffusion", "models/Lora", "models/text_encoder", "embeddings")
    by_code_folder = tmp_path / "forge-partial"
    _dirs(by_code_folder, "modules_forge", "models/Lora", "embeddings")
    preprocessors = tmp_path / "forge-cn"
    _dirs(preprocessors, "models/Lora", "models/ControlNetPreprocessor", "models/VAE")

    assert detect_layout(by_folders) is L.FORGE
    assert detect_layout(by_folders / "models") is L.FORGE
    assert detect_layout(by_code_folder) is L.FORGE
    assert detect_layout(preprocessors) is L.FORGE
    assert folder_for(by_folders, L.FORGE, K.TEXT_ENCODER) == by_folders / "models" / "text_encoder"


def test_other_tools_trees_are_not_taken_for_a1111(tmp_path: Path) -> None:
    """ComfyUI's and Stability Matrix's own folder names win over the names they share with A1111."""
    comfy = tmp_path / "comfy-no-code"
    _dirs(comfy, "models/loras", "models/vae", "models/hypernetworks", "models/embeddings")
    matrix_models = tmp_path / "Data" / "Models"
    _dirs(matrix_models, "Lora", "VAE", "Embeddings")
    matrix_named = tmp_path / "sm" / "Models"
    _dirs(matrix_named, "Lora", "TextualInversion", "VAE")

    assert detect_layout(comfy) is not L.A1111
    assert detect_layout(comfy / "models") is L.COMFYUI
    assert detect_layout(matrix_models) is not L.A1111
    assert detect_layout(matrix_named) is L.STABILITY_MATRIX
    assert detect_layout(make_comfyui(tmp_path / "ComfyUI")) is L.COMFYUI
    assert detect_layout(make_invokeai(tmp_path / "invokeai")) is L.INVOKEAI
    assert detect_layout(make_stability_matrix(tmp_path / "SM" / "Data")) is L.STABILITY_MATRIX


def test_discovery_finds_an_a1111_tree_without_code(tmp_path: Path) -> None:
    home = tmp_path / "home"
    tree = home / "AI" / "old-webui"
    _dirs(tree, "models/Stable-diffusion", "models/Lora", "embeddings")
    _touch(tree / "models" / "Stable-diffusion" / "base.safetensors")
    _touch(tree / "embeddings" / "easynegative.safetensors")

    found = discover_model_folders(home=home)

    assert [(f.path, f.layout, f.model_files) for f in found] == [(tree, L.A1111, 2)]
