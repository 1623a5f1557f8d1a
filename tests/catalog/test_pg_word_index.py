"""The word index of a server catalog (``asset_fts_words``, migration 0015; read by
:mod:`catalog.pg_word_match`): a typed word finds exactly the files the documents' own match finds, and the
index follows every write of a search document, whoever makes it (a scan, an edit, a tag, a removal,
``copy-catalog``, the migration itself)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from catalog import pg_word_match
from catalog.catalog_copy import copy_catalog
from catalog.catalog_url import create_server_engine, parse
from catalog.db import create_catalog_engine
from catalog.labels import TAGS, set_asset_labels
from catalog.library import Library
from catalog.records import AssetQuery, BulkEdit, UserDataChanges
from tests.catalog.conftest import scanned

# Names with what a typed word meets in real libraries: accents, ligatures, other scripts, digits stuck
# to letters, punctuation inside words, apostrophes of several kinds, upper-case letters that lower-case
# to more than one.
NAMES = (
    "Café Crème style",
    "naïve-ART v1.5",
    "SDXL1.0 pixel art XL",
    "pixelart sprites",
    "北斎 ukiyo-e waves",
    "Straße der Nacht",
    "ﬁligree ornaments",
    "Ærøskøbing harbour",
    "İstanbul nights",
    "don’t panic",
    "rock'n'roll",
    "1girl solo portrait",
    "add_detail LoRA",
    "x100 zoom",
    "Ⅻ roman",
)
TYPED = (
    "caf", "café", "CRÈME", "creme", "naive", "naï", "art", "v1", "v1.5", "sdxl1", "sdxl", "SDXL1.0", "pix",
    "pixel art", "pixelart", "sprite", "北斎", "北", "ukiyo", "ukiyo-e", "strasse", "straß", "stra", "fil",
    "ﬁl", "ﬁligree", "aero", "ærø", "ærøskøbing", "istanbul", "İstanbul", "i̇st", "don", "don’t", "t",
    "rock", "rock'n'roll", "n", "1girl", "1", "girl solo", "add", "add_detail", "detail", "x1", "x100",
    "xii", "Ⅻ", "zoom pix", "nights istanbul", "harbour ærø",
)  # fmt: skip


def _server_library(url: str, data_dir: Path) -> Library:
    location = parse(url)
    assert location.url is not None
    return Library.on_server(create_server_engine(location.url), data_dir, str(location))


@pytest.fixture
def library(pg_catalog_url: str, tmp_path: Path) -> Iterator[Library]:
    opened = _server_library(pg_catalog_url, tmp_path / "data")
    yield opened
    opened.close()


def _add_files(library: Library, folder: Path, names: tuple[str, ...]) -> list[int]:
    root = library.add_root(folder).id
    files = [scanned(folder / f"{name}.safetensors", inode=n + 1) for n, name in enumerate(names)]
    return library.apply_scan_batch(root, files)


def _out_of_step(engine_or_library: Engine | Library) -> tuple[int, int]:
    """How many (word, file) pairs the word index holds that no document has, and how many the documents
    have that the index lacks."""
    engine = engine_or_library._db.engine if isinstance(engine_or_library, Library) else engine_or_library
    pairs = (
        "SELECT x.word, d.rowid FROM asset_fts_documents AS d"
        " CROSS JOIN LATERAL unnest(tsvector_to_array(d.document)) AS x (word)"
    )
    with engine.connect() as connection:
        extra = connection.execute(
            text(f"SELECT count(*) FROM (SELECT word, asset_id FROM asset_fts_words EXCEPT {pairs}) AS e")
        ).scalar_one()
        missing = connection.execute(
            text(f"SELECT count(*) FROM ({pairs} EXCEPT SELECT word, asset_id FROM asset_fts_words) AS m")
        ).scalar_one()
    return int(extra), int(missing)


def test_typed_words_find_the_same_files_through_the_word_index_as_through_the_documents(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_files(library, tmp_path / "models", NAMES)
    read_from_words: list[str] = []
    matching_ids = pg_word_match.matching_ids

    def recorded(lexeme: str, **options: Any) -> str:
        read_from_words.append(lexeme)
        return matching_ids(lexeme, **options)

    monkeypatch.setattr(pg_word_match, "matching_ids", recorded)
    through_words = {typed: library.search_ids(AssetQuery(text=typed)) for typed in TYPED}
    assert {"caf", "pix", "sdxl1", "ukiyo", "1girl", "x100", "strasse"} <= set(read_from_words)

    monkeypatch.setattr(pg_word_match.WordLexemes, "word", lambda self, token: None)  # the documents only
    through_documents = {typed: library.search_ids(AssetQuery(text=typed)) for typed in TYPED}
    assert through_words == through_documents
    assert sum(bool(found) for found in through_documents.values()) > len(TYPED) * 3 // 4  # not all empty


@pytest.mark.parametrize("count_limit", [3, 10**6], ids=["common", "rare"])
def test_a_word_is_found_by_its_prefix_only_and_common_words_still_agree(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count_limit: int
) -> None:
    """A range of the index is a prefix, never a substring or a neighbour in sort order ("pixel" is not
    found by "ixel", "pixem" finds only itself); and whether a word counts as common (its count walks the
    documents in id order) or not, the pages and counts are the documents' own."""
    monkeypatch.setattr(pg_word_match, "COUNT_LIMIT", count_limit)
    walked: list[str] = []
    counted_in_id_order = pg_word_match.counted_in_id_order

    def recorded(lexeme: str) -> str:
        walked.append(lexeme)
        return counted_in_id_order(lexeme)

    monkeypatch.setattr(pg_word_match, "counted_in_id_order", recorded)
    names = (*(f"pixel {n} {'art' if n % 2 else 'sprite'}" for n in range(12)), "pixem", "apixel")
    ids = _add_files(library, tmp_path / "models", names)
    assert library.search_ids(AssetQuery(text="ixel")) == []
    assert library.search_ids(AssetQuery(text="pixem")) == [ids[names.index("pixem")]]
    queries = [AssetQuery(text=typed, limit=5) for typed in ("pix", "pixel art", "art pix", "pixe spr")]
    through_words = [library.search_ids(query) for query in queries]
    assert ("pix" in walked) is (count_limit == 3)
    monkeypatch.setattr(pg_word_match.WordLexemes, "word", lambda self, token: None)
    assert through_words == [library.search_ids(query) for query in queries]
    assert [library.count(query) for query in queries] == [13, 6, 6, 6]


def test_the_word_index_follows_every_write_of_a_search_document(library: Library, tmp_path: Path) -> None:
    first, second, third = _add_files(library, tmp_path / "models", ("anime girl", "oil landscape", "ink"))
    assert _out_of_step(library) == (0, 0)
    library.bulk_edit([first, second], BulkEdit(add_tags=("watercolour", "Ukiyo-e")))
    library.update_user_data(third, UserDataChanges(notes="sumi brush", display_name="Sumi Ink"))
    library.bulk_edit([first], BulkEdit(remove_tags=("watercolour",)))
    library.update_user_data(second, UserDataChanges(tags=("gouache",), trigger_words=("oilpaint",)))
    assert _out_of_step(library) == (0, 0)
    assert library.search_ids(AssetQuery(text="sumi")) == [third]
    assert library.search_ids(AssetQuery(text="watercol")) == []  # taken off one, replaced on the other
    assert library.search_ids(AssetQuery(text="ukiyo")) == [first]
    assert library.search_ids(AssetQuery(text="gouach")) == [second]
    assert library.search_ids(AssetQuery(text="oilp")) == [second]
    library.remove_assets([second])  # its document goes by its foreign key; its words with it
    assert _out_of_step(library) == (0, 0)
    assert library.search_ids(AssetQuery(text="gouache")) == []


def test_a_tag_edit_writes_only_the_words_that_changed(library: Library, tmp_path: Path) -> None:
    """A refresh updates a document in place and only when it changed (migration 0015), so the word index
    is written only where the words changed, not the file's every word deleted and inserted again."""
    (asset,) = _add_files(library, tmp_path / "models", ("anime girl portrait with many words",))
    library.update_user_data(asset, UserDataChanges(tags=("ink", "sumi")))

    def words_after(labels: list[str]) -> dict[str, str]:
        """The file's words, each with the transaction that wrote it, after its tags are set to ``labels``."""
        with library._db.session_scope(write=True) as session:
            set_asset_labels(session, TAGS, asset, labels)
        with library._db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT word, xmin::text FROM asset_fts_words WHERE asset_id = :a"), {"a": asset}
            )
            return {str(word): str(xmin) for word, xmin in rows.all()}

    before = words_after(["ink", "sumi"])
    added = words_after(["ink", "sumi", "gouache"])
    assert set(added) - set(before) == {"gouache"}
    assert {word: added[word] for word in before} == before  # none written again
    assert words_after(["gouache", "sumi", "ink"]) == added  # the same tags in another order: nothing
    assert set(words_after(["ink"])) == set(before) - {"sumi"}
    assert _out_of_step(library) == (0, 0)
    assert library.search_ids(AssetQuery(text="gouac")) == []


def test_the_migration_fills_the_index_and_takes_it_away_again(library: Library, tmp_path: Path) -> None:
    from alembic import command

    from catalog.migrate import alembic_config, upgrade

    (asset,) = _add_files(library, tmp_path / "models", ("lowpoly castle",))
    engine = library._db.engine
    with engine.connect() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0014")
        connection.commit()
        assert connection.execute(text("SELECT to_regclass('asset_fts_words')")).scalar() is None
    library.update_user_data(asset, UserDataChanges(notes="moat"))  # written while there is no index
    upgrade(engine, backup=False)
    assert _out_of_step(library) == (0, 0)
    assert library.search_ids(AssetQuery(text="moa")) == [asset]


def test_a_catalog_copied_onto_a_server_gets_its_word_index(pg_url: str, tmp_path: Path) -> None:
    source_path = tmp_path / "catalog.sqlite3"
    with Library.open(source_path) as source:
        _add_files(source, tmp_path / "models", NAMES[:6])
    location = parse(pg_url)
    assert location.url is not None
    source_engine, target = create_catalog_engine(source_path), create_server_engine(location.url)
    try:
        copy_catalog(source_engine, target)
        assert _out_of_step(target) == (0, 0)
        with target.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM asset_fts_words")).scalar_one() > 20
    finally:
        source_engine.dispose()
        target.dispose()
