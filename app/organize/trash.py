"""The system trash: send files there (send2trash) and, on freedesktop systems, find and restore them.

send2trash puts a file in the trash the way the desktop does, but does not say where; undo needs that.
The freedesktop trash specification makes it findable: ``<trash>/info/<name>.trashinfo`` holds the
original ``Path=`` (URL-quoted; relative to the trash's top folder for a trash on another volume) and
``<trash>/files/<name>`` the file itself. So after trashing, :func:`send_to_trash` looks up the entry whose
``Path`` is the original (the newest one when a file of that name was trashed before) and returns it, and
:func:`restore` renames it back, never over an existing file.

Trash folders looked at, as send2trash chooses them: ``$XDG_DATA_HOME/Trash`` (default
``~/.local/share/Trash``) for files on the home disk, else ``<mount>/.Trash/<uid>`` or
``<mount>/.Trash-<uid>`` on the file's own volume. On macOS and Windows files still go to the system trash,
but undo of a delete is refused with a clear line.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from core.organize.errors import OrganizeError

INFO_SUFFIX = ".trashinfo"


@dataclass(frozen=True, slots=True)
class TrashedFile:
    """Where the trash put one file: ``trashed`` (under ``files/``) and its ``info`` record."""

    original: str
    trashed: str
    info: str

    def to_json(self) -> dict[str, str]:
        return {"original": self.original, "trashed": self.trashed, "info": self.info}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> TrashedFile:
        return cls(original=data["original"], trashed=data["trashed"], info=data["info"])


def restorable() -> bool:
    """Whether trashed files can be found again here (the freedesktop trash: Linux and the BSDs)."""
    return not (sys.platform == "darwin" or sys.platform.startswith("win"))


def send_to_trash(path: Path) -> TrashedFile | None:
    """Send ``path`` (a file or folder) to the system trash; returns where it went when that is knowable."""
    from send2trash import send2trash

    from app.organize.fileops import read_only_file_system

    if read_only_file_system(path.parent):  # send2trash would say "Permission denied", a wrong lead
        raise OrganizeError(f"{path} is on a read-only file system: mount it writable to delete it")
    send2trash(str(path))
    return locate(path) if restorable() else None


def locate(original: Path) -> TrashedFile | None:
    """The newest trash entry of ``original`` whose file is still in the trash, or None."""
    best: tuple[str, TrashedFile] | None = None
    prefix = original.name.split(".", 1)[0]
    for trash, top in _trash_folders(original):
        info_dir = trash / "info"
        try:
            names = [
                name
                for name in (item.name for item in info_dir.iterdir())
                if name.endswith(INFO_SUFFIX) and name.startswith(prefix)
            ]
        except OSError:
            continue
        for name in names:
            entry = _read_info(info_dir / name, top)
            if entry is None or entry[0] != original:
                continue
            trashed = trash / "files" / name[: -len(INFO_SUFFIX)]
            if not os.path.lexists(trashed):
                continue
            found = TrashedFile(str(original), str(trashed), str(info_dir / name))
            if best is None or entry[1] > best[0]:
                best = (entry[1], found)
    return best[1] if best else None


def restore(entry: TrashedFile) -> None:
    """Put a trashed file back where it was; refuses when something stands there now."""
    original, trashed = Path(entry.original), Path(entry.trashed)
    if not entry.trashed:
        raise OrganizeError(
            f"where {original.name} went in the trash is not known: restore it from the trash"
        )
    if os.path.lexists(original):
        raise OrganizeError(f"{original} exists again: the trashed copy stays in the trash")
    if not os.path.lexists(trashed):
        raise OrganizeError(f"{original.name} is no longer in the trash (was it emptied?)")
    original.parent.mkdir(parents=True, exist_ok=True)
    from app.organize.fileops import move_path

    move_path(trashed, original)
    Path(entry.info).unlink(missing_ok=True)


def _read_info(info: Path, top: Path) -> tuple[Path, str] | None:
    """(original path, deletion date) from a ``.trashinfo`` file, or None when it is unreadable."""
    try:
        text = info.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    path: str | None = None
    date = ""
    for line in text.splitlines():
        if line.startswith("Path="):
            path = unquote(line[5:].strip(), errors="surrogateescape")
        elif line.startswith("DeletionDate="):
            date = line[13:].strip()
    if not path:
        return None
    found = Path(path)
    return (found if found.is_absolute() else top / found), date


def _trash_folders(original: Path) -> list[tuple[Path, Path]]:
    """(trash folder, top folder its relative paths start from) for each trash ``original`` may be in."""
    data_homes = [Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share").expanduser()]
    loaded = sys.modules.get("send2trash.plat_other")
    if loaded is not None:  # send2trash read $XDG_DATA_HOME once, at import
        data_homes.append(Path(os.fsdecode(loaded.XDG_DATA_HOME)))
    folders = [(home / "Trash", home) for home in data_homes]
    mount = _mount_point(original.parent)
    uid = str(os.getuid()) if hasattr(os, "getuid") else ""
    folders += [(mount / ".Trash" / uid, mount), (mount / f".Trash-{uid}", mount)]
    unique: dict[Path, tuple[Path, Path]] = {}
    for trash, top in folders:
        unique.setdefault(trash, (trash, top))
    return list(unique.values())


def _mount_point(path: Path) -> Path:
    current = Path(os.path.realpath(path))
    while not os.path.ismount(current) and current.parent != current:
        current = current.parent
    return current
