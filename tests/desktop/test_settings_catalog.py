"""The Settings dialog's catalog field: a PostgreSQL URL typed with real key events is saved to
settings.json without its password (which goes to the TokenStore, a 0600 file here); a URL that names no
server is said under the field and the dialog stays open; clearing the field goes back to the file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from app.live_settings import LiveSettings
from app.secrets import TokenStore
from app.settings import SettingsStore
from catalog.catalog_url import parse, secret_key
from desktop.dialogs.settings_dialog import SettingsDialog


def _dialog(qtbot: QtBot, data_dir: Path) -> tuple[SettingsDialog, LiveSettings]:
    settings = LiveSettings(SettingsStore(data_dir))
    dialog = SettingsDialog(settings, [], secrets=TokenStore(data_dir, use_keyring=False))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog, settings


def _type_url(dialog: SettingsDialog, text: str) -> None:
    field = dialog.catalog_url
    QTest.mouseClick(field, Qt.MouseButton.LeftButton)
    field.selectAll()
    QTest.keyClick(field, Qt.Key.Key_Delete)
    QTest.keyClicks(field, text)


def _press_ok(dialog: SettingsDialog) -> None:
    buttons = dialog.findChild(QDialogButtonBox)
    assert buttons is not None
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    QTest.mouseClick(ok, Qt.MouseButton.LeftButton)


def test_a_server_url_is_saved_without_its_password(qtbot: QtBot, tmp_path: Path) -> None:
    data_dir = tmp_path / "profile"
    dialog, settings = _dialog(qtbot, data_dir)
    assert dialog.catalog_url.text() == ""
    assert dialog.catalog_url.isEnabled()

    _type_url(dialog, "postgresql://studio:s3cret-Pw@nas.local:5433/atelier")
    _press_ok(dialog)

    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    saved = SettingsStore(data_dir).load().catalog_url
    assert saved == "postgresql://studio@nas.local:5433/atelier"
    assert "s3cret" not in (data_dir / "settings.json").read_text(encoding="utf-8")
    location = parse(saved)
    assert location.url is not None
    assert TokenStore(data_dir, use_keyring=False).get(secret_key(location.url)) == "s3cret-Pw"

    reopened, _ = _dialog(qtbot, data_dir)
    assert reopened.catalog_url.text() == saved  # shown as saved: no password to show
    _type_url(reopened, "")
    _press_ok(reopened)
    assert SettingsStore(data_dir).load().catalog_url == ""
    assert settings.catalog_url == saved  # the first dialog's object kept what it saved


def test_a_url_that_names_no_server_keeps_the_dialog_open(qtbot: QtBot, tmp_path: Path) -> None:
    data_dir = tmp_path / "profile"
    dialog, settings = _dialog(qtbot, data_dir)
    dialog.thumbnail_size.setValue(224)

    _type_url(dialog, str(tmp_path / "elsewhere.sqlite3"))
    _press_ok(dialog)

    assert dialog.isVisible()
    assert dialog.catalog_error.isVisible()
    assert "is not a server: write postgresql://" in dialog.catalog_error.text()
    assert settings.catalog_url == ""
    assert not (data_dir / "settings.json").exists()  # nothing saved while the field is wrong

    _type_url(dialog, "mysql://someone@db/atelier")
    _press_ok(dialog)
    assert dialog.isVisible()
    assert "not mysql" in dialog.catalog_error.text()

    _type_url(dialog, "postgresql://studio@nas.local/atelier")
    _press_ok(dialog)
    assert not dialog.isVisible()
    saved = SettingsStore(data_dir).load()
    assert (saved.catalog_url, saved.thumbnail_size) == ("postgresql://studio@nas.local/atelier", 224)
