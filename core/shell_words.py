"""A name or path inside a command a message suggests ("atelier roots map NAME PATH"), written so that the
user can paste the command as it is.

Every message that suggests a command with a folder's name or a path in it quotes that word here, the one
way: the real text (never an escaped form such as JSON's ``\\u00fc``), in the quotes the user's shell reads
back to exactly that text (a POSIX shell's single quotes; on Windows the quoting its programs' argument
parsing undoes, in double quotes).
"""

from __future__ import annotations

import os
import shlex

WINDOWS_SHELL = os.name == "nt"


def shell_word(text: str) -> str:
    """``text`` as one word of a pasted command line; plain words (``NAS``, ``/mnt/sd``) stay as they are."""
    if WINDOWS_SHELL:
        from subprocess import list2cmdline

        return list2cmdline([text])
    return shlex.quote(text)


def map_command(name: str, path: str = "PATH") -> str:
    """The command that maps a shared library folder on this machine, as messages suggest it (``NAME``
    for a folder the catalog has no name for)."""
    return f"atelier roots map {shell_word(name) if name else 'NAME'} {path}"
