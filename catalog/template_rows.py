"""What organizing by template reads about each file: the few facts a template can name, in bulk.

A plan for 10,000 files must take well under a second, so this reads four flat queries over the whole
scope (assets, the first found remote link, the first tag, the first collection) instead of building full
``AssetRecord`` pages: no JSON parsing, no timestamps, no previews. The kind and architecture are the
user's overrides where set (migration 0007), the file's own identification otherwise. Missing files are
left out: there is nothing on disk to move.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Integer, Text, TextClause, bindparam, text
from sqlalchemy.orm import Session

from catalog.machine_paths import read_path
from catalog.path_text import from_stored
from core.taxonomy import Architecture, AssetKind, FileFormat, NetworkType

_KINDS = {member.value: member for member in AssetKind}
_ARCHITECTURES = {member.value: member for member in Architecture}
_NETWORKS = {member.value: member for member in NetworkType}
_DIFFUSERS = FileFormat.DIFFUSERS.value


@dataclass(frozen=True, slots=True)
class TemplateRow:
    """One cataloged file with the facts a template may use (the site's, where it is linked)."""

    id: int
    root_id: int | None
    path: str
    file_name: str
    is_folder: bool
    kind: AssetKind
    architecture: Architecture
    network: NetworkType | None
    precision: str | None
    display_name: str
    rating: int
    base_model_label: str | None  # the user's (or a sidecar's) label on the asset
    sha256: str | None
    autov2: str | None
    site: str | None = None
    model_id: str | None = None
    version_id: str | None = None
    model_name: str | None = None
    version_name: str | None = None
    remote_base_label: str | None = None
    creator: str | None = None
    remote_tag: str | None = None
    tag: str | None = None
    collection: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateScope:
    """Which files to organize; empty fields do not filter (all of them: the whole library)."""

    asset_ids: tuple[int, ...] | None = None
    kinds: tuple[AssetKind, ...] = ()
    root_ids: tuple[int, ...] = ()


# Which assets: the ids bound as one JSON array (a whole library's worth stays one parameter; on
# PostgreSQL catalog.pg_reads turns ``json_each(:ids) AS ids`` into its own spelling), the few kinds and
# roots as expanding IN lists (both databases take them as they are).
_SCOPE = """
    SELECT id FROM assets
    WHERE status != 'missing'
      AND (:all_ids OR id IN (SELECT ids.value FROM json_each(:ids) AS ids))
      AND (:all_kinds OR coalesce(kind_override, kind) IN :kinds)
      AND (:all_roots OR root_id IN :roots)
"""
_LISTS = (bindparam("kinds", type_=Text, expanding=True), bindparam("roots", type_=Integer, expanding=True))
_ASSETS = text(
    f"""
    SELECT id, root_id, path, file_name, format, coalesce(kind_override, kind),
           coalesce(architecture_override, architecture), network, precision, display_name, rating,
           base_model_label, sha256, autov2
    FROM assets WHERE id IN ({_SCOPE}) ORDER BY path
    """
).bindparams(*_LISTS)
# The first element of a link's tags when it is text; each database spells it its own way.
_FIRST_REMOTE_TAG = {
    "sqlite": "CASE WHEN json_type(tags, '$[0]') = 'text' THEN json_extract(tags, '$[0]') END",
    "postgresql": "CASE WHEN json_typeof(tags -> 0) = 'string' THEN tags ->> 0 END",
}


def _links(dialect: str) -> TextClause:
    """Each asset's first found link (Civitai's before Hugging Face's, then the oldest), ranked by a
    window function: one pass, and the same answer on SQLite and PostgreSQL."""
    return text(
        f"""
        SELECT asset_id, site, model_id, version_id, model_name, version_name, base_model_label, creator,
               first_tag
        FROM (SELECT asset_id, site, model_id, version_id, model_name, version_name, base_model_label,
                     creator, {_FIRST_REMOTE_TAG[dialect]} AS first_tag,
                     row_number() OVER (PARTITION BY asset_id
                                        ORDER BY CASE site WHEN 'civitai' THEN 0 ELSE 1 END, id) AS rank
              FROM remote_links
              WHERE (version_id IS NOT NULL OR model_id IS NOT NULL) AND asset_id IN ({_SCOPE})) AS ranked
        WHERE rank = 1
        """
    ).bindparams(*_LISTS)


def _first_label(links: str, labels: str, label_id: str) -> TextClause:
    """Each asset's first tag or collection (the lowest position), ranked the same way."""
    return text(
        f"""
        SELECT asset_id, name
        FROM (SELECT link.asset_id, label.name,
                     row_number() OVER (PARTITION BY link.asset_id ORDER BY link.position, label.name)
                         AS rank
              FROM {links} AS link JOIN {labels} AS label ON label.id = link.{label_id}
              WHERE link.asset_id IN ({_SCOPE})) AS ranked
        WHERE rank = 1
        """
    ).bindparams(*_LISTS)


_FIRST_TAG = _first_label("asset_tags", "tags", "tag_id")
_FIRST_COLLECTION = _first_label("asset_collections", "collections", "collection_id")
_PATHS = text("SELECT path FROM assets")


def _scope_parameters(scope: TemplateScope) -> dict[str, object]:
    return {
        "all_ids": scope.asset_ids is None,
        "ids": json.dumps(list(scope.asset_ids or ())),
        "all_kinds": not scope.kinds,
        "kinds": [kind.value for kind in scope.kinds],
        "all_roots": not scope.root_ids,
        "roots": list(scope.root_ids),
    }


def template_rows(session: Session, scope: TemplateScope) -> list[TemplateRow]:
    """The files in ``scope`` (missing ones left out), ordered by path."""
    parameters = _scope_parameters(scope)
    dialect = session.get_bind().dialect.name
    links = {row[0]: row[1:9] for row in session.execute(_links(dialect), parameters)}
    tags: dict[int, str] = {row[0]: row[1] for row in session.execute(_FIRST_TAG, parameters)}
    collections: dict[int, str] = {row[0]: row[1] for row in session.execute(_FIRST_COLLECTION, parameters)}
    rows: list[TemplateRow] = []
    no_link = (None,) * 8
    for (
        asset_id,
        root_id,
        path,
        file_name,
        file_format,
        kind,
        architecture,
        network,
        precision,
        display_name,
        rating,
        base_label,
        sha256,
        autov2,
    ) in session.execute(_ASSETS, parameters):
        site, model_id, version_id, model_name, version_name, remote_label, creator, remote_tag = links.get(
            asset_id, no_link
        )
        rows.append(
            TemplateRow(  # positional: a third cheaper than keywords, on every row of the library
                asset_id,
                root_id,
                read_path(path),  # raw SQL: the stored text as this machine's path (machine_paths)
                from_stored(file_name),
                file_format == _DIFFUSERS,
                _KINDS.get(kind, AssetKind.UNKNOWN),
                _ARCHITECTURES.get(architecture, Architecture.UNKNOWN),
                _NETWORKS.get(network) if network else None,
                precision,
                display_name or "",
                rating or 0,
                base_label,
                sha256,
                autov2,
                site,
                model_id,
                version_id,
                model_name,
                version_name,
                remote_label,
                creator,
                remote_tag if isinstance(remote_tag, str) else None,
                tags.get(asset_id),
                collections.get(asset_id),
            )
        )
    return rows


def cataloged_paths(session: Session) -> set[str]:
    """Every path the catalog has a row at, missing files included: a move must not land on one."""
    return {read_path(path) for (path,) in session.execute(_PATHS)}
