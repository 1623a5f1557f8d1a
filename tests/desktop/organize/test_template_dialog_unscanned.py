"""Organize by template… in an A1111 install, into a folder A1111 does not scan (``o/{kind}``): the live
preview shows every file as a conflict with the reason before Apply, Apply has nothing to move, and the
files stay in the library (they were moved and then "missing" at the next scan)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from catalog.library import Library
from core.taxonomy import LibraryLayout
from desktop.main_window import MainWindow
from tests.app.organize.template_library import linked_lora, open_library
from tests.desktop.conftest import ServicesFactory
from tests.desktop.organize.test_template_dialog import (
    TemplateSettings,
    _open,
    _plan_soon,
    _rows,
    _type_template,
)

__all__ = ["_plan_soon"]  # the template dialog tests' short plan delay applies here too


@pytest.fixture
def a1111_window(
    tmp_path: Path, make_services: ServicesFactory, trash_home: Path, qtbot: QtBot
) -> Iterator[tuple[MainWindow, Path]]:
    root = tmp_path / "webui"
    root.mkdir()
    (root / "webui.py").write_text("# A1111\n")
    (root / "models" / "Stable-diffusion").mkdir(parents=True)
    linked_lora(root / "models" / "Lora")
    library: Library = open_library(tmp_path / "data", root, layout=LibraryLayout.A1111)
    main = MainWindow(make_services(library, settings=TemplateSettings()))
    qtbot.addWidget(main)
    main.resize(1360, 860)
    main.show()
    qtbot.waitExposed(main)
    try:
        yield main, root.resolve()
    finally:
        main.close()
        library.close()


def test_the_preview_refuses_a_folder_a1111_does_not_scan(
    a1111_window: tuple[MainWindow, Path], qtbot: QtBot
) -> None:
    window, root = a1111_window
    dialog = _open(window, qtbot)
    _type_template(dialog, qtbot, "o/{kind}")

    (row,) = _rows(dialog)
    source, _target, note, conflict = row
    assert source == "models/Lora/detail_tweaker.safetensors"
    assert conflict
    assert note == f"{root / 'o'} is not scanned in an AUTOMATIC1111 folder: put models under models/"
    assert not dialog.apply_button.isEnabled()
    assert "1 conflict" in dialog.summary_label.text()
    assert (root / "models" / "Lora" / "detail_tweaker.safetensors").is_file()

    _type_template(dialog, qtbot, "models/Lora/{kind}/{file_name}")
    assert not [row for row in _rows(dialog) if row[3]]
    assert dialog.apply_button.isEnabled()
