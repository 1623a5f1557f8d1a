"""Which machine this profile runs on, for a catalog shared by several (``catalog.machine_paths``).

The id is a UUID made the first time a catalog is opened: it stays the same when the host is renamed or
its network address changes, and two profiles on one computer are two machines (each may mount the
shared store elsewhere). The name shown in listings is the host name.

The id is kept in its own small file in the data folder (``machine-id``), created in one step that fails
when the file is there already (``O_EXCL``): two commands started at once on a new data folder used to
each write their own id into ``settings.json``, the last write won, and the folders the first had mapped
were "not mapped on this machine" from then on. Now the first process to create the file wins and the
others read its id. A damaged ``settings.json`` (reset to defaults) no longer takes the id with it
either. A profile from before the file keeps its id: it is adopted from ``settings.json`` (or from
``settings.json.bad``, where a damaged settings file was moved), and it is still written to
``settings.json`` too, for an older Atelier using the same data folder.

A read-only data folder cannot keep a new id, so there the id is derived from the host name and the data
folder: the same on every run, and no write.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from catalog.machine_paths import Machine

if TYPE_CHECKING:
    from app.live_settings import LiveSettings

ID_FILE = "machine-id"
# Where a damaged settings.json is moved (app.settings.SettingsStore.load): an older profile's id is there.
DAMAGED_SETTINGS = "settings.json.bad"
# How long a reader waits for the process that has just created the id file to write the id into it.
WRITE_WAIT_S = 2.0
_ID_IN_TEXT = re.compile(r'"machine_id"\s*:\s*"([0-9a-fA-F-]{32,36})"')


def host_name() -> str:
    return platform.node() or "this computer"


def this_machine(settings: LiveSettings, data_dir: Path) -> Machine:
    """This profile's machine: its id read from the data folder's id file, else made (or adopted from an
    older profile's settings) and kept there; ``settings.json`` gets a copy (a failed save is harmless:
    the file holds the id)."""
    name = host_name()
    path = data_dir / ID_FILE
    found = _read_id(path)
    if found is None:
        earlier = _settings_id(settings, data_dir)
        if settings.read_only:
            fallback = str(uuid.uuid5(uuid.NAMESPACE_URL, f"atelier:{name}:{data_dir}"))
            return Machine(earlier or fallback, name)
        found = _keep_id(path, earlier or str(uuid.uuid4()))
    if settings.machine_id != found and not settings.read_only:
        settings.machine_id = found
        with contextlib.suppress(OSError):
            settings.save()
    return Machine(found, name)


def _keep_id(path: Path, candidate: str) -> str:
    """Write ``candidate`` to the id file unless another process created it first; the id that won.

    The file is created with ``O_EXCL``: of processes starting at once exactly one creates it, and every
    other one reads its id (waiting the moment it takes to be written). A file left empty or damaged (a
    crash right after creating it) is replaced. An id that cannot be written at all is used for this run.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        deadline = time.monotonic() + WRITE_WAIT_S
        while time.monotonic() < deadline:
            found = _read_id(path)
            if found is not None:
                return found
            time.sleep(0.02)
        return _replace_damaged(path, candidate)
    except OSError:
        return candidate
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(candidate + "\n")
        file.flush()
        os.fsync(file.fileno())
    return candidate


def _replace_damaged(path: Path, candidate: str) -> str:
    """The id file is there but holds no id (a crash between creating and writing it): write one."""
    from core.replace_file import replace_file

    temporary = path.with_name(f".{ID_FILE}-{uuid.uuid4().hex}")
    try:
        temporary.write_text(candidate + "\n", encoding="ascii")
        replace_file(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
    return _read_id(path) or candidate


def _read_id(path: Path) -> str | None:
    """The id in the id file; None when there is none (no file, an empty or damaged one)."""
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return text if _valid(text) else None


def _settings_id(settings: LiveSettings, data_dir: Path) -> str | None:
    """An older profile's id: in ``settings.json``, else in the damaged copy it was moved to."""
    current = str(settings.machine_id or "")
    if _valid(current):
        return current
    try:
        damaged = (data_dir / DAMAGED_SETTINGS).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = _ID_IN_TEXT.search(damaged)
    return match.group(1) if match and _valid(match.group(1)) else None


def _valid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
