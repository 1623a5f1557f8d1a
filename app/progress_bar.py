"""A terminal progress bar fed by job ``Progress`` reports (tqdm on stderr, silent when not a terminal)."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from core.jobs import Progress


class ProgressBar:
    """A tqdm bar on stderr fed by job ``Progress`` reports (silent when stderr is not a terminal)."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        self._bar = tqdm(desc=label, total=None, file=sys.stderr, disable=None, leave=False, **kwargs)

    def update(self, progress: Progress) -> None:
        if progress.total is not None and self._bar.total != progress.total:
            self._bar.total = progress.total
        self._bar.n = progress.done
        self._bar.set_postfix_str(progress.message[-40:], refresh=True)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()
