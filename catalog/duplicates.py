"""Identical files across the library, and the hints of near-identical ones.

A duplicate is a second *file* with the same SHA256, not a second path: rows of one (device, inode) — hard
links, bind mounts — are one file with several paths, never a duplicate of itself (symlinks into the
library are not cataloged at all, see ``catalog.places``). A group's freeable bytes are what keeping one
file frees: ``size × (distinct files − 1)``.

Fast on big libraries: the SHA256 index answers ``GROUP BY sha256 HAVING count(*) > 1`` without reading
a row, and only the rows of those hashes are fetched (100,000 rows in well under the 0.5 s target, see
bench/bench_dupes.py). Missing files are left out (they are not on disk to free).

Near-duplicate hints: the same tensors with other metadata (same AutoV3, another SHA256), files of one
Civitai version that differ, and several versions of one Civitai model in the library.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from catalog.db import chunks, utc_now
from catalog.labels import COLLECTIONS, TAGS, prune
from catalog.machine_paths import read_path, write_path
from catalog.orm import Asset
from catalog.user_data import ensure_covers

# One query: the SHA256 index finds the duplicated hashes, then only their rows are read. How much the
# user put into a row is counted in SQL (rating, favorite, notes, edited fields, tags, collections).
_DUPLICATE_SQL = """
    SELECT a.id, a.path, a.root_id, r.path, r.layout, a.mtime_ns, a.kind, a.added_at,
           (CASE WHEN a.rating != 0 THEN 1 ELSE 0 END) + (CASE WHEN a.favorite THEN 1 ELSE 0 END)
           + (CASE WHEN a.notes != '' THEN 1 ELSE 0 END)
           + coalesce(json_array_length(a.edited_fields), 0)
           + (SELECT count(*) FROM asset_tags t WHERE t.asset_id = a.id)
           + (SELECT count(*) FROM asset_collections c WHERE c.asset_id = a.id),
           a.size, a.device, a.inode, a.sha256
    FROM assets a LEFT JOIN roots r ON r.id = a.root_id
    WHERE a.sha256 IN (SELECT sha256 FROM assets WHERE sha256 IS NOT NULL GROUP BY sha256 HAVING count(*) > 1)
      AND a.status != 'missing'
"""
# The same rows for one file's hash (the context menu asks this of the file under the pointer).
_ONE_HASH_SQL = _DUPLICATE_SQL.replace(
    "a.sha256 IN (SELECT sha256 FROM assets WHERE sha256 IS NOT NULL GROUP BY sha256 HAVING count(*) > 1)",
    "a.sha256 = (SELECT sha256 FROM assets WHERE id = ?)",
)


class DuplicatePath(NamedTuple):
    """One catalog row of a duplicated file: where it lies and how much the user put into it.

    Named tuples, not dataclasses, for the three records of a group: a big library builds tens of
    thousands of them, and a tuple is built several times faster (bench/bench_dupes.py)."""

    asset_id: int
    path: str
    root_id: int | None
    root_path: str | None
    root_layout: str | None
    mtime_ns: int
    kind: str
    added_at: str
    user_data: int  # how many things the user gave this row (rating, favorite, notes, tags, ...)
    size: int
    device: int
    inode: int
    sha256: str


class DuplicateFile(NamedTuple):
    """One file on disk (one device and inode) and the catalog paths that reach it (hard links)."""

    device: int
    inode: int
    size: int
    paths: tuple[DuplicatePath, ...]

    @property
    def asset_id(self) -> int:
        return self.paths[0].asset_id

    @property
    def path(self) -> str:
        return self.paths[0].path

    @property
    def linked(self) -> bool:
        """More than one path reaches this file (hard links or bind mounts)."""
        return len(self.paths) > 1

    @property
    def asset_ids(self) -> tuple[int, ...]:
        return tuple(p.asset_id for p in self.paths)


class DuplicateGroup(NamedTuple):
    """Files with one SHA256: keeping one frees the others' bytes."""

    sha256: str
    size: int
    files: tuple[DuplicateFile, ...]

    @property
    def freeable_bytes(self) -> int:
        return self.size * (len(self.files) - 1)

    def file_of(self, asset_id: int) -> DuplicateFile | None:
        return next((f for f in self.files if asset_id in f.asset_ids), None)


@dataclass(frozen=True, slots=True)
class HintFile:
    asset_id: int
    path: str
    size: int
    sha256: str | None
    version_name: str | None = None


@dataclass(frozen=True, slots=True)
class NearDuplicateHint:
    """Files that are probably one model in several forms; shown, never resolved automatically.

    ``reason``: ``same_tensors`` (same AutoV3), ``same_version`` (same Civitai version, other bytes) or
    ``model_versions`` (several versions of one Civitai model).
    """

    reason: str
    key: str
    label: str
    files: tuple[HintFile, ...]


def duplicate_groups(session: Session) -> list[DuplicateGroup]:
    """Groups of identical present files, most freeable bytes first."""
    # Straight through the driver, each row made a record as it comes (the columns are in the record's
    # order): SQLAlchemy's per-row result handling cost as much as SQLite's work.
    return _groups(session.connection().exec_driver_sql(_DUPLICATE_SQL).fetchall())


def duplicates_of(session: Session, asset_id: int) -> DuplicateGroup | None:
    """The group of the file of ``asset_id``, or None when it has no duplicate."""
    connection = session.connection()
    # The driver's own placeholder: SQLite's ``?``, psycopg's ``%s`` (the context menu asks this of a file
    # on a catalog server too).
    sql = _ONE_HASH_SQL if connection.dialect.paramstyle == "qmark" else _ONE_HASH_SQL.replace("?", "%s")
    rows = connection.exec_driver_sql(sql, (asset_id,)).fetchall()
    groups = _groups(rows)
    return groups[0] if groups else None


def _duplicate_path(row: Sequence[Any]) -> DuplicatePath:
    """A row of the raw duplicate query; paths come back from their stored text as this machine's paths
    (a name that is not UTF-8, a shared root mapped here: catalog.machine_paths)."""
    found = DuplicatePath._make(row)
    root_path = read_path(found.root_path) if found.root_path is not None else None
    return found._replace(path=read_path(found.path), root_path=root_path)


def _groups(rows: Sequence[Any]) -> list[DuplicateGroup]:
    # sha256 -> (device, inode) -> paths; rows come in index order (by hash, then by id).
    by_hash: dict[str, dict[tuple[int, int], list[DuplicatePath]]] = {}
    for row in map(_duplicate_path, rows):
        files = by_hash.get(row.sha256)
        if files is None:
            files = by_hash[row.sha256] = {}
        key = (row.device, row.inode) if row.device else (0, -row.asset_id)
        members = files.get(key)
        if members is None:
            files[key] = [row]
        else:
            members.append(row)
    groups = []
    for sha256, found in by_hash.items():
        if len(found) < 2:
            continue  # one file (its other rows are missing, or hard links of it)
        files = _join_unknown_devices(found) if any(device == 0 for device, _inode in found) else found
        if len(files) > 1:
            items = tuple(DuplicateFile(d, i, m[0].size, tuple(m)) for (d, i), m in files.items())
            groups.append(DuplicateGroup(sha256, items[0].size, items))
    groups.sort(key=_most_freeable)
    return groups


def _most_freeable(group: DuplicateGroup) -> tuple[int, str]:
    return (-group.freeable_bytes, group.sha256)


def _join_unknown_devices(
    files: dict[tuple[int, int], list[DuplicatePath]],
) -> dict[tuple[int, int], list[DuplicatePath]]:
    """A row whose device is not known yet (cataloged before devices were) joins a file with its inode:
    the same hash and inode is a hard link, and counting a copy as a link only ever hides bytes to free,
    never offers a file's last path."""
    joined: dict[tuple[int, int], list[DuplicatePath]] = {k: list(v) for k, v in files.items() if k[0]}
    for key, members in files.items():
        if key[0]:
            continue
        for row in members:
            same = next((k for k in joined if row.inode and k[1] == row.inode), None)
            joined.setdefault(same or (0, row.inode or -row.asset_id), []).append(row)
    return joined


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.startswith("["):
        parsed = json.loads(value)
        return parsed if isinstance(parsed, list) else []
    return []


def duplicate_asset_ids(session: Session) -> set[int]:
    """Ids of every row that has a duplicate file (for a "has duplicates" filter)."""
    return {path.asset_id for group in duplicate_groups(session) for f in group.files for path in f.paths}


# -- near-duplicate hints -----------------------------------------------------------------------------------

_SAME_TENSORS = text(
    """
    SELECT a.autov3, a.id, a.path, a.size, a.sha256 FROM assets a
    WHERE a.status != 'missing' AND a.autov3 IN (
        SELECT autov3 FROM assets WHERE autov3 IS NOT NULL AND status != 'missing'
        GROUP BY autov3 HAVING count(DISTINCT sha256) > 1)
    ORDER BY a.autov3, a.id
    """
)
_CIVITAI_FILES = text(
    """
    SELECT l.model_id, l.version_id, l.model_name, l.version_name, a.id, a.path, a.size, a.sha256
    FROM remote_links l JOIN assets a ON a.id = l.asset_id
    WHERE l.site = 'civitai' AND l.model_id IS NOT NULL AND a.status != 'missing' AND l.model_id IN (
        SELECT l2.model_id FROM remote_links l2 WHERE l2.site = 'civitai' AND l2.model_id IS NOT NULL
        GROUP BY l2.model_id HAVING count(*) > 1)
    ORDER BY l.model_id, l.version_id, a.id
    """
)


def near_duplicate_hints(session: Session) -> list[NearDuplicateHint]:
    """Probably the same model in another form; exact duplicates are left to ``duplicate_groups``."""
    hints: list[NearDuplicateHint] = []
    tensors: dict[str, list[HintFile]] = defaultdict(list)
    for autov3, asset_id, path, size, sha256 in session.execute(_SAME_TENSORS):
        tensors[autov3].append(HintFile(asset_id, read_path(path), size, sha256))
    for autov3, files in tensors.items():
        label = f"Same tensors, other metadata (AutoV3 {autov3[:10]})"
        hints.append(NearDuplicateHint("same_tensors", autov3, label, _one_per_content(files)))

    models: dict[str, list[tuple[str | None, str | None, str | None, HintFile]]] = defaultdict(list)
    for model_id, version_id, model_name, version_name, asset_id, path, size, sha256 in session.execute(
        _CIVITAI_FILES
    ):
        models[model_id].append(
            (
                version_id,
                model_name,
                version_name,
                HintFile(asset_id, read_path(path), size, sha256, version_name),
            )
        )
    for model_id, entries in models.items():
        name = next((model_name for _v, model_name, _vn, _f in entries if model_name), f"model {model_id}")
        versions: dict[str | None, list[HintFile]] = defaultdict(list)
        for version_id, _name, _version_name, hint_file in entries:
            versions[version_id].append(hint_file)
        for version_id, files in versions.items():
            if version_id is not None and len({f.sha256 for f in files}) > 1:
                hints.append(
                    NearDuplicateHint(
                        "same_version",
                        f"{model_id}:{version_id}",
                        f"{name} {files[0].version_name or version_id}: one Civitai version, other bytes",
                        _one_per_content(files),
                    )
                )
        if len([v for v in versions if v is not None]) > 1:
            hints.append(
                NearDuplicateHint(
                    "model_versions",
                    str(model_id),
                    f"{name}: {len(versions)} versions of one Civitai model",
                    _one_per_content([f for files in versions.values() for f in files]),
                )
            )
    return hints


def _one_per_content(files: Sequence[HintFile]) -> tuple[HintFile, ...]:
    """The first file of each SHA256: copies and hard links of one content are the duplicate list's
    business, a hint is about contents that differ."""
    seen: set[str] = set()
    kept = []
    for item in files:
        if item.sha256 is None or item.sha256 not in seen:
            kept.append(item)
            if item.sha256 is not None:
                seen.add(item.sha256)
    return tuple(kept)


# -- merging the user's data onto the file that is kept, and taking it back on undo --------------------------

# What the merge may change on the kept row, and what undo puts back (see :func:`unmerge_user_data`).
_MERGED_FIELDS = (
    "rating",
    "favorite",
    "notes",
    "trigger_words",
    "edited_fields",
    "display_name",
    "description",
    "preferred_weight",
    "base_model_label",
)


def merge_user_data(
    session: Session, keep: int, drops: Sequence[int], *, adopt: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Give ``keep`` everything the user put on ``drops``: nothing typed is lost when they go.

    Tags and collections are united; the higher rating and any favorite win; notes the kept row lacks are
    appended; empty text fields (name, description, trigger words, weight, base label) are filled;
    previews that are not sidecars of the dropped file (renders, chosen covers, remote images) are copied,
    and a dropped row's cover becomes the kept row's cover when it has none; Civitai/HF links the kept row
    lacks are copied. ``adopt`` maps a dropped row's sidecar preview to the path it was moved to beside
    the kept file: that preview becomes the kept row's. The dropped rows are left as they were (their
    removal is the engine's step).

    Returns what the merge changed on ``keep`` (JSON-safe), kept in the journal step so that an undo
    takes exactly that back (:func:`unmerge_user_data`).
    """
    drops = [d for d in drops if d != keep]
    if not drops:
        return {}
    before = _kept_state(session, keep)
    _merge_fields(session, keep, drops)
    ids = {"keep": keep}
    for chunk in chunks(drops):
        marks = ", ".join(f":d{i}" for i in range(len(chunk)))
        params = {**ids, **{f"d{i}": d for i, d in enumerate(chunk)}}
        session.execute(
            text(
                "INSERT INTO asset_tags (asset_id, tag_id, position) "
                "SELECT :keep, tag_id, 1000 + position FROM asset_tags "
                f"WHERE asset_id IN ({marks}) ON CONFLICT DO NOTHING"
            ),
            params,
        )
        session.execute(
            text(
                "INSERT INTO asset_collections (asset_id, collection_id, position) "
                "SELECT :keep, collection_id, position FROM asset_collections "
                f"WHERE asset_id IN ({marks}) ON CONFLICT DO NOTHING"
            ),
            params,
        )
        session.execute(
            text(
                "INSERT INTO previews (asset_id, path, source, is_cover, width, height, added_at) "
                "SELECT :keep, path, source, false, width, height, added_at FROM previews "
                f"WHERE asset_id IN ({marks}) AND source != 'sidecar' ON CONFLICT DO NOTHING"
            ),
            params,
        )
        for old, new in (adopt or {}).items():
            session.execute(
                text(
                    "INSERT INTO previews (asset_id, path, source, is_cover, width, height, "
                    "added_at) SELECT :keep, :new, source, false, width, height, added_at FROM previews "
                    f"WHERE asset_id IN ({marks}) AND path = :old LIMIT 1 ON CONFLICT DO NOTHING"
                ),
                {**params, "old": write_path(old), "new": write_path(new)},  # text(): untyped binds
            )
        if not session.scalar(text("SELECT 1 FROM previews WHERE asset_id = :keep AND is_cover"), ids):
            session.execute(
                text(
                    "UPDATE previews SET is_cover = true WHERE id = (SELECT min(k.id) FROM previews k "
                    "JOIN previews d ON d.path = k.path AND d.is_cover "
                    f"WHERE k.asset_id = :keep AND d.asset_id IN ({marks}))"
                ),
                params,
            )
        session.execute(
            text(
                "INSERT INTO remote_links (asset_id, site, model_id, version_id, file_id, model_name, "
                "version_name, base_model_label, payload, fetched_at, not_found_at, creator, "
                "description_html, description_text, tags, trigger_words, nsfw, nsfw_level, examples) "
                "SELECT :keep, site, model_id, version_id, file_id, model_name, version_name, "
                "base_model_label, payload, fetched_at, not_found_at, creator, description_html, "
                "description_text, tags, trigger_words, nsfw, nsfw_level, examples FROM remote_links "
                # One link per site the kept row lacks: the dropped rows' first found link of that site
                # (min(id), a form both SQLite and PostgreSQL take).
                "WHERE id IN (SELECT min(id) FROM remote_links "
                f"WHERE asset_id IN ({marks}) AND (model_id IS NOT NULL OR version_id IS NOT NULL) "
                "AND site NOT IN (SELECT site FROM remote_links WHERE asset_id = :keep "
                "AND (model_id IS NOT NULL OR version_id IS NOT NULL)) "
                "GROUP BY site)"
            ),
            params,
        )
    ensure_covers(session, [keep])
    prune(session, TAGS)
    prune(session, COLLECTIONS)
    return {"keep": keep, **_changes(before, _kept_state(session, keep))}


def unmerge_user_data(session: Session, merged: Mapping[str, Any]) -> None:
    """Take back from the kept row what :func:`merge_user_data` gave it (undo of a resolution).

    A field goes back to its value before the merge only while it still holds the merged value (what the
    user changed since stays); tags, collections, previews and links the merge added are removed, and the
    cover the kept row had before is its cover again.
    """
    keep = merged.get("keep")
    if not isinstance(keep, int):
        return
    fields = {
        name: values[0]
        for name, values in dict(merged.get("fields", {})).items()
        if name in _MERGED_FIELDS and _field_value(session, keep, name) == values[1]
    }
    if fields:
        session.execute(update(Asset).where(Asset.id == keep).values(**fields, updated_at=utc_now()))
    for table, column, key in (
        ("asset_tags", "tag_id", "tags"),
        ("asset_collections", "collection_id", "collections"),
        ("previews", "id", "previews"),
        ("remote_links", "id", "remote_links"),
    ):
        for chunk in chunks([int(i) for i in merged.get(key, ())]):
            marks = ", ".join(str(i) for i in chunk)
            session.execute(
                text(f"DELETE FROM {table} WHERE asset_id = :keep AND {column} IN ({marks})"), {"keep": keep}
            )
    cover = merged.get("cover")
    if isinstance(cover, list) and len(cover) == 2 and cover[0] != cover[1]:
        session.execute(text("UPDATE previews SET is_cover = 0 WHERE asset_id = :keep"), {"keep": keep})
        if cover[0] is not None:
            session.execute(
                text("UPDATE previews SET is_cover = 1 WHERE asset_id = :keep AND id = :cover"),
                {"keep": keep, "cover": int(cover[0])},
            )
        ensure_covers(session, [keep])
    prune(session, TAGS)
    prune(session, COLLECTIONS)


def _field_value(session: Session, asset_id: int, name: str) -> Any:
    value = session.scalar(text(f"SELECT {name} FROM assets WHERE id = :id"), {"id": asset_id})
    return _plain(name, value)


def _plain(name: str, value: Any) -> Any:
    """A column as JSON keeps it (lists for the JSON columns, bools for the flags)."""
    if name in ("trigger_words", "edited_fields"):
        return _json_list(value)
    if name == "favorite":
        return bool(value)
    return value


def _kept_state(session: Session, keep: int) -> dict[str, Any]:
    columns = ", ".join(_MERGED_FIELDS)
    row = session.execute(text(f"SELECT {columns} FROM assets WHERE id = :id"), {"id": keep}).one()
    return {
        "fields": {name: _plain(name, value) for name, value in zip(_MERGED_FIELDS, row, strict=True)},
        "tags": set(
            session.scalars(text("SELECT tag_id FROM asset_tags WHERE asset_id = :id"), {"id": keep})
        ),
        "collections": set(
            session.scalars(
                text("SELECT collection_id FROM asset_collections WHERE asset_id = :id"), {"id": keep}
            )
        ),
        "previews": set(session.scalars(text("SELECT id FROM previews WHERE asset_id = :id"), {"id": keep})),
        "cover": session.scalar(
            text("SELECT id FROM previews WHERE asset_id = :id AND is_cover"), {"id": keep}
        ),
        "remote_links": set(
            session.scalars(text("SELECT id FROM remote_links WHERE asset_id = :id"), {"id": keep})
        ),
    }


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "fields": {
            name: [value, after["fields"][name]]
            for name, value in before["fields"].items()
            if value != after["fields"][name]
        },
        **{
            key: sorted(after[key] - before[key])
            for key in ("tags", "collections", "previews", "remote_links")
        },
        "cover": [before["cover"], after["cover"]],
    }


_USER_TEXT = ("display_name", "description", "preferred_weight", "base_model_label")


def _merge_fields(session: Session, keep: int, drops: Sequence[int]) -> None:
    columns = "id, rating, favorite, nsfw, notes, trigger_words, edited_fields, " + ", ".join(_USER_TEXT)
    rows = {
        row.id: row
        for chunk in chunks([keep, *drops])
        for row in session.execute(
            text(f"SELECT {columns} FROM assets WHERE id IN ({', '.join(str(int(i)) for i in chunk)})")
        )
    }
    kept = rows[keep]
    others = [rows[d] for d in drops if d in rows]
    notes = [kept.notes] if kept.notes else []
    for other in others:
        if other.notes and other.notes.strip() not in "\n\n".join(notes):
            notes.append(other.notes.strip())
    words = _json_list(kept.trigger_words)
    for other in others:
        words += [w for w in _json_list(other.trigger_words) if w not in words]
    edited = set(_json_list(kept.edited_fields))
    for other in others:
        edited |= set(_json_list(other.edited_fields))
    values: dict[str, Any] = {
        "rating": max([kept.rating or 0, *(o.rating or 0 for o in others)]),
        "favorite": bool(kept.favorite) or any(o.favorite for o in others),
        "notes": "\n\n".join(notes),
        "trigger_words": words,
        "edited_fields": sorted(edited),
    }
    for name in _USER_TEXT:
        current = getattr(kept, name)
        if not current:
            values[name] = next((getattr(o, name) for o in others if getattr(o, name)), current)
    session.execute(update(Asset).where(Asset.id == keep).values(**values, updated_at=utc_now()))
