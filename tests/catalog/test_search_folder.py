"""The sidebar's sub-folder filter: files at or below one folder, matched exactly (case, prefixes)."""

from __future__ import annotations

from pathlib import Path

from catalog.library import Library
from catalog.records import AssetQuery
from tests.catalog.conftest import scanned


def test_a_folder_shows_the_files_at_or_below_it(lib: Library, root_id: int, models_dir: Path) -> None:
    names = ("styles/a.safetensors", "styles/pixel/b.safetensors", "styles2/c.safetensors", "Styles/d.pt")
    for name in names:
        (models_dir / name).parent.mkdir(parents=True, exist_ok=True)
    ids = dict(
        zip(names, lib.apply_scan_batch(root_id, [scanned(models_dir / n) for n in names]), strict=True)
    )
    styles = str(models_dir / "styles")
    below = {ids["styles/a.safetensors"], ids["styles/pixel/b.safetensors"]}
    assert set(lib.search_ids(AssetQuery(folder=styles))) == below  # not "styles2", not "Styles"
    assert set(lib.search_ids(AssetQuery(folder=styles + "/"))) == below
    assert lib.count(AssetQuery(folder=styles)) == 2
    assert lib.search_ids(AssetQuery(folder=str(models_dir / "styles" / "pixel"))) == [
        ids["styles/pixel/b.safetensors"]
    ]
    assert lib.search_ids(AssetQuery(folder=str(models_dir / "Styles"))) == [ids["Styles/d.pt"]]
    assert lib.count(AssetQuery(folder=str(models_dir / "none"))) == 0
