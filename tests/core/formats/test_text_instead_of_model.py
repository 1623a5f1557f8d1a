"""A download that saved a page or a message under a model's name is said to be that text, not a header
that "claims 5,789,751,444,030,890,300 bytes" (the first 8 bytes of ``<!DOCTYP`` read as a length)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.formats.model_file import CorruptFileError
from core.formats.reader import read_file_header, read_header
from core.formats.safetensors_header import read_safetensors_header

HTML = b"<!DOCTYPE html><html><body>Login required</body></html>"


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        (
            "page.safetensors",
            HTML,
            "the file is an HTML page, not a safetensors file: was the download a login",
        ),
        ("page.safetensors", b"\n  <html lang=en>" + b"x" * 3000, "an HTML page, not a safetensors file"),
        (
            "lfs.safetensors",
            b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\n",
            "Git LFS pointer",
        ),
        ("error.safetensors", b'{"error": "Unauthorized"}', "JSON text, not a safetensors file"),
        ("gone.safetensors", b"Not Found", "plain text, not a safetensors file"),
        ("page.ckpt", HTML, "an HTML page, not a model file"),
    ],
)
def test_text_under_a_model_name_is_said_to_be_text(
    tmp_path: Path, name: str, content: bytes, said: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    for read in (read_header, read_file_header):
        with pytest.raises(CorruptFileError) as caught:
            read(path)
        assert said in caught.value.reason


def test_the_safetensors_reader_alone_says_it_too(tmp_path: Path) -> None:
    path = tmp_path / "page.safetensors"
    path.write_bytes(HTML)
    with pytest.raises(CorruptFileError, match="an HTML page"):
        read_safetensors_header(path)


def test_binary_garbage_keeps_its_header_length_reason(tmp_path: Path) -> None:
    path = tmp_path / "noise.safetensors"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CorruptFileError) as caught:
        read_header(path)
    assert "header claims" in caught.value.reason
