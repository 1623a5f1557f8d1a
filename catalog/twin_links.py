"""A file byte-identical to a linked one gets the same links, without asking the site.

When a file's hashes are written, another asset with the same SHA-256 that is already linked to Civitai
(or Hugging Face) says what this file is: its version, facts and example images are copied onto this
file, and its site cover too, so a copy in another folder is not left unlinked until a lookup runs (with
automatic lookup off, never). A copy already linked to that site keeps its own link. Only a link that
holds the site's answer is copied: one with ids alone (from an imported list) is filled by the next lookup,
which asks about the copy too.

Hashing calls this for every file it hashes, and most files have no twin: one query on the SHA-256 index
(:func:`linked_twin_ids`) answers that before any link or record is read.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from catalog.orm import Asset, RemoteLink
from catalog.preview_adding import AddsPreviews
from catalog.records import PreviewRecord, RemoteLinkRecord, RemoteMatch
from catalog.remote import answered, match_from_link

SITE_PREVIEW_SOURCES = ("civitai", "huggingface")


class TwinLibrary(AddsPreviews, Protocol):
    def linked_twins(self, asset_id: int, sha256: str) -> list[int]: ...

    def remote_links(self, asset_id: int) -> list[RemoteLinkRecord]: ...

    def previews(self, asset_id: int) -> list[PreviewRecord]: ...

    def record_remote_match(self, asset_id: int, match: RemoteMatch) -> None: ...


def linked_twin_ids(session: Session, asset_id: int, sha256: str) -> list[int]:
    """The other files with this SHA-256 whose site links hold an answer, in id order (usually none)."""
    stmt = (
        select(Asset.id)
        .where(
            Asset.sha256 == sha256.upper(),  # stored upper-case
            Asset.id != asset_id,
            exists().where(RemoteLink.asset_id == Asset.id, answered()),
        )
        .order_by(Asset.id)
    )
    return list(session.scalars(stmt))


def link_like_twins(library: TwinLibrary, asset_id: int, sha256: str) -> list[str]:
    """Give ``asset_id`` the site links its byte-identical twins have and it lacks; returns the sites
    linked (none when no twin is linked, or the file already has those links)."""
    twins = library.linked_twins(asset_id, sha256)
    if not twins:
        return []
    own_sites = {link.site for link in library.remote_links(asset_id) if link.found}
    linked: list[str] = []
    for twin_id in twins:
        for link in library.remote_links(twin_id):
            if not (link.found and link.payload) or link.site in own_sites:
                continue  # ids alone are the lookup's to fill, here and on the twin
            library.record_remote_match(asset_id, match_from_link(link))
            own_sites.add(link.site)
            linked.append(link.site)
            _copy_site_cover(library, twin_id, asset_id, link.site)
    return linked


def _copy_site_cover(library: TwinLibrary, twin_id: int, asset_id: int, site: str) -> None:
    """The twin's picture from ``site`` (in the data dir's cache, shared, never copied on disk)."""
    for preview in library.previews(twin_id):
        if preview.source == site and preview.source in SITE_PREVIEW_SOURCES:
            library.add_preview(asset_id, preview.path, site, width=preview.width, height=preview.height)
            return
