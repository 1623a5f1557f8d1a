"""Changes other processes and machines commit to the catalog, reported as they happen.

Why: on a team library (PostgreSQL) a tag, a rating, a download or a move made on one machine must show on
the others without a restart, and on one machine a command (``main.py tag ...``) run while the window is
open must show in it too. The window subscribes once (``AppContext.change_feed``) and re-reads only what
it shows.

Two feeds, one shape (:class:`ChangeFeed`, calling ``on_change`` with :class:`Changes` from its own daemon
thread):

- :class:`ServerChangeFeed` holds one psycopg connection in autocommit that LISTENs on the channel the
  catalog's triggers notify (migration 0011: payloads of asset ids, or ``root:`` and folder ids). The
  server delivers a notification only once its transaction commits. Notifications arriving within
  ``coalesce_s`` (200 ms) are delivered as one batch, so a scan writing 10,000 rows is one refresh. The
  writes of this process's own engine are left out (their backend ids are known from the pool): the
  window already shows what it wrote itself. A lost server is reported through ``on_state`` and retried
  with a growing pause; once back, a batch with ``unknown`` set says that what changed meanwhile is not
  known (notifications sent while nobody listened are gone).
- :class:`FileChangeFeed` polls ``PRAGMA data_version`` on its own read-only SQLite connection, and the
  size and time of the catalog and its write-ahead log, every ``interval_s`` (1 s): they change when any
  other connection, in this process or another, has committed. SQLite does not say what changed, so the
  batch is ``unknown``.
"""

from __future__ import annotations

import contextlib
import select
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from catalog.sqlite_uri import sqlite_uri

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy import Engine

CHANNEL = "atelier_changes"  # the channel migration 0011's triggers notify
ROOT_PREFIX = "root:"
COALESCE_S = 0.2
POLL_INTERVAL_S = 1.0
RETRY_PAUSES_S = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)  # between tries to reach a lost server; the last repeats


@dataclass(frozen=True, slots=True)
class Changes:
    """One batch of committed changes: the files and library folders whose rows changed, or ``unknown``
    when the feed cannot say which (SQLite; a server reached again after it was lost): then everything
    shown should be read again."""

    asset_ids: frozenset[int] = frozenset()
    root_ids: frozenset[int] = frozenset()
    unknown: bool = False


ChangesCallback = Callable[[Changes], None]
StateCallback = Callable[[str | None], None]  # a one-line problem (feed cut off, retrying), None when well


class ChangeFeed(Protocol):
    """A running feed; ``stop`` ends its thread and closes its connection (idempotent)."""

    def stop(self) -> None: ...


def parse_payload(payload: str) -> Changes:
    """A notification's payload (``"12,13"`` or ``"root:4"``) as a batch; anything else (a payload from
    a newer version) means "something changed"."""
    is_root = payload.startswith(ROOT_PREFIX)
    words = (payload[len(ROOT_PREFIX) :] if is_root else payload).split(",")
    try:
        ids = frozenset(int(word) for word in words if word)
    except ValueError:
        return Changes(unknown=True)
    return Changes(root_ids=ids) if is_root else Changes(asset_ids=ids)


def merge(batches: list[Changes]) -> Changes:
    return Changes(
        asset_ids=frozenset().union(*(batch.asset_ids for batch in batches)),
        root_ids=frozenset().union(*(batch.root_ids for batch in batches)),
        unknown=any(batch.unknown for batch in batches),
    )


class _Wakeable:
    """A daemon thread whose waits a ``stop`` cuts short: a socket pair (``select`` takes sockets on
    every platform) is written to when the feed stops."""

    def __init__(self, name: str) -> None:
        self._stopping = threading.Event()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._thread = threading.Thread(target=self._run_guarded, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._wake_read.close()
        self._wake_write.close()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wait(self, seconds: float, *also: Any) -> list[Any]:
        """Sleeps up to ``seconds`` or until ``stop`` or one of ``also`` (sockets, file numbers) is
        readable; returns those of ``also`` that are."""
        if self._stopping.is_set():
            return []
        ready, _, _ = select.select([self._wake_read, *also], [], [], max(0.0, seconds))
        return [item for item in ready if item is not self._wake_read]

    def _run_guarded(self) -> None:
        try:
            self.run()
        finally:
            self.closed()

    def run(self) -> None:
        raise NotImplementedError

    def closed(self) -> None:
        """Releases what ``run`` held (on the feed's thread, after it ended)."""


class ServerChangeFeed(_Wakeable):
    """LISTENs for the catalog's change notifications on a PostgreSQL server (see the module docstring).

    ``engine`` is this process's catalog engine: its connection settings are used for the listening
    connection, and the notifications its own connections cause are left out (``ignore_own``).
    """

    def __init__(
        self,
        engine: Engine,
        on_change: ChangesCallback,
        on_state: StateCallback | None = None,
        *,
        name: str | None = None,
        coalesce_s: float = COALESCE_S,
        ignore_own: bool = True,
    ) -> None:
        super().__init__("catalog change feed")
        self._engine = engine
        self._on_change = on_change
        self._on_state = on_state
        if name is None:
            from catalog.catalog_url import masked

            name = masked(engine.url.set(drivername="postgresql"))  # as the user writes it
        self._name = name
        self._coalesce_s = coalesce_s
        self._own_pids: set[int] = set()
        self._connection: psycopg.Connection[Any] | None = None
        self._ignore_own = ignore_own
        if ignore_own:
            from sqlalchemy import event

            event.listen(engine, "checkout", self._on_checkout)
            event.listen(engine, "close", self._on_close)

    # -- this process's own connections -------------------------------------------------------------

    def _on_checkout(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        pid = int(dbapi_connection.info.backend_pid)
        record.info["atelier_backend_pid"] = pid
        self._own_pids.add(pid)

    def _on_close(self, _dbapi_connection: Any, record: Any) -> None:
        pid = record.info.pop("atelier_backend_pid", None)
        if pid is not None:
            self._own_pids.discard(pid)

    # -- the listening thread -----------------------------------------------------------------------

    def start(self) -> None:
        """LISTENs before returning where the server answers at once (it just did: the catalog is open),
        so a change committed right after the start is heard; else the feed's thread keeps trying."""
        import psycopg

        try:
            self._connection = self._connect()
        except (psycopg.Error, OSError):
            self._connection = None  # reported and retried by the thread
        super().start()

    def run(self) -> None:
        import psycopg

        failures = 0
        was_lost = False
        while not self.stopping:
            if self._connection is None:
                try:
                    self._connection = self._connect()
                except (psycopg.Error, OSError) as error:  # the server is retried until the feed stops
                    if not was_lost:
                        self._report(self._lost_message(error))
                        was_lost = True
                    self.wait(RETRY_PAUSES_S[min(failures, len(RETRY_PAUSES_S) - 1)])
                    failures += 1
                    continue
            failures = 0
            if was_lost:
                was_lost = False
                self._report(None)
                self._on_change(Changes(unknown=True))  # what changed while nobody listened is unknown
            try:
                self._listen(self._connection)
            except (psycopg.Error, OSError) as error:  # a lost connection is retried, never raised
                if not self.stopping:
                    self._report(self._lost_message(error))
                    was_lost = True
            finally:
                self._close_connection()

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        url = self._engine.url
        connection = psycopg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            dbname=url.database,
            autocommit=True,
            connect_timeout=5,
            # A machine that vanishes without closing the socket is noticed within about half a minute.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            application_name="atelier change feed",
        )
        connection.execute(f"LISTEN {CHANNEL}")
        return connection

    def _listen(self, connection: psycopg.Connection[Any]) -> None:
        """Reads notifications until the feed stops; raises when the connection is lost."""
        pending: list[Changes] = []
        deadline = 0.0
        while not self.stopping:
            timeout = deadline - time.monotonic() if pending else 3600.0
            if self.wait(timeout, connection.fileno()):
                for notification in connection.notifies(timeout=0):
                    if self._ignore_own and notification.pid in self._own_pids:
                        continue
                    if not pending:
                        deadline = time.monotonic() + self._coalesce_s
                    pending.append(parse_payload(notification.payload))
            if pending and time.monotonic() >= deadline:
                batch, pending = merge(pending), []
                self._on_change(batch)

    def _close_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def closed(self) -> None:
        self._close_connection()
        if self._ignore_own:
            from sqlalchemy import event

            with contextlib.suppress(Exception):
                event.remove(self._engine, "checkout", self._on_checkout)
                event.remove(self._engine, "close", self._on_close)

    def _report(self, problem: str | None) -> None:
        if self._on_state is not None:
            self._on_state(problem)

    def _lost_message(self, error: BaseException) -> str:
        """One line: which server, the driver's reason (any password masked), and that it is retried."""
        from catalog.catalog_url import mask_in

        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        reason = mask_in(first.removeprefix("consuming input failed: "), self._engine.url.password)
        return f"Live updates from {self._name} stopped ({reason}); trying again"


class FileChangeFeed(_Wakeable):
    """Notices commits made to an SQLite catalog by any other connection (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        on_change: ChangesCallback,
        on_state: StateCallback | None = None,
        *,
        interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        super().__init__("catalog change poll")
        self._path = Path(path)
        self._on_change = on_change
        self._on_state = on_state
        self._interval_s = interval_s
        self._connection: sqlite3.Connection | None = None
        # Read now, on the caller's thread: a commit made right after the feed is started is reported.
        self._version: tuple[int, ...] | None = self._read_version()

    def _read_version(self) -> tuple[int, ...] | None:
        """What changes with every commit: ``PRAGMA data_version``, and the size and time of the catalog
        file and of its write-ahead log (a commit appends to the log, a checkpoint writes the file). The
        count alone was seen to stop moving in the window's process once its light reader
        (``catalog.read_connection``) had read; the log's size and time move with every commit."""
        try:
            if self._connection is None:
                uri = sqlite_uri(self._path, mode="ro")
                self._connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
            # fetchall: a statement left unfinished would keep its read open, and the count with it.
            ((version,),) = self._connection.execute("PRAGMA data_version").fetchall()
        except sqlite3.Error:
            self._close_connection()
            return None
        marks = [int(version)]
        for suffix in ("", "-wal"):
            try:
                status = self._path.with_name(self._path.name + suffix).stat()
            except OSError:  # no log while nobody has the catalog open
                marks += [0, 0]
            else:
                marks += [status.st_mtime_ns, status.st_size]
        return tuple(marks)

    def run(self) -> None:
        problem = False
        while not self.stopping:
            self.wait(self._interval_s)
            if self.stopping:
                return
            version = self._read_version()
            if version is None:
                if not problem and self._on_state is not None:
                    self._on_state(f"Cannot read {self._path} to follow its changes; retrying")
                problem = True
                continue
            if problem:  # read again through a new connection, whose count starts afresh
                problem = False
                if self._on_state is not None:
                    self._on_state(None)
                self._on_change(Changes(unknown=True))  # what changed while it could not be read is unknown
            elif self._version is not None and version != self._version:
                self._on_change(Changes(unknown=True))
            self._version = version

    def _close_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None

    def closed(self) -> None:
        self._close_connection()
