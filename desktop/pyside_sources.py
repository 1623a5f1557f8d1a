"""PySide6 looks into every module imported after it; this makes that look one plain file read.

Once ``PySide6.QtCore`` is loaded, PySide asks of each module imported afterwards whether its source
mentions "PySide6" (``shibokensupport.feature._mod_uses_pyside``), to know which modules may use its
``from __feature__ import snake_case`` switches (Atelier uses none). It answers with
``inspect.getsource``: the file through ``linecache`` and ``tokenize`` (encoding detection, a list of
lines kept in memory), about 0.2 ms a module. The window's first frame imports some 80 modules after
Qt, and the catalog read right after it several hundred (SQLAlchemy's): milliseconds a bare Qt window
does not pay. The same question is answered here by searching the file's bytes; anything that is not a
readable ``.py`` file (a builtin, a zip import, bytecode alone) goes to PySide's own check, so every
module gets PySide's answer.

``desktop/__init__.py`` installs it, so it is in place before any of the window's modules is imported.
A PySide without this hook (a later release) is left as it is.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

import PySide6.QtCore  # noqa: F401 - loads PySide's import hook (shibokensupport.feature)

_FEATURE_MODULE = "shibokensupport.feature"
_CHECK = "_mod_uses_pyside"
_NEEDLE = b"PySide6"


def _source_file(module: ModuleType) -> str | None:
    path = getattr(module, "__file__", None)
    return path if isinstance(path, str) and path.endswith(".py") else None


def uses_pyside(module: ModuleType, fallback: Callable[[ModuleType], bool]) -> bool:
    """Whether ``module``'s source mentions PySide6: its file's bytes, or ``fallback`` (PySide's own
    check) for a module without a readable ``.py`` file."""
    path = _source_file(module)
    if path is not None:
        try:
            with open(path, "rb") as source:
                return _NEEDLE in source.read()
        except OSError:
            pass
    return fallback(module)


def read_sources_quickly() -> bool:
    """Puts the plain file read in place of PySide's per-import source check; True when it is in place
    (now or before), False where this PySide has no such check."""
    feature = sys.modules.get(_FEATURE_MODULE)
    original = getattr(feature, _CHECK, None)
    if feature is None or not callable(original):
        return False
    if getattr(original, "reads_files", False):
        return True

    def check(module: ModuleType) -> bool:
        return uses_pyside(module, original)

    check.reads_files = True  # type: ignore[attr-defined]
    setattr(feature, _CHECK, check)
    return True
