"""A reader for scan workers that says which modules its process had loaded (test_scan_worker).

Its own module imports only what a worker needs, so what it sees is what the fork server preloaded.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace

from catalog.examine import FoundFile, examine
from catalog.records import ScannedFile

WATCHED = ("catalog.scanner", "core.identify.engine")


def modules_seen(found: FoundFile) -> ScannedFile:
    """The file's finding, its ``status_reason`` replaced by which :data:`WATCHED` modules were loaded."""
    loaded = {name: name in sys.modules for name in WATCHED}
    return replace(examine(found), status_reason=json.dumps(loaded))


def examined(found: FoundFile) -> ScannedFile:
    """``examine`` under another name: a scan always reads with a caller's own reader in its workers
    (it reads with ``examine`` itself while they start), so a test using this one reaches them."""
    return examine(found)
