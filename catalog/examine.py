"""The scanner's per-file work: finding model files on disk and reading one of them.

Kept apart from the scanner (and free of database imports) because the scanner runs ``examine`` in
worker processes: each worker imports only this module and what it needs to parse headers.
"""

from __future__ import annotations

import json
import operator
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from catalog.path_text import shown
from catalog.places import LibraryPlaces, is_under
from catalog.records import ScannedFile
from core.formats.diffusers_folder import looks_like_diffusers, names_model_class
from core.formats.model_file import FormatError, ModelHeader, UnreadableFileError, UnsafeFileError
from core.formats.reader import read_file_header, read_header
from core.formats.safe_open import read_regular, special_kind, unreadable_reason
from core.formats.sidecar_info import SidecarInfo
from core.formats.sidecars import read_sidecars, sidecar_names
from core.jobs import CancelToken
from core.layouts import MODEL_FILE_SUFFIXES, is_ignored_dir, is_ignored_name
from core.taxonomy import AssetKind, FileFormat, FileStatus

if TYPE_CHECKING:  # numpy is loaded only when a tensor is read (identification asks for a few)
    import numpy as np
    from numpy.typing import NDArray

    from core.identify.result import Identification

# Files next to a model that another tool (A1111, Civitai Helper, Stability Matrix, LoRA Manager) wrote.
SIDECAR_SUFFIXES = (
    ".json",
    ".civitai.info",
    ".cm-info.json",
    ".metadata.json",
    ".preview.png",
    ".preview.jpg",
    ".preview.jpeg",
    ".preview.webp",
    ".png",
    ".jpg",
    ".jpeg",
    ".webp",
)
MAX_CONFIG_BYTES = 1024 * 1024  # a diffusers config.json is a few kB; more is something else
FORMAT_BY_SUFFIX = {
    ".safetensors": FileFormat.SAFETENSORS,
    ".sft": FileFormat.SAFETENSORS,
    ".ckpt": FileFormat.CKPT,
    ".pt": FileFormat.PT,
    ".pth": FileFormat.PT,
    ".bin": FileFormat.BIN,
    ".gguf": FileFormat.GGUF,
}


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A model file (or diffusers folder) seen on disk during the walk."""

    path: Path
    size: int
    mtime_ns: int
    inode: int
    device: int = 0  # st_dev: with the inode it names one file (hard links and bind mounts share both)
    is_folder: bool = False
    siblings: frozenset[str] | None = None  # the folder's names, kept only when sidecars lie next to it
    sidecar_mtime_ns: int = 0  # newest mtime among those sidecars
    # Why the path cannot be opened (a named pipe, a socket, a device, a link loop, a link to nothing):
    # such a path is cataloged as unreadable with this reason and never opened.
    unreadable: str | None = None
    # Sidecar or preview names beside the model that are no regular file, with what they are: left out
    # of ``siblings`` so no reader ever opens them, and reported as sidecar problems.
    odd_sidecars: tuple[tuple[str, str], ...] = ()

    @property
    def has_sidecars(self) -> bool:
        return self.siblings is not None

    @property
    def stat_key(self) -> tuple[int, int, int]:
        return (self.size, self.mtime_ns, self.inode)

    def __reduce__(self) -> tuple[Callable[..., FoundFile], tuple[object, ...]]:
        """Sent to a scan's worker as its path's text and its other fields in order: a ``Path`` pickles
        as its parts (joined again on arrival) and a slotted dataclass through ``dataclasses.fields``, at
        several times the cost for every file a scan reads."""
        return _found_file_from_text, (str(self.path), *_FOUND_FIELDS_AFTER_PATH(self))


def _found_file_from_text(path: str, *rest: object) -> FoundFile:
    return FoundFile(Path(path), *rest)  # type: ignore[arg-type]


_FOUND_FIELDS_AFTER_PATH = operator.attrgetter(*(f.name for f in fields(FoundFile)[1:]))


def walk_root(
    root: Path, cancel: CancelToken | None = None, library: LibraryPlaces | None = None
) -> Iterator[FoundFile]:
    """Yield every model file and diffusers folder below ``root``.

    A ``root`` that is itself a diffusers pipeline or component folder is that one asset (a user adds
    the folder they downloaded), never split into its text encoder, UNet and VAE.
    Uses ``os.scandir`` so that file type and inode come from the directory listing; partial downloads,
    sidecars and non-model files are skipped.

    Symlinks (see :mod:`catalog.places`): one whose real target lies inside ``library`` is skipped, the
    file being cataloged at its real path; one pointing outside is followed (a folder) or yielded at the
    link path (a file). A linked folder is entered once: a link back into a folder already walked (a
    loop, or a second link to one folder) is skipped, so the walk never hangs.

    An entry named like a model that cannot be opened - a named pipe, socket or device, a link to one,
    a link that loops or points at nothing - is yielded with ``unreadable`` set to why, so the user sees
    it in the library with the reason instead of it vanishing; nothing here ever opens it.
    """
    for item in walk_listing(root, cancel, library):
        yield item if isinstance(item, FoundFile) else found_listed(item)


# A regular file named like a model, as the walk lists it: (path, folder, name, stat, the folder's
# names, whether a sidecar lies beside it). Plain strings: a rescan compares most files with the catalog
# and never builds a ``Path`` or a ``FoundFile`` for them (:func:`found_listed` does, for those read).
Listed = tuple[str, str, str, os.stat_result, frozenset[str], bool]


def walk_listing(
    root: Path, cancel: CancelToken | None = None, library: LibraryPlaces | None = None
) -> Iterator[FoundFile | Listed]:
    """:func:`walk_root`'s walk: each regular model file as a :data:`Listed`, anything else (a diffusers
    folder, a path that cannot be opened) as its ``FoundFile``. Same files, same order."""
    walked = [os.path.realpath(root)]  # real folders this walk covers: links into them add nothing
    visited: set[tuple[int, int]] = set()  # (device, inode) of each folder listed: each is listed once
    stack = [root]
    model_suffixes = MODEL_FILE_SUFFIXES
    while stack:
        if cancel is not None:
            cancel.raise_if_cancelled()
        folder = stack.pop()
        try:
            identity = folder.stat()
            if (identity.st_dev, identity.st_ino) in visited:
                continue  # a folder reached a second time through a link (or a loop)
            visited.add((identity.st_dev, identity.st_ino))
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        names = frozenset(entry.name for entry in entries)
        if looks_like_diffusers(names) or (folder == root and _names_a_model_class(folder, names)):
            found = _diffusers_folder(folder)
            if found is not None:
                yield found
                continue
        folder_text = str(folder)
        stems = _sidecar_stems(names)
        for entry in entries:
            name = entry.name
            dot = name.rfind(".")
            model_named = (
                0 < dot < len(name) - 1  # a suffix, as ``Path.suffix`` finds it
                and name[dot:].lower() in model_suffixes
                and not is_ignored_name(name, names)
            )
            try:
                if entry.is_symlink():
                    path = Path(entry.path)
                    if model_named:
                        broken = _broken_link(path)
                        if broken is not None:
                            yield broken  # a loop or a link to nothing: said, never silently dropped
                            continue
                    if not _follow_link(entry, library, walked):
                        continue
                    if entry.is_dir():
                        if not is_ignored_dir(path):
                            stack.append(path)
                        continue
                elif entry.is_dir(follow_symlinks=False):
                    path = Path(entry.path)
                    if not is_ignored_dir(path):
                        stack.append(path)
                    continue
                if not model_named:
                    continue
                st = entry.stat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                kind = special_kind(st.st_mode)
                if kind is not None:  # a FIFO, socket or device (or a link to one) with a model's name
                    yield _unreadable_file(Path(entry.path), f"{kind}, not a file; it was not opened")
                    continue
            yield (entry.path, folder_text, name, st, names, name[:dot] in stems)


def found_listed(item: Listed) -> FoundFile:
    """The ``FoundFile`` of a file the walk listed: what a reader needs (its sidecars found too)."""
    path, _folder, _name, st, names, has_sidecars = item
    if not has_sidecars:  # most files: the walk saw no sidecar beside them, so none is looked for
        return FoundFile(
            path=Path(path), size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino, device=st.st_dev
        )
    return _found_file(Path(path), st, names)


def listed_sidecar_mtime(item: Listed) -> int:
    """The newest mtime among the sidecars of a listed file, as its ``FoundFile`` would say it."""
    _path, folder, name, _st, names, has_sidecars = item
    if not has_sidecars:
        return 0  # most files: nothing beside them to stat
    return _sidecar_stats(folder, _sidecar_names(name, names))[0]


def _sidecar_stems(names: frozenset[str]) -> set[str]:
    """The stems that have a sidecar among ``names``: a model named ``stem + suffix`` has one exactly
    when its stem is here (one pass over the folder instead of a dozen lookups per model)."""
    stems: set[str] = set()
    for name in names:
        if name.endswith(SIDECAR_SUFFIXES):
            stems.update(name[: -len(suffix)] for suffix in SIDECAR_SUFFIXES if name.endswith(suffix))
    return stems


def _follow_link(entry: os.DirEntry[str], library: LibraryPlaces | None, walked: list[str]) -> bool:
    """Whether the walk goes through this symlink: not when its target is in the library or already
    walked (a loop); a folder it enters is remembered as walked."""
    target = os.path.realpath(entry.path)
    if library is not None and library.contains(target):
        return False
    if any(is_under(target, folder) for folder in walked):
        return False
    if entry.is_dir():
        walked.append(target)
    return True


def _broken_link(path: Path) -> FoundFile | None:
    """The unreadable finding for a symlink that loops or points at nothing; None for a working link."""
    try:
        path.stat()
    except OSError as exc:
        return _unreadable_file(path, unreadable_reason(path, exc))
    return None


def _unreadable_file(path: Path, reason: str) -> FoundFile:
    """A path with a model's name that cannot be opened; its identity is the entry's own (``lstat``)."""
    try:
        st = path.lstat()
        size, mtime_ns, inode, device = st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev
    except OSError:
        size = mtime_ns = inode = device = 0
    return FoundFile(
        path=path, size=size, mtime_ns=mtime_ns, inode=inode, device=device, unreadable=shown(reason)
    )


def found_at(path: Path) -> FoundFile | None:
    """The model file or diffusers folder at ``path`` as the walk would see it (a file dropped on the
    window); None for anything else (a plain folder, a text file, a path that is gone)."""
    try:
        if path.is_dir():
            names = frozenset(entry.name for entry in os.scandir(path))
            return _diffusers_folder(path) if looks_like_diffusers(names) else None
        if path.suffix.lower() not in MODEL_FILE_SUFFIXES or not path.is_file():
            return None
        st = path.stat()
    except OSError:
        return None
    try:
        names = frozenset(entry.name for entry in os.scandir(path.parent))
    except OSError:
        names = frozenset()
    return _found_file(path, st, names)


def look_at(path: Path) -> FoundFile:
    """Whatever is at ``path`` as one finding, for ``inspect``: a model file with its sidecars, a
    diffusers folder, or a path that cannot be opened (a special file, a broken link) with the reason.

    Unlike :func:`found_at` it never turns a path away; nothing here opens a file.
    """
    try:
        st = path.stat()
    except OSError as exc:
        return _unreadable_file(path, unreadable_reason(path, exc))
    if stat.S_ISDIR(st.st_mode):
        folder = _diffusers_folder(path)
        return folder or FoundFile(
            path=path, size=0, mtime_ns=0, inode=st.st_ino, device=st.st_dev, is_folder=True
        )
    kind = special_kind(st.st_mode)
    if kind is not None:
        return _unreadable_file(path, f"{kind}, not a file; it was not opened")
    try:
        names = frozenset(entry.name for entry in os.scandir(path.parent))
    except OSError:
        names = frozenset()
    return _found_file(path, st, names)


def _found_file(path: Path, st: os.stat_result, names: frozenset[str]) -> FoundFile:
    """A model file with its sidecars, found among ``names`` (its folder's listing).

    ``siblings`` keeps only the names a sidecar reader may ask about (``sidecar_names``), not the whole
    listing: a file is sent to a worker process with its siblings, and a folder of thousands of models
    would otherwise send thousands of names with each of them.
    """
    sidecars = _sidecar_names(path.name, names)
    if not sidecars:
        return FoundFile(
            path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino, device=st.st_dev
        )
    newest, odd = _sidecar_stats(str(path.parent), sidecars)
    if odd:
        names = names - {name for name, _ in odd}
        sidecars = [name for name in sidecars if name in names]
    return FoundFile(
        path=path,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        inode=st.st_ino,
        device=st.st_dev,
        siblings=frozenset(name for name in sidecar_names(path) if name in names) if sidecars else None,
        sidecar_mtime_ns=newest,
        odd_sidecars=odd,
    )


def _sidecar_names(name: str, names: frozenset[str]) -> list[str]:
    """The sidecars among ``names`` of the model file called ``name`` (its stem plus a sidecar suffix)."""
    dot = name.rfind(".")
    stem = name[:dot] if 0 < dot < len(name) - 1 else ""  # ``name[: -len(Path.suffix)]``, as it always was
    return [stem + suffix for suffix in SIDECAR_SUFFIXES if stem + suffix in names]


def _sidecar_stats(folder: str, names: list[str]) -> tuple[int, tuple[tuple[str, str], ...]]:
    """The newest mtime among the sidecars ``names``, and those that are no regular file (with why).

    One ``stat`` per sidecar, which the rescan check needs anyway; a named pipe called
    ``model.civitai.info`` is found here and never reaches a reader.
    """
    newest = 0
    odd: list[tuple[str, str]] = []
    for name in names:
        path = os.path.join(folder, name)  # noqa: PTH118 - strings: a rescan builds no Path per sidecar
        try:
            st = os.stat(path)  # noqa: PTH116
        except OSError as exc:
            odd.append((name, unreadable_reason(Path(path), exc)))
            continue
        if not stat.S_ISREG(st.st_mode):
            kind = special_kind(st.st_mode)
            if kind is not None:
                odd.append((name, f"{kind}, not a file; it was not opened"))
                continue
        newest = max(newest, st.st_mtime_ns)
    return newest, tuple(odd)


def _names_a_model_class(folder: Path, names: frozenset[str]) -> bool:
    """A component folder holding only ``config.json`` that names its model class (weights to come).

    Asked of a library root only: an install's own ``config.json`` (A1111's settings) names no class,
    and an unreadable one leaves the root an ordinary folder to walk.
    """
    if "config.json" not in names:
        return False
    try:
        config = json.loads(read_regular(folder / "config.json", MAX_CONFIG_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError, FormatError):
        return False
    return isinstance(config, dict) and names_model_class(config)


def _diffusers_folder(folder: Path) -> FoundFile | None:
    """A diffusers folder is one asset: its size is the sum of its files, its mtime the newest one.

    A file inside that is no regular file (a named pipe, a link to nothing, as a half-downloaded Hugging
    Face snapshot leaves) makes the folder unreadable, with that file named: it is never opened, and
    the folder does not silently vanish from the library.
    """
    size = 0
    newest = 0
    odd: str | None = None
    try:
        folder_stat = folder.stat()
    except OSError:
        return None
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath) / name
            try:
                st = path.stat()
            except OSError as exc:
                odd = odd or f"{path.relative_to(folder)}: {unreadable_reason(path, exc)}"
                continue
            kind = special_kind(st.st_mode)
            if kind is not None:
                odd = odd or f"{path.relative_to(folder)}: {kind}, not a file; it was not opened"
                continue
            size += st.st_size
            newest = max(newest, st.st_mtime_ns)
    return FoundFile(
        path=folder,
        size=size,
        mtime_ns=newest,
        inode=folder_stat.st_ino,
        device=folder_stat.st_dev,
        is_folder=True,
        unreadable=shown(odd) if odd else None,
    )


@dataclass(frozen=True, slots=True)
class Reading:
    """What reading one path yielded: its format, its health and, when it could be read, what it is."""

    format: FileFormat
    status: FileStatus
    reason: str | None = None
    identification: Identification | None = None


def read_and_identify(path: Path, *, is_folder: bool = False) -> Reading:
    """Read the header of ``path`` and identify it; every failure becomes a status with a reason.

    The one place where a file's bytes turn into a status, for the scan and for ``inspect`` alike. A
    file that is no regular file is never opened. Nothing raises (but ``KeyboardInterrupt``): a reader
    that meets something it did not expect says so on the file, and the scan goes on to the next one.
    """
    try:
        # A FIFO, socket or device named like a model is never opened (one stat, then one open).
        header = read_header(path) if is_folder else read_file_header(path)
    except Exception as exc:  # one file's failure, whatever it is, is that file's status
        status, reason = status_of_failure(path, exc)
        return Reading(FileFormat.DIFFUSERS if is_folder else format_from_suffix(path), status, reason)
    try:
        identification = _identify()(header, read_tensor=_tensor_reader(header))
    except Exception as exc:  # the header was read; what it holds made identification fail
        status, reason = status_of_failure(path, exc, step="identify")
        return Reading(header.format, status, reason)
    return Reading(header.format, FileStatus.OK, None, identification)


@cache
def _identify() -> Callable[..., Identification]:
    """``core.identify.identify``: the matchers are loaded by the first file read, not by ``show``."""
    from core.identify import identify

    return identify


def status_of_failure(
    path: Path, exc: BaseException, *, step: Literal["read", "identify"] = "read"
) -> tuple[FileStatus, str]:
    """The status and the reason a user reads for ``exc`` met while reading ``path``.

    ``unreadable``: the path could not be opened (a special file, a broken link, no permission);
    ``unsafe``: the file would run code or exhaust memory; ``corrupt``: its bytes are not a model.
    An error no reader anticipated is said as what it is, with its type, so it can be reported.
    """
    if isinstance(exc, UnreadableFileError):
        return FileStatus.UNREADABLE, shown(exc.reason)
    if isinstance(exc, UnsafeFileError):
        return FileStatus.UNSAFE, shown(exc.reason)
    if isinstance(exc, FormatError):
        return FileStatus.CORRUPT, shown(exc.reason)
    if isinstance(exc, OSError):
        return FileStatus.UNREADABLE, shown(unreadable_reason(path, exc))
    if isinstance(exc, MemoryError):
        return FileStatus.UNSAFE, "reading it needed more memory than there is (resource exhaustion)"
    if isinstance(exc, RecursionError):
        return FileStatus.UNSAFE, "its header is nested too deeply to read (resource exhaustion)"
    message = str(exc)
    detail = shown(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)[:300]
    return FileStatus.CORRUPT, f"Atelier could not {step} this file ({detail}); it may be damaged"


def examine(found: FoundFile) -> ScannedFile:
    """Read, identify and collect the sidecars of one file. Never raises for a bad file.

    Each step stands alone: a sidecar or preview that cannot be read is a sidecar problem
    (``SidecarInfo.errors``) and leaves the model's own status as its bytes say.
    """
    if found.unreadable is not None:
        file_format = FileFormat.DIFFUSERS if found.is_folder else format_from_suffix(found.path)
        reading = Reading(file_format, FileStatus.UNREADABLE, found.unreadable)
    else:
        reading = read_and_identify(found.path, is_folder=found.is_folder)
    sidecars = _sidecars_of(found)
    return ScannedFile(
        path=str(found.path),
        size=found.size,
        mtime_ns=found.mtime_ns,
        inode=found.inode,
        device=found.device,
        format=reading.format,
        status=reading.status,
        status_reason=reading.reason,
        identification=_with_label(reading.identification, sidecars),
        sidecars=sidecars,
        sidecar_mtime_ns=found.sidecar_mtime_ns,
    )


def _with_label(identification: Identification | None, sidecars: SidecarInfo | None) -> Identification | None:
    """The identification completed by the Civitai base-model label of the sidecars, where the tensors
    leave a LoRA's family open and the label agrees with them (``core.identify.labels``)."""
    if identification is None or sidecars is None or identification.kind is not AssetKind.LORA:
        return identification
    label = sidecars.base_model_label or (sidecars.civitai.base_model if sidecars.civitai else None)
    if not label:
        return identification
    from core.identify.labels import with_base_model_label

    return with_base_model_label(identification, label)


def _sidecars_of(found: FoundFile) -> SidecarInfo | None:
    """What the sidecars beside ``found`` say; a failure is a line in ``errors``, never the model's."""
    odd = tuple(f"{name}: {shown(why)}" for name, why in found.odd_sidecars)
    if found.siblings is None or found.unreadable is not None:
        return SidecarInfo(errors=odd) if odd else None
    try:
        info = read_sidecars(found.path, found.siblings)
    except Exception as exc:  # a neighbour file never fails the model
        detail = shown(f"{type(exc).__name__}: {exc}")[:300]
        return SidecarInfo(errors=(*odd, f"the sidecars could not be read ({detail})"))
    return replace(info, errors=(*odd, *info.errors)) if odd else info


def sidecar_problems(path: Path) -> tuple[str, ...]:
    """Why sidecars beside the model file at ``path`` cannot be used, read now, as a scan would say it.

    The catalog keeps what sidecars say, not their failures (a named pipe, a NaN, a 5,000-digit id):
    ``show`` and the details pane read them again here so the problem stays visible after the first
    scan. Bounded like the scan: special files are never opened, each sidecar is read up to its limit.
    Nothing for a folder, a file that is gone or one that cannot be opened (its own status says why).
    """
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return ()
        names = frozenset(entry.name for entry in os.scandir(path.parent))
    except OSError:
        return ()
    info = _sidecars_of(_found_file(path, st, names))
    return tuple(shown(line) for line in info.errors) if info is not None else ()


def format_from_suffix(path: Path) -> FileFormat:
    """The format a file's extension promises (safetensors for anything else), before it is read."""
    return FORMAT_BY_SUFFIX.get(path.suffix.lower(), FileFormat.SAFETENSORS)


def _tensor_reader(header: ModelHeader) -> Callable[[str], NDArray[np.float64]] | None:
    if header.format is not FileFormat.SAFETENSORS:
        return None

    def read(name: str) -> NDArray[np.float64]:
        from core.formats.tensor_data import read_tensor

        return read_tensor(header, name)

    return read
