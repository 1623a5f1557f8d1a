"""The library as the renderer's asset index: every hash form A1111/Civitai write, names and aliases."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from catalog.library import Library
from catalog.records import RemoteMatch, UserDataChanges
from catalog.render_index import LibraryAssetIndex
from core.file_hashes import FileHashes
from core.render.infotext import recipe_from_infotext
from core.render.resolve import resolve_recipe
from core.taxonomy import Architecture, AssetKind
from tests.catalog.conftest import hashes_for, identification, scanned


@pytest.fixture
def index(lib: Library) -> LibraryAssetIndex:
    return LibraryAssetIndex(lib)


@pytest.fixture
def lora(lib: Library, root_id: int, models_dir: Path) -> tuple[int, FileHashes]:
    found = scanned(models_dir / "add_detail.safetensors", kind=AssetKind.LORA, architecture=Architecture.SD1)
    ident = identification(AssetKind.LORA, Architecture.SD1, metadata={"output_name": "detail_tweaker_v1"})
    (asset_id,) = lib.apply_scan_batch(root_id, [dataclasses.replace(found, identification=ident)])
    hashes = hashes_for("add_detail")
    lib.set_hashes(asset_id, hashes)
    return asset_id, hashes


def _ids(found: object) -> list[int]:
    return [c.asset_id for c in found]  # type: ignore[attr-defined]


def test_every_hash_form_finds_the_file(index: LibraryAssetIndex, lora: tuple[int, FileHashes]) -> None:
    asset_id, hashes = lora
    assert hashes.autov1 is not None
    assert hashes.autov3 is not None
    forms = {
        "AutoV2 (A1111 model hash)": hashes.autov2.lower(),
        "SHA256[:12] (A1111 TI hashes)": hashes.sha256[:12].lower(),
        "AutoV3[:12] (A1111 Lora hashes)": hashes.autov3[:12].lower(),
        "SHA256[:10] (hypernet hash)": hashes.sha256[:10],
        "full SHA256": hashes.sha256.lower(),
        "full BLAKE3": hashes.blake3,
        "full AutoV3": hashes.autov3,
        "AutoV1": hashes.autov1.lower(),
        "CRC32": hashes.crc32,
        "a 9-digit prefix": hashes.sha256[:9],
        "InvokeAI style": "sha256:" + hashes.sha256.lower(),
    }
    for what, value in forms.items():
        found = index.by_hash(value)
        assert _ids(found) == [asset_id], what
    (candidate,) = index.by_hash(hashes.autov2)
    assert (candidate.kind, candidate.architecture, candidate.file_stem) == (
        AssetKind.LORA,
        Architecture.SD1,
        "add_detail",
    )


def test_non_hashes_and_short_prefixes_find_nothing(
    index: LibraryAssetIndex, lora: tuple[int, FileHashes]
) -> None:
    _, hashes = lora
    assert index.by_hash(hashes.sha256[:7]) == []
    assert index.by_hash("not-a-hash") == []
    assert index.by_hash("") == []
    assert index.by_hash("0" * 10) == []


def test_names_match_stem_display_name_and_aliases_ignoring_case(
    lib: Library, index: LibraryAssetIndex, lora: tuple[int, FileHashes]
) -> None:
    asset_id, _ = lora
    lib.record_remote_match(
        asset_id,
        RemoteMatch(site="civitai", model_id="58390", version_id="62833", model_name="Detail Tweaker LoRA"),
    )
    lib.update_user_data(asset_id, UserDataChanges(display_name="My Detailer"))
    for name in ("add_detail", "ADD_DETAIL", "my detailer", "detail_tweaker_v1", "detail tweaker lora"):
        assert _ids(index.by_name(AssetKind.LORA, name)) == [asset_id], name
    (candidate,) = index.by_name(AssetKind.LORA, "add_detail")
    assert candidate.aliases == ("detail_tweaker_v1", "Detail Tweaker LoRA")
    assert index.by_name(AssetKind.EMBEDDING, "add_detail") == [], "the kind must match"
    assert index.by_name(AssetKind.LORA, "add") == [], "a name is not a prefix"
    assert index.by_name(AssetKind.LORA, "add%detail") == [], "LIKE wildcards are escaped"
    assert index.by_name(AssetKind.LORA, "add.detail") == []


def test_names_with_dots_and_folders(
    lib: Library, root_id: int, models_dir: Path, index: LibraryAssetIndex
) -> None:
    versioned, folder = lib.apply_scan_batch(
        root_id,
        [
            scanned(models_dir / "add_detail.v2.safetensors", kind=AssetKind.LORA),
            scanned(models_dir / "sd-v1.5", kind=AssetKind.CHECKPOINT, inode=2),
        ],
    )
    assert _ids(index.by_name(AssetKind.LORA, "add_detail.v2")) == [versioned]
    assert index.by_name(AssetKind.LORA, "add_detail") == []
    assert _ids(index.by_name(AssetKind.CHECKPOINT, "SD-v1.5")) == [folder]


def test_missing_and_broken_files_are_not_candidates(
    lib: Library, index: LibraryAssetIndex, lora: tuple[int, FileHashes]
) -> None:
    asset_id, hashes = lora
    lib.mark_missing([asset_id])
    assert index.by_hash(hashes.autov2) == []
    assert index.by_name(AssetKind.LORA, "add_detail") == []


def test_infotext_resolves_through_the_index(
    lib: Library, root_id: int, models_dir: Path, index: LibraryAssetIndex, lora: tuple[int, FileHashes]
) -> None:
    lora_id, lora_hashes = lora
    checkpoint = dataclasses.replace(
        scanned(models_dir / "dream.safetensors", inode=5),
        identification=identification(AssetKind.CHECKPOINT, Architecture.SD1),
    )
    embedding = dataclasses.replace(
        scanned(models_dir / "badhands.pt", inode=6),
        identification=identification(AssetKind.EMBEDDING, Architecture.SD1),
    )
    checkpoint_id, embedding_id = lib.apply_scan_batch(root_id, [checkpoint, embedding])
    checkpoint_hashes, embedding_hashes = hashes_for("dream"), hashes_for("badhands")
    lib.set_hashes(checkpoint_id, checkpoint_hashes)
    lib.set_hashes(embedding_id, embedding_hashes)
    assert lora_hashes.autov3 is not None
    text = (
        "a fox <lora:renamed_locally:0.6>, badhands\n"
        "Steps: 2, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 64x64, "
        f"Model hash: {checkpoint_hashes.autov2.lower()}, Model: other_name, "
        f'Lora hashes: "renamed_locally: {lora_hashes.autov3[:12].lower()}", '
        f'TI hashes: "badhands: {embedding_hashes.sha256[:12].lower()}"'
    )

    parsed = recipe_from_infotext(text, known_embeddings=lib.embedding_names())
    resolved = resolve_recipe(parsed.recipe, index)

    assert resolved.missing == ()
    recipe = resolved.recipe
    assert recipe.checkpoint is not None
    assert recipe.checkpoint.asset_id == checkpoint_id
    assert [use.ref.asset_id for use in recipe.loras] == [lora_id]
    assert [use.ref.asset_id for use in recipe.embeddings] == [embedding_id]
    assert lib.embedding_names() == ["badhands"]
