"""A plan's library files that are no longer on disk, moved to its missing list.

The catalog knows a file deleted or moved away outside Atelier only once a scan has run: until then
resolving the board trusts the catalog's path, the plan shows the file as found, and Render fails with
the renderer's "does not exist". The board shows such a file as missing at once instead, with its
name and hash, as it shows a pasted recipe's files the library lacks (the missing list, "Find on
Civitai", the plan's Missing line), so the user learns it before pressing Render.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from core.render.recipe import AssetRef
from core.render.resolve import MissingAsset
from core.taxonomy import AssetKind
from desktop.labels import kind_label


def with_gone_files_missing(plan: Any) -> Any:
    """``plan`` (a ``RenderPlan``) with each library file whose path is not on disk named by name and
    hash only and listed as missing; ``plan`` itself when every file is there (or for a stand-in)."""
    from app.render_service import RenderPlan, map_refs  # loaded with the service already

    if not isinstance(plan, RenderPlan):
        return plan
    gone: list[MissingAsset] = []

    def on_disk(kind: AssetKind, ref: AssetRef) -> AssetRef:
        if ref.asset_id is None or ref.path is None or Path(ref.path).exists():
            return ref
        message = f"{kind_label(kind)} {ref.describe()} is not in the library"
        gone.append(MissingAsset(kind, ref.name, ref.hash, message))
        return dataclasses.replace(ref, asset_id=None, path=None)

    recipe = map_refs(plan.recipe, on_disk)
    if not gone:
        return plan
    return dataclasses.replace(plan, recipe=recipe, missing=(*plan.missing, *gone))
