"""The argparse ``type`` of each kind of value typed on the command line, shared by every command.

A value argparse refuses is a usage error: one line naming the option, and exit 2, before the command
opens anything (the README's exit codes). So a count or a path is checked here, once, and never again in
a command's handler with a message and exit code of its own. Ids are :func:`app.cli_ids.row_id`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli_ids import MAX_ROW_ID


def count(text: str) -> int:
    """How many to list or show (``--limit``): a whole number from 1; a number larger than any catalog can
    hold means "all of them" (capped, so it never overflows a query)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number from 1 up, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number from 1 up, not {text}")
    return min(value, MAX_ROW_ID)


def user_path(text: str) -> Path:
    """A file or folder as the user typed it: ``~`` is their home, as in the shell (quoted, the shell
    leaves it to us); relative paths stay relative to where the command runs."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names no file or folder")
    return Path(text).expanduser()
