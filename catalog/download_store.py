"""The download queue (implements :class:`core.downloads.DownloadStore`): in the catalog database, or,
for a catalog on a server, in this machine's own queue file.

With an SQLite catalog the queue lives next to the library it feeds: one file to back up, and a finished
download's remote payload (``metadata``) is at hand when the file is added to the library. A catalog on a
PostgreSQL server is shared by machines while each downloads into its own folders, so the queue stays on
the machine: ``download-queue.sqlite3`` in the data folder (:meth:`SqlDownloadStore.open_queue_file`),
which holds the ``downloads`` table and nothing else. Earlier versions kept it in a whole empty catalog
named ``catalog.server``; the first start carries that file's queue over (queued, paused, failed and
finished downloads alike) and removes the old file only once the new one holds every row.

Each method is one short unit of work, so the engine's worker threads and the GUI can call it
concurrently (see :mod:`catalog.db`). Request headers are stored without credentials: tokens stay on the
HTTP session (and in the keyring).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, select, update

from catalog.db import CatalogDatabase, create_catalog_engine, utc_now
from catalog.db_file import WAL_SUFFIXES
from catalog.migrate import upgrade
from catalog.orm import DownloadRow
from catalog.sqlite_uri import sqlite_uri

if TYPE_CHECKING:
    from sqlalchemy import Table

from core.download_flush import fsync_folder
from core.downloads import (
    DownloadRecord,
    DownloadRequest,
    DownloadSource,
    DownloadStatus,
    strip_secrets,
)

QUEUE_FILE = "download-queue.sqlite3"
# Where versions before the queue file kept a server catalog's queue: a whole, otherwise empty, catalog.
FORMER_QUEUE_FILE = "catalog.server"
# The queue file's layout, in SQLite's user_version: the downloads table as the catalog's migrations leave
# it (a test compares the two, so a migration changing the table cannot forget this file).
QUEUE_FILE_VERSION = 1
_COLUMNS = tuple(column.name for column in DownloadRow.__table__.columns)


def _record(row: DownloadRow) -> DownloadRecord:
    return DownloadRecord(
        id=row.id,
        url=row.url,
        source=DownloadSource(row.source),
        target_dir=Path(row.target_dir),
        status=DownloadStatus(row.status),
        file_name=row.file_name,
        suggested_name=row.suggested_name,
        expected_size=row.expected_size,
        expected_sha256=row.expected_sha256,
        error=row.error,
        bytes_done=row.bytes_done,
        total=row.total,
        completed_path=Path(row.completed_path) if row.completed_path else None,
        headers=dict(row.headers or {}),
        metadata=dict(row.metadata_ or {}),
        remote_ids=dict(row.remote_ids or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlDownloadStore:
    """:class:`~core.downloads.DownloadStore` over a :class:`~catalog.db.CatalogDatabase`."""

    def __init__(self, database: CatalogDatabase) -> None:
        self._db = database

    @classmethod
    def open(cls, db_path: Path, *, read_only: bool = False) -> SqlDownloadStore:
        """A store on its own database handle (migrated to head; read-only as its catalog was opened, in
        a read-only data folder): for tools and subprocesses."""
        database = CatalogDatabase(db_path, read_only=read_only)
        if not read_only:
            upgrade(database.engine)
        return cls(database)

    @classmethod
    def open_queue_file(cls, data_dir: Path, *, read_only: bool = False) -> SqlDownloadStore:
        """The queue of a machine whose catalog is on a server: ``data_dir/download-queue.sqlite3``, made on
        first use with the queue of a former ``catalog.server`` file (module docstring). In a read-only
        data folder the files are only read: the former file while no queue file was made."""
        path = data_dir / QUEUE_FILE
        former = data_dir / FORMER_QUEUE_FILE
        if read_only:
            shown = former if former.is_file() and not path.exists() else path
            return cls(CatalogDatabase(shown, read_only=True))
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            _make_queue_file(path, former if former.is_file() else None)
        if former.is_file() and _holds_every_download_of(path, former):
            for name in (former, *(former.with_name(former.name + suffix) for suffix in WAL_SUFFIXES)):
                name.unlink(missing_ok=True)
        return cls(CatalogDatabase(path))

    def close(self) -> None:
        self._db.close()

    def add(self, request: DownloadRequest) -> int:
        now = utc_now()
        row = DownloadRow(
            url=request.url,
            source=str(request.source),
            remote_ids=dict(request.remote_ids or {}),
            target_dir=str(request.target_dir),
            suggested_name=request.file_name,
            expected_size=request.expected_size,
            expected_sha256=request.expected_sha256.lower() if request.expected_sha256 else None,
            status=DownloadStatus.QUEUED.value,
            bytes_done=0,
            created_at=now,
            updated_at=now,
            headers=strip_secrets(request.headers),
            metadata_=dict(request.metadata or {}),
        )
        with self._db.session_scope(write=True) as session:
            session.add(row)
            session.flush()
            return row.id

    def get(self, download_id: int) -> DownloadRecord | None:
        with self._db.session_scope() as session:
            row = session.get(DownloadRow, download_id)
            return _record(row) if row is not None else None

    def list(self) -> list[DownloadRecord]:
        with self._db.session_scope() as session:
            rows = session.scalars(select(DownloadRow).order_by(DownloadRow.id)).all()
            return [_record(row) for row in rows]

    def _update(self, download_id: int, values: Mapping[str, Any]) -> None:
        with self._db.session_scope(write=True) as session:
            session.execute(
                update(DownloadRow)
                .where(DownloadRow.id == download_id)
                .values(**values, updated_at=utc_now())
            )

    def set_status(self, download_id: int, status: DownloadStatus, error: str | None = None) -> None:
        self._update(download_id, {"status": status.value, "error": error})

    def set_file_name(self, download_id: int, file_name: str) -> None:
        self._update(download_id, {"file_name": file_name})

    def set_progress(self, download_id: int, bytes_done: int, total: int | None) -> None:
        self._update(download_id, {"bytes_done": bytes_done, "total": total})

    def set_completed(self, download_id: int, path: Path, size: int) -> None:
        self._update(
            download_id,
            {
                "status": DownloadStatus.COMPLETED.value,
                "error": None,
                "completed_path": str(path),
                "bytes_done": size,
                "total": size,
            },
        )

    def drop_metadata(self, download_id: int) -> None:
        """Forget the remote payload of a download whose file is in the library: its remote link there
        keeps the same facts, and one copy of a site's answer is enough (``app.download_requests``)."""
        self._update(download_id, {"metadata_": {}})

    def delete(self, download_id: int) -> None:
        """Forget a download; its files are not touched."""
        self.delete_many([download_id])

    def delete_many(
        self, download_ids: Iterable[int], *, statuses: Collection[DownloadStatus] | None = None
    ) -> None:
        """Forget downloads (e.g. "Clear finished"), in one write transaction however many; their files
        are not touched, ids no longer queued are passed over. ``statuses``: only the rows still in one of
        them (a finished download that a command started again meanwhile stays)."""
        ids = list(download_ids)
        if not ids:
            return
        statement = delete(DownloadRow).where(DownloadRow.id.in_(ids))
        if statuses is not None:
            statement = statement.where(DownloadRow.status.in_([status.value for status in statuses]))
        with self._db.session_scope(write=True) as session:
            session.execute(statement)


def _make_queue_file(path: Path, former: Path | None) -> None:
    """Create the queue file at ``path`` whole or not at all: built beside it, with the rows of ``former``
    (a ``catalog.server`` file) copied in, synced, then renamed into place."""
    partial = path.with_name(f".{path.name}.making")
    for leftover in (partial, *(partial.with_name(partial.name + suffix) for suffix in WAL_SUFFIXES)):
        leftover.unlink(missing_ok=True)  # a start cut off while making it: made again from the start
    engine = create_catalog_engine(partial)
    try:
        cast("Table", DownloadRow.__table__).create(engine)
    finally:
        engine.dispose()
    connection = sqlite3.connect(partial, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = DELETE")  # one file to sync and rename (WAL once opened)
        connection.execute(f"PRAGMA user_version = {QUEUE_FILE_VERSION}")
        if former is not None:
            _carry_over(connection, former)
    finally:
        connection.close()
    with partial.open("rb") as written:
        os.fsync(written.fileno())
    partial.replace(path)
    fsync_folder(path.parent)  # the rename itself survives a power cut before the former file is removed


def _carry_over(connection: sqlite3.Connection, former: Path) -> None:
    """Copy every download of ``former`` into the queue being made, in one transaction (the columns both
    have: the queue's table is the catalog's). A former file SQLite cannot read is left for the user, whole
    (:func:`_holds_every_download_of` then keeps it)."""
    try:
        connection.execute("ATTACH DATABASE ? AS former", (str(former),))
    except sqlite3.Error:
        return
    try:
        found = {row[1] for row in connection.execute("PRAGMA former.table_info(downloads)")}
        columns = ", ".join(f'"{name}"' for name in _COLUMNS if name in found)
        if found:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                f"INSERT INTO downloads ({columns}) SELECT {columns} FROM former.downloads ORDER BY id"
            )
            connection.execute("COMMIT")
    except sqlite3.DatabaseError:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
    finally:
        connection.execute("DETACH DATABASE former")


def _holds_every_download_of(path: Path, former: Path) -> bool:
    """Whether the queue file has every download of ``former`` (then the former file may go): asked
    again at each start while the former file is there, so a start cut off between making the queue file
    and removing the old one finishes the job, and a former file that could not be read is kept."""
    connection = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True)
    try:
        connection.execute("ATTACH DATABASE ? AS former", (sqlite_uri(former, mode="ro"),))
        has_table = connection.execute(
            "SELECT 1 FROM former.sqlite_master WHERE type = 'table' AND name = 'downloads'"
        ).fetchone()
        if has_table is None:  # an empty file holds no queue; one with other tables is not ours to remove
            return connection.execute("SELECT 1 FROM former.sqlite_master LIMIT 1").fetchone() is None
        missing = connection.execute(
            "SELECT 1 FROM former.downloads WHERE id NOT IN (SELECT id FROM main.downloads) LIMIT 1"
        ).fetchone()
        return missing is None
    except sqlite3.Error:
        return False
    finally:
        connection.close()
