"""The one yes/no question every CLI command asks before it changes the user's files.

The rule is the same everywhere: ``--yes`` answers for the user; without it, a terminal is asked
``question [y/N]`` and only "y" or "yes" goes ahead; without a terminal (a script, a pipe) nothing is
asked and :class:`ConfirmationNeededError` says to add ``--yes``. End of input (Ctrl+D) is a "no", never a
traceback; Ctrl+C at the question interrupts the command (exit 130, see ``app.interrupts``).
"""

from __future__ import annotations

import sys

from core.errors import AtelierError


class ConfirmationNeededError(AtelierError):
    """Asked to confirm without a terminal to ask on: the command needs ``--yes``."""


def ask(question: str, *, yes: bool = False, refusal: str = "", detail: str = "") -> bool:
    """Whether the user agrees to ``question`` ("Send 3 files to the trash?").

    ``yes`` (the command's ``--yes``) agrees without asking. Without a terminal, ``refusal`` (what was
    not done, e.g. "not deleting 3 files without confirmation") is raised with "add --yes"; an empty
    ``refusal`` makes that a plain "no" instead (a question that only offers something extra).
    ``detail`` follows "add --yes" in brackets (what the command would have done).
    """
    if yes:
        return True
    if not sys.stdin.isatty():
        if refusal:
            tail = f" ({detail})" if detail else ""
            raise ConfirmationNeededError(f"{refusal}: add --yes{tail}")
        return False
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:  # Ctrl+D: the user closed the input, which is no agreement
        print(file=sys.stderr)
        return False
    return answer.strip().lower() in {"y", "yes"}
