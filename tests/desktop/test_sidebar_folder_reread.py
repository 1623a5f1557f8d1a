"""The FOLDERS tree keeps a library folder's sub-folders when the folder trees arrive read for other
places than the ones shown: a walk asked with the roots as they were at another moment (a shared folder
mapped elsewhere by `roots map` while the window is open, or read while the mapping was missing, over
the change feed). The sidebar asks the shown roots to be read again, once, instead of leaving the root
without its ▸ until a restart (t16b finding 7). Real folders, the real tree loader, the real model."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from catalog.library import Library
from desktop.models.sidebar_model import Section, SidebarModel
from desktop.organize.folders import FolderTreeLoader, folder_tree


def test_trees_read_for_another_place_are_read_again_for_the_shown_one(qtbot: QtBot, tmp_path: Path) -> None:
    before = tmp_path / "mnt-old" / "sd"  # where the folder was when the walk was asked
    (before / "old-only").mkdir(parents=True)
    now = tmp_path / "mnt" / "sd"  # where it is now, as the sidebar shows it
    (now / "loras").mkdir(parents=True)
    (now / "checkpoints").mkdir()
    with Library.open(tmp_path / "data" / "catalog.sqlite3") as library:
        root = library.add_root(now, name="sd")
        model = SidebarModel()
        loader = FolderTreeLoader()
        loader.loaded.connect(model.set_folders)
        asked: list[list[str]] = []
        model.roots_changed.connect(lambda roots: asked.append([r.path for r in roots]))
        model.roots_changed.connect(lambda roots: loader.request([(r.id, r.path) for r in roots]))
        model.set_facets(library.facets(), library.roots())
        assert loader.wait()
        qtbot.waitUntil(lambda: _children(model) == ["checkpoints", "loras"], timeout=5000)

        model.set_folders({root.id: folder_tree(str(before))})  # a walk of the old place lands last

        assert asked[-1] == [str(now)]
        assert loader.wait()
        qtbot.waitUntil(lambda: _children(model) == ["checkpoints", "loras"], timeout=5000)
        loader.loaded.disconnect(model.set_folders)  # from now on no walk gives the shown folder's tree
        model.set_folders({root.id: folder_tree(str(before))})
        calls = len(asked)
        assert asked[-1] == [str(now)]
        model.set_folders({root.id: folder_tree(str(before))})  # still not matching: not chased forever
        assert len(asked) == calls


def _children(model: SidebarModel) -> list[str]:
    root_item = model.item(int(Section.FOLDERS)).child(0)
    return [root_item.child(row).text() for row in range(root_item.rowCount())]
