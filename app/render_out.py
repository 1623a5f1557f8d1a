"""Where ``render --out`` and ``grid --out`` copy their images: never over a file that is there already.

A file named by ``--out`` that exists is refused before anything renders: it may be a model of the
library, a text file or an earlier render, and a copy over it loses it for good. ``--overwrite`` asks
to replace one, and even then only a PNG that neither the catalog nor the gallery holds: the images of
the renders folder and the library's files are never written over. ``--out FOLDER`` gives each image
its library name there, numbered (``name (1).png``) when that is taken, as downloads name their files
(:func:`core.download_names.free_path`). A file that appears at the name between the check and the copy
is not written over either: the copy takes the next free name.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from catalog.library import Library
from core.download_names import free_path
from core.formats.sidecar_writing import write_png_atomic

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class OutError(ValueError):
    """``--out`` names a file that must not be written over; the message says what to give instead."""


def batch_paths(target: Path, count: int) -> list[Path]:
    """``--out FILE``'s paths for ``count`` images: ``FILE``, then ``name-1.png``, ``name-2.png``..."""
    suffix = target.suffix or ".png"
    return [
        target if index == 0 else target.with_name(f"{target.stem}-{index}{suffix}") for index in range(count)
    ]


def check_out(target: Path | None, count: int, library: Library, *, overwrite: bool) -> None:
    """Raise :class:`OutError` when writing ``count`` images to ``--out target`` would replace a file
    it may not; called before the render, so a refused ``--out`` costs no render."""
    if target is None:
        return
    target = target.expanduser()
    if target.is_dir():
        return  # a folder: each image takes a free name in it
    parent = target.parent
    if parent.exists() and not parent.is_dir():
        raise OutError(f"--out {target}: {parent} is a file, not a folder")
    for path in batch_paths(target, count):
        refusal = _refusal(path, library, overwrite=overwrite)
        if refusal is not None:
            raise OutError(f"--out {path}: {refusal}")


def copy_out(target: Path | None, images: Sequence[Path], library: Library, *, overwrite: bool) -> list[Path]:
    """Copy each of ``images`` (the library's renders) to ``--out``; the paths written, in order."""
    if target is None:
        return list(images)
    target = target.expanduser()
    if target.is_dir():
        return [_into_folder(image, target) for image in images]
    target.parent.mkdir(parents=True, exist_ok=True)
    copies: list[Path] = []
    for image, path in zip(images, batch_paths(target, len(images)), strict=True):
        if overwrite and path.exists() and _refusal(path, library, overwrite=True) is None:
            _replace(image, path)
            copies.append(path)
        else:
            copies.append(_write_new(image, path))
    return copies


def _refusal(path: Path, library: Library, *, overwrite: bool) -> str | None:
    """Why ``path`` may not be written, or None (it is free, or ``overwrite`` and a PNG of nobody's)."""
    if not os.path.lexists(path):
        return None
    instead = "give a folder (the image takes a free name there) or another file name"
    if not path.is_file():
        return f"there is something there that is not a file; {instead}"
    if _held_by_library(path, library):
        return f"a file of the library is there and is never written over; {instead}"
    if not _is_png(path):
        return f"a file that is not a PNG is there and is never written over; {instead}"
    if not overwrite:
        return f"the file exists; {instead}, or add --overwrite to replace it"
    return None


def _held_by_library(path: Path, library: Library) -> bool:
    """Whether the catalog lists ``path`` (as given or with its links resolved) or it is a gallery image."""
    resolved = path.resolve()
    if resolved.is_relative_to(library.renders_dir.resolve()):
        return True
    return any(library.asset_id_at(str(form)) is not None for form in {path.absolute(), resolved})


def _is_png(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE
    except OSError:
        return False


def _into_folder(image: Path, folder: Path) -> Path:
    """``image`` copied into ``folder`` under its library name, or a free one; the renders folder itself
    already holds it."""
    same = folder / image.name
    if same.exists() and same.samefile(image):
        return same
    return _write_new(image, free_path(folder, image.name))


def _write_new(image: Path, path: Path) -> Path:
    """Copy ``image`` to ``path``, a file created here (``x`` mode: never one that exists), or to the
    next free name when a file took ``path`` since it was checked."""
    while True:
        try:
            writer = path.open("xb")
        except FileExistsError:
            path = free_path(path.parent, path.name)
            continue
        try:
            with writer, image.open("rb") as reader:
                shutil.copyfileobj(reader, writer)
        except BaseException:
            path.unlink(missing_ok=True)  # no half copy under the user's name
            raise
        return path


def _replace(image: Path, path: Path) -> None:
    """``--overwrite``: the new image takes ``path``'s place at once (``write_png_atomic``: a copy beside
    it, synced, with the replaced file's permissions, then renamed), so the old one is never half
    replaced."""
    with image.open("rb") as reader:
        write_png_atomic(path, lambda writer: shutil.copyfileobj(reader, writer))
