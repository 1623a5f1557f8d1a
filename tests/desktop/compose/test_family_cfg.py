"""The board's CFG follows the checkpoint's family default (``Family.default_cfg``), as the CLI does:
1 for Flux.1 (its distilled guidance steers) and for Z-Image (the released Turbo is distilled), A1111's 7
for SD; a CFG the user typed is kept when the checkpoint changes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from core.taxonomy import Architecture
from desktop.compose.parameters import ParametersForm


def test_the_cfg_follows_the_family_default_and_keeps_the_users(qtbot: QtBot) -> None:
    form = ParametersForm()
    qtbot.addWidget(form)
    form.show()
    assert form.cfg.value() == 7.0

    form.set_family(Architecture.Z_IMAGE)
    assert form.cfg.value() == 1.0
    form.set_family(Architecture.FLUX1)
    assert form.cfg.value() == 1.0
    form.set_family(Architecture.SDXL)
    assert form.cfg.value() == 7.0

    # A value the user typed stays through a change of family.
    form.set_family(Architecture.Z_IMAGE)
    form.cfg.selectAll()
    QTest.keyClicks(form.cfg, "4")
    QTest.keyClick(form.cfg, Qt.Key.Key_Tab)
    assert form.cfg.value() == 4.0
    form.set_family(Architecture.SD1)
    assert form.cfg.value() == 4.0
