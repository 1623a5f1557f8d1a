"""The one shape of "add a preview to an asset", for the parts that take a library by what it does rather
than by its class (custom covers, sidecars, twin links, the curation editors): each names this protocol
instead of repeating the signature, so a change to ``catalog.library.Library.add_preview`` is made once."""

from __future__ import annotations

from typing import Protocol

from catalog.records import PreviewRecord


class AddsPreviews(Protocol):
    """A library that attaches preview images to assets (``catalog.library.Library`` does)."""

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
