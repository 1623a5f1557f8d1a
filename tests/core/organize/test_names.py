"""Names typed for a rename: what is refused everywhere, and what only Windows refuses (taken on Linux
through ``WINDOWS_NAME_RULES``): its forbidden characters, device names and a trailing dot or space."""

from __future__ import annotations

import pytest

from core.organize import names
from core.organize.names import name_refusal


def _refusal(name: str) -> str | None:
    return name_refusal(name, how_to_move="use Move to…")


@pytest.mark.parametrize("windows", [False, True], ids=["linux", "windows"])
def test_what_is_refused_everywhere(monkeypatch: pytest.MonkeyPatch, windows: bool) -> None:
    monkeypatch.setattr(names, "WINDOWS_NAME_RULES", windows)
    assert _refusal("  ") == "type a name"
    assert _refusal("sub/x.safetensors") == "a name cannot contain “/”: to move the file, use Move to…"
    assert _refusal("a\0b") == "a name cannot contain a null character"
    assert _refusal("..") == "“..” is not a file name"
    assert _refusal("ñandú lora (v2).safetensors") is None


WINDOWS_ONLY = [
    ("a:b.safetensors", "Windows does not allow “:” in a name"),
    ('say "hi".safetensors', 'Windows does not allow “"” in a name'),
    ("why?.safetensors", "Windows does not allow “?” in a name"),
    ("tab\there.safetensors", "Windows does not allow the control character 0x09 in a name"),
    ("a\\b.safetensors", "a name cannot contain “\\”: to move the file, use Move to…"),
    ("CON", "Windows keeps “CON” for a device"),
    ("nul.safetensors", "Windows keeps “nul” for a device"),
    ("Com1 .safetensors", "Windows keeps “Com1” for a device"),
    ("conin$.txt", "Windows keeps “conin$” for a device"),
    ("LPT¹.safetensors", "Windows keeps “LPT¹” for a device"),
    ("model.", "Windows drops a dot or space at the end of a name: remove it"),
    ("model ", "Windows drops a dot or space at the end of a name: remove it"),
]


@pytest.mark.parametrize(("name", "said"), WINDOWS_ONLY)
def test_on_windows_names_windows_would_not_keep_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, said: str
) -> None:
    monkeypatch.setattr(names, "WINDOWS_NAME_RULES", True)
    refusal = _refusal(name)
    assert refusal is not None
    assert refusal.startswith(said)
    assert "\n" not in refusal


@pytest.mark.parametrize(("name", "said"), WINDOWS_ONLY)
def test_elsewhere_they_are_ordinary_names(monkeypatch: pytest.MonkeyPatch, name: str, said: str) -> None:
    monkeypatch.setattr(names, "WINDOWS_NAME_RULES", False)
    assert _refusal(name) is None, said


def test_on_windows_near_misses_of_device_names_are_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(names, "WINDOWS_NAME_RULES", True)
    for name in ("COM10.safetensors", "console.safetensors", "my CON.safetensors", ".hidden", "a.b.c"):
        assert _refusal(name) is None, name
