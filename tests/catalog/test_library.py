"""The Library facade: roots, reads by id and path, facets, and the records it hands out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from catalog.library import Library
from catalog.records import AssetQuery, AssetRecord, UserDataChanges
from core.formats.sidecar_info import SidecarInfo
from core.taxonomy import Architecture, AssetKind, FileStatus, LibraryLayout
from tests.catalog.conftest import scanned


def test_add_root_is_idempotent_on_the_resolved_path(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "webui"
    folder.mkdir()
    first = lib.add_root(folder)
    assert first.path == str(folder.resolve())
    assert first.layout is LibraryLayout.FLAT
    assert first.added_at.tzinfo is not None
    again = lib.add_root(tmp_path / "webui" / ".." / "webui", LibraryLayout.A1111)
    assert again.id == first.id
    assert again.layout is LibraryLayout.A1111
    assert lib.get_root(first.id) == again
    assert lib.roots() == [again]
    assert lib.get_root(first.id + 1) is None


def test_roots_count_present_files(lib: Library, root_id: int, models_dir: Path) -> None:
    a, _b, _c = lib.apply_scan_batch(root_id, [scanned(models_dir / f"{n}.safetensors") for n in "abc"])
    lib.mark_missing([a])
    assert lib.roots()[0].file_count == 2


def test_records_are_frozen_and_detached(lib: Library, root_id: int, models_dir: Path) -> None:
    (asset,) = lib.apply_scan_batch(root_id, [scanned(models_dir / "a.safetensors")])
    record = lib.get(asset)
    assert isinstance(record, AssetRecord)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.notes = "x"  # type: ignore[misc]
    lib.close()
    assert record.file_name == "a.safetensors", "a record stays readable after its session is gone"


def test_get_many_keeps_the_order_and_skips_unknown_ids(lib: Library, root_id: int, models_dir: Path) -> None:
    ids = lib.apply_scan_batch(root_id, [scanned(models_dir / f"{i}.safetensors") for i in range(700)])
    wanted = [ids[650], 99_999, ids[3], ids[650], ids[0]]
    assert [r.id for r in lib.get_many(wanted)] == [ids[650], ids[3], ids[650], ids[0]]
    assert lib.get_many([]) == []
    assert len(lib.get_many(ids)) == 700


def test_facets_count_the_whole_library(lib: Library, root_id: int, models_dir: Path) -> None:
    lora, ckpt, vae, bad, gone = lib.apply_scan_batch(
        root_id,
        [
            scanned(models_dir / "lora.safetensors", sidecars=SidecarInfo(tags=("Style",))),
            scanned(
                models_dir / "ckpt.safetensors", kind=AssetKind.CHECKPOINT, architecture=Architecture.SD1
            ),
            scanned(
                models_dir / "vae.safetensors", kind=AssetKind.VAE, sidecars=SidecarInfo(tags=("style",))
            ),
            scanned(models_dir / "bad.safetensors", status=FileStatus.CORRUPT, identified=False),
            scanned(models_dir / "gone.safetensors", sidecars=SidecarInfo(tags=("Gone",))),
        ],
    )
    lib.mark_missing([gone])
    lib.update_user_data(lora, UserDataChanges(favorite=True, collections=("Faves",)))
    lib.update_user_data(gone, UserDataChanges(favorite=True, collections=("Lost",)))
    facets = lib.facets()
    assert facets.total == 4
    assert facets.by_kind == {
        AssetKind.LORA: 1,
        AssetKind.CHECKPOINT: 1,
        AssetKind.VAE: 1,
        AssetKind.UNKNOWN: 1,
    }
    assert facets.by_architecture == {Architecture.SDXL: 2, Architecture.SD1: 1, Architecture.UNKNOWN: 1}
    assert facets.by_root == {root_id: 4}
    assert facets.tags == {"Style": 2}
    assert facets.collections == {"Faves": 1, "Lost": 0}
    assert (facets.favorites, facets.problems, facets.unhashed) == (1, 2, 3)
    assert lib.all_tags() == ["Gone", "Style"]
    assert lib.all_collections() == ["Faves", "Lost"]
    assert lib.count(AssetQuery(statuses=tuple(FileStatus))) == 5
    assert {ckpt, vae, bad} <= set(lib.search_ids(AssetQuery()))


def test_an_empty_library(lib: Library) -> None:
    facets = lib.facets()
    assert (facets.total, facets.problems, facets.unhashed, dict(facets.tags)) == (0, 0, 0, {})
    assert lib.search(AssetQuery(text="anything")) == []
    assert lib.count(AssetQuery()) == 0
    assert lib.get(1) is None
    assert lib.previews(1) == []
    assert lib.remote_links(1) == []
    assert lib.unhashed() == []
    assert lib.find_by_hash("ABCDEF12") == []
    lib.mark_missing([])
    lib.remove_assets([])
