"""Real renders from the Compose tab: a tiny SD1 diffusers checkpoint cataloged in a real Library, the
real RenderService and RenderEngine on CPU (64x64, 2 steps), progress, live previews, cancel, the
gallery and its actions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from catalog.records import RenderKind, ScannedFile
from core.file_hashes import FileHashes
from core.identify.result import Identification
from core.render.engine import RenderEngine
from core.taxonomy import Architecture, AssetKind, FileFormat, FileStatus
from desktop.compose.compose_tab import ComposeTab
from tests.desktop.conftest import PopulatedLibrary

pytestmark = pytest.mark.slow
TIMEOUT = 120_000


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.factory.tiny_pipeline import tiny_sd1_folder

    base = tmp_path_factory.mktemp("tiny")
    return tiny_sd1_folder(base / "checkpoints" / "tiny_sd1", base / "hf-cache")


@pytest.fixture
def checkpoint_id(populated: PopulatedLibrary, tiny_folder: Path) -> int:
    """The folder cataloged as an SD1 checkpoint (the identifier reads its narrow widths as "other")."""
    library = populated.library
    root = library.add_root(tiny_folder.parent)
    stat = tiny_folder.stat()
    scanned = ScannedFile(
        path=str(tiny_folder),
        size=sum(p.stat().st_size for p in tiny_folder.rglob("*") if p.is_file()),
        mtime_ns=stat.st_mtime_ns,
        inode=stat.st_ino,
        format=FileFormat.DIFFUSERS,
        status=FileStatus.OK,
        identification=Identification(
            kind=AssetKind.CHECKPOINT, architecture=Architecture.SD1, format=FileFormat.DIFFUSERS
        ),
    )
    (asset_id,) = library.apply_scan_batch(root.id, [scanned])
    hashes = FileHashes(
        sha256="1" * 64, blake3="2" * 64, crc32="3" * 8, autov1=None, autov2="1" * 10, autov3=None
    )
    return library.set_hashes(asset_id, hashes)


@pytest.fixture
def tab(
    populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ComposeTab]:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    service = RenderService(
        populated.library, lambda: RenderEngine(tmp_path / "engine-cache"), tmp_path / "renders"
    )
    widget = ComposeTab(populated.library, lambda: service, tmp_path / "thumbs")
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def _set_small(tab: ComposeTab, steps: int, seed: int) -> None:
    form = tab.board.parameters
    form.steps.setValue(steps)
    form.width_box.setValue(64)
    form.height_box.setValue(64)
    form.seed.setText(str(seed))
    form.prompt.setPlainText("a red square")


def test_render_streams_progress_and_previews_then_lands_in_the_gallery(
    tab: ComposeTab, checkpoint_id: int, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    tab.add_assets([checkpoint_id])
    _set_small(tab, steps=2, seed=7)
    previews: list[tuple[int, int]] = []
    tab.preview_updated.connect(lambda step, total: previews.append((step, total)))
    with qtbot.waitSignal(tab.render_finished, timeout=TIMEOUT):
        tab.render_button.click()
        assert tab.busy
        assert tab.cancel_button.isEnabled()
        assert not tab.render_button.isEnabled()
        assert not tab.board_panel.render_button.isEnabled()  # the board's Render too
    qtbot.waitUntil(lambda: not tab.busy, timeout=TIMEOUT)
    assert tab.board_panel.render_button.isEnabled()
    assert previews
    assert previews[-1][1] == 2
    assert (tab.progress.value(), tab.progress.maximum()) == (2, 2)
    assert tab.preview.image is not None
    assert tab.preview.image.width() == 64
    assert tab.render_button.isEnabled()
    assert not tab.cancel_button.isEnabled()
    assert "Seed: 7" in tab.infotext.toPlainText()
    assert tab.gallery_model.rowCount() == 1
    record = tab.gallery.current_record()
    assert record is not None
    assert record.seed == 7
    assert Path(record.path).is_file()
    qtbot.waitUntil(
        lambda: tab.device_label.text().startswith("Device: ") and "CPU" in tab.device_label.text()
    )

    # "Use as preview of tiny_sd1" makes the render the checkpoint's cover.
    menu = tab.gallery.build_menu(record)
    texts = [action.text() for action in menu.actions()]
    assert "Use as preview of tiny_sd1" in texts
    assert "Copy infotext" in texts
    use = next(action for action in menu.actions() if action.text() == "Use as preview of tiny_sd1")
    with qtbot.waitSignal(tab.cover_changed) as changed:
        use.trigger()
    assert changed.args == [checkpoint_id]
    cover = populated.library.get(checkpoint_id)
    assert cover is not None
    assert cover.cover_path == record.path

    # "Load recipe into board" restores the exact recipe.
    rendered = tab.board.recipe()
    tab.board.clear()
    load = next(action for action in menu.actions() if action.text() == "Load recipe into board")
    load.trigger()
    restored = tab.board.recipe()
    assert restored.checkpoint is not None
    assert restored.checkpoint.asset_id == checkpoint_id
    assert (restored.prompt, restored.seed, restored.steps) == (rendered.prompt, 7, 2)

    # An X/Y grid over two seeds is one more stored render, of kind grid.
    tab.grid_x.setText("seed=1,2")
    with qtbot.waitSignal(tab.render_finished, timeout=TIMEOUT):
        tab.grid_button.click()
    qtbot.waitUntil(lambda: not tab.busy, timeout=TIMEOUT)
    assert tab.gallery_model.rowCount() == 2
    newest = tab.gallery_model.record(0)
    assert newest is not None
    assert newest.kind is RenderKind.GRID


def test_cancel_stops_the_render_within_a_step(tab: ComposeTab, checkpoint_id: int, qtbot: QtBot) -> None:
    tab.add_assets([checkpoint_id])
    _set_small(tab, steps=40, seed=3)
    seen: list[int] = []

    def on_preview(step: int, _total: int) -> None:
        seen.append(step)
        tab.cancel()

    tab.preview_updated.connect(on_preview)
    tab.render_button.click()
    qtbot.waitUntil(lambda: bool(seen) and not tab.busy, timeout=TIMEOUT)
    assert tab.status_label.text() == "Render cancelled"
    assert max(seen) < 40
    assert tab.progress.value() < 40
    tab.refresh_gallery()
    assert tab.gallery_model.rowCount() == 0


def test_after_a_cancelled_render_the_parameters_box_does_not_show_the_last_render(
    tab: ComposeTab, checkpoint_id: int, qtbot: QtBot
) -> None:
    """The preview shows the cancelled render's last step: the box under it must not go on showing the
    previous render's infotext (3 steps, 64x64) as if it described that picture."""
    tab.add_assets([checkpoint_id])
    _set_small(tab, steps=2, seed=1)
    with qtbot.waitSignal(tab.render_finished, timeout=TIMEOUT):
        qtbot.mouseClick(tab.render_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.busy, timeout=TIMEOUT)
    finished = tab.infotext.toPlainText()
    assert "Steps: 2" in finished
    _set_small(tab, steps=40, seed=2)
    seen: list[int] = []

    def on_preview(step: int, _total: int) -> None:
        seen.append(step)
        tab.cancel()

    tab.preview_updated.connect(on_preview)
    qtbot.mouseClick(tab.render_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(seen) and not tab.busy, timeout=TIMEOUT)
    assert tab.status_label.text() == "Render cancelled"
    shown = tab.infotext.toPlainText()
    assert "Steps: 2" not in shown
    assert shown.startswith(f"Render cancelled at step {seen[-1]} of 40")
