"""The Downloads tab on a computer sharing its catalog with another one: the folder a download goes to
is this computer's own path, never the other computer's.

A catalog shared by two computers (one SQLite file opened as each, as on shared storage): computer A
added the library folder; this profile is computer B. Until B says where it reaches the folder, the
tab does not offer it (its stored path is A's); once B maps it, the tab and the line under it say B's
path. Shown through the tab's real ``showEvent`` (the folders are read when it is shown). The Settings
folder list names the folder B has not mapped as such, not by A's path alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.context import AppContext
from app.secrets import TokenStore
from catalog.library import Library
from catalog.machine_paths import Machine
from core.taxonomy import LibraryLayout
from desktop.dialogs.settings_dialog import SettingsDialog
from desktop.dialogs.sites_page import SitesPage
from desktop.download_manager import DownloadManager
from desktop.tabs.downloads_tab import CHOOSE_FOLDER, UNMAPPED_TEXT, DownloadsTab

A = Machine("0a0a0a0a-0000-4000-8000-00000000000a", "studio-a")


@pytest.fixture
def on_b(tmp_path: Path, qtbot: QtBot) -> Iterator[tuple[AppContext, DownloadsTab, Path]]:
    """This profile (computer B) and its Downloads tab; computer A added ``nas/models`` to the catalog."""
    context = AppContext(tmp_path / "profile", tokens=TokenStore(tmp_path / "profile", use_keyring=False))
    on_a = Library.open(context.catalog_path, A)
    folder_on_a = tmp_path / "nas" / "models"
    folder_on_a.mkdir(parents=True)
    on_a.add_root(folder_on_a, LibraryLayout.FLAT)
    manager = DownloadManager(context.downloads, lambda: 2)
    tab = DownloadsTab(manager)
    qtbot.addWidget(tab)
    try:
        yield context, tab, folder_on_a
    finally:
        manager.shutdown()
        on_a.close()
        context.close()


def _offered(tab: DownloadsTab) -> list[str]:
    return [tab.root_combo.itemText(i) for i in range(tab.root_combo.count())]


def test_a_shared_folder_is_offered_at_this_computers_own_path(
    on_b: tuple[AppContext, DownloadsTab, Path], qtbot: QtBot, tmp_path: Path
) -> None:
    context, tab, folder_on_a = on_b
    tab.show()
    qtbot.waitExposed(tab)
    assert _offered(tab) == [CHOOSE_FOLDER]  # A's path is not a folder of this computer
    assert str(folder_on_a) not in tab.root_hint.text()
    assert tab.feedback.text() == UNMAPPED_TEXT  # mapping the shared folder is the way
    assert context.downloads.roots() == []

    here = tmp_path / "mnt" / "models"
    here.mkdir(parents=True)
    context.library.map_root("models", here, force=True)
    tab.hide()
    tab.show()  # shown again: the folders are read again
    assert _offered(tab) == [str(here), CHOOSE_FOLDER]
    assert tab.root_combo.currentData() == str(here)
    assert tab.root_hint.text().startswith(f"Into {here}: ")
    assert str(folder_on_a) not in tab.root_hint.text()
    assert context.downloads.default_root().path == str(here)
    assert tab.feedback.text() == ""


def test_the_settings_folder_list_says_a_shared_folder_is_not_mapped_here(
    on_b: tuple[AppContext, DownloadsTab, Path], qtbot: QtBot
) -> None:
    context, _tab, folder_on_a = on_b
    dialog = SettingsDialog(context.settings, context.library.roots())
    qtbot.addWidget(dialog)
    assert [dialog.folders.item(row).text() for row in range(dialog.folders.count())] == [
        f"models    —  not mapped on this computer (elsewhere: {folder_on_a})"
    ]
    sites = SitesPage(context.settings, context.tokens, context.library.roots())
    qtbot.addWidget(sites)
    offered = [sites.download_root.itemText(i) for i in range(sites.download_root.count())]
    assert offered == ["The first library folder added"]  # not A's path as a download folder here
