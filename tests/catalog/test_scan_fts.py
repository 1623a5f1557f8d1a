"""The search index after every path that inserts assets.

A scan batch indexes its new rows with one statement while the index's insert trigger is paused for
that batch only (migration 0009); every other path keeps the trigger. Each test inserts rows one way and
checks that search finds them and that the index holds exactly the documents the view builds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.journal import FileState, NewStep
from catalog.library import Library
from catalog.records import AssetQuery, UserDataChanges
from catalog.scanner import Scanner
from core.formats.sidecar_info import SidecarInfo
from core.sources.civitai_facts import CivitaiFacts
from tests.catalog.conftest import catalog_rows, scanned
from tests.catalog.test_scanner import write_lora

DOCUMENT_COLUMNS = "rowid, display_name, file_name, tags, trigger_words, notes, description, remote"


def found(lib: Library, text: str) -> list[int]:
    return lib.search_ids(AssetQuery(text=text))


def assert_index_is_exact(lib: Library) -> None:
    """The index holds one document per asset, each as the view builds it now, and is not paused."""
    indexed = catalog_rows(lib, f"SELECT {DOCUMENT_COLUMNS} FROM asset_fts ORDER BY rowid")
    documents = catalog_rows(lib, f"SELECT {DOCUMENT_COLUMNS} FROM asset_fts_document ORDER BY rowid")
    assert indexed == documents
    assert catalog_rows(lib, "SELECT count(*) FROM asset_fts_paused") == [(0,)]


def test_a_scan_batch_indexes_names_tags_words_and_sidecar_links(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    facts = CivitaiFacts(model_id=7, version_id=8, model_name="Watercolour Dreams", creator="painterly")
    ids = lib.apply_scan_batch(
        root_id,
        [
            scanned(models_dir / "pixel_art_xl.safetensors", inode=1, trigger_words=("pixelsprite",)),
            scanned(
                models_dir / "tagged.safetensors",
                inode=2,
                sidecars=SidecarInfo(tags=("Retro",), description="eight-bit sprites", civitai=facts),
            ),
            *(scanned(models_dir / f"filler_{n}.safetensors", inode=10 + n) for n in range(5)),
        ],
    )

    assert found(lib, "pixel art") == [ids[0]]
    assert found(lib, "pixelsprite") == [ids[0]]
    assert found(lib, "retro") == [ids[1]]
    assert found(lib, "eight-bit") == [ids[1]]
    assert found(lib, "watercolour") == [ids[1]]
    assert found(lib, "painterly") == [ids[1]]
    assert sorted(found(lib, "filler")) == sorted(ids[2:])
    assert_index_is_exact(lib)


def test_a_second_batch_and_a_changed_file_keep_the_index_exact(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    (first,) = lib.apply_scan_batch(root_id, [scanned(models_dir / "alpha.safetensors", inode=1)])
    changed = scanned(models_dir / "alpha.safetensors", inode=1, size=2, trigger_words=("newword",))
    beta = scanned(models_dir / "beta.safetensors", inode=2)
    second, third = lib.apply_scan_batch(root_id, [changed, beta])

    assert second == first
    assert found(lib, "newword") == [first]
    assert found(lib, "beta") == [third]
    assert_index_is_exact(lib)


def test_a_real_scan_of_files_on_disk_is_searchable(lib: Library, root_id: int, models_dir: Path) -> None:
    for name in ("moonlit_castle", "desert_rose", "neon_city"):
        write_lora(models_dir / f"{name}.safetensors")
    root = lib.roots()[0]

    summary = Scanner(lib, workers=1).scan([root.id])

    assert summary.new == 3
    assert [lib.get(i).file_name for i in found(lib, "moonlit")] == ["moonlit_castle.safetensors"]  # type: ignore[union-attr]
    assert len(found(lib, "safetensors")) == 3
    assert_index_is_exact(lib)


def test_a_batch_the_catalog_refuses_leaves_the_trigger_working(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    too_big = scanned(models_dir / "huge.safetensors", size=2**70)  # no database takes the integer
    with pytest.raises(Exception):  # noqa: B017 - the driver's overflow, whatever its type
        lib.apply_scan_batch(root_id, [too_big])

    catalog_rows(  # another path inserting a row: the trigger indexes it
        lib,
        """INSERT INTO assets (root_id, path, file_name, size, mtime_ns, format, kind, architecture,
                               status, added_at, updated_at)
           VALUES (:root, :path, 'plain_sql_insert.safetensors', 1, 1, 'safetensors', 'lora', 'sdxl', 'ok',
                   '2026-12-06 00:00:00', '2026-12-06 00:00:00')""",
        {"root": root_id, "path": str(models_dir / "plain_sql_insert.safetensors")},
    )
    assert len(found(lib, "plain_sql_insert")) == 1
    assert found(lib, "huge") == []
    assert_index_is_exact(lib)


def test_an_undone_delete_restores_a_searchable_row(lib: Library, root_id: int, models_dir: Path) -> None:
    path = models_dir / "restored_lora.safetensors"
    (asset_id,) = lib.apply_scan_batch(root_id, [scanned(path)])
    lib.update_user_data(asset_id, UserDataChanges(tags=("keepsake",)))
    _, (step,) = lib.begin_operation("delete", "", [NewStep("trash", str(path), "", asset_id)])
    lib.record_step_trashed(step.id, asset_id, {"bytes": 1000})
    assert found(lib, "keepsake") == []
    snapshot = lib.operation_steps(step.operation_id)[0].detail["snapshot"]

    _, (restore,) = lib.begin_operation("undo", "", [NewStep("restore", str(path), str(path), asset_id)])
    lib.record_step_restored(restore.id, snapshot, FileState(str(path), 1000, 1, 9, 9))

    assert found(lib, "restored_lora") == [asset_id]
    assert found(lib, "keepsake") == [asset_id]
    assert_index_is_exact(lib)
