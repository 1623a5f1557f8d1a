"""Resolving recipe references against the library (an in-test index, and the real catalog once)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from catalog.library import Library
from catalog.records import AssetQuery, AssetRecord
from core.render.infotext import recipe_from_infotext
from core.render.recipe import AssetRef, EmbeddingUse, LoraUse, Recipe
from core.render.resolve import Candidate, resolve_recipe
from core.taxonomy import Architecture, AssetKind
from tests.catalog.conftest import hashes_for, scanned
from tests.core.render.test_infotext import CLASSIC


@dataclass
class FakeIndex:
    """A list of candidates with their hashes; matching as the catalog adapter does."""

    entries: list[tuple[Candidate, tuple[str, ...]]] = field(default_factory=list)

    def add(self, candidate: Candidate, *hashes: str) -> None:
        self.entries.append((candidate, hashes))

    def by_name(self, kind: AssetKind, name: str) -> Sequence[Candidate]:
        key = name.casefold()
        return [
            c
            for c, _ in self.entries
            if c.kind is kind
            and key in {c.file_stem.casefold(), c.display_name.casefold(), *(a.casefold() for a in c.aliases)}
        ]

    def by_hash(self, value: str) -> Sequence[Candidate]:
        key = value.lower()
        return [c for c, hashes in self.entries if any(h.lower().startswith(key) for h in hashes)]


def candidate(
    asset_id: int,
    stem: str,
    kind: AssetKind = AssetKind.LORA,
    architecture: Architecture = Architecture.SD1,
    *,
    display: str | None = None,
    aliases: tuple[str, ...] = (),
) -> Candidate:
    return Candidate(
        asset_id, f"/models/{stem}.safetensors", kind, architecture, display or stem, stem, aliases
    )


def test_hash_wins_over_name() -> None:
    index = FakeIndex()
    index.add(candidate(1, "add_detail"), "AAAAAAAAAA")
    index.add(candidate(2, "detail_v2"), "7C6BD7B7A2FF")
    recipe = Recipe(loras=(LoraUse(AssetRef("add_detail", hash="7c6bd7b7a2"), 0.8),))
    result = resolve_recipe(recipe, index)
    assert result.complete
    (lora,) = result.recipe.loras
    assert (lora.ref.asset_id, lora.ref.path, lora.weight) == (2, "/models/detail_v2.safetensors", 0.8)
    assert result.resolutions[0].how == "hash"


def test_name_rules_in_order() -> None:
    index = FakeIndex()
    index.add(candidate(1, "Other", display="add_detail"))
    index.add(candidate(2, "add_detail"))
    index.add(candidate(3, "x", aliases=("detail_tweaker",)))
    index.add(candidate(4, "MyStyle"))
    recipe = Recipe(
        loras=(
            LoraUse(AssetRef("add_detail")),
            LoraUse(AssetRef("detail_tweaker")),
            LoraUse(AssetRef("mystyle")),
        )
    )
    result = resolve_recipe(recipe, index)
    assert [u.ref.asset_id for u in result.recipe.loras] == [2, 3, 4]
    assert [r.how for r in result.resolutions] == ["file name", "alias", "name ignoring case"]


def test_unknown_hash_falls_back_to_the_name_with_a_note() -> None:
    index = FakeIndex()
    index.add(candidate(1, "add_detail"), "1111111111")
    result = resolve_recipe(Recipe(loras=(LoraUse(AssetRef("add_detail", hash="7c6bd7b7a2")),)), index)
    assert result.recipe.loras[0].ref.asset_id == 1
    assert result.notes == ("no LoRA has hash 7c6bd7b7a2; matched by file name",)


def test_ambiguity_prefers_the_checkpoints_architecture() -> None:
    index = FakeIndex()
    index.add(candidate(1, "juggernautXL", AssetKind.CHECKPOINT, Architecture.SDXL), "ABCDEF0123")
    index.add(candidate(2, "add_detail", architecture=Architecture.SD1))
    index.add(candidate(3, "add_detail", architecture=Architecture.SDXL))
    index.add(candidate(4, "vae", AssetKind.VAE, Architecture.SDXL))
    recipe = Recipe(
        checkpoint=AssetRef("whatever", hash="abcdef0123"),
        vae=AssetRef("vae.safetensors"),
        loras=(LoraUse(AssetRef("add_detail")),),
    )
    result = resolve_recipe(recipe, index)
    assert result.recipe.checkpoint is not None
    assert result.recipe.checkpoint.asset_id == 1
    assert result.recipe.vae is not None
    assert result.recipe.vae.asset_id == 4  # extension stripped
    assert result.recipe.loras[0].ref.asset_id == 3
    assert result.notes == ()


def test_identical_files_found_by_hash_prefer_the_one_the_text_names() -> None:
    # Four byte-identical VAEs (ComfyUI users keep ae.safetensors under several names): infotext that
    # says "VAE: ae" with their shared hash means ae.safetensors, without a "4 files match" warning.
    index = FakeIndex()
    for number, stem in enumerate(("chroma_vae", "sd3.5_vae", "zimage_vae", "ae"), start=1):
        index.add(candidate(number, stem, AssetKind.VAE, Architecture.OTHER), "748930BB0A11")
    result = resolve_recipe(Recipe(vae=AssetRef("ae", hash="748930bb0a")), index)
    assert result.recipe.vae is not None
    assert result.recipe.vae.asset_id == 4
    assert result.notes == ()
    # A name none of them has: the first, saying how many matched.
    result = resolve_recipe(Recipe(vae=AssetRef("flux_vae", hash="748930bb0a")), index)
    assert result.recipe.vae is not None
    assert result.notes == ("4 files match; using /models/chroma_vae.safetensors",)


def test_kind_must_match() -> None:
    index = FakeIndex()
    index.add(candidate(1, "EasyNegative", AssetKind.LORA), "C74B4E810B29")
    recipe = Recipe(embeddings=(EmbeddingUse(AssetRef("EasyNegative", hash="c74b4e810b29"), True),))
    assert not resolve_recipe(recipe, index).complete


def test_missing_refs_are_listed_with_their_hashes() -> None:
    result = resolve_recipe(recipe_from_infotext(CLASSIC).recipe, FakeIndex())
    assert result.missing_lines == (
        "Checkpoint 'majicmixRealistic_v7' (hash 7c819b6d13) is not in the library",
        "VAE 'vae-ft-mse-840000-ema-pruned.safetensors' (hash 735e4c3a44) is not in the library",
        "LoRA 'add_detail' (hash 7c6bd7b7a2) is not in the library",
        "Embedding 'EasyNegative' (hash c74b4e810b29) is not in the library",
    )
    assert [m.hash for m in result.missing] == ["7c819b6d13", "735e4c3a44", "7c6bd7b7a2", "c74b4e810b29"]
    assert result.recipe == recipe_from_infotext(CLASSIC).recipe


def test_already_resolved_refs_are_kept() -> None:
    ref = AssetRef("mine", path="/m/mine.safetensors", asset_id=9)
    result = resolve_recipe(Recipe(loras=(LoraUse(ref),)), FakeIndex())
    assert result.complete
    assert result.recipe.loras[0].ref == ref


class LibraryIndex:
    """A thin adapter over the real catalog (the production one lives in catalog/)."""

    def __init__(self, library: Library) -> None:
        self.library = library

    @staticmethod
    def _candidate(record: AssetRecord) -> Candidate:
        alias = record.embedded_metadata.get("ss_output_name")
        return Candidate(
            asset_id=record.id,
            path=record.path,
            kind=record.kind,
            architecture=record.architecture,
            display_name=record.display_name,
            file_stem=Path(record.file_name).stem,
            aliases=(str(alias),) if alias else (),
        )

    def by_name(self, kind: AssetKind, name: str) -> Sequence[Candidate]:
        key = name.casefold()
        found = [self._candidate(r) for r in self.library.search(AssetQuery(kinds=(kind,)))]
        return [
            c
            for c in found
            if key in {c.file_stem.casefold(), c.display_name.casefold(), *(a.casefold() for a in c.aliases)}
        ]

    def by_hash(self, value: str) -> Sequence[Candidate]:
        return [self._candidate(r) for r in self.library.find_by_hash(value)]


def test_against_the_real_catalog(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    library = Library.open(tmp_path / "c.sqlite3")
    try:
        root = library.add_root(models).id
        ids = library.apply_scan_batch(
            root,
            [
                scanned(models / "majicmixRealistic_v7.safetensors", inode=1, kind=AssetKind.CHECKPOINT,
                        architecture=Architecture.SD1),
                scanned(models / "add_detail.safetensors", inode=2, architecture=Architecture.SD1),
                scanned(models / "add_detail_xl.safetensors", inode=3, architecture=Architecture.SDXL),
            ],
        )  # fmt: skip
        checkpoint_hashes = hashes_for("majicmix")
        library.set_hashes(ids[0], checkpoint_hashes)
        library.set_hashes(ids[1], hashes_for("add_detail"))
        text = CLASSIC.replace("7c819b6d13", checkpoint_hashes.autov2.lower())
        result = resolve_recipe(recipe_from_infotext(text).recipe, LibraryIndex(library))
        assert result.recipe.checkpoint is not None
        assert result.recipe.checkpoint.asset_id == ids[0]
        assert result.resolutions[0].how == "hash"
        assert result.recipe.loras[0].ref.asset_id == ids[1]
        assert result.recipe.loras[0].ref.path == str(models / "add_detail.safetensors")
        assert result.missing_lines == (
            "VAE 'vae-ft-mse-840000-ema-pruned.safetensors' (hash 735e4c3a44) is not in the library",
            "Embedding 'EasyNegative' (hash c74b4e810b29) is not in the library",
        )
    finally:
        library.close()
