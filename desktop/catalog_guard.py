"""One guard for everything the window asks of a catalog that does not answer (its server stopped,
restarting, the network gone).

A window on a catalog server calls into the catalog from hundreds of places: menu and context-menu
actions, dialog buttons, the end of a job, a model fetching the next page. Each place that can say
better than "nothing happened" already does ("Not saved: …" in the details pane keeps the typed notes);
every other one would end, when the server is down, in ``CatalogUnreachableError`` escaping a Qt slot:
a traceback on the terminal and an action that silently did nothing.

Rather than a ``try``/``except`` copied into every action, the guard sits where every slot's failure
already lands: PySide reports an exception a slot (or a virtual method, or a timer) raised to
``sys.excepthook``. :func:`guard_catalog_calls` (called by the window's status bar as it is made) puts a
hook in front of the current one that turns a ``CatalogUnreachableError`` into one line in that status
bar ("Not available: The catalog server cannot be reached (Connection refused); try again once it
answers.") and hands any other exception on unchanged. Nothing was written (a unit of work on a server
that went away is rolled back whole), so the same action simply works again once the server is back;
the window's rows stay what the catalog last said.

Jobs on worker threads do not need it: ``desktop.workers`` turns their failure into the job's one line.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


def not_available(error: BaseException) -> str:
    """The one line an action refused by a catalog that does not answer ends in."""
    return f"Not available: {str(error).rstrip('.')}; try again once it answers."


class _Status(Protocol):
    """Where the line goes: ``desktop.status_bar.AppStatusBar`` (typed here to avoid the import)."""

    def flash(self, message: str) -> None: ...

    def isVisible(self) -> bool: ...  # noqa: N802


class _CatalogGuard:
    """The hook: says an unreachable catalog in the status bar that is on screen."""

    def __init__(self, previous: ExceptHook) -> None:
        self.previous = previous
        self.places: weakref.WeakSet[_Status] = weakref.WeakSet()

    def __call__(
        self, kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> object:
        from catalog.errors import CatalogUnreachableError  # not before the window's first frame

        if isinstance(error, CatalogUnreachableError):
            place = self._shown_place()
            if place is not None:
                place.flash(not_available(error))
                return None
        return self.previous(kind, error, trace)

    def _shown_place(self) -> _Status | None:
        for place in list(self.places):
            try:
                if place.isVisible():
                    return place
            except RuntimeError:  # its Qt object is already gone
                self.places.discard(place)
        return None


def guard_catalog_calls(status: _Status) -> None:
    """Route a ``CatalogUnreachableError`` escaping any slot to ``status`` (the window's status bar,
    which calls this as it is made), as one line.

    The hook is put in front of whatever ``sys.excepthook`` is now (again if something replaced it since,
    as pytest-qt does for each test) and keeps handing every other exception to it.
    """
    hook = sys.excepthook
    if not isinstance(hook, _CatalogGuard):
        hook = _CatalogGuard(sys.excepthook)
        sys.excepthook = hook
    hook.places.add(status)
