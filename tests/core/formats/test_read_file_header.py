"""The scan's reader checks a path with one ``stat`` and opens it once: whatever is not a regular file is
refused with the same reason the separate check gave before it, and nothing but a regular file is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.formats.errors import UnreadableFileError
from core.formats.reader import read_file_header, read_header
from core.formats.safe_open import check_regular, open_regular
from tests.factory.safetensors_writer import write_safetensors


def _reason_of_check(path: Path) -> str:
    with pytest.raises(UnreadableFileError) as caught:
        check_regular(path)
    return caught.value.reason


def _reason_of_read(path: Path) -> str:
    with pytest.raises(UnreadableFileError) as caught:
        read_file_header(path)
    return caught.value.reason


def test_a_regular_file_reads_as_read_header_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    write_safetensors(path, {"emb_params": ("F32", (2, 768))}, metadata={"a": "b"})

    assert read_file_header(path) == read_header(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)  # opening it for reading would block until a writer came: the test would hang

    assert _reason_of_read(fifo) == "a named pipe (FIFO), not a file; it was not opened"


def test_a_folder_a_missing_file_and_broken_links_say_what_the_check_said(tmp_path: Path) -> None:
    folder = tmp_path / "folder.safetensors"
    folder.mkdir()
    dangling = tmp_path / "dangling.safetensors"
    dangling.symlink_to(tmp_path / "nowhere.safetensors")
    loop = tmp_path / "loop.safetensors"
    loop.symlink_to(loop)
    missing = tmp_path / "gone.safetensors"

    for path in (folder, dangling, loop, missing):
        assert _reason_of_read(path) == _reason_of_check(path)
    assert _reason_of_read(folder) == "a folder, not a file; it was not opened"
    assert _reason_of_read(missing) == "cannot read the file: No such file or directory"
    assert "which does not exist" in _reason_of_read(dangling)


def test_open_regular_still_tells_a_missing_file_from_a_broken_link(tmp_path: Path) -> None:
    dangling = tmp_path / "dangling.safetensors"
    dangling.symlink_to(tmp_path / "nowhere.safetensors")

    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "gone.safetensors")
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "no-folder" / "gone.safetensors")
    with pytest.raises(UnreadableFileError, match="which does not exist"):
        open_regular(dangling)
    with pytest.raises(UnreadableFileError, match="a folder, not a file"):
        open_regular(tmp_path)
