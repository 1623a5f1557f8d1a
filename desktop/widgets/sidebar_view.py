"""The sidebar's tree view: library rows dragged onto a root or a folder move there; onto a collection,
they join it.

A drag of library rows (``ASSET_IDS_MIME``) is accepted only over an entry with a folder path
(``SidebarRole.FOLDER_PATH``: a root or one of its folders) or over a collection; elsewhere the drag shows
the refusal cursor. The entry is highlighted while the drag rests on it (the delegate paints
``drop_target``), and a collapsed folder opens after a short rest so a deeper folder can be reached. The
view only reports the drop (``assets_dropped`` for a folder, ``assets_dropped_on_collection`` for a
collection); moving the files, asking about conflicts, adding to the collection and refreshing are the
organize features' job.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Signal
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QAbstractItemView, QTreeView, QWidget

from desktop.compose.mime import ASSET_IDS_MIME, asset_ids_from_mime
from desktop.models.sidebar_model import ScopeKind, SidebarRole, SidebarScope
from desktop.qt_namespace import Qt

AUTO_EXPAND_MS = 700


class SidebarView(QTreeView):
    assets_dropped = Signal(list, str)  # asset ids, the folder they were dropped on
    assets_dropped_on_collection = Signal(list, str)  # asset ids, the collection they were dropped on

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setDropIndicatorShown(False)  # the whole entry is highlighted instead of a thin frame
        self.setAutoExpandDelay(AUTO_EXPAND_MS)
        self._drop_target = QPersistentModelIndex()

    @property
    def drop_target(self) -> QPersistentModelIndex:
        """The entry a drag of library rows rests on (invalid when none)."""
        return self._drop_target

    def _target_at(self, event: QDragMoveEvent | QDropEvent) -> tuple[QModelIndex, str, str]:
        """The entry under the drag that takes library rows, with its folder path or its collection's
        name (the other one ""); an invalid index where the entry takes nothing."""
        index = self.indexAt(event.position().toPoint())
        if not index.isValid():
            return QModelIndex(), "", ""
        path = index.data(SidebarRole.FOLDER_PATH)
        if isinstance(path, str) and path:
            return index, path, ""
        scope = index.data(SidebarRole.SCOPE)
        if isinstance(scope, SidebarScope) and scope.kind is ScopeKind.COLLECTION:
            return index, "", str(scope.value)
        return QModelIndex(), "", ""

    def _set_drop_target(self, index: QModelIndex) -> None:
        if QPersistentModelIndex(index) == self._drop_target:
            return
        old = self._drop_target
        self._drop_target = QPersistentModelIndex(index)
        for changed in (old, self._drop_target):
            if changed.isValid():
                self.viewport().update(
                    self.visualRect(self.model().index(changed.row(), 0, changed.parent()))
                )

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        """Library rows are taken wherever they enter (a drag refused on entering gets no more moves
        here); whether the point can take them is said move by move."""
        if not event.mimeData().hasFormat(ASSET_IDS_MIME):
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.setState(QAbstractItemView.State.DraggingState)  # what opens a folder the drag rests on
        self._set_drop_target(self._target_at(event)[0])

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if not event.mimeData().hasFormat(ASSET_IDS_MIME):
            event.ignore()
            return
        super().dragMoveEvent(event)  # auto-scroll and auto-expand of the hovered folder
        index = self._target_at(event)[0]
        self._set_drop_target(index)
        if index.isValid():
            event.setDropAction(Qt.DropAction.CopyAction)  # the view keeps its rows; the files move
            event.accept(self.visualRect(index))
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802
        self._set_drop_target(QModelIndex())
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self._set_drop_target(QModelIndex())
        self.stopAutoScroll()
        self.setState(QAbstractItemView.State.NoState)
        index, path, collection = self._target_at(event)
        ids = asset_ids_from_mime(event.mimeData())
        if not index.isValid() or not ids:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        if path:
            self.assets_dropped.emit(ids, path)
        else:
            self.assets_dropped_on_collection.emit(ids, collection)
