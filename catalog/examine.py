"""The scanner's per-file work: finding model files on disk and reading one of them.

Kept apart from the scanner (and free of database imports) because the scanner runs ``examine`` in
worker processes: each worker imports only this module and what it needs to parse headers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from catalog.places import LibraryPlaces, is_under
from catalog.records import ScannedFile
from core.formats.diffusers_folder import looks_like_diffusers, names_model_class
from core.formats.model_file import CorruptFileError, FormatError, ModelHeader, UnsafeFileError
from core.formats.reader import read_header
from core.formats.sidecars import read_sidecars
from core.formats.tensor_data import read_tensor
from core.identify import identify
from core.jobs import CancelToken
from core.layouts import MODEL_FILE_SUFFIXES, is_ignored_dir, is_ignored_file
from core.taxonomy import FileFormat, FileStatus

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

    @property
    def has_sidecars(self) -> bool:
        return self.siblings is not None

    @property
    def stat_key(self) -> tuple[int, int, int]:
        return (self.size, self.mtime_ns, self.inode)


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
    """
    walked = [os.path.realpath(root)]  # real folders this walk covers: links into them add nothing
    visited: set[tuple[int, int]] = set()  # (device, inode) of each folder listed: each is listed once
    stack = [root]
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
        for entry in entries:
            try:
                if entry.is_symlink():
                    if not _follow_link(entry, library, walked):
                        continue
                    if entry.is_dir():
                        if not is_ignored_dir(Path(entry.path)):
                            stack.append(Path(entry.path))
                        continue
                elif entry.is_dir(follow_symlinks=False):
                    if not is_ignored_dir(Path(entry.path)):
                        stack.append(Path(entry.path))
                    continue
                if not entry.is_file():
                    continue
            except OSError:
                continue
            path = Path(entry.path)
            if path.suffix.lower() not in MODEL_FILE_SUFFIXES or is_ignored_file(path):
                continue
            try:
                st = entry.stat()
            except OSError:
                continue
            yield _found_file(path, st, names)


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


def _found_file(path: Path, st: os.stat_result, names: frozenset[str]) -> FoundFile:
    """A model file with its sidecars, found among ``names`` (its folder's listing)."""
    stem = path.name[: -len(path.suffix)]
    sidecars = [stem + suffix for suffix in SIDECAR_SUFFIXES if stem + suffix in names]
    return FoundFile(
        path=path,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        inode=st.st_ino,
        device=st.st_dev,
        siblings=names if sidecars else None,
        sidecar_mtime_ns=_newest_mtime(path.parent, sidecars),
    )


def _newest_mtime(folder: Path, names: list[str]) -> int:
    newest = 0
    for name in names:
        try:
            newest = max(newest, (folder / name).stat().st_mtime_ns)
        except OSError:
            continue
    return newest


def _names_a_model_class(folder: Path, names: frozenset[str]) -> bool:
    """A component folder holding only ``config.json`` that names its model class (weights to come).

    Asked of a library root only: an install's own ``config.json`` (A1111's settings) names no class,
    and an unreadable one leaves the root an ordinary folder to walk.
    """
    if "config.json" not in names:
        return False
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and names_model_class(config)


def _diffusers_folder(folder: Path) -> FoundFile | None:
    """A diffusers folder is one asset: its size is the sum of its files, its mtime the newest one."""
    size = 0
    newest = 0
    try:
        for dirpath, _dirnames, filenames in os.walk(folder):
            for name in filenames:
                st = (Path(dirpath) / name).stat()
                size += st.st_size
                newest = max(newest, st.st_mtime_ns)
        folder_stat = folder.stat()
    except OSError:
        return None
    return FoundFile(
        path=folder,
        size=size,
        mtime_ns=newest,
        inode=folder_stat.st_ino,
        device=folder_stat.st_dev,
        is_folder=True,
    )


def examine(found: FoundFile) -> ScannedFile:
    """Read, identify and collect the sidecars of one file. Never raises for a bad file."""
    status = FileStatus.OK
    reason: str | None = None
    identification = None
    file_format = FileFormat.DIFFUSERS if found.is_folder else _format_from_suffix(found.path)
    try:
        header = read_header(found.path)
        file_format = header.format
        identification = identify(header, read_tensor=_tensor_reader(header))
    except UnsafeFileError as exc:
        status, reason = FileStatus.UNSAFE, exc.reason
    except CorruptFileError as exc:
        status, reason = FileStatus.CORRUPT, exc.reason
    except FormatError as exc:
        status, reason = FileStatus.CORRUPT, exc.reason
    except OSError as exc:
        status, reason = FileStatus.CORRUPT, f"cannot read the file: {exc.strerror or exc}"
    sidecars = read_sidecars(found.path, found.siblings) if found.siblings is not None else None
    return ScannedFile(
        path=str(found.path),
        size=found.size,
        mtime_ns=found.mtime_ns,
        inode=found.inode,
        device=found.device,
        format=file_format,
        status=status,
        status_reason=reason,
        identification=identification,
        sidecars=sidecars,
        sidecar_mtime_ns=found.sidecar_mtime_ns,
    )


def _format_from_suffix(path: Path) -> FileFormat:
    return FORMAT_BY_SUFFIX.get(path.suffix.lower(), FileFormat.SAFETENSORS)


def _tensor_reader(header: ModelHeader) -> Callable[[str], NDArray[np.float64]] | None:
    if header.format is not FileFormat.SAFETENSORS:
        return None
    return lambda name: read_tensor(header, name)
