"""The architecture combo of the real window offers the library's base-model labels under their family
(Pony and Illustrious under SDXL), chosen by mouse or keyboard: a label narrows the view to the files it
labels, its family still means every file of the family, and the labels follow the library's changes."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox
from pytestqt.qtbot import QtBot

from catalog.records import UserDataChanges
from core.taxonomy import Architecture
from desktop.main_window import MainWindow
from desktop.services import DesktopServices
from desktop.widgets.filter_bar import LABEL_INDENT
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory

WindowOpener = Callable[[DesktopServices], MainWindow]


def entries(combo: QComboBox) -> list[str]:
    return [combo.itemText(index) for index in range(combo.count())]


def shown(window: MainWindow) -> set[str]:
    return {
        record.file_name for row in range(window.model.rowCount()) if (record := window.model.record(row))
    }


def choose_with_the_mouse(qtbot: QtBot, combo: QComboBox, text: str) -> None:
    """Opens the combo's list with a click and clicks ``text`` in it, as a user does."""
    QTest.mouseClick(combo, Qt.MouseButton.LeftButton)
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=3000)
    qtbot.wait(QApplication.doubleClickInterval() + 50)  # a release sooner is the opening click's own
    index = combo.model().index(combo.findText(text), 0)
    view.scrollTo(index)
    rect = view.visualRect(index)
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
    )
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=3000)


def test_labels_under_their_family_filter_by_mouse_and_keyboard(
    qtbot: QtBot, populated: PopulatedLibrary, make_services: ServicesFactory, open_window: WindowOpener
) -> None:
    library, ids = populated.library, populated.ids
    library.update_user_data(ids["pixelArtStyle"], UserDataChanges(base_model_label="Pony"))
    library.update_user_data(ids["sdxl_vae"], UserDataChanges(base_model_label="Illustrious"))
    library.update_user_data(ids["dreamshaper_8"], UserDataChanges(base_model_label="SD 1.5"))
    window = open_window(make_services(library))
    combo = window.filter_bar.architecture
    qtbot.waitUntil(lambda: combo.findText("Pony") >= 0, timeout=5000)
    assert window.model.rowCount() == 7
    listed = entries(combo)
    sdxl, sd1 = listed.index("SDXL"), listed.index("SD 1.x")
    assert listed[sdxl + 1 : sdxl + 3] == ["Illustrious", "Pony"]
    assert listed[sd1 + 1] == "SD 1.5"
    pony = combo.findText("Pony")
    assert combo.itemData(pony, Qt.ItemDataRole.AccessibleTextRole) == "Pony, SDXL base model"
    assert combo.itemData(pony, Qt.ItemDataRole.ToolTipRole) == "SDXL files labelled Pony (1 file)"

    choose_with_the_mouse(qtbot, combo, "Pony")
    assert combo.currentText() == "Pony"
    assert shown(window) == {"pixelArtStyle.safetensors"}
    assert window.model.query.base_models == ("Pony",)
    assert window.model.query.architectures == (Architecture.SDXL,)

    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Up)  # the label above: Illustrious
    assert shown(window) == {"sdxl_vae.safetensors"}
    QTest.keyClick(combo, Qt.Key.Key_Up)  # the family itself: every SDXL file
    assert combo.currentText() == "SDXL"
    assert window.model.query.base_models == ()
    assert shown(window) == {"pixelArtStyle.safetensors", "sdxl_vae.safetensors"}

    choose_with_the_mouse(qtbot, combo, "SD 1.5")
    assert shown(window) == {"dreamshaper_8.safetensors"}


def test_the_labels_follow_the_library_and_keep_the_choice(
    qtbot: QtBot, populated: PopulatedLibrary, make_services: ServicesFactory, open_window: WindowOpener
) -> None:
    library, ids = populated.library, populated.ids
    library.update_user_data(ids["pixelArtStyle"], UserDataChanges(base_model_label="Pony"))
    window = open_window(make_services(library))
    combo = window.filter_bar.architecture
    qtbot.waitUntil(lambda: combo.findText("Pony") >= 0, timeout=5000)
    choose_with_the_mouse(qtbot, combo, "Pony")
    assert shown(window) == {"pixelArtStyle.safetensors"}

    library.update_user_data(ids["sdxl_vae"], UserDataChanges(base_model_label="NoobAI"))
    library.update_user_data(ids["pixelArtStyle"], UserDataChanges(base_model_label="Illustrious"))
    window.reload()  # what a finished job or the change feed does
    listed = entries(combo)
    sdxl = listed.index("SDXL")
    # Pony is still the choice (no file has it now: nothing shown), as a tag no file has any more.
    assert listed[sdxl + 1 : sdxl + 4] == ["Illustrious", "NoobAI", "Pony"]
    assert combo.currentText() == "Pony"
    assert shown(window) == set()
    choose_with_the_mouse(qtbot, combo, "NoobAI")
    assert shown(window) == {"sdxl_vae.safetensors"}


def test_a_label_is_drawn_indented_under_its_family(
    qtbot: QtBot, populated: PopulatedLibrary, make_services: ServicesFactory, open_window: WindowOpener
) -> None:
    populated.library.update_user_data(
        populated.ids["pixelArtStyle"], UserDataChanges(base_model_label="Pony")
    )
    window = open_window(make_services(populated.library))
    combo = window.filter_bar.architecture
    qtbot.waitUntil(lambda: combo.findText("Pony") >= 0, timeout=5000)
    QTest.mouseClick(combo, Qt.MouseButton.LeftButton)
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=3000)
    image = view.viewport().grab().toImage()

    def first_ink(text: str) -> int:
        """The left-most column of the entry's row whose colour is not the row's background."""
        rect = view.visualRect(combo.model().index(combo.findText(text), 0))
        y = rect.center().y()
        right = min(rect.right(), image.width() - 1) - 2
        background = image.pixelColor(QPoint(right, y))
        for x in range(max(rect.left(), 0), right):
            for dy in range(-4, 5):
                if image.pixelColor(QPoint(x, y + dy)) != background:
                    return x
        raise AssertionError(f"{text!r} drew nothing")

    assert first_ink("Pony") - first_ink("SDXL") >= LABEL_INDENT - 2
    combo.hidePopup()
