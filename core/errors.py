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
