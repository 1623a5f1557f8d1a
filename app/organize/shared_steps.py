"""Undo on a catalog several machines share (``catalog.machine_paths``).

A step's paths are stored in the shared form (``catalog.step_paths``), so machine B undoes a delete or a
move machine A made in a shared folder at B's own paths. Two things can still stand in the way, and each
is said in one line instead of a file looked for in the wrong place:

* the shared folder is not mapped on this machine: its stored path is A's, which on B may be nothing or
  another folder (:func:`refuse_unmapped` names ``roots map``);
* the file went to a trash this machine cannot reach: A's home trash (a share's own ``.Trash-<uid>`` is
  reached through the share by every machine). The delete records the machine that made it
  (:func:`deleting_machine`), so the refusal names it (:func:`out_of_reach`), before the undo runs
  (:func:`refuse_trash_elsewhere`: nothing done, nothing recorded).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from catalog.journal import NewStep
from catalog.library import Library
from catalog.places import is_under
from core.organize.errors import OrganizeError
from core.shell_words import map_command

DELETED_ON = "deleted_on"


def refuse_unmapped(library: Library, steps: Sequence[NewStep]) -> None:
    """Refuse steps whose files lie in a shared folder this machine never mapped."""
    unplaced = [root for root in library.roots() if not root.placed_here]
    if not unplaced:
        return
    for step in steps:
        for path in (step.source, step.target):
            root = next((r for r in unplaced if path and is_under(path, r.canonical_path or r.path)), None)
            if root is not None:
                raise OrganizeError(
                    f"{Path(path).name} is in the shared folder {root.name!r}, which is not mapped on this "
                    "machine: say where it is here "
                    f"({map_command(root.name)}), then undo again"
                )


def refuse_trash_elsewhere(library: Library, steps: Sequence[NewStep]) -> None:
    """Refuse, before anything is run or recorded, an undo whose deleted file is in a trash only the
    machine that deleted it reaches (:func:`out_of_reach`): one line, no operation in the history."""
    for step in steps:
        listed = step.detail.get("trashed") or () if step.action == "restore" else ()
        if not listed:
            continue
        first = listed[0]
        trashed, original = str(first.get("trashed") or ""), str(first.get("original") or step.source)
        if (trashed and os.path.lexists(trashed)) or os.path.lexists(original):
            continue
        elsewhere = out_of_reach(library, Path(original).name, step.detail)
        if elsewhere is not None:
            raise OrganizeError(elsewhere)


def deleting_machine(library: Library) -> dict[str, str] | None:
    """What a delete step records of the machine whose trash got the files (None: no machine)."""
    machine = library.machine
    return None if machine is None else {"id": machine.id, "name": machine.name}


def out_of_reach(library: Library, name: str, detail: Mapping[str, Any]) -> str | None:
    """Why ``name`` cannot be found in a trash here when another machine deleted it, else None."""
    deleted_on = detail.get(DELETED_ON)
    machine = library.machine
    if not isinstance(deleted_on, dict) or machine is None or deleted_on.get("id") == machine.id:
        return None
    return (
        f"{name} is not in a trash this machine can reach: it was deleted on {deleted_on.get('name')}, "
        "whose trash holds it; undo it there (or restore it from that trash)"
    )
