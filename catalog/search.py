"""Translating an :class:`~catalog.records.AssetQuery` into SQL over ``assets`` and the FTS5 index.

**Safe text.** User text never reaches FTS5's query language as-is: it is split into words the same way the
index's ``unicode61`` tokenizer splits text, and each word becomes a quoted prefix phrase. Operators typed
by the user (``OR``, ``-x``, ``*``, ``(``, a stray ``"``) are therefore plain words or nothing, and a query
can never raise an FTS5 syntax error. All words must match (AND), each as a prefix ("pix art" finds
"Pixel Art XL").

**Planning.** A page is "the first 200 matches in name order". Text, tag and collection filters each give a
set of ids; SQLite cannot know how large an FTS set is, and guesses badly both ways:

* a *narrow* set (a rare word, a small tag) is best read first, then sorted: a few hundred lookups;
* a *broad* set ("anime" on 75% of 100k assets) is best probed while walking the name index, which
  stops after 200 hits; reading 75k rows and sorting them would take 60 ms.

So each set is first counted up to :data:`DRIVING_SET_LIMIT` (cheap: the count stops there), the smallest
set under the limit drives the query, and every other set (or all of them, when all are broad) is only
probed: a tag or collection by an ``EXISTS`` primary-key lookup per row, the text by ``id + 0 IN (...)``
(which SQLite cannot use to look rows up, so it walks the sort index instead); the driving set is a plain
``id IN (...)``.

**The user's word.** A kind or architecture filter matches the *effective* value, which is what the
``kind`` / ``architecture`` columns hold: an override the user sets is written there (and kept in
``kind_override`` / ``architecture_override``, the file's own identification staying in ``identification``;
see :func:`catalog.user_data.set_overrides`). Filtering on ``coalesce(kind_override, kind)``, or on
``(kind IN .. AND kind_override IS NULL) OR kind_override IN ..``, was measured on 100k assets: neither
can use ``ix_assets_facets`` or ``ix_assets_kind_sort_name`` (``kind_override`` has no index), which made a
kind count 0.3 -> 130 ms and a VAE page 0.4 -> 13 ms. Hidden files (``assets.hidden``) are left out
unless the query asks for them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, exists, func, literal_column, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import UnaryExpression

from catalog.normalize import label_key
from catalog.orm import ASSETS, AssetCollection, AssetTag, Collection, Tag, table_of
from catalog.path_text import to_stored
from catalog.records import AssetQuery, HiddenFilter, SortKey
from core.taxonomy import FileStatus

# Letters and digits, as unicode61 sees them (underscore and punctuation separate words).
_TOKEN = re.compile(r"[^\W_]+")

# Above this many matches a set is cheaper to probe than to read and sort (measured on 100k assets:
# reading+sorting costs about 1 us per row, walking the whole name index about 12 ms).
DRIVING_SET_LIMIT = 5000

_A = ASSETS.c
_PRESENT = [status.value for status in FileStatus if status is not FileStatus.MISSING]
_ASSET_TAGS = table_of(AssetTag).c
_TAGS = table_of(Tag).c
_ASSET_COLLECTIONS = table_of(AssetCollection).c
_COLLECTIONS = table_of(Collection).c

_SORT_COLUMNS: dict[SortKey, tuple[Any, ...]] = {
    SortKey.NAME: (_A.sort_name,),
    SortKey.ADDED: (_A.added_at,),
    SortKey.SIZE: (_A.size,),
    SortKey.RATING: (_A.rating, _A.sort_name),
    SortKey.KIND: (_A.kind, _A.sort_name),
    SortKey.ARCHITECTURE: (_A.architecture, _A.sort_name),
}


@dataclass(frozen=True, slots=True)
class IdSet:
    """One set-valued filter: ``ids`` selects its asset ids; ``probe`` tests one row without reading the
    whole set where that is possible (a tag is one primary-key lookup per row; FTS cannot do that cheaply,
    so its probe is a membership test against the set)."""

    ids: Select[Any]
    probe: ColumnElement[bool]


def fts_match_expression(text_query: str) -> str | None:
    """The FTS5 MATCH expression for what a user typed, or None when it contains no searchable word.

    Each whitespace-separated word becomes one phrase of its tokens with a trailing ``*`` (so
    "add-detail" becomes ``"add detail"*``), and phrases are ANDed.
    """
    phrases = []
    for word in text_query.split():
        tokens = _TOKEN.findall(word)
        if tokens:
            phrases.append('"' + " ".join(tokens) + '"*')
    return " ".join(phrases) if phrases else None


def id_sets(query: AssetQuery) -> list[IdSet]:
    """One :class:`IdSet` per text / tag / collection filter of ``query``."""
    sets: list[IdSet] = []
    match = fts_match_expression(query.text)
    if match is not None:
        hits: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(text("asset_fts"))
            .where(text("asset_fts MATCH :fts_match").bindparams(bindparam("fts_match", match)))
        )
        sets.append(IdSet(hits, (_A.id + 0).in_(hits)))
    for key in dict.fromkeys(label_key(tag) for tag in query.tags):
        tag_id = select(_TAGS.id).where(_TAGS.key == key).scalar_subquery()
        tagged = select(_ASSET_TAGS.asset_id).where(_ASSET_TAGS.tag_id == tag_id)
        probe = exists().where(_ASSET_TAGS.asset_id == _A.id, _ASSET_TAGS.tag_id == tag_id)
        sets.append(IdSet(tagged, probe))
    if query.collection is not None:
        collection_id = (
            select(_COLLECTIONS.id).where(_COLLECTIONS.key == label_key(query.collection)).scalar_subquery()
        )
        members = select(_ASSET_COLLECTIONS.asset_id).where(_ASSET_COLLECTIONS.collection_id == collection_id)
        probe = exists().where(
            _ASSET_COLLECTIONS.asset_id == _A.id, _ASSET_COLLECTIONS.collection_id == collection_id
        )
        sets.append(IdSet(members, probe))
    if query.has_update:  # a small set: the files whose model has a newer version not in the library
        from catalog.updates import assets_with_updates, has_update

        sets.append(IdSet(assets_with_updates(), has_update(_A.id)))
    return sets


def scalar_conditions(query: AssetQuery, *, for_count: bool = False) -> list[ColumnElement[bool]]:
    """Conditions on the asset's own columns (status, kind, architecture, rating, favorite, root).

    "Not missing" is written two ways. For a page it is ``status != 'missing'``, which no index can search,
    so SQLite walks the index of the sort order and stops after a page. For a count it is the list of the
    other statuses: with kinds and architectures as equalities too, SQLite then counts inside
    ``ix_assets_facets`` (status, kind, architecture, ...) without reading a single table row.
    """
    conditions: list[ColumnElement[bool]] = []
    if query.statuses:
        conditions.append(_A.status.in_([status.value for status in query.statuses]))
    elif for_count:
        conditions.append(_A.status.in_(_PRESENT))
    else:
        conditions.append(_A.status != FileStatus.MISSING.value)
    if query.kinds:
        conditions.append(_A.kind.in_([kind.value for kind in query.kinds]))
    if query.architectures:
        conditions.append(_A.architecture.in_([arch.value for arch in query.architectures]))
    if query.hidden is HiddenFilter.VISIBLE:
        conditions.append(_A.hidden.is_(False))
    elif query.hidden is HiddenFilter.ONLY:
        conditions.append(_A.hidden.is_(True))
    if query.min_rating > 0:
        conditions.append(_A.rating >= query.min_rating)
    if query.favorites_only:
        conditions.append(_A.favorite.is_(True))
    if query.root_id is not None:
        conditions.append(_A.root_id == query.root_id)
    if query.folder:
        conditions.extend(_below(query.folder))
    return conditions


def _below(folder: str) -> list[ColumnElement[bool]]:
    """Paths inside ``folder``: their first characters are ``folder/``, compared exactly (a LIKE would
    fold case in SQLite and mix ``Styles`` with ``styles``; a range of the index would follow
    PostgreSQL's locale collation, which skips punctuation such as the separator)."""
    # Compared with the stored text: a folder whose name is not UTF-8 is stored through catalog.path_text.
    prefix = to_stored(folder.rstrip(os.sep) + os.sep)
    return [func.substr(_A.path, 1, len(prefix)) == prefix]


def planned_conditions(
    session: Session, query: AssetQuery, *, for_count: bool = False
) -> list[ColumnElement[bool]]:
    """The full WHERE of ``query``, with its id sets split into one driver and probes (module docstring)."""
    sets = id_sets(query)
    driver: int | None = None
    if sets:
        sizes = [_capped_count(session, id_set.ids) for id_set in sets]
        smallest = min(range(len(sets)), key=sizes.__getitem__)
        if sizes[smallest] <= DRIVING_SET_LIMIT:
            driver = smallest
    conditions = scalar_conditions(query, for_count=for_count and driver is None)
    for position, id_set in enumerate(sets):
        if position == driver:
            conditions.append(_A.id.in_(id_set.ids))
        elif for_count:  # a count visits every row: one pass over the set beats a lookup per row
            conditions.append((_A.id + 0).in_(id_set.ids))
        else:
            conditions.append(id_set.probe)
    return conditions


def order_by(query: AssetQuery) -> list[UnaryExpression[Any]]:
    """ORDER BY for the sort key; descending reverses the whole order; id breaks ties so pages are stable."""
    columns = (*_SORT_COLUMNS[query.sort], _A.id)
    return [column.desc() if query.descending else column.asc() for column in columns]


def apply_query(session: Session, stmt: Select[Any], query: AssetQuery) -> Select[Any]:
    """Filters, order and page of ``query`` applied to a select over ``assets``."""
    stmt = stmt.where(*planned_conditions(session, query)).order_by(*order_by(query))
    if query.limit is not None:
        stmt = stmt.limit(query.limit)
    if query.offset:
        stmt = stmt.offset(query.offset)
    return stmt


def count_matches(session: Session, query: AssetQuery) -> int:
    stmt = select(func.count()).select_from(ASSETS).where(*planned_conditions(session, query, for_count=True))
    return session.scalar(stmt) or 0


def _capped_count(session: Session, ids: Select[Any]) -> int:
    """How many ids ``ids`` yields, counting no further than just past the limit."""
    capped = ids.limit(DRIVING_SET_LIMIT + 1).subquery()
    return session.scalar(select(func.count()).select_from(capped)) or 0
