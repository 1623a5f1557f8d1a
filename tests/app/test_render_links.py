"""Which library files a stored render links to, by role: the catalog answers "renders made with this
file" for separate text encoders (a Flux.1 render's clip_l and t5xxl) as it does for LoRAs and VAEs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.render_service import asset_links
from catalog.library import Library
from catalog.records import NewRender, RenderRole
from core.render.recipe import AssetRef, Recipe
from core.render.recipe_codec import recipe_to_dict
from core.taxonomy import Architecture, AssetKind, LibraryLayout
from tests.app.test_render_service import catalog_file


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "data" / "catalog.sqlite3") as opened:
        yield opened


def test_a_stored_render_lists_its_text_encoders(library: Library, tmp_path: Path) -> None:
    root_id = library.add_root(tmp_path / "models", LibraryLayout.FLAT).id
    ids = {
        name: catalog_file(library, root_id, tmp_path / "models" / f"{name}.safetensors", kind, arch, inode=i)
        for i, (name, kind, arch) in enumerate(
            [
                ("flux1-dev", AssetKind.CHECKPOINT, Architecture.FLUX1),
                ("clip_l", AssetKind.TEXT_ENCODER, Architecture.OTHER),
                ("t5xxl_fp16", AssetKind.TEXT_ENCODER, Architecture.OTHER),
                ("ae", AssetKind.VAE, Architecture.FLUX1),
            ],
            start=1,
        )
    }
    recipe = Recipe(
        checkpoint=AssetRef("flux1-dev", asset_id=ids["flux1-dev"]),
        vae=AssetRef("ae", asset_id=ids["ae"]),
        text_encoders=(
            AssetRef("clip_l", asset_id=ids["clip_l"]),
            AssetRef("t5xxl_fp16", asset_id=ids["t5xxl_fp16"]),
        ),
        sampler="Euler",
    )

    stored = library.add_render(
        NewRender(
            path=str(library.renders_dir / "r.png"),
            width=64,
            height=64,
            seed=1,
            recipe=recipe_to_dict(recipe),
            assets=tuple(asset_links(recipe)),
        )
    )

    roles = {link.asset_id: link.role for link in stored.assets}
    assert roles == {
        ids["flux1-dev"]: RenderRole.CHECKPOINT,
        ids["ae"]: RenderRole.VAE,
        ids["clip_l"]: RenderRole.TEXT_ENCODER,
        ids["t5xxl_fp16"]: RenderRole.TEXT_ENCODER,
    }
    # Read back from the catalog: the render is one of the text encoder's renders.
    assert [render.id for render in library.renders(asset_id=ids["t5xxl_fp16"])] == [stored.id]
    (reread,) = library.renders(asset_id=ids["clip_l"])
    assert RenderRole.TEXT_ENCODER in {link.role for link in reread.assets}
