"""Which library folders a mirror on this machine leaves as they are: those it cannot reach here.

A mirror holds links or copies of the library's files at this machine's paths. On shared storage a
folder may be out of this machine's reach while the catalog still lists its files for every machine:

* another machine's folder this machine never mapped (``roots map``): its stored path is that machine's
  (``/mnt/nas/sd`` of a Linux machine on a Mac), so a link made to it points nowhere here, or somewhere
  else entirely;
* a folder that is not there (an unplugged drive), or empty while the catalog lists files in it (a share
  not mounted);
* a folder mapped to the wrong place (``roots map --force``): none of the files the catalog lists in it
  is there.

Planning such a folder's files would remove every entry made for them (their sources look gone) and
make new ones from the wrong place. So a sync leaves that folder's files out of the plan **and** leaves
their recorded entries alone, and its report names the folder and why (``MirrorReport.held``). Once the
folder is reachable again, the next sync brings them up to date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from catalog.known_folder import MAP_SAMPLE, any_present
from catalog.mirrors import SharedFile
from catalog.records import RootRecord
from core.organize.mirror_plan import RecordedEntry
from core.shell_words import map_command

NOT_MAPPED = "not mapped on this machine"


def _label(root: RootRecord) -> str:
    return repr(root.name) if root.name else str(root.path)


@dataclass
class HeldFolders:
    """The library folders (this machine's path for each) a sync leaves as they are, with why."""

    reasons: dict[str, str] = field(default_factory=dict)  # folder path -> "'NAS' (not mapped ...)"
    assets: set[int] = field(default_factory=set)  # the held folders' files (their entries are kept)
    _prefixes: tuple[str, ...] = ()

    def hold(self, folder: str, why: str) -> None:
        self.reasons[folder] = why
        self._prefixes = tuple(path.rstrip("/\\") + sep for path in self.reasons for sep in ("/", "\\"))

    def __bool__(self) -> bool:
        return bool(self.reasons)

    def holds(self, path: Path) -> bool:
        """Whether ``path`` (a library file, or an entry's source) lies in a held folder."""
        return bool(self._prefixes) and str(path).startswith(self._prefixes)

    def lines(self) -> list[str]:
        return list(self.reasons.values())


def out_of_reach(roots: Sequence[RootRecord]) -> HeldFolders:
    """The folders a sync leaves alone from what the roots alone say (no file is looked at): not mapped
    here, not there, or empty while the catalog lists files in it."""
    held = HeldFolders()
    for root in roots:
        if not root.placed_here:
            held.hold(root.path, f"{_label(root)} ({NOT_MAPPED}: {map_command(root.name)})")
            continue
        if not root.file_count:
            continue
        folder = Path(root.path)
        if not folder.is_dir():
            held.hold(
                root.path, f"{_label(root)} (its folder {folder} is not there: is the drive connected?)"
            )
            continue
        try:
            empty = next(folder.iterdir(), None) is None
        except OSError:
            empty = False
        if empty:
            held.hold(root.path, f"{_label(root)} (its folder {folder} is empty: is the share mounted?)")
    return held


def without_wrong_mappings(
    held: HeldFolders, roots: Sequence[RootRecord], shared: Sequence[SharedFile]
) -> list[SharedFile]:
    """``shared`` without the files of held folders (noted in ``held.assets``); a folder this machine
    reaches through a mapping where none of its first files is there (mapped to the wrong place) is held
    too."""
    mapped = {root.path: root for root in roots if root.path != (root.canonical_path or root.path)}
    samples: dict[str, list[SharedFile]] = {}
    for item in shared:
        root = str(item.root_path) if item.root_path is not None else ""
        if root in mapped and not held.holds(item.path):
            found = samples.setdefault(root, [])
            if len(found) < MAP_SAMPLE:
                found.append(item)
    for folder, items in samples.items():
        if not any_present((str(item.path), item.identity.size, item.is_dir) for item in items):
            held.hold(
                folder,
                f"{_label(mapped[folder])} (none of its files is in {folder}: mapped to the wrong folder? "
                f"{map_command(mapped[folder].name)})",
            )
    if not held:
        return list(shared)
    kept = []
    for item in shared:
        if held.holds(item.path):
            held.assets.add(item.asset_id)
        else:
            kept.append(item)
    return kept


def entries_kept(held: HeldFolders, recorded: Iterable[RecordedEntry]) -> list[RecordedEntry]:
    """The recorded entries a sync may plan: those of a file not in a held folder. An entry is this
    machine's path as it was made (a mapping changed since says nothing of it): its file decides, else
    its source's folder."""
    if not held:
        return list(recorded)
    return [
        entry
        for entry in recorded
        if entry.asset_id not in held.assets and not (entry.asset_id is None and held.holds(entry.source))
    ]
