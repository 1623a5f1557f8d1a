"""``Library.follow_changes`` for an SQLite catalog, polling every 0.1 s instead of every second.

The window notices commits made by another connection (a ``main.py`` command, a second Library) through
the catalog's real ``FileChangeFeed``, which looks for them once a second (``POLL_INTERVAL_S``). A test
that makes such a commit and waits for the window to show it waited up to a second per commit for that
poll alone. This is the same feed, the one ``follow_changes`` starts for a catalog file, with its
``interval_s`` at 0.1 s: what it reports and how the window follows are unchanged, only the wait shortens.
"""

from __future__ import annotations

from collections.abc import Callable

from catalog.change_feed import ChangeFeed, ChangesCallback, FileChangeFeed, StateCallback
from catalog.library import Library

QUICK_POLL_S = 0.1

FollowChanges = Callable[[ChangesCallback, StateCallback | None], ChangeFeed]


def quick_follow_changes(library: Library) -> FollowChanges:
    """``library.follow_changes`` with a 0.1 s poll, for ``DesktopServices``; an SQLite catalog's only
    (a server's feed is told of each commit, LISTEN, and does not poll)."""

    def follow(on_change: ChangesCallback, on_state: StateCallback | None = None) -> ChangeFeed:
        feed = FileChangeFeed(library.path, on_change, on_state, interval_s=QUICK_POLL_S)
        feed.start()
        return feed

    return follow
