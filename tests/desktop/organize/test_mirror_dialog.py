"""Organize › Share with other apps…, driven as a user drives it: typed into, clicked, answered."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from catalog.library import Library
from catalog.scanner import Scanner
from desktop.main_window import MainWindow
from desktop.organize.mirror_dialog import MirrorDialog
from tests.app.organize.mirror_library import a1111_install, open_library
from tests.desktop.conftest import ServicesFactory

JOB_MS = 20000


@pytest.fixture
def webui(tmp_path: Path) -> Path:
    return a1111_install(tmp_path / "webui")


@pytest.fixture
def library(tmp_path: Path, webui: Path) -> Iterator[Library]:
    with open_library(tmp_path / "data" / "catalog.sqlite3", webui) as opened:
        yield opened


@pytest.fixture
def window(library: Library, make_services: ServicesFactory, qtbot: QtBot) -> Iterator[MainWindow]:
    main = MainWindow(make_services(library))
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    yield main
    dialog = getattr(main, "mirror_dialog", None)
    if dialog is not None and dialog.isVisible():
        dialog.close()
    main.close()


def open_dialog(window: MainWindow, qtbot: QtBot) -> MirrorDialog:
    action = window.share_action  # type: ignore[attr-defined]
    assert action in window.organize_menu.actions()
    action.trigger()
    dialog = window.mirror_dialog  # type: ignore[attr-defined]
    assert isinstance(dialog, MirrorDialog)
    qtbot.waitExposed(dialog)
    return dialog


def answer(button: QMessageBox.StandardButton) -> Callable[[], None]:
    """Presses ``button`` in the message box that is about to open (a modal question)."""

    def press() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            box.button(button).click()
        else:
            QTimer.singleShot(20, press)

    return press


def add_mirror(dialog: MirrorDialog, qtbot: QtBot, folder: Path) -> None:
    dialog.folder_edit.clear()
    qtbot.keyClicks(dialog.folder_edit, str(folder))
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)


def test_add_a_mirror_sync_it_and_remove_it(
    window: MainWindow, library: Library, webui: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    dialog = open_dialog(window, qtbot)
    assert dialog.table.rowCount() == 0
    assert not dialog.add_button.isEnabled()  # no folder yet
    comfy = tmp_path / "ComfyUI"
    (comfy / "models/loras").mkdir(parents=True)
    (comfy / "models/loras/theirs.safetensors").write_bytes(b"the user's")

    # only LoRAs: tick the kind with the keyboard (Space on the current row)
    dialog.kinds_list.setFocus()
    row = next(i for i in range(dialog.kinds_list.count()) if dialog.kinds_list.item(i).text() == "LoRAs")
    dialog.kinds_list.setCurrentRow(row)
    qtbot.keyClick(dialog.kinds_list, Qt.Key.Key_Space)
    assert dialog.kinds_list.item(row).checkState() == Qt.CheckState.Checked

    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        add_mirror(dialog, qtbot, comfy)
    assert dialog.table.rowCount() == 1
    assert dialog.table.item(0, 0).text() == "ComfyUI"
    assert dialog.table.item(0, 3).text() == "LoRA"
    assert dialog.table.item(0, 4).text() == "4"
    assert "4 added" in dialog.table.item(0, 5).text()
    assert (comfy / "models/loras/pixel.safetensors").resolve() == webui / "models/Lora/pixel.safetensors"
    assert not (comfy / "models/embeddings").exists()

    # a file renamed in the library: Sync now brings the mirror along
    (webui / "models/Lora/pixel.safetensors").rename(webui / "models/Lora/pixel_v2.safetensors")
    Scanner(library).scan()
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        qtbot.mouseClick(dialog.sync_button, Qt.MouseButton.LeftButton)
    assert (comfy / "models/loras/pixel_v2.safetensors").is_symlink()
    assert not (comfy / "models/loras/pixel.safetensors").exists()

    # select the row, see its report, remove it (answering Yes): only our entries go
    qtbot.mouseClick(
        dialog.table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=dialog.table.visualItemRect(dialog.table.item(0, 2)).center(),
    )
    assert dialog.remove_button.isEnabled()
    assert dialog.details.toPlainText()
    QTimer.singleShot(0, answer(QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert dialog.table.rowCount() == 0
    assert not (comfy / "models/loras/pixel_v2.safetensors").exists()
    assert (comfy / "models/loras/theirs.safetensors").read_bytes() == b"the user's"
    assert (webui / "models/Lora/pixel_v2.safetensors").exists()


def test_a_folder_inside_the_library_is_refused_in_the_dialog(
    window: MainWindow, library: Library, webui: Path, qtbot: QtBot
) -> None:
    dialog = open_dialog(window, qtbot)
    add_mirror(dialog, qtbot, webui / "models" / "mirror")
    assert "is inside the library folder" in dialog.message.text()
    assert dialog.table.rowCount() == 0
    assert library.mirrors() == []
    assert not (webui / "models" / "mirror").exists()


def test_read_a_comfyui_yaml_and_add_its_folders(
    window: MainWindow, library: Library, tmp_path: Path, qtbot: QtBot
) -> None:
    other = a1111_install(tmp_path / "forge")
    yaml_file = tmp_path / "extra_model_paths.yaml"
    yaml_file.write_text(f"forge:\n  base_path: {other}\n  loras: models/Lora\n", encoding="utf-8")
    dialog = open_dialog(window, qtbot)
    QTimer.singleShot(0, answer(QMessageBox.StandardButton.Yes))
    assert dialog.offer_roots_from(yaml_file) == [other]
    assert str(other) in [root.path for root in library.roots()]
    assert "Added 1 library folder" in dialog.message.text()


def test_a_mirror_on_a_disk_without_links_shows_the_fallback(
    window: MainWindow, library: Library, tmp_path: Path, qtbot: QtBot
) -> None:
    import errno

    from app.organize.mirror import MirrorApplier, create_mirror
    from core.organize.mirror_plan import MirrorMode, MirrorUI

    def refuse(_source: Path, entry: Path) -> None:
        raise OSError(errno.EPERM, "Operation not permitted", str(entry))

    mirror = create_mirror(library, MirrorUI.A1111, MirrorMode.SYMLINK, tmp_path / "stick")
    MirrorApplier(library, symlink=refuse, hardlink=refuse).sync(mirror)
    dialog = open_dialog(window, qtbot)
    assert dialog.table.item(0, 1).text() == "symlink → copy"
    assert "symlinks not supported on" in dialog.table.item(0, 5).text()
    rect = dialog.table.visualItemRect(dialog.table.item(0, 0))
    qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert dialog.details.toPlainText().startswith("symlinks not supported on")


def test_every_kind_shows_in_the_kinds_list_without_scrolling(window: MainWindow, qtbot: QtBot) -> None:
    dialog = open_dialog(window, qtbot)
    kinds = dialog.kinds_list
    assert kinds.count() == 10
    assert kinds.item(kinds.count() - 1).text() == "Text encoders"
    viewport = kinds.viewport().rect()
    for row in range(kinds.count()):
        assert viewport.contains(kinds.visualItemRect(kinds.item(row))), kinds.item(row).text()
    assert not kinds.verticalScrollBar().isVisible()
    # the last kind is ticked with a click where it shows, like any other
    last = kinds.item(kinds.count() - 1)
    qtbot.mouseClick(kinds.viewport(), Qt.MouseButton.LeftButton, pos=kinds.visualItemRect(last).center())
    qtbot.keyClick(kinds, Qt.Key.Key_Space)
    assert last.checkState() == Qt.CheckState.Checked
