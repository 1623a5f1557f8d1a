"""The error family of organizing (moves, renames, deletes, links, undo): one line a user can act on.

One branch of :class:`core.errors.AtelierError`, so ``app.messages.user_message`` prints it in the CLI and
the window without a second mapping.
"""

from __future__ import annotations

from core.errors import AtelierError


class OrganizeError(AtelierError):
    """A change to the user's files that was refused or could not be made; nothing was lost."""


class TargetExistsError(OrganizeError):
    """A file or folder already stands where a move or rename would put one: it is never overwritten."""
