"""User edits: validation, label normalisation, covers, and user data surviving rescans and moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.errors import InvalidValueError, NotFoundError
from catalog.library import Library
from catalog.records import AssetQuery, UserDataChanges
from core.formats.sidecar_info import SidecarInfo
from core.taxonomy import FileStatus
from tests.catalog.conftest import scanned


@pytest.fixture
def asset(lib: Library, root_id: int, models_dir: Path) -> int:
    (asset_id,) = lib.apply_scan_batch(root_id, [scanned(models_dir / "style.safetensors")])
    return asset_id


@pytest.mark.parametrize("rating", [-1, 6, 100])
def test_a_rating_outside_0_to_5_is_refused(lib: Library, asset: int, rating: int) -> None:
    with pytest.raises(ValueError, match="0 \\(unrated\\) to 5"):
        lib.update_user_data(asset, UserDataChanges(rating=rating))
    with pytest.raises(InvalidValueError):
        lib.update_user_data(asset, UserDataChanges(rating=rating))
    record = lib.get(asset)
    assert record is not None
    assert record.rating == 0


def test_a_non_finite_weight_is_refused(lib: Library, asset: int) -> None:
    with pytest.raises(ValueError, match="weight"):
        lib.update_user_data(asset, UserDataChanges(preferred_weight=float("nan")))


def test_partial_updates_change_only_what_is_given(lib: Library, asset: int) -> None:
    first = lib.update_user_data(
        asset,
        UserDataChanges(
            display_name="  My   Style ",
            notes="works at 0.7",
            rating=5,
            favorite=True,
            nsfw=True,
            trigger_words=("mystyle", " mystyle ", "", "MyStyle", "second"),
            preferred_weight=0.7,
            base_model_label=" Pony ",
        ),
    )
    assert first.display_name == "My Style"
    assert first.trigger_words == ("mystyle", "second")
    assert first.base_model_label == "Pony"
    second = lib.update_user_data(asset, UserDataChanges(rating=3))
    assert (second.display_name, second.notes, second.rating, second.favorite) == (
        "My Style",
        "works at 0.7",
        3,
        True,
    )
    assert (second.nsfw, second.preferred_weight, second.base_model_label) == (True, 0.7, "Pony")
    assert second.updated_at is not None
    assert first.updated_at is not None
    assert second.updated_at >= first.updated_at
    cleared = lib.update_user_data(asset, UserDataChanges(base_model_label="", display_name=""))
    assert cleared.base_model_label is None
    assert cleared.display_name == ""


def test_tags_and_collections_are_normalised(
    lib: Library, root_id: int, models_dir: Path, asset: int
) -> None:
    record = lib.update_user_data(
        asset,
        UserDataChanges(
            tags=("  Pixel   Art ", "pixel art", "PIXEL ART", "Retro", ""), collections=("Faves",)
        ),
    )
    assert record.tags == ("Pixel Art", "Retro")
    assert record.collections == ("Faves",)
    (other,) = lib.apply_scan_batch(root_id, [scanned(models_dir / "other.safetensors")])
    # The first spelling of a tag wins library-wide: "retro" joins the existing "Retro".
    assert lib.update_user_data(other, UserDataChanges(tags=("retro",), collections=("faves",))).tags == (
        "Retro",
    )
    assert lib.all_tags() == ["Pixel Art", "Retro"]
    assert lib.all_collections() == ["Faves"]
    assert lib.facets().tags == {"Pixel Art": 1, "Retro": 2}
    # Unused labels disappear.
    lib.update_user_data(asset, UserDataChanges(tags=(), collections=()))
    lib.update_user_data(other, UserDataChanges(collections=()))
    assert lib.all_tags() == ["Retro"]
    assert lib.all_collections() == []


def test_unicode_tags_compare_case_insensitively(lib: Library, asset: int) -> None:
    record = lib.update_user_data(asset, UserDataChanges(tags=("Ärger", "ärger", "STRASSE", "straße")))
    assert record.tags == ("Ärger", "STRASSE")
    assert lib.search_ids(AssetQuery(tags=("ÄRGER",))) == [asset]


def test_unknown_ids_raise_not_found(lib: Library, asset: int) -> None:
    with pytest.raises(NotFoundError, match="No asset with id 999"):
        lib.update_user_data(999, UserDataChanges(notes="x"))
    with pytest.raises(LookupError):
        lib.add_preview(999, "/p.png", "render")
    other = lib.add_preview(asset, "/p.png", "render")
    with pytest.raises(NotFoundError):
        lib.set_cover(asset, other.id + 1)


def test_previews_and_covers(lib: Library, root_id: int, models_dir: Path, asset: int) -> None:
    first = lib.add_preview(asset, "/previews/a.png", "render", width=512, height=768)
    assert first.is_cover, "the first preview of an asset becomes its cover"
    second = lib.add_preview(asset, "/previews/b.png", "civitai")
    assert not second.is_cover
    third = lib.add_preview(asset, "/previews/c.png", "render", make_cover=True)
    assert third.is_cover
    assert [p.path for p in lib.previews(asset)] == ["/previews/c.png", "/previews/a.png", "/previews/b.png"]
    lib.set_cover(asset, first.id)
    record = lib.get(asset)
    assert record is not None
    assert record.cover_path == "/previews/a.png"
    assert [p.is_cover for p in lib.previews(asset)] == [True, False, False]
    again = lib.add_preview(asset, "/previews/b.png", "civitai", width=10)
    assert again.id == second.id
    assert (again.width, again.height) == (10, None)
    assert len(lib.previews(asset)) == 3
    (other,) = lib.apply_scan_batch(root_id, [scanned(models_dir / "x.safetensors")])
    with pytest.raises(NotFoundError, match="not a preview of asset"):
        lib.set_cover(other, first.id)


def test_user_data_survives_a_rescan_and_a_missing_present_cycle(
    lib: Library, root_id: int, models_dir: Path, asset: int
) -> None:
    edits = UserDataChanges(
        display_name="Mine", notes="n", rating=4, favorite=True, tags=("keep",), collections=("c",)
    )
    lib.update_user_data(asset, edits)
    lib.add_preview(asset, "/p.png", "render")
    path = str(models_dir / "style.safetensors")
    lib.apply_scan_batch(root_id, [scanned(path, size=2000, mtime_ns=5)])  # the file changed on disk
    lib.mark_missing([asset])
    missing = lib.get(asset)
    assert missing is not None
    assert missing.status is FileStatus.MISSING
    assert missing.status_reason is not None
    assert "no longer at this path" in missing.status_reason
    assert (missing.display_name, missing.tags, missing.rating) == ("Mine", ("keep",), 4)
    assert lib.apply_scan_batch(root_id, [scanned(path, size=2000, mtime_ns=5)]) == [asset]
    back = lib.get(asset)
    assert back is not None
    assert back.status is FileStatus.OK
    assert back.status_reason is None
    assert (back.display_name, back.notes, back.rating, back.favorite) == ("Mine", "n", 4, True)
    assert (back.tags, back.collections, back.cover_path) == (("keep",), ("c",), "/p.png")


def test_sidecars_never_overwrite_or_resurrect_user_edits(
    lib: Library, root_id: int, models_dir: Path, asset: int
) -> None:
    lib.update_user_data(asset, UserDataChanges(notes="mine", tags=(), trigger_words=()))
    sidecar = SidecarInfo(
        notes="sidecar notes",
        description="sidecar description",
        tags=("sidecar tag",),
        trigger_words=("sidecar word",),
        preferred_weight=0.8,
        nsfw=True,
        base_model_label="Illustrious",
    )
    lib.apply_scan_batch(root_id, [scanned(models_dir / "style.safetensors", sidecars=sidecar)])
    record = lib.get(asset)
    assert record is not None
    assert record.notes == "mine"  # edited: kept
    assert record.tags == ()  # deliberately emptied by the user: not refilled
    assert record.trigger_words == ()
    assert record.description == "sidecar description"  # never edited and empty: filled
    assert (record.preferred_weight, record.nsfw, record.base_model_label) == (0.8, True, "Illustrious")
