"""Windows' device names, one list for downloads and templates: the console's ``CONIN$``/``CONOUT$`` and
the superscript port names Windows also reserves are in it."""

from __future__ import annotations

import pytest

from core.download_names import sanitize_file_name
from core.organize.template import sanitize_name
from core.windows_names import is_reserved_name


@pytest.mark.parametrize(
    "name",
    ["CONIN$", "conout$.txt", "COM¹", "com².safetensors", "COM³", "LPT¹", "lpt².bin", "LPT³ .x", "aux"],
)
def test_device_names_are_reserved_and_never_made(name: str) -> None:
    assert is_reserved_name(name)
    assert not is_reserved_name(sanitize_name(name))
    assert not is_reserved_name(sanitize_file_name(name))


@pytest.mark.parametrize("name", ["COM", "COM10", "LPT⁴", "CONIN", "console", "nul_.txt", "x.CON"])
def test_near_misses_are_ordinary_names(name: str) -> None:
    assert not is_reserved_name(name)
    assert sanitize_name(name) == name
