"""Organize › Find duplicates…, driven as a user drives it, on real files: a LoRA in its kind folder, a copy
elsewhere, a hard link and a symlink of it. The copy is the only duplicate; ticking it keeps it instead;
hard links replace it (one inode on disk afterwards); the trash takes it and Edit › Undo brings it back."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QTreeWidgetItem
from pytestqt.qtbot import QtBot

from app.organize.engine import undo
from catalog.hashing_job import hash_pending
from catalog.library import Library
from catalog.scanner import Scanner
from desktop.main_window import MainWindow
from desktop.organize.duplicates_view import COLUMNS, JOB_TITLE, DuplicatesDialog
from tests.app.organize.ops_library import own_trash
from tests.app.organize.template_library import linked_lora
from tests.desktop.conftest import ServicesFactory

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX links")
JOB_MS = 20000


class Files:
    def __init__(self, tmp_path: Path) -> None:
        self.webui = tmp_path / "webui"
        self.lora = linked_lora(self.webui / "models" / "Lora")
        self.hard = self.webui / "models" / "Lora" / "detail_tweaker-hardlink.safetensors"
        os.link(self.lora, self.hard)
        self.soft = self.webui / "models" / "Lora" / "detail_tweaker-symlink.safetensors"
        self.soft.symlink_to(self.lora)
        self.downloads = tmp_path / "Downloads"
        self.downloads.mkdir()
        self.copy = self.downloads / "detail_tweaker.safetensors"
        shutil.copy2(self.lora, self.copy)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Files:
    own_trash(monkeypatch, tmp_path / "xdg")
    return Files(tmp_path)


@pytest.fixture
def library(tmp_path: Path, files: Files) -> Iterator[Library]:
    from core.taxonomy import LibraryLayout

    opened = Library.open(tmp_path / "data" / "catalog.sqlite3")
    opened.add_root(files.webui, LibraryLayout.A1111)
    opened.add_root(files.downloads, LibraryLayout.FLAT)
    Scanner(opened, workers=1).scan()
    hash_pending(opened, workers=1)
    yield opened
    opened.close()


@pytest.fixture
def window(library: Library, make_services: ServicesFactory, qtbot: QtBot) -> Iterator[MainWindow]:
    main = MainWindow(make_services(library))
    qtbot.addWidget(main)
    main.resize(1400, 900)
    main.show()
    qtbot.waitExposed(main)
    yield main
    dialog = getattr(main, "duplicates_dialog", None)
    if dialog is not None and dialog.isVisible():
        dialog.close()
    main.close()


def open_dialog(window: MainWindow, qtbot: QtBot) -> DuplicatesDialog:
    action = window.duplicates_action  # type: ignore[attr-defined]
    assert action in window.organize_menu.actions()
    assert action.text() == "Find &duplicates…"
    action.trigger()
    dialog = window.duplicates_dialog  # type: ignore[attr-defined]
    assert isinstance(dialog, DuplicatesDialog)
    qtbot.waitExposed(dialog)
    return dialog


def press_when_asked(button: QMessageBox.StandardButton) -> Callable[[], None]:
    def press() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            box.button(button).click()
        else:
            QTimer.singleShot(20, press)

    return press


def rows(dialog: DuplicatesDialog) -> list[QTreeWidgetItem]:
    found = []
    for index in range(dialog.tree.topLevelItemCount()):
        top = dialog.tree.topLevelItem(index)
        assert top is not None
        found += [child for i in range(top.childCount()) if (child := top.child(i)) is not None]
    return found


def row_of(dialog: DuplicatesDialog, path: Path) -> QTreeWidgetItem:
    return next(row for row in rows(dialog) if row.text(1) == str(path))


def click_keep_box(dialog: DuplicatesDialog, qtbot: QtBot, row: QTreeWidgetItem) -> None:
    rect = dialog.tree.visualItemRect(row)
    qtbot.mouseClick(
        dialog.tree.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect.left() + 10, rect.center().y())
    )


def resolve(dialog: DuplicatesDialog, window: MainWindow, qtbot: QtBot) -> None:
    QTimer.singleShot(0, press_when_asked(QMessageBox.StandardButton.Ok))
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS, check_params_cb=lambda title: title == JOB_TITLE):
        qtbot.mouseClick(dialog.resolve_button, Qt.MouseButton.LeftButton)


def choose_mode(dialog: DuplicatesDialog, qtbot: QtBot, mode: str) -> None:
    dialog.mode_box.setFocus()
    while dialog.mode_box.currentData() != mode:
        qtbot.keyClick(dialog.mode_box, Qt.Key.Key_Down)


def test_the_copy_is_the_duplicate_the_links_are_one_file(
    window: MainWindow, files: Files, qtbot: QtBot
) -> None:
    dialog = open_dialog(window, qtbot)

    assert dialog.tree.topLevelItemCount() == 1
    assert "Group 1: 2 identical files" in dialog.tree.topLevelItem(0).text(0)  # type: ignore[union-attr]
    shown = {row.text(1): row for row in rows(dialog)}
    assert set(shown) == {str(files.lora), str(files.hard), str(files.copy)}  # the symlink is no row
    assert shown[str(files.hard)].text(5) == "linked (same file)"
    assert shown[str(files.lora)].checkState(0) == Qt.CheckState.Checked  # in its kind folder
    assert shown[str(files.copy)].checkState(0) == Qt.CheckState.Unchecked
    size = files.lora.stat().st_size
    assert (
        dialog.freed_label.text()
        == "1 path in 1 group to the trash: frees 1.2 MiB once the trash is emptied."
    )
    assert dialog.plan is not None
    assert dialog.plan.freed_bytes == size

    click_keep_box(dialog, qtbot, shown[str(files.copy)])

    assert shown[str(files.copy)].checkState(0) == Qt.CheckState.Checked
    assert shown[str(files.lora)].checkState(0) == Qt.CheckState.Unchecked
    assert dialog.freed_label.text().startswith("2 paths in 1 group to the trash")  # the LoRA and its link


def test_hard_links_free_the_copy_and_the_group_goes(
    window: MainWindow, library: Library, files: Files, qtbot: QtBot
) -> None:
    dialog = open_dialog(window, qtbot)
    choose_mode(dialog, qtbot, "hardlink")
    assert dialog.freed_label.text() == "1 path in 1 group to become hard links: frees 1.2 MiB."

    resolve(dialog, window, qtbot)

    assert len({p.stat().st_ino for p in (files.lora, files.hard, files.copy)}) == 1
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 0, timeout=JOB_MS)
    assert "No duplicate files" in dialog.summary.text()
    assert not dialog.resolve_button.isEnabled()
    assert library.duplicate_groups() == []


def test_trash_then_undo(window: MainWindow, library: Library, files: Files, qtbot: QtBot) -> None:
    dialog = open_dialog(window, qtbot)
    copy_row = row_of(dialog, files.copy)
    assert copy_row.checkState(0) == Qt.CheckState.Unchecked

    resolve(dialog, window, qtbot)

    assert not files.copy.exists()
    assert files.lora.exists()
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 0, timeout=JOB_MS)

    undo(library)
    dialog.reload()

    assert files.copy.exists()
    assert dialog.tree.topLevelItemCount() == 1


def test_the_context_menu_of_a_copy_shows_its_group(
    window: MainWindow, library: Library, files: Files, qtbot: QtBot
) -> None:
    from PySide6.QtWidgets import QMenu

    copy = library.get_by_path(files.copy)
    alone = library.get_by_path(files.webui / "models" / "Lora" / "detail_tweaker.safetensors")
    assert copy is not None
    assert alone is not None
    menu = QMenu()
    for add_section in window.context_menu_sections:
        add_section(menu, [copy])
    [entry] = [a for a in menu.actions() if a.objectName() == "showDuplicatesAction"]
    assert entry.text() == "Show its 1 duplicate… (1.2 MiB freeable)"

    entry.trigger()

    dialog = window.duplicates_dialog  # type: ignore[attr-defined]
    qtbot.waitExposed(dialog)
    assert dialog.tree.currentItem().text(1) == str(files.copy)
    files.copy.unlink()
    Scanner(library, workers=1).scan()
    empty = QMenu()
    for add_section in window.context_menu_sections:
        add_section(empty, [alone])
    assert not [a for a in empty.actions() if a.objectName() == "showDuplicatesAction"]


def test_a_copy_hard_linked_outside_the_library_shows_one_figure_everywhere(
    window: MainWindow, files: Files, qtbot: QtBot, tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror"  # a UI's folder outside the library (a mirror) holds the copy's bytes
    mirror.mkdir()
    os.link(files.copy, mirror / files.copy.name)
    said = "1.2 MiB in copies; 0 B freeable, because each copy is also hard-linked outside the library"

    dialog = open_dialog(window, qtbot)

    assert said in dialog.summary.text()
    group_line = dialog.tree.topLevelItem(0)
    assert group_line is not None
    assert "1.2 MiB in copies, 0 B freeable (SHA256" in group_line.text(0)
    assert said in group_line.toolTip(0)
    assert dialog.freed_label.text().startswith(
        "1 path in 1 group to the trash: 1.2 MiB in copies; frees 0 B once the trash is emptied, because "
        "each copy is also hard-linked outside the library"
    )
    assert "1.2 MiB freeable" not in dialog.summary.text()


def test_rows_have_room_and_the_linked_column_is_not_clipped(
    window: MainWindow, files: Files, qtbot: QtBot
) -> None:
    dialog = open_dialog(window, qtbot)
    tree = dialog.tree
    metrics = tree.fontMetrics()
    linked = COLUMNS.index("Linked")

    for row in rows(dialog):
        assert tree.visualItemRect(row).height() >= metrics.height() + 8
    hint = dialog.hints.topLevelItem(0)
    if hint is not None:
        assert dialog.hints.visualItemRect(hint).height() >= metrics.height() + 8
    widest = max(metrics.horizontalAdvance(row.text(linked)) for row in rows(dialog))
    assert widest > 0
    assert tree.header().sectionSize(linked) >= widest + 2 * metrics.averageCharWidth()
    right = tree.header().sectionViewportPosition(linked) + tree.header().sectionSize(linked)
    assert right <= tree.viewport().width()


def test_the_context_menu_of_several_identical_files_shows_their_duplicates(
    window: MainWindow, library: Library, files: Files, qtbot: QtBot
) -> None:
    from PySide6.QtWidgets import QMenu

    selected = [library.get_by_path(path) for path in (files.lora, files.hard, files.copy)]
    assert all(record is not None for record in selected)
    menu = QMenu()
    for add_section in window.context_menu_sections:
        add_section(menu, selected)  # type: ignore[arg-type]
    [entry] = [a for a in menu.actions() if a.objectName() == "showDuplicatesAction"]
    assert entry.text() == "Show duplicates… (1 group, 1.2 MiB freeable)"

    entry.trigger()

    dialog = window.duplicates_dialog  # type: ignore[attr-defined]
    qtbot.waitExposed(dialog)
    assert dialog.tree.currentItem().text(1) == str(files.lora)
