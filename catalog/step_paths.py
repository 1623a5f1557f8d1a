"""The paths an organize step keeps in its JSON ``detail``, in the shared form.

A step's ``source`` and ``target`` are path columns (:class:`catalog.shared_path.SharedPath`): stored
canonical, read as this machine's paths. Its ``detail`` is JSON, which no column type translates, yet a
delete keeps there what its undo needs: where the model and its companions were (``companions``,
``trashed[].original``), where the trash put them (``trashed[].trashed`` / ``.info``) and the catalog row
that goes (``snapshot``: the asset's ``path``, its previews' ``path``). Written with the deleting machine's
own paths, an undo on another machine sharing the catalog would look for ``/mnt/a/nas/sd/x.safetensors``
where it has ``Z:\\sd\\x.safetensors``. So every path in those places is written canonical
(:func:`shared`) and read back as this machine's path (:func:`local`), by the unit of work's map
(:mod:`catalog.machine_paths`), as the path columns are. A path below no shared folder (this machine's
home trash, a one-machine library) is left as it is: the map translates nothing else.

Only the keys listed here are paths; a move's ``companions`` are pairs ``[from, to]``, a delete's single
paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from catalog.machine_paths import active

_TRASHED_KEYS = ("original", "trashed", "info")
_SNAPSHOT_PATHS = {"asset": "path", "previews": "path"}


def shared(detail: Mapping[str, Any]) -> dict[str, Any]:
    """``detail`` as stored: this machine's paths made canonical."""
    paths = active()
    return _translated(detail, paths.to_canonical) if paths else dict(detail)


def local(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A stored ``detail`` with this machine's paths."""
    paths = active()
    return _translated(detail, paths.to_local) if paths else dict(detail)


def _translated(detail: Mapping[str, Any], turn: Callable[[str], str]) -> dict[str, Any]:
    def path(value: Any) -> Any:
        return turn(value) if isinstance(value, str) and value else value

    result = dict(detail)
    companions = detail.get("companions")
    if isinstance(companions, list):
        result["companions"] = [
            [path(part) for part in item] if isinstance(item, list) else path(item) for item in companions
        ]
    trashed = detail.get("trashed")
    if isinstance(trashed, list):
        result["trashed"] = [
            {key: path(value) if key in _TRASHED_KEYS else value for key, value in item.items()}
            if isinstance(item, dict)
            else item
            for item in trashed
        ]
    snapshot = detail.get("snapshot")
    if isinstance(snapshot, dict):
        result["snapshot"] = _snapshot(snapshot, path)
    return result


def _snapshot(snapshot: Mapping[str, Any], path: Callable[[Any], Any]) -> dict[str, Any]:
    result = dict(snapshot)
    for name, key in _SNAPSHOT_PATHS.items():
        rows = snapshot.get(name)
        if isinstance(rows, dict) and key in rows:
            result[name] = {**rows, key: path(rows[key])}
        elif isinstance(rows, list):
            result[name] = [
                {**row, key: path(row[key])} if isinstance(row, dict) and key in row else row for row in rows
            ]
    return result
