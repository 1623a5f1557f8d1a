"""Organize by template: the plan (from -> to, conflicts, unchanged) for every file in a scope.

The CLI's ``organize --template`` and the window's "Organize by template…" both call :func:`plan_template`,
show the plan, then hand it to ``app.organize.engine.apply_moves``, which journals every step. Planning
reads the catalog in bulk (``Library.template_rows``: four queries for the whole scope) and touches the
disk only to answer what a plan must know: one listing per source folder for the companions, one ``lstat``
per distinct target folder to see through links, one per target to see whether it is taken.

Where a file goes: ``<library folder>/<rendered template>``, the library folder being the file's own or
the one chosen (``target_root``). A target folder reached through a symlink is planned at its real place
(so the catalog keeps real paths and a file is never "moved" onto itself through a link); one whose real
place is outside every library folder is a conflict. A target where the catalog still remembers a file
(a missing one) is taken, as one on disk is.
"""

from __future__ import annotations

import gc
import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from app.organize.fileops import same_file
from catalog.template_rows import TemplateRow, TemplateScope
from core.formats.reader import MODEL_EXTENSIONS
from core.formats.sidecars import PREVIEW_EXTENSIONS
from core.jobs import CancelToken, ProgressCallback
from core.layouts import folder_for, own_folders, scanned_folders
from core.organize.companions import companion_names
from core.organize.names import unscanned_target_refusal
from core.organize.plan import Conflict, MovePlan, plan_moves
from core.organize.template import (
    Template,
    TemplateFacts,
    architecture_word,
    kind_word,
    network_word,
    parse_template,
    site_word,
)
from core.sources.site_words import base_model_word
from core.taxonomy import Architecture, AssetKind, LibraryLayout

if TYPE_CHECKING:
    from app.organize.engine import OperationResult
    from catalog.library import Library
    from catalog.records import RootRecord

REASON_NO_ROOT = "no_root"
REASON_OUTSIDE = "outside"
REASON_UNSCANNED = "unscanned"  # a folder the library folder's tool does not scan (A1111's o/)

__all__ = [
    "TemplatePlan",
    "TemplateScope",
    "apply_template",
    "companions_text",
    "facts_for",
    "plan_template",
]


@dataclass(frozen=True)
class TemplatePlan:
    """A template's plan over a scope: the engine's ``MovePlan`` plus what it was made from."""

    template: Template
    plan: MovePlan
    considered: int  # files in the scope
    target_root: int | None = None
    roots: dict[int, str] = field(default_factory=dict)  # id -> path, for showing targets relative

    def relative(self, path: Path) -> str:
        """``path`` relative to the library folder holding it (the whole path when none does)."""
        text = str(path)
        for root in sorted(self.roots.values(), key=len, reverse=True):
            if text.startswith(root.rstrip(os.sep) + os.sep):
                return text[len(root.rstrip(os.sep)) + 1 :]
        return text


def companions_text(companions: Iterable[Path]) -> str:
    """What travels with a model, counted in words: "1 preview", "2 sidecars and 1 preview" ("" for
    none). Images are previews; every other companion (``.json``, ``.civitai.info``, ``.yaml``...) is a
    sidecar."""
    previews = sidecars = 0
    for path in companions:
        if path.suffix.lower() in PREVIEW_EXTENSIONS:
            previews += 1
        else:
            sidecars += 1
    parts = [
        f"{count} {noun}{'s' if count != 1 else ''}"
        for count, noun in ((sidecars, "sidecar"), (previews, "preview"))
        if count
    ]
    return " and ".join(parts)


def facts_for(row: TemplateRow, kind_folder: str, folder: str) -> TemplateFacts:
    """The template values of one catalog row, in the words users read."""
    sha256 = row.sha256 or ""
    return TemplateFacts(  # positional, in the field order (a third cheaper on every row of a plan)
        row.file_name,
        _KIND_WORDS[row.kind],
        kind_folder,
        _ARCHITECTURE_WORDS[row.architecture],
        base_model_word(row.base_model_label or row.remote_base_label),
        network_word(row.network) if row.kind is AssetKind.LORA else "",
        row.precision or "",
        row.creator or "",
        row.model_name or row.display_name,
        row.version_name or "",
        site_word(row.site),
        row.model_id or "",
        row.version_id or "",
        sha256[:8].upper(),
        (row.autov2 or sha256[:10]).upper(),
        str(row.rating) if row.rating else "",
        row.collection or "",
        row.tag or row.remote_tag or "",
        folder,
        row.is_folder,
    )


_KIND_WORDS = {kind: kind_word(kind) for kind in AssetKind}
_ARCHITECTURE_WORDS = {architecture: architecture_word(architecture) for architecture in Architecture}


def plan_template(
    library: Library,
    template: str | Template,
    *,
    scope: TemplateScope | None = None,
    target_root: int | None = None,
    rename_conflicts: bool = False,
) -> TemplatePlan:
    """Where each file of ``scope`` (default: the whole library) goes under ``template``.

    ``target_root`` puts every file in that library folder (default: each stays in its own). Raises
    ``TemplateError`` for a bad template; every other problem is a conflict of the plan.
    """
    parsed = parse_template(template) if isinstance(template, str) else template
    with _no_cyclic_gc():
        return _plan(library, parsed, scope or TemplateScope(), target_root, rename_conflicts)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """A plan allocates a few records per file and no reference cycles: the cycle collector's passes
    over them (a tenth of the time on 10,000 files) are put off until the plan is made."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _plan(
    library: Library,
    parsed: Template,
    scope: TemplateScope,
    target_root: int | None,
    rename_conflicts: bool,
) -> TemplatePlan:
    roots = {root.id: root for root in library.roots()}
    rows = library.template_rows(scope)
    taken = library.cataloged_paths()
    kind_folders = _KindFolders()
    real_folders = _RealFolders([root.path for root in roots.values()])
    scanned = _ScannedFolders()

    # Paths stay strings in this loop (pathlib costs more than everything else here on 10,000 rows);
    # the Path objects the plan needs are made from one Path per folder (half the cost of parsing).
    folders = _FolderPaths()
    requests: list[tuple[int | None, Path, Path]] = []
    refused: list[Conflict] = []
    for row in rows:
        root_id = target_root if target_root is not None else row.root_id
        root = roots.get(root_id) if root_id is not None else None
        if root is None:
            source = Path(row.path)
            reason = "not in a library folder: choose one to organize into"
            refused.append(Conflict(row.id, source, source, reason, REASON_NO_ROOT))
            continue
        own_root = roots.get(row.root_id) if row.root_id is not None else None
        folder = _relative_folder(row.path, own_root.path) if own_root is not None else ""
        facts = facts_for(row, kind_folders.get(root, row.kind, row.architecture), folder)
        parts = parsed.render(facts)
        target_folder = real_folders.real(os.path.join(root.path, *parts[:-1]))  # noqa: PTH118
        if target_folder is None:
            refused.append(
                Conflict(
                    row.id,
                    Path(row.path),
                    Path(root.path, *parts),
                    "its target folder is a link to a place outside the library folders",
                    REASON_OUTSIDE,
                )
            )
            continue
        target = folders.child(os.path.join(target_folder, parts[-1]))  # noqa: PTH118
        unscanned = scanned.refusal(target, root)
        if unscanned is not None:
            refused.append(Conflict(row.id, Path(row.path), target, unscanned, REASON_UNSCANNED))
            continue
        requests.append((row.id, folders.child(row.path), target))

    def exists(path: Path) -> bool:
        text = str(path)
        if text in taken:
            return True
        if real_folders.missing(os.path.dirname(text)):  # noqa: PTH120
            return False  # its folder does not exist yet: no need to ask the disk
        return os.path.lexists(text)

    plan = plan_moves(
        requests,
        exists=exists,
        companions=_CompanionLister(),
        same_file=_same_file,
        rename_conflicts=rename_conflicts,
    )
    if refused:
        plan = MovePlan(plan.moves, (*refused, *plan.conflicts), plan.unchanged)
    return TemplatePlan(
        parsed, plan, len(rows), target_root, {root_id: root.path for root_id, root in roots.items()}
    )


def apply_template(
    library: Library,
    planned: TemplatePlan,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> OperationResult:
    """Apply a template's plan through the journaling engine (conflicts are never applied), then
    remove the folders the moves left empty (never a library folder itself, never one that was not
    emptied by this operation)."""
    from app.organize.engine import apply_moves

    result = apply_moves(
        library,
        planned.plan,
        kind="organize",
        label=f"Organize by template {planned.template.text}",
        progress=progress,
        cancel=cancel,
    )
    layouts = {root.path: root.layout for root in library.roots()}
    keep = {
        folder
        for root in planned.roots.values()
        if root in layouts
        for folder in own_folders(Path(root), layouts[root])
    }
    remove_emptied_folders({Path(source).parent for source, _ in result.moved}, planned.roots.values(), keep)
    return result


def remove_emptied_folders(folders: Iterable[Path], roots: Iterable[str], keep: Iterable[Path] = ()) -> None:
    """Remove each of ``folders`` that is now empty, and its parents up to (not including) the library
    folder holding it. ``rmdir`` only ever removes an empty folder, so nothing else can go.

    Nor does it remove one of ``keep`` (the layout's own folders, :func:`core.layouts.own_folders`, which
    it stops at): an A1111 install without ``models/Lora`` or ``models/`` is recognised differently (and
    A1111 expects them). A folder is one of them when it is the same folder on disk, not when its name
    differs only in case: on a case-insensitive disk ``models/lora`` is the install's ``models/Lora``, on
    Linux a ``models/LoRA`` Atelier made beside it is another folder, removed once emptied."""
    stops = {Path(root) for root in roots}
    kept = {identity for folder in keep if (identity := _folder_identity(folder)) is not None}
    for folder in sorted(folders, key=lambda path: len(path.parts), reverse=True):
        if not any(folder.is_relative_to(root) for root in stops):
            continue
        current = folder
        while (
            current not in stops
            and _folder_identity(current) not in kept
            and any(current.is_relative_to(root) for root in stops)
        ):
            try:
                current.rmdir()
            except OSError:  # not empty (or gone, or not ours to remove): stop climbing
                break
            current = current.parent


def _folder_identity(folder: Path) -> tuple[int, int] | None:
    """The folder's device and inode (None when it is not there): the same for every spelling of its
    name the disk accepts."""
    try:
        status = folder.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _same_file(source: Path, target: Path) -> bool:
    """A target that is the source itself (a case-only rename on a case-insensitive disk) is no
    conflict; the engine's own rule (``app.organize.engine.plan_in_library``)."""
    return str(source).casefold() == str(target).casefold() and same_file(source, target)


def _relative_folder(source: str, root: str) -> str:
    """The folder of ``source`` relative to ``root``, ``/``-separated ("" at its top or outside it)."""
    prefix = root.rstrip(os.sep) + os.sep
    if not source.startswith(prefix):
        return ""
    return os.path.dirname(source[len(prefix) :]).replace(os.sep, "/")  # noqa: PTH120


class _FolderPaths:
    """One ``Path`` per folder; a file's ``Path`` is its folder's joined with its name."""

    def __init__(self) -> None:
        self._paths: dict[str, Path] = {}

    def child(self, file_path: str) -> Path:
        folder, name = os.path.split(file_path)
        parent = self._paths.get(folder)
        if parent is not None:
            return parent / name
        found = Path(file_path)  # one parse; its parent comes free for the next file of the folder
        self._paths[folder] = found.parent
        return found


class _ScannedFolders:
    """Why a target would leave the library because its root's tool does not scan its folder
    (:func:`core.organize.names.unscanned_target_refusal`), with each root's scanned folders found once and
    each target folder answered once (a plan of thousands of files has a few target folders)."""

    def __init__(self) -> None:
        self._scanned: dict[str, list[Path]] = {}
        self._answers: dict[tuple[str, Path], str | None] = {}

    def refusal(self, target: Path, root: RootRecord) -> str | None:
        key = (root.path, target.parent)
        if key not in self._answers:
            if root.path not in self._scanned:
                self._scanned[root.path] = scanned_folders(Path(root.path), root.layout)
            found = unscanned_target_refusal(target, Path(root.path), root.layout, self._scanned[root.path])
            self._answers[key] = found
        return self._answers[key]


class _KindFolders:
    """``{kind_folder}`` per (library folder, kind, architecture), looked up once each (it checks which
    of a layout's folders exist)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, AssetKind, Architecture], str] = {}

    def get(self, root: RootRecord, kind: AssetKind, architecture: Architecture) -> str:
        key = (root.id, kind, architecture)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = _kind_folder(Path(root.path), root.layout, kind, architecture)
        return found


def _kind_folder(root: Path, layout: LibraryLayout, kind: AssetKind, architecture: Architecture) -> str:
    if layout is LibraryLayout.FLAT:
        return kind_word(kind)
    folder = folder_for(root, layout, kind, architecture=architecture)
    try:
        relative = folder.relative_to(root).as_posix().strip(".")
    except ValueError:  # outside the folder given (A1111's embeddings beside a models folder)
        return kind_word(kind)
    return relative or kind_word(kind)


class _RealFolders:
    """The real place of a target folder: links along its existing part followed, each folder checked
    once (one ``lstat``); None when that place is outside every library folder."""

    def __init__(self, roots: Sequence[str]) -> None:
        self._roots = [os.path.realpath(root) for root in roots]
        self._cache: dict[str, str | None] = {
            **{root: root for root in self._roots},
            **{root: os.path.realpath(root) for root in roots},
        }
        self._missing: set[str] = set()

    def real(self, folder: str) -> str | None:
        found = self._cache.get(folder, "")
        if found != "":
            return found
        parent, name = os.path.split(folder)
        if parent == folder or not name:
            return self._inside(folder)
        real_parent = self.real(parent)
        if real_parent is None:
            self._cache[folder] = None
            return None
        candidate = os.path.join(real_parent, name)  # noqa: PTH118
        if real_parent in self._missing:
            self._missing.add(candidate)
        else:
            try:
                if stat.S_ISLNK(os.lstat(candidate).st_mode):
                    self._cache[folder] = found = self._inside(os.path.realpath(candidate))
                    return found
            except FileNotFoundError:
                self._missing.add(candidate)
            except OSError:
                pass  # unreadable: planned as it is; the engine says what is wrong if it is
        self._cache[folder] = candidate
        return candidate

    def missing(self, folder: str) -> bool:
        """Whether ``folder`` (a real path :meth:`real` returned) is known not to exist."""
        return folder in self._missing

    def _inside(self, path: str) -> str | None:
        inside = any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in self._roots)
        return path if inside else None


_STEM = "\x00"  # a stem no file name has: what follows it in each companion name is that companion's ending
_ENDINGS = tuple(name[len(_STEM) :] for name in companion_names(Path(f"{_STEM}.safetensors")))
_ENDING_ORDER = {ending: order for order, ending in reversed(list(enumerate(_ENDINGS)))}


class _CompanionLister:
    """The companions of each model (``core.organize.companions``' rule) with one listing per folder for
    the whole plan: each folder's names are sorted once into "companions by stem" and "model stems", so
    a model's companions are a lookup (asking ``companions_among`` for each of 5,000 LoRAs in one folder
    would compare every pair of names: 25 million)."""

    def __init__(self) -> None:
        self._folders: dict[str, tuple[dict[str, list[tuple[int, str]]], Counter[str]]] = {}

    def __call__(self, model: Path) -> list[Path]:
        folder, name = os.path.split(str(model))
        listed = self._folders.get(folder)
        if listed is None:
            listed = self._folders[folder] = _folder_index(folder)
        by_stem, model_stems = listed
        ext = os.path.splitext(name)[1].lower()  # noqa: PTH122
        is_model_file = ext in MODEL_EXTENSIONS
        stem = name[: -len(ext)] if is_model_file else name  # core.formats.sidecars.sidecar_stem
        found = by_stem.get(stem)
        if not found or model_stems[stem] - is_model_file > 0:  # none, or shared with another model
            return []
        return [model.parent / companion for _, companion in sorted(found) if companion != name]


def _folder_index(folder: str) -> tuple[dict[str, list[tuple[int, str]]], Counter[str]]:
    """A folder's names as (companion names by the stem they would belong to, in handling order; the
    count of model files per stem)."""
    try:
        names = os.listdir(folder)  # noqa: PTH208 (names only, fast)
    except OSError:
        names = []
    by_stem: dict[str, list[tuple[int, str]]] = {}
    model_stems: Counter[str] = Counter()
    for entry in names:
        ext = os.path.splitext(entry)[1].lower()  # noqa: PTH122
        if ext in MODEL_EXTENSIONS:
            model_stems[entry[: -len(ext)]] += 1
        dot = entry.find(".", 1)
        while dot > 0:  # every ending starts at a dot: try each dot of the name (one or two, usually)
            order = _ENDING_ORDER.get(entry[dot:])
            if order is not None:
                by_stem.setdefault(entry[:dot], []).append((order, entry))
            dot = entry.find(".", dot + 1)
    return by_stem, model_stems
