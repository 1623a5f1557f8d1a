"""What the compose board needs from ``app.render_service.RenderService``, as structural protocols.

Declaring the slice here keeps ``desktop`` type-checked against the service without importing it at
module level (the service's module pulls in the catalog and the renderer's modules), and lets the
window open before anything about rendering is loaded: the service itself is made on first use by
``DesktopServices.render``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.jobs import CancelToken, ProgressCallback
from core.render.recipe import Recipe
from core.taxonomy import AssetKind

if TYPE_CHECKING:
    from PIL.Image import Image

PreviewSink = Callable[["Image", int, int], None]


class MissingLike(Protocol):
    """``core.render.resolve.MissingAsset``: a reference with no file in the library."""

    @property
    def kind(self) -> AssetKind: ...

    @property
    def name(self) -> str: ...

    @property
    def hash(self) -> str | None: ...

    @property
    def message(self) -> str: ...


class PlanLike(Protocol):
    """``app.render_service.RenderPlan``: a resolved recipe and what stands in the way of rendering it."""

    @property
    def recipe(self) -> Recipe: ...

    @property
    def missing(self) -> Sequence[MissingLike]: ...

    @property
    def warnings(self) -> Sequence[str]: ...

    @property
    def ready(self) -> bool: ...


class RenderRecordLike(Protocol):
    """``catalog.records.RenderRecord``: one stored render (the gallery reads only these fields)."""

    @property
    def id(self) -> int: ...

    @property
    def infotext(self) -> str: ...


class StoredRenderLike(Protocol):
    """``app.render_service.StoredRender``: a render written to disk and stored in the library."""

    @property
    def render(self) -> Any: ...

    @property
    def path(self) -> Path: ...

    @property
    def infotext(self) -> str: ...

    @property
    def seed(self) -> int: ...

    @property
    def device(self) -> str: ...


class RenderServiceLike(Protocol):
    """The render service as the compose tab drives it; every method may be slow: call them in workers
    (``prepare`` and ``plan_from_infotext`` only read the catalog and may run on the GUI thread)."""

    def prepare(self, recipe: Recipe, /) -> Any: ...

    def render(
        self,
        plan: Any,
        /,
        *,
        progress: ProgressCallback = ...,
        cancel: CancelToken | None = ...,
        preview: PreviewSink | None = ...,
    ) -> Sequence[Any]: ...

    def render_grid(
        self,
        base: Recipe,
        x: Any,
        y: Any,
        /,
        *,
        progress: ProgressCallback = ...,
        cancel: CancelToken | None = ...,
        preview: PreviewSink | None = ...,
    ) -> Any: ...

    def plan_from_infotext(self, text_or_png: str | Path, /) -> Any: ...

    def renders(self, asset_id: int | None = ..., limit: int = ...) -> Sequence[Any]: ...

    def use_as_preview(self, render_id: int, asset_id: int, /) -> None: ...

    def device_description(self) -> str: ...
