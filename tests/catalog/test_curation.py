"""Curation in the catalog: bulk edits, the user's overrides, the hidden flag, the deleted-file memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog.errors import InvalidValueError, NotFoundError
from catalog.library import Library
from catalog.orm import DeletedFile
from catalog.records import AssetQuery, BulkEdit, HiddenFilter, Overrides, UserDataChanges
from core.taxonomy import Architecture, AssetKind
from tests.catalog.conftest import scanned


@pytest.fixture
def three(lib: Library, root_id: int, models_dir: Path) -> list[int]:
    files = [
        scanned(models_dir / "a.safetensors", kind=AssetKind.LORA),
        scanned(models_dir / "b.safetensors", kind=AssetKind.EMBEDDING),
        scanned(models_dir / "c.safetensors", kind=AssetKind.CHECKPOINT, architecture=Architecture.SD1),
    ]
    return lib.apply_scan_batch(root_id, files)


def test_bulk_edit_merges_labels_into_each_assets_own(lib: Library, three: list[int]) -> None:
    a, b, c = three
    lib.update_user_data(a, UserDataChanges(tags=("style", "old")))
    lib.update_user_data(b, UserDataChanges(tags=("Anime",), collections=("keep",)))
    records = lib.bulk_edit(
        [a, b], BulkEdit(add_tags=("anime", "new"), remove_tags=("OLD",), add_collections=("Best",))
    )
    # A label keeps the spelling it was first created with ("Anime").
    assert [r.tags for r in records] == [("style", "Anime", "new"), ("Anime", "new")]
    assert [r.collections for r in records] == [("Best",), ("keep", "Best")]
    untouched = lib.get(c)
    assert untouched is not None
    assert untouched.tags == ()
    assert untouched.collections == ()
    assert lib.all_tags() == ["Anime", "new", "style"]  # "old" had no asset left: pruned


def test_bulk_edit_sets_flags_and_leaves_unset_ones_mixed(lib: Library, three: list[int]) -> None:
    a, b, _ = three
    lib.update_user_data(a, UserDataChanges(rating=2, favorite=True))
    records = lib.bulk_edit([a, b], BulkEdit(rating=4, nsfw=True))
    assert [(r.rating, r.nsfw) for r in records] == [(4, True), (4, True)]
    assert [r.favorite for r in records] == [True, False]  # not asked: each keeps its own


def test_bulk_edit_is_one_transaction(lib: Library, three: list[int]) -> None:
    a, b, _ = three
    with pytest.raises(NotFoundError):
        lib.bulk_edit([a, b, 999], BulkEdit(add_tags=("x",)))
    assert lib.all_tags() == []
    with pytest.raises(InvalidValueError):
        lib.bulk_edit([a], BulkEdit(rating=6))


def test_bulk_set_tags_replaces_and_remove_collection(lib: Library, three: list[int]) -> None:
    a, b, _ = three
    lib.bulk_edit([a, b], BulkEdit(add_tags=("x", "y"), add_collections=("c1", "c2")))
    records = lib.bulk_edit([a, b], BulkEdit(set_tags=("z",), remove_collections=("C1",)))
    assert [(r.tags, r.collections) for r in records] == [(("z",), ("c2",)), (("z",), ("c2",))]


def test_an_override_changes_the_effective_kind_and_keeps_the_files_own(
    lib: Library, three: list[int]
) -> None:
    _, b, _ = three
    record = lib.set_overrides(b, Overrides(kind=AssetKind.LORA, architecture=Architecture.SD1))
    assert (record.kind, record.architecture) == (AssetKind.LORA, Architecture.SD1)
    assert (record.file_kind, record.file_architecture) == (AssetKind.EMBEDDING, Architecture.SDXL)
    assert record.kind_override is AssetKind.LORA
    assert record.overridden
    reset = lib.set_overrides(b, Overrides(reset=True))
    assert (reset.kind, reset.kind_override, reset.overridden) == (AssetKind.EMBEDDING, None, False)


def test_an_override_equal_to_the_file_is_no_override(lib: Library, three: list[int]) -> None:
    a, _, _ = three
    record = lib.set_overrides(a, Overrides(kind=AssetKind.LORA))
    assert record.kind_override is None
    assert not record.overridden


def test_kind_and_architecture_filters_use_the_effective_value(lib: Library, three: list[int]) -> None:
    a, b, c = three
    lib.set_overrides(b, Overrides(kind=AssetKind.LORA))
    lib.set_overrides(a, Overrides(kind=AssetKind.HYPERNETWORK))
    assert lib.search_ids(AssetQuery(kinds=(AssetKind.LORA,))) == [b]
    assert lib.search_ids(AssetQuery(kinds=(AssetKind.EMBEDDING,))) == []
    assert lib.search_ids(AssetQuery(kinds=(AssetKind.HYPERNETWORK,))) == [a]
    assert lib.search_ids(AssetQuery(kinds=(AssetKind.LORA, AssetKind.HYPERNETWORK))) == [a, b]
    assert lib.count(AssetQuery(kinds=(AssetKind.LORA,))) == 1
    lib.set_overrides(c, Overrides(architecture=Architecture.SDXL))
    assert lib.search_ids(AssetQuery(architectures=(Architecture.SDXL,))) == [a, b, c]
    assert lib.search_ids(AssetQuery(architectures=(Architecture.SD1,))) == []


def test_hidden_files_are_left_out_unless_asked_for(lib: Library, three: list[int]) -> None:
    a, b, c = three
    before = lib.facets()
    lib.bulk_edit([b], BulkEdit(hidden=True))
    assert lib.search_ids(AssetQuery()) == [a, c]
    assert lib.count(AssetQuery()) == 2
    hidden_kind = lib.get(b).kind  # type: ignore[union-attr]
    after = lib.facets()  # the sidebar counts what the views show
    assert after.total == before.total - 1
    assert after.by_kind.get(hidden_kind, 0) == before.by_kind[hidden_kind] - 1
    assert lib.search_ids(AssetQuery(hidden=HiddenFilter.ONLY)) == [b]
    assert lib.search_ids(AssetQuery(hidden=HiddenFilter.ALL)) == [a, b, c]
    record = lib.get(b)
    assert record is not None
    assert record.hidden
    lib.update_user_data(b, UserDataChanges(hidden=False))
    assert lib.search_ids(AssetQuery()) == [a, b, c]


def test_deleted_files_are_listed_matched_and_forgotten(lib: Library, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with lib._db.session_scope(write=True) as session:  # written by the delete operation in the app
        session.add_all(
            [
                DeletedFile(
                    path="/m/old.safetensors",
                    file_name="old.safetensors",
                    kind="lora",
                    size=10,
                    sha256="AB" * 32,
                    site="civitai",
                    model_id="1",
                    version_id="11",
                    model_name="Old",
                    version_name="v1",
                    deleted_at=now - timedelta(days=2),
                ),
                DeletedFile(
                    path="/m/new.safetensors", file_name="new.safetensors", kind="vae", deleted_at=now
                ),
            ]
        )
    listed = lib.deleted_files()
    assert [d.file_name for d in listed] == ["new.safetensors", "old.safetensors"]
    assert lib.deleted_match(sha256="ab" * 32) == listed[1]
    assert lib.deleted_match(site="civitai", version_id="11") == listed[1]
    assert lib.deleted_match(site="civitai", version_id="12") is None
    assert lib.deleted_match() is None
    assert lib.forget_deleted([listed[1].id]) == 1
    assert lib.deleted_match(sha256="AB" * 32) is None


def test_a_rescan_of_a_changed_file_keeps_the_override(lib: Library, root_id: int, models_dir: Path) -> None:
    (asset,) = lib.apply_scan_batch(
        root_id, [scanned(models_dir / "x.safetensors", kind=AssetKind.EMBEDDING)]
    )
    lib.set_overrides(asset, Overrides(kind=AssetKind.LORA))
    changed = scanned(models_dir / "x.safetensors", kind=AssetKind.EMBEDDING, size=2000, mtime_ns=5)
    lib.apply_scan_batch(root_id, [changed])
    record = lib.get(asset)
    assert record is not None
    assert (record.kind, record.file_kind) == (AssetKind.LORA, AssetKind.EMBEDDING)
    assert lib.search_ids(AssetQuery(kinds=(AssetKind.LORA,))) == [asset]
    assert lib.facets().by_kind == {AssetKind.LORA: 1}
