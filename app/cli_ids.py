"""Ids typed on the command line: whole numbers a catalog row can have.

SQLite stores integers in 64 bits, so a longer number typed by hand ("show 99999999999999999999999")
cannot name any row; it is refused as "no such id" instead of reaching the database and overflowing.
"""

from __future__ import annotations

import argparse

MAX_ROW_ID = 2**63 - 1  # SQLite's largest INTEGER


def is_row_id(value: int) -> bool:
    """Whether ``value`` could be the id of a catalog row."""
    return 0 <= value <= MAX_ROW_ID


def row_id(text: str) -> int:
    """An argparse ``type`` for an id: a whole number within SQLite's range (one-line error otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"an id is a whole number, not {text!r}") from None
    if not -MAX_ROW_ID <= value <= MAX_ROW_ID:
        raise argparse.ArgumentTypeError(f"no id is as large as {text}")
    return value
