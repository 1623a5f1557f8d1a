"""The download queue in the catalog database (implements :class:`core.downloads.DownloadStore`).

The queue lives next to the library it feeds: one file to back up, and a finished download's remote
payload (``metadata``) is at hand when the file is added to the library. Each method is one short unit of
work, so the engine's worker threads and the GUI can call it concurrently (see :mod:`catalog.db`).

Request headers are stored without credentials: tokens stay on the HTTP session (and in the keyring).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from catalog.db import CatalogDatabase, utc_now
from catalog.migrate import upgrade
from catalog.orm import DownloadRow
from core.downloads import (
    DownloadRecord,
    DownloadRequest,
    DownloadSource,
    DownloadStatus,
    strip_secrets,
)


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

    def delete(self, download_id: int) -> None:
        """Forget a download (e.g. "clear finished"); its files are not touched."""
        with self._db.session_scope(write=True) as session:
            row = session.get(DownloadRow, download_id)
            if row is not None:
                session.delete(row)
