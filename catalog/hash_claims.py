"""Claims on files about to be hashed: two machines sharing a catalog hash different files.

A hashing job (:func:`catalog.hashing_job.hash_pending`) claims a few files right before it hashes them
and leaves alone those another job holds; claims are rows of ``hash_claims`` (migration 0017): the job, its
machine and the time the claim ends, by the catalog's clock (machines' own clocks may differ). A killed
job's claims expire and its files are taken over. On the machine that ran it they are taken over at once:
a job holds a lock that the operating system drops with its process (``Library.running_hash_job``), so a
job of this machine whose lock is free has ended (``kill -9``, a crash) and its claims are no one's; the
next ``hash`` used to skip its files as "being hashed by another Atelier" for minutes. Other machines'
jobs cannot be asked and keep the expiry. Claims only share the work: a file hashed by two jobs anyway
gets the same hashes twice, and every write stays correct without them.

Claims are written in a write unit of work, which the catalog serialises (``BEGIN IMMEDIATE`` on SQLite,
an advisory lock on PostgreSQL): two jobs never claim the same file at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import delete, insert, or_, select, text
from sqlalchemy.orm import Session

from catalog.orm import ASSETS, HashClaim, table_of

_NOW = {
    "postgresql": "SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp())) AS BIGINT)",
    "sqlite": "SELECT CAST(strftime('%s', 'now') AS INTEGER)",
}


def claim(
    session: Session,
    asset_ids: Sequence[int],
    *,
    job: str,
    machine: str,
    seconds: int,
    ended_here: Callable[[str], bool] | None = None,
) -> dict[int, int]:
    """Claim for ``job`` those of ``asset_ids`` still to hash that no other job holds (a claim that has
    expired is no one's, nor is one of a job of ``machine`` that ``ended_here`` says has ended), for
    ``seconds``; returns the ids claimed, each with the modification time the catalog has for its file
    (the job hashes only that file: one of the same size and another time at that place is another
    file, such as an old copy where a machine maps the folder wrongly). The job's earlier claims end: a
    job holds only the files it is about to hash."""
    ids = list(dict.fromkeys(asset_ids))
    if not ids:
        return {}
    now = catalog_now(session)
    claims = table_of(HashClaim)
    # Expired claims are no one's (a killed job's): the table holds only the files being hashed now.
    session.execute(delete(claims).where(or_(claims.c.expires_s <= now, claims.c.job == job)))
    if machine and ended_here is not None:
        jobs_here = session.scalars(select(claims.c.job).where(claims.c.machine == machine).distinct())
        ended = [other for other in jobs_here if ended_here(other)]
        if ended:
            session.execute(delete(claims).where(claims.c.job.in_(ended)))
    held = set(session.scalars(select(claims.c.asset_id).where(claims.c.asset_id.in_(ids))))
    to_hash = select(ASSETS.c.id, ASSETS.c.mtime_ns).where(
        ASSETS.c.id.in_(ids), ASSETS.c.sha256.is_(None), ASSETS.c.status == "ok"
    )
    free = {
        int(asset_id): int(mtime_ns)
        for asset_id, mtime_ns in session.execute(to_hash)
        if asset_id not in held
    }
    if free:
        session.execute(
            insert(claims),
            [
                {"asset_id": asset_id, "job": job, "machine": machine, "expires_s": now + seconds}
                for asset_id in sorted(free)
            ],
        )
    return free


def release(session: Session, job: str) -> None:
    """End every claim ``job`` holds (its files are hashed, or it stopped)."""
    claims = table_of(HashClaim)
    session.execute(delete(claims).where(claims.c.job == job))


def catalog_now(session: Session) -> int:
    """Seconds since 1970 by the catalog's clock, the one every machine's claims are compared by."""
    dialect = session.get_bind().dialect.name
    return int(session.execute(text(_NOW.get(dialect, _NOW["sqlite"]))).scalar_one())
