"""The library as the renderer's :class:`~core.render.resolve.AssetIndex`: names, aliases and hashes to files.

Infotext names assets loosely ("add_detail", "Detail Tweaker", a kohya ``ss_output_name``) and with short
hashes of several kinds, so each lookup is one indexed SQL query rather than a walk over every asset:

* names match the file stem, the display name, the embedded ``output_name``/``title`` (kohya, modelspec)
  or the Civitai model name, ignoring case;
* hashes match as a prefix (8 hex digits or more) of SHA256, BLAKE3, AutoV3 and AutoV2, and exactly for
  AutoV1/CRC32. That covers A1111's "Model hash" (AutoV2), "TI hashes" and hypernetwork hashes
  (SHA256[:12]/[:10]), "Lora hashes" (AutoV3[:12] for safetensors, SHA256[:12] otherwise) and Civitai's
  AutoV3/BLAKE3/CRC32. ``Library.find_by_hash`` reads 12 digits as AutoV3 only; here both are tried.

Only healthy files are candidates: a missing, corrupt or unsafe file cannot be rendered.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Row, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from catalog.json_field import json_field
from catalog.orm import ASSETS, RemoteLink
from catalog.reading import id_list, in_id_list
from core.render.resolve import Candidate
from core.taxonomy import Architecture, AssetKind, FileStatus

if TYPE_CHECKING:
    from catalog.library import Library

MIN_HASH_PREFIX = 8
MODEL_SUFFIXES = frozenset({".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft", ".gguf"})
_HEX = re.compile(r"[0-9A-F]+")
_ALGORITHM_PREFIX = re.compile(r"^(sha256|blake3|crc32|autov[123])[:=]", re.IGNORECASE)
_ALIAS_KEYS = ("output_name", "title")


def _stem(file_name: str) -> str:
    """``add_detail.safetensors`` -> ``add_detail``; a diffusers folder's name stays whole."""
    suffix = PurePath(file_name).suffix
    return file_name[: -len(suffix)] if suffix.lower() in MODEL_SUFFIXES else file_name


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _alias_column(key: str) -> ColumnElement[Any]:
    return json_field(ASSETS.c.embedded_metadata, f"$.{key}")


def _select_candidates() -> Select[Any]:
    return select(
        ASSETS.c.id,
        ASSETS.c.path,
        ASSETS.c.file_name,
        ASSETS.c.kind,
        ASSETS.c.architecture,
        ASSETS.c.display_name,
        *(_alias_column(key).label(key) for key in _ALIAS_KEYS),
    ).where(ASSETS.c.status == FileStatus.OK.value)


def _candidates(session: Session, rows: Sequence[Row[Any]]) -> list[Candidate]:
    ids = [int(row.id) for row in rows]
    remote_names: dict[int, list[str]] = defaultdict(list)
    if ids:
        stmt = (
            select(RemoteLink.asset_id, RemoteLink.model_name)
            .where(in_id_list(RemoteLink.asset_id), RemoteLink.model_name.is_not(None))
            .order_by(RemoteLink.id)
        )
        for asset_id, model_name in session.execute(stmt, id_list(ids)):
            remote_names[int(asset_id)].append(str(model_name))
    found: list[Candidate] = []
    for row in rows:
        aliases = [str(value) for key in _ALIAS_KEYS if (value := getattr(row, key)) is not None]
        aliases += remote_names[int(row.id)]
        found.append(
            Candidate(
                asset_id=int(row.id),
                path=row.path,
                kind=AssetKind(row.kind),
                architecture=Architecture(row.architecture),
                display_name=row.display_name or "",
                file_stem=_stem(row.file_name),
                aliases=tuple(dict.fromkeys(a for a in aliases if a.strip())),
            )
        )
    return found


def by_name(session: Session, kind: AssetKind, name: str) -> list[Candidate]:
    """Healthy assets of ``kind`` named ``name`` (stem, display name or alias), ignoring case."""
    wanted = name.strip()
    if not wanted:
        return []
    lowered = func.lower(wanted)
    in_remote = select(RemoteLink.asset_id).where(func.lower(RemoteLink.model_name) == lowered)
    conditions = [
        func.lower(ASSETS.c.file_name) == lowered,
        func.lower(ASSETS.c.file_name).like(func.lower(_like_escape(wanted) + ".%"), escape="\\"),
        func.lower(ASSETS.c.display_name) == lowered,
        *(func.lower(_alias_column(key)) == lowered for key in _ALIAS_KEYS),
        ASSETS.c.id.in_(in_remote),
    ]
    stmt = _select_candidates().where(ASSETS.c.kind == kind.value, or_(*conditions)).order_by(ASSETS.c.id)
    candidates = _candidates(session, session.execute(stmt).all())
    folded = wanted.casefold()
    # SQL narrowed the rows; the exact rule (a stem, not "name.v2", and Unicode case folding) is Python's.
    return [
        c
        for c in candidates
        if folded in {c.file_stem.casefold(), c.display_name.casefold(), *(a.casefold() for a in c.aliases)}
    ]


def normalized_hash(value: str) -> str | None:
    """Upper-case hex without an ``sha256:``-style prefix; None when it cannot be a hash we match."""
    text = _ALGORITHM_PREFIX.sub("", value.strip()).upper()
    if len(text) < MIN_HASH_PREFIX or len(text) > 64 or not _HEX.fullmatch(text):
        return None
    return text


def _prefix(column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    # An index range: stored hashes are upper-case hex, and "G" sorts after "F".
    return column.between(value, value + "G")


def by_hash(session: Session, value: str) -> list[Candidate]:
    """Healthy assets one of whose hashes is ``value`` or starts with it (see the module docstring)."""
    text = normalized_hash(value)
    if text is None:
        return []
    conditions = [_prefix(ASSETS.c[column], text) for column in ("sha256", "blake3", "autov3")]
    if len(text) <= 10:
        conditions.append(_prefix(ASSETS.c.autov2, text))
    if len(text) == 8:
        conditions += [ASSETS.c.autov1 == text, ASSETS.c.crc32 == text]
    stmt = _select_candidates().where(and_(or_(*conditions))).order_by(ASSETS.c.id)
    return _candidates(session, session.execute(stmt).all())


def embedding_names(session: Session) -> list[str]:
    """The tokens of the library's embeddings (file stems, as A1111 uses them), for infotext parsing."""
    stmt = (
        select(ASSETS.c.file_name)
        .where(ASSETS.c.kind == AssetKind.EMBEDDING.value, ASSETS.c.status == FileStatus.OK.value)
        .order_by(ASSETS.c.id)
    )
    return list(dict.fromkeys(_stem(name) for name in session.scalars(stmt)))


class LibraryAssetIndex:
    """:class:`core.render.resolve.AssetIndex` over a :class:`~catalog.library.Library`."""

    def __init__(self, library: Library) -> None:
        self._library = library

    def by_name(self, kind: AssetKind, name: str) -> Sequence[Candidate]:
        return self._library.candidates_by_name(kind, name)

    def by_hash(self, value: str) -> Sequence[Candidate]:
        return self._library.candidates_by_hash(value)
