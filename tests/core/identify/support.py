"""Shared helpers for the identification tests: identify a factory case, check the common expectations."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.identify import Identification, identify
from tests.factory.models import ModelCase, to_header


def identify_case(case: ModelCase, read_tensor: Callable[[str], np.ndarray] | None = None) -> Identification:
    return identify(to_header(case), read_tensor)


def has_reason(result: Identification, fragment: str) -> bool:
    return any(fragment in reason for reason in result.reasons)


def reasons_text(result: Identification) -> str:
    return "\n".join(result.reasons)
