"""The drag-and-drop format of library rows: a JSON list of asset ids under one private MIME type.

Ids, not paths or records, cross the drag: the drop target reads the current record from the library, so
a row dragged before a rescan still lands with its fresh kind, architecture and trigger words.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from PySide6.QtCore import QByteArray, QMimeData

ASSET_IDS_MIME = "application/x-atelier-asset-ids"
RENDER_ID_MIME = "application/x-atelier-render-id"  # a stored render dragged from the gallery


def asset_ids_mime(ids: Iterable[int]) -> QMimeData:
    """Mime data carrying ``ids`` (duplicates dropped, order kept)."""
    unique = list(dict.fromkeys(int(asset_id) for asset_id in ids))
    mime = QMimeData()
    mime.setData(ASSET_IDS_MIME, QByteArray(json.dumps(unique).encode("ascii")))
    return mime


def asset_ids_from_mime(mime: QMimeData) -> list[int]:
    """The asset ids in ``mime``; empty when it carries none or is malformed (a drop from elsewhere)."""
    if not mime.hasFormat(ASSET_IDS_MIME):
        return []
    try:
        value = json.loads(bytes(mime.data(ASSET_IDS_MIME).data()).decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return []
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, int) and not isinstance(item, bool)]


def render_id_mime(render_id: int) -> QMimeData:
    """Mime data carrying one stored render's id: dropped on the board, its recipe is loaded."""
    mime = QMimeData()
    mime.setData(RENDER_ID_MIME, QByteArray(str(int(render_id)).encode("ascii")))
    return mime


def render_id_from_mime(mime: QMimeData) -> int | None:
    """The render id in ``mime``; None when it carries none or is malformed."""
    if not mime.hasFormat(RENDER_ID_MIME):
        return None
    text = bytes(mime.data(RENDER_ID_MIME).data()).decode("ascii", errors="replace")
    return int(text) if text.isdigit() else None
