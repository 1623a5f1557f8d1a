"""The template plan over a real scanned library: targets in users' words, companions along, conflicts
refused (two files to one name, a taken name), long and unicode names, folders that are links."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from app.organize.template_plan import REASON_OUTSIDE, TemplateScope, companions_text, plan_template
from catalog.records import UserDataChanges
from core.organize.plan import REASON_EXISTS, REASON_TAKEN
from core.organize.template import TemplateError
from core.taxonomy import AssetKind, LibraryLayout
from tests.app.organize.template_library import linked_lora, open_library, write_embedding


def test_targets_are_in_users_words_and_companions_travel(tmp_path: Path) -> None:
    root = tmp_path / "models"
    lora = linked_lora(root / "incoming")
    write_embedding(root / "emb.safetensors", 1)
    library = open_library(tmp_path / "data", root)

    planned = plan_template(library, "{kind}/{architecture}/{base_label}/{creator}/{model_name}")

    moves = {move.source: move for move in planned.plan.moves}
    move = moves[lora]
    assert planned.relative(move.target) == (
        "LoRA/SD 1.x/SD 1.5/OedoSoldier/Detail Tweaker LoRA/detail_tweaker.safetensors"
    )
    assert {(src.name, dst.name) for src, dst in move.companions} == {
        ("detail_tweaker.civitai.info", "detail_tweaker.civitai.info"),
        ("detail_tweaker.preview.png", "detail_tweaker.preview.png"),
    }
    assert all(dst.parent == move.target.parent for _, dst in move.companions)
    emb = moves[root / "emb.safetensors"]
    assert planned.relative(emb.target) == "Embedding/SD 1.x/emb/emb.safetensors"  # no creator, no label
    assert planned.considered == 2
    assert not planned.plan.conflicts


def test_a_file_already_in_place_is_unchanged(tmp_path: Path) -> None:
    root = tmp_path / "models"
    write_embedding(root / "Embedding" / "emb.safetensors", 1)
    library = open_library(tmp_path / "data", root)
    planned = plan_template(library, "{kind}")
    assert planned.plan.moves == ()
    assert len(planned.plan.unchanged) == 1


def test_two_files_to_one_name_and_a_taken_name_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "models"
    write_embedding(root / "a.safetensors", 1)
    write_embedding(root / "b.safetensors", 2)
    write_embedding(root / "c" / "c.safetensors", 3, sdxl=True)
    library = open_library(tmp_path / "data", root)
    (root / "SDXL").mkdir()
    (root / "SDXL" / "same.safetensors").write_bytes(b"the user's own file, not cataloged yet")

    planned = plan_template(library, "{architecture}/same.{ext}")

    codes = sorted(conflict.code for conflict in planned.plan.conflicts)
    assert codes == [REASON_EXISTS, REASON_TAKEN]
    assert [planned.relative(m.target) for m in planned.plan.moves] == ["SD 1.x/same.safetensors"]
    taken = next(c for c in planned.plan.conflicts if c.code == REASON_TAKEN)
    assert "another file of this operation goes to" in taken.reason


def test_a_missing_file_still_cataloged_holds_its_name(tmp_path: Path) -> None:
    root = tmp_path / "models"
    write_embedding(root / "a.safetensors", 1)
    gone = write_embedding(root / "Embedding" / "a.safetensors", 2)
    library = open_library(tmp_path / "data", root)
    gone.unlink()
    row = library.get_by_path(gone)
    assert row is not None
    library.mark_missing([row.id])

    planned = plan_template(library, "{kind}")
    assert [c.code for c in planned.plan.conflicts] == [REASON_EXISTS]


def test_unicode_and_overlong_names_fit_every_file_system(tmp_path: Path) -> None:
    root = tmp_path / "models"
    lora = linked_lora(root, "tiny")
    library = open_library(tmp_path / "data", root)
    record = library.get_by_path(lora)
    assert record is not None
    long_name = "Cafe\u0301 日本語 " * 40  # decomposed é, CJK: far past 255 bytes
    library.update_user_data(record.id, UserDataChanges(display_name=long_name))
    # a linked file: the long name comes from the template itself, past 255 bytes
    planned = plan_template(library, "{kind}/{version_name} {creator} " + "x" * 300 + ".{ext}")
    (move,) = planned.plan.moves
    assert move.target.name.endswith(".safetensors")
    assert len(move.target.name.encode()) <= 255
    for _, companion in move.companions:
        assert len(companion.name.encode()) <= 255

    unlinked = write_embedding(root / "plain.safetensors", 5)
    library2 = open_library(tmp_path / "data2", root)
    row = library2.get_by_path(unlinked)
    assert row is not None
    library2.update_user_data(row.id, UserDataChanges(display_name=long_name))
    planned = plan_template(library2, "{model_name}.{ext}", scope=TemplateScope(asset_ids=(row.id,)))
    (move,) = planned.plan.moves
    assert unicodedata.is_normalized("NFC", move.target.name)
    assert move.target.name.startswith("Caf\u00e9 日本語")
    assert len(move.target.name.encode()) <= 255
    # and the plan's names really are accepted by this file system
    move.target.parent.mkdir(parents=True, exist_ok=True)
    move.target.write_bytes(b"")


def test_a_target_folder_that_is_a_link_is_planned_at_its_real_place(tmp_path: Path) -> None:
    root = tmp_path / "models"
    real = root / "real"
    in_place = write_embedding(real / "here.safetensors", 1)
    elsewhere = write_embedding(root / "other" / "there.safetensors", 2)
    (root / "Embedding").symlink_to(real)  # a folder that is a symlink into the library
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "LoRA").symlink_to(outside)
    lora = linked_lora(root / "loras")
    library = open_library(tmp_path / "data", root)
    assert library.get_by_path(root / "Embedding" / "here.safetensors") is None  # links are not walked

    planned = plan_template(library, "{kind}")

    ids = {library.get_by_path(p).id: p for p in (in_place, elsewhere, lora)}  # type: ignore[union-attr]
    assert [ids[i] for i in planned.plan.unchanged] == [in_place]  # not "moved" onto itself via the link
    (move,) = planned.plan.moves
    assert (move.source, move.target) == (elsewhere, real / "there.safetensors")  # the real path
    (conflict,) = planned.plan.conflicts
    assert conflict.code == REASON_OUTSIDE
    assert conflict.source == lora


def test_kind_folder_follows_the_library_folders_ui(tmp_path: Path) -> None:
    webui = tmp_path / "stable-diffusion-webui"
    (webui / "models" / "Lora").mkdir(parents=True)
    (webui / "webui.py").write_text("# A1111\n")
    lora = linked_lora(webui / "models" / "Lora" / "misc")
    library = open_library(tmp_path / "data", webui, layout=LibraryLayout.A1111)
    planned = plan_template(library, "{kind_folder}/{creator}")
    (move,) = planned.plan.moves
    assert move.source == lora
    assert planned.relative(move.target) == "models/Lora/OedoSoldier/detail_tweaker.safetensors"


def test_scope_by_kind_and_a_chosen_target_folder(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    linked_lora(first)
    write_embedding(first / "emb.safetensors", 1)
    second.mkdir()
    library = open_library(tmp_path / "data", first, second)
    target = next(r.id for r in library.roots() if r.path == str(second.resolve()))

    planned = plan_template(
        library, "{kind}", scope=TemplateScope(kinds=(AssetKind.LORA,)), target_root=target
    )
    (move,) = planned.plan.moves
    assert move.target == second.resolve() / "LoRA" / "detail_tweaker.safetensors"


def test_a_bad_template_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    library = open_library(tmp_path / "data")
    with pytest.raises(TemplateError, match="unknown field"):
        plan_template(library, "{kindd}")


def test_companions_are_counted_in_words() -> None:
    folder = Path("/models")
    assert companions_text([]) == ""
    assert companions_text([folder / "a.json"]) == "1 sidecar"
    assert companions_text([folder / "a.preview.PNG"]) == "1 preview"
    assert companions_text([folder / "a.json", folder / "a.civitai.info", folder / "a.preview.png"]) == (
        "2 sidecars and 1 preview"
    )
    assert companions_text([folder / "a.yaml", folder / "a.png", folder / "a.preview.webp"]) == (
        "1 sidecar and 2 previews"
    )
