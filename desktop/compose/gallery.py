"""The results gallery: stored renders as a list model with lazily loaded thumbnails, newest first.

One model row per render and a ``ThumbnailCache`` that decodes the PNGs on the thread pool, so a
library with thousands of renders scrolls like the asset grid (no widget per item). The context menu
offers what a render is for: becoming an asset's preview, going back into the board, its file and
its infotext.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSize,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QDesktopServices, QGuiApplication, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from catalog.records import RenderRecord
from desktop.compose.mime import RENDER_ID_MIME, render_id_mime
from desktop.qt_namespace import DISPLAY_ROLE, USER_ROLE, Qt
from desktop.services import AssetLibrary
from desktop.thumbnails import ThumbnailCache

AnyIndex = QModelIndex | QPersistentModelIndex
RECORD_ROLE = USER_ROLE + 1
THUMBNAIL_SIZE = QSize(112, 112)
CELL_SIZE = QSize(THUMBNAIL_SIZE.width() + 16, THUMBNAIL_SIZE.height() + 44)  # the thumbnail and two lines


def _untinted_icon(pixmap: QPixmap) -> QIcon:
    """The thumbnail as it is in every state: Qt's Selected mode would wash it in the selection colour,
    and a render is judged by its colours (the selection shows as a frame, see ``_FramedSelection``)."""
    icon = QIcon()
    for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected, QIcon.Mode.Active):
        icon.addPixmap(pixmap, mode)
    return icon


class _FramedSelection(QStyledItemDelegate):
    """Draws the selected render's cell with a frame in the selection colour around its untinted image."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        super().paint(painter, option, index)
        if option.state & QStyle.StateFlag.State_Selected:
            painter.save()
            painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Highlight), 3))
            painter.drawRect(option.rect.adjusted(1, 1, -2, -2))
            painter.restore()


def _blank_icon() -> QIcon:
    pixmap = QPixmap(THUMBNAIL_SIZE)
    pixmap.fill(QColor(0, 0, 0, 0))
    return QIcon(pixmap)


class RendersModel(QAbstractListModel):
    """Rows are stored renders (``RenderRecord``), in the order the service returns them."""

    def __init__(self, thumbnails: ThumbnailCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._records: list[RenderRecord] = []
        self._rows: dict[str, int] = {}
        self._icons: dict[str, QIcon] = {}  # thumbnails scaled to fit the tile, keeping their shape
        self._loading = _blank_icon()
        self._thumbnails = thumbnails
        thumbnails.loaded.connect(self._on_thumbnail)

    def set_records(self, records: Sequence[RenderRecord]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._rows = {record.path: row for row, record in enumerate(self._records)}
        self._icons = {path: icon for path, icon in self._icons.items() if path in self._rows}
        self.endResetModel()

    def record(self, row: int) -> RenderRecord | None:
        return self._records[row] if 0 <= row < len(self._records) else None

    def row_of(self, render_id: int) -> int | None:
        return next((row for row, r in enumerate(self._records) if r.id == render_id), None)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._records)

    def data(self, index: AnyIndex, role: int = DISPLAY_ROLE) -> Any:
        record = self.record(index.row()) if index.isValid() else None
        if record is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            label = "grid" if record.kind.value == "grid" else f"seed {record.seed}"
            return f"{label}\n{record.created_at:%b %d %H:%M}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail_icon(record.path)
        if role == Qt.ItemDataRole.SizeHintRole:
            return CELL_SIZE
        if role == Qt.ItemDataRole.ToolTipRole:
            return record.infotext.split("\n", 1)[0][:300] or Path(record.path).name
        if role == RECORD_ROLE:
            return record
        return None

    def _thumbnail_icon(self, path: str) -> QIcon:
        """The render's thumbnail as an icon drawn inside THUMBNAIL_SIZE with its aspect ratio.

        An icon, not an image: the view then lays every cell out at the icon size, and a blank icon of
        that size stands in while the thumbnail loads. (An image decoration sizes its cell by the image,
        and a cell measured before its thumbnail arrived squeezed the render into a strip.)
        """
        icon = self._icons.get(path)
        if icon is None:
            image = self._thumbnails.get(path)
            if image is None or image.isNull():
                return self._loading
            fitted = image.scaled(
                THUMBNAIL_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
            icon = _untinted_icon(QPixmap.fromImage(fitted))
            self._icons[path] = icon
        return icon

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        """Renders can be dragged: onto the board, they load their recipe."""
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else flags

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [RENDER_ID_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
        """The first dragged render's id (the board takes one recipe)."""
        records = [self.record(index.row()) for index in indexes if index.isValid()]
        first = next((record for record in records if record is not None), None)
        return render_id_mime(first.id) if first is not None else QMimeData()

    def _on_thumbnail(self, path: str) -> None:
        self._icons.pop(path, None)
        row = self._rows.get(path)
        if row is not None:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class GalleryView(QListView):
    """Thumbnails in a wrapping grid with the render context menu; signals carry the chosen action."""

    use_as_preview = Signal(int, int)  # render id, asset id
    load_recipe = Signal(object)  # RenderRecord
    copied = Signal(str)

    def __init__(self, model: RendersModel, library: AssetLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.setModel(model)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setWrapping(True)
        self.setSpacing(4)
        self.setIconSize(THUMBNAIL_SIZE)
        # A fixed cell: portrait and landscape renders sit in the same square, neither one stretched.
        self.setGridSize(CELL_SIZE)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setItemDelegate(_FramedSelection(self))
        self.setDragEnabled(True)  # onto the board: the render's recipe, as "Load recipe into board"
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)

    def current_record(self) -> RenderRecord | None:
        index = self.currentIndex()
        value = index.data(RECORD_ROLE) if index.isValid() else None
        return value if isinstance(value, RenderRecord) else None

    def build_menu(self, record: RenderRecord) -> QMenu:
        """The actions for ``record`` (separate from showing it, so tests can trigger them)."""
        menu = QMenu(self)
        linked = list(dict.fromkeys(link.asset_id for link in record.assets))
        assets = {asset.id: asset for asset in self.library.get_many(linked)}
        for asset_id in linked:
            asset = assets.get(asset_id)
            if asset is None:
                continue
            name = asset.display_name or Path(asset.file_name).stem
            action = menu.addAction(f"Use as preview of {name}")
            action.triggered.connect(
                lambda _checked=False, a=asset_id: self.use_as_preview.emit(record.id, a)
            )
        if linked:
            menu.addSeparator()
        menu.addAction("Load recipe into board").triggered.connect(lambda: self.load_recipe.emit(record))
        menu.addAction("Open file location").triggered.connect(lambda: _open_folder(record.path))
        menu.addAction("Copy infotext").triggered.connect(lambda: self._copy(record.infotext))
        return menu

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.copied.emit("Copied the infotext")

    def _show_menu(self, position: QPoint) -> None:
        index = self.indexAt(position)
        record = index.data(RECORD_ROLE) if index.isValid() else None
        if isinstance(record, RenderRecord):
            self.build_menu(record).popup(self.viewport().mapToGlobal(position))


def _open_folder(path: str) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))
