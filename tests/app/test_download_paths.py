"""Where downloads go and what they remember: kinds, folders, subfolder templates, remote matches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage

from app.download_paths import (
    NoDownloadRootError,
    choose_root,
    describe_default_root,
    expand_subfolder,
    kind_for_civitai,
    kind_for_hf,
    target_folder,
)
from app.download_requests import civitai_request, match_from_metadata
from catalog.records import RootRecord
from core.sources.civitai_records import parse_model
from core.taxonomy import AssetKind, LibraryLayout
from desktop.remote_images import blur, load_remote_image, needs_blur
from tests.fakes.civitai_api import load_payload

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _root(path: Path, layout: LibraryLayout, root_id: int = 1) -> RootRecord:
    return RootRecord(id=root_id, path=str(path), layout=layout, added_at=NOW)


@pytest.mark.parametrize(
    ("model_type", "file_type", "kind"),
    [
        ("Checkpoint", "Model", AssetKind.CHECKPOINT),
        ("LORA", "Model", AssetKind.LORA),
        ("LoCon", None, AssetKind.LORA),
        ("DoRA", None, AssetKind.LORA),
        ("TextualInversion", None, AssetKind.EMBEDDING),
        ("Hypernetwork", None, AssetKind.HYPERNETWORK),
        ("VAE", None, AssetKind.VAE),
        ("Controlnet", None, AssetKind.CONTROLNET),
        ("Checkpoint", "VAE", AssetKind.VAE),
        ("Wildcards", None, AssetKind.UNKNOWN),
    ],
)
def test_kind_for_civitai(model_type: str, file_type: str | None, kind: AssetKind) -> None:
    assert kind_for_civitai(model_type, file_type) is kind


def test_kind_for_hf() -> None:
    assert kind_for_hf("a/b", ["lora"], "x.safetensors") is AssetKind.LORA
    assert kind_for_hf("a/sdxl-vae", [], "sdxl_vae.safetensors") is AssetKind.VAE
    assert kind_for_hf("a/controlnet-canny", [], "model.safetensors") is AssetKind.CONTROLNET
    # The file's own name before the repository's: a VAE in a repository of LoRAs goes to the VAE folder.
    assert kind_for_hf("tester/loras", ["lora"], "loras/slow_vae.safetensors") is AssetKind.VAE
    assert kind_for_hf("tester/vae-loras", [], "detail_lora.safetensors") is AssetKind.LORA
    assert (
        kind_for_hf("stabilityai/sdxl", ["diffusers"], "sd_xl_base_1.0.safetensors") is AssetKind.CHECKPOINT
    )


def test_subfolders_from_site_data_are_names_windows_takes() -> None:
    template = "{base_model}/{model_name}"
    assert expand_subfolder(template, {"base_model": "SDXL 1.0", "model_name": "CON"}) == Path(
        "SDXL 1.0", "CON_"
    )
    assert expand_subfolder(template, {"base_model": "aux.v2", "model_name": "ok"}) == Path("aux_.v2", "ok")
    long = expand_subfolder("{model_name}", {"model_name": "é" * 300})
    assert long is not None
    assert len(long.name.encode()) <= 255
    assert expand_subfolder(template, {"base_model": ". .", "model_name": ".hidden. "}) == Path("_", "hidden")


def test_folders_follow_the_layout_and_template(tmp_path: Path) -> None:
    a1111 = _root(tmp_path / "webui", LibraryLayout.A1111)
    comfy = _root(tmp_path / "comfy", LibraryLayout.COMFYUI, 2)
    assert target_folder(a1111, AssetKind.LORA) == tmp_path / "webui" / "models" / "Lora"
    assert target_folder(a1111, AssetKind.EMBEDDING) == tmp_path / "webui" / "embeddings"
    assert target_folder(comfy, AssetKind.LORA, "{base_model}", {"base_model": "SDXL 1.0"}) == (
        tmp_path / "comfy" / "models" / "loras" / "SDXL 1.0"
    )
    assert expand_subfolder("../{model_name}", {"model_name": "a/b:c"}) == Path("a_b_c")
    assert expand_subfolder("{nope}", {}) is None
    assert choose_root([a1111, comfy], str(tmp_path / "comfy")) is comfy
    assert choose_root([a1111, comfy], "") is a1111
    with pytest.raises(NoDownloadRootError):
        choose_root([], "")


def test_civitai_request_carries_the_match(tmp_path: Path) -> None:
    model = parse_model(load_payload("04_models_modelId.json"))
    version = model.versions[0]
    file = version.files[0]
    root = _root(tmp_path, LibraryLayout.A1111)
    request = civitai_request(model, version, file, "http://x/file", roots=[root])
    assert request.expected_sha256 == file.sha256
    assert request.file_name == file.name
    assert request.metadata is not None
    match = match_from_metadata(request.metadata)
    assert match is not None
    assert (match.site, match.model_id, match.version_id) == ("civitai", str(model.id), str(version.id))
    assert match.trigger_words == version.trained_words
    assert match.base_model_label == version.base_model
    # Creator and example images land like a lookup's, so the details pane and `show` have them.
    assert match.creator == model.creator == "justmaier"
    assert [image.url for image in match.examples] == [image.url for image in version.images]
    assert match_from_metadata({}) is None


def test_blur_changes_a_sharp_image_and_respects_the_level(tmp_path: Path) -> None:
    image = QImage(64, 64, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    for x in range(0, 64, 4):
        for y in range(64):
            image.setPixelColor(x, y, QColor("black"))
    blurred = blur(image)
    assert blurred.size() == image.size()
    assert blurred != image
    assert needs_blur(4, 1)
    assert not needs_blur(1, 1)
    assert not needs_blur(None, 1)
    path = tmp_path / "a.png"
    assert image.save(str(path))
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        return path.read_bytes()

    first = load_remote_image("http://x/a.png", fetch, tmp_path / "cache", QSize(32, 32), blurred=False)
    second = load_remote_image("http://x/a.png", fetch, tmp_path / "cache", QSize(32, 32), blurred=True)
    assert first is not None
    assert second is not None
    assert first.size() == QSize(32, 32)
    assert second != first
    assert calls == ["http://x/a.png"]  # the second came from the disk cache


def test_downloads_go_to_the_configured_folder_else_the_first_added(tmp_path: Path) -> None:
    first = RootRecord(id=1, path=str(tmp_path / "zz-first"), layout=LibraryLayout.A1111, added_at=NOW)
    later = RootRecord(
        id=2, path=str(tmp_path / "aa-later"), layout=LibraryLayout.FLAT, added_at=NOW + timedelta(days=1)
    )
    listed = [later, first]  # the library lists folders by path
    assert choose_root(listed, "") is first, "not the folder whose path sorts first"
    assert "first library folder added" in describe_default_root(listed, "")
    assert choose_root(listed, str(tmp_path / "aa-later")) is later
    assert describe_default_root(listed, str(tmp_path / "aa-later")).endswith("set in Settings › Sites")
    assert choose_root(listed, str(tmp_path / "removed")) is first
    assert "is gone" in describe_default_root(listed, str(tmp_path / "removed"))
    assert "No library folder" in describe_default_root([], "")
