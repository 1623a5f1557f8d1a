"""The first-start offer and the settings dialog."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from desktop.dialogs.first_start_dialog import FirstStartDialog
from desktop.dialogs.settings_dialog import SettingsDialog
from desktop.theme import apply_theme
from tests.desktop.conftest import FakeSettings, PopulatedLibrary


def test_first_start_lists_discovered_folders_checked(qtbot: QtBot, tmp_path: Path) -> None:
    found = [(tmp_path / "sd" / "models" / "Lora", "a1111"), (tmp_path / "comfy" / "models", "comfyui")]
    dialog = FirstStartDialog(found)
    qtbot.addWidget(dialog)
    texts = [dialog.folders.item(i).text() for i in range(dialog.folders.count())]
    assert len(texts) == 2
    assert str(found[0][0]) in texts[0]
    assert "AUTOMATIC1111" in texts[0]
    assert "ComfyUI" in texts[1]
    assert dialog.chosen_paths() == [found[0][0], found[1][0]]
    dialog.folders.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert dialog.chosen_paths() == [found[1][0]]


def test_settings_round_trip(qtbot: QtBot, populated: PopulatedLibrary) -> None:
    settings = FakeSettings(thumbnail_size=160, hash_in_background=True, hash_workers=2, theme="system")
    dialog = SettingsDialog(settings, populated.library.roots())
    qtbot.addWidget(dialog)
    assert dialog.thumbnail_size.value() == 160
    assert dialog.hash_in_background.isChecked()
    assert dialog.hash_workers.value() == 2
    assert dialog.theme.currentData() == "system"
    assert dialog.folders.count() == 1
    assert str(populated.root_dir.resolve()) in dialog.folders.item(0).text()

    dialog.thumbnail_size.setValue(224)
    dialog.hash_in_background.setChecked(False)
    dialog.hash_workers.setValue(4)
    dialog.watch_folders.setChecked(True)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.accept()
    assert (settings.thumbnail_size, settings.hash_in_background, settings.hash_workers) == (224, False, 4)
    assert settings.theme == "dark"
    assert settings.watch_folders
    assert settings.saves == 1

    reopened = SettingsDialog(settings, populated.library.roots())
    qtbot.addWidget(reopened)
    assert reopened.thumbnail_size.value() == 224
    assert not reopened.hash_in_background.isChecked()
    assert reopened.theme.currentData() == "dark"


def test_renderer_settings(qtbot: QtBot) -> None:
    settings = FakeSettings()
    dialog = SettingsDialog(settings, [])
    qtbot.addWidget(dialog)
    assert dialog.render_device.currentData() == ""
    assert dialog.keep_checkpoints.text() == "only the current one"
    dialog.render_device.setCurrentIndex(dialog.render_device.findData("cpu"))
    dialog.keep_checkpoints.setValue(16)
    dialog.accept()
    assert (settings.render_device, settings.render_keep_checkpoints_gb) == ("cpu", 16.0)
    typed = SettingsDialog(settings, [])
    qtbot.addWidget(typed)
    assert typed.render_device.currentData() == "cpu"
    typed.render_device.setEditText("cuda:1")  # a second GPU: not in the list, typed by the user
    typed.accept()
    assert settings.render_device == "cuda:1"
    reopened = SettingsDialog(settings, [])
    qtbot.addWidget(reopened)
    assert reopened.render_device.currentText() == "cuda:1"


def test_settings_cancel_changes_nothing(qtbot: QtBot) -> None:
    settings = FakeSettings()
    dialog = SettingsDialog(settings, [])
    qtbot.addWidget(dialog)
    dialog.hash_workers.setValue(7)
    dialog.reject()
    assert settings.hash_workers == 2
    assert settings.saves == 0


def test_settings_folder_changes_are_reported(
    qtbot: QtBot, populated: PopulatedLibrary, tmp_path: Path
) -> None:
    dialog = SettingsDialog(FakeSettings(), populated.library.roots())
    qtbot.addWidget(dialog)
    dialog.choose_folder = lambda: tmp_path / "new"  # type: ignore[method-assign]
    dialog.add_folder_button.click()
    dialog.add_folder_button.click()  # the same folder twice is listed once
    assert dialog.added_paths() == [tmp_path / "new"]
    dialog.folders.setCurrentRow(0)
    dialog.remove_folder_button.click()
    assert dialog.removed_root_ids() == [populated.root.id]
    assert dialog.folders.count() == 1


def test_settings_rows_keep_their_height_where_the_screen_is_too_short_for_the_dialog(
    qtbot: QtBot, qapp: QApplication
) -> None:
    """Qt opens a dialog at most two thirds of the screen high and lays its rows out between their
    minimum and preferred heights: Settings' spin boxes lost their arrows and its combo boxes their
    text. Its pages scroll instead, every field at its preferred height, the dialog within the screen."""
    apply_theme(qapp, "light")  # the app's style sheet: its paddings are part of each field's height
    dialog = SettingsDialog(FakeSettings(), [])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    screen = dialog.screen().availableGeometry()
    assert dialog.frameGeometry().height() <= screen.height()
    fields = [*dialog.findChildren(QAbstractSpinBox), *dialog.findChildren(QComboBox)]
    assert len(fields) >= 5
    squeezed = [
        (type(f).__name__, f.height(), f.sizeHint().height())
        for f in fields
        if f.height() < f.sizeHint().height()
    ]
    assert squeezed == []
    page = dialog.pages.currentWidget()
    assert isinstance(page, QScrollArea)
    if screen.height() < dialog.sizeHint().height():
        assert page.verticalScrollBar().maximum() > 0, "what does not fit scrolls"


def _wheel(widget: QWidget, steps: int) -> None:
    """One notch of a mouse wheel per step over the middle of ``widget``, as Qt delivers it."""
    at = QPointF(widget.rect().center())
    for _ in range(abs(steps)):
        delta = QPoint(0, -120 if steps > 0 else 120)
        event = QWheelEvent(
            at,
            QPointF(widget.mapToGlobal(at.toPoint())),
            QPoint(),
            delta,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_the_settings_page_over_a_field_until_the_field_is_clicked(
    qtbot: QtBot, qapp: QApplication
) -> None:
    """A page that scrolls stopped on the first spin box under the pointer and changed its value."""
    apply_theme(qapp, "light")
    dialog = SettingsDialog(FakeSettings(), [])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    page = dialog.pages.currentWidget()
    assert isinstance(page, QScrollArea)
    bar = page.verticalScrollBar()
    if bar.maximum() == 0:
        pytest.skip("this screen shows the whole page: nothing to scroll")
    field = dialog.keep_checkpoints
    page.ensureWidgetVisible(field)
    bar.setValue(bar.minimum())
    before = field.value()

    _wheel(field, 1)  # down, over the field: the page scrolls, the field keeps its value
    assert field.value() == before
    assert bar.value() > bar.minimum()

    page.ensureWidgetVisible(field)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
    qtbot.mouseClick(field.lineEdit(), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(field.hasFocus, timeout=3000)
    _wheel(field, -1)  # up, the field chosen: the wheel is the field's
    assert field.value() != before
