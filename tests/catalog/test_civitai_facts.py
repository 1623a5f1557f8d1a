"""Civitai facts in the catalog: a ``.civitai.info`` next to a real LoRA and a by-hash lookup land as the same
facts, apart from the user's own fields, and the model name, creator and version name find the file."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from catalog.db import sqlite_url
from catalog.enrich import match_from_version
from catalog.library import Library
from catalog.migrate import upgrade
from catalog.records import AssetQuery, AssetRecord, RemoteLinkRecord, UserDataChanges
from catalog.scanner import Scanner
from core.sources.civitai_records import parse_version
from core.taxonomy import AssetKind, LibraryLayout
from tests.factory.civitai_info import civitai_helper_payload, write_civitai_helper_info
from tests.factory.files import write_cm_info, write_lora_manager_metadata
from tests.factory.models import kohya_lora, write_case


@pytest.fixture
def library(lib: Library) -> Library:
    """The catalog under test: on SQLite and on the PostgreSQL server (``lib``, tests/catalog/conftest.py)."""
    return lib


@pytest.fixture
def lora(tmp_path: Path) -> Path:
    folder = tmp_path / "webui" / "models" / "Lora"
    folder.mkdir(parents=True)
    written = write_case(kohya_lora("sd1", rank=2), folder)
    return written.rename(folder / "add_detail.safetensors")


def _scan(library: Library, lora: Path) -> AssetRecord:
    root = library.add_root(lora.parents[2], LibraryLayout.A1111)
    Scanner(library).scan([root.id])
    record = library.get_by_path(lora)
    assert record is not None
    return record


def _facts(link: RemoteLinkRecord) -> tuple[object, ...]:
    """Everything a link says except where and when it came from."""
    return (
        link.model_id, link.version_id, link.model_name, link.version_name, link.creator,
        link.base_model_label, link.description_html, link.description_text, link.tags,
        link.trigger_words, link.nsfw, link.nsfw_level, link.examples,
    )  # fmt: skip


def test_a_civitai_info_sidecar_is_stored_as_civitai_facts(library: Library, lora: Path) -> None:
    write_civitai_helper_info(lora)

    record = _scan(library, lora)

    assert record.kind is AssetKind.LORA
    (link,) = library.remote_links(record.id)
    assert (link.site, link.model_id, link.version_id) == ("civitai", "58390", "62833")
    assert (link.model_name, link.version_name, link.creator) == (
        "Detail Tweaker LoRA",
        "v1.0",
        "OedoSoldier",
    )
    assert link.base_model_label == "SD 1.5"
    assert link.page_url == "https://civitai.com/models/58390?modelVersionId=62833"
    assert link.description_html is not None
    assert "<strong>" in link.description_html
    assert link.description_text.startswith("Detail tweaker LoRA: enhances or reduces detail")
    assert "<" not in link.description_text
    assert "&amp;" not in link.description_text
    assert "banner.jpeg" not in link.description_text, "images of the description are never loaded"
    assert link.tags == ("concept", "detail", "tool")
    assert link.trigger_words == ("add_detail",)
    assert len(link.examples) == 7
    assert link.examples[0].prompt == "<lora:sd_xl_turbo_lora_v1-128dim:1>1 girl, snow"
    assert (link.examples[0].steps, link.examples[0].cfg, link.examples[0].seed) == (4, 1.5, 2494203713)
    # Civitai's words are Civitai's; the user's stay empty and are still the user's to fill.
    assert record.trigger_words == ()
    assert record.remote_trigger_words == ("add_detail",)
    assert record.description is None
    assert record.base_model_label == "SD 1.5"  # an empty label is filled, as before
    assert record.tags == ("concept", "detail", "tool")


@pytest.mark.parametrize("words", ["Detail Tweaker", "detail tweak", "OedoSoldier", "oedo", "add_detail"])
def test_the_civitai_name_creator_and_trigger_words_find_the_file(
    library: Library, lora: Path, words: str
) -> None:
    write_civitai_helper_info(lora)
    record = _scan(library, lora)

    assert library.search_ids(AssetQuery(text=words)) == [record.id]


def test_the_version_name_finds_the_file(library: Library, lora: Path) -> None:
    write_civitai_helper_info(lora, civitai_helper_payload(version_name="Sharpened Edition"))
    record = _scan(library, lora)

    assert library.search_ids(AssetQuery(text="sharpened edition")) == [record.id]
    assert library.search_ids(AssetQuery(text="sharpened blurry")) == []


def test_a_lookup_stores_the_same_facts_as_the_sidecar(library: Library, lora: Path, tmp_path: Path) -> None:
    payload = civitai_helper_payload()
    write_civitai_helper_info(lora, payload)
    from_sidecar = _scan(library, lora)
    other = lora.with_name("twin.safetensors")
    other.write_bytes(lora.read_bytes())
    Scanner(library).scan()
    twin = library.get_by_path(other)
    assert twin is not None

    library.record_remote_match(twin.id, match_from_version(parse_version(payload), "0" * 64))

    (sidecar_link,) = library.remote_links(from_sidecar.id)
    (lookup_link,) = library.remote_links(twin.id)
    assert _facts(lookup_link) == _facts(sidecar_link)
    assert lookup_link.fetched_at is not None
    assert sidecar_link.fetched_at is None


def test_a_lookup_never_overwrites_the_users_words(library: Library, lora: Path) -> None:
    record = _scan(library, lora)
    library.update_user_data(record.id, UserDataChanges(trigger_words=("my word",), notes="mine"))

    library.record_remote_match(record.id, match_from_version(parse_version(civitai_helper_payload()), ""))

    after = library.get(record.id)
    assert after is not None
    assert (after.trigger_words, after.notes) == (("my word",), "mine")
    assert after.remote_trigger_words == ("add_detail",)
    assert after.all_trigger_words == ("my word", "add_detail")


def test_the_index_follows_link_changes_and_deletes(library: Library, lora: Path) -> None:
    record = _scan(library, lora)
    assert library.search_ids(AssetQuery(text="tweaker")) == []

    library.record_remote_match(record.id, match_from_version(parse_version(civitai_helper_payload()), ""))
    assert library.search_ids(AssetQuery(text="tweaker")) == [record.id]

    renamed = civitai_helper_payload(
        model_name="Clarity Booster", creator="someone_else", description="<p>Sharper</p>"
    )
    library.record_remote_match(record.id, match_from_version(parse_version(renamed), ""))
    assert library.search_ids(AssetQuery(text="tweaker")) == []
    assert library.search_ids(AssetQuery(text="clarity someone")) == [record.id]

    library.remove_assets([record.id])
    assert library.search_ids(AssetQuery(text="clarity")) == []
    assert library.count(AssetQuery(text="clarity")) == 0


def test_an_0005_catalog_gains_the_facts_from_the_payloads_it_kept(tmp_path: Path) -> None:
    """Links stored before 0006 are filled from their payload; copies of Civitai's words in the user's
    fields are taken back, words the user typed are kept; the model name becomes searchable."""
    path = tmp_path / "old.sqlite3"
    upgrade(sqlite_url(path), "0005")
    payload = civitai_helper_payload()
    with sqlite3.connect(path) as connection:
        for asset_id, words, edited in (
            (1, '["add_detail"]', "[]"),
            (2, '["add_detail"]', '["trigger_words"]'),
        ):
            connection.execute(
                """INSERT INTO assets (id, path, file_name, size, mtime_ns, format, kind, architecture,
                                       status, added_at, updated_at, trigger_words, edited_fields,
                                       description)
                   VALUES (?, ?, ?, 10, 1, 'safetensors', 'lora', 'sd1', 'ok', '2024-05-01 10:00:00',
                           '2024-05-01 10:00:00', ?, ?, ?)""",
                (asset_id, f"/m/{asset_id}.safetensors", f"{asset_id}.safetensors", words, edited, None),
            )
            connection.execute(
                """INSERT INTO remote_links (asset_id, site, model_id, version_id, model_name, version_name,
                                             base_model_label, payload)
                   VALUES (?, 'civitai', '58390', '62833', 'Detail Tweaker LoRA', 'v1.0', 'SD 1.5', ?)""",
                (asset_id, json.dumps(payload)),
            )

    with Library.open(path) as library:
        (link,) = library.remote_links(1)
        assert (link.creator, link.trigger_words, link.tags) == (
            "OedoSoldier",
            ("add_detail",),
            ("concept", "detail", "tool"),
        )
        assert link.description_text.startswith("Detail tweaker LoRA")
        assert len(link.examples) == 7
        seeded, typed = library.get(1), library.get(2)
        assert seeded is not None
        assert typed is not None
        assert (seeded.trigger_words, seeded.remote_trigger_words) == ((), ("add_detail",))
        assert typed.trigger_words == ("add_detail",), "the user's own edit is kept"
        assert sorted(library.search_ids(AssetQuery(text="oedosoldier"))) == [1, 2]


def test_stability_matrix_and_lora_manager_sidecars_land_the_same_way(library: Library, lora: Path) -> None:
    folder = lora.parent
    matrix = write_case(kohya_lora("sd1", rank=2), folder).rename(folder / "turbo.safetensors")
    write_cm_info(matrix, ModelName="Turbo Style", VersionName="v2-fast")
    manager = write_case(kohya_lora("sd1", rank=2), folder).rename(folder / "managed.safetensors")
    payload = civitai_helper_payload(model_name="Managed Detail", creator="lm_author")
    write_lora_manager_metadata(manager, civitai=payload, modelDescription="<p>LM <b>copy</b></p>")

    _scan(library, lora)

    matrix_record, manager_record = library.get_by_path(matrix), library.get_by_path(manager)
    assert matrix_record is not None
    assert manager_record is not None
    (matrix_link,) = library.remote_links(matrix_record.id)
    assert (matrix_link.model_name, matrix_link.version_name) == ("Turbo Style", "v2-fast")
    assert (matrix_link.description_text, matrix_link.trigger_words) == ("Fast.", ("turbo style",))
    assert matrix_record.trigger_words == ()
    (manager_link,) = library.remote_links(manager_record.id)
    assert (manager_link.model_name, manager_link.creator) == ("Managed Detail", "lm_author")
    assert manager_link.description_text.startswith("Detail tweaker LoRA"), "the model's own description"
    assert len(manager_link.examples) == 7
    assert manager_record.notes == "LM notes"
    assert library.search_ids(AssetQuery(text="turbo style v2")) == [matrix_record.id]
    assert library.search_ids(AssetQuery(text="lm_author")) == [manager_record.id]


def test_a_changed_sidecar_refreshes_its_link_but_never_a_looked_up_one(library: Library, lora: Path) -> None:
    write_civitai_helper_info(lora, civitai_helper_payload(version_name="v1.0"))
    record = _scan(library, lora)
    info = lora.with_name(lora.stem + ".civitai.info")

    write_civitai_helper_info(lora, civitai_helper_payload(version_name="v1.1"))
    os.utime(info, ns=(info.stat().st_atime_ns, info.stat().st_mtime_ns + 10**9))
    Scanner(library).scan()
    (link,) = library.remote_links(record.id)
    assert link.version_name == "v1.1"

    library.record_remote_match(record.id, match_from_version(parse_version(civitai_helper_payload()), ""))
    write_civitai_helper_info(lora, civitai_helper_payload(version_name="v0.9 from an old sidecar"))
    os.utime(info, ns=(info.stat().st_atime_ns, info.stat().st_mtime_ns + 2 * 10**9))
    Scanner(library).scan()
    (link,) = library.remote_links(record.id)
    assert link.version_name == "v1.0", "what a lookup fetched wins over a sidecar"
