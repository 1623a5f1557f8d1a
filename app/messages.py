"""The one mapping from any exception to the one line a user is shown, for the CLI and the window alike.

Expected failures are ``core.errors.AtelierError`` (remote, catalog, render, file-format errors...) and
already carry their sentence; so do the ``ValueError`` subclasses that parsers of user input raise.
Everything else still reaches the user as one short line instead of a traceback: file-system errors say
which file and why, a cancelled job says so, and an unexpected bug names its type and points to the log
(the traceback goes there, never to the user's screen).
"""

from __future__ import annotations

import errno

from core.errors import AtelierError
from core.jobs import CancelledError

MAX_LENGTH = 500

_OS_HINTS = {
    errno.ENOENT: "it does not exist",
    errno.EACCES: "permission denied: check the file's owner and permissions",
    errno.EPERM: "permission denied: check the file's owner and permissions",
    errno.ENOSPC: "the disk is full: free some space and try again",
    errno.EROFS: "the disk is read-only",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "it is a folder, not a file",
}


def user_message(exc: BaseException) -> str:
    """One line (no newlines, at most ``MAX_LENGTH`` characters) saying what went wrong and what to do."""
    if isinstance(exc, AtelierError):
        text = exc.message
    elif isinstance(exc, CancelledError):
        text = "Cancelled; what was done so far is kept."
    elif isinstance(exc, OSError):
        text = _os_message(exc)
    elif isinstance(exc, ValueError) and str(exc).strip():
        # Parsers of user input (targets, grid axes, recipes, LoRA and embedding files) raise ValueError
        # subclasses whose text is written for the user.
        text = str(exc)
    elif isinstance(exc, MemoryError):
        text = "Not enough memory for this; close other programs or choose smaller files."
    else:
        detail = str(exc).strip()
        text = f"Unexpected error ({type(exc).__name__}{': ' + detail if detail else ''}); see the log."
    return _one_line(text) or type(exc).__name__


def _os_message(exc: OSError) -> str:
    what = exc.strerror or str(exc) or type(exc).__name__
    hint = _OS_HINTS.get(exc.errno) if exc.errno is not None else None
    reason = hint or what
    if exc.filename is not None:
        where = f"{exc.filename}"
        if exc.filename2 is not None:
            where += f" → {exc.filename2}"
        return f"{where}: {reason}"
    return reason[:1].upper() + reason[1:] if hint else reason


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_LENGTH else line[: MAX_LENGTH - 1].rstrip() + "…"
