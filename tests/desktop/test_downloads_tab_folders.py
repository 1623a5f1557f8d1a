"""The Downloads tab on a fresh profile (no library folder yet) and with Hugging Face file URLs, driven
through its real widgets against loopback Civitai, Hub and file servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.context import AppContext
from app.secrets import TokenStore
from desktop.download_manager import DownloadManager
from desktop.tabs.downloads_tab import CHOOSE_FOLDER, ERROR_STYLE, NO_FOLDER_TEXT, DownloadsTab
from tests.app.download_sites import VERSION_ID, Sites, loopback_sites

TIMEOUT = 15_000


@pytest.fixture
def sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sites]:
    with loopback_sites(tmp_path) as made:
        for name, value in made.env.items():
            monkeypatch.setenv(name, value)
        yield made


@pytest.fixture
def context(tmp_path: Path, sites: Sites) -> Iterator[AppContext]:
    made = AppContext(tmp_path / "profile", tokens=TokenStore(tmp_path / "profile", use_keyring=False))
    yield made
    made.close()


@pytest.fixture
def tab(context: AppContext, qtbot: QtBot) -> Iterator[DownloadsTab]:
    manager = DownloadManager(context.downloads, lambda: 2)
    made = DownloadsTab(manager)
    qtbot.addWidget(made)
    manager.start()
    yield made
    manager.shutdown()


def test_with_no_library_folder_the_tab_says_once_how_to_add_one(
    tab: DownloadsTab, context: AppContext, qtbot: QtBot, sites: Sites
) -> None:
    tab.show()
    assert tab.feedback.text() == NO_FOLDER_TEXT
    assert tab.root_hint.text() == ""
    assert "`" not in tab.feedback.text()
    assert [tab.root_combo.itemText(i) for i in range(tab.root_combo.count())] == [CHOOSE_FOLDER]

    QTest.keyClicks(tab.target_field, f"civitai:{VERSION_ID}")
    QTest.mouseClick(tab.download_button, Qt.MouseButton.LeftButton)
    assert tab.feedback.text() == NO_FOLDER_TEXT
    assert tab.feedback.styleSheet() == ERROR_STYLE
    assert tab.root_hint.text() == ""
    assert context.downloads.list() == []

    with qtbot.waitSignal(tab.choose_folder_requested, timeout=1000):
        tab.root_combo.activated.emit(tab.root_combo.findText(CHOOSE_FOLDER))
    context.add_root(sites.root)  # what the window does with the folder the user picks
    tab.choose_root(str(sites.root))
    assert tab.root_combo.currentData() == str(sites.root)
    assert tab.feedback.text() == ""
    assert "first library folder added" in tab.root_hint.text()


def test_a_pasted_hugging_face_file_url_downloads_and_the_same_file_is_not_fetched_again(
    tab: DownloadsTab, context: AppContext, qtbot: QtBot, sites: Sites
) -> None:
    context.add_root(sites.root)
    tab.refresh_roots()
    url = f"{sites.hub.base_url}/someone/pixel-lora/resolve/main/pixel_lora.safetensors?download=true"
    QTest.keyClicks(tab.target_field, url)
    with qtbot.waitSignal(tab.manager.completed, timeout=TIMEOUT) as completed:
        QTest.keyClick(tab.target_field, Qt.Key.Key_Return)
    assert completed.args is not None
    path = Path(completed.args[1])
    assert path == sites.root / "models" / "Lora" / "pixel_lora.safetensors"
    asset = context.library.get_by_path(path)
    assert asset is not None

    QTest.keyClicks(tab.target_field, f"civitai:{VERSION_ID}")  # the same bytes, published on Civitai
    QTest.keyClick(tab.target_field, Qt.Key.Key_Return)
    qtbot.waitUntil(tab.download_button.isEnabled, timeout=TIMEOUT)
    assert tab.feedback.text() == f"Already in the library: {path} (#{asset.id})"
    assert tab.feedback.styleSheet() != ERROR_STYLE
    assert len(context.downloads.list()) == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["pixel_lora.safetensors"]
