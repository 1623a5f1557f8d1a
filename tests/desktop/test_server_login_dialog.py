"""The window started with a wrong password for the catalog's server (``--catalog
postgresql://user:wrong@host/db``): before the window, a dialog says the server refused the login (not
"try again once the server answers": the server answers) and asks for the password. A password typed and
tried again that the server refuses too asks again; the right one opens the window on the server's
catalog and is kept with the other secrets (as ``--catalog`` keeps one), a refused one never is. Real
widgets, real keys and clicks, against the tests' PostgreSQL server (its role has a password)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from app.context import AppContext
from app.secrets import TokenStore
from catalog.catalog_url import create_server_engine, parse, secret_key, split_password
from catalog.library import Library
from desktop.dialogs.server_login_dialog import ServerLoginDialog
from desktop.launch import open_window
from tests.desktop.conftest import populate


def _when_shown(answer: Callable[[ServerLoginDialog], None], rounds: list[str]) -> None:
    """Calls ``answer`` with the login dialog once it is up (it runs its own event loop); a server box
    (the "try again once it answers" one) showing instead is recorded, and quit."""

    def look() -> None:
        shown = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
        boxes = [w for w in shown if isinstance(w, QMessageBox)]
        for box in boxes:
            rounds.append(f"message box: {box.text()} {box.informativeText()}")
            box.reject()
            return
        dialogs = [w for w in shown if isinstance(w, ServerLoginDialog)]
        if not dialogs:
            QTimer.singleShot(50, look)
            return
        (dialog,) = dialogs
        rounds.append(f"{dialog.message.text()} | {dialog.advice.text()}")
        answer(dialog)

    QTimer.singleShot(50, look)


def test_a_refused_password_is_asked_for_and_the_right_one_opens_and_is_kept(
    qtbot: QtBot, pg_catalog_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATELIER_CATALOG_URL", raising=False)
    location = parse(pg_catalog_url)
    assert location.url is not None
    assert location.server is not None
    seeded = Library.on_server(create_server_engine(location.url), tmp_path / "seed", str(location))
    populate(seeded, tmp_path / "models")
    seeded.close()
    bare, password = split_password(location.url)
    assert password
    wrong = pg_catalog_url.replace(f":{password}@", ":wrong@")
    assert wrong != pg_catalog_url
    data = tmp_path / "profile"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps({"first_start_done": True}))
    rounds: list[str] = []

    def still_wrong(dialog: ServerLoginDialog) -> None:
        assert not dialog.try_again_button.isEnabled()  # the empty password was refused already
        assert dialog.heading.text() == "The catalog's server refused the password"
        qtbot.keyClicks(dialog.password_field, "still-wrong")
        qtbot.mouseClick(dialog.try_again_button, Qt.MouseButton.LeftButton)
        _when_shown(right, rounds)

    def right(dialog: ServerLoginDialog) -> None:
        assert dialog.password_field.text() == ""  # asked anew, the refused one not offered again
        assert dialog.heading.text() == "The catalog's server refused that password too"  # said, not silent
        qtbot.keyClicks(dialog.password_field, password)
        qtbot.keyClick(dialog.password_field, Qt.Key.Key_Return)

    _when_shown(still_wrong, rounds)
    context = AppContext(data, catalog=wrong, tokens=TokenStore(data, use_keyring=False))
    window = open_window(context, ["atelier"])
    try:
        assert window is not None, rounds
        qtbot.addWidget(window)
        assert len(rounds) == 2, rounds
        for said in rounds:
            assert said.startswith(f"{parse(wrong)} answered: "), said
            assert "password authentication failed" in said
            assert "Type the password" in said
            assert "once the server answers" not in said
            assert "wrong" not in said.replace(str(parse(wrong)), "")
            assert password not in said
        qtbot.waitUntil(lambda: window.model.rowCount() == 7, timeout=10000)
        assert context.server_catalog is not None  # the server's catalog, not this computer's
        kept = TokenStore(data, use_keyring=False).get(secret_key(bare))
        assert kept == password
    finally:
        if window is not None:
            window.close()
        context.close()


def test_a_refused_login_can_open_this_computers_catalog_or_quit(
    qtbot: QtBot, pg_catalog_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATELIER_CATALOG_URL", raising=False)
    location = parse(pg_catalog_url)
    assert location.url is not None
    _, password = split_password(location.url)
    wrong = pg_catalog_url.replace(f":{password}@", ":wrong@")
    data = tmp_path / "profile"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps({"first_start_done": True}))
    rounds: list[str] = []

    _when_shown(lambda dialog: qtbot.mouseClick(dialog.quit_button, Qt.MouseButton.LeftButton), rounds)
    assert (
        open_window(AppContext(data, catalog=wrong, tokens=TokenStore(data, use_keyring=False)), ["atelier"])
        is None
    )
    (said,) = rounds
    assert "password authentication failed" in said

    with Library.open(data / "catalog.sqlite3") as local:  # the file this computer used before the server
        populate(local, tmp_path / "models")
    _when_shown(lambda dialog: qtbot.mouseClick(dialog.local_button, Qt.MouseButton.LeftButton), rounds)
    context = AppContext(data, catalog=wrong, tokens=TokenStore(data, use_keyring=False))
    window = open_window(context, ["atelier"])
    try:
        assert window is not None, rounds
        qtbot.addWidget(window)
        qtbot.waitUntil(lambda: window.model.rowCount() == 7, timeout=10000)
        assert context.server_catalog is None
    finally:
        if window is not None:
            window.close()
        context.close()
