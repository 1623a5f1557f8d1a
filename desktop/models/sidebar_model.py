"""The sidebar's tree: where to look in the library, each entry with its count.

Sections (Library, Folders, Kinds, Architectures, Tags, Collections) are fixed top-level rows; their
entries carry a ``SidebarScope`` that the window turns into filters. A collection is also a place to drop
library rows on (they join it; see ``desktop.widgets.sidebar_view``). Counts come from ``Library.facets``
in one query. ``set_facets`` updates entries in place when a section's entries are unchanged (only the
counts moved), so a refresh after an edit keeps the user's selection and expansion in the tree.

Each library root in Folders holds the tree of its sub-folders (``set_folders``, read from the disk by
``desktop.organize.folders``); every root and folder carries its path in ``SidebarRole.FOLDER_PATH``,
which makes it a place to drop library rows on (the files move there); selecting a sub-folder shows the
files at or below it (``ScopeKind.FOLDER``).

A shared root this computer has not mapped yet (other computers reach it; ``RootRecord.placed_here`` is
False) is listed in italics and greyed (``SidebarRole.NOT_HERE``), with no path and no folder tree: the
path the catalog stores is another computer's, so it is neither a drop target nor a place to move to.
Right-clicking it offers "Map on this computer…" (``desktop.organize.shared_folders``).

A root whose folder is not there when its tree is read (a drive not connected), or is there but empty
while the catalog lists files in it (the mount point of a drive or share not mounted), is greyed and in
italics too (``SidebarRole.NOT_FOUND``: scans leave its files as they were), with a tooltip that says
which, and is no drop target until its files are back (the tree is read again after every scan or move).
"""

from __future__ import annotations

from enum import Enum, IntEnum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, NamedTuple

from PySide6.QtCore import QObject, QSize, Signal
from PySide6.QtGui import QFont, QFontMetrics, QStandardItem, QStandardItemModel

from catalog.path_text import shown
from core.taxonomy import Architecture, AssetKind
from desktop.labels import ARCHITECTURE_LABELS, KIND_LABELS
from desktop.qt_namespace import USER_ROLE, Qt

if TYPE_CHECKING:
    from collections.abc import Sequence

    from catalog.records import Facets, RootRecord
    from desktop.organize.folders import FolderNode


class ScopeKind(Enum):
    ALL = "all"
    FAVORITES = "favorites"
    PROBLEMS = "problems"
    ROOT = "root"
    KIND = "kind"
    ARCHITECTURE = "architecture"
    TAG = "tag"
    COLLECTION = "collection"
    FOLDER = "folder"  # a sub-folder of a root; ``value`` is its path


class SidebarScope(NamedTuple):
    """What a sidebar entry selects; ``value`` is the root id, kind, architecture, tag or collection.

    A named tuple, not a frozen dataclass: made when the window's modules are imported, before its first
    frame, where a dataclass's generated methods cost ~0.4 ms to compile.
    """

    kind: ScopeKind
    value: Any = None


class SidebarRole(IntEnum):
    SCOPE = USER_ROLE + 1
    COUNT = USER_ROLE + 2  # int, drawn right-aligned by the sidebar delegate
    IS_SECTION = USER_ROLE + 3
    FOLDER_PATH = USER_ROLE + 4  # str: a root's or sub-folder's path (a drop target)
    NOT_HERE = USER_ROLE + 5  # bool: a shared root this computer has not mapped yet
    NOT_FOUND = USER_ROLE + 6  # bool: a root whose folder is not there (a drive unplugged)


class Section(IntEnum):
    """Top-level rows, in display order."""

    LIBRARY = 0
    FOLDERS = 1
    KINDS = 2
    ARCHITECTURES = 3
    TAGS = 4
    COLLECTIONS = 5


SECTION_TITLES: dict[Section, str] = {
    Section.LIBRARY: "Library",
    Section.FOLDERS: "Folders",
    Section.KINDS: "Kinds",
    Section.ARCHITECTURES: "Architectures",
    Section.TAGS: "Tags",
    Section.COLLECTIONS: "Collections",
}

ALL_SCOPE = SidebarScope(ScopeKind.ALL)

_Entry = tuple[SidebarScope, str, int, str]  # scope, label, count, tooltip
NOT_FOUND_TIP = (
    "{path}: folder not found. Is the drive connected? Its models stay in the library as they were; "
    "scan again once it is back"
)
EMPTIED_TIP = (
    "{path}: the folder is empty here. Is the drive or share mounted? Its models stay in the library as "
    "they were; scan again once it is back"
)
COLLECTION_TIP = "{name}\nDrop models here to add them to this collection"
NOT_HERE_TIP = (
    "{name}: a library folder other computers share ({path} on theirs); this computer has not said where "
    "it reaches it. Right-click › Map on this computer…"
)


def folder_places(roots: Sequence[RootRecord]) -> list[tuple[int, str, bool]]:
    """What of the library folders the views and the watcher depend on: which folders, where this computer
    reaches them, and whether it does (names and file counts are only shown)."""
    return [(root.id, root.path, root.placed_here) for root in roots]


class SidebarModel(QStandardItemModel):
    """Fixed sections whose children are rebuilt from ``Facets`` and the library roots."""

    roots_changed = Signal(list)  # list[RootRecord]: the roots shown changed (their folders need reading)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        section_font = QFont()
        section_font.setBold(True)
        section_font.setCapitalization(QFont.Capitalization.AllUppercase)
        section_font.setPointSizeF(max(7.0, section_font.pointSizeF() * 0.85))
        # A heading is as tall as an entry: before the first view fills the sections (the window paints
        # first), headings without children would otherwise be squeezed to their small font's height.
        heading_height = QFontMetrics(QFont()).height() + 4
        for section in Section:
            item = QStandardItem(SECTION_TITLES[section])
            item.setSelectable(False)
            item.setEditable(False)
            item.setDragEnabled(False)
            item.setDropEnabled(False)
            item.setFont(section_font)
            item.setSizeHint(QSize(-1, heading_height))
            item.setData(True, SidebarRole.IS_SECTION)
            self.appendRow(item)
        self._roots: list[RootRecord] = []
        self._folder_trees: dict[int, FolderNode] = {}
        # The folder places a re-read was last asked for because the trees given did not match them.
        self._reread_asked: list[tuple[int, str, bool]] | None = None

    def section_index(self, section: Section) -> Any:
        return self.index(int(section), 0)

    def announce_roots(self) -> None:
        """Emits ``roots_changed`` with the roots shown, for a listener connected after they were set."""
        if self._roots:
            self.roots_changed.emit(list(self._roots))

    def roots(self) -> list[RootRecord]:
        """The library folders shown, as last given to :meth:`set_facets`."""
        return list(self._roots)

    def set_facets(self, facets: Facets, roots: list[RootRecord]) -> None:
        changed = folder_places(roots) != folder_places(self._roots)
        self._roots = list(roots)
        self._fill(
            Section.LIBRARY,
            [
                (ALL_SCOPE, "All models", facets.total, "Every file in the library"),
                (SidebarScope(ScopeKind.FAVORITES), "Favorites", facets.favorites, "Files marked favorite"),
                (
                    SidebarScope(ScopeKind.PROBLEMS),
                    "Problems",
                    facets.problems,
                    "Corrupt, unsafe or missing files",
                ),
            ],
        )
        self._fill(
            Section.FOLDERS,
            [
                (
                    SidebarScope(ScopeKind.ROOT, root.id),
                    # The folder's name, the one every machine sharing the catalog knows it by.
                    shown(root.name or PurePath(root.path).name or root.path),
                    facets.by_root.get(root.id, 0),
                    root.path,
                )
                for root in roots
            ],
        )
        self._mark_roots_not_here(roots)
        self._attach_folders()
        if changed:
            self.roots_changed.emit(list(roots))
        self._fill(
            Section.KINDS,
            [
                (SidebarScope(ScopeKind.KIND, kind), KIND_LABELS[kind], facets.by_kind[kind], "")
                for kind in AssetKind
                if facets.by_kind.get(kind, 0) > 0
            ],
        )
        self._fill(
            Section.ARCHITECTURES,
            [
                (
                    SidebarScope(ScopeKind.ARCHITECTURE, arch),
                    ARCHITECTURE_LABELS[arch],
                    facets.by_architecture[arch],
                    "",
                )
                for arch in Architecture
                if facets.by_architecture.get(arch, 0) > 0
            ],
        )
        self._fill(
            Section.TAGS,
            [
                (SidebarScope(ScopeKind.TAG, tag), tag, count, "")
                for tag, count in sorted(facets.tags.items(), key=lambda item: item[0].casefold())
            ],
        )
        self._fill(
            Section.COLLECTIONS,
            [
                (SidebarScope(ScopeKind.COLLECTION, name), name, count, COLLECTION_TIP.format(name=name))
                for name, count in sorted(facets.collections.items(), key=lambda item: item[0].casefold())
            ],
        )

    def root(self, root_id: int) -> RootRecord | None:
        """The root shown with ``root_id`` (as last read), None when the sidebar does not list it."""
        return next((root for root in self._roots if root.id == root_id), None)

    def _mark_roots_not_here(self, roots: list[RootRecord]) -> None:
        """A shared root this computer has not mapped: greyed, in italics, with no path (see the module)."""
        section = self.item(int(Section.FOLDERS))
        for row, root in enumerate(roots):
            item = section.child(row)
            not_here = not root.placed_here
            if bool(item.data(SidebarRole.NOT_HERE)) == not_here and not not_here:
                continue
            item.setData(not_here, SidebarRole.NOT_HERE)
            font = item.font()
            font.setItalic(not_here)
            item.setFont(font)
            if not_here:
                item.setData("", SidebarRole.FOLDER_PATH)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)
                item.setToolTip(NOT_HERE_TIP.format(name=shown(root.name), path=shown(root.path)))
            else:
                item.setData(root.path, SidebarRole.FOLDER_PATH)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsDropEnabled)

    def _fill(self, section: Section, entries: list[_Entry]) -> None:
        parent = self.item(int(section))
        current = [parent.child(row).data(SidebarRole.SCOPE) for row in range(parent.rowCount())]
        if current == [entry[0] for entry in entries]:
            for row, (_, label, count, tooltip) in enumerate(entries):
                child = parent.child(row)
                if child.text() != label:
                    child.setText(label)
                if child.data(SidebarRole.COUNT) != count:
                    child.setData(count, SidebarRole.COUNT)
                child.setToolTip(shown(tooltip))
            return
        if parent.rowCount():
            parent.removeRows(0, parent.rowCount())
        for scope, label, count, tooltip in entries:
            child = QStandardItem(label)
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            if scope.kind is ScopeKind.ROOT:
                flags |= Qt.ItemFlag.ItemIsDropEnabled  # its sub-folders hang below it
                child.setData(tooltip, SidebarRole.FOLDER_PATH)
            else:
                flags |= Qt.ItemFlag.ItemNeverHasChildren
            if scope.kind is ScopeKind.COLLECTION:
                flags |= Qt.ItemFlag.ItemIsDropEnabled  # library rows dropped on it join it
            child.setFlags(flags)
            child.setData(scope, SidebarRole.SCOPE)
            child.setData(count, SidebarRole.COUNT)
            child.setToolTip(shown(tooltip))
            parent.appendRow(child)

    # -- the folder trees under the roots --------------------------------------------------------------

    def set_folders(self, trees: dict[int, FolderNode]) -> None:
        """Shows ``trees`` ({root id: its folder tree}) under the roots; an unchanged tree is left as is,
        so the user's expansion and selection stay.

        Trees read for other folders than the ones shown (a walk asked with the roots as they were read
        at another moment: a shared folder mapped elsewhere meanwhile, or read while its mapping was not
        there, by another process or over a change feed) would leave a root without its sub-folders until
        the roots' places change again, which may be never. So the shown roots are asked to be read again,
        once for these places (``roots_changed``): a walk that gives other trees again is not chased."""
        self._folder_trees = dict(trees)
        self._attach_folders()
        places = folder_places(self._roots)
        if self._trees_match_roots():
            self._reread_asked = None
        elif self._reread_asked != places:
            self._reread_asked = places
            self.roots_changed.emit(list(self._roots))

    def _trees_match_roots(self) -> bool:
        """Whether every root read on this machine has a tree read for its folder here."""
        return all(
            (tree := self._folder_trees.get(root.id)) is not None and tree.path == root.path
            for root in self._roots
            if root.placed_here
        )

    def folder_tree(self, root_id: int) -> FolderNode | None:
        return self._folder_trees.get(root_id)

    def _attach_folders(self) -> None:
        section = self.item(int(Section.FOLDERS))
        for row in range(section.rowCount()):
            root_item = section.child(row)
            scope = root_item.data(SidebarRole.SCOPE)
            tree = self._folder_trees.get(scope.value) if isinstance(scope, SidebarScope) else None
            if root_item.data(SidebarRole.NOT_HERE):  # another computer's path: no folders to show here
                _sync_children(root_item, ())
                continue
            if tree is None or tree.path != root_item.data(SidebarRole.FOLDER_PATH):
                _sync_children(root_item, ())  # not read yet, or read for an older path
                continue
            # An empty folder the catalog lists files in: a drive or share not mounted there.
            emptied = tree.empty and bool(root_item.data(SidebarRole.COUNT))
            _mark_not_found(root_item, NOT_FOUND_TIP if tree.missing else EMPTIED_TIP if emptied else "")
            _sync_children(root_item, tree.children)

    def find_scope(self, scope: SidebarScope) -> Any:
        """The index of the entry with ``scope``, or an invalid index if it no longer exists."""
        pending = [self.item(section) for section in range(self.rowCount())]
        while pending:  # breadth first: the sections' entries, then the folders below the roots
            parent = pending.pop(0)
            for row in range(parent.rowCount()):
                child = parent.child(row)
                if child.data(SidebarRole.SCOPE) == scope:
                    return child.index()
                if child.hasChildren():
                    pending.append(child)
        return self.index(-1, -1)

    def folder_index(self, path: str) -> Any:
        """The index of the root or folder at ``path`` (invalid if the sidebar does not show it)."""
        found = self.match(
            self.section_index(Section.FOLDERS),
            SidebarRole.FOLDER_PATH,
            path,
            1,
            Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive,
        )
        return found[0] if found else self.index(-1, -1)


def _folder_item(node: FolderNode) -> QStandardItem:
    item = QStandardItem(shown(node.name))
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDropEnabled)
    item.setData(SidebarScope(ScopeKind.FOLDER, node.path), SidebarRole.SCOPE)
    item.setData(node.path, SidebarRole.FOLDER_PATH)
    item.setToolTip(f"{shown(node.path)}\nDrop models here to move them into this folder")
    _sync_children(item, node.children)
    return item


def _mark_not_found(item: QStandardItem, why: str) -> None:
    """A root whose files are not there (``why``: the tooltip's words; "" when they are): greyed and in
    italics, no drop target, a tooltip saying why."""
    missing = bool(why)
    path = str(item.data(SidebarRole.FOLDER_PATH))
    if missing:  # every time: a refresh of the counts writes the path back as the tooltip
        item.setToolTip(why.format(path=shown(path)))
    if bool(item.data(SidebarRole.NOT_FOUND)) == missing:
        return
    item.setData(missing, SidebarRole.NOT_FOUND)
    font = item.font()
    font.setItalic(missing)
    item.setFont(font)
    if not missing:
        item.setToolTip(shown(path))
    if missing:
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)
    else:
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsDropEnabled)


def _sync_children(item: QStandardItem, nodes: tuple[FolderNode, ...]) -> None:
    """Makes ``item``'s children the folders ``nodes``, keeping the items of folders still there."""
    current = [item.child(row).data(SidebarRole.FOLDER_PATH) for row in range(item.rowCount())]
    if current == [node.path for node in nodes]:
        for row, node in enumerate(nodes):
            _sync_children(item.child(row), node.children)
        return
    if item.rowCount():
        item.removeRows(0, item.rowCount())
    for node in nodes:
        item.appendRow(_folder_item(node))
