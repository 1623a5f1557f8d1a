"""Before the window: a catalog that cannot be opened is shown in a dialog, and each of its buttons does
what it says, clicked for real: a new empty library (the damaged file kept aside), another catalog file
copied in through Qt's file dialog (the file clicked in its list, then Open), or quitting with nothing
changed. On a real profile (``AppContext`` on a tmp data folder)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialogButtonBox,
    QFileDialog,
    QFileSystemModel,
    QLabel,
    QListView,
    QMessageBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.context import AppContext
from app.secrets import TokenStore
from catalog.library import Library
from desktop.catalog_check import settle_catalog
from desktop.dialogs.catalog_problem_dialog import CatalogProblemDialog
from tests.desktop.conftest import populate

CATALOG = "catalog.sqlite3"
GARBAGE = b"these bytes were a catalog once " * 64


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    data = tmp_path / "data"
    data.mkdir()
    (data / CATALOG).write_bytes(GARBAGE)
    made = AppContext(data, tokens=TokenStore(tmp_path / "tokens", use_keyring=False))
    yield made
    made.close()


def when_shown(kind: type[QWidget], then: Callable[[QWidget], None]) -> None:
    """Run ``then`` on the modal ``kind`` as soon as it is on screen (the dialogs block in ``exec``)."""

    def poll() -> None:
        shown = QApplication.activeModalWidget()
        if isinstance(shown, kind) and shown.isVisible():
            then(shown)
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)


def click(button: QAbstractButton) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def test_start_a_new_empty_library_keeps_the_damaged_file(qtbot: QtBot, context: AppContext) -> None:
    seen: dict[str, str] = {}

    def choose_new(dialog: QWidget) -> None:
        assert isinstance(dialog, CatalogProblemDialog)
        seen["message"] = dialog.message.text()
        click(dialog.new_button)

    when_shown(CatalogProblemDialog, choose_new)
    assert settle_catalog(context) is True

    catalog = context.data_dir / CATALOG
    assert seen["message"].startswith(f"The catalog {catalog} is not an Atelier catalog")
    kept = list(context.data_dir.glob(f"{CATALOG}.set-aside-*"))
    assert [path.read_bytes() for path in kept] == [GARBAGE]
    assert context.library.roots() == []
    assert context.catalog_problem() is None


def test_quit_changes_nothing_and_says_why(
    qtbot: QtBot, context: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    when_shown(CatalogProblemDialog, lambda dialog: click(dialog.quit_button))  # type: ignore[attr-defined]

    assert settle_catalog(context) is False

    assert sorted(path.name for path in context.data_dir.iterdir()) == [CATALOG]
    assert (context.data_dir / CATALOG).read_bytes() == GARBAGE
    assert capsys.readouterr().err.startswith(f"atelier: The catalog {context.data_dir / CATALOG} is not an")


def pick_in_file_dialog(path: Path) -> Callable[[QWidget], None]:
    """Click ``path`` in the file dialog's list (once its folder is listed), then click Open."""

    def pick(dialog: QWidget) -> None:
        assert isinstance(dialog, QFileDialog)
        assert Path(dialog.directory().absolutePath()) == path.parent  # it opens in the data folder
        view = dialog.findChild(QListView, "listView")
        files = dialog.findChild(QFileSystemModel)
        assert view is not None
        assert files is not None
        for _ in range(250):  # the folder is listed on a thread
            index = files.index(str(path))
            if index.isValid() and not view.visualRect(index).isEmpty():
                break
            QTest.qWait(20)
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center())
        buttons = dialog.findChild(QDialogButtonBox)
        assert buttons is not None
        choose = buttons.button(QDialogButtonBox.StandardButton.Open)
        assert choose is not None
        click(choose)

    return pick


def test_choose_another_catalog_file_copies_a_backup_in(
    qtbot: QtBot, context: AppContext, tmp_path: Path
) -> None:
    backup = context.data_dir / f"{CATALOG}.before-0008.bak"  # where Atelier's own backups are
    with Library.open(backup) as library:
        populate(library, tmp_path / "models")

    def choose(dialog: QWidget) -> None:
        assert isinstance(dialog, CatalogProblemDialog)
        when_shown(QFileDialog, pick_in_file_dialog(backup))
        click(dialog.choose_button)

    when_shown(CatalogProblemDialog, choose)
    assert settle_catalog(context) is True

    assert len(context.library.roots()) == 1
    assert context.library.facets().total == 7
    assert backup.exists()  # copied, not moved
    assert [path.read_bytes() for path in context.data_dir.glob(f"{CATALOG}.set-aside-*")] == [GARBAGE]


def test_a_chosen_file_that_is_no_catalog_is_refused_and_asked_again(
    qtbot: QtBot, context: AppContext, tmp_path: Path
) -> None:
    notes = context.data_dir / "notes.sqlite3"
    notes.write_text("just some notes")
    seen: list[str] = []

    def choose(dialog: QWidget) -> None:
        assert isinstance(dialog, CatalogProblemDialog)
        when_shown(QFileDialog, pick_in_file_dialog(notes))
        when_shown(QMessageBox, refused)
        click(dialog.choose_button)

    def refused(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        seen.append(box.text())
        when_shown(CatalogProblemDialog, lambda again: click(again.quit_button))  # type: ignore[attr-defined]
        QTest.keyClick(box, Qt.Key.Key_Return)

    when_shown(CatalogProblemDialog, choose)
    assert settle_catalog(context) is False

    assert seen == [
        f"The catalog {notes} is not an Atelier catalog: not an SQLite database (damaged or "
        "overwritten): choose another file."
    ]
    assert sorted(path.name for path in context.data_dir.iterdir()) == [CATALOG, "notes.sqlite3"]
    assert (context.data_dir / CATALOG).read_bytes() == GARBAGE


def test_a_deleted_catalog_is_asked_about_and_a_healthy_one_is_not(
    qtbot: QtBot, context: AppContext, tmp_path: Path
) -> None:
    catalog = context.data_dir / CATALOG
    catalog.unlink()
    shutil.rmtree(context.data_dir)
    assert settle_catalog(context) is True  # a first start: no dialog, the catalog is made on first use
    context.library.roots()
    context.close()
    catalog.unlink()  # lost after it was made: now it is asked about
    shown: list[str] = []

    def quit_after_reading(dialog: QWidget) -> None:
        assert isinstance(dialog, CatalogProblemDialog)
        shown.append(dialog.message.text())
        assert dialog.new_button.isEnabled()
        click(dialog.quit_button)

    when_shown(CatalogProblemDialog, quit_after_reading)
    assert settle_catalog(context) is False
    assert shown == [
        f"The catalog {catalog} is missing (it was there before). Restore it from a backup, or start a new "
        "empty library."
    ]


def test_a_catalog_from_a_newer_atelier_is_said_before_the_window_not_after(
    qtbot: QtBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # In a writable folder the window used to open empty with a traceback on stderr; the dialog now says
    # it first, and quitting leaves the newer catalog exactly as it was.
    import sqlite3

    data = tmp_path / "newer"
    Library.open(data / CATALOG).close()
    with sqlite3.connect(data / CATALOG) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    before = (data / CATALOG).read_bytes()
    context = AppContext(data, tokens=TokenStore(tmp_path / "tokens", use_keyring=False))
    seen: list[str] = []

    def read_and_quit(dialog: QWidget) -> None:
        seen.append(" ".join(label.text() for label in dialog.findChildren(QLabel)))
        click(dialog.quit_button)  # type: ignore[attr-defined]

    try:
        when_shown(CatalogProblemDialog, read_and_quit)
        assert settle_catalog(context) is False
    finally:
        context.close()
    assert "newer version of Atelier (schema 0099)" in seen[0]
    assert (data / CATALOG).read_bytes() == before
    assert "newer version of Atelier" in capsys.readouterr().err
