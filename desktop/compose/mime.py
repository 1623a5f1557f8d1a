"""The drag-and-drop format of library rows: a JSON list of asset ids under one private MIME type.

Ids, not paths or records, cross the drag: the drop target reads the current record from the library, so
a row dragged before a rescan still lands with its fresh kind, architecture and trigger words.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from PySide6.QtCore import QByteArray, QMimeData

ASSET_IDS_MIME = "application/x-atelier-asset-ids"


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
