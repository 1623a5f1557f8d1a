"""What a scan's worker process runs, in a module light enough for the fork server to preload.

Each worker is forked from the fork server (:func:`catalog.scanner.worker_context`) and unpickles its
tasks by name: the function here, the reader it is given (``catalog.examine.examine``) and the findings.
Keeping the task out of :mod:`catalog.scanner` means the fork server imports the readers and
identification (what every worker needs) but not the scanner's own machinery, and no worker imports
anything after it is forked.
"""

from __future__ import annotations

from collections.abc import Callable

from catalog.examine import FoundFile
from catalog.records import ScannedFile

# Imported by the fork server before it forks a worker (see catalog.scanner.worker_context): the task
# below, the readers and matchers it runs, and the pool's own worker loop.
PRELOAD = [__name__, "core.identify.engine", "concurrent.futures.process"]


def examine_chunk(
    chunk: list[FoundFile], examine_file: Callable[[FoundFile], ScannedFile]
) -> list[ScannedFile]:
    """``examine_file`` of each file of a chunk, in order (``examine`` never raises for a bad file)."""
    return [examine_file(item) for item in chunk]
