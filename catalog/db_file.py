"""What lies at a catalog's path, checked from its first bytes before SQLite is asked to open it.

SQLite opens almost anything without complaint: a missing path becomes a new empty database, a 0-byte
file becomes one too, and a truncated or overwritten file is only noticed by the query that reaches the
damaged page. A user's library must never be replaced by an empty one that way, nor a damaged file be
written over, so the opener looks first: this module reads the path's type and the 100-byte SQLite
header (through ``core.formats.safe_open``, so a named pipe at that path cannot block) and says in
words what is wrong. It imports no SQLAlchemy and costs one ``stat`` and one small read, so the window
can ask before it is drawn.

The header is read through a descriptor that stays open for the life of the process (POSIX): closing any
descriptor of a file drops every POSIX advisory lock the process holds on that file, SQLite's included.
A process that checked its catalog again while its own connections were open (the window does, on the
thread that opens the library once its first view is drawn) dropped their locks that way; the next
command to close its connection then took itself for the last one and deleted the write-ahead log the
window was still writing to: its later writes were lost and the catalog's indexes damaged. Windows locks
per handle, so there the descriptor is closed as usual.
"""

from __future__ import annotations

import enum
import errno
import os
import threading
from pathlib import Path
from typing import BinaryIO, NamedTuple

from catalog.sqlite_uri import sqlite_uri
from core.formats.errors import UnreadableFileError
from core.formats.safe_open import open_regular, special_kind

SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_BYTES = 100
WAL_SUFFIXES = ("-wal", "-shm")
# Closing a descriptor drops the process's POSIX locks on the file (see the module docstring); Windows
# locks per handle.
CLOSING_DROPS_LOCKS = os.name == "posix"
_HEADER_READERS: dict[tuple[int, int], BinaryIO] = {}  # (st_dev, st_ino) -> a descriptor never closed
_KEPT: list[BinaryIO] = []  # every descriptor opened here, never closed (POSIX)
_HEADER_READERS_LOCK = threading.Lock()


class CatalogFileState(enum.Enum):
    """Why the file at a catalog path cannot be used as it is."""

    MISSING = "missing"  # nothing at the path
    EMPTY = "empty"  # a 0-byte file: SQLite would make it a new, empty catalog
    FOLDER = "folder"  # a folder (or another non-file) where the catalog file should be
    UNREADABLE = "unreadable"  # no permission, a dangling link, a link loop
    NOT_SQLITE = "not-sqlite"  # other bytes than an SQLite database
    TRUNCATED = "truncated"  # shorter than its own header says


class CatalogFileProblem(NamedTuple):
    """One thing wrong with a catalog path; ``detail`` completes "The catalog PATH …" in words.

    A named tuple rather than a frozen dataclass: as immutable, and made at import in a fifth of the
    time (the window checks the catalog file before its first frame)."""

    path: Path
    state: CatalogFileState
    detail: str

    @property
    def sentence(self) -> str:
        return f"The catalog {self.path} {self.detail}"


def examine_catalog_file(path: Path) -> CatalogFileProblem | None:
    """None when ``path`` holds what looks like a whole SQLite database, else what is wrong with it."""

    def problem(state: CatalogFileState, detail: str) -> CatalogFileProblem:
        return CatalogFileProblem(path, state, detail)

    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return problem(CatalogFileState.UNREADABLE, f"is a link to {_target(path)}, which does not exist")
        return problem(CatalogFileState.MISSING, "is missing")
    except OSError as exc:
        return problem(CatalogFileState.UNREADABLE, f"cannot be reached: {_why(exc)}")
    kind = special_kind(st.st_mode)
    if kind is not None:
        return problem(CatalogFileState.FOLDER, f"is {kind}, not a catalog file")
    if st.st_size == 0:
        return problem(CatalogFileState.EMPTY, "is an empty file (0 bytes)")
    try:
        header = _read_header(path, st)
    except UnreadableFileError as exc:
        return problem(CatalogFileState.UNREADABLE, f"cannot be read: {exc.reason}")
    except OSError as exc:
        return problem(CatalogFileState.UNREADABLE, f"cannot be read: {_why(exc)}")
    if not header.startswith(SQLITE_MAGIC):
        return problem(
            CatalogFileState.NOT_SQLITE,
            "is not an Atelier catalog: not an SQLite database (damaged or overwritten)",
        )
    expected = _size_from_header(header)
    if expected is not None and st.st_size < expected:
        return problem(
            CatalogFileState.TRUNCATED, f"is truncated ({st.st_size:,} of its {expected:,} bytes are there)"
        )
    return None


def _read_header(path: Path, st: os.stat_result) -> bytes:
    """The file's first :data:`HEADER_BYTES`, read without ever closing a descriptor of it where that
    would drop this process's SQLite locks (one descriptor per file, kept; a file replaced since has
    another inode, so another descriptor)."""
    if not CLOSING_DROPS_LOCKS:
        with open_regular(path) as handle:
            return handle.read(HEADER_BYTES)
    with _HEADER_READERS_LOCK:
        kept = _HEADER_READERS.get((st.st_dev, st.st_ino))
        if kept is None:
            kept = open_regular(path, buffering=0)
            opened = os.fstat(kept.fileno())  # the file opened (it may have been replaced since stat)
            _KEPT.append(kept)  # kept even where a descriptor of that file was kept already
            _HEADER_READERS.setdefault((opened.st_dev, opened.st_ino), kept)
        return os.pread(kept.fileno(), HEADER_BYTES, 0)


def _size_from_header(header: bytes) -> int | None:
    """The database size its header records, when the header says that number is current.

    The in-header page count (offset 28) is trusted only when its "version-valid-for" number (offset
    92) equals the change counter (offset 24), as SQLite itself does; a page size of 1 means 65536.
    """
    if len(header) < HEADER_BYTES:
        return None
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if header[24:28] != header[92:96] or pages == 0 or page_size < 512:
        return None
    return page_size * pages


def read_only_uri(db_path: Path) -> str:
    """The SQLite URI that reads ``db_path`` without writing anything, in its folder or in the file.

    ``mode=ro`` reads the WAL too, but makes the ``-wal``/``-shm`` files when they are missing (and a
    read-only connection cannot remove them again); where they are missing, no writer is connected and
    everything committed is in the database file, which ``immutable=1`` then reads alone, creating nothing.
    """
    return sqlite_uri(db_path, mode="ro", immutable=not wal_files_present(db_path))


def wal_files_present(path: Path) -> bool:
    """Whether the catalog's ``-wal`` and ``-shm`` companions both exist (a reader can then use them
    without writing anything; without them a read-only folder can only be read as immutable)."""
    return all(path.with_name(path.name + suffix).exists() for suffix in WAL_SUFFIXES)


def _target(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return "?"


def _why(exc: OSError) -> str:
    if exc.errno in {errno.EACCES, errno.EPERM}:
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "a symbolic link that loops back on itself"
    return exc.strerror or str(exc)


def schema_written_by_newer(path: Path) -> str | None:
    """The schema revision of the catalog at ``path`` when no migration of this Atelier knows it (a newer
    Atelier wrote it); None otherwise, and whenever the question cannot be answered here (no revision
    table, a locked or damaged file: opening the library says what is wrong then).

    Asked before the window is drawn, with the standard ``sqlite3`` module read-only, so the window never
    opens empty on a library it cannot read; the revisions known are the migration files' names. Where the
    file is as a window left it at a revision this Atelier knows (``unchanged_since_checked``), it does not
    ask.
    """
    known = known_revisions()
    revision = _schema_revision(path)
    return revision if revision is not None and known and revision not in known else None


def checked_catalog(path: Path) -> str:
    """What a window records of its catalog as it closes (``Settings.catalog_checked``): the schema
    revision read now and the file's fingerprint, ``"REVISION|FINGERPRINT"``; "" where the revision cannot
    be read or is none this Atelier's migrations know.

    The revision is part of the record because every Atelier version records one: a newer Atelier that
    migrated the catalog and closed on it leaves the file's fingerprint under its own revision, which this
    one does not know, so it reads the revision again (and refuses the catalog) instead of trusting it.
    """
    revision = _schema_revision(path)  # first: reading it read-only may make the log's empty file
    if revision is None or revision not in known_revisions():
        return ""
    return f"{revision}{_CHECKED_SEPARATOR}{catalog_fingerprint(path)}"


def unchanged_since_checked(record: str, path: Path) -> bool:
    """Whether ``record`` (``checked_catalog``'s, as a window of any Atelier version kept it) names a
    revision this Atelier knows and the file is as it was then: its revision needs no reading before the
    window's first frame. Anything else — no record, another format, a revision of a newer Atelier, a file
    written since — is False: the revision is read."""
    revision, separator, fingerprint = record.partition(_CHECKED_SEPARATOR)
    if not separator or not fingerprint or revision not in known_revisions():
        return False
    return catalog_fingerprint(path) == fingerprint


def _schema_revision(path: Path) -> str | None:
    """The catalog's Alembic revision, read with ``sqlite3`` read-only; None where it cannot be read."""
    import sqlite3  # here: a window started on the catalog as it left it imports no sqlite3 before its frame

    try:
        connection = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return str(row[0]) if row else None


def catalog_fingerprint(path: Path) -> str:
    """The catalog file as it stands: its size, modification time and inode, and its write-ahead log's
    size and modification time; "" where there is no file.

    Every commit changes it, by any process: a commit is written to the log (its size or time changes)
    and a checkpoint copies the log into the file (its time changes); a file put in its place has another
    inode. The window records it when it closes, with the catalog's revision (``checked_catalog``); a start
    that finds the same fingerprint under a revision it knows needs not read the revision again before its
    first frame (``desktop.catalog_check``). The shared-memory index (``-shm``) is left out: readers write it.
    """
    try:
        st = path.stat()
    except OSError:
        return ""
    try:
        log = path.with_name(path.name + "-wal").stat()
    except OSError:
        written = "-"
    else:
        written = f"{log.st_size}:{log.st_mtime_ns}"
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino};{written}"


def known_revisions() -> tuple[str, ...]:
    """The schema revisions this Atelier knows, oldest first: its migration files' names (``0001_...``),
    read from the folder so that no Alembic is loaded to ask (a listing, not a glob: asked before the
    window's first frame, which a glob's pattern compilation would delay)."""
    names = (script.name for script in _MIGRATIONS.iterdir())
    scripts = (name for name in names if "0" <= name[0] <= "9" and name.endswith(".py"))
    return tuple(sorted({name.split("_", 1)[0] for name in scripts if "_" in name[1:-3]}))


_MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_CHECKED_SEPARATOR = "|"  # between the revision and the fingerprint in a checked catalog's record
