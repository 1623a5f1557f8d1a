"""The compose board kept across restarts: its recipe in a file of the profile's data folder.

A user mid-composition who quits (or whose session ends) finds the checkpoint, the LoRAs with their
weights, the embeddings, the prompts and every setting back on the next start. The board is written a
moment after each change (debounced: typing a prompt does not write a file per key) and once more when
the application quits, in the recipe form stored renders use (``core.render.recipe_codec``), so "Load
recipe into board" and a restart restore the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QTimer

from core.formats.sidecar_writing import read_json_object, write_json_atomic
from core.render.recipe import Recipe
from core.render.recipe_codec import recipe_from_dict, recipe_to_dict
from desktop.compose.board import ComposeBoard

BOARD_FILE = "compose_board.json"
SAVE_DELAY_MS = 600  # after the last change: a burst of typing is one write


def board_file_of(library: object) -> Path | None:
    """Where ``library``'s profile keeps the board: its data folder, where ``renders/`` lives beside the
    catalog; None for a library that has no data folder (a stand-in in tests)."""
    renders_dir = getattr(library, "renders_dir", None)
    return Path(renders_dir).parent / BOARD_FILE if renders_dir is not None else None


def read_board(path: Path) -> Recipe | None:
    """The board saved in ``path``; None when there is none. Raises ValueError (or the reader's error)
    for a file that cannot be read back."""
    data: dict[str, Any] = read_json_object(path)
    if not data:
        return None
    recipe = data.get("recipe")
    if not isinstance(recipe, dict):
        raise ValueError(f"{path.name} holds no recipe")
    return recipe_from_dict(recipe)


class BoardKeeper(QObject):
    """Writes the board to its file a moment after it changes, and at quit; ``flush`` writes now."""

    def __init__(self, board: ComposeBoard, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.board = board
        self.path = path
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_DELAY_MS)
        self._timer.timeout.connect(self.flush)
        self._dirty = False
        board.changed.connect(self._on_changed)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.flush)

    def _on_changed(self) -> None:
        self._dirty = True
        self._timer.start()

    def flush(self) -> None:
        """Writes the board now if a change waits; a setting no recipe holds (a half-typed value) keeps
        the last good state, and a write that fails (a full or read-only disk) is not the user's problem
        while composing: the board itself is untouched."""
        if not self._dirty:
            return
        self._timer.stop()
        self._dirty = False
        try:
            recipe = self.board.recipe()
        except ValueError:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.path, {"version": 1, "recipe": recipe_to_dict(recipe)})
        except OSError:
            return
