"""SQL for stored renders: insert one with its asset links, read pages of them, delete one.

Render images normally live in the library's renders folder and are stored by a path relative to it, so a
data dir that is moved or restored from a backup keeps its gallery; images elsewhere (``--out`` files the
user asked for) are stored absolute. Reads always hand back absolute paths.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, case, delete, insert, select
from sqlalchemy.orm import Session

from catalog.db import utc_now
from catalog.errors import InvalidValueError, NotFoundError
from catalog.orm import ASSETS, RENDER_ASSETS, RENDERS, Preview
from catalog.reading import id_list, in_id_list
from catalog.records import NewRender, RenderAssetLink, RenderKind, RenderRecord, RenderRole


def stored_path(path: str | Path, renders_dir: Path) -> str:
    """``path`` as stored: relative (POSIX form) when it lies inside ``renders_dir``, else absolute."""
    absolute = Path(path).expanduser()
    if not absolute.is_absolute():
        return absolute.as_posix()
    try:
        return absolute.relative_to(renders_dir).as_posix()
    except ValueError:
        return str(absolute)


def absolute_path(stored: str, renders_dir: Path) -> Path:
    path = Path(stored)
    return path if path.is_absolute() else renders_dir / path


def _unique_links(links: Sequence[RenderAssetLink]) -> list[RenderAssetLink]:
    """One link per (asset, role): an embedding used in both prompts, or a grid's many cells, count once."""
    seen: dict[tuple[int, RenderRole], RenderAssetLink] = {}
    for link in links:
        seen.setdefault((link.asset_id, RenderRole(link.role)), link)
    return list(seen.values())


# Links read back in the recipe's order of parts (checkpoint, VAE, text encoders, LoRAs, embeddings,
# hypernetworks), then by asset id: an order both backends give from real columns (PostgreSQL has no
# rowid), so the gallery's "Use as preview of ..." menu lists the checkpoint first on either.
_ROLE_ORDER = case(
    {role.value: rank for rank, role in enumerate(RenderRole)},
    value=RENDER_ASSETS.c.role,
    else_=len(RenderRole),
)


def _validate(render: NewRender) -> None:
    if render.width <= 0 or render.height <= 0:
        raise InvalidValueError(f"A render needs a positive size, not {render.width}x{render.height}.")
    if not math.isfinite(render.elapsed) or render.elapsed < 0:
        raise InvalidValueError(f"A render time must be a positive number of seconds, not {render.elapsed}.")
    if not str(render.path).strip():
        raise InvalidValueError("A render needs the path of its image.")
    for link in render.assets:
        if link.weight is not None and not math.isfinite(link.weight):
            raise InvalidValueError(
                f"The weight of asset {link.asset_id} must be a number, not {link.weight}."
            )


def insert_render(session: Session, render: NewRender, renders_dir: Path) -> int:
    """Insert ``render`` and its links (the caller's transaction); returns the new id.

    Raises NotFoundError when a linked asset is not in the library (a row is never linked to nothing).
    """
    _validate(render)
    links = _unique_links(render.assets)
    wanted = sorted({link.asset_id for link in links})
    if wanted:
        found = set(session.scalars(select(ASSETS.c.id).where(in_id_list(ASSETS.c.id)), id_list(wanted)))
        absent = [asset_id for asset_id in wanted if asset_id not in found]
        if absent:
            raise NotFoundError(f"Cannot link the render to asset {absent[0]}: it is not in the library.")
    render_id = session.execute(
        insert(RENDERS)
        .values(
            created_at=utc_now(),
            path=stored_path(render.path, renders_dir),
            width=render.width,
            height=render.height,
            seed=str(render.seed),
            recipe=dict(render.recipe),
            infotext=render.infotext,
            elapsed=float(render.elapsed),
            device=render.device,
            kind=RenderKind(render.kind).value,
            grid_axes=dict(render.grid_axes) if render.grid_axes is not None else None,
        )
        .returning(RENDERS.c.id)
    ).scalar_one()
    if links:
        session.execute(
            insert(RENDER_ASSETS),
            [
                {
                    "render_id": render_id,
                    "asset_id": link.asset_id,
                    "role": link.role.value,
                    "weight": link.weight,
                }
                for link in links
            ],
        )
    return int(render_id)


def render_records(
    session: Session,
    renders_dir: Path,
    *,
    render_id: int | None = None,
    asset_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[RenderRecord]:
    """Renders newest first, optionally only one id or those that used ``asset_id``."""
    stmt = select(RENDERS).order_by(RENDERS.c.created_at.desc(), RENDERS.c.id.desc())
    if render_id is not None:
        stmt = stmt.where(RENDERS.c.id == render_id)
    if asset_id is not None:
        used = select(RENDER_ASSETS.c.render_id).where(RENDER_ASSETS.c.asset_id == asset_id)
        stmt = stmt.where(RENDERS.c.id.in_(used))
    if limit is not None:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    rows = session.execute(stmt).all()
    if not rows:
        return []
    ids = [int(row.id) for row in rows]
    links: dict[int, list[RenderAssetLink]] = defaultdict(list)
    link_rows = session.execute(
        select(RENDER_ASSETS)
        .where(in_id_list(RENDER_ASSETS.c.render_id))
        .order_by(RENDER_ASSETS.c.render_id, _ROLE_ORDER, RENDER_ASSETS.c.asset_id),
        id_list(ids),
    ).all()
    for link in link_rows:
        links[int(link.render_id)].append(
            RenderAssetLink(int(link.asset_id), RenderRole(link.role), link.weight)
        )
    return [_record(row, tuple(links[int(row.id)]), renders_dir) for row in rows]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _record(row: Row[Any], links: tuple[RenderAssetLink, ...], renders_dir: Path) -> RenderRecord:
    created: datetime = row.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    recipe: Mapping[str, Any] = _json(row.recipe) or {}
    return RenderRecord(
        id=int(row.id),
        created_at=created,
        path=str(absolute_path(row.path, renders_dir)),
        width=int(row.width),
        height=int(row.height),
        seed=int(row.seed),
        recipe=recipe,
        infotext=row.infotext,
        elapsed=float(row.elapsed),
        device=row.device,
        kind=RenderKind(row.kind),
        grid_axes=_json(row.grid_axes),
        assets=links,
    )


def delete_render_row(session: Session, render_id: int, renders_dir: Path) -> Path:
    """Delete the row (its links cascade); returns the absolute image path it had."""
    stored = session.scalar(select(RENDERS.c.path).where(RENDERS.c.id == render_id))
    if stored is None:
        raise NotFoundError(f"No render with id {render_id} in the library.")
    session.execute(delete(RENDERS).where(RENDERS.c.id == render_id))
    return absolute_path(stored, renders_dir)


def used_as_preview(session: Session, path: Path) -> bool:
    """Whether some asset shows the image at ``path`` as a preview (then the file must stay)."""
    return session.scalar(select(Preview.id).where(Preview.path == str(path)).limit(1)) is not None
