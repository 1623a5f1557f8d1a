"""Which machine this profile runs on, for a catalog shared by several (``catalog.machine_paths``).

The id is a UUID kept in ``settings.json`` (``machine_id``), made the first time a catalog is opened: it
stays the same when the host is renamed or its network address changes, and two profiles on one computer
are two machines (each may mount the shared store elsewhere). The name shown in listings is the host
name. A read-only data folder cannot keep a new id, so there the id is derived from the host name and the
data folder: the same on every run, and no write.
"""

from __future__ import annotations

import platform
import uuid
from typing import TYPE_CHECKING

from catalog.machine_paths import Machine

if TYPE_CHECKING:
    from pathlib import Path

    from app.live_settings import LiveSettings


def host_name() -> str:
    return platform.node() or "this computer"


def this_machine(settings: LiveSettings, data_dir: Path) -> Machine:
    """This profile's machine; its id is made and saved on first use (a failed save is retried next
    time: the id only has to be stable once a folder is mapped, which is a write to the catalog too)."""
    name = host_name()
    current = str(settings.machine_id or "")
    if _valid(current):
        return Machine(current, name)
    if settings.read_only:
        return Machine(str(uuid.uuid5(uuid.NAMESPACE_URL, f"atelier:{name}:{data_dir}")), name)
    made = str(uuid.uuid4())
    settings.machine_id = made
    try:
        settings.save()
    except OSError:
        settings.machine_id = ""
    return Machine(made, name)


def _valid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
