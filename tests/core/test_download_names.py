"""core.download_names: names from servers are hostile input; they must stay one safe component."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core import windows_paths
from core.download_names import (
    FALLBACK_NAME,
    MAX_NAME_BYTES,
    NAME_MAX_BYTES,
    choose_file_name,
    file_name_from_content_disposition,
    file_name_from_url,
    free_path,
    part_name,
    sanitize_file_name,
)
from core.sources.errors import PathTooLongError


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="model.safetensors"', "model.safetensors"),
        ("attachment; filename=plain.ckpt", "plain.ckpt"),
        ("attachment; filename*=UTF-8''caf%C3%A9.safetensors", "café.safetensors"),
        ("attachment; filename=\"fallback.bin\"; filename*=UTF-8''r%C3%A9al.bin", "réal.bin"),
        ("inline", None),
        ("", None),
        (None, None),
    ],
)
def test_content_disposition(header: str | None, expected: str | None) -> None:
    assert file_name_from_content_disposition(header) == expected


def test_url_names() -> None:
    assert file_name_from_url("https://h/a/b/My%20Lora.safetensors?token=x") == "My Lora.safetensors"
    assert file_name_from_url("https://h/") is None
    assert file_name_from_url("https://h") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../x.safetensors", "x.safetensors"),
        ("/etc/x", "x"),
        ("..\\..\\win.ckpt", "win.ckpt"),
        ("..", FALLBACK_NAME),
        ("", FALLBACK_NAME),
        ("a\x00b\x1fc.pt", "a_b_c.pt"),
        ("CON", "_CON"),
        ("com1.safetensors", "_com1.safetensors"),
        ("lpt9.txt", "_lpt9.txt"),
        ("name. . ", "name"),
        (".hidden", "hidden"),
        ('we<ird>:"|?*.bin', "we_ird______.bin"),
    ],
)
def test_sanitize(raw: str, expected: str) -> None:
    assert sanitize_file_name(raw) == expected


def test_long_names_keep_their_extension() -> None:
    name = sanitize_file_name("é" * 300 + ".safetensors")
    assert name.endswith(".safetensors")
    assert len(name.encode()) <= MAX_NAME_BYTES


def test_choose_prefers_header_then_hint_then_url() -> None:
    assert choose_file_name('attachment; filename="h.bin"', ["https://x/u.bin"], "hint.bin") == "h.bin"
    assert choose_file_name(None, ["https://x/u.bin"], "hint.bin") == "hint.bin"
    assert choose_file_name(None, ["https://x/", "https://y/u.bin"]) == "u.bin"
    assert choose_file_name(None, ["https://x/"]) == FALLBACK_NAME


def test_free_path_never_reuses_an_existing_name(tmp_path: Path) -> None:
    assert free_path(tmp_path, "m.safetensors") == tmp_path / "m.safetensors"
    (tmp_path / "m.safetensors").write_bytes(b"x")
    (tmp_path / "m (1).safetensors.part").write_bytes(b"x")
    assert free_path(tmp_path, "m.safetensors") == tmp_path / "m (1).safetensors"
    assert free_path(tmp_path, "m.safetensors", also_free=(".part",)) == tmp_path / "m (2).safetensors"
    (tmp_path / "noext").write_bytes(b"x")
    assert free_path(tmp_path, "noext") == tmp_path / "noext (1)"


def test_moving_into_place_never_overwrites(tmp_path: Path) -> None:
    from core.download_names import move_to_free_name

    (tmp_path / "model.safetensors").write_bytes(b"someone else's file")
    part = tmp_path / "model.safetensors.part"
    part.write_bytes(b"ours")

    final = move_to_free_name(part, tmp_path, "model.safetensors")

    assert final.name == "model (1).safetensors"
    assert final.read_bytes() == b"ours"
    assert (tmp_path / "model.safetensors").read_bytes() == b"someone else's file"
    assert not part.exists()


def test_the_new_name_is_announced_while_both_names_hold_the_file(tmp_path: Path) -> None:
    """The queue records where the file is before the old name goes: a kill at any point leaves the
    file under a name someone knows."""
    from core.download_names import move_to_free_name

    part = tmp_path / "model.safetensors.part"
    part.write_bytes(b"ours")
    seen: list[tuple[bool, bool]] = []

    final = move_to_free_name(
        part, tmp_path, "model.safetensors", lambda path: seen.append((part.exists(), path.exists()))
    )

    assert seen == [(True, True)]
    assert final.read_bytes() == b"ours"
    assert not part.exists()


def test_a_link_left_by_a_killed_move_is_taken_as_the_move(tmp_path: Path) -> None:
    """A process killed after linking the file to its name but before removing the ``.part``: moving the
    ``.part`` again ends at that name, never at a second copy ``model (1)``."""
    import os

    from core.download_names import move_to_free_name

    part = tmp_path / "model.safetensors.part"
    part.write_bytes(b"ours")
    os.link(part, tmp_path / "model.safetensors")

    final = move_to_free_name(part, tmp_path, "model.safetensors")

    assert final == tmp_path / "model.safetensors"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_a_partial_name_never_passes_the_file_systems_limit(tmp_path: Path) -> None:
    """255 bytes is the most a name may have: ``name.part`` for a 255-byte name is shortened, the same
    way every time (a restart finds it again), and two long names never share a partial file."""
    name = "é" * 121 + ".safetensors"  # 254 bytes: a real file system takes it, but not with ".part"
    assert len(name.encode()) == NAME_MAX_BYTES - 1
    part = part_name(name, ".part")
    assert len(part.encode()) <= NAME_MAX_BYTES
    assert part.endswith(".part")
    assert part == part_name(name, ".part")
    assert part != part_name("é" * 121 + ".safetensorz", ".part")
    (tmp_path / part).write_bytes(b"kept")  # the file system accepts it
    assert part_name("model.safetensors", ".part") == "model.safetensors.part"


def test_numbered_names_of_long_names_fit_too(tmp_path: Path) -> None:
    name = "a" * (NAME_MAX_BYTES - len(".safetensors")) + ".safetensors"
    (tmp_path / name).write_bytes(b"x")
    second = free_path(tmp_path, name, also_free=(".part",))
    assert second.name.endswith(" (1).safetensors")
    assert len(second.name.encode()) <= NAME_MAX_BYTES
    second.write_bytes(b"y")


def test_partial_paths_stay_within_the_name_limit_and_are_stable(tmp_path: Path) -> None:
    from core.download_names import partial_path

    short = tmp_path / "model.safetensors"
    assert partial_path(short, ".atelier-part") == tmp_path / "model.safetensors.atelier-part"
    assert partial_path(short, ".atelier-part", hidden=True) == tmp_path / ".model.safetensors.atelier-part"
    long_name = tmp_path / ("ü" * 120 + ".safetensors")  # 252 bytes
    partial = partial_path(long_name, ".atelier-part", hidden=True)
    assert len(partial.name.encode()) <= 255
    assert partial.name.startswith(".ü")
    assert partial.name.endswith(".atelier-part")
    assert partial == partial_path(long_name, ".atelier-part", hidden=True), "the same name on every run"
    undecodable = tmp_path / ("\udcff" * 250 + ".bin")
    assert len(os.fsencode(partial_path(undecodable, ".atelier-part").name)) <= 255


def _take_windows_limits(monkeypatch: pytest.MonkeyPatch, long_paths_setting: int | None = None) -> None:
    monkeypatch.setattr(windows_paths, "WINDOWS", True)
    monkeypatch.setattr(windows_paths, "read_long_paths_setting", lambda: long_paths_setting)


def _folder_of_length(base: Path, length: int) -> Path:
    folder = str(base)
    while len(folder) < length:
        folder += "/" + "d" * min(100, length - len(folder) - 1)
    return Path(folder)


def test_on_windows_a_part_path_past_max_path_is_refused_before_anything_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _take_windows_limits(monkeypatch)
    name = "detail_tweaker.safetensors"
    folder = _folder_of_length(tmp_path, 259 - len(name) - len(".part") - 1)  # the .part: exactly 259
    assert free_path(folder, name, also_free=(".part",)) == folder / name
    deeper = _folder_of_length(tmp_path, len(str(folder)) + 1)
    with pytest.raises(PathTooLongError) as refused:
        free_path(deeper, name, also_free=(".part",))
    assert refused.value.message == (
        f"Cannot download into {deeper}: the path of {name}.part would be 260 characters, more than the "
        "259 Windows allows. Enable long paths in Windows (LongPathsEnabled), or choose a shorter download "
        "folder or subfolder template (Settings › Sites)."
    )
    assert not refused.value.retryable
    assert not deeper.exists()


def test_on_windows_a_download_folder_past_the_folder_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _take_windows_limits(monkeypatch)
    folder = _folder_of_length(tmp_path, 248)  # CreateDirectory takes 247 characters at most
    with pytest.raises(PathTooLongError, match="more than the 247 Windows allows for a folder"):
        free_path(folder, "x.pt", also_free=(".part",))  # x.pt.part: 258 characters, a file would fit
    folder.mkdir(parents=True)  # made by a program that handles long paths: files in it still fit
    assert free_path(folder, "x.pt", also_free=(".part",)) == folder / "x.pt"


def test_with_long_paths_enabled_or_off_windows_deep_downloads_are_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder_of_length(tmp_path, 400)
    _take_windows_limits(monkeypatch, long_paths_setting=1)
    assert free_path(folder, "m.safetensors", also_free=(".part",)) == folder / "m.safetensors"
    monkeypatch.setattr(windows_paths, "WINDOWS", False)
    monkeypatch.setattr(windows_paths, "read_long_paths_setting", lambda: None)
    assert free_path(folder, "m.safetensors", also_free=(".part",)) == folder / "m.safetensors"
