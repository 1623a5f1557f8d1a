"""Search: safe FTS5 queries, filters, sorting, paging, the planner, and the index following every write."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from catalog import queries as search_queries
from catalog.fts_match import match_expression
from catalog.library import Library
from catalog.records import AssetQuery, SortKey, UserDataChanges
from core.formats.sidecar_info import SidecarInfo
from core.taxonomy import Architecture, AssetKind, FileStatus
from tests.catalog.conftest import catalog_rows, hashes_for, on_server, scanned


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("pix", '"pix"*'),
        ("Pixel Art", '"Pixel"* "Art"*'),
        ("add-detail", '"add detail"*'),
        ("pixel_art_v2", '"pixel art v2"*'),
        ('"foo', '"foo"*'),
        ("a OR b", '"a"* "OR"* "b"*'),
        ("-x", '"x"*'),
        ("NEAR(a b)", '"NEAR a"* "b"*'),
        ("*", None),
        ("(", None),
        ('""', None),
        ("   ", None),
        ("", None),
    ],
)
def test_user_text_becomes_quoted_prefix_phrases(typed: str, expected: str | None) -> None:
    assert match_expression(typed) == expected


@pytest.fixture
def populated(lib: Library, root_id: int, models_dir: Path) -> dict[str, int]:
    files = {
        "pixel": scanned(
            models_dir / "pixel_art_xl.safetensors",
            size=300,
            trigger_words=("pixelsprite",),
            sidecars=SidecarInfo(tags=("Pixel art", "Retro"), description="Eight-bit <b>sprites</b> style"),
        ),
        "anime": scanned(
            models_dir / "AnimeLineart.safetensors",
            size=100,
            architecture=Architecture.SD1,
            sidecars=SidecarInfo(tags=("Anime", "Lineart")),
        ),
        "cafe": scanned(models_dir / "café-scene.safetensors", size=200, kind=AssetKind.CHECKPOINT),
        "vae": scanned(models_dir / "sdxl_vae.safetensors", size=50, kind=AssetKind.VAE),
        "broken": scanned(
            models_dir / "broken_pixel.safetensors",
            status=FileStatus.CORRUPT,
            status_reason="truncated header",
            identified=False,
        ),
    }
    ids = lib.apply_scan_batch(root_id, list(files.values()))
    return dict(zip(files, ids, strict=True))


def names(lib: Library, query: AssetQuery) -> list[str]:
    return [record.file_name for record in lib.search(query)]


HOSTILE = ['"foo', "a OR b", "-x", "*", "(", ")", "NOT", "AND AND", "^", "col:x", "'", "\\", "x*y", "{a}"]


def test_hostile_input_never_raises(lib: Library, populated: dict[str, int]) -> None:
    """Every hostile text on one populated catalog (one catalog per backend, not one per text); the
    failure names the text that raised."""
    for hostile in HOSTILE:
        try:
            lib.search(AssetQuery(text=hostile))
            lib.search_ids(AssetQuery(text=hostile))
            lib.count(AssetQuery(text=hostile))
        except Exception as error:
            pytest.fail(f"searching for {hostile!r} raised {error!r}")


def test_text_matches_name_tags_trigger_words_and_description_as_prefixes(
    lib: Library, populated: dict[str, int]
) -> None:
    def ids(text: str) -> set[int]:
        return set(lib.search_ids(AssetQuery(text=text)))

    assert ids("pix") == {populated["pixel"], populated["broken"]}  # file name token prefix
    assert ids("retro") == {populated["pixel"]}  # tag
    assert ids("pixelspr") == {populated["pixel"]}  # trigger word
    assert ids("sprites") == {populated["pixel"]}  # description (HTML is tokenized away)
    assert ids("lineart") == {populated["anime"]}  # tag (the CamelCase file name is one token)
    assert ids("cafe") == {populated["cafe"]}  # diacritics removed
    assert ids("CAFÉ") == {populated["cafe"]}
    assert ids("pixel art") == {populated["pixel"]}  # every word must match
    assert ids("pixel anime") == set()
    assert ids("zzz") == set()
    assert ids("*") == set(populated.values())  # nothing searchable: no text filter


def test_statuses_default_to_everything_but_missing(lib: Library, populated: dict[str, int]) -> None:
    assert lib.count(AssetQuery()) == 5
    assert lib.search_ids(AssetQuery(statuses=(FileStatus.CORRUPT,))) == [populated["broken"]]
    lib.mark_missing([populated["vae"]])
    assert populated["vae"] not in lib.search_ids(AssetQuery())
    assert lib.search_ids(AssetQuery(statuses=(FileStatus.MISSING,))) == [populated["vae"]]
    assert set(lib.search_ids(AssetQuery(text="pix"))) == {populated["pixel"], populated["broken"]}


def test_filters_combine(lib: Library, populated: dict[str, int], root_id: int) -> None:
    lib.update_user_data(populated["pixel"], UserDataChanges(rating=4, favorite=True, collections=("Best",)))
    lib.update_user_data(populated["anime"], UserDataChanges(rating=2, collections=("best ",)))
    assert lib.search_ids(AssetQuery(kinds=(AssetKind.VAE,))) == [populated["vae"]]
    assert lib.search_ids(AssetQuery(architectures=(Architecture.SD1,))) == [populated["anime"]]
    assert lib.search_ids(AssetQuery(min_rating=3)) == [populated["pixel"]]
    assert lib.search_ids(AssetQuery(favorites_only=True)) == [populated["pixel"]]
    assert set(lib.search_ids(AssetQuery(collection="BEST"))) == {populated["pixel"], populated["anime"]}
    assert lib.search_ids(AssetQuery(tags=("pixel art", "RETRO"))) == [populated["pixel"]]
    assert lib.search_ids(AssetQuery(tags=("pixel art", "anime"))) == []  # all of the tags
    assert lib.search_ids(AssetQuery(tags=("no such tag",))) == []
    assert lib.search_ids(AssetQuery(text="art", kinds=(AssetKind.LORA,), tags=("retro",))) == [
        populated["pixel"]
    ]
    assert lib.count(AssetQuery(root_id=root_id)) == 5
    assert lib.count(AssetQuery(root_id=root_id + 1)) == 0


def test_sorting_and_paging(lib: Library, populated: dict[str, int]) -> None:
    by_name = names(lib, AssetQuery())
    assert by_name == sorted(by_name, key=str.lower)
    assert names(lib, AssetQuery(descending=True)) == by_name[::-1]
    lib.update_user_data(populated["vae"], UserDataChanges(display_name="Aardvark"))
    assert names(lib, AssetQuery())[0] == "sdxl_vae.safetensors"  # display name sorts, case-insensitively
    sizes = [record.size for record in lib.search(AssetQuery(sort=SortKey.SIZE))]
    assert sizes == sorted(sizes)
    assert [r.kind for r in lib.search(AssetQuery(sort=SortKey.KIND))] == sorted(
        r.kind for r in lib.search(AssetQuery())
    )
    everything = lib.search_ids(AssetQuery(sort=SortKey.ADDED))
    pages = [lib.search_ids(AssetQuery(sort=SortKey.ADDED, limit=2, offset=offset)) for offset in (0, 2, 4)]
    assert [asset_id for page in pages for asset_id in page] == everything
    assert lib.search_ids(AssetQuery(offset=4)) == lib.search_ids(AssetQuery())[4:]
    records = lib.search(AssetQuery(limit=2))
    assert lib.get_many([r.id for r in records]) == records


@pytest.mark.parametrize("limit", [0, 1_000_000])
def test_every_plan_returns_the_same_pages(
    lib: Library, root_id: int, models_dir: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Driving by the smallest set or probing while walking an index must not change results."""
    files = [
        scanned(
            models_dir / f"{'style' if i % 3 else 'character'}_{i:03d}.safetensors",
            kind=AssetKind.LORA if i % 2 else AssetKind.EMBEDDING,
            sidecars=SidecarInfo(tags=("common", *(("rare",) if i % 10 == 0 else ()))),
        )
        for i in range(120)
    ]
    lib.apply_scan_batch(root_id, files)
    queries = [
        AssetQuery(text="style", limit=20),
        AssetQuery(text="sty", kinds=(AssetKind.LORA,), limit=20, offset=5),
        AssetQuery(tags=("common",), limit=30, descending=True),
        AssetQuery(tags=("common", "rare"), text="char"),
        AssetQuery(text="style", tags=("rare",), sort=SortKey.KIND),
    ]
    expected = [lib.search_ids(query) for query in queries]
    counts = [lib.count(query) for query in queries]
    monkeypatch.setattr(search_queries, "DRIVING_SET_LIMIT", limit)
    assert [lib.search_ids(query) for query in queries] == expected
    assert [lib.count(query) for query in queries] == counts
    assert counts[0] == 80


@pytest.mark.parametrize(("limit", "dense"), [(0, 0.0), (0, 2.0), (1_000_000, 0.0)])
def test_dense_and_sparse_text_probes_return_the_same_pages(
    lib: Library,
    *,
    root_id: int,
    models_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    limit: int,
    dense: float,
) -> None:
    """A broad word probed by an FTS seek per row (``EXISTS ... MATCH``) or by membership in the copied
    set (``id + 0 IN``) gives the same pages and counts as the default plan: a broad word with a narrow
    tag, two broad words, a broad word's last page, a word that matches nothing."""
    files = [
        scanned(
            models_dir / f"{'anime_girl' if i % 4 else 'photo'}_{i:03d}.safetensors",
            kind=AssetKind.LORA if i % 3 else AssetKind.CHECKPOINT,
            sidecars=SidecarInfo(tags=("anime",) if i % 5 else ("anime", "rare")),
        )
        for i in range(150)
    ]
    lib.apply_scan_batch(root_id, files)
    queries = [
        AssetQuery(text="ani", tags=("rare",), limit=10),
        AssetQuery(text="anime girl", limit=25),
        AssetQuery(text="anim", limit=25, offset=140),
        AssetQuery(text="anime", kinds=(AssetKind.CHECKPOINT,), sort=SortKey.SIZE, descending=True, limit=15),
        AssetQuery(text="nothingmatches", limit=25),
        AssetQuery(text="anime", tags=("anime",), limit=40, offset=120),
    ]
    expected = [lib.search_ids(query) for query in queries]
    counts = [lib.count(query) for query in queries]
    assert counts == [30, 112, 150, 50, 0, 150]  # the tag "anime" is text too: "anim" finds every file
    assert [len(page) for page in expected] == [10, 25, 10, 15, 0, 30]
    monkeypatch.setattr(search_queries, "DRIVING_SET_LIMIT", limit)
    monkeypatch.setattr(search_queries, "DENSE_TEXT_FRACTION", dense)
    assert [lib.search_ids(query) for query in queries] == expected
    assert [lib.count(query) for query in queries] == counts
    if on_server(lib):
        return  # PostgreSQL runs the same statements (catalog.pg_reads); which plan ran is SQLite's trace
    # The plan asked for was the one run: a seek per row where every text set counts as dense.
    statements: list[str] = []
    with sqlite3.connect(tmp_path / "data" / "catalog.sqlite3") as connection:
        connection.set_trace_callback(statements.append)
        assert search_queries.search_ids(connection, queries[1]) == expected[1]
    seeks = any("f.rowid = a.id" in sql for sql in statements)
    assert seeks is (limit == 0 and dense == 0.0)


class TestIndexFollowsEveryWrite:
    """Each write path must leave the FTS index consistent with the rows."""

    def found(self, lib: Library, text: str) -> list[int]:
        return lib.search_ids(AssetQuery(text=text, statuses=tuple(FileStatus)))

    def test_notes_display_name_trigger_words(self, lib: Library, populated: dict[str, int]) -> None:
        asset = populated["vae"]
        lib.update_user_data(asset, UserDataChanges(notes="perfect for portraits"))
        assert self.found(lib, "portr") == [asset]
        lib.update_user_data(asset, UserDataChanges(notes=""))
        assert self.found(lib, "portr") == []
        lib.update_user_data(asset, UserDataChanges(display_name="Kohaku Blueleaf"))
        assert self.found(lib, "kohaku") == [asset]
        lib.update_user_data(asset, UserDataChanges(trigger_words=("zyx_token",)))
        assert self.found(lib, "zyx") == [asset]

    def test_adding_and_removing_tags(self, lib: Library, populated: dict[str, int]) -> None:
        asset = populated["cafe"]
        lib.update_user_data(asset, UserDataChanges(tags=("Watercolor", "Landscape")))
        assert self.found(lib, "watercol") == [asset]
        assert self.found(lib, "landsc") == [asset]
        lib.update_user_data(asset, UserDataChanges(tags=("Landscape",)))
        assert self.found(lib, "watercol") == []
        assert self.found(lib, "landsc") == [asset]
        lib.update_user_data(asset, UserDataChanges(tags=()))
        assert self.found(lib, "landsc") == []

    def test_rescan_rename_and_forget(
        self, lib: Library, populated: dict[str, int], models_dir: Path
    ) -> None:
        asset = populated["vae"]
        lib.relocate(asset, str(models_dir / "renamed_autoencoder.safetensors"), size=50, mtime_ns=1, inode=1)
        assert self.found(lib, "autoenc") == [asset]
        assert self.found(lib, "sdxl_vae") == []
        lib.remove_assets([asset])
        assert self.found(lib, "autoenc") == []

    def test_sidecar_import_on_rescan(self, lib: Library, root_id: int, populated: dict[str, int]) -> None:
        record = lib.get(populated["cafe"])
        assert record is not None
        rescan = scanned(
            record.path,
            size=200,
            kind=AssetKind.CHECKPOINT,
            sidecars=SidecarInfo(
                tags=("Parisian",), description="street photography", trigger_words=("cfe",)
            ),
        )
        lib.apply_scan_batch(root_id, [rescan])
        assert self.found(lib, "parisian") == [populated["cafe"]]
        assert self.found(lib, "photograph") == [populated["cafe"]]
        assert self.found(lib, "cfe") == [populated["cafe"]]

    def test_merge_after_a_move(
        self, lib: Library, root_id: int, populated: dict[str, int], models_dir: Path
    ) -> None:
        old = populated["pixel"]
        lib.set_hashes(old, hashes_for("pixel"))
        lib.mark_missing([old])
        (new,) = lib.apply_scan_batch(root_id, [scanned(models_dir / "moved" / "px.safetensors")])
        assert lib.set_hashes(new, hashes_for("pixel")) == old
        assert self.found(lib, "px") == [old]
        assert self.found(lib, "retro") == [old]  # tags followed the row
        assert self.found(lib, "pixel_art_xl") == []

    def test_writes_outside_the_library_too(self, lib: Library, populated: dict[str, int]) -> None:
        """The index is kept by triggers, so even plain SQL (a future migration, a repair) keeps it right."""
        catalog_rows(lib, "UPDATE tags SET name = 'Synthwave', key = 'synthwave' WHERE key = 'retro'")
        catalog_rows(lib, "UPDATE assets SET notes = 'handmade' WHERE id = :id", {"id": populated["cafe"]})
        assert self.found(lib, "synthw") == [populated["pixel"]]
        assert self.found(lib, "retro") == []
        assert self.found(lib, "handm") == [populated["cafe"]]

    def test_removing_a_root(self, lib: Library, root_id: int, populated: dict[str, int]) -> None:
        lib.remove_root(root_id)
        assert self.found(lib, "pix") == []
        assert lib.all_tags() == []
