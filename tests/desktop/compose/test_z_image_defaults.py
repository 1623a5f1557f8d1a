"""The board follows the Z-Image variant's defaults as ``render --plan`` does (one rule,
``app.family_defaults``): Z-Image Turbo and Base have the same tensors, so a dropped checkpoint's Civitai
base-model label (its ``.civitai.info``) decides: ``ZImageBase`` fills CFG 4 and 28 steps, ``ZImageTurbo``
CFG 1 and 8, a file without a label Turbo's, and the plan says so in its ``Defaults:`` line. A CFG or
steps the user typed (or pasted with an image's parameters) is never replaced.

The checkpoints are real ComfyUI-layout Z-Image files (sparse: only headers are read) scanned by the
real scanner with their sidecars, dragged from the library grid onto the board with a real QDrag.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSpinBox
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from catalog.asset_query import AssetQuery
from catalog.library import Library
from catalog.scanner import Scanner
from desktop.compose.compose_tab import ComposeTab
from desktop.compose.parameters import ParametersForm
from desktop.main_window import MainWindow
from tests.desktop.compose.test_real_drag import Stop, drag_rows
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory
from tests.factory.civitai_info import civitai_helper_payload, write_civitai_helper_info
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.hub_tokenizers import list_family_tokenizers
from tests.fakes.server import FakeServer, serve

TURBO_GUESS = (
    "Defaults: Z-Image variant not known (no Civitai base model; ZImageTurbo or ZImageBase says which): "
    "Z-Image Turbo's defaults, CFG 1 and 8 steps"
)


def _no_engine() -> object:
    raise AssertionError("these tests never render")


@pytest.fixture(scope="module")
def z_image_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Z-Image checkpoints labelled Base, Turbo and not at all, each with its ``.civitai.info``."""
    folder = tmp_path_factory.mktemp("z-image")
    layout = keyspace("z_image-comfyui", dtype="BF16")
    for stem, label in (("z_image_base", "ZImageBase"), ("z_image_turbo", "ZImageTurbo"), ("z_image", None)):
        path = write_safetensors(folder / f"{stem}.safetensors", layout)
        if label is not None:
            write_civitai_helper_info(path, civitai_helper_payload(base_model=label, model_name=stem))
    return folder


@pytest.fixture(scope="module")
def tokenizer_mirror() -> Iterator[FakeServer]:
    with serve(HubHandler, list_family_tokenizers(HubState())) as server:
        yield server


@pytest.fixture(autouse=True)
def _hub(tokenizer_mirror: FakeServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The Qwen3 tokenizer is fetchable (a loopback Hub holds it), so the plan is about the settings."""
    monkeypatch.setenv("HF_ENDPOINT", tokenizer_mirror.base_url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


def _link_all(source: Path, root: Path) -> None:
    for path in source.iterdir():
        os.link(path, root / path.name)


@pytest.fixture
def window(
    populated: PopulatedLibrary,
    z_image_files: Path,
    make_services: ServicesFactory,
    tmp_path: Path,
    qtbot: QtBot,
) -> Iterator[MainWindow]:
    _link_all(z_image_files, populated.root_dir)
    library = populated.library
    Scanner(library).scan()
    service = RenderService(library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
    main = MainWindow(make_services(library, render=lambda: service))
    qtbot.addWidget(main)
    main.resize(max(1400, main.minimumSizeHint().width()), 900)
    main.move(0, 0)
    main.show()
    qtbot.waitExposed(main)
    yield main
    main.close()


def _row(window: MainWindow, stem: str) -> int:
    ids = {Path(r.file_name).stem: r.id for r in window.library.search(AssetQuery())}  # type: ignore[attr-defined]
    row = window.model.row_of(ids[stem])
    assert row is not None, f"{stem} is not in the grid"
    return row


def _type(box: QAbstractSpinBox, text: str) -> None:
    """Types ``text`` into a spin box as a user does: click in, select all, type, leave with Tab."""
    box.setFocus()
    QTest.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(box, text)
    QTest.keyClick(box, Qt.Key.Key_Tab)


def _settings(form: ParametersForm) -> tuple[float, int, str]:
    return form.cfg.value(), form.steps.value(), form.sampler.currentText()


def _plan(tab: ComposeTab) -> list[str]:
    tab.refresh_plan()
    return list(tab.plan_view.lines)


@pytest.mark.real_drag
def test_a_dropped_z_image_checkpoint_takes_its_variants_defaults_and_keeps_typed_values(
    window: MainWindow,
) -> None:
    tab = window.compose_tab
    assert tab is not None
    board, form = tab.board, tab.board.parameters
    window.set_view_mode("grid")
    slot = Stop(board.checkpoint, board.checkpoint.rect().center())

    def drop(stem: str) -> None:
        # Typing scrolled the board down to the fields; a user scrolls back up to the slot.
        tab.board_panel.scroll_area.ensureWidgetVisible(board.checkpoint)
        drag_rows(window.grid, [_row(window, stem)], [slot])
        assert board.checkpoint.ref is not None
        assert board.checkpoint.ref.name == stem

    assert _settings(form)[:2] == (7.0, 20)  # the blank board: A1111's
    drop("z_image_base")
    assert _settings(form) == (4.0, 28, "Euler")
    lines = _plan(tab)
    assert "Sampler: Euler, schedule Automatic (Simple), 28 steps, CFG 4" in lines
    assert not any(line.startswith("Defaults:") for line in lines)  # its label said which

    drop("z_image")  # no label: Turbo's, and the plan says it was assumed
    assert _settings(form) == (1.0, 8, "Euler")
    lines = _plan(tab)
    assert TURBO_GUESS in lines
    assert "Sampler: Euler, schedule Automatic (Simple), 8 steps, CFG 1" in lines

    drop("z_image_turbo")
    assert _settings(form)[:2] == (1.0, 8)
    assert not any(line.startswith("Defaults:") for line in _plan(tab))

    # A CFG the user types stays through every later drop; the steps still follow the variant.
    _type(form.cfg, "5")
    drop("z_image_base")
    assert _settings(form)[:2] == (5.0, 28)
    drop("z_image")
    assert _settings(form)[:2] == (5.0, 8)
    assert TURBO_GUESS in _plan(tab)  # the steps are still the assumed variant's

    # Both typed: nothing is assumed any more, and no drop changes them.
    _type(form.steps, "12")
    assert not any(line.startswith("Defaults:") for line in _plan(tab))
    drop("z_image_base")
    assert (board.recipe().cfg, board.recipe().steps) == (5.0, 12)


@pytest.fixture
def tab(
    populated: PopulatedLibrary, z_image_files: Path, tmp_path: Path, qtbot: QtBot
) -> Iterator[ComposeTab]:
    _link_all(z_image_files, populated.root_dir)
    library: Library = populated.library
    Scanner(library).scan()
    service = RenderService(library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
    tab = ComposeTab(library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(tab)
    tab.board_panel.show()
    yield tab
    tab.shutdown()


def test_pasted_parameters_keep_their_cfg_and_steps_and_a_cleared_board_follows_the_label_again(
    tab: ComposeTab,
) -> None:
    form = tab.board.parameters
    infotext = (
        "a red cat\nSteps: 20, Sampler: Euler, Schedule type: Simple, CFG scale: 3, Seed: 5, "
        "Size: 512x512, Model: z_image_base"
    )
    assert tab.paste_parameters(infotext)
    assert tab.board.checkpoint.ref is not None
    assert tab.board.checkpoint.ref.name == "z_image_base"
    assert _settings(form)[:2] == (3.0, 20)  # the image's, not Base's 4 and 28
    assert not any(line.startswith("Defaults:") for line in _plan(tab))

    tab.board.clear()
    assert _settings(form)[:2] == (7.0, 20)
    ids = {Path(r.file_name).stem: r.id for r in tab.library.search(AssetQuery())}  # type: ignore[attr-defined]
    tab.board.add_asset_ids([ids["z_image_base"]])  # "Send to compose board"
    assert _settings(form)[:2] == (4.0, 28)
