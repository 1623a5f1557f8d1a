"""The compose board as a panel the window docks beside the library, so dragging a model onto it needs
no tab switch: the board in a scroll area, its buttons, the last message about a drop, and Render.

The whole panel is one drop target. Whatever part of it the pointer is over, a drag of library rows or
of files from a file manager is handed to the board, which lights the slots the items will land in and,
on release, routes each one by its kind.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.compose.board import ComposeBoard
from desktop.compose.notices import MissingList
from desktop.compose.plan_view import PlanView
from desktop.qt_namespace import Qt
from desktop.widgets.vertical_scroll import VerticalScrollArea


class BoardPanel(QWidget):
    """Paste / Clear, the missing-asset list, the scrolling board, the drop message, the plan and Render."""

    render_requested = Signal()

    def __init__(self, board: ComposeBoard, missing: MissingList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("boardPanel")
        self.setAcceptDrops(True)
        self.board = board
        self.missing = missing
        self.paste_button = QPushButton("Paste parameters")
        self.paste_button.setToolTip(
            "Fill the board from A1111 parameters on the clipboard (or drop a PNG that carries them)"
        )
        # The compose tab clears the board, keeping what it held for Undo (see ComposeTab.clear_board).
        self.clear_button = QPushButton("Clear board")
        self.notice = QLabel()
        self.notice.setObjectName("boardNotice")
        self.notice.setWordWrap(True)
        self.notice.setProperty("secondary", True)
        self.notice.hide()
        # Beside a notice that says the board was replaced: puts the board before it back.
        self.undo_button = QPushButton("Undo")
        self.undo_button.setObjectName("boardUndo")
        self.undo_button.setToolTip("Put the board back as it was before (Ctrl+Z in the board)")
        self.undo_button.clicked.connect(self.undo)
        self.undo_button.hide()
        self._undo: Callable[[], None] | None = None
        self.plan = PlanView()
        self.render_button = QPushButton("Render")
        self.render_button.setObjectName("renderButton")
        self.render_button.setToolTip("Render the board (the preview shows in the Compose tab)")
        self.render_button.clicked.connect(self.render_requested)
        board.message.connect(self.show_notice)
        self._notice_about: tuple[tuple[str, str | None, int | None], ...] = ()  # the files it was said of
        board.changed.connect(self._on_board_changed)

        self.scroll_area = VerticalScrollArea()
        self.scroll_area.setObjectName("boardScroll")
        self.scroll_area.setWidget(board)

        buttons = QHBoxLayout()
        buttons.addWidget(self.paste_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(buttons)
        layout.addWidget(missing)
        layout.addWidget(self.scroll_area, 1)
        notice_row = QHBoxLayout()
        notice_row.addWidget(self.notice, 1)
        notice_row.addWidget(self.undo_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(notice_row)
        layout.addWidget(self.plan)
        layout.addWidget(self.render_button)

    def show_notice(self, text: str, undo: Callable[[], None] | None = None) -> None:
        """The last thing a drop or an action on the board said (refusals included), under the board;
        ``undo`` (with a notice that the board was replaced) is what its Undo button and Ctrl+Z do."""
        self.notice.setText(text)
        self.notice.setToolTip(text)
        self.notice.setVisible(bool(text))
        self._undo = undo if text else None
        self.undo_button.setVisible(self._undo is not None)
        self._notice_about = self._files_on_board()

    @property
    def can_undo(self) -> bool:
        return self._undo is not None

    def undo(self) -> None:
        """Runs the offered undo once; the notice and its button go first (the undo says what it did)."""
        undo = self._undo
        self.show_notice("")
        if undo is not None:
            undo()

    def event(self, event: QEvent) -> bool:
        """Ctrl+Z anywhere in the board runs the offered Undo before the window's Edit › Undo (a library
        operation) takes it. A prompt editor keeps Ctrl+Z for its own typing: it takes the key first."""
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.matches(QKeySequence.StandardKey.Undo)
            and self._undo is not None
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.matches(QKeySequence.StandardKey.Undo) and self._undo is not None:
            self.undo()
            event.accept()
            return
        super().keyPressEvent(event)

    def _files_on_board(self) -> tuple[tuple[str, str | None, int | None], ...]:
        return tuple((ref.name, ref.path, ref.asset_id) for ref in self.board.named_refs())

    def _on_board_changed(self) -> None:
        """The notice goes once the board's files are no longer those it was said about ("Added LoRA x"
        after x was removed, the board cleared or replaced by a recipe); a weight or a setting edited
        keeps it, so the board does not move under the pointer while the user edits."""
        if self.notice.text() and self._files_on_board() != self._notice_about:
            self.show_notice("")

    # -- drops anywhere on the panel ----------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self.board.show_drop_targets(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802
        self.board.clear_drop_targets()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        if self.board.drop(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()
