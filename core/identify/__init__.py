"""What a model file is, decided from its header alone, with the reasons.

``identify`` is loaded on first use: code that only needs the ``Identification`` record (the catalog,
the GUI at start-up) should not pay for importing every matcher.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.identify.result import Identification

if TYPE_CHECKING:
    from core.identify.engine import identify

__all__ = ["Identification", "identify"]


def __getattr__(name: str) -> Any:
    if name == "identify":
        from core.identify.engine import identify

        return identify
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
