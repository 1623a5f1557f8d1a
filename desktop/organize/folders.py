"""The folders under each library root, read from the disk for the sidebar and the "Move to" menu.

The catalog only knows folders that hold a model, but a user moves files into folders they just made,
so the tree comes from ``os.scandir`` of the roots. Hidden folders, links to folders (a link into the
library would show it twice, or loop) and diffusers model folders (a model, not a place) are left out.
The walk is bounded (depth and count) and runs off the GUI thread: a root on a network share can be slow.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from catalog.records import AssetRecord, RootRecord
from catalog.stat_match import holds_nothing
from core.layouts import TOOL_NAMES, kind_hint_for
from core.taxonomy import AssetKind, describe_kind

MAX_DEPTH = 6
MAX_FOLDERS = 4000  # per root; a deeper or larger tree is cut (the chooser still reaches every folder)
_MODEL_FOLDER_MARKER = "model_index.json"  # a diffusers pipeline folder is one model


@dataclass(frozen=True, slots=True)
class FolderNode:
    """One folder and the folders in it, sorted by name (case-insensitively); ``missing`` when the
    folder is not there (a library folder on a drive that is not connected), ``empty`` when it holds
    nothing at all (the mount point of a drive or share that is not mounted, or a folder emptied)."""

    path: str
    name: str
    children: tuple[FolderNode, ...] = ()
    missing: bool = False
    empty: bool = False

    def walk(self) -> list[FolderNode]:
        """This folder's descendants, depth first (not this folder itself)."""
        found: list[FolderNode] = []
        for child in self.children:
            found.append(child)
            found.extend(child.walk())
        return found


def _subfolders(path: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            folders = [
                entry
                for entry in entries
                if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)
            ]
    except OSError:  # unreadable, or gone since the parent was listed
        return []
    return sorted(folders, key=lambda entry: entry.name.casefold())


def _is_model_folder(path: str) -> bool:
    return (Path(path) / _MODEL_FOLDER_MARKER).is_file()


def folder_tree(root: str, *, max_depth: int = MAX_DEPTH, max_folders: int = MAX_FOLDERS) -> FolderNode:
    """The folder tree under ``root`` (breadth-limited by ``max_folders``, depth by ``max_depth``)."""
    budget = [max_folders]

    def build(path: str, name: str, depth: int) -> FolderNode:
        if depth >= max_depth:
            return FolderNode(path, name)
        children: list[FolderNode] = []
        for entry in _subfolders(path):
            if budget[0] <= 0:
                break
            if _is_model_folder(entry.path):
                continue
            budget[0] -= 1
            children.append(build(entry.path, entry.name, depth + 1))
        return FolderNode(path, name, tuple(children))

    folder = Path(root)
    if not folder.is_dir():
        return FolderNode(root, folder.name or root, missing=True)
    tree = build(root, folder.name or root, 0)
    if not tree.children and holds_nothing(folder):
        return FolderNode(tree.path, tree.name, empty=True)
    return tree


class _Walk(QRunnable):
    def __init__(self, loader: FolderTreeLoader, generation: int, roots: Sequence[tuple[int, str]]) -> None:
        super().__init__()
        self._loader = loader
        self._generation = generation
        self._roots = list(roots)

    def run(self) -> None:
        trees = {root_id: folder_tree(path) for root_id, path in self._roots}
        self._loader._walked.emit(self._generation, trees)


class FolderTreeLoader(QObject):
    """Walks the roots' folders on a pool thread; ``loaded`` brings {root id: FolderNode} to the GUI.

    Only the newest request is delivered: a walk that a later request overtook is dropped.
    """

    loaded = Signal(object)  # dict[int, FolderNode]
    _walked = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._walked.connect(self._on_walked)
        self.trees: dict[int, FolderNode] = {}

    def request(self, roots: Sequence[tuple[int, str]]) -> None:
        """Walks ``roots`` ((root id, path) pairs) again."""
        self._generation += 1
        self._pool.start(_Walk(self, self._generation, roots))

    def _on_walked(self, generation: int, trees: dict[int, FolderNode]) -> None:
        if generation != self._generation:
            return
        self.trees = trees
        self.loaded.emit(trees)

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Blocks until the pending walks are done (shutdown and tests)."""
        return self._pool.waitForDone(timeout_ms)


def kind_folder_warning(records: Sequence[AssetRecord], folder: Path, root: RootRecord) -> str | None:
    """A hint when ``folder`` is where the root's UI reads another kind of model: "AUTOMATIC1111 will
    not load a LoRA from models/hypernetworks". Never a refusal: a user may sort files their own way.

    The folder's kind is the layout's own rule (``core.layouts.kind_hint_for``, as the scan uses it);
    files of unknown kind and plain folders (no UI reads them by kind) give no hint.
    """
    root_path = Path(root.path)
    folder_kind = kind_hint_for(root_path, root.layout, folder / "_")
    if folder_kind is None:
        return None
    kinds = {r.kind for r in records if r.kind not in (folder_kind, AssetKind.UNKNOWN)}
    if not kinds:
        return None
    what = describe_kind(next(iter(kinds))) if len(kinds) == 1 else "these files"
    try:
        where = folder.relative_to(root_path).as_posix()
    except ValueError:
        where = str(folder)
    tool = TOOL_NAMES[root.layout]
    return f"{tool} will not load {what} from {where} (it reads {describe_kind(folder_kind)} there)"
