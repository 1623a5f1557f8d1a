"""Renders in the catalog: migration 0005 on an old library, storing, reading, linking, deleting, covers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from catalog.db import sqlite_url
from catalog.errors import InvalidValueError, NotFoundError
from catalog.library import Library
from catalog.migrate import current_revision, head_revision, upgrade
from catalog.records import NewRender, RenderAssetLink, RenderKind, RenderRole
from core.taxonomy import AssetKind
from tests.catalog.conftest import catalog_rows, scanned

RECIPE = {"version": 1, "prompt": "a red fox", "seed": 7}


def _image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return path


def _new(
    path: Path, *links: RenderAssetLink, seed: int = 7, kind: RenderKind = RenderKind.IMAGE
) -> NewRender:
    return NewRender(
        path=str(path),
        width=64,
        height=96,
        seed=seed,
        recipe=RECIPE,
        infotext="a red fox\nSteps: 2, Seed: 7",
        elapsed=0.25,
        device="CPU, fp32",
        kind=kind,
        grid_axes={"x": {"kind": "seed", "values": [1, 2]}} if kind is RenderKind.GRID else None,
        assets=links,
    )


@pytest.fixture
def assets(lib: Library, root_id: int, models_dir: Path) -> tuple[int, int]:
    checkpoint, lora = lib.apply_scan_batch(
        root_id,
        [
            scanned(models_dir / "dream.safetensors", kind=AssetKind.CHECKPOINT),
            scanned(models_dir / "fox.safetensors", kind=AssetKind.LORA, inode=2),
        ],
    )
    return checkpoint, lora


def test_an_0004_library_gains_the_render_tables_and_keeps_its_assets(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    upgrade(sqlite_url(path), "0004")
    with sqlite3.connect(path) as connection:
        connection.execute(
            """INSERT INTO assets (id, path, file_name, size, mtime_ns, format, kind, architecture, status,
                                   added_at, updated_at)
               VALUES (3, '/m/dream.safetensors', 'dream.safetensors', 10, 1, 'safetensors', 'checkpoint',
                       'sd1', 'ok', '2024-05-01 10:00:00', '2024-05-01 10:00:00')"""
        )
    with Library.open(path) as library:
        assert current_revision(sqlite_url(path)) == head_revision()
        image = _image(library.renders_dir / "a.png")
        stored = library.add_render(_new(image, RenderAssetLink(3, RenderRole.CHECKPOINT)))
        assert library.renders(asset_id=3) == [stored]
    assert (tmp_path / f"catalog.sqlite3.before-{head_revision()}.bak").exists()


def test_a_render_is_stored_with_its_links_and_read_back(lib: Library, assets: tuple[int, int]) -> None:
    checkpoint, lora = assets
    image = _image(lib.renders_dir / "2026" / "fox.png")
    links = (
        RenderAssetLink(checkpoint, RenderRole.CHECKPOINT),
        RenderAssetLink(lora, RenderRole.LORA, 0.75),
        RenderAssetLink(lora, RenderRole.LORA, 0.5),  # the same use twice is stored once
    )
    big_seed = 2**64 - 1  # A1111 seeds do not fit SQLite's signed integers

    stored = lib.add_render(_new(image, *links, seed=big_seed))

    assert stored.path == str(image)
    assert (stored.width, stored.height, stored.seed, stored.kind) == (64, 96, big_seed, RenderKind.IMAGE)
    assert dict(stored.recipe) == RECIPE
    assert (stored.infotext, stored.elapsed, stored.device) == (
        "a red fox\nSteps: 2, Seed: 7",
        0.25,
        "CPU, fp32",
    )
    assert stored.assets == links[:2]
    assert lib.get_render(stored.id) == stored
    assert catalog_rows(lib, "SELECT path FROM renders") == [("2026/fox.png",)], (
        "images in the renders folder are stored relative to it"
    )


def test_an_image_outside_the_renders_folder_is_stored_absolute(lib: Library, tmp_path: Path) -> None:
    image = _image(tmp_path / "elsewhere" / "out.png")
    stored = lib.add_render(_new(image))
    assert catalog_rows(lib, "SELECT path FROM renders") == [(str(image),)]
    assert stored.path == str(image)


def test_renders_are_newest_first_and_filter_by_asset(lib: Library, assets: tuple[int, int]) -> None:
    checkpoint, lora = assets
    first = lib.add_render(
        _new(_image(lib.renders_dir / "1.png"), RenderAssetLink(checkpoint, RenderRole.CHECKPOINT))
    )
    second = lib.add_render(
        _new(
            _image(lib.renders_dir / "2.png"),
            RenderAssetLink(checkpoint, RenderRole.CHECKPOINT),
            RenderAssetLink(lora, RenderRole.LORA, 1.0),
        )
    )
    grid = lib.add_render(_new(_image(lib.renders_dir / "3.png"), kind=RenderKind.GRID))

    assert [r.id for r in lib.renders()] == [grid.id, second.id, first.id]
    assert [r.id for r in lib.renders(asset_id=checkpoint)] == [second.id, first.id]
    assert [r.id for r in lib.renders(asset_id=lora)] == [second.id]
    assert [r.id for r in lib.renders(limit=1, offset=1)] == [second.id]
    assert grid.grid_axes == {"x": {"kind": "seed", "values": [1, 2]}}
    assert lib.get_render(9999) is None


def test_links_come_back_in_the_recipes_order_of_parts(lib: Library, root_id: int, models_dir: Path) -> None:
    """Checkpoint, VAE, LoRAs, embeddings: the order the gallery's menu lists them, on either catalog,
    whatever order the links were given in."""
    lora, vae, embedding, checkpoint = lib.apply_scan_batch(
        root_id,
        [
            scanned(models_dir / f"{name}.safetensors", kind=kind, inode=number)
            for number, (name, kind) in enumerate(
                [
                    ("ink", AssetKind.LORA),
                    ("vae", AssetKind.VAE),
                    ("emb", AssetKind.EMBEDDING),
                    ("base", AssetKind.CHECKPOINT),
                ]
            )
        ],
    )
    given = (
        RenderAssetLink(embedding, RenderRole.EMBEDDING),
        RenderAssetLink(lora, RenderRole.LORA, 0.6),
        RenderAssetLink(vae, RenderRole.VAE),
        RenderAssetLink(checkpoint, RenderRole.CHECKPOINT),
    )
    stored = lib.add_render(_new(_image(lib.renders_dir / "parts.png"), *given))
    expected = (given[3], given[2], given[1], given[0])
    assert stored.assets == expected
    assert lib.renders(asset_id=lora)[0].assets == expected


def test_forgetting_an_asset_drops_its_links_not_the_render(lib: Library, assets: tuple[int, int]) -> None:
    checkpoint, lora = assets
    stored = lib.add_render(
        _new(
            _image(lib.renders_dir / "1.png"),
            RenderAssetLink(checkpoint, RenderRole.CHECKPOINT),
            RenderAssetLink(lora, RenderRole.LORA, 1.0),
        )
    )
    lib.remove_assets([lora])
    found = lib.get_render(stored.id)
    assert found is not None
    assert found.assets == (RenderAssetLink(checkpoint, RenderRole.CHECKPOINT),)


def test_a_link_to_an_unknown_asset_stores_nothing(lib: Library, assets: tuple[int, int]) -> None:
    with pytest.raises(NotFoundError, match="asset 424242"):
        lib.add_render(_new(_image(lib.renders_dir / "1.png"), RenderAssetLink(424242, RenderRole.VAE)))
    assert lib.renders() == []


def test_bad_values_are_refused(lib: Library) -> None:
    image = _image(lib.renders_dir / "1.png")
    with pytest.raises(InvalidValueError, match="positive size"):
        lib.add_render(NewRender(path=str(image), width=0, height=64, seed=1, recipe={}))
    with pytest.raises(InvalidValueError, match="weight"):
        lib.add_render(_new(image, RenderAssetLink(1, RenderRole.LORA, float("nan"))))


def test_deleting_a_render_removes_its_row_links_and_file(lib: Library, assets: tuple[int, int]) -> None:
    checkpoint, _ = assets
    image = _image(lib.renders_dir / "1.png")
    stored = lib.add_render(_new(image, RenderAssetLink(checkpoint, RenderRole.CHECKPOINT)))

    assert lib.delete_render(stored.id) is True

    assert not image.exists()
    assert lib.renders(asset_id=checkpoint) == []
    assert catalog_rows(lib, "SELECT count(*) FROM render_assets") == [(0,)]
    with pytest.raises(NotFoundError):
        lib.delete_render(stored.id)


def test_deleting_keeps_files_outside_the_folder_and_covers(
    lib: Library, assets: tuple[int, int], tmp_path: Path
) -> None:
    checkpoint, _ = assets
    outside = _image(tmp_path / "mine" / "keep.png")
    cover = _image(lib.renders_dir / "cover.png")
    first = lib.add_render(_new(outside))
    second = lib.add_render(_new(cover))
    lib.use_render_as_preview(second.id, checkpoint)

    assert lib.delete_render(first.id) is False
    assert lib.delete_render(second.id) is False
    assert outside.exists()
    assert cover.exists(), "an image the user made a cover must not vanish with the gallery entry"
    assert lib.renders() == []


def test_a_render_becomes_the_cover_through_the_preview_machinery(
    lib: Library, assets: tuple[int, int]
) -> None:
    checkpoint, _ = assets
    lib.add_preview(checkpoint, "/previews/old.png", "sidecar")
    stored = lib.add_render(_new(_image(lib.renders_dir / "1.png")))

    preview = lib.use_render_as_preview(stored.id, checkpoint)

    assert (preview.path, preview.source, preview.is_cover) == (stored.path, "render", True)
    assert (preview.width, preview.height) == (64, 96)
    previews = lib.previews(checkpoint)
    assert [p.path for p in previews] == [stored.path, "/previews/old.png"]
    record = lib.get(checkpoint)
    assert record is not None
    assert record.cover_path == stored.path
    with pytest.raises(NotFoundError):
        lib.use_render_as_preview(9999, checkpoint)
    with pytest.raises(NotFoundError):
        lib.use_render_as_preview(stored.id, 9999)
