"""Which command lines only read the library, so a read-only data folder can still serve them.

A command that would change the library (or the files it lists) is refused before it starts when the
data folder cannot be written: refusing at its first catalog write would be too late for a download
already fetched or a render already computed. Everything not listed here as reading is taken as
changing, so a new command is refused in a read-only folder until it is listed. The catalog, opened
read-only, refuses any write a reading command might still attempt, with the same sentence.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.context import AppContext


def _always(_args: argparse.Namespace) -> bool:
    return True


# command -> whether this command line only reads (given its options)
READING: dict[str, Callable[[argparse.Namespace], bool]] = {
    "inspect": _always,  # no catalog at all
    "search": _always,  # the library, Civitai or Hugging Face
    "show": _always,
    "roots": lambda args: args.action == "list",
    "history": _always,
    "export": _always,  # writes the list where the user says, never the data folder
    "dupes": lambda args: args.resolve is None,
    "downloads": lambda args: args.action == "list",
    "tag": lambda args: not (args.add or args.remove or args.set is not None or args.clear),
    "collection": lambda args: not (args.add or args.remove),
    "deleted": lambda args: not args.forget,
    "mirror": lambda args: not (args.sync or args.remove or args.comfyui_yaml or args.ui or args.add_roots),
    "organize": lambda args: bool(args.dry_run),
}


def only_reads(args: argparse.Namespace) -> bool:
    """Whether this command line leaves the library and its files as they are."""
    reads = READING.get(str(args.command))
    return reads is not None and reads(args)


def refuse_if_read_only(context: AppContext, args: argparse.Namespace) -> None:
    """Raise the read-only refusal for a changing command in a data folder Atelier cannot write."""
    if not only_reads(args):
        context.refuse_changes()
