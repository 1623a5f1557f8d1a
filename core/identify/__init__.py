"""What a model file is, decided from its header alone, with the reasons."""

from __future__ import annotations

from core.identify.engine import identify
from core.identify.result import Identification

__all__ = ["Identification", "identify"]
