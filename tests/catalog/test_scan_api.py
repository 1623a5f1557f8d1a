"""The scanner-facing API: batches, the file index, missing and moved files, hashes and merges."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from catalog.errors import NotFoundError
from catalog.library import Library
from catalog.records import AssetQuery, UserDataChanges
from core.formats.sidecar_info import SidecarInfo
from core.sources.civitai_facts import CivitaiFacts
from core.taxonomy import Architecture, AssetKind, FileStatus, LibraryLayout
from tests.catalog.conftest import hashes_for, identification, scanned


def test_a_batch_inserts_new_files_and_returns_ids_in_input_order(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    files = [scanned(models_dir / f"{name}.safetensors") for name in ("c", "a", "b")]
    ids = lib.apply_scan_batch(root_id, files)
    assert len(set(ids)) == 3
    assert [lib.get(asset_id).path for asset_id in ids] == [f.path for f in files]  # type: ignore[union-attr]
    # Known paths keep their ids; a path listed twice is one asset.
    again = lib.apply_scan_batch(root_id, [files[1], scanned(models_dir / "d.safetensors"), files[1]])
    assert again[0] == again[2] == ids[1]
    assert again[1] not in ids
    assert lib.apply_scan_batch(root_id, []) == []


def test_identification_and_status_are_stored(lib: Library, root_id: int, models_dir: Path) -> None:
    ident = replace(
        identification(AssetKind.CHECKPOINT, Architecture.SDXL, metadata={"modelspec.title": "Juggernaut"}),
        refusals=("not a LoRA: no lora_ keys",),
    )
    good = replace(scanned(models_dir / "juggernaut.safetensors", size=6_000), identification=ident)
    bad = scanned(
        models_dir / "evil.ckpt", status=FileStatus.UNSAFE, status_reason="calls os.system", identified=False
    )
    good_id, bad_id = lib.apply_scan_batch(root_id, [good, bad])
    record = lib.get(good_id)
    assert record is not None
    assert (record.kind, record.architecture, record.size) == (AssetKind.CHECKPOINT, Architecture.SDXL, 6000)
    assert record.reasons == ident.reasons
    assert record.refusals == ("not a LoRA: no lora_ keys",)
    assert record.embedded_metadata == {"modelspec.title": "Juggernaut"}
    assert record.hashes is None
    assert record.root_id == root_id
    unsafe = lib.get(bad_id)
    assert unsafe is not None
    assert (unsafe.status, unsafe.status_reason, unsafe.kind) == (
        FileStatus.UNSAFE,
        "calls os.system",
        AssetKind.UNKNOWN,
    )
    assert lib.get_by_path(models_dir / "evil.ckpt") == unsafe
    assert lib.get_by_path(str(models_dir / "nope.ckpt")) is None


def test_file_index_lists_every_row_of_the_root(lib: Library, root_id: int, models_dir: Path) -> None:
    a, b = lib.apply_scan_batch(
        root_id,
        [scanned(models_dir / "a.safetensors", inode=11), scanned(models_dir / "b.safetensors", inode=12)],
    )
    lib.mark_missing([b])
    lib.set_hashes(a, hashes_for("a"))
    index = lib.file_index(root_id)
    assert set(index) == {str(models_dir / "a.safetensors"), str(models_dir / "b.safetensors")}
    entry = index[str(models_dir / "a.safetensors")]
    assert (entry.id, entry.size, entry.mtime_ns, entry.inode) == (a, 1000, 1, 11)
    assert entry.sha256 == hashes_for("a").sha256
    assert index[str(models_dir / "b.safetensors")].status is FileStatus.MISSING
    assert lib.file_index(root_id + 1) == {}


def test_a_changed_file_loses_its_hashes_but_an_unchanged_one_keeps_them(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    path = models_dir / "a.safetensors"
    (asset,) = lib.apply_scan_batch(root_id, [scanned(path)])
    lib.set_hashes(asset, hashes_for("a"))
    lib.apply_scan_batch(root_id, [scanned(path, architecture=Architecture.SD1)])  # same stat
    record = lib.get(asset)
    assert record is not None
    assert record.hashes == hashes_for("a")
    assert record.architecture is Architecture.SD1
    lib.apply_scan_batch(root_id, [scanned(path, mtime_ns=99)])
    changed = lib.get(asset)
    assert changed is not None
    assert changed.hashes is None
    assert lib.unhashed() == [(asset, str(path), 1000)]


def test_sidecar_data_fills_a_new_asset(lib: Library, root_id: int, models_dir: Path) -> None:
    sidecar = SidecarInfo(
        description="<p>Pixel sprites</p>",
        notes="from the A1111 json",
        trigger_words=("pxsprite", "8bit"),
        preferred_weight=0.8,
        base_model_label=None,
        nsfw=False,
        tags=("Pixel Art", "pixel art", "Retro"),
        civitai=CivitaiFacts(
            model_id=123,
            version_id=456,
            model_name="Pixel",
            version_name="v2",
            creator="pixelsmith",
            base_model="Pony",
            description_html="<p>Sprites &amp; tiles</p>",
            trigger_words=("pixel sprite",),
            payload={"x": 1},
        ),
        previews=(models_dir / "a.preview.png", models_dir / "a.png"),
    )
    (asset,) = lib.apply_scan_batch(
        root_id,
        [scanned(models_dir / "a.safetensors", sidecars=sidecar, trigger_words=("8BIT", "meta_word"))],
    )
    record = lib.get(asset)
    assert record is not None
    assert record.description == "<p>Pixel sprites</p>"
    assert record.notes == "from the A1111 json"
    assert record.trigger_words == ("pxsprite", "8bit", "meta_word")
    assert (record.preferred_weight, record.nsfw, record.base_model_label) == (0.8, False, "Pony")
    assert record.tags == ("Pixel Art", "Retro")
    assert record.cover_path == str(models_dir / "a.preview.png")
    previews = lib.previews(asset)
    assert [(p.path, p.source, p.is_cover) for p in previews] == [
        (str(models_dir / "a.preview.png"), "sidecar", True),
        (str(models_dir / "a.png"), "sidecar", False),
    ]
    (link,) = lib.remote_links(asset)
    assert (link.site, link.model_id, link.version_id, link.model_name, link.version_name) == (
        "civitai",
        "123",
        "456",
        "Pixel",
        "v2",
    )
    assert (link.base_model_label, link.payload, link.fetched_at) == ("Pony", {"x": 1}, None)
    assert (link.creator, link.description_text, link.trigger_words) == (
        "pixelsmith",
        "Sprites & tiles",
        ("pixel sprite",),
    )
    assert record.remote_trigger_words == ("pixel sprite",)  # Civitai's, kept apart from the user's
    # A rescan with the same sidecar adds nothing twice.
    lib.apply_scan_batch(root_id, [scanned(models_dir / "a.safetensors", sidecars=sidecar)])
    assert len(lib.previews(asset)) == 2
    assert len(lib.remote_links(asset)) == 1
    again = lib.get(asset)
    assert again is not None
    assert again.tags == ("Pixel Art", "Retro")


def test_sidecar_data_fills_only_empty_fields_of_a_known_asset(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    path = models_dir / "a.safetensors"
    (asset,) = lib.apply_scan_batch(root_id, [scanned(path, trigger_words=("from_metadata",))])
    lib.update_user_data(asset, UserDataChanges(tags=("mine",)))
    lib.add_preview(asset, "/render.png", "render")
    sidecar = SidecarInfo(
        tags=("theirs",), trigger_words=("theirs",), description="d", previews=(models_dir / "a.png",)
    )
    lib.apply_scan_batch(root_id, [scanned(path, sidecars=sidecar)])
    record = lib.get(asset)
    assert record is not None
    assert record.tags == ("mine",)
    assert record.trigger_words == ("from_metadata",)  # already filled by the first scan
    assert record.description == "d"
    assert record.cover_path == "/render.png"
    assert [p.path for p in lib.previews(asset)] == ["/render.png", str(models_dir / "a.png")]


def test_mark_missing_keeps_user_data_and_relocate_restores_health(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    unsafe, fine = lib.apply_scan_batch(
        root_id,
        [
            scanned(
                models_dir / "evil.ckpt",
                status=FileStatus.UNSAFE,
                status_reason="os.system",
                identified=False,
            ),
            scanned(models_dir / "fine.safetensors"),
        ],
    )
    lib.update_user_data(fine, UserDataChanges(notes="keep me"))
    lib.set_hashes(fine, hashes_for("fine"))
    lib.mark_missing([unsafe, fine, 12345])
    lib.mark_missing([fine])  # twice: the first missing_since stays
    assert {r.status for r in lib.get_many([unsafe, fine])} == {FileStatus.MISSING}
    assert lib.facets().problems == 2
    lib.relocate(unsafe, str(models_dir / "sub" / "evil.ckpt"), size=1000, mtime_ns=1, inode=1)
    moved = lib.get(unsafe)
    assert moved is not None
    assert (moved.status, moved.status_reason, moved.file_name) == (
        FileStatus.UNSAFE,
        "os.system",
        "evil.ckpt",
    )
    lib.relocate(fine, str(models_dir / "renamed.safetensors"), size=1000, mtime_ns=1, inode=7)
    renamed = lib.get(fine)
    assert renamed is not None
    assert (renamed.status, renamed.notes, renamed.file_name) == (
        FileStatus.OK,
        "keep me",
        "renamed.safetensors",
    )
    assert renamed.hashes == hashes_for("fine"), "same size and mtime: the content did not change"
    lib.relocate(fine, str(models_dir / "renamed.safetensors"), size=5, mtime_ns=1, inode=7)
    assert lib.get(fine).hashes is None  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        lib.relocate(999, "/x", size=1, mtime_ns=1, inode=1)


def test_relocate_moves_a_file_to_the_root_that_contains_it(
    lib: Library, tmp_path: Path, models_dir: Path
) -> None:
    first = lib.add_root(models_dir)
    second = lib.add_root(tmp_path / "other", LibraryLayout.COMFYUI)
    (asset,) = lib.apply_scan_batch(first.id, [scanned(models_dir / "a.safetensors")])
    lib.relocate(asset, str(Path(second.path) / "loras" / "a.safetensors"), size=1000, mtime_ns=1, inode=1)
    assert lib.get(asset).root_id == second.id  # type: ignore[union-attr]
    assert {r.id: r.file_count for r in lib.roots()} == {first.id: 0, second.id: 1}


def test_unhashed_lists_present_healthy_files_smallest_first(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    big, small, corrupt, gone, done = lib.apply_scan_batch(
        root_id,
        [
            scanned(models_dir / "big.safetensors", size=9000),
            scanned(models_dir / "small.safetensors", size=10),
            scanned(models_dir / "bad.safetensors", size=5, status=FileStatus.CORRUPT, identified=False),
            scanned(models_dir / "gone.safetensors", size=1),
            scanned(models_dir / "done.safetensors", size=2),
        ],
    )
    lib.mark_missing([gone])
    lib.set_hashes(done, hashes_for("done"))
    assert [entry[0] for entry in lib.unhashed()] == [small, big]
    assert lib.unhashed(limit=1) == [(small, str(models_dir / "small.safetensors"), 10)]
    assert lib.facets().unhashed == 2
    assert corrupt not in {entry[0] for entry in lib.unhashed()}


def test_find_by_hash_accepts_every_form(lib: Library, root_id: int, models_dir: Path) -> None:
    (asset,) = lib.apply_scan_batch(root_id, [scanned(models_dir / "a.safetensors")])
    hashes = hashes_for("a")
    assert lib.set_hashes(asset, hashes_for("a", lower=True)) == asset
    stored = lib.get(asset)
    assert stored is not None
    assert stored.hashes == hashes, "hashes are stored upper-case"
    assert hashes.autov1 is not None
    assert hashes.autov3 is not None
    for value in (
        hashes.sha256,
        hashes.sha256.lower(),
        f"sha256:{hashes.sha256.lower()}",
        hashes.blake3,
        hashes.autov3,
        hashes.autov3[:12].lower(),
        hashes.autov2.lower(),
        hashes.autov1,
        hashes.crc32.lower(),
        f"  {hashes.autov2}  ",
    ):
        assert [r.id for r in lib.find_by_hash(value)] == [asset], value
    for value in ("", "xyz", hashes.sha256[:20], "G" * 10, hashes.autov3[:11]):
        assert lib.find_by_hash(value) == [], value


def test_a_moved_file_is_merged_into_its_old_row_by_hash(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    (old,) = lib.apply_scan_batch(root_id, [scanned(models_dir / "old" / "style.safetensors")])
    lib.update_user_data(
        old,
        UserDataChanges(
            display_name="Style",
            notes="n",
            rating=5,
            nsfw=True,
            tags=("t",),
            collections=("c",),
            trigger_words=("w",),
            preferred_weight=0.6,
            base_model_label="Pony",
        ),
    )
    lib.add_preview(old, "/old.png", "render")
    lib.set_hashes(old, hashes_for("style"))
    lib.mark_missing([old])
    sidecar = SidecarInfo(description="found next to the new place", previews=(models_dir / "new" / "s.png",))
    new_path = models_dir / "new" / "style.safetensors"
    (new,) = lib.apply_scan_batch(
        root_id, [scanned(new_path, kind=AssetKind.LORA, architecture=Architecture.SD1, sidecars=sidecar)]
    )
    lib.update_user_data(new, UserDataChanges(favorite=True, collections=("other",)))

    assert lib.set_hashes(new, hashes_for("style")) == old
    assert lib.get(new) is None
    merged = lib.get(old)
    assert merged is not None
    assert merged.path == str(new_path)
    assert merged.status is FileStatus.OK
    assert merged.architecture is Architecture.SD1
    assert merged.hashes == hashes_for("style")
    assert (merged.display_name, merged.notes, merged.rating, merged.nsfw) == ("Style", "n", 5, True)
    assert (merged.tags, merged.trigger_words, merged.preferred_weight) == (("t",), ("w",), 0.6)
    assert merged.base_model_label == "Pony"
    assert merged.favorite, "what the new row gained fills what the old one lacked"
    assert set(merged.collections) == {"c", "other"}
    assert merged.description == "found next to the new place"
    assert merged.cover_path == "/old.png"
    assert [p.path for p in lib.previews(old)] == ["/old.png", str(models_dir / "new" / "s.png")]
    assert lib.get_by_path(new_path) == merged
    assert lib.count(AssetQuery()) == 1
    assert lib.file_index(root_id)[str(new_path)].id == old


def test_hashes_of_a_copy_do_not_merge_with_a_present_file(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    a, b = lib.apply_scan_batch(
        root_id, [scanned(models_dir / "a.safetensors"), scanned(models_dir / "copy.safetensors")]
    )
    lib.set_hashes(a, hashes_for("same"))
    assert lib.set_hashes(b, hashes_for("same")) == b
    assert {r.id for r in lib.find_by_hash(hashes_for("same").sha256)} == {a, b}
    with pytest.raises(NotFoundError):
        lib.set_hashes(999, hashes_for("x"))


def test_remove_assets_and_roots(lib: Library, root_id: int, models_dir: Path, tmp_path: Path) -> None:
    a, b = lib.apply_scan_batch(
        root_id,
        [
            scanned(models_dir / "a.safetensors", sidecars=SidecarInfo(tags=("only-a",))),
            scanned(models_dir / "b.safetensors"),
        ],
    )
    lib.remove_assets([a, 999])
    assert lib.get(a) is None
    assert lib.all_tags() == []
    assert lib.get_many([b, a]) == [lib.get(b)]
    other = lib.add_root(tmp_path / "elsewhere")
    lib.remove_root(root_id)
    assert lib.get(b) is None
    assert [r.id for r in lib.roots()] == [other.id]
    assert lib.get_root(root_id) is None
    with pytest.raises(NotFoundError):
        lib.remove_root(root_id)
    with pytest.raises(NotFoundError):
        lib.apply_scan_batch(root_id, [scanned(models_dir / "x.safetensors")])


def test_thousands_of_new_files_are_written_and_indexed(lib: Library, root_id: int, models_dir: Path) -> None:
    """Batches of 500, five of them: more rows than one batch, one ``IN`` chunk (``catalog.db.CHUNK``) or
    one scan batch (``catalog.scanner.BATCH_SIZE``) holds; how fast is ``python -m bench.bench_scan``'s job
    (timed assertions here failed whenever other jobs loaded the machine; 10,000 rows took 12 s on the
    server and proved nothing 2,500 do not)."""
    files = [
        scanned(
            models_dir / f"lora_{i:05d}.safetensors",
            inode=i,
            trigger_words=(f"word{i}",),
            sidecars=SidecarInfo(tags=(f"tag{i % 50}", "style"), description=f"model {i}")
            if i % 3 == 0
            else None,
        )
        for i in range(2_500)
    ]
    for start in range(0, len(files), 500):
        lib.apply_scan_batch(root_id, files[start : start + 500])
    assert lib.count(AssetQuery()) == 2_500
    assert lib.search_ids(AssetQuery(text="word2499")) != []
    assert lib.search_ids(AssetQuery(text="tag33")) != []
    index = lib.file_index(root_id)
    assert len(index) == 2_500


def test_copies_there_are_the_files_with_the_hash_that_are_there_to_use(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    """What "in the library" means for a site's file: a copy marked missing by a scan, or deleted on
    disk before a scan noticed, does not count (the Download that would bring it back stays enabled)."""
    paths = [models_dir / f"{name}.safetensors" for name in ("here", "marked", "deleted")]
    for path in paths:
        path.write_bytes(b"x")
    here, marked, deleted = lib.apply_scan_batch(root_id, [scanned(path) for path in paths])
    for asset in (here, marked, deleted):
        lib.set_hashes(asset, hashes_for("same"))
    lib.mark_missing([marked])
    paths[2].unlink()
    sha256 = hashes_for("same").sha256
    assert {record.id for record in lib.find_by_hash(sha256)} == {here, marked, deleted}
    assert [record.id for record in lib.copies_there(sha256)] == [here]
    assert [record.id for record in lib.copies_there(sha256.lower())] == [here]
    assert lib.copies_there(hashes_for("other").sha256) == []
