"""The board for Flux.1, SD3.5, Chroma, Qwen-Image and Z-Image: each family's text-encoder slots and VAE
slot, filled by dropping library rows or by choosing from the library; marks on encoders, VAEs and LoRAs
of another family; Distilled CFG Scale and Shift; the plan with its memory line; a Forge Flux infotext
pasted back; grid axes of these families.

The files are the families' real layouts (every published tensor with its shape, zero-filled and
sparse: nothing but the header is ever read), scanned into a real library by the real scanner, so the
board sees what identification records for real downloads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from catalog.asset_query import AssetQuery
from catalog.library import Library
from catalog.scanner import Scanner
from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.render.recipe import Recipe
from core.render.samplers import supported_samplers, supported_schedules
from core.taxonomy import LibraryLayout
from desktop.compose.board import ComposeBoard
from desktop.compose.compose_tab import ComposeTab
from tests.factory.keyspaces import keyspace
from tests.factory.models import kohya_lora, write_case
from tests.factory.safetensors_writer import TensorSpec, write_safetensors

INFOTEXTS = Path(__file__).resolve().parents[2] / "data" / "infotexts"
CPU = DeviceChoice("cpu", "float32", "tests")


def _part(folder: Path, space: str, component: str, prefix: str, name: str, *, dtype: str = "F16") -> None:
    specs = keyspace(space, components=(component,), dtype=dtype)
    write_safetensors(folder / name, {k.removeprefix(prefix): v for k, v in specs.items()})


def _language_model(width: int, vocab: int, qwen3: bool) -> dict[str, TensorSpec]:
    """The header of a Qwen LLM stored as a text encoder (Qwen3 normalises q, Qwen2 biases q_proj)."""
    layer = "model.layers.0.self_attn."
    specs: dict[str, TensorSpec] = {
        "model.embed_tokens.weight": ("BF16", (vocab, width)),
        layer + "q_proj.weight": ("BF16", (width, width)),
        "model.norm.weight": ("BF16", (width,)),
    }
    specs[layer + ("q_norm.weight" if qwen3 else "q_proj.bias")] = ("BF16", (128,) if qwen3 else (width,))
    return specs


@pytest.fixture(scope="module")
def family_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of real-layout files, written once (sparse) and hard-linked into each test's library."""
    folder = tmp_path_factory.mktemp("families")
    _part(folder, "flux-flux", "diffuser", "", "flux1-dev-fp8.safetensors", dtype="BF16")
    _part(folder, "flux-flux", "clip_l", "text_encoders.clip_l.transformer.", "clip_l.safetensors")
    _part(folder, "flux-flux", "t5xxl", "text_encoders.t5xxl.transformer.", "t5xxl_fp16.safetensors")
    _part(folder, "flux-flux", "vae", "vae.", "ae.safetensors")
    _part(folder, "sd3-comfyui", "clip_g", "text_encoders.clip_g.transformer.", "clip_g.safetensors")
    write_safetensors(folder / "flux1-full.safetensors", keyspace("flux-flux", dtype="BF16"))
    write_safetensors(folder / "sd3.5_medium.safetensors", keyspace("sd3-comfyui", dtype="F16"))
    for space, name in (("qwen_image-comfyui", "qwen_image"), ("z_image-comfyui", "z_image_turbo")):
        write_safetensors(folder / f"{name}.safetensors", keyspace(space, dtype="BF16"))
    write_safetensors(folder / "qwen_2.5_vl_7b.safetensors", _language_model(3584, 152064, qwen3=False))
    write_safetensors(folder / "qwen_3_4b.safetensors", _language_model(2560, 151936, qwen3=True))
    write_case(kohya_lora("sdxl", rank=2), folder).rename(folder / "sdxl_style.safetensors")
    return folder


@pytest.fixture
def library(family_files: Path, tmp_path: Path) -> Iterator[Library]:
    root = tmp_path / "models"
    root.mkdir()
    for path in family_files.iterdir():
        os.link(path, root / path.name)
    library = Library.open(tmp_path / "catalog.db")
    library.add_root(root, LibraryLayout.FLAT)
    Scanner(library).scan()
    yield library
    library.close()


IdsOf = Callable[[], dict[str, int]]


def _ids(library: Library) -> dict[str, int]:
    return {Path(r.file_name).stem: r.id for r in library.search(AssetQuery())}


@pytest.fixture
def board(library: Library, qtbot: QtBot) -> ComposeBoard:
    board = ComposeBoard(library)
    qtbot.addWidget(board)
    board.show()
    return board


def _add(board: ComposeBoard, library: Library, *stems: str) -> list[str]:
    ids = _ids(library)
    return board.add_asset_ids([ids[stem] for stem in stems])


def _slots(board: ComposeBoard) -> list[tuple[str, str]]:
    return [(row.caption.text(), row.name_label.text()) for row in board.text_encoders.rows]


def _visible(board: ComposeBoard, field: QWidget) -> bool:
    return not board.parameters.form.labelForField(field).isHidden() and not field.isHidden()


def test_a_flux_diffusion_model_shows_the_encoder_and_vae_slots_it_needs(
    board: ComposeBoard, library: Library
) -> None:
    _add(board, library, "flux1-dev-fp8")
    assert board.text_encoders.isVisible()
    assert _slots(board) == [
        ("CLIP-L (clip_l)", "needed: drop a clip_l file here or choose one"),
        ("T5-XXL (t5xxl)", "needed: drop a t5xxl file here or choose one"),
    ]
    assert board.vae.name_label.text().startswith("needed: this checkpoint has no VAE")
    assert _visible(board, board.parameters.guidance)
    assert _visible(board, board.parameters.shift)
    assert board.parameters.guidance.text() == "default (3.5)"
    assert board.parameters.shift.text() == "model's own"
    sampler = board.parameters.sampler
    # Only what renders a flow model is offered; the board's Euler a (SD's default) becomes Euler.
    assert [sampler.itemText(i) for i in range(sampler.count())] == supported_samplers(flow=True)
    assert sampler.currentText() == "Euler"
    assert board.parameters.cfg.value() == 1.0  # Forge's Flux CFG: only the distilled guidance steers

    messages = _add(board, library, "t5xxl_fp16", "clip_l", "ae")
    assert messages[:2] == ["Text encoder (t5xxl): t5xxl_fp16", "Text encoder (clip_l): clip_l"]
    assert _slots(board) == [("CLIP-L (clip_l)", "clip_l"), ("T5-XXL (t5xxl)", "t5xxl_fp16")]
    recipe = board.recipe()
    assert [ref.name for ref in recipe.text_encoders] == ["t5xxl_fp16", "clip_l"]
    assert recipe.vae is not None
    assert recipe.vae.name == "ae"
    assert (recipe.guidance, recipe.shift) == (None, None)
    assert board.mark_misfits() == []

    # Removing the checkpoint keeps the encoders (shown apart) for the next one; an SD checkpoint
    # hides the flow fields again and offers every A1111 sampler.
    board.checkpoint.clear()
    assert [caption for caption, _ in _slots(board)] == ["Text encoder", "Text encoder"]
    assert not _visible(board, board.parameters.guidance)
    assert not _visible(board, board.parameters.shift)
    assert board.parameters.cfg.value() == 7.0


def test_full_checkpoints_take_their_parts_from_themselves(board: ComposeBoard, library: Library) -> None:
    _add(board, library, "flux1-full")
    assert [text for _, text in _slots(board)] == ["from the checkpoint", "from the checkpoint"]
    assert board.vae.name_label.text().startswith("from the checkpoint")

    _add(board, library, "sd3.5_medium")  # replaces the checkpoint: SD3.5's three encoders
    assert _slots(board) == [
        ("CLIP-L (clip_l)", "from the checkpoint"),
        ("CLIP-G (OpenCLIP bigG) (clip_g)", "from the checkpoint"),
        ("T5-XXL (t5xxl)", "from the checkpoint"),
    ]
    assert not _visible(board, board.parameters.guidance)  # SD3.5 uses real CFG, no distilled guidance
    assert _visible(board, board.parameters.shift)
    # An OpenCLIP bigG file (what a header calls ComfyUI's clip_g) replaces the bundled CLIP-G only.
    assert _add(board, library, "clip_g") == ["Text encoder (clip_g): clip_g"]
    assert [text for _, text in _slots(board)] == ["from the checkpoint", "clip_g", "from the checkpoint"]


def test_encoders_vaes_and_loras_of_another_family_are_marked(board: ComposeBoard, library: Library) -> None:
    _add(board, library, "qwen_image")
    assert _slots(board) == [
        ("Qwen2.5-VL 7B (qwen25_vl_7b)", "needed: drop a qwen25_vl_7b file here or choose one")
    ]
    assert not _visible(board, board.parameters.guidance)
    assert _visible(board, board.parameters.shift)

    messages = _add(board, library, "t5xxl_fp16", "qwen_2.5_vl_7b", "sdxl_style")
    assert messages == [
        "Text encoder: t5xxl_fp16 (T5-XXL text encoder — does not fit this Qwen-Image checkpoint)",
        "Text encoder (qwen25_vl_7b): qwen_2.5_vl_7b",
        "Added LoRA sdxl_style to the stack (SDXL LoRA — does not fit this Qwen-Image checkpoint)",
    ]
    assert _slots(board) == [
        ("Qwen2.5-VL 7B (qwen25_vl_7b)", "qwen_2.5_vl_7b"),
        ("Text encoder", "t5xxl_fp16"),
    ]
    assert board.mark_misfits() == [
        "T5-XXL text encoder — does not fit this Qwen-Image checkpoint",
        "SDXL LoRA — does not fit this Qwen-Image checkpoint",
    ]
    stray = board.text_encoders.rows[1]
    assert not stray.fit_badge.isHidden()

    # Z-Image reads Qwen3 4B: the Qwen2.5-VL file no longer fits and waits apart.
    _add(board, library, "z_image_turbo", "qwen_3_4b")
    assert _slots(board)[0] == ("Qwen3 4B (qwen3_4b)", "qwen_3_4b")
    assert "Qwen2.5-VL 7B text encoder — does not fit this Z-Image checkpoint" in board.mark_misfits()
    # The Flux AE fits Z-Image (the same autoencoder), and its file names no family, so it is never marked.
    _add(board, library, "ae")
    assert board.vae.fit_badge.isHidden()


def test_the_chooser_offers_fitting_files_first(board: ComposeBoard, library: Library) -> None:
    _add(board, library, "flux1-dev-fp8")
    row = board.text_encoders.row_for("t5xxl")
    assert row is not None
    row.choose_button.click()
    menu = board.chooser.menu
    assert menu is not None
    assert menu.isVisible()
    entries = [action.text() for action in menu.actions()]
    assert entries[0] == "t5xxl_fp16.safetensors (T5-XXL)"
    assert entries[1] == "Other families"  # the section
    # Encoders named as users know them, never by internal ids ("holds clip_l, not t5xxl").
    assert any(text.startswith("clip_l.safetensors — holds CLIP-L, not T5-XXL") for text in entries)
    assert any(
        text.startswith("qwen_2.5_vl_7b.safetensors — Qwen2.5-VL 7B text encoder — does not fit this FLUX.1")
        for text in entries
    )
    menu.actions()[0].trigger()
    assert _slots(board)[1] == ("T5-XXL (t5xxl)", "t5xxl_fp16")

    board.vae.choose_button.click()
    vae_menu = board.chooser.menu
    assert vae_menu is not None
    assert vae_menu is not menu
    assert next(action.text() for action in vae_menu.actions()).startswith("ae.safetensors")
    vae_menu.actions()[0].trigger()
    assert board.vae.ref is not None
    assert board.vae.ref.name == "ae"
    vae_menu.close()


def test_distilled_cfg_and_shift_go_into_the_recipe(board: ComposeBoard, library: Library) -> None:
    _add(board, library, "flux1-dev-fp8")
    form = board.parameters
    form.guidance.setValue(2.5)
    form.shift.setValue(3.0)
    form.sampler.setCurrentText("DPM++ 2M")
    schedules = [form.schedule.itemText(i) for i in range(form.schedule.count())]
    assert schedules == supported_schedules("DPM++ 2M", flow=True)
    recipe = board.recipe()
    assert (recipe.guidance, recipe.shift, recipe.sampler) == (2.5, 3.0, "DPM++ 2M")
    board.load_recipe(recipe.replace(guidance=None, shift=1.5))
    assert form.guidance.text() == "default (3.5)"
    assert board.recipe().shift == 1.5
    # Another family keeps no value it has no field for.
    _add(board, library, "sd3.5_medium")
    assert board.recipe().guidance is None
    assert board.recipe().shift == 1.5


@pytest.fixture
def tab(library: Library, tmp_path: Path, qtbot: QtBot) -> Iterator[ComposeTab]:
    service = RenderService(library, lambda: RenderEngine(tmp_path / "cache", CPU), tmp_path / "renders")
    tab = ComposeTab(library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(tab)
    tab.board_panel.show()
    yield tab
    tab.shutdown()


def test_the_plan_names_the_encoders_and_where_the_model_would_run(
    tab: ComposeTab, library: Library, qtbot: QtBot
) -> None:
    _add(tab.board, library, "flux1-dev-fp8")
    tab.refresh_plan()
    assert "Text encoders (clip_l, t5xxl): needed, none chosen" in tab.plan_view.lines
    # The board's way: its slots are in view, so no command-line option is named.
    assert tab.plan_view.lines[-1] == (
        "Refused: flux1-dev-fp8 is a Flux.1 diffusion model without its text encoders: "
        "choose its text encoders (clip_l, t5xxl)"
    )

    _add(tab.board, library, "clip_l", "t5xxl_fp16", "ae")
    tab.refresh_plan()
    assert "Text encoders: clip_l, t5xxl_fp16" in tab.plan_view.lines
    qtbot.waitUntil(
        lambda: any(line.startswith(("Memory:", "Cannot run here:")) for line in tab.plan_view.lines),
        timeout=20_000,
    )
    memory = next(line for line in tab.plan_view.lines if line.startswith(("Memory:", "Cannot run here:")))
    assert "GB" in memory or "GiB" in memory or "MB" in memory  # the numbers behind the choice

    # An encoder of another family: the board marks it, the plan (the render service) refuses it by the
    # same rule before Render, as the loader refuses it.
    _add(tab.board, library, "qwen_3_4b")
    tab.refresh_plan()
    assert tab.plan_view.lines[-1] == (
        "Refused: Flux.1 takes no Qwen3 4B text encoder; given qwen_3_4b.safetensors"
    )


def test_a_forge_flux_infotext_fills_the_slots(tab: ComposeTab) -> None:
    assert tab.paste_parameters((INFOTEXTS / "forge_flux_dev_modules.txt").read_text(encoding="utf-8"))
    board = tab.board
    assert board.checkpoint.ref is not None
    assert board.checkpoint.ref.name == "flux1-dev-fp8"
    assert board.vae.ref is not None
    assert board.vae.ref.name == "ae"
    assert _slots(board) == [("CLIP-L (clip_l)", "clip_l"), ("T5-XXL (t5xxl)", "t5xxl_fp16")]
    assert board.parameters.guidance.value() == 3.5
    recipe = board.recipe()
    assert [ref.name for ref in recipe.text_encoders] == ["clip_l", "t5xxl_fp16"]
    assert all(ref.asset_id is not None for ref in recipe.text_encoders)
    # The LoRA is not in this library: it is listed as missing, the rest is ready.
    assert [row.item.name for row in tab.missing.rows] == ["flux_realism_lora"]


class _GridRecorder(RenderService):
    """The real service, except that a grid is recorded instead of rendered (what the board asked)."""

    grids: list[tuple[Recipe, Any, Any]]

    def render_grid(self, base: Recipe, x: Any, y: Any = None, **_: Any) -> Any:
        self.grids.append((base, x, y))
        raise RuntimeError("recorded")


def test_grid_axes_of_the_flow_families_reach_the_service(
    library: Library, tmp_path: Path, qtbot: QtBot
) -> None:
    service = _GridRecorder(library, lambda: RenderEngine(tmp_path / "cache", CPU), tmp_path / "renders")
    service.grids = []
    tab = ComposeTab(library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(tab)
    _add(tab.board, library, "flux1-dev-fp8", "ae", "clip_l", "t5xxl_fp16")
    tab.grid_x.setText("Distilled CFG Scale=2,3.5")
    tab.grid_y.setText("text-encoder:t5xxl_fp16=t5xxl_fp16,clip_g")
    tab.start_grid()
    qtbot.waitUntil(lambda: bool(service.grids), timeout=10_000)
    base, x, y = service.grids[0]
    assert str(x.kind) == "guidance"
    assert list(x.values) == [2.0, 3.5]
    assert str(y.kind) == "text-encoder"
    assert y.target == "t5xxl_fp16"
    assert [ref.name for ref in base.text_encoders] == ["clip_l", "t5xxl_fp16"]
    assert base.checkpoint is not None
    assert base.checkpoint.name == "flux1-dev-fp8"
    qtbot.waitUntil(lambda: not tab.busy, timeout=10_000)
    tab.shutdown()
