"""The root of every error Atelier raises on purpose: ``AtelierError`` carries the sentence a user reads.

Each layer has its own branch (``core.sources.errors.RemoteError`` for sites and downloads,
``catalog.errors.CatalogError`` for the library database, ``app.render_service.RenderError`` for renders,
``core.formats.errors.FormatError`` for unreadable model files), and every branch derives from this
class, so a front end needs one ``except AtelierError`` and one mapping (``app.messages.user_message``)
to turn any expected failure into the one line it shows, instead of a traceback.
"""

from __future__ import annotations


class AtelierError(Exception):
    """An expected failure; ``message`` says what happened and what to do, in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(AtelierError):
    """A request the user corrects by asking differently (a folder that cannot be a library folder, a
    value out of range): the command line exits 2 for it, as for a wrong option (README, Command line)."""
