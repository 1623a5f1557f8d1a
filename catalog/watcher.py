"""Watching library roots so that files added while the app runs appear by themselves.

watchdog reports every write of a growing download; reacting to each would rescan constantly. Events are
therefore filtered (only model files and diffusers folders count, partial downloads do not) and
debounced: the callback fires once per root after ``quiet_s`` seconds without further events, from the
watcher's own thread. The callback is expected to run an incremental scan, which is cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from catalog.examine import SIDECAR_SUFFIXES
from core.layouts import MODEL_FILE_SUFFIXES, is_ignored_file

RootsChanged = Callable[[set[int]], None]


class _RootHandler(FileSystemEventHandler):
    def __init__(self, watcher: LibraryWatcher, root_id: int) -> None:
        self._watcher = watcher
        self._root_id = root_id

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            # Writing any file "modifies" its folder; only folders that appear or vanish can hold models.
            if event.event_type in ("created", "moved", "deleted"):
                self._watcher.touch(self._root_id)
            return
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if any(_is_relevant(str(p)) for p in paths if p):
            self._watcher.touch(self._root_id)


def _is_relevant(path: str) -> bool:
    p = Path(path)
    if p.name == "model_index.json" or p.name.lower().endswith(SIDECAR_SUFFIXES):
        return True  # a sidecar or preview next to a model is imported by the rescan
    return p.suffix.lower() in MODEL_FILE_SUFFIXES and not is_ignored_file(p)


class LibraryWatcher:
    """Watches root folders recursively and reports which roots changed, debounced."""

    def __init__(self, on_change: RootsChanged, *, quiet_s: float = 1.5) -> None:
        self._on_change = on_change
        self._quiet_s = quiet_s
        self._lock = threading.Lock()
        self._pending: set[int] = set()
        self._timer: threading.Timer | None = None
        self._observer: BaseObserver | None = None

    def start(self, roots: Mapping[int, Path]) -> None:
        """(Re)start watching exactly these roots; roots that do not exist are skipped."""
        self.stop()
        observer = Observer()
        for root_id, path in roots.items():
            if path.is_dir():
                observer.schedule(_RootHandler(self, root_id), str(path), recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._pending.clear()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    def touch(self, root_id: int) -> None:
        """Note a change under a root and (re)arm the debounce timer."""
        with self._lock:
            self._pending.add(root_id)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._quiet_s, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            changed, self._pending = self._pending, set()
            self._timer = None
        if changed:
            self._on_change(changed)
