"""Model files dropped on the window from a file manager: what they are, and how they join the library.

The catalog only knows files below its library folders, so a dropped file joins it one of two ways:
it is *copied* into a library folder, into the folder of its kind in that folder's layout (A1111
``models/Lora``, ComfyUI ``models/loras``...), so the user's other tools find it too; or it is
*cataloged where it is*, by scanning the library folder that already holds it or by adding its folder as
a new library folder. Either way the window then scans (and hashes) in the background.

Everything here is plain Python on paths: no Qt, no catalog writes (the caller scans afterwards), so a
test drives it on real files in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from catalog.examine import SIDECAR_SUFFIXES, examine, found_at, walk_root
from catalog.records import RootRecord, ScannedFile
from core.download_names import partial_path
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.layouts import folder_for
from core.taxonomy import AssetKind

_CHUNK = 4 * 2**20
_SAME_PREFIX = 2**20  # bytes compared to tell an identical copy already in place from a name clash
BytesCopied = Callable[[int], None]  # the bytes of the current model copied so far


class NotAModelError(ValueError):
    """A dropped path that is neither a model file nor a diffusers folder (the message says which)."""


def examine_path(path: Path) -> ScannedFile:
    """Reads and identifies one model file or diffusers folder from its header (never unpickles).

    Never raises for a bad file: a corrupt or unsafe one comes back with that status and its reason.
    Raises NotAModelError for a path that is not a model at all.
    """
    found = found_at(path)
    if found is None:
        raise NotAModelError(f"{path.name} is not a model file (.safetensors, .ckpt, .pt...) or model folder")
    return examine(found)


def collect_models(paths: Iterable[Path]) -> list[Path]:
    """The model files and diffusers folders among ``paths``; a plain folder gives the models below it."""
    found: list[Path] = []
    for path in paths:
        if found_at(path) is not None:
            found.append(path)
        elif path.is_dir():
            found.extend(item.path for item in walk_root(path))
    return list(dict.fromkeys(found))


def containing_root(path: Path, roots: Sequence[RootRecord]) -> RootRecord | None:
    """The library folder ``path`` lies in (the innermost one when folders are nested)."""
    resolved = path.resolve()
    holding = [root for root in roots if resolved.is_relative_to(Path(root.path).resolve())]
    return max(holding, key=lambda root: len(root.path)) if holding else None


@dataclass(frozen=True, slots=True)
class InPlacePlan:
    """Cataloging dropped paths where they are: library folders to rescan, folders to add as new ones."""

    rescan_root_ids: tuple[int, ...]
    new_folders: tuple[Path, ...]


def plan_in_place(paths: Sequence[Path], roots: Sequence[RootRecord]) -> InPlacePlan:
    """A dropped plain folder becomes a library folder; a file (or model folder) brings its parent."""
    rescan: list[int] = []
    new: list[Path] = []
    for path in paths:
        root = containing_root(path, roots)
        if root is not None:
            rescan.append(root.id)
            continue
        folder = path if path.is_dir() and found_at(path) is None else path.parent
        new.append(folder.resolve())
    unique = list(dict.fromkeys(new))
    # A folder inside another new folder is scanned with it: adding both would catalog files twice.
    outermost = [f for f in unique if not any(f != o and f.is_relative_to(o) for o in unique)]
    return InPlacePlan(tuple(dict.fromkeys(rescan)), tuple(outermost))


@dataclass(frozen=True, slots=True)
class CopyStep:
    """One model to copy: from where, to where (the folder of its kind), and what it was read as."""

    source: Path
    target: Path
    kind: AssetKind
    size: int


def plan_copies(models: Sequence[Path], root: RootRecord) -> list[CopyStep]:
    """Where each model goes in ``root``: the folder of its kind; files already in ``root`` stay."""
    steps: list[CopyStep] = []
    taken: set[Path] = set()
    for model in models:
        if containing_root(model, [root]) is not None:
            continue
        scanned = examine_path(model)
        ident = scanned.identification
        kind = ident.kind if ident is not None else AssetKind.UNKNOWN
        folder = folder_for(
            Path(root.path), root.layout, kind, architecture=ident.architecture if ident else None
        )
        target = _free_target(folder / model.name, model, taken)
        taken.add(target)
        steps.append(CopyStep(model, target, kind, scanned.size))
    return steps


def _free_target(wanted: Path, source: Path, taken: set[Path]) -> Path:
    """``wanted``, or ``name (2).ext`` when another file has that name; an identical copy keeps it."""
    candidate, number = wanted, 1
    while candidate in taken or (candidate.exists() and not _same_file(source, candidate)):
        number += 1
        candidate = wanted.with_name(f"{_stem(wanted)} ({number}){_suffix(wanted)}")
    return candidate


def _stem(path: Path) -> str:
    return path.name if path.is_dir() or not path.suffix else path.name[: -len(path.suffix)]


def _suffix(path: Path) -> str:
    return "" if path.is_dir() else path.suffix


def _same_file(source: Path, existing: Path) -> bool:
    if source.is_dir() or existing.is_dir():
        return False
    try:
        if source.stat().st_size != existing.stat().st_size:
            return False
        with source.open("rb") as a, existing.open("rb") as b:
            return a.read(_SAME_PREFIX) == b.read(_SAME_PREFIX)
    except OSError:
        return False


@dataclass
class CopySummary:
    """What a copy did, for the status bar."""

    copied: list[Path] = field(default_factory=list)
    already_there: list[Path] = field(default_factory=list)

    def __str__(self) -> str:
        if len(self.copied) == 1:
            copied = self.copied[0]
            parts = [f"Copied {copied.name} into {copied.parent}"]
        else:
            parts = [f"Copied {len(self.copied)} files into the library"]
        if self.already_there:
            parts.append(f"{len(self.already_there)} already there")
        return "; ".join(parts)


def copy_models(
    steps: Sequence[CopyStep], progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
) -> CopySummary:
    """Copies each model with its sidecars (preview, ``.civitai.info``...), each one atomically.

    A copy is written under a temporary name and renamed when complete, so a cancelled or failed copy
    never leaves a truncated model for the scanner to find.
    """
    summary = CopySummary()
    total = sum(step.size for step in steps)
    done = 0
    for step in steps:
        if step.target.exists():
            summary.already_there.append(step.target)
            done += step.size
            continue
        step.target.parent.mkdir(parents=True, exist_ok=True)

        def report(copied: int, name: str = step.source.name, before: int = done) -> None:
            progress(Progress(before + copied, total, f"Copying {name}"))
            if cancel is not None:
                cancel.raise_if_cancelled()

        if step.source.is_dir():
            _copy_folder(step.source, step.target, report)
        else:
            _copy_file(step.source, step.target, report)
            _copy_sidecars(step.source, step.target)
        done += step.size
        summary.copied.append(step.target)
    progress(Progress(total, total, str(summary)))
    return summary


def _copy_file(source: Path, target: Path, report: BytesCopied) -> None:
    partial = partial_path(target, ".atelier-part", hidden=True)
    copied = 0
    try:
        with source.open("rb") as src, partial.open("wb") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(chunk)
                copied += len(chunk)
                report(copied)
            dst.flush()
            os.fsync(dst.fileno())
        shutil.copystat(source, partial)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _copy_folder(source: Path, target: Path, report: BytesCopied) -> None:
    partial = partial_path(target, ".atelier-part", hidden=True)
    copied = 0

    def copy_one(src: str, dst: str) -> str:
        nonlocal copied
        result = shutil.copy2(src, dst)
        copied += Path(src).stat().st_size
        report(copied)
        return str(result)

    try:
        shutil.copytree(source, partial, copy_function=copy_one)
        partial.replace(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _copy_sidecars(source: Path, target: Path) -> None:
    """The files other tools keep next to a model (same stem): previews, Civitai info, A1111 json."""
    source_stem, target_stem = _stem(source), _stem(target)
    for suffix in SIDECAR_SUFFIXES:
        sidecar = source.with_name(source_stem + suffix)
        destination = target.with_name(target_stem + suffix)
        if sidecar.is_file() and not destination.exists():
            shutil.copy2(sidecar, destination)
