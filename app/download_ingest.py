"""A finished download enters the library: scanned, hashed and linked to the page it came from.

The same steps for the window and the CLI, so one file downloaded by either lands as the same row: the
file is scanned into the library folder holding it (identified from its header like any other; the rest
of the folder is not walked again),
the file's hashes are recorded at once (only this file: a download must not start hashing a whole
library), and the remote facts the download carried (model, version, trigger words, the raw payload)
are recorded as its match, so no hash lookup on Civitai is needed. The hashes are the ones the download
engine computed while the bytes arrived, so a multi-GB file is not read back from disk; only a file
that was not downloaded just now (a run that found it already complete) is hashed here. A file from a
Civitai version gets that version's first image (within the user's NSFW level) as its cover, as a hash
lookup gives one: the version's images came with the download, only the picture is fetched.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.download_requests import match_from_metadata
from core.downloads import DownloadRecord
from core.file_hashes import FileHashes

if TYPE_CHECKING:
    from app.context import AppContext
    from catalog.records import AssetRecord

# Two downloads finishing together must not scan the same folder at the same time.
_INGEST_LOCK = threading.Lock()


def ingest_download(
    context: AppContext, record: DownloadRecord, path: Path, hashes: FileHashes | None = None
) -> AssetRecord | None:
    """Bring ``path`` (the verified file of ``record``) into the library; None outside every root.

    ``hashes`` are the file's hashes as the download computed them; without them the file is hashed here.
    """
    library = context.library
    roots = [root for root in library.roots() if path.is_relative_to(root.path)]
    if not roots:
        return None
    root = max(roots, key=lambda r: len(r.path))  # the innermost, should roots ever nest
    with _INGEST_LOCK:
        from catalog.scanner import Scanner

        # Only this file is read: the rest of the folder is as the last scan left it.
        Scanner(library).scan_files(root, [path])
        asset = library.get_by_path(path)
        if asset is None:
            return None
        asset_id = asset.id
        if asset.hashes is None and path.is_file():
            if hashes is None:
                from core.hashing import hash_file

                hashes = hash_file(path)
            asset_id = library.set_hashes(asset_id, hashes)  # a moved file keeps its old row
        match = match_from_metadata(record.metadata)
        if match is not None:
            library.record_remote_match(asset_id, match)
    if match is not None and match.site == "civitai":
        _add_cover(context, asset_id, match.payload)  # outside the lock: a picture from the network
    return library.get(asset_id)


def _add_cover(context: AppContext, asset_id: int, payload: Mapping[str, Any]) -> None:
    """The Civitai version's cover for the downloaded file; a version without a usable image, or a
    picture that cannot be fetched, leaves the file without one (the download itself succeeded)."""
    from core.sources.civitai_records import RecordError, parse_version

    try:
        version = parse_version(payload)
    except RecordError:
        return
    context.civitai_covers().store(context.library, asset_id, version)
