"""Ways to run ``main.py`` where it cannot write: a real read-only mount, and a user without root's rights.

Tests often run as root (CI containers), and root ignores file permissions: ``chmod -w`` proves nothing
there. So a read-only data folder is made the way a user meets one, as a read-only bind mount, inside a
private mount namespace of the child only (``unshare --mount``; nothing outside the child sees it and
it vanishes with the child). File permissions are tested by running the child in a new user namespace
(``unshare --user``): it keeps its own uid on the files but loses root's right to ignore their modes.
A machine that allows neither gets ``None`` here, and the test is skipped with that reason.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

_BIND_READ_ONLY = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


def _works(command: list[str]) -> bool:
    try:
        result = subprocess.run(command, capture_output=True, timeout=30, check=False)
    except OSError:
        return False
    return result.returncode == 0


def read_only_mount(folder: Path) -> list[str] | None:
    """A command prefix running its command with ``folder`` mounted read-only (None: cannot here)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    namespaces = ["--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        namespaces = ["--user", "--map-root-user", *namespaces]
    prefix = [unshare, *namespaces, "sh", "-c", _BIND_READ_ONLY, str(folder)]
    probe = [*prefix, sys.executable, "-c", f"import os, sys; sys.exit(os.access({str(folder)!r}, os.W_OK))"]
    return prefix if _works(probe) else None


@functools.cache
def without_root_rights() -> list[str] | None:
    """A command prefix whose command obeys file permissions ([] when this process already does)."""
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    prefix = [unshare, "--user"]
    # The probe: a folder without write permission for its owner must refuse a new file.
    script = (
        "import os, sys, tempfile\n"
        "d = tempfile.mkdtemp(); os.chmod(d, 0o500)\n"
        "try:\n    open(os.path.join(d, 'x'), 'w').close(); refused = False\n"
        "except PermissionError:\n    refused = True\n"
        "os.chmod(d, 0o700); [os.remove(os.path.join(d, n)) for n in os.listdir(d)]; os.rmdir(d)\n"
        "sys.exit(0 if refused else 1)\n"
    )
    return prefix if _works([*prefix, sys.executable, "-c", script]) else None
