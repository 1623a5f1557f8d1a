"""The sidebar's tree: where to look in the library, each entry with its count.

Sections (Library, Folders, Kinds, Architectures, Tags, Collections) are fixed top-level rows; their
entries carry a ``SidebarScope`` that the window turns into filters. Counts come from ``Library.facets``
in one query. ``set_facets`` updates entries in place when a section's entries are unchanged (only the
counts moved), so a refresh after an edit keeps the user's selection and expansion in the tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum
from pathlib import PurePath
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel

from catalog.records import Facets, RootRecord
from core.taxonomy import Architecture, AssetKind
from desktop.labels import ARCHITECTURE_LABELS, KIND_LABELS


class ScopeKind(Enum):
    ALL = "all"
    FAVORITES = "favorites"
    PROBLEMS = "problems"
    ROOT = "root"
    KIND = "kind"
    ARCHITECTURE = "architecture"
    TAG = "tag"
    COLLECTION = "collection"


@dataclass(frozen=True, slots=True)
class SidebarScope:
    """What a sidebar entry selects; ``value`` is the root id, kind, architecture, tag or collection."""

    kind: ScopeKind
    value: Any = None


class SidebarRole(IntEnum):
    SCOPE = Qt.ItemDataRole.UserRole + 1
    COUNT = Qt.ItemDataRole.UserRole + 2  # int, drawn right-aligned by the sidebar delegate
    IS_SECTION = Qt.ItemDataRole.UserRole + 3


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


class SidebarModel(QStandardItemModel):
    """Fixed sections whose children are rebuilt from ``Facets`` and the library roots."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        section_font = QFont()
        section_font.setBold(True)
        section_font.setCapitalization(QFont.Capitalization.AllUppercase)
        section_font.setPointSizeF(max(7.0, section_font.pointSizeF() * 0.85))
        for section in Section:
            item = QStandardItem(SECTION_TITLES[section])
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            item.setFont(section_font)
            item.setData(True, SidebarRole.IS_SECTION)
            self.appendRow(item)

    def section_index(self, section: Section) -> Any:
        return self.index(int(section), 0)

    def set_facets(self, facets: Facets, roots: list[RootRecord]) -> None:
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
                    PurePath(root.path).name or root.path,
                    facets.by_root.get(root.id, 0),
                    root.path,
                )
                for root in roots
            ],
        )
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
                (SidebarScope(ScopeKind.COLLECTION, name), name, count, "")
                for name, count in sorted(facets.collections.items(), key=lambda item: item[0].casefold())
            ],
        )

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
                child.setToolTip(tooltip)
            return
        if parent.rowCount():
            parent.removeRows(0, parent.rowCount())
        for scope, label, count, tooltip in entries:
            child = QStandardItem(label)
            child.setFlags(
                Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
            )
            child.setData(scope, SidebarRole.SCOPE)
            child.setData(count, SidebarRole.COUNT)
            child.setToolTip(tooltip)
            parent.appendRow(child)

    def find_scope(self, scope: SidebarScope) -> Any:
        """The index of the entry with ``scope``, or an invalid index if it no longer exists."""
        for section in range(self.rowCount()):
            parent = self.item(section)
            for row in range(parent.rowCount()):
                if parent.child(row).data(SidebarRole.SCOPE) == scope:
                    return parent.child(row).index()
        return self.index(-1, -1)
