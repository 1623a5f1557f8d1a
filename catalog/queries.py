"""The catalog's reads as plain SQL text on a DBAPI connection: the one read path of search, rows and
records, used by the ORM-backed :class:`~catalog.library.Library` and by the light
:class:`~catalog.read_connection.CatalogReader` alike.

**Why plain SQL.** A command that only reads (``search``, ``show``, ``roots``) and the window's first
page should not pay for importing SQLAlchemy (about 0.4 s) to run a few statements. So the statements of
these reads are written here once, as text with ``:name`` parameters, and run on a driver connection:
the ``sqlite3`` module runs ``:name`` natively, the Library hands in its engine's own driver connection
(inside its unit of work), and SQLAlchemy's ``text()`` would run the same text on another dialect. The
results are therefore the same by construction, whichever door a caller used.

**SQLite-only pieces** are kept in :mod:`catalog.fts_match` (the FTS5 query text), plus the name of the
page index a driven statement reads (``INDEXED BY``, below); everything else here is standard SQL plus
``json_each`` for id lists (one JSON parameter instead of hundreds of bound ones).

**A page in two steps.** The first statement finds the page's ids (filters, sort, offset and limit); the
second reads the columns the page shows for those ids alone. Sorting carries an id and its sort key
instead of a wide row, and the wide rows (about 1.8 kB each) are read for the 200 shown, not for the
thousands a filter looked at.

**Planning**: a page is "the first N matches in sort order". Each set-valued filter (the text, a tag, a
collection, "has an update") gives a set of ids. SQLite cannot know how large an FTS set is and guesses
badly both ways, so each set is first counted up to :data:`DRIVING_SET_LIMIT` (cheap: the count stops
there); the smallest set under the limit drives the query: its ids are walked (``WITH d``) and each is
looked up in :data:`PAGE_INDEX` (led by the id, holding every column a filter or a sort key reads), so
filtering and sorting a few thousand ids never reads a table row (on 100k assets a set of 4,300 ids costs
about 4 ms: about 1 us an id, most of it the index lookup). Every other set (or all of them, when all are
broad) is only probed while SQLite walks the index of the sort order, which stops after a page: a tag or
collection by an ``EXISTS`` primary-key lookup per row, the text by ``id + 0 IN (...)`` (which SQLite
cannot use to look rows up, so it walks the sort index instead). A broad set ("anime" on 75% of 100k
assets) read and sorted would cost 60 ms; probed, a page costs a few.

**A dense text set** is probed row by row instead: ``id + 0 IN (...)`` first copies the whole set into a
temporary index (about 0.26 us a match: 10 ms for "pixel"'s 40k), while ``EXISTS (... MATCH ... AND rowid
= a.id)`` lets FTS5 seek the one row in its document lists (about 15 us for each row of the page, divided
by the density: 3 ms for a page of 200 rows of "anime" at 75%, on an index merged into one segment, as
the after-scan chain keeps it; see :mod:`catalog.fts_match`). So the seek wins when ``rows / density``
seeks cost less than copying ``density x ids`` matches (:data:`SEEK_COST`): on 100k assets from a density
of about a third for a page of 200, on 1M from a tenth, on 10k never. The density comes with the capped
count (FTS5 yields ids in ascending order, so the ids the count ran over tell how spread its first
matches are), at no extra query; the library's size is taken as its highest id (one index lookup).

**The user's word.** A kind or architecture filter matches the *effective* value, which is what the
``kind`` / ``architecture`` columns hold (an override the user sets is written there; see
:func:`catalog.user_data.set_overrides`), so ``ix_assets_facets`` and ``ix_assets_kind_sort_name`` serve
it. Hidden files are left out unless the query asks for them.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from catalog.fts_match import match_expression, matches_row, matching_ids
from catalog.machine_paths import active, path_reader, read_path, write_path
from catalog.normalize import label_key
from catalog.path_text import from_stored
from catalog.records import (
    AssetQuery,
    AssetRecord,
    AssetRow,
    HiddenFilter,
    IndexedFile,
    MachineFolder,
    PreviewRecord,
    RemoteLinkRecord,
    RootPlaces,
    RootRecord,
    SortKey,
)
from catalog.updates_bases import NEWEST_BY_BASE, base_key_text
from core.file_hashes import FileHashes
from core.taxonomy import (
    Architecture,
    AssetKind,
    FileFormat,
    FileStatus,
    LibraryLayout,
    NetworkType,
    Precision,
    Prediction,
    Variant,
)

# Above this many matches a set is cheaper to probe than to read and sort (measured on 100k assets:
# reading+sorting costs about 1 us per row, walking the whole name index about 12 ms).
DRIVING_SET_LIMIT = 5000
# An FTS5 seek of one row costs about as much as copying this many matches of a set (module docstring:
# "A dense text set"; measured on 100k assets with a merged index: 15 us against 0.26 us).
SEEK_COST = 60
# A text set matching at least this share of the ids it spans is always probed by a seek per row (a page
# then needs few more seeks than rows, however large the library).
DENSE_TEXT_FRACTION = 0.9
# How much longer than its estimate a walk in sort order may turn out (catalog.queries._walk_cheaper).
WALK_MARGIN = 2
# The covering index of driven pages and counts (migration 0010): every column a filter or a sort of a
# page reads except the folder's path, led by the id.
PAGE_INDEX = "ix_assets_page"


class DbapiConnection(Protocol):
    """What these reads need of a connection: ``execute`` with named parameters (``sqlite3``'s shape)."""

    def execute(self, sql: str, parameters: dict[str, Any] = ..., /) -> Any: ...


# -- columns -----------------------------------------------------------------------------------------------

# The columns of a full record, in the order _asset_record unpacks them.
ASSET_COLUMN_NAMES = (
    "id", "root_id", "path", "file_name", "size", "mtime_ns", "kind", "architecture", "format", "status",
    "network", "variant", "prediction", "precision", "status_reason", "reasons", "refusals",
    "sha256", "blake3", "crc32", "autov1", "autov2", "autov3",
    "display_name", "notes", "rating", "favorite", "nsfw", "trigger_words", "preferred_weight",
    "base_model_label", "description", "embedded_metadata", "added_at", "updated_at", "missing_since",
    "hidden", "device", "kind_override", "architecture_override",
)  # fmt: skip
_ASSET_SELECT = "SELECT " + ", ".join(f"a.{name}" for name in ASSET_COLUMN_NAMES) + " FROM assets AS a"

# A light row: the shown columns and the cover path (a lookup in the partial unique index
# ``uq_previews_cover``, hence the literal ``is_cover = 1``), with no tags, collections or remote facts.
ROW_COLUMN_NAMES = (
    "id", "root_id", "path", "file_name", "size", "kind", "architecture", "format", "status", "network",
    "status_reason", "missing_since", "display_name", "rating", "favorite", "nsfw", "base_model_label",
    "added_at", "hidden", "kind_override", "architecture_override",
)  # fmt: skip
_ROW_SELECT = (
    "SELECT "
    + ", ".join(f"a.{name}" for name in ROW_COLUMN_NAMES)
    + ", (SELECT p.path FROM previews AS p WHERE p.asset_id = a.id AND p.is_cover = 1 LIMIT 1)"
    + " FROM assets AS a"
)

IN_IDS = "IN (SELECT value FROM json_each(:ids))"  # an id list as one JSON parameter (see id_list)


def id_list(ids: Iterable[int]) -> dict[str, str]:
    """The parameters of a statement using :data:`IN_IDS`."""
    return {"ids": json.dumps(list(ids))}


# -- planning: WHERE and ORDER BY of an AssetQuery ---------------------------------------------------------

_PRESENT = tuple(status.value for status in FileStatus if status is not FileStatus.MISSING)

_SORT_COLUMNS: dict[SortKey, tuple[str, ...]] = {
    SortKey.NAME: ("a.sort_name",),
    SortKey.ADDED: ("a.added_at",),
    SortKey.SIZE: ("a.size",),
    SortKey.RATING: ("a.rating", "a.sort_name"),
    SortKey.KIND: ("a.kind", "a.sort_name"),
    SortKey.ARCHITECTURE: ("a.architecture", "a.sort_name"),
}

# Where a probe names the id of the row it tests (see _IdSet).
ROW = "{row}"


# "Has an update": a Civitai link of the asset whose model has a newer version for the link's base model
# that no present file of the library is linked to, and that the user did not ignore (catalog.updates
# keeps the same rule; catalog.updates_bases says why the base matters). ``->``/``->>`` read the JSON the
# same way on SQLite and PostgreSQL.
_LATEST_FOR_LINK = f"""(CASE WHEN l.base_model_label IS NULL OR l.base_model_label = ''
        OR (m.payload -> '{NEWEST_BY_BASE}') IS NULL THEN m.latest_version_id
    ELSE (m.payload -> '{NEWEST_BY_BASE}') ->> {base_key_text("l.base_model_label")} END)"""
_UPDATE_PENDING = f"""l.site = 'civitai' AND l.version_id IS NOT NULL
    AND m.site = l.site AND m.model_id = l.model_id
    AND {_LATEST_FOR_LINK} IS NOT NULL AND {_LATEST_FOR_LINK} != l.version_id
    AND (m.ignored_version_id IS NULL OR m.ignored_version_id != {_LATEST_FOR_LINK})
    AND NOT EXISTS (SELECT 1 FROM remote_links AS ol JOIN assets AS oa ON oa.id = ol.asset_id
        WHERE ol.site = 'civitai' AND ol.version_id = {_LATEST_FOR_LINK} AND oa.status != 'missing')"""
# DISTINCT: a driving set walks each id once (an asset may have several links).
_WITH_UPDATES = (
    f"SELECT DISTINCT l.asset_id FROM remote_links AS l JOIN model_updates AS m ON {_UPDATE_PENDING}"
)
_HAS_UPDATE = (
    f"EXISTS (SELECT 1 FROM remote_links AS l JOIN model_updates AS m ON {_UPDATE_PENDING}"
    f" WHERE l.asset_id = {ROW})"
)


class _Params:
    """Bound parameters of one statement, named in order (``:p0``, ``:p1``...)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"

    def in_list(self, values: Iterable[Any]) -> str:
        return "(" + ", ".join(self.add(value) for value in values) + ")"


class _IdSet:
    """One set-valued filter: ``ids`` selects its asset ids (in ascending order), ``probe`` tests one row
    without reading the whole set where that is possible (a tag is one primary-key lookup per row; an FTS
    seek costs more, so the text's probe is a membership test against the set), and ``dense_probe``,
    where given, is the probe for a set too dense to be worth copying (the text's seek). Probes name the
    row's id :data:`ROW`: ``a.id`` while walking the assets, ``d.id`` in a driven statement, where SQLite
    then tests the driver's id before looking it up in the page index (a tag beside a typed word: 11 to
    55% of the page)."""

    def __init__(
        self, ids: str, probe: str, dense_probe: str | None = None, *, read_once: bool = False
    ) -> None:
        self.ids = ids
        self.probe = probe
        self.dense_probe = dense_probe
        # Whether ``probe`` reads the set once and tests each row against it (the text's ``IN``), rather
        # than looking each row up (a tag's ``EXISTS``): only then can a walk in sort order outrun a
        # driven page (:func:`_walk_cheaper`).
        self.read_once = read_once


def _id_sets(query: AssetQuery, params: _Params) -> list[_IdSet]:
    sets: list[_IdSet] = []
    match = match_expression(query.text)
    if match is not None:
        expression = params.add(match)
        hits = matching_ids(expression)
        sets.append(_IdSet(hits, f"{ROW} + 0 IN ({hits})", matches_row(expression, ROW), read_once=True))
    for key in dict.fromkeys(label_key(tag) for tag in query.tags):
        tag_id = f"(SELECT id FROM tags WHERE key = {params.add(key)})"
        sets.append(
            _IdSet(
                f"SELECT asset_id FROM asset_tags WHERE tag_id = {tag_id}",
                f"EXISTS (SELECT 1 FROM asset_tags AS t WHERE t.asset_id = {ROW} AND t.tag_id = {tag_id})",
            )
        )
    if query.collection is not None:
        collection_id = f"(SELECT id FROM collections WHERE key = {params.add(label_key(query.collection))})"
        sets.append(
            _IdSet(
                f"SELECT asset_id FROM asset_collections WHERE collection_id = {collection_id}",
                "EXISTS (SELECT 1 FROM asset_collections AS c"
                f" WHERE c.asset_id = {ROW} AND c.collection_id = {collection_id})",
            )
        )
    if query.has_update:  # a small set: the files whose model has a newer version not in the library
        sets.append(_IdSet(_WITH_UPDATES, _HAS_UPDATE))
    return sets


def _scalar_conditions(query: AssetQuery, params: _Params, *, for_count: bool) -> list[str]:
    """Conditions on the asset's own columns (status, kind, architecture, base-model label, rating,
    favorite, root, folder).

    "Not missing" is written two ways. For a page it is ``status != 'missing'``, which no index can search,
    so SQLite walks the index of the sort order and stops after a page. For a count it is the list of the
    other statuses: with kinds and architectures as equalities too, SQLite then counts inside
    ``ix_assets_facets`` (status, kind, architecture, ...) without reading a single table row.
    """
    conditions: list[str] = []
    if query.statuses:
        conditions.append(f"a.status IN {params.in_list(status.value for status in query.statuses)}")
    elif for_count:
        conditions.append(f"a.status IN {params.in_list(_PRESENT)}")
    else:
        conditions.append(f"a.status != {params.add(FileStatus.MISSING.value)}")
    if query.kinds:
        conditions.append(f"a.kind IN {params.in_list(kind.value for kind in query.kinds)}")
    if query.architectures:
        conditions.append(f"a.architecture IN {params.in_list(arch.value for arch in query.architectures)}")
    if query.base_models:
        # The column holds the effective label (the user's word, else the site's or a sidecar's: see
        # catalog.remote, which fills it only where the user left it empty). Folded by the database on
        # both sides, so SQLite and PostgreSQL each compare with one and the same folding.
        labels = ", ".join(f"lower({params.add(label)})" for label in query.base_models)
        conditions.append(f"lower(a.base_model_label) IN ({labels})")
    if query.hidden is HiddenFilter.VISIBLE:
        conditions.append("a.hidden IS 0")
    elif query.hidden is HiddenFilter.ONLY:
        conditions.append("a.hidden IS 1")
    if query.min_rating > 0:
        conditions.append(f"a.rating >= {params.add(query.min_rating)}")
    if query.favorites_only:
        conditions.append("a.favorite IS 1")
    if query.root_id is not None:
        conditions.append(f"a.root_id = {params.add(query.root_id)}")
    if query.folder:
        # Paths inside the folder: their first characters are "folder/", compared exactly (a LIKE would
        # fold case in SQLite and mix Styles with styles; a range of the index would follow PostgreSQL's
        # locale collation, which skips punctuation such as the separator). Compared with the stored
        # text: a folder whose name is not UTF-8 is stored through catalog.path_text, and a folder of a
        # shared root as its canonical path (catalog.machine_paths).
        prefix = write_path(query.folder.rstrip(os.sep) + os.sep)
        conditions.append(f"substr(a.path, 1, {params.add(len(prefix))}) = {params.add(prefix)}")
    return conditions


class _Plan(NamedTuple):
    """A planned statement's parts: ``SELECT`` comes after ``head``, ``tables`` after ``FROM``."""

    head: str
    tables: str
    where: str

    def select(self, columns: str) -> str:
        return f"{self.head}SELECT {columns} FROM {self.tables}{self.where}"


def _plan(connection: DbapiConnection, query: AssetQuery, params: _Params, *, for_count: bool) -> _Plan:
    """The parts of a statement over ``query``'s assets: its id sets split into one driver and probes
    (module docstring).

    A driven statement walks the driver's ids (``WITH d``, each id once) and looks each up in
    :data:`PAGE_INDEX` (named: SQLite would look it up in the table itself), which holds every filter and
    sort column, so a few thousand ids are filtered and sorted without reading one wide table row. The
    join, unlike ``a.id IN (...)``, needs no temporary copy of the ids (12 to 20% of a driven page)."""
    sets = _id_sets(query, params)
    driver: int | None = None
    sizes = [_capped_count(connection, id_set, params) for id_set in sets]
    if sets:
        smallest = min(range(len(sets)), key=lambda position: sizes[position].found)
        size = sizes[smallest]
        others = [other for position, other in enumerate(sizes) if position != smallest]
        if size.found <= DRIVING_SET_LIMIT and not _walk_cheaper(
            connection, query, sets[smallest], size, others
        ):
            driver = smallest
    conditions = _scalar_conditions(query, params, for_count=for_count and driver is None)
    row = "a.id" if driver is None else "d.id"
    for position, id_set in enumerate(sets):
        if position == driver:
            continue
        if for_count:  # a count visits every row: one pass over the set beats a lookup per row
            conditions.append(f"{row} + 0 IN ({id_set.ids})")
        elif id_set.dense_probe is not None and _seek_rows(
            connection, query, sizes[position].found, sizes[position].density, highest=sizes[position].highest
        ):
            conditions.append(id_set.dense_probe.replace(ROW, row))
        else:
            conditions.append(id_set.probe.replace(ROW, row))
    where = " WHERE " + " AND ".join(conditions)
    if driver is None:
        return _Plan("", "assets AS a", where)
    driven = f"d CROSS JOIN assets AS a INDEXED BY {PAGE_INDEX} ON a.id = d.id"
    return _Plan(f"WITH d(id) AS ({sets[driver].ids}) ", driven, where)


class _SetSize(NamedTuple):
    """A set's capped count: how many ids it holds (no further than just past the limit), the share of
    the ids between its first and last counted id that it holds (its density, as the sets come in id
    order), and the library's highest id (its size, for the costs of a walk or a seek; one index look-up
    in the same statement instead of a round trip of its own)."""

    found: int
    density: float
    highest: int


def _capped_count(connection: DbapiConnection, id_set: _IdSet, params: _Params) -> _SetSize:
    capped = (
        f"WITH counted(i) AS ({id_set.ids} LIMIT {DRIVING_SET_LIMIT + 1})"
        " SELECT count(*), min(i), max(i), (SELECT max(id) FROM assets) FROM counted"
    )
    found, first, last, highest = connection.execute(capped, params.values).fetchone()
    return _SetSize(int(found), found / (last - first + 1) if found else 0.0, int(highest or 0))


def _walk_cheaper(
    connection: DbapiConnection, query: AssetQuery, id_set: _IdSet, size: _SetSize, others: list[_SetSize]
) -> bool:
    """Whether a page is found sooner by walking the sort order and testing each row against the set
    (read once) than by looking each of the set's ``found`` ids up (a driven page).

    Only on a connection that says what a driven look-up costs (``driven_id_cost``, in entries of the
    sort order walked): on a server each driven id is an index search of its own (several us), while
    the sort order is walked in a covering index (migration 0016) at a fraction of a us an entry, and a
    page of ``rows`` takes about ``rows x library / found`` entries when the set is spread over the
    order, and each other set the rows must also be in (``others``) divides the share of rows that
    qualify by its own (:func:`_share`): "girl" (2,300 files) with the tag "realistic" has 167 files, and
    walking for them reads the whole library, while with "anime" (on 75% of the files) a walk still
    finds a page sooner than 2,300 look-ups. A
    typed word also tends to cluster in the name order (it begins names), so a walk must be expected to
    cost :data:`WALK_MARGIN` times the estimate to be chosen. SQLite looks an id up about as fast as it
    walks an entry and the table's row on top: there the capped count alone decides
    (:data:`DRIVING_SET_LIMIT`)."""
    cost = getattr(connection, "driven_id_cost", None)
    if cost is None or not id_set.read_once or query.limit is None or size.found <= 0:
        return False
    rows = (query.offset or 0) + query.limit
    walked = rows * size.highest / size.found
    for other in others:
        walked /= _share(other)
    return bool(size.found * cost > WALK_MARGIN * walked)


def _share(size: _SetSize) -> float:
    """The share of the library a set holds: counted whole, its size; counted no further than the limit,
    the density of its first ids (their share of the ids they span)."""
    if size.found > DRIVING_SET_LIMIT:
        return max(size.density, 1e-9)
    return max(size.found, 1) / max(size.highest, size.found, 1)


def _seek_rows(
    connection: DbapiConnection, query: AssetQuery, found: int, density: float, *, highest: int | None = None
) -> bool:
    """Whether a text set of this density is cheaper sought row by row than copied (module docstring), in
    a library whose highest id is ``highest`` (read when not given)."""
    if density >= DENSE_TEXT_FRACTION:
        return True
    if density <= 0 or query.limit is None:
        return False
    rows = (query.offset or 0) + query.limit
    if highest is None:
        highest = connection.execute("SELECT max(id) FROM assets").fetchone()[0] or 0
    seek_cost = getattr(connection, "seek_cost", SEEK_COST)  # a server's own (catalog.pg_reads)
    return seek_cost * rows / density < density * max(highest, found)


def _order_by(query: AssetQuery) -> str:
    """ORDER BY for the sort key; descending reverses the whole order; id breaks ties so pages are stable."""
    direction = " DESC" if query.descending else " ASC"
    return " ORDER BY " + ", ".join(column + direction for column in (*_SORT_COLUMNS[query.sort], "a.id"))


def _page(query: AssetQuery, params: _Params) -> str:
    if query.limit is None and not query.offset:
        return ""
    limit = params.add(query.limit if query.limit is not None else -1)
    return f" LIMIT {limit} OFFSET {params.add(query.offset or 0)}"


def _page_statement(connection: DbapiConnection, query: AssetQuery) -> tuple[str, dict[str, Any]]:
    """The statement of the ids of ``query``'s page, in its order, and its parameters."""
    params = _Params()
    plan = _plan(connection, query, params, for_count=False)
    return plan.select("a.id") + _order_by(query) + _page(query, params), params.values


def _page_ids(connection: DbapiConnection, query: AssetQuery) -> list[int]:
    """The ids of ``query``'s page, in its order: the first of the two steps of every page (the second
    reads the columns shown for these ids alone, instead of carrying them through the filter and sort)."""
    sql, values = _page_statement(connection, query)
    return [row[0] for row in connection.execute(sql, values).fetchall()]


# -- the reads ---------------------------------------------------------------------------------------------


def search_ids(connection: DbapiConnection, query: AssetQuery) -> list[int]:
    """The ids of ``query``'s page, in its order."""
    return _page_ids(connection, query)


def search_rows(connection: DbapiConnection, query: AssetQuery) -> list[AssetRow]:
    """The page of ``query`` as light rows (what a grid, a table or a listing shows).

    A connection that reads a page's ids and then their rows in one statement (``page_in_one_statement``:
    a server, where each statement is a round trip) gets the rows joined to the page's ids in their
    order; SQLite runs the two steps, as its statements cost no trip."""
    if not getattr(connection, "page_in_one_statement", False):
        return rows_by_ids(connection, _page_ids(connection, query))
    page, values = _page_statement(connection, query)
    in_page = f"JOIN unnest(ARRAY({page})) WITH ORDINALITY AS page(id, n) ON a.id = page.id"
    sql = f"{_ROW_SELECT} {in_page} ORDER BY page.n"
    return _rows_from(connection, connection.execute(sql, values).fetchall())


def search_records(connection: DbapiConnection, query: AssetQuery) -> list[AssetRecord]:
    """The page of ``query`` as full records (tags, collections, hashes, remote facts)."""
    return records_by_ids(connection, _page_ids(connection, query))


def count(connection: DbapiConnection, query: AssetQuery) -> int:
    """How many assets match ``query`` (its sort and page are ignored)."""
    params = _Params()
    sql = _plan(connection, query, params, for_count=True).select("count(*)")
    return int(connection.execute(sql, params.values).fetchone()[0])


# The labels of the files the views show (not missing, not hidden), per effective architecture: read from
# ix_assets_base_model alone (its rows are the labelled files; the condition names its WHERE so the
# planners may use it), in its order.
_BASE_MODEL_LABELS = """SELECT a.base_model_label, lower(a.base_model_label), a.architecture, count(*)
    FROM assets AS a
    WHERE a.base_model_label IS NOT NULL AND a.base_model_label != '' AND a.status != :missing
    AND a.hidden IS 0 GROUP BY a.base_model_label, a.architecture"""


def base_model_labels(connection: DbapiConnection) -> dict[Architecture, dict[str, int]]:
    """The base-model labels the library's shown files carry, under their files' (effective)
    architecture, with how many files carry each: what a base-model filter can choose from (the window's
    architecture combo, the CLI's hint after a label no file has). Labels the filter takes for one are
    one, under the spelling most files use: folded by the database's ``lower()``, as the filter folds
    them (ASCII only in SQLite: "Éclair" and "éclair" are two choices there, each finding its files,
    never one choice that finds half of them). Architectures in the taxonomy's order, labels
    alphabetically (case-insensitive).

    Read from ``ix_assets_base_model`` (migration 0019), never the wide rows, which took 0.17 s on 100k
    files."""
    grouped: dict[Architecture, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    rows = connection.execute(_BASE_MODEL_LABELS, {"missing": FileStatus.MISSING.value}).fetchall()
    for label, folded, architecture, files in rows:
        grouped[_ARCHITECTURES.get(architecture, Architecture.UNKNOWN)][folded][label] += int(files)
    return {
        architecture: {
            spellings.most_common(1)[0][0]: spellings.total()
            for _key, spellings in sorted(
                grouped[architecture].items(), key=lambda item: (item[0].casefold(), item[0])
            )
        }
        for architecture in Architecture
        if architecture in grouped
    }


def rows_by_ids(connection: DbapiConnection, ids: Sequence[int]) -> list[AssetRow]:
    """Light rows for ``ids`` in the same order; unknown ids are skipped."""
    if not ids:
        return []
    found = {row[0]: row for row in connection.execute(f"{_ROW_SELECT} WHERE a.id {IN_IDS}", id_list(ids))}
    return _rows_from(connection, [found[asset_id] for asset_id in ids if asset_id in found])


def records_by_ids(connection: DbapiConnection, ids: Sequence[int]) -> list[AssetRecord]:
    """Full records for ``ids`` in the same order; unknown ids are skipped."""
    if not ids:
        return []
    found = {row[0]: row for row in connection.execute(f"{_ASSET_SELECT} WHERE a.id {IN_IDS}", id_list(ids))}
    return records_from(connection, [found[asset_id] for asset_id in ids if asset_id in found])


def record_by_id(connection: DbapiConnection, asset_id: int) -> AssetRecord | None:
    rows = connection.execute(f"{_ASSET_SELECT} WHERE a.id = :asset_id", {"asset_id": asset_id}).fetchall()
    records = records_from(connection, rows)
    return records[0] if records else None


def record_by_path(connection: DbapiConnection, path: str) -> AssetRecord | None:
    """The asset stored at exactly ``path`` (as the scanner wrote it; no resolving of links)."""
    rows = connection.execute(f"{_ASSET_SELECT} WHERE a.path = :path", {"path": write_path(path)}).fetchall()
    records = records_from(connection, rows)
    return records[0] if records else None


def root_records(connection: DbapiConnection, root_id: int | None = None) -> list[RootRecord]:
    """Roots with their number of present (non-missing) files, ordered by path."""
    only = " AND root_id = :root_id" if root_id is not None else ""
    params = {"root_id": root_id} if root_id is not None else {}
    # Counted from the (root_id, status) index alone.
    present: dict[int, int] = dict(
        connection.execute(
            f"SELECT root_id, count(*) FROM assets WHERE status != 'missing'{only} GROUP BY root_id", params
        ).fetchall()
    )
    where = " WHERE id = :root_id" if root_id is not None else ""
    roots = connection.execute(
        f"SELECT id, path, layout, added_at, name FROM roots{where} ORDER BY path", params
    )
    unplaced = active().unplaced
    return [
        RootRecord(
            id=rid,
            path=read_path(path),
            layout=LibraryLayout(layout),
            added_at=_timestamp(added_at),  # type: ignore[arg-type]  # never NULL
            file_count=present.get(rid, 0),
            name=name or "",
            canonical_path=from_stored(path),
            placed_here=rid not in unplaced,
        )
        for rid, path, layout, added_at, name in roots.fetchall()
    ]


_FOLDERS = (
    "SELECT p.root_id, p.machine, coalesce(m.name, p.machine), p.path FROM root_paths AS p"
    " LEFT JOIN machines AS m ON m.id = p.machine"
)


def root_places(connection: DbapiConnection, machine_id: str | None) -> list[RootPlaces]:
    """Every library folder with each machine's own path for it (this machine's first, then by machine
    name). Those paths are each machine's own text, never translated."""
    folders: dict[int, list[MachineFolder]] = defaultdict(list)
    for root_id, machine, machine_name, path in connection.execute(_FOLDERS).fetchall():
        folders[root_id].append(
            MachineFolder(machine, machine_name, from_stored(path), machine == machine_id)
        )
    return [
        RootPlaces(root, tuple(sorted(folders[root.id], key=lambda f: (not f.this_machine, f.machine_name))))
        for root in root_records(connection)
    ]


_FILE_INDEX = (
    "SELECT id, path, size, mtime_ns, inode, status, sha256, sidecar_mtime_ns, device, identified_with"
    " FROM assets"
    " WHERE root_id = :root_id"
)


def file_index(connection: DbapiConnection, root_id: int) -> dict[str, IndexedFile]:
    """Every row of a root (missing ones too) by path, for the scanner's unchanged-file check: named
    tuples from one plain query, since an unchanged rescan of a large library is mostly this query."""
    statuses = _STATUSES
    index: dict[str, IndexedFile] = {}
    rows = connection.execute(_FILE_INDEX, {"root_id": root_id}).fetchall()
    local = path_reader()
    for asset_id, stored, size, mtime_ns, inode, status, sha256, sidecar_mtime, device, rules in rows:
        path = stored if stored.isascii() else from_stored(stored)
        if local is not None:  # a folder this machine reaches at its own path
            path = local(stored)
        index[path] = IndexedFile(
            asset_id, path, size, mtime_ns, inode, statuses[status], sha256, sidecar_mtime, device, rules
        )
    return index


def has_mirrors(connection: DbapiConnection, machine_id: str | None = None) -> bool:
    """Whether this machine has a mirror set up (a scan then syncs them; without one it loads no mirror
    code). Another machine's mirrors are folders there (``catalog.mirrors``)."""
    if machine_id is None:
        return connection.execute("SELECT 1 FROM mirrors LIMIT 1").fetchone() is not None
    sql = "SELECT 1 FROM mirrors WHERE machine = :machine OR machine IS NULL LIMIT 1"
    return connection.execute(sql, {"machine": machine_id}).fetchone() is not None


def preview_records(connection: DbapiConnection, asset_id: int) -> list[PreviewRecord]:
    """Previews of an asset, the cover first."""
    rows = connection.execute(
        "SELECT id, path, source, is_cover, width, height FROM previews WHERE asset_id = :asset_id"
        " ORDER BY is_cover DESC, id",
        {"asset_id": asset_id},
    ).fetchall()
    return [
        PreviewRecord(
            id=pid, path=read_path(path), source=source, is_cover=bool(cover), width=width, height=height
        )
        for pid, path, source, cover, width, height in rows
    ]


_LINK_COLUMNS = (
    "id, site, model_id, version_id, file_id, model_name, version_name, base_model_label, fetched_at,"
    " payload, not_found_at, creator, description_html, description_text, tags, trigger_words, nsfw,"
    " nsfw_level, examples"
)


def remote_link_records(connection: DbapiConnection, asset_id: int) -> list[RemoteLinkRecord]:
    """The asset's links, real matches first (a remembered "not found" last), each site in id order."""
    rows = connection.execute(
        f"SELECT {_LINK_COLUMNS} FROM remote_links WHERE asset_id = :asset_id"
        " ORDER BY site, version_id IS NULL, id",
        {"asset_id": asset_id},
    ).fetchall()
    return [_link_record(tuple(row)) for row in rows]


def _link_record(row: tuple[Any, ...]) -> RemoteLinkRecord:
    from core.text import html_to_text

    (
        link_id, site, model_id, version_id, file_id, model_name, version_name, base_model_label,
        fetched_at, payload, not_found_at, creator, description_html, description_text, tags,
        trigger_words, nsfw, nsfw_level, examples,
    ) = row  # fmt: skip
    return RemoteLinkRecord(
        id=link_id,
        site=site,
        model_id=model_id,
        version_id=version_id,
        file_id=file_id,
        model_name=model_name,
        version_name=version_name,
        base_model_label=base_model_label,
        fetched_at=_timestamp(fetched_at),
        payload=_json(payload) or {},
        not_found_at=_timestamp(not_found_at),
        creator=creator,
        description_html=description_html,
        # Rows from before migration 0006 kept only the HTML: render it now.
        description_text=description_text or html_to_text(description_html),
        tags=_string_tuple(_json(tags)),
        trigger_words=_string_tuple(_json(trigger_words)),
        nsfw=bool(nsfw),
        nsfw_level=nsfw_level,
        examples=_examples(_json(examples)),
    )


def _json(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


def _string_tuple(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and item)


def _examples(value: object) -> tuple[Any, ...]:
    """Stored example images back as records; a malformed entry is skipped, never fatal."""
    if not isinstance(value, list) or not value:
        return ()
    from core.sources.civitai_records import RecordError, parse_image

    images = []
    for item in value:
        try:
            image = parse_image(item)
        except RecordError:
            continue
        if image.url:
            images.append(image)
    return tuple(images)


# -- building records --------------------------------------------------------------------------------------

# Enum lookups by stored value (a dict lookup is several times cheaper than calling the enum).
_KINDS = {member.value: member for member in AssetKind}
_ARCHITECTURES = {member.value: member for member in Architecture}
_FORMATS = {member.value: member for member in FileFormat}
_STATUSES = {member.value: member for member in FileStatus}
_NETWORKS = {member.value: member for member in NetworkType}
_VARIANTS = {member.value: member for member in Variant}
_PREDICTIONS = {member.value: member for member in Prediction}
_PRECISIONS = {member.value: member for member in Precision}

_TAG_NAMES = f"""SELECT l.asset_id, t.name FROM asset_tags AS l JOIN tags AS t ON t.id = l.tag_id
    WHERE l.asset_id {IN_IDS} ORDER BY l.asset_id, l.position, t.key"""
_COLLECTION_NAMES = f"""SELECT l.asset_id, c.name FROM asset_collections AS l
    JOIN collections AS c ON c.id = l.collection_id
    WHERE l.asset_id {IN_IDS} ORDER BY l.asset_id, l.position, c.key"""
_COVERS = f"SELECT asset_id, path FROM previews WHERE is_cover = 1 AND asset_id {IN_IDS}"
# The sites' names and trigger words of a page's assets (real matches only, not remembered misses).
_REMOTE_FACTS = f"""SELECT asset_id, model_name, trigger_words FROM remote_links
    WHERE asset_id {IN_IDS} AND version_id IS NOT NULL ORDER BY asset_id, site, id"""
# The file's own kind and architecture, from the stored identification (no identification: unknown).
_IDENTIFIED = f"""SELECT id, coalesce(json_extract(identification, '$.kind'), 'unknown'),
    coalesce(json_extract(identification, '$.architecture'), 'unknown') FROM assets WHERE id {IN_IDS}"""

_NO_REMOTE: tuple[str | None, tuple[str, ...]] = (None, ())
_MISSING = FileStatus.MISSING.value
_KIND_OVERRIDE = ASSET_COLUMN_NAMES.index("kind_override")
_ROW_KIND_OVERRIDE = ROW_COLUMN_NAMES.index("kind_override")


def records_from(connection: DbapiConnection, rows: Sequence[Sequence[Any]]) -> list[AssetRecord]:
    """Records for ``rows`` (columns :data:`ASSET_COLUMN_NAMES`), in the same order: one query each for
    the tags, collections, covers and remote facts of the whole page, however many each asset has."""
    if not rows:
        return []
    ids = id_list(row[0] for row in rows)
    tags = _names_by_asset(connection, _TAG_NAMES, ids)
    collections = _names_by_asset(connection, _COLLECTION_NAMES, ids)
    covers = {asset_id: read_path(path) for asset_id, path in connection.execute(_COVERS, ids).fetchall()}
    remote = _remote_facts(connection, ids)
    identified = _identified(connection, rows, _KIND_OVERRIDE)
    return [
        _asset_record(
            tuple(row),
            tags.get(row[0], ()),
            collections.get(row[0], ()),
            covers.get(row[0]),
            remote.get(row[0], _NO_REMOTE),
            identified=identified.get(row[0]),
        )
        for row in rows
    ]


# The fields of AssetRow in the order _rows_from passes them (positionally: a page builds 200 rows, and
# 23 keyword arguments a row cost a third of the building; tests/catalog/test_search_rows.py checks it).
ROW_FIELD_ORDER = (
    "id", "root_id", "path", "file_name", "size", "kind", "architecture", "format", "status", "network",
    "status_reason", "display_name", "rating", "favorite", "nsfw", "base_model_label", "cover_path",
    "added_at", "hidden", "kind_override", "architecture_override", "identified_kind",
    "identified_architecture",
)  # fmt: skip


def _rows_from(connection: DbapiConnection, rows: Sequence[Sequence[Any]]) -> list[AssetRow]:
    """Light rows for ``rows`` (columns :data:`ROW_COLUMN_NAMES` and the cover path), in the same order."""
    identified = _identified(connection, rows, _ROW_KIND_OVERRIDE)
    kinds, architectures, formats, statuses, networks = _KINDS, _ARCHITECTURES, _FORMATS, _STATUSES, _NETWORKS
    timestamp = _timestamp
    local = path_reader()
    built: list[AssetRow] = []
    for (
        asset_id, root_id, path, file_name, size, kind, architecture, file_format, status, network,
        status_reason, missing_since, display_name, rating, favorite, nsfw, base_model_label, added_at,
        hidden, kind_override, architecture_override, cover_path,
    ) in rows:  # fmt: skip
        own = identified.get(asset_id) if identified else None
        built.append(
            AssetRow(
                asset_id,
                root_id,
                (path if path.isascii() else from_stored(path)) if local is None else local(path),
                file_name if file_name.isascii() else from_stored(file_name),
                size,
                kinds[kind],
                architectures[architecture],
                formats[file_format],
                statuses[status],
                networks[network] if network else None,
                _status_reason(status, status_reason, timestamp(missing_since))
                if status == _MISSING
                else status_reason,
                display_name,
                rating,
                bool(favorite),
                bool(nsfw),
                base_model_label,
                (read_path(cover_path) if cover_path is not None else None),
                timestamp(added_at),
                bool(hidden),
                kinds.get(kind_override) if kind_override else None,
                architectures.get(architecture_override) if architecture_override else None,
                kinds.get(own[0], AssetKind.UNKNOWN) if own else None,
                architectures.get(own[1], Architecture.UNKNOWN) if own else None,
            )
        )
    return built


def _identified(
    connection: DbapiConnection, rows: Sequence[Sequence[Any]], kind_override_at: int
) -> dict[int, tuple[str, str]]:
    """What the files the user overrode say they are (``kind`` / ``architecture`` hold the user's word);
    one query, and only when the page has such a file (they are rare). The architecture override is the
    column after the kind override in both column lists."""
    overridden = [
        row[0] for row in rows if row[kind_override_at] is not None or row[kind_override_at + 1] is not None
    ]
    if not overridden:
        return {}
    return {
        asset_id: (kind, arch)
        for asset_id, kind, arch in connection.execute(_IDENTIFIED, id_list(overridden)).fetchall()
    }


def _names_by_asset(connection: DbapiConnection, sql: str, ids: dict[str, str]) -> dict[int, tuple[str, ...]]:
    """Tag (or collection) names of each asset, in the user's order."""
    names: dict[int, list[str]] = defaultdict(list)
    for asset_id, name in connection.execute(sql, ids).fetchall():
        names[asset_id].append(name)
    return {asset_id: tuple(values) for asset_id, values in names.items()}


def _remote_facts(
    connection: DbapiConnection, ids: dict[str, str]
) -> dict[int, tuple[str | None, tuple[str, ...]]]:
    """(model name, trigger words) the sites give for each asset of a page, in one query."""
    names: dict[int, str | None] = {}
    words: dict[int, list[str]] = defaultdict(list)
    for asset_id, model_name, raw in connection.execute(_REMOTE_FACTS, ids).fetchall():
        names.setdefault(asset_id, model_name)
        for word in _strings(raw):
            if word not in words[asset_id]:
                words[asset_id].append(word)
    return {asset_id: (names[asset_id], tuple(words[asset_id])) for asset_id in names}


def _status_reason(status: str, reason: str | None, missing_since: datetime | None) -> str | None:
    """The reason shown for a status; a missing row says since when (the column keeps its health reason
    for when the file is found again)."""
    if status == FileStatus.MISSING.value:
        since = f" since {missing_since:%Y-%m-%d}" if missing_since else ""
        return f"The file is no longer at this path (missing{since})."
    return reason


# Decoded values are immutable, and the same texts repeat across a page (identification reasons, the
# timestamps of one scan batch), so decoding is memoised.
@lru_cache(maxsize=4096)
def _strings(raw: str | None) -> tuple[str, ...]:
    return tuple(json.loads(raw)) if raw and raw != "[]" else ()


def _mapping(raw: str | None) -> dict[str, Any]:
    if not raw or raw in ("{}", "null"):
        return {}
    value = json.loads(raw)
    return value if isinstance(value, dict) else {}


@lru_cache(maxsize=4096)
def _timestamp(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw).replace(tzinfo=UTC) if raw else None


def _asset_record(
    row: tuple[Any, ...],
    tags: tuple[str, ...],
    collections: tuple[str, ...],
    cover: str | None,
    remote: tuple[str | None, tuple[str, ...]] = _NO_REMOTE,
    *,
    identified: tuple[str, str] | None = None,
) -> AssetRecord:
    (
        asset_id, root_id, path, file_name, size, mtime_ns, kind, architecture, file_format, status,
        network, variant, prediction, precision, status_reason, reasons, refusals,
        sha256, blake3, crc32, autov1, autov2, autov3,
        display_name, notes, rating, favorite, nsfw, trigger_words, preferred_weight, base_model_label,
        description, embedded_metadata, added_at, updated_at, missing_since,
        hidden, device, kind_override, architecture_override,
    ) = row  # fmt: skip
    hashes = None
    if sha256 and blake3 and crc32 and autov2:
        hashes = FileHashes(
            sha256=sha256, blake3=blake3, crc32=crc32, autov1=autov1, autov2=autov2, autov3=autov3
        )
    # ``kind`` / ``architecture`` hold the effective values (the user's override when set).
    user_kind = _KINDS.get(kind_override) if kind_override else None
    user_architecture = _ARCHITECTURES.get(architecture_override) if architecture_override else None
    return AssetRecord(
        id=asset_id,
        root_id=root_id,
        path=read_path(path),
        file_name=from_stored(file_name),
        size=size,
        mtime_ns=mtime_ns,
        kind=_KINDS[kind],
        architecture=_ARCHITECTURES[architecture],
        format=_FORMATS[file_format],
        status=_STATUSES[status],
        network=_NETWORKS[network] if network else None,
        variant=_VARIANTS[variant] if variant else None,
        prediction=_PREDICTIONS[prediction] if prediction else None,
        precision=_PRECISIONS[precision] if precision else None,
        status_reason=_status_reason(status, status_reason, _timestamp(missing_since)),
        reasons=_strings(reasons),
        refusals=_strings(refusals),
        hashes=hashes,
        display_name=display_name,
        notes=notes,
        rating=rating,
        favorite=bool(favorite),
        nsfw=bool(nsfw),
        tags=tags,
        collections=collections,
        trigger_words=_strings(trigger_words),
        preferred_weight=preferred_weight,
        base_model_label=base_model_label,
        description=description,
        embedded_metadata=_mapping(embedded_metadata),
        cover_path=cover,
        added_at=_timestamp(added_at),
        updated_at=_timestamp(updated_at),
        remote_model_name=remote[0],
        remote_trigger_words=remote[1],
        hidden=bool(hidden),
        device=device or 0,
        kind_override=user_kind,
        architecture_override=user_architecture,
        # The file's own identification, read only where the user overrode it (else it is ``kind``).
        identified_kind=_KINDS.get(identified[0], AssetKind.UNKNOWN) if identified else None,
        identified_architecture=_ARCHITECTURES.get(identified[1], Architecture.UNKNOWN)
        if identified
        else None,
    )
