"""The bulk read behind exporting the library list: every file on disk with its links, in a few queries.

One pass over the assets (the same record builder every read uses, so tags, collections and hashes come
back exactly as the window shows them) plus one query for all the Civitai / Hugging Face links, instead of
one query per file: exporting 100,000 files stays a matter of seconds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from catalog.orm import ASSETS, RemoteLink, table_of
from catalog.reading import assets_from_rows, select_assets
from catalog.records import AssetRecord

_LINKS = table_of(RemoteLink)
_BATCH = 2000


@dataclass(frozen=True, slots=True)
class ExchangeLink:
    """A found link of a file to a model page: Civitai ids and names, or a Hugging Face repo and file."""

    site: str
    model_id: str | None
    version_id: str | None
    file_id: str | None
    model_name: str | None
    version_name: str | None


@dataclass(frozen=True, slots=True)
class ExchangeItem:
    """One file of the library as the list carries it: its record (hashes, user data) and its links."""

    asset: AssetRecord
    links: tuple[ExchangeLink, ...]


def exchange_items(session: Session) -> list[ExchangeItem]:
    """Every file still on disk (missing ones left out), by id, with its found remote links."""
    links: dict[int, list[ExchangeLink]] = defaultdict(list)
    stmt = (
        select(
            _LINKS.c.asset_id,
            _LINKS.c.site,
            _LINKS.c.model_id,
            _LINKS.c.version_id,
            _LINKS.c.file_id,
            _LINKS.c.model_name,
            _LINKS.c.version_name,
        )
        .where(or_(_LINKS.c.model_id.is_not(None), _LINKS.c.version_id.is_not(None)))
        .order_by(_LINKS.c.asset_id, _LINKS.c.site, _LINKS.c.id)
    )
    for asset_id, *fields in session.execute(stmt):
        links[asset_id].append(ExchangeLink(*fields))
    rows = session.execute(select_assets().where(ASSETS.c.status != "missing").order_by(ASSETS.c.id)).all()
    items: list[ExchangeItem] = []
    for start in range(0, len(rows), _BATCH):
        for record in assets_from_rows(session, rows[start : start + _BATCH]):
            items.append(ExchangeItem(record, tuple(links.get(record.id, ()))))
    return items
