"""The board's hires fix controls and its plan, driven by real clicks and keys.

Pasted parameters fill the hires controls; the controls make the recipe's hires fix; the plan under the
board says what Render would do (the same lines as ``render --plan``) and follows the board's changes.
Nothing here renders.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QStyle, QStyleOptionGroupBox
from pytestqt.qtbot import QtBot

from core.render.hires import HiresFix
from desktop.compose import compose_tab
from desktop.compose.compose_tab import ComposeTab
from desktop.compose.hires_form import HiresForm
from tests.desktop.compose.test_compose_tab import service, tab  # noqa: F401 - the same fixtures
from tests.desktop.compose.test_sampler_selector import _pick
from tests.desktop.conftest import PopulatedLibrary

HIRES_TEXT = (
    "a cat\n"
    "Steps: 12, Sampler: Euler, CFG scale: 5, Seed: 42, Size: 512x768, Model: dreamshaper_8, "
    "Denoising strength: 0.45, Hires upscale: 1.5, Hires steps: 8, Hires upscaler: 4x-UltraSharp"
)


@pytest.fixture(autouse=True)
def _plan_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan follows the board 20 ms after a change instead of the user's 250 ms: the tests wait
    for the plan's lines, so only that wait shortens (the interval is read when the tab is built)."""
    monkeypatch.setattr(compose_tab, "PLAN_DELAY_MS", 20)


def _type(qtbot: QtBot, box: QAbstractSpinBox, text: str) -> None:
    """Select the box's text with the keyboard and type ``text``, then Tab away, as a user does."""
    box.setFocus()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    qtbot.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Tab)


def test_the_controls_make_the_hires_fix_and_say_its_size(qtbot: QtBot) -> None:
    form = HiresForm()
    qtbot.addWidget(form)
    form.show()
    assert form.hires() is None
    assert form.target.text() == "Off: one pass at the size above"

    qtbot.mouseClick(form, Qt.MouseButton.LeftButton, pos=_check_box(form))
    assert form.isChecked()
    _pick(qtbot, form.upscaler, "Latent (nearest-exact)")
    _type(qtbot, form.scale, "1.5")
    _type(qtbot, form.steps, "6")
    _type(qtbot, form.denoising, "0.35")

    assert form.hires() == HiresFix("Latent (nearest-exact)", scale=1.5, steps=6, denoising=0.35)
    assert form.target.text() == "Second pass at 768×768"
    _type(qtbot, form.resize_width, "1024")
    assert not form.scale.isEnabled()  # a size to resize to rules over the factor, as in A1111
    assert form.hires() == HiresFix(
        "Latent (nearest-exact)", scale=1.5, resize=(1024, 0), steps=6, denoising=0.35
    )
    assert form.target.text() == "Second pass at 1024×1024"


def _check_box(form: HiresForm) -> QPoint:
    """The centre of the group's check box, where the style draws it in the title row."""
    option = QStyleOptionGroupBox()
    form.initStyleOption(option)
    rect = form.style().subControlRect(
        QStyle.ComplexControl.CC_GroupBox, option, QStyle.SubControl.SC_GroupBoxCheckBox, form
    )
    return rect.center()


def test_pasted_hires_parameters_fill_the_controls_and_the_plan(
    tab: ComposeTab,  # noqa: F811 - the fixture imported above
    qtbot: QtBot,
) -> None:
    assert tab.paste_parameters(HIRES_TEXT)
    hires = tab.board.parameters.hires
    assert hires.isChecked()
    shown = (hires.upscaler.currentText(), hires.scale.value(), hires.steps.value(), hires.denoising.value())
    assert shown == ("4x-UltraSharp", 1.5, 8, 0.45)
    assert tab.board.recipe().hires == HiresFix("4x-UltraSharp", scale=1.5, steps=8, denoising=0.45)
    lines = tab.plan_view.lines
    assert "Hires fix: 4x-UltraSharp x1.5 -> 768x1152, 8 steps at denoising 0.45" in lines
    assert any(
        line.startswith("Refused: hires upscaler '4x-UltraSharp' is a model Atelier") for line in lines
    )
    assert (
        "Sampler: Euler, schedule Automatic (Uniform), 12 steps, CFG 5" in lines
    )  # what Automatic is for Euler

    qtbot.mouseClick(tab.render_button, Qt.MouseButton.LeftButton)
    assert not tab.busy
    assert tab.status_label.text().startswith("Cannot render: hires upscaler '4x-UltraSharp'")

    _pick(qtbot, hires.upscaler, "Lanczos")
    qtbot.waitUntil(lambda: any(line.startswith("Hires fix: Lanczos") for line in tab.plan_view.lines))
    assert not any(line.startswith("Refused:") for line in tab.plan_view.lines)


def test_the_plan_follows_the_board(
    tab: ComposeTab,  # noqa: F811 - the fixture imported above
    populated: PopulatedLibrary,
    qtbot: QtBot,
) -> None:
    tab.add_assets([populated.ids["dreamshaper_8"], populated.ids["pixelArtStyle"]])
    qtbot.waitUntil(lambda: any(line.startswith("LoRA: pixelArtStyle") for line in tab.plan_view.lines))
    assert tab.plan_view.lines[0].startswith("Model: dreamshaper_8")
    _type(qtbot, tab.board.parameters.steps, "33")
    qtbot.waitUntil(lambda: any(", 33 steps," in line for line in tab.plan_view.lines))
    qtbot.mouseClick(tab.plan_view.header, Qt.MouseButton.LeftButton)
    assert not tab.plan_view.area.isVisible()
