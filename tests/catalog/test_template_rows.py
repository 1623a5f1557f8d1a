"""What organizing by template reads about each file (catalog.template_rows), on SQLite and PostgreSQL:
the first found link (Civitai's before Hugging Face's), its first tag, the user's first tag and collection,
and the scope by ids, kinds and library folders, missing files left out."""

from __future__ import annotations

from pathlib import Path

from catalog.library import Library
from catalog.records import RemoteMatch, UserDataChanges
from catalog.template_rows import TemplateScope
from core.taxonomy import AssetKind, LibraryLayout
from tests.catalog.conftest import catalog_rows, scanned


def _files(lib: Library, root_id: int, models_dir: Path) -> tuple[int, int, int, int]:
    return tuple(  # type: ignore[return-value]
        lib.apply_scan_batch(
            root_id,
            [
                scanned(models_dir / "b_style.safetensors", inode=1),
                scanned(models_dir / "a_base.safetensors", kind=AssetKind.CHECKPOINT, inode=2),
                scanned(models_dir / "c_gone.safetensors", inode=3),
                scanned(models_dir / "d_plain.safetensors", inode=4),
            ],
        )
    )


def test_each_file_carries_its_first_link_tag_and_collection(
    lib: Library, root_id: int, models_dir: Path
) -> None:
    style, base, gone, plain = _files(lib, root_id, models_dir)
    hub = RemoteMatch("huggingface", "someone/style", None, model_name="Hub Style", tags=("hub-tag",))
    lib.record_remote_match(style, hub)  # found first, yet Civitai's link is the one a template names
    lib.record_remote_match(
        style,
        RemoteMatch(
            "civitai",
            "11",
            "22",
            model_name="Ink Style",
            version_name="v2",
            base_model_label="Pony",
            creator="inkmaster",
            tags=("style", "ink"),
        ),
    )
    lib.record_remote_match(base, RemoteMatch("huggingface", "org/base", None, model_name="Base", tags=()))
    catalog_rows(lib, "UPDATE remote_links SET tags = '[7, \"seven\"]' WHERE asset_id = :id", {"id": base})
    lib.update_user_data(style, UserDataChanges(tags=("Zeta", "alpha"), collections=("Faves", "Archive")))
    lib.mark_missing([gone])

    rows = {row.id: row for row in lib.template_rows(TemplateScope())}

    assert [row.path for row in lib.template_rows(TemplateScope())] == [
        str(models_dir / name)
        for name in ("a_base.safetensors", "b_style.safetensors", "d_plain.safetensors")
    ]
    linked = rows[style]
    assert (linked.site, linked.model_id, linked.version_id) == ("civitai", "11", "22")
    assert (linked.model_name, linked.version_name, linked.remote_base_label, linked.creator) == (
        "Ink Style",
        "v2",
        "Pony",
        "inkmaster",
    )
    assert (linked.remote_tag, linked.tag, linked.collection) == ("style", "Zeta", "Faves")
    assert (rows[base].site, rows[base].model_name, rows[base].remote_tag) == ("huggingface", "Base", None)
    assert (rows[plain].site, rows[plain].tag, rows[plain].collection) == (None, None, None)
    assert rows[base].kind is AssetKind.CHECKPOINT


def test_the_scope_keeps_the_chosen_files_kinds_and_folders(
    lib: Library, root_id: int, models_dir: Path, tmp_path: Path
) -> None:
    style, base, gone, plain = _files(lib, root_id, models_dir)
    lib.mark_missing([gone])
    other = tmp_path / "other"
    other.mkdir()
    other_root = lib.add_root(other, LibraryLayout.FLAT).id
    (elsewhere,) = lib.apply_scan_batch(other_root, [scanned(other / "e.safetensors", inode=9)])

    def ids(scope: TemplateScope) -> set[int]:
        return {row.id for row in lib.template_rows(scope)}

    assert ids(TemplateScope()) == {style, base, plain, elsewhere}
    assert ids(TemplateScope(asset_ids=(base, plain))) == {base, plain}
    assert ids(TemplateScope(asset_ids=())) == set()
    assert ids(TemplateScope(kinds=(AssetKind.CHECKPOINT,))) == {base}
    assert ids(TemplateScope(root_ids=(other_root,))) == {elsewhere}
    assert ids(TemplateScope(asset_ids=(style, elsewhere), kinds=(AssetKind.LORA,), root_ids=(root_id,))) == {
        style
    }
