"""A one-line editor for a list of words (tags, collections) with completion of the word being typed.

Tags are typed as "anime, style, pixel art"; ``QCompleter`` completes whole line contents by default, so
``_WordCompleter`` completes only the text after the last comma and keeps what came before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QStringListModel, Signal
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

from desktop.qt_namespace import Qt


def split_words(text: str) -> tuple[str, ...]:
    """Comma separated words, trimmed, empties and case-insensitive duplicates dropped, order kept."""
    seen: set[str] = set()
    words: list[str] = []
    for part in text.split(","):
        word = " ".join(part.split())
        if word and word.casefold() not in seen:
            seen.add(word.casefold())
            words.append(word)
    return tuple(words)


def join_words(words: Iterable[str]) -> str:
    return ", ".join(words)


class _WordCompleter(QCompleter):
    """Completes the last comma separated word of the line edit it is attached to."""

    def splitPath(self, path: str) -> list[str]:  # noqa: N802
        return [path.rsplit(",", 1)[-1].strip()]

    def pathFromIndex(self, index: QModelIndex | QPersistentModelIndex) -> str:  # noqa: N802
        completion = super().pathFromIndex(index)
        widget = self.widget()
        text = widget.text() if isinstance(widget, QLineEdit) else ""
        head, sep, _ = text.rpartition(",")
        return f"{head}{sep} {completion}".lstrip() if sep else completion


class WordListEdit(QLineEdit):
    """Emits ``words_edited`` with the new list when editing finishes and the list actually changed."""

    words_edited = Signal(tuple)

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self._words: tuple[str, ...] = ()
        self._choices = QStringListModel(self)
        completer = _WordCompleter(self._choices, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        self.editingFinished.connect(self._on_editing_finished)

    def set_completions(self, words: Sequence[str]) -> None:
        self._choices.setStringList(sorted(words, key=str.casefold))

    def set_words(self, words: Sequence[str]) -> None:
        self._words = tuple(words)
        self.setText(join_words(words))

    def words(self) -> tuple[str, ...]:
        return split_words(self.text())

    def _on_editing_finished(self) -> None:
        words = self.words()
        self.setText(join_words(words))
        if words != self._words:
            self._words = words
            self.words_edited.emit(words)
