"""The real window on a catalog on a PostgreSQL server, opened as ``main.py`` opens it (the catalog_url
setting, the password in the TokenStore): the library shows, typing searches the server, a rating and
tags given with real clicks and keys are in the server's catalog for another machine to read; a server
that cannot be reached is said before the window, which offers trying again (the window opens once the
server answers), this computer's own catalog or quitting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from app.context import AppContext
from app.secrets import TokenStore
from catalog.catalog_url import create_server_engine, parse, secret_key, split_password
from catalog.library import Library
from catalog.records import AssetQuery
from desktop.catalog_check import LOCAL_CATALOG_BUTTON, TRY_AGAIN_BUTTON
from desktop.launch import open_window
from desktop.main_window import MainWindow
from desktop.widgets.rating_widget import STAR_GAP, STAR_SIZE
from tests import pg_server
from tests.conftest import closed_loopback_url
from tests.desktop.conftest import PopulatedLibrary, populate


@pytest.fixture
def server(pg_catalog_url: str, tmp_path: Path) -> Iterator[tuple[str, PopulatedLibrary]]:
    """The server's catalog with the desktop tests' seven files, and the data folder of a machine whose
    settings name it (the password kept in its TokenStore, as the Settings dialog leaves it)."""
    location = parse(pg_catalog_url)
    assert location.url is not None
    library = Library.on_server(create_server_engine(location.url), tmp_path / "seed", str(location))
    populated = populate(library, tmp_path / "models")
    bare, password = split_password(location.url)
    data = tmp_path / "profile"
    data.mkdir()
    (data / "settings.json").write_text(
        json.dumps({"first_start_done": True, "catalog_url": bare.render_as_string(hide_password=False)})
    )
    TokenStore(data, use_keyring=False).set(secret_key(bare), password)
    try:
        yield str(data), populated
    finally:
        library.close()


@pytest.fixture
def window(
    server: tuple[str, PopulatedLibrary], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MainWindow]:
    monkeypatch.delenv("ATELIER_CATALOG_URL", raising=False)
    context = AppContext(server[0], tokens=TokenStore(Path(server[0]), use_keyring=False))
    assert context.server_catalog is not None
    shown = open_window(context, ["atelier"])
    assert shown is not None
    qtbot.addWidget(shown)
    qtbot.waitUntil(lambda: shown.model.rowCount() == 7, timeout=10000)
    try:
        yield shown
    finally:
        shown.close()
        context.close()


def test_search_and_an_edit_reach_the_server(
    qtbot: QtBot, window: MainWindow, server: tuple[str, PopulatedLibrary]
) -> None:
    _, populated = server
    assert window.status.count_label.text() == "7 models"

    qtbot.keyClicks(window.filter_bar.search, "pixel")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    assert window.status.count_label.text() == "1 of 7 models"

    asset_id = populated.ids["pixelArtStyle"]
    row = window.model.row_of(asset_id)
    assert row is not None
    window.select_row(row)
    details = window.details
    qtbot.waitUntil(lambda: details.record is not None and details.record.id == asset_id, timeout=5000)
    star = QPoint(2 + 3 * (STAR_SIZE + STAR_GAP) + STAR_SIZE // 2, 2 + STAR_SIZE // 2)
    with qtbot.waitSignal(window.model.dataChanged):
        qtbot.mouseClick(details.rating, Qt.MouseButton.LeftButton, pos=star)
    assert details.tags.words() == ("style",)
    details.tags.setFocus()
    details.tags.selectAll()
    qtbot.keyClicks(details.tags, "style, studio, ink")
    qtbot.keyClick(details.tags, Qt.Key.Key_Return)

    other_machine = populated.library  # the server's catalog, opened on its own engine
    qtbot.waitUntil(lambda: other_machine.get(asset_id).tags == ("style", "studio", "ink"), timeout=5000)  # type: ignore[union-attr]
    assert other_machine.get(asset_id).rating == 4  # type: ignore[union-attr]
    assert other_machine.search_ids(AssetQuery(text="studio")) == [asset_id]


def _answer_when_asked(qtbot: QtBot, button_text: str, seen: list[str]) -> None:
    """Clicks ``button_text`` in the message box once it is up (it runs its own event loop)."""

    def click() -> None:
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        if not boxes:
            QTimer.singleShot(50, click)
            return
        (box,) = boxes
        seen.append(box.text())
        (button,) = [b for b in box.buttons() if b.text() == button_text]
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(50, click)


def test_an_unreachable_server_offers_this_computers_catalog(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATELIER_CATALOG_URL", raising=False)
    data = tmp_path / "profile"
    data.mkdir()
    port = int(closed_loopback_url().rsplit(":", 1)[1])
    url = f"postgresql://studio@127.0.0.1:{port}/atelier"
    (data / "settings.json").write_text(json.dumps({"first_start_done": True, "catalog_url": url}))

    seen: list[str] = []
    _answer_when_asked(qtbot, "Quit", seen)
    assert open_window(AppContext(data, tokens=TokenStore(data, use_keyring=False)), ["atelier"]) is None
    assert seen[0].startswith(f"The catalog {url} could not be opened: connection failed")
    assert "Connection refused" in seen[0]

    with Library.open(data / "catalog.sqlite3") as local:  # the file this computer used before the server
        populate(local, tmp_path / "models")
    context = AppContext(data, tokens=TokenStore(data, use_keyring=False))
    _answer_when_asked(qtbot, LOCAL_CATALOG_BUTTON, seen)
    shown = open_window(context, ["atelier"])
    try:
        assert shown is not None
        qtbot.addWidget(shown)
        qtbot.waitUntil(lambda: shown.model.rowCount() == 7, timeout=10000)
        assert context.server_catalog is None
        assert json.loads((data / "settings.json").read_text())["catalog_url"] == url  # kept for next time
    finally:
        if shown is not None:
            shown.close()
        context.close()


def test_try_again_opens_the_window_once_the_server_answers(
    qtbot: QtBot,
    server: tuple[str, PopulatedLibrary],
    pg: pg_server.PgServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ATELIER_CATALOG_URL", raising=False)
    data = Path(server[0])
    down = pg_server.stopped(pg)
    down.__enter__()
    asked: list[list[str]] = []

    def answer(round_: int) -> None:
        """Try again while the server is still down, then once it answers again."""
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        if not boxes:
            QTimer.singleShot(50, lambda: answer(round_))
            return
        (box,) = boxes
        asked.append([b.text() for b in box.buttons()])
        assert box.defaultButton().text() == TRY_AGAIN_BUTTON
        if round_ == 2:
            down.__exit__(None, None, None)  # the server is back
        (again,) = [b for b in box.buttons() if b.text() == TRY_AGAIN_BUTTON]
        qtbot.mouseClick(again, Qt.MouseButton.LeftButton)
        if round_ == 1:
            QTimer.singleShot(50, lambda: answer(2))

    QTimer.singleShot(50, lambda: answer(1))
    context = AppContext(data, tokens=TokenStore(data, use_keyring=False))
    shown: MainWindow | None = None
    try:
        shown = open_window(context, ["atelier"])
    finally:
        if len(asked) < 2:
            down.__exit__(None, None, None)
    try:
        assert shown is not None
        qtbot.addWidget(shown)
        assert len(asked) == 2  # asked again while it was down; the second try opened the window
        assert sorted(asked[0]) == sorted([TRY_AGAIN_BUTTON, LOCAL_CATALOG_BUTTON, "Quit"])
        qtbot.waitUntil(lambda: shown.model.rowCount() == 7, timeout=10000)
        assert context.server_catalog is not None  # the server's catalog, not this computer's
    finally:
        if shown is not None:
            shown.close()
        context.close()
