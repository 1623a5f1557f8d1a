"""Which files travel with a model: the sidecars the scanner reads, previews, A1111 configs; not a
stranger's notes, not the sidecars another model with the same stem shares."""

from __future__ import annotations

from pathlib import Path

from core.organize.companions import companion_files, companion_target, companions_among


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"x")


def test_every_sidecar_preview_and_config_travels(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "model.safetensors",
        "model.json",
        "model.civitai.info",
        "model.cm-info.json",
        "model.metadata.json",
        "model.preview.png",
        "model.webp",
        "model.yaml",
        "model.txt",
        "model2.preview.png",
        "other.safetensors",
    )
    found = {path.name for path in companion_files(tmp_path / "model.safetensors")}
    assert found == {
        "model.json",
        "model.civitai.info",
        "model.cm-info.json",
        "model.metadata.json",
        "model.preview.png",
        "model.webp",
        "model.yaml",
    }


def test_sidecars_shared_by_two_models_of_one_stem_stay(tmp_path: Path) -> None:
    names = {"x.safetensors", "x.ckpt", "x.preview.png", "x.civitai.info"}
    assert companions_among(tmp_path / "x.safetensors", names) == []


def test_a_diffusers_folder_has_companions_by_its_own_name(tmp_path: Path) -> None:
    _touch(tmp_path, "sdxl-base.preview.png", "sdxl-base.json")
    (tmp_path / "sdxl-base").mkdir()
    found = sorted(path.name for path in companion_files(tmp_path / "sdxl-base"))
    assert found == ["sdxl-base.json", "sdxl-base.preview.png"]


def test_an_unreadable_folder_has_no_companions(tmp_path: Path) -> None:
    assert companion_files(tmp_path / "missing" / "model.safetensors") == []


def test_a_companion_takes_the_new_stem_and_folder_and_keeps_its_ending() -> None:
    source = Path("/lib/a/detail.v1.safetensors")
    target = Path("/lib/b/Détail 2.safetensors")
    assert companion_target(Path("/lib/a/detail.v1.preview.png"), source, target) == Path(
        "/lib/b/Détail 2.preview.png"
    )
    assert companion_target(Path("/lib/a/detail.v1.civitai.info"), source, target) == Path(
        "/lib/b/Détail 2.civitai.info"
    )
    folder = Path("/lib/a/pipeline")
    assert companion_target(Path("/lib/a/pipeline.json"), folder, Path("/lib/c/renamed")) == Path(
        "/lib/c/renamed.json"
    )
