"""Printing any file name: stdout and stderr write a name's undecodable bytes as those bytes.

Python decodes file names that are not UTF-8 with lone surrogates, which no encoding accepts; without
this a command (``search``, ``show``) or the window's one-line messages on stderr would end in a
traceback on such a name. Its own module, importing nothing else, because every start needs it: the
window's too, which does not load the command-line parser (``app.cli``).
"""

from __future__ import annotations

import codecs
import io
import sys


def _name_bytes_or_backslash(error: UnicodeError) -> tuple[str | bytes, int]:
    """Encoding error handler for printed text: a file name's undecodable bytes go out as those bytes
    (what ``ls`` shows, and what a shell passes back to ``show``); any other unencodable character as a
    backslash escape. Printing a name never fails."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    chunk = error.object[error.start : error.end]
    if all(0xDC80 <= ord(char) <= 0xDCFF for char in chunk):
        return bytes(ord(char) - 0xDC00 for char in chunk), error.end
    return codecs.backslashreplace_errors(error)


codecs.register_error("atelier.names", _name_bytes_or_backslash)


def use_safe_output() -> None:
    """Make stdout and stderr print any file name: once, before anything is printed."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="atelier.names")
