"""Moving a finished temporary file over its target, patient with Windows' brief locks.

On Windows ``os.replace`` fails with PermissionError (WinError 5 or 32) while another program has the
target open without sharing delete access, and antivirus scanners and the search indexer do that for a
moment right after a file is written: a settings save or a sidecar write would fail at random. Such a
lock is gone within a second, so on Windows the move is tried again a few times over about a second.
Elsewhere a PermissionError is real (no write permission on the folder) and is raised at once.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

SCANNERS_HOLD_FILES = sys.platform == "win32"  # tests set it to take Windows' way on Linux
RETRY_WAITS = (0.05, 0.1, 0.15, 0.2, 0.2, 0.3)  # seconds before each further try: 1 s in all


def replace_file(source: Path, target: Path) -> None:
    """``source.replace(target)`` (``os.replace``); on Windows retried on PermissionError for about a second.

    The last PermissionError is raised when the target stays locked; other errors are raised at once.
    """
    for wait in RETRY_WAITS if SCANNERS_HOLD_FILES else ():
        try:
            source.replace(target)
        except PermissionError:
            time.sleep(wait)
        else:
            return
    source.replace(target)
