"""Whether a name a user typed for a rename can be the file's name, and why not in one line.

The rename dialog and ``atelier rename``/``move`` ask the same question and answer it here (the length
is checked by each: the dialog while typing, the CLI's plan with the extension it adds). A name is never
empty, a path, or ``.``/``..``. On Windows it must also be a name Windows keeps as typed: the characters
``<>:"|?*`` and control characters are refused by the disk, a reserved name (``CON``, ``nul.txt``) opens
a device, and a trailing dot or space is silently dropped, so the catalog would record a name the file
does not have. Elsewhere those are ordinary names (``:`` in a name is common on Linux) and stay allowed;
names Atelier makes itself avoid them everywhere (:mod:`core.windows_names`).

A name or folder a scan skips is refused everywhere: a hidden one (a leading ``.``, which A1111 and ComfyUI
skip as well) or an environment's or cache's folder (``venv``, ``node_modules``: :data:`core.layouts.
IGNORED_DIR_NAMES`). The file would be on disk but gone from the library at the next scan, marked
missing. :func:`refuse_skipped_targets` asks it of a move's whole destination inside its library folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePath

from core.errors import UsageError
from core.formats.reader import MODEL_EXTENSIONS
from core.layouts import TOOL_NAMES, is_ignored_dir, scanned_folders
from core.organize.errors import OrganizeError
from core.taxonomy import LibraryLayout, article
from core.windows_names import FORBIDDEN_CHARACTERS, is_reserved_name

WINDOWS_NAME_RULES = os.name == "nt"  # tests set it to check Windows' rules on Linux
SKIPPED_BY_SCANS = "scans (and A1111 and ComfyUI) skip hidden files and folders"


class NameRefusedError(OrganizeError, UsageError):
    """A name or destination the user typed that cannot hold a library file: asked differently, it works
    (the CLI exits 2, as for a wrong option)."""


def name_refusal(name: str, *, how_to_move: str) -> str | None:
    """Why ``name`` cannot be a file or folder name here, as a clause ("a name cannot contain …", no
    final period: the dialog makes it a sentence, the CLI prints it after ``atelier rename:``); None when
    it can. ``how_to_move`` says how the caller's user moves a file instead (a name with ``/`` is a path).
    """
    if not name.strip():
        return "type a name"
    if "/" in name or (WINDOWS_NAME_RULES and "\\" in name):
        separator = "/" if "/" in name else "\\"
        return f"a name cannot contain “{separator}”: to move the file, {how_to_move}"
    if "\0" in name:
        return "a name cannot contain a null character"
    if name in (".", ".."):
        return f"“{name}” is not a file name"
    if name.startswith("."):
        return f"“{name}” would be hidden: {SKIPPED_BY_SCANS}, so it would leave the library"
    return _windows_refusal(name) if WINDOWS_NAME_RULES else None


def holding_root(target: Path, roots: Iterable[Path]) -> Path | None:
    """The library folder ``target`` belongs to: the deepest of ``roots`` holding it (None: none does)."""
    return max((r for r in roots if target.is_relative_to(r)), key=lambda r: len(r.parts), default=None)


def skipped_target_refusal(target: Path, roots: Iterable[Path]) -> str | None:
    """Why a file moved to ``target`` would drop out of the library: a folder between its library folder
    (the deepest of ``roots`` holding it) and it that scans skip, or a hidden file name; None when the
    next scan finds it. A target outside every library folder is the engine's to refuse."""
    root = holding_root(target, roots)
    if root is None:
        return None
    folder = root
    for part in target.relative_to(root).parent.parts:
        folder = folder / part
        if part.startswith("."):
            return (
                f"{folder} is hidden: {SKIPPED_BY_SCANS}, so the file would leave the library: "
                "choose another folder"
            )
        if is_ignored_dir(folder):
            return (
                f"scans skip {folder} (environments, caches and trash are not searched for models), "
                "so the file would leave the library: choose another folder"
            )
    if target.name.startswith("."):
        return name_refusal(target.name, how_to_move="")
    return None


def unscanned_target_refusal(
    target: Path, root: Path, layout: LibraryLayout, scanned: Sequence[Path]
) -> str | None:
    """Why a file moved to ``target`` in the library folder ``root`` would drop out of the library: its
    tool's layout scans only ``scanned`` (:func:`core.layouts.scanned_folders`; an A1111 install only
    ``models/`` and ``embeddings/``), and the target is in none of them. None when it is.

    The folder named is the first one on the way down from ``root`` that holds no scanned folder (the one
    the user chose or the template made); a file straight in a folder above them is named by that folder.
    Names are compared casefolded: on a disk that ignores case ``Models`` is ``models``, and a check that
    errs lets a move through rather than refusing a folder that is scanned.
    """
    if not target.is_relative_to(root):
        return None  # outside this library folder: the engine's to refuse
    scanned_parts = [_folded_parts(folder) for folder in scanned]
    target_parts = _folded_parts(target)
    if any(target_parts[: len(parts)] == parts for parts in scanned_parts):
        return None
    # The models folder, and the others the install has (A1111's embeddings/, not an extension's folder
    # the user never installed).
    shown = [_shown(folder, root) for index, folder in enumerate(scanned) if index == 0 or folder.is_dir()]
    where = " or ".join(filter(None, (", ".join(shown[:-1]), shown[-1])))
    tool = f"in {article(TOOL_NAMES[layout])} {TOOL_NAMES[layout]} folder"
    folder = root
    for part in target.relative_to(root).parent.parts:
        folder = folder / part
        parts = _folded_parts(folder)
        if not any(inside[: len(parts)] == parts for inside in scanned_parts):
            return f"{folder} is not scanned {tool}: put models under {where}"
    return f"files straight in {target.parent} are not scanned {tool}: put models under {where}"


def _folded_parts(path: Path) -> tuple[str, ...]:
    return tuple(part.casefold() for part in path.parts)


def _shown(folder: Path, root: Path) -> str:
    """A scanned folder as the user finds it from their library folder (``models/``)."""
    shown = folder.relative_to(root).as_posix() if folder.is_relative_to(root) else str(folder)
    return shown + "/"


def refuse_skipped_targets(
    targets: Iterable[Path], roots: Iterable[Path], layouts: Mapping[Path, LibraryLayout] | None = None
) -> None:
    """Raise :class:`NameRefusedError` for the first target :func:`skipped_target_refusal` refuses, or,
    with each root's layout in ``layouts``, :func:`unscanned_target_refusal`, before anything moves."""
    roots = list(roots)
    scanned: dict[Path, list[Path]] = {}  # the layout's folders of each root, found once per call
    for target in targets:
        refusal = skipped_target_refusal(target, roots)
        root = holding_root(target, roots)
        if refusal is None and layouts and root is not None and root in layouts:
            if root not in scanned:
                scanned[root] = scanned_folders(root, layouts[root])
            refusal = unscanned_target_refusal(target, root, layouts[root], scanned[root])
        if refusal is not None:
            raise NameRefusedError(refusal)


def _windows_refusal(name: str) -> str | None:
    forbidden = FORBIDDEN_CHARACTERS.search(name)
    if forbidden is not None:
        character = forbidden.group()
        shown = (
            f"“{character}”" if character.isprintable() else f"the control character {ord(character):#04x}"
        )
        return f'Windows does not allow {shown} in a name (nor any of < > : " | ? * or control characters)'
    if is_reserved_name(name):
        device = name.split(".", 1)[0].rstrip(" ")
        return f"Windows keeps “{device}” for a device, with any extension: choose another name"
    if name.endswith((" ", ".")):
        return "Windows drops a dot or space at the end of a name: remove it"
    return None


def with_model_extension(current: str, typed: str) -> str:
    """The name a rename gives the file now called ``current``: ``typed``, with the model's extension
    added when the user left it out (``detail`` for ``detail.safetensors``). Without it the file is no
    model to Atelier, A1111 or ComfyUI: it dropped out of the library at the next scan. A name with
    another model extension is left as typed for the caller to refuse (converting is not renaming)."""
    suffix = PurePath(current).suffix
    if suffix.lower() not in MODEL_EXTENSIONS or PurePath(typed).suffix.lower() in MODEL_EXTENSIONS:
        return typed
    return typed + suffix
