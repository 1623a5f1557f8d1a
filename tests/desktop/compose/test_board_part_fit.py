"""The board marks what the render would refuse, by the same rules as ``render --plan``: a VAE of another
latent space (a Qwen-Image/Wan VAE next to Flux.1, Flux.1's AE next to SDXL) and a LoRA the library calls
``other`` that the renderer reads as Flux.1 (next to Z-Image); the board's plan refuses them in the
render's words. Library rows dropped on the real board widgets; tiny real files where identification
reads the layout (the Qwen-Image VAE, the tiny Flux.1 LoRA), header-true sparse files elsewhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from catalog.asset_query import AssetQuery
from catalog.library import Library
from catalog.scanner import Scanner
from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.taxonomy import LibraryLayout
from desktop.compose.compose_tab import ComposeTab
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors

CPU = DeviceChoice("cpu", "float32", "tests")


@pytest.fixture(scope="module")
def part_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.factory.dit_lora_files import flux_layers, kohya, with_lora
    from tests.factory.tiny_families import _save, qwen_image_vae_wan_names, tiny_qwen_image_vae

    folder = tmp_path_factory.mktemp("part-fit-board")
    write_safetensors(folder / "flux1-full.safetensors", keyspace("flux-flux", dtype="BF16"))
    write_safetensors(folder / "sdxl_base.safetensors", keyspace("sdxl-sgm", dtype="F16"))
    write_safetensors(folder / "z_image_turbo.safetensors", keyspace("z_image-comfyui", dtype="BF16"))
    vae = {k.removeprefix("vae."): v for k, v in keyspace("flux-flux", components=("vae",)).items()}
    write_safetensors(folder / "ae.safetensors", vae)
    state = qwen_image_vae_wan_names(tiny_qwen_image_vae(0).state_dict())
    _save(folder / "qwen_image_vae.safetensors", state)
    _save(folder / "flux_tiny_lora.safetensors", kohya(with_lora(flux_layers())))
    return folder


@pytest.fixture
def library(part_files: Path, tmp_path: Path) -> Iterator[Library]:
    root = tmp_path / "models"
    root.mkdir()
    for path in part_files.iterdir():
        os.link(path, root / path.name)
    library = Library.open(tmp_path / "catalog.db")
    library.add_root(root, LibraryLayout.FLAT)
    Scanner(library).scan()
    yield library
    library.close()


@pytest.fixture
def tab(library: Library, tmp_path: Path, qtbot: QtBot) -> Iterator[ComposeTab]:
    service = RenderService(library, lambda: RenderEngine(tmp_path / "cache", CPU), tmp_path / "renders")
    tab = ComposeTab(library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(tab)
    tab.board_panel.show()
    yield tab
    tab.shutdown()


def _add(tab: ComposeTab, library: Library, *stems: str) -> list[str]:
    ids = {Path(r.file_name).stem: r.id for r in library.search(AssetQuery())}
    return tab.board.add_asset_ids([ids[stem] for stem in stems])


def test_a_vae_of_another_latent_space_is_marked_and_refused(tab: ComposeTab, library: Library) -> None:
    board = tab.board
    assert library.search(AssetQuery(text="qwen_image_vae"))[0].architecture.value == "unknown"
    _add(tab, library, "flux1-full", "qwen_image_vae")
    assert "Wan 2.1 VAE / Qwen-Image VAE — does not fit this FLUX.1 checkpoint" in board.mark_misfits()
    assert not board.vae.fit_badge.isHidden()
    tab.refresh_plan()
    assert tab.plan_view.lines[-1] == (
        "Refused: VAE 'qwen_image_vae' is a Wan 2.1 VAE / Qwen-Image VAE (16 latent channels); a FLUX.1 "
        "checkpoint decodes with a FLUX.1 AE (16 latent channels): choose a FLUX.1 AE"
    )

    _add(tab, library, "ae")  # Flux.1's own AE replaces it: no mark
    assert board.mark_misfits() == []
    assert board.vae.fit_badge.isHidden()

    _add(tab, library, "sdxl_base")  # the same AE next to SDXL: 16 latent channels for a 4-channel model
    assert "SD3 VAE / FLUX.1 AE — does not fit this SDXL checkpoint" in board.mark_misfits()
    assert not board.vae.fit_badge.isHidden()


def test_a_lora_the_library_calls_other_is_judged_as_the_renderer_judges_it(
    tab: ComposeTab, library: Library
) -> None:
    board = tab.board
    assert library.search(AssetQuery(text="flux_tiny_lora"))[0].architecture.value == "other"
    said = _add(tab, library, "z_image_turbo", "flux_tiny_lora")
    assert (
        said[-1]
        == "Added LoRA flux_tiny_lora to the stack (FLUX.1 LoRA — does not fit this Z-Image checkpoint)"
    )
    row = board.loras.rows[0]
    assert not row.fit_badge.isHidden()
    tab.refresh_plan()
    assert tab.plan_view.lines[-1] == (
        "Refused: LoRA 'flux_tiny_lora' does not fit this checkpoint: it was made for Flux.1, and this "
        "checkpoint is Z-Image"
    )

    _add(tab, library, "flux1-full")  # on Flux.1 it fits: the mark goes
    assert board.mark_misfits() == []
    assert row.fit_badge.isHidden()
