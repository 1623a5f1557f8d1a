"""Which versions of a Civitai model are updates of a file: the newer ones for the file's own base model.

A Civitai model often ships one version per base model (a LoRA "v1-128dim" for SDXL Turbo and a
"v1-16dim" for SD 1.5). A version for another base is a sibling, not an update: it does not load on the
user's checkpoint. So the update of a file is the newest version whose ``baseModel`` label is the file's,
and labels are compared as Civitai writes them (spaces, dots, dashes and case aside): "SDXL 1.0",
"SDXL Turbo", "Pony" and "Illustrious" are all SDXL by architecture
(/work/shared/reference/ARCHITECTURES.md §3) but users pick a base by that label, so each is its own base.
Only successive releases of one base count as one (:data:`SUCCESSIVE_RELEASES`: a LoRA re-trained on
SD 1.5 updates its SD 1.4 version).

The check stores, per model, the newest version of each base (:func:`newest_by_base`) under the key
:func:`base_key` gives, and the catalog's "has update" rule (``catalog.updates`` and ``catalog.queries``)
reads it with the link's own label put through the same key in SQL (:func:`base_key_sql`): both must agree,
which is why the key only drops characters that SQL's ``replace`` can drop and lower-cases ASCII.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.sources.civitai_updates import VersionInfo

if TYPE_CHECKING:  # catalog.queries imports this module for the window's first rows, read without SQLAlchemy
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import QueryableAttribute

NEWEST_BY_BASE = "newest_by_base"  # the key of the map in ``model_updates.payload``
_DROPPED = (" ", ".", "-")

SUCCESSIVE_RELEASES: tuple[tuple[str, ...], ...] = (
    ("SD 1.4", "SD 1.5"),
    ("SD 2.0", "SD 2.1"),
    ("SD 2.0 768", "SD 2.1 768"),
    ("SDXL 0.9", "SDXL 1.0"),
)
"""Labels that are one base released again: a version for a later one updates a file for an earlier one."""


def base_key(label: str | None) -> str:
    """The key a ``baseModel`` label is compared by ("SDXL Turbo" -> "sdxlturbo"); "" for no label."""
    text = label or ""
    for dropped in _DROPPED:
        text = text.replace(dropped, "")
    return "".join(char.lower() if char.isascii() else char for char in text)


def base_key_sql(label: QueryableAttribute[Any]) -> ColumnElement[str]:
    """:func:`base_key` of a label column, in SQL (SQLite and PostgreSQL alike)."""
    from sqlalchemy import func

    key: ColumnElement[Any] = label.expression
    for dropped in _DROPPED:
        key = func.replace(key, dropped, "")
    return func.lower(key)


def base_key_text(column: str) -> str:
    """:func:`base_key` of a column, as plain SQL text (for :mod:`catalog.queries`' statements)."""
    text = column
    for dropped in _DROPPED:
        text = f"replace({text}, '{dropped}', '')"
    return f"lower({text})"


_RELEASE_GROUP = {base_key(label): group for group in SUCCESSIVE_RELEASES for label in group}


def same_base(label: str | None, other: str | None) -> bool:
    """Whether a version labelled ``other`` is for the base a file labelled ``label`` is for."""
    if not label:
        return True  # a file of no known base: every newer version may be its update
    key = base_key(label)
    return base_key(other) in {base_key(member) for member in _RELEASE_GROUP.get(key, (label,))}


def newest_by_base(versions: Sequence[VersionInfo]) -> dict[str, str]:
    """For every base a version (newest first) is labelled with, the newest version id for that base
    (its successive releases included), keyed by :func:`base_key`; ids as text, like the link's."""
    found: dict[str, str] = {}
    for version in versions:
        if not version.base_model:
            continue
        group = _RELEASE_GROUP.get(base_key(version.base_model), (version.base_model,))
        for label in group:
            found.setdefault(base_key(label), str(version.id))
    return found


def update_of(versions: Sequence[VersionInfo], label: str | None) -> VersionInfo | None:
    """The newest version (of ``versions``, newest first) for the base a file labelled ``label`` is for."""
    return next((version for version in versions if same_base(label, version.base_model)), None)
