"""The errors of reading a model file: one family under ``FormatError``, shown to the user as they are.

They live apart from ``core.formats.model_file`` (whose tensor types need msgspec) so that code which
only has to name these errors — the catalog's file check before the window is drawn, a safe open of a
path — imports nothing else. ``core.formats.model_file`` re-exports them: either import works.
"""

from __future__ import annotations

from core.errors import AtelierError


class FormatError(AtelierError):
    """Base class: a file could not be read as a model. ``reason`` (= ``message``) is shown as is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CorruptFileError(FormatError):
    """The file is damaged or is not what its extension claims (truncated, bad header, ...)."""


class UnreadableFileError(FormatError, OSError):
    """The path is there but was not opened: no permission, a special file (named pipe, socket, device)
    with a model's name, a link loop or a link to nothing. Such a file is ``unreadable``, never "corrupt".

    Also an ``OSError``: to code that only reads bytes (hashing, copying a preview) it is one more reason a
    file cannot be read, and its existing ``except OSError`` handles it with this reason as the message."""


class UnsafeFileError(FormatError):
    """A pickle would import something outside the allow-list; it is never loaded."""

    def __init__(self, reason: str, offending_globals: tuple[str, ...]) -> None:
        super().__init__(reason)
        self.offending_globals = offending_globals
