"""The organize window tests: a real MainWindow over a real Library of tmp files, a per-test trash.

``real_drag`` tests reuse the compose tests' mechanism (a child pytest on Qt's ``minimal`` platform when
the session runs ``offscreen``, whose drags end at once): its hooks are imported here so they apply to
this folder too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from tests.desktop.compose.conftest import pytest_configure, pytest_runtest_call
from tests.desktop.conftest import PopulatedLibrary, ServicesFactory
from tests.trash import own_trash

__all__ = ["pytest_configure", "pytest_runtest_call"]


@pytest.fixture
def trash_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``XDG_DATA_HOME`` in the test's folder: send2trash puts files in ``<it>/Trash``, not the user's."""
    return own_trash(monkeypatch, tmp_path / "xdg-data")


@pytest.fixture
def window(
    populated: PopulatedLibrary, make_services: ServicesFactory, trash_home: Path, qtbot: QtBot
) -> Iterator[MainWindow]:
    (populated.root_dir / "styles").mkdir()
    (populated.root_dir / "styles" / "pixel").mkdir()
    (populated.root_dir / "checkpoints").mkdir()
    main = MainWindow(make_services(populated.library))
    qtbot.addWidget(main)
    main.resize(1360, 860)
    main.move(0, 0)
    main.show()
    qtbot.waitExposed(main)
    qtbot.waitUntil(lambda: main.sidebar_model.folder_tree(populated.root.id) is not None, timeout=5000)
    yield main
    main.close()
