"""Starts the desktop app: composes ``DesktopServices`` from an ``AppContext`` and runs the window.

This is the only place where the desktop meets ``app/``; widgets see just the ``DesktopServices`` bundle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from app.context import AppContext
from app.settings import Settings
from catalog.records import RootRecord
from catalog.watcher import LibraryWatcher
from core.jobs import CancelToken, ProgressCallback
from desktop.services import DesktopServices


class PersistentSettings:
    """A mutable view of the frozen ``Settings`` for the settings dialog; ``save`` writes them atomically."""

    def __init__(self, context: AppContext) -> None:
        self._context = context
        self._values: dict[str, Any] = {}
        self._reload()

    def _reload(self) -> None:
        current = self._context.load_settings()
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
        self._context.save_settings(Settings(**self._values))
        self._reload()  # pick up the clamping done on load


def build_services(context: AppContext) -> DesktopServices:
    """Wire the context's jobs into the shape the window expects."""

    def scan_roots(root_ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken) -> object:
        return context.scan(root_ids, progress=progress, cancel=cancel)

    def hash_pending(progress: ProgressCallback, cancel: CancelToken) -> object:
        return context.hash_pending(progress=progress, cancel=cancel)

    def discover_folders() -> list[tuple[Path, str]]:
        return [(found.path, found.layout.value) for found in context.discover_folders()]

    def add_root(path: Path) -> RootRecord:
        return context.add_root(path)

    def start_watching(on_change: Callable[[], None]) -> LibraryWatcher:
        return context.watch(lambda _roots: on_change())

    return DesktopServices(
        library=context.library,
        settings=PersistentSettings(context),
        scan_roots=scan_roots,
        hash_pending=hash_pending,
        discover_folders=discover_folders,
        add_root=add_root,
        cache_dir=context.cache_dir / "thumbnails",
        start_watching=start_watching,
    )


def launch_gui(data_dir: str | Path | None, argv: list[str]) -> int:
    """Open the main window on the given profile; returns the process exit code."""
    from desktop.app import run_gui

    context = AppContext(data_dir)
    try:
        return run_gui(build_services(context), argv)
    finally:
        context.close()
