"""File names that are not valid UTF-8, stored in the catalog and given back unchanged.

On Linux a file name is bytes. Python decodes the bytes that are not UTF-8 as lone surrogates
(``b'\\xff'`` becomes ``'\\udcff'``, PEP 383), so ``open()`` and ``os.stat()`` find the file again from
the ``str``. SQLite (and PostgreSQL) refuse such a ``str``: it has no UTF-8 encoding. Paths are
therefore stored through a reversible mapping:

- a surrogate (U+D800..U+DFFF) is stored as the character at the same place in the last 2,048 code
  points of Unicode (U+10F800..U+10FFFF, the end of a private use plane: no script lives there);
- a name that really holds one of those characters (or the escape U+10F7FF itself) has it stored
  behind the escape U+10F7FF, so nothing collides and every ``str`` comes back exactly.

The mapping works character by character, so a stored folder is a prefix of the stored paths under it
(``LIKE 'folder/%'`` still finds them) and ASCII paths (almost all) are stored as they are. Names shown
to people use :func:`shown` instead, which puts U+FFFD where a byte was not text.
"""

from __future__ import annotations

import re

_SURROGATES = 0xD800
_RESERVED = 0x10F800  # U+10F800..U+10FFFF stand for U+D800..U+DFFF
_SHIFT = _RESERVED - _SURROGATES
ESCAPE = "\U0010f7ff"

# Patterns compiled by ``re`` on first use (and kept in its cache), not as the module is imported: the
# window's first frame imports this module and, with plain ASCII paths, never needs them.
_TO_STORE = "[\ud800-\udfff\U0010f7ff-\U0010ffff]"
_FROM_STORE = "(?s)\U0010f7ff(.)|[\U0010f800-\U0010ffff]"
_LONE_SURROGATE = "[\ud800-\udfff]"


def _store_one(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if _SURROGATES <= code <= 0xDFFF:
        return chr(code + _SHIFT)
    return ESCAPE + char  # a real character of the reserved range (or the escape): kept behind the escape


def _restore_one(match: re.Match[str]) -> str:
    escaped = match.group(1)
    if escaped is not None:
        return escaped
    return chr(ord(match.group()) - _SHIFT)


def to_stored(value: str) -> str:
    """``value`` as the catalog stores it: valid Unicode, whatever bytes the file name had."""
    if value.isascii():
        return value
    return re.sub(_TO_STORE, _store_one, value)


def from_stored(value: str) -> str:
    """The exact ``str`` :func:`to_stored` was given (a path ``open()`` finds again)."""
    if value.isascii():
        return value
    return re.sub(_FROM_STORE, _restore_one, value)


def shown(value: str) -> str:
    """``value`` for people to read: each byte that was not text becomes U+FFFD (the "?" in a box).

    Printing, Qt and JSON need valid Unicode; the catalog keeps the real name for finding the file.
    """
    if value.isascii():
        return value
    return re.sub(_LONE_SURROGATE, "\ufffd", value)
