"""The library's center (filter bar and views): a drop target for files from the system file manager,
and the page shown while the library has no folder yet.

Only local files are taken: rows dragged out of the library itself carry asset ids, not files, and are
ignored here (they are meant for the compose board). While files hover, the views get a dashed outline
so the user sees where letting go adds them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QSize, Signal
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.qt_namespace import Qt
from desktop.resources import icon

TEXT_WIDTH = 440  # the empty library's explanation wraps within this width...
TEXT_MIN_WIDTH = 220  # ...and within this one where the library pane is narrow


def local_files(mime: QMimeData) -> list[Path]:
    """The local paths a file manager's drag carries (``text/uri-list``); none for other drags."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class LibraryArea(QWidget):
    """Emits ``files_dropped`` with the dropped paths; highlighted while files hover it."""

    files_dropped = Signal(list)  # list[Path]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("libraryArea")
        self.setAcceptDrops(True)
        self.setProperty("dropTarget", False)

    @property
    def drop_highlighted(self) -> bool:
        return bool(self.property("dropTarget"))

    def _highlight(self, on: bool) -> None:
        if self.drop_highlighted != on:
            self.setProperty("dropTarget", on)
            for widget in (self, *self.findChildren(QWidget)):
                widget.style().unpolish(widget)
                widget.style().polish(widget)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if local_files(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self._highlight(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802
        self._highlight(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self._highlight(False)
        paths = local_files(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.files_dropped.emit(paths)


class EmptyLibraryPage(QWidget):
    """What a new user sees instead of an empty grid: what to do, with the button to do it."""

    add_folder_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyLibrary")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        picture = QLabel()
        picture.setPixmap(icon("folder-plus").pixmap(QSize(56, 56)))
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("Your library is empty")
        title.setObjectName("emptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Add the folder where your models live (an AUTOMATIC1111, Forge, ComfyUI or InvokeAI models "
            "folder, or any folder of .safetensors files). Atelier catalogs them where they are."
        )
        # Wrapped within TEXT_WIDTH, and narrower with the pane: fixed at 440 px it set the window's
        # minimum width beyond a 1280x720 screen (sidebar, details pane and compose board beside it).
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setMinimumWidth(TEXT_MIN_WIDTH)
        text.setMaximumWidth(TEXT_WIDTH)
        # As tall as its narrowest wrapping: centred in the layout, it would be cut off.
        text.setMinimumHeight(text.heightForWidth(TEXT_MIN_WIDTH))
        self.add_button = QPushButton(icon("folder-plus"), "Add library folder…")
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(self.add_folder_requested)
        hint = QLabel("…or drop model files or folders here from your file manager.")
        hint.setProperty("secondary", True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        hint.setMinimumWidth(TEXT_MIN_WIDTH)
        hint.setMaximumWidth(TEXT_WIDTH)
        hint.setMinimumHeight(hint.heightForWidth(TEXT_MIN_WIDTH))
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(picture)
        layout.addWidget(title)
        layout.addWidget(text)  # the pane's width up to TEXT_WIDTH, centred (no alignment: not its hint's)
        layout.addSpacing(8)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(hint)
        layout.addStretch(2)
