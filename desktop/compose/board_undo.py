"""Undoing a board replaced by pasted or dropped parameters (or a stored render's recipe), or cleared.

A dropped A1111 PNG replaces everything on the board at once: the checkpoint, the LoRAs with their
weights, the embeddings, the prompts and every setting. The board before it is kept as a snapshot, so
the notice that says what was replaced can offer Undo and put it back exactly as it was, including
which of CFG and steps the user had chosen (they then stay when the checkpoint changes).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.render.recipe import Recipe
from core.wording import counted
from desktop.compose.board import ComposeBoard


@dataclass(frozen=True, slots=True)
class BoardSnapshot:
    """The board as a recipe, the settings the user chose, and the pasted text's parse warnings."""

    recipe: Recipe
    chosen: frozenset[str]
    pasted_warnings: tuple[str, tuple[str, ...]]


def take_snapshot(board: ComposeBoard, pasted_warnings: tuple[str, tuple[str, ...]]) -> BoardSnapshot | None:
    """The board now, or None when there is nothing to lose (no file named, no prompt typed) or a
    half-typed setting no recipe holds (raises ValueError then: the caller says so)."""
    recipe = board.recipe()
    if not recipe.refs() and not recipe.prompt and not recipe.negative_prompt:
        return None
    return BoardSnapshot(recipe, board.parameters.chosen_settings, pasted_warnings)


def restore_snapshot(board: ComposeBoard, snapshot: BoardSnapshot) -> None:
    """Puts the board back as ``snapshot`` holds it: its slots, weights, texts and settings."""
    board.load_recipe(snapshot.recipe)
    board.parameters.keep_chosen(snapshot.chosen)


def replaced_line(snapshot: BoardSnapshot, source: str) -> str:
    """ "Parameters read from x.png replaced the board (dreamshaper_8, 2 LoRAs, the prompt, 512x768,
    20 steps)": what the Undo beside it brings back."""
    return f"{source} replaced the board ({_held(snapshot)}). Undo (Ctrl+Z) brings it back"


def cleared_line(snapshot: BoardSnapshot) -> str:
    """ "Cleared the board (dreamshaper_8, LoRA x, the prompt, 512x768, 20 steps)": Clear board takes
    the same work away as a dropped PNG, so it says what went and offers the same Undo."""
    return f"Cleared the board ({_held(snapshot)}). Undo (Ctrl+Z) brings it back"


def _held(snapshot: BoardSnapshot) -> str:
    """ "dreamshaper_8, 2 LoRAs, the prompt, 512x768, 20 steps": what the board held."""
    recipe = snapshot.recipe
    parts: list[str] = []
    if recipe.checkpoint is not None:
        parts.append(recipe.checkpoint.name)
    if recipe.loras:
        parts.append(
            f"LoRA {recipe.loras[0].ref.name}"
            if len(recipe.loras) == 1
            else counted(len(recipe.loras), "LoRA")
        )
    if recipe.embeddings:
        parts.append(counted(len(recipe.embeddings), "embedding"))
    if recipe.prompt or recipe.negative_prompt:
        parts.append("the prompt")
    parts.append(f"{recipe.width}x{recipe.height}, {counted(recipe.steps, 'step')}")
    return ", ".join(parts)
