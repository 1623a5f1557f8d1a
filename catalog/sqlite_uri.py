"""The ``file:`` URI that makes SQLite open a database file at a path, with query parameters.

URIs are how the standard ``sqlite3`` module is asked for ``mode=ro`` or ``immutable=1``; the path must
then be written the way SQLite parses it (https://www.sqlite.org/uri.html), which ``Path.as_uri()`` does
not do for every path:

- SQLite refuses any URI authority other than none or ``localhost`` (unless built with
  ``SQLITE_ALLOW_URI_AUTHORITY``), and ``as_uri()`` writes a Windows network path ``\\\\nas\\share\\x``
  as ``file://nas/share/x``: a catalog on a share could not be opened. Its documented form keeps the
  authority empty and the two slashes in the path: ``file:////nas/share/x``.
- A drive path is ``file:///C:/x`` (SQLite drops the slash before ``C:``); a verbatim path
  (``\\\\?\\C:\\x``, ``\\\\?\\UNC\\nas\\share\\x``) is written as the plain path it stands for.
- ``?`` ends the path and ``#`` the whole URI, and ``%`` starts an escape, so each is percent-encoded
  (as are spaces and every byte outside ASCII, which SQLite decodes back to the UTF-8 of the name).

The path is made absolute with ``absolute()``, never ``resolve()``: on Windows, resolving turns a mapped
drive ``Z:\\`` into the share's ``\\\\server\\share`` name, which needs no more than the drive did.
"""

from __future__ import annotations

from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Literal
from urllib.parse import quote

OpenMode = Literal["ro", "rw", "rwc"]
_VERBATIM = "\\\\?\\"
_VERBATIM_UNC = "\\\\?\\UNC\\"


def sqlite_uri(path: PurePath, *, mode: OpenMode | None = None, immutable: bool = False) -> str:
    """The URI that opens the database at ``path`` (a concrete ``Path`` is made absolute first; a pure
    path must be absolute already), with ``mode=`` and ``immutable=1`` as asked."""
    if isinstance(path, Path):
        path = path.absolute()
    if not path.is_absolute():
        raise ValueError(f"an SQLite URI needs an absolute path, not {path}")
    uri = f"file:{_uri_path(path)}"
    query = ([f"mode={mode}"] if mode else []) + (["immutable=1"] if immutable else [])
    return f"{uri}?{'&'.join(query)}" if query else uri


def _uri_path(path: PurePath) -> str:
    """The percent-encoded path part, always beginning with ``//`` (an empty authority) then the path."""
    if isinstance(path, PureWindowsPath):
        path = _without_verbatim_prefix(path)
        drive = path.drive
        if len(drive) == 2 and drive[1] == ":":  # C:\x -> ///C:/x
            return f"///{drive}{_quoted(path.as_posix()[2:])}"
        return f"//{_quoted(path.as_posix())}"  # \\host\share\x -> ////host/share/x
    # A POSIX name is bytes, some not UTF-8: the surrogate escapes Python read them as give them back.
    return f"//{quote(str(PurePosixPath(path)).encode('utf-8', 'surrogateescape'), safe='/')}"


def _without_verbatim_prefix(path: PureWindowsPath) -> PureWindowsPath:
    """``\\\\?\\C:\\x`` as ``C:\\x`` and ``\\\\?\\UNC\\host\\share`` as ``\\\\host\\share``; any other
    verbatim path (a volume's GUID name) is kept as it is."""
    text = str(path)
    if text.upper().startswith(_VERBATIM_UNC):
        plain = PureWindowsPath("\\\\" + text[len(_VERBATIM_UNC) :])
    elif text.startswith(_VERBATIM):
        plain = PureWindowsPath(text[len(_VERBATIM) :])
    else:
        return path
    return plain if plain.is_absolute() else path


def _quoted(posix_text: str) -> str:
    return quote(posix_text.encode("utf-8"), safe="/")
