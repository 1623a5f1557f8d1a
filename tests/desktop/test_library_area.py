"""The library's center without folders: a page saying what to do, with the button that does it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from catalog.library import Library
from desktop.main_window import MainWindow
from tests.desktop.conftest import ServicesFactory


def test_an_empty_library_offers_to_add_a_folder(
    tmp_path: Path, make_services: ServicesFactory, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = Library.open(tmp_path / "data" / "catalog.sqlite3")
    try:
        window = MainWindow(make_services(library))
        qtbot.addWidget(window)
        window.show()
        page = window.empty_library
        assert window.views.currentWidget() is page
        assert page.add_button.isVisible()
        assert page.add_button.text() == "Add library folder…"
        window.set_view_mode("table")  # no folder yet: the page stays
        assert window.views.currentWidget() is page

        models = tmp_path / "models"
        models.mkdir()
        # The system folder chooser is the one thing not driven here: it answers with ``models``.
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_args, **_kw: str(models))
        page.add_button.click()
        assert [root.path for root in library.roots()] == [str(models)]
        assert window.views.currentWidget() is window.table  # the view the user chose meanwhile
        window.close()
    finally:
        library.close()
