"""Names typed for a rename: what is refused everywhere, and what only Windows refuses (taken on Linux
through ``WINDOWS_NAME_RULES``): its forbidden characters, device names and a trailing dot or space."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import UsageError
from core.organize import names
from core.organize.names import NameRefusedError, name_refusal, refuse_skipped_targets, skipped_target_refusal


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
    for name in ("COM10.safetensors", "console.safetensors", "my CON.safetensors", "a.b.c"):
        assert _refusal(name) is None, name


@pytest.mark.parametrize("windows", [False, True], ids=["linux", "windows"])
def test_a_hidden_name_is_refused_everywhere(monkeypatch: pytest.MonkeyPatch, windows: bool) -> None:
    """A name starting with "." hides the file: the next scan skipped it, marked it missing, and it left
    the library while still on disk."""
    monkeypatch.setattr(names, "WINDOWS_NAME_RULES", windows)
    assert _refusal(".dotname") == (
        "“.dotname” would be hidden: scans (and A1111 and ComfyUI) skip hidden files and folders, "
        "so it would leave the library"
    )
    assert _refusal("...x.safetensors") is not None


def test_a_move_into_a_folder_scans_skip_is_refused(tmp_path: Path) -> None:
    root, other = tmp_path / "models", tmp_path / "models" / "Lora" / "nested root"
    roots = [root, other]
    assert skipped_target_refusal(root / "Lora" / "sub dir" / "x.safetensors", roots) is None
    hidden = skipped_target_refusal(root / "Lora" / ".hidden" / "deeper" / "x.safetensors", roots)
    assert hidden == (
        f"{root / 'Lora' / '.hidden'} is hidden: scans (and A1111 and ComfyUI) skip hidden files and "
        "folders, so the file would leave the library: choose another folder"
    )
    skipped = skipped_target_refusal(root / "node_modules" / "x.safetensors", roots)
    assert skipped is not None
    assert skipped.startswith(f"scans skip {root / 'node_modules'} ")
    assert skipped_target_refusal(root / "Lora" / ".x.safetensors", roots) is not None
    # the library folder itself may be hidden: only what lies inside it counts
    assert skipped_target_refusal(tmp_path / ".models" / "x.safetensors", [tmp_path / ".models"]) is None
    assert skipped_target_refusal(tmp_path / "elsewhere" / ".x" / "y.pt", roots) is None  # the engine's
    with pytest.raises(NameRefusedError, match="is hidden") as refused:
        refuse_skipped_targets([root / "a.pt", other / ".b" / "c.pt"], roots)
    assert isinstance(refused.value, UsageError)  # exit 2: the user asks again differently
