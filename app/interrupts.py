"""Ctrl+C in the CLI: a bulk operation stops after the file it is on; anywhere else the command stops.

``run_command`` installs :func:`ctrl_c_handling` around every command. The organize engine runs each
operation inside :func:`stoppable` with its cancel token, so whichever command started it (``delete``,
``move``, ``organize``, ``dupes --resolve``, ``undo``, ``convert --trash-old``...) the first Ctrl+C
cancels the token: the engine finishes the current file, marks the rest skipped, records what was done,
and the command reports it and exits 130. A second Ctrl+C, or one outside an operation (a plan being
made, a ``[y/N]`` question), raises ``KeyboardInterrupt``, which ``run_command`` turns into one line and
exit 130. The window never installs the handler: its operations are cancelled by their buttons.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from core.jobs import CancelToken

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl+C


@dataclass
class _State:
    command: str = ""
    installed: bool = False
    tokens: list[CancelToken] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)  # one line per operation a Ctrl+C stopped


_state = _State()


def _not_an_interrupt(record: logging.LogRecord) -> bool:
    """Drop a library's log record of a Ctrl+C it caught while cleaning up (SQLAlchemy's pool logs
    "Exception during reset" with the traceback when the interrupt lands in a connection's return): the
    command already says "interrupted" in one line."""
    return not (record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt))


# On the handler: a logger's filter only sees records logged on that very logger, and SQLAlchemy logs on
# one logger per pool class. The CLI configures no logging, so warnings reach stderr through lastResort.
if logging.lastResort is not None:
    logging.lastResort.addFilter(_not_an_interrupt)


@contextmanager
def stoppable(token: CancelToken) -> Iterator[CancelToken]:
    """While this runs, a Ctrl+C cancels ``token`` (the engine stops after the current file)."""
    _state.tokens.append(token)
    try:
        yield token
    finally:
        _state.tokens.remove(token)


def report_stopped(line: str) -> None:
    """Remember that a Ctrl+C stopped an operation and what it had done (said when the command ends).
    Only while the CLI's handler is installed: a cancel in the window is reported by the window."""
    if _state.installed:
        _state.stopped.append(line)


@contextmanager
def ctrl_c_handling(command: str) -> Iterator[list[str]]:
    """Install the CLI's Ctrl+C handler for one command; yields the lines of the operations it stopped.

    The handler replaces whatever the process inherited, ignored SIGINT included (a command started
    in the background by a shell script still stops on ``kill -INT``). Outside the main thread (a test
    calling ``run_command`` from a worker) nothing is installed.
    """
    previous = signal.getsignal(signal.SIGINT)
    _state.command, _state.stopped = command, []
    try:
        signal.signal(signal.SIGINT, _on_interrupt)
    except ValueError:
        yield _state.stopped
        return
    _state.installed = True
    try:
        yield _state.stopped
    finally:
        _state.installed = False
        signal.signal(signal.SIGINT, previous)


def _on_interrupt(_signum: int, _frame: FrameType | None) -> None:
    running = [token for token in _state.tokens if not token.cancelled]
    if not running:
        raise KeyboardInterrupt
    for token in running:
        token.cancel()
    print(f"\natelier {_state.command}: stopping after the current file…", file=sys.stderr, flush=True)
