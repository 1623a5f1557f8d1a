"""The compose board survives a restart, and follows a rename made in the window.

A user mid-composition quits and starts again: the checkpoint, the LoRA with its weight, the embedding,
the prompts and the settings typed into the board's own widgets are all back (read from the data folder
after the window is built); a file that left the library meanwhile is listed as missing, and so is one
deleted or moved away outside Atelier (the catalog still holds it until a scan), with "Find on Civitai"
when the window has its Civitai tab. A file a scan finds gone while the window is open is listed at once,
and placed again once a scan finds it elsewhere.
A LoRA renamed with F2 shows its new name on the board and in the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.render_service import RenderService
from core.jobs import CancelToken, ProgressCallback
from core.taxonomy import Architecture, AssetKind, NetworkType
from desktop.compose import board_state
from desktop.compose.board_state import BOARD_FILE, read_board
from desktop.compose.compose_tab import ComposeTab
from desktop.main_window import MainWindow
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory, _ident, _scanned
from tests.desktop.organize.test_file_actions import actions, focus
from tests.desktop.remote_support import RemoteEnv


@pytest.fixture(autouse=True)
def _save_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    """The board is written 50 ms after its last change instead of the user's 600 ms: the tests wait
    for the written file, so only that wait shortens; the same debounce timer (its interval is read
    when the window's BoardKeeper is built) still writes it after the change, before any quit."""
    monkeypatch.setattr(board_state, "SAVE_DELAY_MS", 50)


def _no_engine() -> object:
    raise AssertionError("these tests never render")


def _window(
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    tmp_path: Path,
    qtbot: QtBot,
    **overrides: object,
) -> MainWindow:
    service = RenderService(populated.library, _no_engine, tmp_path / "renders")  # type: ignore[arg-type]
    window = MainWindow(make_services(populated.library, render=lambda: service, **overrides))
    qtbot.addWidget(window)
    window.resize(1500, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


def _tab(window: MainWindow) -> ComposeTab:
    assert window.compose_tab is not None
    return window.compose_tab


def _send(window: MainWindow, asset_id: int) -> None:
    row = window.model.row_of(asset_id)
    assert row is not None
    window.select_row(row)
    window.send_to_compose_action.trigger()


def _type_into(qtbot: QtBot, widget: QWidget, text: str) -> None:
    """Clicks the field, selects what it holds and types ``text``, then Enter: as a user commits it."""
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def test_the_board_comes_back_after_quitting_and_starting_again(
    populated: PopulatedLibrary, make_services: ServicesFactory, tmp_path: Path, qtbot: QtBot
) -> None:
    ids = populated.ids
    window = _window(populated, make_services, tmp_path, qtbot)
    board = _tab(window).board
    form = board.parameters
    for name in ("dreamshaper_8", "animeLineart", "easynegative"):
        _send(window, ids[name])
    (lora,) = board.loras.rows
    _type_into(qtbot, lora.weight.spin, "0.65")
    qtbot.mouseClick(form.prompt.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(form.prompt, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(form.prompt, "a red castle, ")
    qtbot.mouseClick(form.negative.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(form.negative, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(form.negative, ", blurry")
    _type_into(qtbot, form.steps, "31")
    _type_into(qtbot, form.cfg, "5.5")
    _type_into(qtbot, form.seed, "4242")
    _type_into(qtbot, form.width_box, "512")
    _type_into(qtbot, form.height_box, "768")
    form.sampler.setFocus()
    qtbot.keyClick(form.sampler, Qt.Key.Key_Down)
    before = board.recipe()
    assert before.sampler != form.sampler.itemText(0)  # the key moved it off the first sampler
    assert (before.steps, before.cfg, before.seed, before.width, before.height) == (
        31,
        5.5,
        4242,
        512,
        768,
    )
    saved = populated.library.renders_dir.parent / BOARD_FILE
    # Written a moment after the last change, before any quit (a killed session keeps it too).
    qtbot.waitUntil(lambda: saved.is_file() and read_board(saved) == before, timeout=5000)
    window.close()  # File > Quit: the window is torn down

    again = _window(populated, make_services, tmp_path, qtbot)
    restored = _tab(again).board
    after = restored.recipe()
    assert after == before
    assert restored.checkpoint.ref is not None
    assert restored.checkpoint.ref.asset_id == ids["dreamshaper_8"]
    (row,) = restored.loras.rows
    assert (row.ref.name, row.weight.value()) == ("animeLineart", 0.65)
    assert [(r.token, r.negative) for r in restored.embeddings.rows] == [("easynegative", True)]
    shown = restored.parameters
    assert shown.prompt.toPlainText() == before.prompt
    assert before.prompt.startswith("a red castle,")
    assert shown.negative.toPlainText().endswith(", blurry")
    assert (shown.steps.value(), shown.cfg.value(), shown.seed.text()) == (31, 5.5, "4242")
    assert (shown.width_box.value(), shown.height_box.value()) == (512, 768)
    assert not _tab(again).missing.isVisible()
    again.close()


def test_a_file_that_left_the_library_comes_back_as_missing(
    populated: PopulatedLibrary, make_services: ServicesFactory, tmp_path: Path, qtbot: QtBot
) -> None:
    ids = populated.ids
    window = _window(populated, make_services, tmp_path, qtbot)
    for name in ("dreamshaper_8", "animeLineart"):
        _send(window, ids[name])
    window.close()
    populated.library.remove_assets([ids["animeLineart"]])
    (populated.root_dir / "animeLineart.safetensors").unlink()

    again = _window(populated, make_services, tmp_path, qtbot)
    tab = _tab(again)
    assert [r.ref.name for r in tab.board.loras.rows] == ["animeLineart"]
    assert tab.missing.isVisible()
    assert [item.name for item in tab.missing.items] == ["animeLineart"]
    assert "not in the library" in tab.status_label.text()
    again.close()


def test_a_renamed_lora_shows_its_new_name_on_the_board_and_in_the_plan(
    populated: PopulatedLibrary, make_services: ServicesFactory, tmp_path: Path, qtbot: QtBot
) -> None:
    ids = populated.ids
    window = _window(populated, make_services, tmp_path, qtbot)
    tab = _tab(window)
    for name in ("dreamshaper_8", "animeLineart"):
        _send(window, ids[name])
    tab.refresh_plan()
    assert any("animeLineart" in line for line in tab.plan_view.lines)
    window.set_view_mode("grid")
    row = window.model.row_of(ids["animeLineart"])
    assert row is not None
    window.select_row(row)
    focus(qtbot, window.grid)
    qtbot.keyClick(window.grid, Qt.Key.Key_F2)
    dialog = actions(window).rename_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.field, "lineTweaker")  # the stem is selected: typing replaces it
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: [r.ref.name for r in tab.board.loras.rows] == ["lineTweaker"], timeout=5000)
    (row,) = tab.board.loras.rows
    assert row.ref.path is not None
    assert Path(row.ref.path).name == "lineTweaker.safetensors"
    assert any("LoRA: lineTweaker" in line for line in tab.plan_view.lines)
    assert not any("animeLineart" in line for line in tab.plan_view.lines)
    window.close()


def _lora_label(tab: ComposeTab) -> str:
    (row,) = tab.board.loras.rows
    return row.name_label.text()


def _says_missing(tab: ComposeTab, name: str) -> bool:
    """Whether the missing list names ``name`` and the plan has a Missing line for it."""
    listed = [item.name for item in tab.missing.items] == [name]
    planned = any(line.startswith("Missing:") and name in line for line in tab.plan_view.lines)
    return listed and planned


def test_a_lora_moved_away_outside_atelier_comes_back_as_missing(
    populated: PopulatedLibrary, make_services: ServicesFactory, tmp_path: Path, qtbot: QtBot
) -> None:
    """The catalog still holds the LoRA (no scan ran yet), but its file is gone: the slot, the missing
    list and the plan say so before Render, not Render's "does not exist"."""
    ids = populated.ids
    window = _window(populated, make_services, tmp_path, qtbot)
    for name in ("dreamshaper_8", "animeLineart"):
        _send(window, ids[name])
    saved = populated.library.renders_dir.parent / BOARD_FILE
    qtbot.waitUntil(lambda: saved.is_file() and len(read_board(saved).loras) == 1, timeout=5000)  # type: ignore[union-attr]
    window.close()
    away = tmp_path / "elsewhere"
    away.mkdir()
    (populated.root_dir / "animeLineart.safetensors").rename(away / "animeLineart.safetensors")
    assert populated.library.get(ids["animeLineart"]) is not None  # the catalog has not noticed

    again = _window(populated, make_services, tmp_path, qtbot)
    tab = _tab(again)
    assert _lora_label(tab) == "animeLineart (not in the library)"
    assert tab.missing.isVisible()
    qtbot.waitUntil(lambda: _says_missing(tab, "animeLineart"), timeout=5000)
    assert "not in the library" in tab.status_label.text()
    assert tab.board.checkpoint.ref is not None
    assert tab.board.checkpoint.ref.asset_id == ids["dreamshaper_8"]  # the file still there is kept
    qtbot.mouseClick(tab.board_panel.render_button, Qt.MouseButton.LeftButton)
    assert tab.status_label.text().startswith("Cannot render: LoRA 'animeLineart'")
    assert not tab.busy
    (row,) = tab.missing.rows  # listed again by Render, and still readable: the list kept its height
    qtbot.waitUntil(lambda: tab.missing.rows_area.height() >= row.sizeHint().height() > 0)
    again.close()


def test_a_lora_a_scan_finds_gone_is_listed_as_missing_at_once(
    populated: PopulatedLibrary, make_services: ServicesFactory, tmp_path: Path, qtbot: QtBot
) -> None:
    """The window is open, the LoRA's file is deleted outside Atelier, and a scan marks its row missing:
    the board lists it then, not first when Render refuses it."""
    ids = populated.ids
    lora_file = populated.root_dir / "animeLineart.safetensors"

    def scan(_roots: Sequence[int] | None, _progress: ProgressCallback, _cancel: CancelToken) -> str:
        gone = [i for i in ids.values() if (r := populated.library.get(i)) and not Path(r.path).exists()]
        populated.library.mark_missing(gone)  # what the scanner does with a file no longer on disk
        return f"{len(gone)} missing"

    window = _window(populated, make_services, tmp_path, qtbot, scan_roots=scan)
    tab = _tab(window)
    for name in ("dreamshaper_8", "animeLineart"):
        _send(window, ids[name])
    assert _lora_label(tab) == "animeLineart"
    lora_file.unlink()
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        window.rescan()
    qtbot.waitUntil(lambda: _lora_label(tab) == "animeLineart (not in the library)", timeout=5000)
    assert tab.missing.isVisible()
    qtbot.waitUntil(lambda: _says_missing(tab, "animeLineart"), timeout=5000)
    assert "not in the library" in tab.status_label.text()
    window.close()


def test_a_lora_a_scan_finds_elsewhere_is_placed_again(
    populated: PopulatedLibrary, make_services: ServicesFactory, tmp_path: Path, qtbot: QtBot
) -> None:
    """Moved away outside Atelier while the window is open: listed as missing after one scan; moved
    back into the library (another folder: a new catalog row with the same hash), the next scan puts
    it on the board again and the missing list goes."""
    ids = populated.ids
    old_path = populated.root_dir / "pixelArtStyle.safetensors"
    new_path = populated.root_dir / "styles" / "pixelArtStyle.safetensors"
    library = populated.library
    hashes = library.get(ids["pixelArtStyle"]).hashes  # type: ignore[union-attr]
    found: list[int] = []

    def scan(_roots: Sequence[int] | None, _progress: ProgressCallback, _cancel: CancelToken) -> str:
        """What the scanner and the hasher do: a file gone is marked missing, a new one gets a row."""
        if not old_path.exists():
            library.mark_missing([ids["pixelArtStyle"]])
        if new_path.exists() and not found:
            lora = _ident(AssetKind.LORA, Architecture.SDXL, network=NetworkType.LORA)
            scanned = _scanned(new_path.parent, new_path.name, lora)
            (new_id,) = library.apply_scan_batch(populated.root.id, [scanned])
            found.append(library.set_hashes(new_id, hashes))  # type: ignore[arg-type]
        return "scanned"

    window = _window(populated, make_services, tmp_path, qtbot, scan_roots=scan)
    tab = _tab(window)
    for name in ("dreamshaper_8", "pixelArtStyle"):
        _send(window, ids[name])
    away = tmp_path / "pixelArtStyle.safetensors"
    old_path.rename(away)
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        window.rescan()
    qtbot.waitUntil(lambda: _says_missing(tab, "pixelArtStyle"), timeout=5000)
    assert _lora_label(tab) == "pixelArtStyle (not in the library)"
    assert (tab.missing.items[0].hash or "").upper() == "AAAAAAAAAA"  # Find on Civitai searches by it

    new_path.parent.mkdir()
    away.rename(new_path)
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        window.rescan()
    qtbot.waitUntil(lambda: _lora_label(tab) == "pixelArtStyle", timeout=5000)
    (row,) = tab.board.loras.rows
    assert (row.ref.asset_id, row.ref.path) == (found[0], str(new_path))
    assert not tab.missing.isVisible()
    assert "not in the library" not in tab.status_label.text()
    qtbot.waitUntil(
        lambda: not any(line.startswith("Missing:") for line in tab.plan_view.lines), timeout=5000
    )
    window.close()


def test_the_restored_missing_list_offers_find_on_civitai(
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    remote: RemoteEnv,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    """After a restart the missing list has the same "Find on Civitai" button as after a PNG drop: the
    board is restored before the window builds its Civitai tab."""
    ids = populated.ids
    extra = {"settings": remote.settings, "remote": remote.remote}
    window = _window(populated, make_services, tmp_path, qtbot, **extra)
    for name in ("dreamshaper_8", "animeLineart"):
        _send(window, ids[name])
    window.close()
    populated.library.remove_assets([ids["animeLineart"]])
    (populated.root_dir / "animeLineart.safetensors").unlink()

    again = _window(populated, make_services, tmp_path, qtbot, **extra)
    assert again.civitai_tab is not None
    tab = _tab(again)
    (row,) = tab.missing.rows
    assert row.find_button.isVisible()
    with qtbot.waitSignal(tab.find_on_civitai, timeout=5000) as searched:
        qtbot.mouseClick(row.find_button, Qt.MouseButton.LeftButton)
    assert searched.args == [row.item.hash or row.item.name]
    again.close()
