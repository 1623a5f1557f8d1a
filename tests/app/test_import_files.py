"""Dropped model files joining the library: real files, identified from their headers, copied into the
folder of their kind (with their sidecars) or cataloged where they are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.import_files import (
    NotAModelError,
    collect_models,
    copy_models,
    examine_path,
    plan_copies,
    plan_in_place,
)
from catalog.library import Library
from core.jobs import CancelledError, CancelToken, Progress
from core.taxonomy import Architecture, AssetKind, FileStatus, LibraryLayout
from tests.factory.files import write_malicious_torch
from tests.factory.models import emb_params_embedding, kohya_lora, write_case


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    opened = Library.open(tmp_path / "data" / "catalog.sqlite3")
    yield opened
    opened.close()


def _downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "Downloads"
    folder.mkdir()
    lora = write_case(kohya_lora("sd1", rank=2), folder)
    lora.rename(folder / "detail.safetensors")
    (folder / "detail.civitai.info").write_text("{}", encoding="utf-8")
    write_case(emb_params_embedding(), folder).rename(folder / "easyneg.safetensors")
    (folder / "notes.txt").write_text("not a model", encoding="utf-8")
    return folder


def test_a_dropped_file_is_identified_from_its_header(tmp_path: Path) -> None:
    folder = _downloads(tmp_path)
    scanned = examine_path(folder / "detail.safetensors")
    assert scanned.identification is not None
    assert (scanned.identification.kind, scanned.identification.architecture) == (
        AssetKind.LORA,
        Architecture.SD1,
    )
    evil = write_malicious_torch(tmp_path / "evil.pt", tmp_path / "marker")
    assert examine_path(evil).status is FileStatus.UNSAFE
    assert not (tmp_path / "marker").exists()
    with pytest.raises(NotAModelError, match=r"notes\.txt is not a model file"):
        examine_path(folder / "notes.txt")


def test_copies_go_to_the_folder_of_their_kind_with_their_sidecars(tmp_path: Path, library: Library) -> None:
    folder = _downloads(tmp_path)
    a1111 = tmp_path / "webui"
    (a1111 / "models" / "Stable-diffusion").mkdir(parents=True)
    root = library.add_root(a1111, LibraryLayout.A1111)
    models = collect_models([folder])  # a plain folder gives the models below it; notes.txt is left out
    assert sorted(p.name for p in models) == ["detail.safetensors", "easyneg.safetensors"]

    steps = plan_copies(models, root)
    targets = {step.source.name: step.target for step in steps}
    assert targets["detail.safetensors"] == a1111 / "models" / "Lora" / "detail.safetensors"
    assert targets["easyneg.safetensors"] == a1111 / "embeddings" / "easyneg.safetensors"
    seen: list[Progress] = []
    summary = copy_models(steps, seen.append)
    assert sorted(p.name for p in summary.copied) == ["detail.safetensors", "easyneg.safetensors"]
    copied = a1111 / "models" / "Lora" / "detail.safetensors"
    assert copied.read_bytes() == (folder / "detail.safetensors").read_bytes()
    assert (a1111 / "models" / "Lora" / "detail.civitai.info").is_file()
    assert seen[-1].done == seen[-1].total
    assert not list(a1111.rglob("*.atelier-part"))

    # Dropped again: the identical copies are recognised, a different file of the same name is renamed.
    again = plan_copies(models, root)
    assert [step.target for step in again] == [step.target for step in steps]
    assert copy_models(again).already_there == [step.target for step in again]
    other = write_case(kohya_lora("sd1", rank=4), tmp_path).rename(tmp_path / "detail.safetensors")
    (clash,) = plan_copies([other], root)
    assert clash.target.name == "detail (2).safetensors"


def test_a_cancelled_copy_leaves_no_partial_file(tmp_path: Path, library: Library) -> None:
    folder = _downloads(tmp_path)
    target_root = tmp_path / "lib"
    target_root.mkdir()
    root = library.add_root(target_root, LibraryLayout.FLAT)
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        copy_models(plan_copies([folder / "detail.safetensors"], root), cancel=token)
    assert [p.name for p in target_root.rglob("*") if p.is_file()] == []


def test_cataloging_in_place_rescans_known_folders_and_adds_new_ones(
    tmp_path: Path, library: Library
) -> None:
    folder = _downloads(tmp_path)
    known = tmp_path / "known"
    (known / "sub").mkdir(parents=True)
    root = library.add_root(known, LibraryLayout.FLAT)
    inside = write_case(kohya_lora("sd1", rank=2), known / "sub")
    plan = plan_in_place([inside, folder / "detail.safetensors", folder], list(library.roots()))
    assert plan.rescan_root_ids == (root.id,)
    assert plan.new_folders == (folder.resolve(),)
