"""A terminal progress bar fed by job ``Progress`` reports (tqdm on stderr, silent when not a terminal)."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm

from core.jobs import Progress

# Without a rate: one bar counts components, then add-ons, then steps, and "it/s" fits none of them.
_PHASED_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"
_PHASED_UNKNOWN = "{desc} [{elapsed}]"


class ProgressBar:
    """A tqdm bar on stderr fed by job ``Progress`` reports (silent when stderr is not a terminal).

    A ``phased`` bar is for jobs that go through phases, each with its own count (a render loads the
    checkpoint part by part, then its add-ons, then runs the steps): the report's message is the bar's
    label ("Loading checkpoint… UNet", "Step 3 of 20") and a new total starts the bar again. Otherwise
    the label stays and the message is shown after the counts, unless the message starts with the
    label's verb ("Hashing 3 of 12 files" for "Hashing"): then it replaces the label.
    """

    def __init__(
        self,
        label: str,
        *,
        phased: bool = False,
        messages: bool = True,
        file: TextIO | None = None,
        **kwargs: Any,
    ) -> None:
        self._label = label
        self._phased = phased
        self._messages = messages
        if phased:
            kwargs.setdefault("bar_format", _PHASED_UNKNOWN)
        kwargs.setdefault("disable", None)  # None: silent unless the stream is a terminal
        self._bar = tqdm(desc=label, total=None, file=file or sys.stderr, leave=False, **kwargs)

    def update(self, progress: Progress) -> None:
        if self._phased:
            self._update_phase(progress)
            return
        if progress.total is not None and self._bar.total != progress.total:
            self._bar.total = progress.total
        self._bar.n = progress.done
        if not self._messages:
            self._bar.refresh()
        elif _same_verb(progress.message, self._label):
            # "Hashing 3 of 12 files" says more than the label "Hashing" and must not repeat it after.
            self._bar.set_description_str(progress.message, refresh=True)
        else:
            self._bar.set_postfix_str(progress.message[-40:], refresh=True)

    @classmethod
    def of_bytes(cls, label: str, **kwargs: Any) -> ProgressBar:
        """A bar of a download's bytes, counted in KiB and MiB as Atelier gives sizes everywhere else, with
        tqdm's own rate and time left: the reports' messages ("29.8 / 72.1 MiB, 1.0 MiB/s, 48 s left")
        only restate them, in other units, and are left out."""
        return cls(label, unit="B", unit_scale=True, unit_divisor=1024, messages=False, **kwargs)

    def _update_phase(self, progress: Progress) -> None:
        bar = self._bar
        bar.set_description_str(progress.message or self._label, refresh=False)
        if progress.total != bar.total:
            bar.bar_format = _PHASED_FORMAT if progress.total else _PHASED_UNKNOWN
            bar.reset(total=progress.total)  # a new phase: its own count and its own clock
        bar.n = progress.done
        bar.refresh()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()


def _same_verb(message: str, label: str) -> bool:
    first = message.split(maxsplit=1)
    return bool(first) and first[0] == label.split(maxsplit=1)[0]
