"""A byte-identical copy of a file linked to Civitai is linked to the same version when it is hashed,
with no lookup (automatic lookup may be off): the library already knows what that SHA-256 is."""

from __future__ import annotations

import shutil
from pathlib import Path

from catalog.hashing_job import hash_pending
from catalog.library import Library
from catalog.records import RemoteMatch
from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from tests.catalog.test_scanner import write_lora


def _match() -> RemoteMatch:
    return RemoteMatch(
        site="civitai",
        model_id="910001",
        version_id="910002",
        model_name="Pixel Art Style",
        version_name="v1.0",
        base_model_label="SD 1.5",
        trigger_words=("pixel art",),
        payload={"id": 910002, "modelId": 910001},
    )


def test_a_copy_of_a_linked_file_gets_its_link_and_cover_when_hashed(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "webui" / "models" / "Lora"
    original = write_lora(folder / "pixel_art_v1.safetensors", seed=5)
    lib.add_root(tmp_path / "webui", LibraryLayout.A1111)
    Scanner(lib, workers=1).scan()
    first = lib.get_by_path(original)
    assert first is not None
    hash_pending(lib, workers=1, asset_ids=[first.id])
    lib.record_remote_match(first.id, _match())  # as a lookup found it
    cover = tmp_path / "data" / "cache" / "previews" / "civitai" / "cover.png"
    cover.parent.mkdir(parents=True)
    cover.write_bytes(b"png")
    lib.add_preview(first.id, str(cover), "civitai", width=512, height=768)

    copy = folder / "old" / "pixel_copy.safetensors"
    copy.parent.mkdir()
    shutil.copyfile(original, copy)
    other = write_lora(folder / "unrelated.safetensors", seed=6)
    Scanner(lib, workers=1).scan()
    summary = hash_pending(lib, workers=1)

    twin = lib.get_by_path(copy)
    assert twin is not None
    links = [link for link in lib.remote_links(twin.id) if link.found]
    assert [(link.site, link.model_id, link.version_id) for link in links] == [
        ("civitai", "910001", "910002")
    ]
    assert links[0].model_name == "Pixel Art Style"
    assert links[0].trigger_words == ("pixel art",)
    assert [(p.path, p.source, p.is_cover) for p in lib.previews(twin.id)] == [(str(cover), "civitai", True)]
    assert summary.linked == 1
    assert "1 linked like an identical file" in str(summary)
    unrelated = lib.get_by_path(other)
    assert unrelated is not None
    assert lib.remote_links(unrelated.id) == [], "a file that is no copy is left for a lookup"
    assert [lib_id for lib_id, _ in lib.lookup_candidates()] == [unrelated.id]


def test_a_copy_keeps_its_own_link(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "webui" / "models" / "Lora"
    original = write_lora(folder / "a.safetensors", seed=5)
    copy = folder / "b.safetensors"
    shutil.copyfile(original, copy)
    lib.add_root(tmp_path / "webui", LibraryLayout.A1111)
    Scanner(lib, workers=1).scan()
    first, second = lib.get_by_path(original), lib.get_by_path(copy)
    assert first is not None
    assert second is not None
    hash_pending(lib, workers=1, asset_ids=[first.id])
    lib.record_remote_match(first.id, _match())
    lib.record_remote_match(second.id, RemoteMatch(site="civitai", model_id="1", version_id="2"))
    summary = hash_pending(lib, workers=1)

    assert (summary.hashed, summary.linked) == (1, 0)

    (link,) = lib.remote_links(second.id)
    assert (link.model_id, link.version_id) == ("1", "2")


def test_ids_alone_are_not_copied_and_a_lookup_fills_both(lib: Library, tmp_path: Path) -> None:
    """A link made from an imported list holds no facts yet: the copy is not given it, both files stay
    lookup candidates, and once the original is answered a copy hashed later gets the answer."""
    folder = tmp_path / "webui" / "models" / "Lora"
    original = write_lora(folder / "a.safetensors", seed=5)
    lib.add_root(tmp_path / "webui", LibraryLayout.A1111)
    Scanner(lib, workers=1).scan()
    first = lib.get_by_path(original)
    assert first is not None
    hash_pending(lib, workers=1)
    listed = RemoteMatch(site="civitai", model_id="910001", version_id="910002", model_name="Pixel Art Style")
    lib.record_remote_match(first.id, listed)
    copy = folder / "b.safetensors"
    shutil.copyfile(original, copy)
    Scanner(lib, workers=1).scan()

    summary = hash_pending(lib, workers=1)

    second = lib.get_by_path(copy)
    assert second is not None
    assert (summary.hashed, summary.linked) == (1, 0)
    assert lib.remote_links(second.id) == []
    assert [i for i, _ in lib.lookup_candidates()] == [first.id, second.id]
    sha256 = _sha(lib, first.id)
    assert lib.linked_twins(second.id, sha256) == [], "ids alone make no linked twin"

    lib.record_remote_match(first.id, _match())  # the lookup answered the original
    third = folder / "c.safetensors"
    shutil.copyfile(original, third)
    Scanner(lib, workers=1).scan()
    assert hash_pending(lib, workers=1).linked == 1
    copied = lib.get_by_path(third)
    assert copied is not None
    (link,) = lib.remote_links(copied.id)
    assert link.trigger_words == ("pixel art",)
    assert lib.linked_twins(copied.id, sha256.lower()) == [first.id], "the file itself is no twin"


def _sha(lib: Library, asset_id: int) -> str:
    record = lib.get(asset_id)
    assert record is not None
    assert record.hashes is not None
    return record.hashes.sha256
