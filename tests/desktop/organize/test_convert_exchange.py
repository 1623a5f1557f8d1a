"""Convert to safetensors, export and import of the library list, in the real window with real events.

The convert test catalogs a real ``torch.save`` checkpoint (through the scan's own examine) beside the
populated library's stand-ins, whose ``evil.ckpt`` is an unsafe pickle. The import test runs against
the loopback Civitai: the missing LoRA of the list is downloaded through the Downloads tab and arrives
with the list's tags.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import safetensors.torch
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMenu
from pytestqt.qtbot import QtBot

from app.import_files import examine_path
from desktop.main_window import MainWindow
from desktop.organize.convert_dialog import ConvertActions
from desktop.organize.exchange_dialogs import ExchangeActions
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory
from tests.desktop.organize.test_file_actions import (
    JOB_MS,
    click_menu_item,
    menu_action,
    names,
    open_context_menu,
)
from tests.desktop.remote_support import LORA_FILE_ID, LORA_VERSION_ID, RemoteEnv
from tests.factory.files import save_torch


def _open_file_menu(qtbot: QtBot, window: MainWindow) -> QMenu:
    bar = window.menuBar()
    file_action = bar.actions()[0]
    QTest.mouseClick(
        bar,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        bar.actionGeometry(file_action).center(),
    )
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=2000)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    return menu


def _type_into_file_dialog(qtbot: QtBot, dialog: QFileDialog | None, path: Path) -> None:
    """Goes to ``path``'s folder (as double-clicks would), types its name and presses Return."""
    assert isinstance(dialog, QFileDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    dialog.setDirectory(str(path.parent))
    field = dialog.findChild(QLineEdit, "fileNameEdit")
    assert field is not None
    field.clear()
    qtbot.keyClicks(field, path.name)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def test_convert_from_the_context_menu(qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary) -> None:
    root = populated.root_dir
    source = save_torch(
        root / "tiny.ckpt",
        {"state_dict": {"model.diffusion_model.w": torch.randn(3, 4), "model_ema.decay": torch.tensor(0.9)}},
    )
    (asset_id,) = populated.library.apply_scan_batch(populated.root.id, [examine_path(source)])
    window.reload()

    menu = open_context_menu(qtbot, window, asset_id)
    assert menu_action(menu, "Convert to safetensors…").isEnabled()
    click_menu_item(qtbot, menu, "Convert to safetensors…")
    actions = window.convert_actions  # type: ignore[attr-defined]
    assert isinstance(actions, ConvertActions)
    dialog = actions.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    QTest.mouseClick(dialog.fp16_box, Qt.MouseButton.LeftButton)
    QTest.mouseClick(dialog.prune_box, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        QTest.mouseClick(dialog.convert_button, Qt.MouseButton.LeftButton)

    target = root / "tiny.safetensors"
    written = safetensors.torch.load_file(target)
    assert {name: t.dtype for name, t in written.items()} == {"model.diffusion_model.w": torch.float16}
    assert source.exists()  # not asked to trash it
    assert "tiny" in names(window)
    new = populated.library.get_by_path(target)
    assert new is not None
    assert window.status.job_label.text().startswith(
        "Converting tiny.ckpt: tiny.ckpt -> tiny.safetensors: 1 tensor, fp16, 1 EMA/optimizer tensor pruned"
    )
    assert [record.id for record in window.selected_records()] == [new.id]  # the new file, selected
    shown = window.details.record
    assert shown is not None
    assert shown.id == new.id


def test_an_unsafe_pickle_shows_a_disabled_entry_with_the_reason(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    menu = open_context_menu(qtbot, window, populated.ids["evil"])
    action = menu_action(menu, "Convert to safetensors… (unsafe pickle)")
    assert not action.isEnabled()
    assert action.toolTip() == "unsafe pickle, never loaded: pickle imports os.system"
    menu.close()
    menu = open_context_menu(qtbot, window, populated.ids["pixelArtStyle"])
    assert not menu_action(menu, "Convert to safetensors… (already safetensors)").isEnabled()
    menu.close()


def test_export_from_the_file_menu(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, tmp_path: Path
) -> None:
    menu = _open_file_menu(qtbot, window)
    click_menu_item(qtbot, menu, "Export library list…")
    actions = window.exchange_actions  # type: ignore[attr-defined]
    assert isinstance(actions, ExchangeActions)
    path = tmp_path / "exported.json"
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        _type_into_file_dialog(qtbot, actions.file_dialog, path)
    document = json.loads(path.read_text(encoding="utf-8"))
    rows = {row["file_name"]: row for row in document["assets"]}
    assert rows["pixelArtStyle.safetensors"]["sha256"] == "A" * 64
    assert rows["dreamshaper_8.safetensors"]["rating"] == 4
    assert window.status.job_label.text().startswith("Exporting to exported.json: Exported")


def test_import_shows_matched_and_missing_and_downloads_the_missing(
    qtbot: QtBot,
    populated: PopulatedLibrary,
    make_services: ServicesFactory,
    remote: RemoteEnv,
    tmp_path: Path,
) -> None:
    listing = tmp_path / "from-laptop.json"
    lora_sha = hashlib.sha256(remote.lora).hexdigest().upper()
    listing.write_text(
        json.dumps(
            {
                "format": "atelier-library-list",
                "version": 1,
                "assets": [
                    {
                        "file_name": "pixelArtStyle.safetensors",
                        "sha256": "A" * 64,
                        "tags": ["retro"],
                        "notes": "n",
                    },
                    {
                        "file_name": "turbo.safetensors",
                        "sha256": lora_sha,
                        "size": len(remote.lora),
                        "civitai_version_id": str(LORA_VERSION_ID),
                        "civitai_file_id": str(LORA_FILE_ID),
                        "tags": ["fast"],
                        "collections": ["From laptop"],
                    },
                    {"file_name": "lost.ckpt", "sha256": "0" * 64},
                ],
            }
        ),
        encoding="utf-8",
    )
    window = MainWindow(make_services(populated.library, remote=remote.remote))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.downloads is not None, timeout=5000)
    actions = window.exchange_actions  # type: ignore[attr-defined]
    assert isinstance(actions, ExchangeActions)

    menu = _open_file_menu(qtbot, window)
    click_menu_item(qtbot, menu, "Import library list…")
    _type_into_file_dialog(qtbot, actions.file_dialog, listing)
    qtbot.waitUntil(
        lambda: actions.import_dialog is not None and actions.import_dialog.isVisible(), timeout=JOB_MS
    )
    dialog = actions.import_dialog
    assert dialog is not None
    assert dialog.summary.text() == (
        "1 of 3 rows in the list is in this library; 2 files missing, 1 of them can be downloaded from "
        "Civitai or Hugging Face (5 files here are not hashed yet, so could not match: hash them first); "
        "user data added to 1 file here"
    )
    rows = [dialog.missing.topLevelItem(i).text(2) for i in range(dialog.missing.topLevelItemCount())]
    assert rows == [f"civitai:{LORA_VERSION_ID}:{LORA_FILE_ID}", "no Civitai or Hugging Face link"]
    pixel = populated.library.get(populated.ids["pixelArtStyle"])
    assert pixel is not None
    assert "retro" in pixel.tags
    assert dialog.download_button.text() == "Download missing (1)"

    downloads = window.downloads
    assert downloads is not None
    with qtbot.waitSignal(downloads.completed, timeout=20000):
        QTest.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    assert window.tabs is not None
    assert window.tabs.currentWidget() is window.downloads_tab

    def tagged() -> bool:  # the list's tags are given when the download lands in the library
        found = populated.library.find_by_hash(lora_sha)
        return bool(found) and "fast" in found[0].tags

    qtbot.waitUntil(tagged, timeout=5000)
    record = populated.library.find_by_hash(lora_sha)[0]
    assert record.collections == ("From laptop",)
    window.close()
