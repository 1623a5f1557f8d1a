"""Convert a cataloged pickle to safetensors, and let the catalog follow: the use case both front ends call.

The new ``<stem>.safetensors`` is written beside the old file by ``core.convert`` (verified by reading
back), then cataloged through the scan's own code (``examine`` + ``apply_scan_batch``) and hashed, so it
is identified exactly as a rescan would. What the user said about the old file comes with it: display
name, notes, rating, favorite, NSFW flag, tags, collections, trigger words, preferred weight, base-model
label, its previews (the same image files: a preview belongs to the model, not the container) and its
Civitai / Hugging Face links (the same model and version, now in another file format).

Sidecars are found by stem, and the new file keeps the stem, so ``model.civitai.info`` and
``model.preview.png`` already belong to ``model.safetensors``: nothing is copied. That is also why trashing
the old file (on request, through the organize engine so it can be undone) trashes the model file only
and leaves the sidecars the new file now uses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.import_files import examine_path
from catalog.library import Library
from catalog.records import AssetRecord, UserDataChanges
from catalog.remote import match_from_link
from core.convert.convert import (
    CONVERTIBLE_SUFFIXES,
    ConversionResult,
    convert_to_safetensors,
    safetensors_target,
)
from core.convert.errors import ConvertError
from core.hashing import hash_file
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.sizes import human_size
from core.taxonomy import AssetKind, FileStatus

if TYPE_CHECKING:
    from app.organize.engine import OperationResult

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConvertOutcome:
    """The conversion, the new file's catalog record, and the old file's trashing when asked for."""

    result: ConversionResult
    asset: AssetRecord
    old_asset_id: int
    trashed: OperationResult | None = None

    @property
    def summary(self) -> str:
        result = self.result
        tensors = "1 tensor" if result.tensors == 1 else f"{result.tensors} tensors"
        parts = [f"{result.source.name} -> {result.target.name}: {tensors}"]
        if result.fp16:
            parts.append("fp16")
        if result.pruned:
            count = len(result.pruned)
            parts.append(f"{count} EMA/optimizer tensor{'' if count == 1 else 's'} pruned")
        parts.append(f"{human_size(result.source_size)} -> {human_size(result.target_size)}")
        if self.trashed is not None and self.trashed.done:
            parts.append("old file moved to the trash")
        elif self.trashed is not None and self.trashed.failed:
            parts.append(f"the old file was NOT moved to the trash: {self.trashed.failed[0][1]}")
        return ", ".join(parts)


def convert_refusal(record: AssetRecord) -> str | None:
    """Why ``record`` cannot be converted (the window shows it on the disabled action), or None."""
    path = Path(record.path)
    if path.suffix.lower() not in CONVERTIBLE_SUFFIXES:
        return f"only .ckpt, .pt, .pth and .bin files are converted; {record.file_name} is not a torch pickle"
    if record.status is FileStatus.UNSAFE:
        return f"unsafe pickle, never loaded: {record.status_reason or 'it imports code'}"
    if record.status is FileStatus.MISSING:
        return "the file is missing from disk"
    if record.status is FileStatus.CORRUPT:
        return f"the file cannot be read: {record.status_reason or 'damaged'}"
    if record.kind is AssetKind.HYPERNETWORK:
        return "hypernetworks stay .pt: A1111 and Forge load them only from .pt files"
    target = safetensors_target(path)
    if target.exists():
        return f"{target.name} already exists beside it"
    return None


def convert_asset(
    library: Library,
    asset_id: int,
    *,
    fp16: bool = False,
    prune: bool = False,
    trash_old: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ConvertOutcome:
    """Convert asset ``asset_id``; catalog the new file with the old one's user data; trash the old if asked.

    Raises ConvertError (refused or failed: nothing was written) or CancelledError.
    """
    record = library.get(asset_id)
    if record is None:
        raise ConvertError(f"no asset with id {asset_id} in the library")
    refusal = convert_refusal(record)
    if refusal is not None:
        raise ConvertError(f"{record.file_name} was not converted: {refusal}")
    if prune and record.kind not in {AssetKind.CHECKPOINT, AssetKind.UNKNOWN}:
        raise ConvertError(f"--prune is for checkpoints; {record.file_name} is a {record.kind.value}")
    result = convert_to_safetensors(
        Path(record.path), kind=record.kind, fp16=fp16, prune=prune, progress=progress, cancel=cancel
    )
    progress(Progress(0, result.target_size, f"Cataloging {result.target.name}"))
    new_id = catalog_new_file(library, record, result.target)
    progress(Progress(result.target_size, result.target_size, f"Cataloged {result.target.name}"))
    trashed = None
    if trash_old:
        trashed = trash_model_file(library, record.id)  # the engine re-syncs the mirrors after it
    else:
        _follow_in_mirrors(library)
    asset = library.get(new_id)
    assert asset is not None
    return ConvertOutcome(result=result, asset=asset, old_asset_id=record.id, trashed=trashed)


def catalog_new_file(library: Library, old: AssetRecord, target: Path) -> int:
    """Scan and hash ``target`` into the old file's root and give it the old file's user data."""
    scanned = examine_path(target)
    root_id = old.root_id
    if root_id is None:
        raise ConvertError(f"{old.file_name} is in no library folder; scan its folder first")
    (new_id,) = library.apply_scan_batch(root_id, [scanned])
    new_id = library.set_hashes(new_id, hash_file(target))
    library.update_user_data(new_id, carried_user_data(old))
    for preview in library.previews(old.id):
        library.add_preview(
            new_id,
            preview.path,
            preview.source,
            make_cover=preview.is_cover,
            width=preview.width,
            height=preview.height,
        )
    known = {(link.site, link.model_id, link.version_id) for link in library.remote_links(new_id)}
    for link in library.remote_links(old.id):
        if not link.found or (link.site, link.model_id, link.version_id) in known:
            continue
        # The same model and version, but not the site's file: that one is the old pickle.
        library.record_remote_match(new_id, replace(match_from_link(link), file_id=None))
    return new_id


def carried_user_data(old: AssetRecord) -> UserDataChanges:
    """The old file's user data as a change set; fields never set stay unset (a sidecar may fill them)."""
    return UserDataChanges(
        display_name=old.display_name or None,
        notes=old.notes or None,
        rating=old.rating or None,
        favorite=True if old.favorite else None,
        nsfw=True if old.nsfw else None,
        tags=old.tags or None,
        collections=old.collections or None,
        trigger_words=old.trigger_words or None,
        preferred_weight=old.preferred_weight,
        base_model_label=old.base_model_label,
    )


def _follow_in_mirrors(library: Library) -> None:
    """The mirrors for other UIs follow at once (see :func:`app.organize.mirror.follow_in_mirrors`)."""
    from app.organize.mirror import follow_in_mirrors

    follow_in_mirrors(library, after="a conversion")


def trash_model_file(library: Library, asset_id: int) -> OperationResult:
    """The old model file to the system trash through the organize engine (journaled, undoable).

    Only the model file goes: its sidecars share the stem of the new file, which now uses them. The
    journal names the operation for what it was, so ``history`` does not show a plain delete.
    """
    from app.organize.engine import delete_assets

    record = library.get(asset_id)
    name = Path(record.path).name if record is not None else f"asset {asset_id}"
    label = f"Convert {name}: old file to the trash"
    return delete_assets(library, [asset_id], label=label, companions=False)
