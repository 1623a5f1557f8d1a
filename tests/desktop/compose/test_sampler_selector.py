"""The board offers sampler and schedule type apart, as A1111 1.9+ and Forge do, driven by real clicks."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox
from pytestqt.qtbot import QtBot

from core.render.recipe import Recipe
from desktop.compose.compose_tab import ComposeTab
from desktop.compose.parameters import ParametersForm
from tests.desktop.compose.test_compose_tab import service, tab  # noqa: F401 - the same fixtures
from tests.desktop.conftest import PopulatedLibrary


def _pick(qtbot: QtBot, box: QComboBox, text: str) -> None:
    """Open the combo with a mouse click and choose ``text`` with the keyboard, as a user does."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    view = box.view()
    qtbot.waitUntil(view.isVisible)
    index = box.findText(text)
    assert index >= 0, text
    view.setCurrentIndex(box.model().index(index, 0))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: box.currentText() == text)


def test_sampler_and_schedule_are_chosen_apart(qtbot: QtBot) -> None:
    form = ParametersForm()
    qtbot.addWidget(form)
    form.show()
    _pick(qtbot, form.sampler, "DPM++ 2M SDE")
    _pick(qtbot, form.schedule, "Exponential")
    recipe = form.apply_to(Recipe())
    assert (recipe.sampler, recipe.schedule) == ("DPM++ 2M SDE", "Exponential")
    assert "Karras" in [form.schedule.itemText(i) for i in range(form.schedule.count())]
    assert "DPM++ 2M Karras" not in [form.sampler.itemText(i) for i in range(form.sampler.count())]


def test_samplers_atelier_cannot_render_say_so_in_their_tooltip(qtbot: QtBot) -> None:
    form = ParametersForm()
    qtbot.addWidget(form)
    tip = form.sampler.itemData(form.sampler.findText("Restart"), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Atelier cannot render with sampler 'Restart' yet")
    assert form.sampler.itemData(form.sampler.findText("DPM++ 2M"), Qt.ItemDataRole.ToolTipRole) is None


def test_a_pasted_name_the_list_lacks_is_shown_as_written(qtbot: QtBot) -> None:
    form = ParametersForm()
    qtbot.addWidget(form)
    form.show_recipe(Recipe(sampler="Turbo Sampler", schedule="Karras"))
    assert form.sampler.currentText() == "Turbo Sampler"
    assert form.apply_to(Recipe()).sampler == "Turbo Sampler"  # kept; Render refuses it by name


def test_render_refuses_a_pasted_unrunnable_sampler_by_name(
    tab: ComposeTab,  # noqa: F811 - the fixture imported above
    populated: PopulatedLibrary,
    qtbot: QtBot,
) -> None:
    tab.add_assets([populated.ids["dreamshaper_8"]])
    form = tab.board.parameters
    _pick(qtbot, form.sampler, "Restart")
    qtbot.mouseClick(tab.render_button, Qt.MouseButton.LeftButton)
    assert not tab.busy
    status = tab.status_label.text()
    assert status.startswith("Cannot render: Atelier cannot render with sampler 'Restart' yet")
    assert form.sampler.currentText() == "Restart"  # never swapped for Euler a
