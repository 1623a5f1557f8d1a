"""Writing the user's data about a file as sidecars other tools read ("Write sidecars", ``sidecars write``).

For one asset: A1111's ``<stem>.json`` gets the user's description, trigger words (as the activation
text), preferred weight, notes and sd version, merged into what the file already holds; and the cover
becomes ``<stem>.preview.png`` when the file has no preview of its own yet. A *different* preview already
next to the file is never replaced unless ``force`` (the window asks first; the CLI takes ``--force``).
Both files are written atomically (:mod:`core.formats.sidecar_writing`), and a rescan reads the same values
back (:mod:`core.formats.sidecars`).
"""

from __future__ import annotations

import filecmp
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from catalog.library import Library
from catalog.path_text import shown
from catalog.preview_adding import AddsPreviews
from catalog.records import AssetRecord
from core.formats.model_file import UnreadableFileError
from core.formats.safe_open import open_regular
from core.formats.sidecar_writing import (
    SidecarWriteError,
    UserMetadata,
    merged_a1111_metadata,
    read_json_object,
    write_json_atomic,
    write_png_atomic,
)
from core.formats.sidecars import PREVIEW_EXTENSIONS, sidecar_stem


class PreviewOutcome(StrEnum):
    """What happened to ``<stem>.preview.png``."""

    WRITTEN = "written"
    REPLACED = "replaced"  # a different preview was there and ``force`` replaced it
    ALREADY_THERE = "already_there"  # the cover is the file's own preview already
    KEPT_EXISTING = "kept_existing"  # a different preview is there: left alone (ask, or --force)
    NO_COVER = "no_cover"


@dataclass(frozen=True, slots=True)
class SidecarReport:
    """What writing one asset's sidecars did."""

    asset_id: int
    json_path: Path
    preview: PreviewOutcome
    preview_path: Path | None = None  # the preview written, or the existing one that was kept

    @property
    def line(self) -> str:
        """One human line: what was written and what was left alone."""
        words = {
            PreviewOutcome.WRITTEN: f"and {self.preview_path.name if self.preview_path else 'a preview'}",
            PreviewOutcome.REPLACED: f"and replaced {self.preview_path.name if self.preview_path else ''}",
            PreviewOutcome.ALREADY_THERE: "(the cover is already its preview)",
            PreviewOutcome.KEPT_EXISTING: (
                f"(kept the different preview {self.preview_path.name if self.preview_path else ''}; "
                "--force replaces it with the cover)"
            ),
            PreviewOutcome.NO_COVER: "(no cover to write as a preview)",
        }
        return f"Wrote {self.json_path} {words[self.preview]}"


class SidecarLibrary(AddsPreviews, Protocol):
    """The Library methods writing sidecars needs: adding the preview it wrote."""


class SidecarTargetError(SidecarWriteError):
    """An asset whose sidecars cannot be written (a missing file, a folder model)."""


def user_metadata(record: AssetRecord) -> UserMetadata:
    from core.text import html_to_text  # a description another tool stored as HTML is written as text

    return UserMetadata(
        description=html_to_text(record.description),
        trigger_words=record.trigger_words,
        preferred_weight=record.preferred_weight,
        notes=record.notes,
        architecture=record.architecture,
    )


def write_sidecars(library: SidecarLibrary, record: AssetRecord, *, force: bool = False) -> SidecarReport:
    """Write ``record``'s A1111 ``<stem>.json`` and, when it has none, ``<stem>.preview.png``.

    Raises:
        SidecarWriteError: an existing ``<stem>.json`` that is not a JSON object (left unchanged), or a
            model that is not a file on disk.
        OSError: the folder is read-only, the disk is full...
    """
    model = Path(record.path)
    if not model.is_file():
        what = "a folder" if model.is_dir() else "missing from disk"
        raise SidecarTargetError(f"{model.name} is {what}: sidecars are written next to a model file")
    stem = sidecar_stem(model)
    json_path = model.with_name(f"{stem}.json")
    merged = merged_a1111_metadata(read_json_object(json_path), user_metadata(record))
    write_json_atomic(json_path, merged)
    outcome, preview_path = _write_preview(library, record, model.parent, stem, force=force)
    return SidecarReport(record.id, json_path, outcome, preview_path)


def _write_preview(
    library: SidecarLibrary, record: AssetRecord, folder: Path, stem: str, *, force: bool
) -> tuple[PreviewOutcome, Path | None]:
    cover = Path(record.cover_path) if record.cover_path else None
    if cover is None or not cover.is_file():
        return PreviewOutcome.NO_COVER, None
    target = folder / f"{stem}.preview.png"
    existing = _existing_previews(folder, stem)
    if any(_same_file(cover, path) for path in existing):
        return PreviewOutcome.ALREADY_THERE, cover
    if existing and not force:
        return PreviewOutcome.KEPT_EXISTING, existing[0]
    replaced = target.exists()
    width, height = _write_png(cover, target)
    library.add_preview(record.id, str(target), "sidecar", make_cover=False, width=width, height=height)
    return (PreviewOutcome.REPLACED if replaced or existing else PreviewOutcome.WRITTEN), target


def _existing_previews(folder: Path, stem: str) -> list[Path]:
    """The previews other tools would show for ``stem``, ``.preview.*`` first (as they prefer them)."""
    names = [f"{stem}.preview{ext}" for ext in PREVIEW_EXTENSIONS] + [
        f"{stem}{ext}" for ext in PREVIEW_EXTENSIONS
    ]
    return [folder / name for name in names if (folder / name).is_file()]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def _write_png(source: Path, target: Path) -> tuple[int, int]:
    """``source`` (any image Pillow reads) as a PNG at ``target``, atomically; returns its size."""
    from PIL import Image

    try:
        # Only a regular file is opened; Pillow's pixel limit turns a decompression bomb into a refusal.
        with open_regular(source) as fh, Image.open(fh) as image:
            image.load()
            converted = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
            write_png_atomic(target, lambda out: converted.save(out, format="PNG"))
            return converted.width, converted.height
    except UnreadableFileError as exc:
        raise SidecarWriteError(f"the cover {shown(source.name)}: {exc.reason}") from None
    except Image.DecompressionBombError:
        raise SidecarWriteError(f"the cover {shown(source.name)} has far too many pixels to copy") from None


def write_many(
    library: SidecarLibrary, records: Sequence[AssetRecord], *, force: bool = False
) -> tuple[list[SidecarReport], list[tuple[AssetRecord, str]]]:
    """:func:`write_sidecars` for each record; failures are collected as (record, one line), not raised."""
    reports: list[SidecarReport] = []
    failures: list[tuple[AssetRecord, str]] = []
    for record in records:
        try:
            reports.append(write_sidecars(library, record, force=force))
        except (SidecarWriteError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            failures.append((record, f"{record.file_name}: {reason}"))
    if reports and isinstance(library, Library):
        from app.organize.mirror import follow_in_mirrors

        follow_in_mirrors(library, "writing sidecars")  # hard links and copies get the new files
    return reports, failures
