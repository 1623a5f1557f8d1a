"""A file byte-identical to a linked one gets the same links, without asking the site.

When a file's hashes are written, another asset with the same SHA-256 that is already linked to Civitai
(or Hugging Face) says what this file is: its version, facts and example images are copied onto this
file, and its site cover too, so a copy in another folder is not left unlinked until a lookup runs (with
automatic lookup off, never). A copy already linked to that site keeps its own link.
"""

from __future__ import annotations

from typing import Protocol

from catalog.records import AssetRecord, PreviewRecord, RemoteLinkRecord, RemoteMatch

SITE_PREVIEW_SOURCES = ("civitai", "huggingface")


class TwinLibrary(Protocol):
    def find_by_hash(self, value: str) -> list[AssetRecord]: ...

    def remote_links(self, asset_id: int) -> list[RemoteLinkRecord]: ...

    def previews(self, asset_id: int) -> list[PreviewRecord]: ...

    def record_remote_match(self, asset_id: int, match: RemoteMatch) -> None: ...

    def add_preview(
        self,
        asset_id: int,
        path: str,
        source: str,
        *,
        make_cover: bool = False,
        width: int | None = None,
        height: int | None = None,
    ) -> PreviewRecord: ...


def match_from_link(link: RemoteLinkRecord) -> RemoteMatch:
    """The stored link as the match that made it (the same facts, the same payload)."""
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


def link_like_twins(library: TwinLibrary, asset_id: int, sha256: str) -> list[str]:
    """Give ``asset_id`` the site links its byte-identical twins have and it lacks; returns the sites
    linked (none when no twin is linked, or the file already has those links)."""
    own_sites = {link.site for link in library.remote_links(asset_id) if link.found}
    linked: list[str] = []
    for twin in library.find_by_hash(sha256):
        if twin.id == asset_id or twin.hashes is None or twin.hashes.sha256.upper() != sha256.upper():
            continue  # find_by_hash also matches other hash kinds; only the same SHA-256 is the same file
        for link in library.remote_links(twin.id):
            if not link.found or link.site in own_sites:
                continue
            library.record_remote_match(asset_id, match_from_link(link))
            own_sites.add(link.site)
            linked.append(link.site)
            _copy_site_cover(library, twin.id, asset_id, link.site)
    return linked


def _copy_site_cover(library: TwinLibrary, twin_id: int, asset_id: int, site: str) -> None:
    """The twin's picture from ``site`` (in the data dir's cache, shared, never copied on disk)."""
    for preview in library.previews(twin_id):
        if preview.source == site and preview.source in SITE_PREVIEW_SOURCES:
            library.add_preview(asset_id, preview.path, site, width=preview.width, height=preview.height)
            return
