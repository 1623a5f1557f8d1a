"""The settings of a running app as one live, editable object.

``Settings`` is frozen so a value read once cannot change under a job's feet; a running window, though,
needs one object that the dialogs edit and save and that every service reads the current value from
(the download folder, the Civitai host, the NSFW level...). ``LiveSettings`` is that object: attribute
reads give the current value, assignments change it in memory, ``save`` writes ``settings.json``
atomically and picks up the clamping the store applies on load. The CLI reads the same object.

In a read-only data folder nothing can be written: ``save`` then keeps the values for this session only
(the window says the folder is read-only), instead of failing in whatever dialog or toggle called it.
"""

from __future__ import annotations

from typing import Any

from app.settings import Settings, SettingsStore


class LiveSettings:
    """A mutable view of ``Settings`` over a ``SettingsStore``; unknown names are errors, not new keys."""

    def __init__(self, store: SettingsStore, *, read_only: bool = False) -> None:
        self._store = store
        self._read_only = read_only
        self._values: dict[str, Any] = {}
        self.reload()

    def reload(self) -> None:
        """Read ``settings.json`` again (after another program or profile wrote it)."""
        current = self._store.load()
        self._values = current._asdict()

    def snapshot(self) -> Settings:
        """The current values as a frozen ``Settings`` (what a job reads once and keeps)."""
        return Settings(**self._values)

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

    @property
    def read_only(self) -> bool:
        """Changes last for this session only: the data folder cannot be written."""
        return self._read_only

    def save(self) -> None:
        if self._read_only:
            return
        self._store.save(self.snapshot())
        self.reload()  # pick up the clamping done on load
