"""Python's own ``__import__`` back in place once PySide6 is loaded: Atelier switches no PySide features.

Loading ``PySide6.QtCore`` replaces ``builtins.__import__`` with PySide's ``__feature_import__``, which
serves ``from __feature__ import snake_case`` (and ``true_property``). It runs for every import statement
the process executes afterwards, including ``from x import y`` of a module already loaded: a Python call
that looks at the caller's frame, the import itself, then a second Python call that, for each module new
to it, reads the module's source to see whether it mentions "PySide6" (``inspect.getsource``: the file
through ``linecache`` and ``tokenize``). The window's first frame imports some 80 modules after Qt, the
catalog's first read several hundred (SQLAlchemy), the first render a few thousand (torch, diffusers):
work a bare Qt window does not do, for a switch Atelier never uses (a test keeps it so).

Without the hook, a module is simply absent from PySide's feature table, which PySide reads as "no
feature switched" (``getFeatureSelectId`` keeps the last selection, 0 unless a module selected one).
Until 2026-12-06 Atelier kept the hook and replaced its source check with a plain file read; the hook's
own call per import statement stayed.

``desktop/__init__.py`` calls it, so it is in place before any of the window's modules is imported. A
PySide without this hook (a later release) is left as it is.
"""

from __future__ import annotations

import builtins

import PySide6.QtCore  # noqa: F401 - installs PySide's import hook, taken off here

_HOOK = "__feature_import__"
_ORIGINAL = "__orig_import__"


def without_feature_imports() -> bool:
    """Puts Python's own ``__import__`` back where PySide's feature hook replaced it; True when the hook
    is off (now or before), False where this PySide installed no such hook (or something else has
    replaced ``__import__`` since: left as it is)."""
    hook = getattr(builtins, _HOOK, None)
    original = getattr(builtins, _ORIGINAL, None)
    if original is None or hook is None:
        return False
    if builtins.__import__ is original:
        return True
    if builtins.__import__ is not hook:
        return False
    builtins.__import__ = original
    return True
