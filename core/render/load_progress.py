"""Progress while diffusers builds a pipeline: one report per component as it is loaded.

diffusers loads a pipeline (``from_pretrained`` for a folder, ``from_single_file`` for one file) by
walking its components in one loop, and offers no callback; its only sign of life is a progress bar
made by ``diffusers.utils.logging.tqdm``. :func:`component_progress` observes that loop: while it is
active on a thread, the loop of that thread reports each component (UNet, text encoders, VAE ...) as
it starts and when all are done. The factory is wrapped once, and behaves exactly as before for every
other caller, bar and thread, so nothing else in the process changes.

Only the pipeline component loop is observed (by its description, ``Loading pipeline components...``);
if a future diffusers renames it, loads still work and simply report no per-component steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from core.jobs import Progress, ProgressCallback
from core.render.phases import component_name

_COMPONENT_LOOP = "Loading pipeline components..."
_local = threading.local()
_install_lock = threading.Lock()

Labeller = Callable[[str], str]


class _ObservedTqdm:
    """Stands in for diffusers' tqdm factory: hands the component loop of an observed thread to it."""

    def __init__(self, original: Any) -> None:
        self._original = original

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        observer: _Observer | None = getattr(_local, "observer", None)
        if observer is not None and kwargs.get("desc") == _COMPONENT_LOOP and args:
            return observer.wrap(args[0])
        return self._original(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # set_lock / get_lock
        return getattr(self._original, name)


class _Observer:
    def __init__(self, progress: ProgressCallback, message: Labeller, extra_steps: int) -> None:
        self._progress = progress
        self._message = message
        self._extra = extra_steps
        self.components = 0

    def wrap(self, iterable: Iterable[Any]) -> Iterator[Any]:
        items = list(iterable)
        total = len(items) + self._extra
        self.components = len(items)
        for index, item in enumerate(items):
            name = item[0] if isinstance(item, tuple) and item and isinstance(item[0], str) else ""
            self._progress(Progress(index, total, self._message(component_name(name))))
            yield item
        self._progress(Progress(len(items), total, self._message("")))


def _install() -> None:
    """Wrap diffusers' tqdm factory, once per process (it is the wrapper when already installed)."""
    with _install_lock:
        from diffusers.utils import logging as diffusers_logging

        if not isinstance(diffusers_logging.tqdm, _ObservedTqdm):
            diffusers_logging.tqdm = _ObservedTqdm(diffusers_logging.tqdm)  # type: ignore[assignment]


@contextmanager
def component_progress(
    progress: ProgressCallback, message: Labeller, *, extra_steps: int = 0
) -> Iterator[_Observer]:
    """Report each pipeline component diffusers loads on this thread while the block runs.

    Reports go as ``Progress(i, components + extra_steps, message(component))``; ``extra_steps`` are
    the caller's own steps after the components (moving the weights to the GPU ...). The observer
    yielded tells how many components were seen, so the caller can number its own steps after them.
    """
    _install()
    observer = _Observer(progress, message, extra_steps)
    previous = getattr(_local, "observer", None)
    _local.observer = observer
    try:
        yield observer
    finally:
        _local.observer = previous
