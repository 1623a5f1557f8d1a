"""Starts the desktop app: composes ``DesktopServices`` and runs the window.

This is the only place where the desktop meets ``app/``. Start-up order matters: the window must be on
screen at the speed of a bare Qt window, so nothing here imports the catalog (SQLAlchemy, Alembic, the
scanner) at module level. The ``AppContext`` is created on first use, which the window schedules right
after it is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from app.settings import Settings, SettingsStore, resolve_data_dir
from core.jobs import CancelToken, ProgressCallback
from desktop.services import AssetLibrary, DesktopServices, Stoppable

if TYPE_CHECKING:
    from app.context import AppContext
    from catalog.records import RootRecord


class PersistentSettings:
    """A mutable view of the frozen ``Settings`` for the dialogs; ``save`` writes them atomically."""

    def __init__(self, store: SettingsStore) -> None:
        self._store = store
        self._values: dict[str, Any] = {}
        self._reload()

    def _reload(self) -> None:
        current = self._store.load()
        self._values = {f.name: getattr(current, f.name) for f in fields(Settings)}

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            super().__setattr__(name, value)
        elif name in self._values:
            self._values[name] = value
        else:
            raise AttributeError(f"unknown setting {name!r}")

    def save(self) -> None:
        self._store.save(Settings(**self._values))
        self._reload()  # pick up the clamping done on load


class DeferredContext:
    """Creates the ``AppContext`` (and so opens the catalog) the first time something needs it."""

    def __init__(self, data_dir: str | Path | None) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self._context: AppContext | None = None

    @property
    def context(self) -> AppContext:
        if self._context is None:
            from app.context import AppContext

            self._context = AppContext(self.data_dir)
        return self._context

    def close(self) -> None:
        if self._context is not None:
            self._context.close()


class _LibraryOnFirstUse:
    """Stands in for ``catalog.Library`` and opens it on the first call of any of its methods."""

    def __init__(self, deferred: DeferredContext) -> None:
        self._deferred = deferred

    def __getattr__(self, name: str) -> Any:
        return getattr(self._deferred.context.library, name)


def build_services(deferred: DeferredContext) -> DesktopServices:
    """Wire the (deferred) context's jobs into the shape the window expects."""

    def scan_roots(root_ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken) -> object:
        return deferred.context.scan(root_ids, progress=progress, cancel=cancel)

    def hash_pending(progress: ProgressCallback, cancel: CancelToken) -> object:
        return deferred.context.hash_pending(progress=progress, cancel=cancel)

    def discover_folders() -> list[tuple[Path, str]]:
        return [(found.path, found.layout.value) for found in deferred.context.discover_folders()]

    def add_root(path: Path) -> RootRecord:
        return deferred.context.add_root(path)

    def start_watching(on_change: Callable[[], None]) -> Stoppable:
        return deferred.context.watch(lambda _roots: on_change())

    return DesktopServices(
        library=cast("AssetLibrary", _LibraryOnFirstUse(deferred)),
        settings=PersistentSettings(SettingsStore(deferred.data_dir)),
        scan_roots=scan_roots,
        hash_pending=hash_pending,
        discover_folders=discover_folders,
        add_root=add_root,
        cache_dir=deferred.data_dir / "cache" / "thumbnails",
        start_watching=start_watching,
    )


def launch_gui(data_dir: str | Path | None, argv: list[str]) -> int:
    """Open the main window on the given profile; returns the process exit code."""
    from desktop.app import run_gui

    deferred = DeferredContext(data_dir)
    try:
        return run_gui(build_services(deferred), argv)
    finally:
        deferred.close()
