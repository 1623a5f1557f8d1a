"""The library list in-process: every field survives CSV and JSON, and an import only ever adds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.context import AppContext
from app.exchange import (
    ExchangeError,
    ListEntry,
    apply_import,
    export_library,
    merged_changes,
    plan_import,
    read_list,
)
from catalog.records import UserDataChanges
from tests.factory.safetensors_writer import write_safetensors


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    folder = tmp_path / "models"
    write_safetensors(folder / "a; b.safetensors", {"emb_params": ("F32", (2, 768))}, seed=1)
    write_safetensors(folder / "two.safetensors", {"emb_params": ("F32", (3, 768))}, seed=2)
    ctx = AppContext(tmp_path / "data")
    ctx.scan([ctx.add_root(folder).id])
    ctx.hash_pending()
    yield ctx
    ctx.close()


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_every_field_survives_the_round_trip(context: AppContext, tmp_path: Path, suffix: str) -> None:
    library = context.library
    first = library.get_by_path(tmp_path / "models" / "a; b.safetensors")
    assert first is not None
    library.update_user_data(
        first.id,
        UserDataChanges(
            display_name="Ä name, with comma",
            notes='line one\nline "two"',
            rating=3,
            favorite=True,
            nsfw=True,
            tags=("x", "y z"),
            collections=("C",),
            trigger_words=("tw",),
            preferred_weight=0.65,
            base_model_label="Pony",
        ),
    )
    path = tmp_path / f"list{suffix}"
    summary = export_library(library, path)
    assert summary.count == 2

    entries = read_list(path)

    row = next(entry for entry in entries if entry.file_name == "a; b.safetensors")
    record = library.get(first.id)
    assert record is not None
    assert record.hashes is not None
    assert row.sha256 == record.hashes.sha256
    assert row.autov2 == record.hashes.autov2
    assert (row.display_name, row.notes, row.rating) == ("Ä name, with comma", 'line one\nline "two"', 3)
    assert (row.favorite, row.nsfw, row.preferred_weight) == (True, True, 0.65)
    assert (row.tags, row.collections, row.trigger_words) == (("x", "y z"), ("C",), ("tw",))
    assert (row.kind, row.base_model_label, row.size) == ("embedding", "Pony", record.size)


def test_an_import_fills_blanks_merges_labels_and_keeps_local_edits(
    context: AppContext, tmp_path: Path
) -> None:
    library = context.library
    record = library.get_by_path(tmp_path / "models" / "two.safetensors")
    assert record is not None
    record = library.update_user_data(
        record.id, UserDataChanges(display_name="Mine", rating=2, tags=("Local",), favorite=False)
    )
    entry = ListEntry(
        file_name="two.safetensors",
        display_name="Theirs",
        notes="their notes",
        rating=5,
        favorite=True,
        tags=("local", "new"),
        collections=("Set",),
        preferred_weight=0.8,
    )

    changes = merged_changes(record, entry)

    assert changes == UserDataChanges(
        notes="their notes", favorite=True, tags=("Local", "new"), collections=("Set",), preferred_weight=0.8
    )
    updated = library.update_user_data(record.id, changes)
    assert merged_changes(updated, entry) is None  # importing again changes nothing


def test_a_short_hash_matches_when_the_list_has_no_sha256(context: AppContext, tmp_path: Path) -> None:
    record = context.library.get_by_path(tmp_path / "models" / "two.safetensors")
    assert record is not None
    assert record.hashes is not None
    entry = ListEntry(file_name="renamed.safetensors", autov2=record.hashes.autov2, tags=("t",))
    plan = plan_import(context.library, [entry, ListEntry(file_name="gone.safetensors", sha256="0" * 64)])
    assert [(m.asset_ids, m.by) for m in plan.matched] == [((record.id,), "autov2")]
    assert [e.file_name for e in plan.missing] == ["gone.safetensors"]
    assert plan.downloadable == ()
    result = apply_import(context.library, plan)
    assert result.updated == (record.id,)
    assert context.library.get(record.id).tags == ("t",)  # type: ignore[union-attr]


def test_a_damaged_row_is_named_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("file_name,rating\nx.safetensors,9\n", encoding="utf-8")
    with pytest.raises(
        ExchangeError, match=r"list\.csv, line 2: rating must be a whole number from 0 to 5, not '9'"
    ):
        read_list(path)


def test_a_row_without_any_hash_matches_by_name_and_size(context: AppContext, tmp_path: Path) -> None:
    record = context.library.get_by_path(tmp_path / "models" / "two.safetensors")
    assert record is not None
    by_name = ListEntry(file_name="TWO.safetensors", size=record.size)
    other_size = ListEntry(file_name="two.safetensors", size=record.size + 1)
    hashed_elsewhere = ListEntry(file_name="two.safetensors", size=record.size, sha256="0" * 64)

    plan = plan_import(context.library, [by_name, other_size, hashed_elsewhere])

    assert [(m.entry, m.by) for m in plan.matched] == [(by_name, "name and size")]
    assert plan.missing == (other_size, hashed_elsewhere)


def test_csv_cells_a_spreadsheet_would_run_are_protected_and_come_back_unchanged(
    context: AppContext, tmp_path: Path
) -> None:
    library = context.library
    first = library.get_by_path(tmp_path / "models" / "a; b.safetensors")
    assert first is not None
    library.update_user_data(
        first.id,
        UserDataChanges(
            display_name='=HYPERLINK("http://evil.example","x")',
            notes="+1 great\nsecond line",
            tags=("@everyone", "'=already quoted"),
            collections=("-minus",),
            preferred_weight=-0.5,
            base_model_label="@Pony",
        ),
    )
    path = tmp_path / "list.csv"
    export_library(library, path)

    text = path.read_text(encoding="utf-8")
    assert '"\'=HYPERLINK(""http://evil.example"",""x"")"' in text
    assert "'+1 great" in text
    assert ",'-0.5," in text
    assert ",'-minus," in text
    assert "'@everyone; '=already quoted" in text
    for line in text.splitlines():
        for cell in line.split(","):
            assert not cell.startswith(("=", "+", "-", "@", "\t")), cell

    row = next(entry for entry in read_list(path) if entry.file_name == "a; b.safetensors")
    assert row.display_name == '=HYPERLINK("http://evil.example","x")'
    assert row.notes == "+1 great\nsecond line"
    assert row.tags == ("@everyone", "'=already quoted")
    assert row.collections == ("-minus",)
    assert row.preferred_weight == -0.5
    assert row.base_model_label == "@Pony"


def test_copies_and_links_of_one_missing_file_are_missing_once(context: AppContext) -> None:
    sha = "AB" * 32
    rows = [
        ListEntry(file_name="lora.safetensors", sha256=sha, civitai_version_id="7"),
        ListEntry(file_name="lora-hardlink.safetensors", sha256=sha, civitai_version_id="7"),
        ListEntry(file_name="lora copy.safetensors", sha256=sha.lower()),
        ListEntry(file_name="other.safetensors", sha256="CD" * 32),
    ]

    plan = plan_import(context.library, rows)

    assert [entry.file_name for entry in plan.missing] == ["lora.safetensors", "other.safetensors"]
    assert len(plan.downloadable) == 1
    assert plan.summary() == (
        "0 of 4 rows in the list are in this library; 2 files missing, 1 of them can be downloaded from "
        "Civitai or Hugging Face; 2 rows repeat a file listed above (a copy on the other machine)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("garbage\n", r"bad\.json is not a library list: line 1: Expecting value \(it is not valid JSON\)"),
        (
            '{\n  "format": "atelier-library-list",\n  "assets": [,]\n}',
            r"bad\.json is not a library list: line 3: Expecting value \(it is not valid JSON\)",
        ),
        ("[1, 2]", r"bad\.json is not a library list: the JSON holds a list, not an object with"),
    ],
)
def test_a_json_file_that_is_no_list_says_so_in_json_words(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ExchangeError, match=expected) as raised:
        read_list(path)
    assert "file_name column" not in str(raised.value)
