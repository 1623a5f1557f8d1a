"""Enrichment storage: what needs a lookup, and how answers are stored without losing user data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from catalog.library import Library
from catalog.records import RemoteMatch, UserDataChanges
from tests.catalog.conftest import hashes_for, scanned


def _hashed(lib: Library, root_id: int, models_dir: Path, *names: str) -> list[int]:
    ids = lib.apply_scan_batch(root_id, [scanned(models_dir / f"{n}.safetensors") for n in names])
    for asset_id, name in zip(ids, names, strict=True):
        lib.set_hashes(asset_id, hashes_for(name))
    return ids


def _match(version: str = "200", **kw: object) -> RemoteMatch:
    values: dict[str, object] = {
        "site": "civitai",
        "model_id": "100",
        "version_id": version,
        "model_name": "Pixel Art",
        "version_name": "v2",
        "base_model_label": "Pony",
        "description": "<p>Pixel art style</p>",
        "trigger_words": ("pixel art",),
        "tags": ("style", "pixel"),
        "payload": {"id": int(version)},
    }
    values.update(kw)
    return RemoteMatch(**values)  # type: ignore[arg-type]


def test_candidates_are_hashed_files_without_a_link(lib: Library, root_id: int, models_dir: Path) -> None:
    a, b = _hashed(lib, root_id, models_dir, "a", "b")
    lib.apply_scan_batch(root_id, [scanned(models_dir / "unhashed.safetensors")])

    assert [asset_id for asset_id, _ in lib.lookup_candidates()] == [a, b]
    assert dict(lib.lookup_candidates())[a] == hashes_for("a").sha256

    lib.record_remote_match(a, _match())
    assert [asset_id for asset_id, _ in lib.lookup_candidates()] == [b]


def test_a_miss_is_remembered_and_retried_later(lib: Library, root_id: int, models_dir: Path) -> None:
    (a,) = _hashed(lib, root_id, models_dir, "a")
    lib.record_remote_misses([a])

    assert lib.lookup_candidates() == []
    assert [i for i, _ in lib.lookup_candidates(retry_after=timedelta(0))] == [a]
    assert [i for i, _ in lib.lookup_candidates(force=True)] == [a]
    (link,) = lib.remote_links(a)
    assert link.not_found_at is not None
    assert link.version_id is None


def test_a_link_with_ids_alone_is_looked_up_until_the_site_answers(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    """An imported list gives a file its version's ids and names, not the site's facts: the file stays a
    candidate (even without ``force``) until a lookup fills the link; a miss then waits like any miss
    and keeps the ids."""
    a, b = _hashed(lib, root_id, models_dir, "a", "b")
    listed = RemoteMatch(site="civitai", model_id="100", version_id="200", model_name="Pixel Art")
    lib.record_remote_match(a, listed)
    lib.record_remote_match(b, listed)

    assert [i for i, _ in lib.lookup_candidates()] == [a, b]

    lib.record_remote_match(a, _match())
    lib.record_remote_misses([a, b])
    assert lib.lookup_candidates() == [], "a answered, b's miss is remembered"
    assert [i for i, _ in lib.lookup_candidates(force=True)] == [b]
    (answered,) = lib.remote_links(a)
    assert (answered.trigger_words, answered.not_found_at) == (("pixel art",), None)
    (listed_link,) = lib.remote_links(b)
    assert (listed_link.version_id, listed_link.model_name) == ("200", "Pixel Art")
    assert listed_link.not_found_at is not None


def test_a_match_fills_empty_fields_and_never_overrides_the_user(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    a, b = _hashed(lib, root_id, models_dir, "a", "b")
    lib.update_user_data(b, UserDataChanges(trigger_words=("mine",), base_model_label="SDXL", tags=("keep",)))

    lib.record_remote_match(a, _match())
    lib.record_remote_match(b, _match(version="201"))

    filled = lib.get(a)
    assert filled is not None
    # Civitai's words and description stay Civitai's: the user's fields are not filled with copies.
    assert (filled.trigger_words, filled.description) == ((), None)
    assert filled.remote_trigger_words == ("pixel art",)
    assert filled.all_trigger_words == ("pixel art",)
    assert filled.base_model_label == "Pony"
    assert filled.tags == ("style", "pixel")
    (link,) = lib.remote_links(a)
    assert (link.description_html, link.description_text) == ("<p>Pixel art style</p>", "Pixel art style")
    kept = lib.get(b)
    assert kept is not None
    assert (kept.trigger_words, kept.base_model_label, kept.tags) == (("mine",), "SDXL", ("keep",))
    assert kept.all_trigger_words == ("mine", "pixel art")
    assert [r.id for r in lib.find_by_hash(hashes_for("a").sha256)] == [a]


def test_a_miss_never_replaces_good_data_and_a_new_match_refreshes_it(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    (a,) = _hashed(lib, root_id, models_dir, "a")
    lib.record_remote_match(a, _match())
    lib.record_remote_misses([a])
    (link,) = lib.remote_links(a)
    assert (link.version_id, link.not_found_at) == ("200", None)

    lib.record_remote_match(a, _match(version="202", payload={"id": 202, "fresh": True}))
    (link,) = lib.remote_links(a)
    assert link.version_id == "202"
    assert link.payload["fresh"] is True
    assert link.fetched_at is not None
