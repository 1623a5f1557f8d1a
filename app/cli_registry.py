"""Every headless command's name, one-line help and the module that implements it — and nothing else.

``main.py --help`` lists all commands from this table without importing any of them, and a command line
imports only the module of the command it names (``app.cli`` asks :func:`command_module`). Importing a
command module is what costs: the catalog (SQLAlchemy), the sites (requests, huggingface_hub), the
renderer. So this module imports nothing, and each command module declares its own arguments
(``add_commands(sub, common)``) and handlers (``COMMANDS``, name -> handler); a test checks that the two
agree with this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class CommandEntry:
    """One command as ``--help`` lists it, and where its arguments and handler live."""

    name: str
    module: str
    help: str


_SCAN = "app.scan_cli"
_LIBRARY = "app.library_cli"
_ORGANIZE = "app.organize_cli"
_CURATION = "app.curation_cli"

# In the order --help lists them.
COMMAND_ENTRIES: Final[tuple[CommandEntry, ...]] = (
    CommandEntry("scan", _SCAN, "add library folders and scan them"),
    CommandEntry("inspect", "app.inspect_cli", "identify files (no catalog needed)"),
    CommandEntry("search", _LIBRARY, "search the library, Civitai or Hugging Face"),
    CommandEntry("show", _LIBRARY, "show one asset by id or path"),
    CommandEntry("enrich", _SCAN, "look up hashed files on Civitai"),
    CommandEntry("download", "app.download_cli", "download from Civitai or Hugging Face into the library"),
    CommandEntry("downloads", "app.download_cli", "list, resume or cancel downloads"),
    CommandEntry(
        "render",
        "app.render_cli",
        "render a recipe (or replay an image's parameters) and store it in the library",
    ),
    CommandEntry("grid", "app.render_cli", "render an X/Y comparison grid"),
    CommandEntry(
        "mirror",
        "app.mirror_cli",
        "share the library with A1111/Forge, ComfyUI or InvokeAI (links or copies, kept in sync)",
    ),
    CommandEntry(
        "move", _ORGANIZE, "move files (with their sidecars and previews) to another folder of the library"
    ),
    CommandEntry("rename", _ORGANIZE, "rename a file with its sidecars and previews"),
    CommandEntry("delete", _ORGANIZE, "send files with their sidecars and previews to the system trash"),
    CommandEntry("undo", _ORGANIZE, "undo the last move, rename or delete"),
    CommandEntry("history", _ORGANIZE, "recent moves, renames, deletes and undos"),
    CommandEntry(
        "dupes",
        "app.dupes_cli",
        "list identical files across the library, and resolve them (trash, hard link, symlink)",
    ),
    CommandEntry(
        "organize",
        "app.organize_template_cli",
        "move files into folders named by a template (plan first with --dry-run)",
    ),
    CommandEntry(
        "convert",
        "app.convert_cli",
        "convert a .ckpt/.pt/.pth/.bin to .safetensors (verified; the catalog follows)",
    ),
    CommandEntry(
        "export",
        "app.exchange_cli",
        "write the library list (names, hashes, Civitai/HF links, your tags and notes) to CSV or JSON",
    ),
    CommandEntry(
        "import",
        "app.exchange_cli",
        "match a library list to this library by hash, add its user data, list what is missing",
    ),
    CommandEntry(
        "updates", "app.updates_cli", "list, download or ignore newer Civitai versions of the library's files"
    ),
    CommandEntry("tag", _CURATION, "add, remove or set tags on assets"),
    CommandEntry("collection", _CURATION, "list collections, or add / remove assets of one"),
    CommandEntry("rate", _CURATION, "rate assets 0-5 (0: unrated), optionally marking them favorite"),
    CommandEntry(
        "set",
        _CURATION,
        "set an asset's kind / architecture override, base-model label, trigger words, weight, flags",
    ),
    CommandEntry(
        "sidecars",
        _CURATION,
        "write your data next to models as A1111 sidecars (<name>.json, <name>.preview.png)",
    ),
    CommandEntry("deleted", _CURATION, "list files you deleted (remembered so a download can warn)"),
    CommandEntry(
        "new-catalog",
        "app.catalog_cli",
        "start a new empty library, or restore the catalog from a backup (the old file is kept aside)",
    ),
    CommandEntry(
        "copy-catalog",
        "app.catalog_copy_cli",
        "copy the whole catalog into another database (a PostgreSQL server for a team, or back into a file)",
    ),
    CommandEntry(
        "roots",
        _LIBRARY,
        "list library folders; roots add PATH --name NAME; roots map NAME PATH (shared storage); "
        "roots remove NAME",
    ),
    CommandEntry("hash", _SCAN, "hash files that have no hashes yet, then look them up on Civitai"),
)

_BY_NAME: Final[dict[str, CommandEntry]] = {entry.name: entry for entry in COMMAND_ENTRIES}


def command_entry(name: str) -> CommandEntry:
    """The entry of the command ``name`` (a name argparse accepted, so always listed)."""
    return _BY_NAME[name]


def module_commands(module: str) -> tuple[CommandEntry, ...]:
    """The commands one module implements, in --help order."""
    return tuple(entry for entry in COMMAND_ENTRIES if entry.module == module)
