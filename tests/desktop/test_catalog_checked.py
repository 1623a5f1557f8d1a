"""A window that closes on its catalog records it as checked, so the next start draws its first frame
without reading the schema revision (no ``sqlite3`` before the frame); a catalog written since, by a
newer Atelier say, is read again and refused before the window, as it always was.

Run as the user runs it: ``launch_gui`` (what ``main.py`` calls) in fresh interpreters on a real data
folder, the window closed with its own close once complete.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from app.context import AppContext
from app.secrets import TokenStore
from catalog import db_file
from catalog.db_file import catalog_fingerprint, known_revisions
from catalog.errors import SchemaTooNewError
from catalog.library import Library
from desktop.catalog_check import catalog_problem
from tests.desktop.conftest import populate
from tests.desktop.fresh_process import last_line_of

CATALOG = "catalog.sqlite3"

LAUNCH_AND_CLOSE = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QEvent, QObject, QTimer
    from desktop.app import create_application
    from desktop.launch import launch_gui
    from desktop.main_window import MainWindow

    app = create_application(["atelier"])  # launch_gui goes on with this one
    seen = {}

    class FirstFrame(QObject):
        def eventFilter(self, watched, event):
            if isinstance(watched, MainWindow) and event.type() == QEvent.Type.Paint and "frame" not in seen:
                seen["sqlite3 at the first frame"] = "sqlite3" in sys.modules
                seen["frame"] = True
                watched.when_ready(lambda: QTimer.singleShot(0, lambda: close(watched)))
            return False

    def close(window):
        seen["rows"] = window.model.rowCount()
        window.close()

    first_frame = FirstFrame()
    app.installEventFilter(first_frame)
    QTimer.singleShot(60_000, app.quit)
    seen["exit"] = launch_gui(sys.argv[1], ["atelier"])
    print(json.dumps(seen))
    """
)


def _launch_and_close(data: Path) -> dict[str, object]:
    seen = json.loads(last_line_of(LAUNCH_AND_CLOSE, str(data), timeout=90))
    assert isinstance(seen, dict)
    assert seen["exit"] == 0
    return seen


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "profile"
    library = Library.open(folder / CATALOG)
    try:
        populate(library, tmp_path / "models")
    finally:
        library.close()
    (folder / "settings.json").write_text(json.dumps({"first_start_done": True}))
    return folder


def _checked(data: Path) -> str:
    return str(json.loads((data / "settings.json").read_text()).get("catalog_checked", ""))


def test_a_window_closed_on_its_catalog_lets_the_next_start_draw_without_reading_its_schema(
    data: Path,
) -> None:
    first = _launch_and_close(data)
    assert first["sqlite3 at the first frame"] is True, "never closed on it: the revision is read"
    rows = first["rows"]
    assert isinstance(rows, int)
    assert rows > 0
    assert _checked(data) == f"{known_revisions()[-1]}|{catalog_fingerprint(data / CATALOG)}"

    returning = _launch_and_close(data)
    assert returning["sqlite3 at the first frame"] is False
    assert returning["rows"] == rows, "the rows come as before, read once the frame is drawn"
    assert _checked(data).endswith(f"|{catalog_fingerprint(data / CATALOG)}")


def test_a_catalog_a_newer_atelier_wrote_since_is_read_again_and_refused_before_the_window(
    data: Path, tmp_path: Path
) -> None:
    _launch_and_close(data)
    recorded = _checked(data)
    assert recorded
    with closing(sqlite3.connect(data / CATALOG)) as newer, newer:  # a migration that changes no table
        newer.execute("UPDATE alembic_version SET version_num = '0099'")
    assert catalog_fingerprint(data / CATALOG) != recorded

    context = AppContext(data, tokens=TokenStore(tmp_path / "tokens", use_keyring=False))
    try:
        assert not context.catalog_as_checked()
        problem = catalog_problem(context)
        assert isinstance(problem, SchemaTooNewError)
        assert "schema 0099" in str(problem)
        context.remember_catalog_checked()  # a window that closed on it would forget the record
    finally:
        context.close()
    assert _checked(data) == ""


def test_a_catalog_a_newer_atelier_migrated_and_closed_on_is_still_refused_before_the_window(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newer Atelier (this code with a migration more) migrates the catalog and records it as it closes,
    in the same key: the file's fingerprint matches, but under a revision this Atelier does not know, so the
    revision is read again and the catalog refused before the window."""
    _launch_and_close(data)
    tokens = TokenStore(tmp_path / "tokens", use_keyring=False)
    with closing(sqlite3.connect(data / CATALOG)) as newer, newer:
        newer.execute("UPDATE alembic_version SET version_num = '0099'")
    ours = db_file.known_revisions()
    with monkeypatch.context() as newer_atelier:
        newer_atelier.setattr(db_file, "known_revisions", lambda: (*ours, "0099"))
        closing_newer = AppContext(data, tokens=tokens)
        closing_newer.remember_catalog_checked()  # what the newer window does as it closes
        closing_newer.close()
    assert _checked(data).startswith("0099|")

    context = AppContext(data, tokens=tokens)
    try:
        assert not context.catalog_as_checked()
        problem = catalog_problem(context)
    finally:
        context.close()
    assert isinstance(problem, SchemaTooNewError)
    assert "schema 0099" in str(problem)
