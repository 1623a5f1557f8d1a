"""Remote metadata in the catalog: which files still need a lookup, and what a lookup found.

A lookup and a sidecar import store a match the same way (:func:`link_values`): the site's facts (names,
creator, description as HTML and as text, tags, trigger words, NSFW level, example images) go on the
``remote_links`` row, apart from the user's fields.

Rules that keep user data safe:
- a match fills only the user's tags, base-model label and NSFW flag, and only where they are empty and
  the user never edited them (the same rule as sidecar import); the site's description and trigger words
  are never copied into the user's;
- a match refreshes the link row with the new facts and payload;
- a match's base-model label completes a LoRA's family only where its tensors left it open and the label
  names one of the families they allow, as a sidecar's label does at scan time (:func:`complete_families`);
- a link that holds only ids (an imported list's row names the version; the site's answer, its payload, is
  not stored yet) does not stop the lookup: the next one fills it (:func:`answered`);
- a site's description is kept up to ``DESCRIPTION_LIMIT`` characters, cut there with a mark (the version's
  inside the payload too), by the rule a download's queued facts follow (``core.sources.descriptions``);
- a miss ("not found on Civitai") is remembered with its date so the file is asked about again only
  after a while, and it never replaces a link that holds real data;
- a failed request records nothing at all (the caller simply does not call in here).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from catalog.db import chunks
from catalog.json_field import json_field, stored_text
from catalog.labels import TAGS, add_labels
from catalog.normalize import clean_text, unique_labels
from catalog.orm import Asset, AssetTag, RemoteLink
from catalog.records import RemoteLinkRecord, RemoteMatch
from catalog.user_data import unique_words
from core.sources.civitai_facts import CivitaiFacts
from core.sources.descriptions import bounded_description, bounded_payload
from core.taxonomy import Architecture, AssetKind, FileStatus
from core.text import html_to_text

CIVITAI = "civitai"
_OPEN = (Architecture.OTHER.value, Architecture.UNKNOWN.value)
_NO_PAYLOAD = ("{}", "null")  # a payload as stored when the site was never asked


def match_from_facts(facts: CivitaiFacts) -> RemoteMatch:
    """The catalog's form of Civitai's facts, whether a lookup or a sidecar found them."""
    return RemoteMatch(
        site=CIVITAI,
        model_id=str(facts.model_id) if facts.model_id is not None else None,
        version_id=str(facts.version_id) if facts.version_id is not None else None,
        file_id=str(facts.file_id) if facts.file_id is not None else None,
        model_name=facts.model_name,
        version_name=facts.version_name,
        base_model_label=facts.base_model,
        description=facts.description_html,
        trigger_words=facts.trigger_words,
        tags=facts.tags,
        nsfw=facts.nsfw,
        payload=facts.payload,
        creator=facts.creator,
        nsfw_level=facts.nsfw_level,
        examples=facts.examples,
    )


def match_from_link(link: RemoteLinkRecord) -> RemoteMatch:
    """The stored link as the match that made it (the same ids, facts and payload): what a copy of the
    file (a twin, a converted file) is given."""
    return RemoteMatch(
        site=link.site,
        model_id=link.model_id,
        version_id=link.version_id,
        file_id=link.file_id,
        model_name=link.model_name,
        version_name=link.version_name,
        base_model_label=link.base_model_label,
        description=link.description_html,
        trigger_words=link.trigger_words,
        tags=link.tags,
        nsfw=link.nsfw,
        payload=link.payload,
        creator=link.creator,
        nsfw_level=link.nsfw_level,
        examples=link.examples,
    )


def answered() -> ColumnElement[bool]:
    """A ``remote_links`` row that holds the site's answer (its payload), not only ids: a list's import
    records a version's ids and names, and the lookup still has to bring the rest."""
    found = or_(RemoteLink.version_id.is_not(None), RemoteLink.model_id.is_not(None))
    return and_(found, stored_text(RemoteLink.payload).not_in(_NO_PAYLOAD))


def link_values(match: RemoteMatch) -> dict[str, Any]:
    """The columns of a ``remote_links`` row for ``match`` (without ids and dates): its descriptions (the
    model's and the payload's) cut to ``DESCRIPTION_LIMIT`` characters with a mark, however the match came
    (``core.sources.descriptions``)."""
    description = bounded_description(clean_text(match.description))
    return {
        "model_id": match.model_id,
        "version_id": match.version_id,
        "file_id": match.file_id,
        "model_name": clean_text(match.model_name),
        "version_name": clean_text(match.version_name),
        "base_model_label": clean_text(match.base_model_label),
        "payload": bounded_payload(match.payload),
        "creator": clean_text(match.creator),
        "description_html": description,
        "description_text": html_to_text(description) or None,
        "tags": list(unique_labels(match.tags)),
        "trigger_words": unique_words(match.trigger_words),
        "nsfw": bool(match.nsfw),
        "nsfw_level": match.nsfw_level,
        "examples": [image.to_json() for image in match.examples],
    }


def lookup_candidates(
    session: Session, site: str, *, retry_before: datetime, force: bool = False, limit: int | None = None
) -> list[tuple[int, str]]:
    """(asset id, SHA256) of hashed, readable files whose link to ``site`` holds no answer yet: none at
    all, or only ids (:func:`answered`).

    Files found missing before ``retry_before`` are included again; ``force`` asks about every hashed
    file that has no answered link (all misses included).
    """
    its_link = and_(RemoteLink.asset_id == Asset.id, RemoteLink.site == site)
    linked = exists().where(its_link, answered())
    recent_miss = exists().where(its_link, RemoteLink.not_found_at >= retry_before)
    conditions = [Asset.sha256.is_not(None), Asset.status == FileStatus.OK.value, ~linked]
    if not force:
        conditions.append(~recent_miss)
    stmt = select(Asset.id, Asset.sha256).where(*conditions).order_by(Asset.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(asset_id, sha256) for asset_id, sha256 in session.execute(stmt) if sha256]


def record_match(session: Session, asset_id: int, match: RemoteMatch, now: datetime) -> None:
    """Store what the remote site says about one file."""
    values: dict[str, Any] = {**link_values(match), "fetched_at": now, "not_found_at": None}
    link_id = session.scalar(
        select(RemoteLink.id)
        .where(RemoteLink.asset_id == asset_id, RemoteLink.site == match.site)
        .order_by(RemoteLink.version_id.is_(None), RemoteLink.id)
        .limit(1)
    )
    if link_id is None:
        session.add(RemoteLink(asset_id=asset_id, site=match.site, **values))
    else:
        session.execute(update(RemoteLink).where(RemoteLink.id == link_id).values(**values))
    _fill_user_fields(session, asset_id, match)
    session.flush()  # the new link row, which complete_families reads (the sessions do not autoflush)
    complete_families(session, [asset_id])


def complete_families(session: Session, asset_ids: Sequence[int]) -> None:
    """Where a LoRA's tensors left its family open (``other``/``unknown``), the base-model label of its
    Civitai match ("Qwen") decides by the rule a sidecar's label follows at scan time
    (``core.identify.labels.with_base_model_label``): only a family its layer names allow, with the reason
    said. The stored identification takes it, and ``architecture`` too unless the user overrode it.

    Run after a lookup recorded a match and after a rescan rewrote a file's identification (a sidecar
    changed beside it), so the lookup's answer is not lost to the next scan."""
    for chunk in chunks(sorted(set(asset_ids))):
        rows = session.execute(
            select(
                Asset.id,
                Asset.identification,
                Asset.embedded_metadata,
                Asset.architecture_override,
                RemoteLink.base_model_label,
            )
            .join(RemoteLink, RemoteLink.asset_id == Asset.id)
            .where(
                Asset.id.in_(chunk),
                json_field(Asset.identification, "$.kind") == AssetKind.LORA.value,
                json_field(Asset.identification, "$.architecture").in_(_OPEN),
                RemoteLink.site == CIVITAI,
                RemoteLink.version_id.is_not(None),
                RemoteLink.base_model_label.is_not(None),
            )
            .order_by(Asset.id, RemoteLink.id)
        ).all()
        if not rows:
            continue
        from core.identify.labels import with_base_model_label  # the identification stack, only when needed
        from core.identify.result import Identification

        done: set[int] = set()
        for asset_id, stored, metadata, override, label in rows:
            if asset_id in done:
                continue
            done.add(asset_id)
            identification = Identification.from_json({**stored, "metadata": metadata or {}})
            completed = with_base_model_label(identification, label)
            if completed is identification:
                continue
            family = completed.architecture.value
            values: dict[str, Any] = {
                "identification": {**stored, "architecture": family, "reasons": list(completed.reasons)},
                "reasons": list(completed.reasons),
            }
            if override is None:
                values["architecture"] = family
            session.execute(update(Asset).where(Asset.id == asset_id).values(**values))


def record_misses(session: Session, asset_ids: Sequence[int], site: str, now: datetime) -> None:
    """Remember "not found" for files without an answered link; links with data are left as they are.

    A link that holds only ids keeps them and takes the date too, so a file the site does not know by its
    hash is not asked about at every lookup."""
    for asset_id in asset_ids:
        mine = and_(RemoteLink.asset_id == asset_id, RemoteLink.site == site)
        if session.scalar(select(exists().where(mine, answered()))):
            continue  # good data is never replaced by a miss
        if session.scalar(select(exists().where(mine))):
            session.execute(update(RemoteLink).where(mine).values(not_found_at=now))
        else:
            session.add(RemoteLink(asset_id=asset_id, site=site, payload={}, not_found_at=now))


def _fill_user_fields(session: Session, asset_id: int, match: RemoteMatch) -> None:
    """The base-model label, NSFW flag and tags the user left empty (and never edited)."""
    row = session.execute(
        select(Asset.base_model_label, Asset.nsfw, Asset.edited_fields).where(Asset.id == asset_id)
    ).one()
    edited = set(row.edited_fields or ())

    def empty_and_unedited(field: str, current: object) -> bool:
        return field not in edited and not current

    values: dict[str, Any] = {}
    label = clean_text(match.base_model_label)
    if label and empty_and_unedited("base_model_label", row.base_model_label):
        values["base_model_label"] = label
    if match.nsfw and empty_and_unedited("nsfw", row.nsfw):
        values["nsfw"] = True
    if values:
        session.execute(update(Asset).where(Asset.id == asset_id).values(**values))
    has_tags = session.scalar(select(AssetTag.asset_id).where(AssetTag.asset_id == asset_id).limit(1))
    if match.tags and "tags" not in edited and has_tags is None:
        add_labels(session, TAGS, {asset_id: unique_labels(match.tags)})
