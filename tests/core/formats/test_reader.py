from __future__ import annotations

import contextlib
import json
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from core.formats.model_file import CorruptFileError, FormatError, UnsafeFileError
from core.formats.reader import MODEL_EXTENSIONS, read_header
from core.taxonomy import FileFormat
from tests.factory.files import (
    write_a1111_embedding,
    write_diffusers_vae,
    write_gguf,
    write_malicious_pickle,
    write_raw_safetensors,
)
from tests.factory.safetensors_writer import write_safetensors

ROOT = Path(__file__).resolve().parents[3]


def test_model_extensions() -> None:
    assert set(MODEL_EXTENSIONS) == {".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft"}


def test_errors_share_a_base_class() -> None:
    assert issubclass(CorruptFileError, FormatError)
    assert issubclass(UnsafeFileError, FormatError)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("model.safetensors", FileFormat.SAFETENSORS),
        ("flux.sft", FileFormat.SAFETENSORS),
        ("renamed.bin", FileFormat.SAFETENSORS),
        ("renamed.ckpt", FileFormat.SAFETENSORS),
    ],
)
def test_safetensors_is_recognised_by_content(tmp_path: Path, name: str, expected: FileFormat) -> None:
    path = write_safetensors(tmp_path / name, {"w": ("F16", (4, 4))})

    assert read_header(path).format is expected


@pytest.mark.parametrize(
    ("name", "legacy", "expected"),
    [
        ("emb.pt", False, FileFormat.PT),
        ("emb.pth", True, FileFormat.PT),
        ("model.ckpt", False, FileFormat.CKPT),
        ("pytorch_model.bin", False, FileFormat.BIN),
        ("legacy.bin", True, FileFormat.BIN),
    ],
)
def test_pickles_are_filed_by_extension(
    tmp_path: Path, name: str, legacy: bool, expected: FileFormat
) -> None:
    header = read_header(write_a1111_embedding(tmp_path / name, legacy=legacy))

    assert header.format is expected
    assert "string_to_param.*" in header.tensors


def test_gguf_by_content_and_extension(tmp_path: Path) -> None:
    tensors: dict[str, tuple[str | int, tuple[int, ...]]] = {"img_in.weight": ("Q8_0", (3072, 64))}
    assert read_header(write_gguf(tmp_path / "flux.gguf", tensors)).format is FileFormat.GGUF
    assert read_header(write_gguf(tmp_path / "odd.bin", tensors)).format is FileFormat.GGUF


def test_safetensors_header_whose_length_starts_like_a_pickle(tmp_path: Path) -> None:
    """A header of 0x280 bytes begins with the byte 0x80 02, the pickle PROTO opcode."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    header += b" " * (0x280 - len(header))
    path = write_raw_safetensors(tmp_path / "tricky.bin", header, b"\0" * 4)
    assert path.read_bytes()[:2] == b"\x80\x02"

    assert read_header(path).format is FileFormat.SAFETENSORS


def test_torch_zip_named_safetensors_is_not_loaded(tmp_path: Path) -> None:
    path = write_a1111_embedding(tmp_path / "sneaky.safetensors")

    with pytest.raises(CorruptFileError, match=r"named \.safetensors but holds a torch pickle"):
        read_header(path)


def test_gguf_named_safetensors_and_safetensors_named_gguf(tmp_path: Path) -> None:
    with pytest.raises(CorruptFileError, match="GGUF"):
        read_header(write_gguf(tmp_path / "a.safetensors", {"w": ("F32", (4,))}))
    with pytest.raises(CorruptFileError, match=r"named \.gguf"):
        read_header(write_safetensors(tmp_path / "b.gguf", {"w": ("F32", (4,))}))


def test_broken_safetensors_get_the_header_readers_reason(tmp_path: Path) -> None:
    path = write_raw_safetensors(tmp_path / "m.safetensors", b"not json", header_len=8)

    with pytest.raises(CorruptFileError, match="not valid JSON"):
        read_header(path)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.ckpt", b"", "empty"),
        ("junk.ckpt", b"hello world, not a model", "neither a torch checkpoint nor safetensors"),
        ("junk.bin", b"\x00" * 64, "neither a torch checkpoint nor safetensors"),
        ("notes.txt", b"hello", "not in a known model format"),
        ("empty.gguf", b"", "too short"),
        ("empty.safetensors", b"", "empty"),
    ],
)
def test_unrecognised_files(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(CorruptFileError, match=reason):
        read_header(path)


def test_malicious_pickle_is_unsafe_through_the_entry_point(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    path = write_malicious_pickle(tmp_path / "evil.pt", marker, "builtins.exec")

    with pytest.raises(UnsafeFileError):
        read_header(path)

    assert not marker.exists()


def test_diffusers_folder_and_plain_folder(tmp_path: Path) -> None:
    vae = write_diffusers_vae(tmp_path / "vae")
    (tmp_path / "plain").mkdir()

    assert read_header(vae).format is FileFormat.DIFFUSERS
    with pytest.raises(CorruptFileError, match="not a diffusers model"):
        read_header(tmp_path / "plain")


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_header(tmp_path / "gone.safetensors")


def test_reading_pickles_never_imports_torch(tmp_path: Path) -> None:
    embedding = write_a1111_embedding(tmp_path / "e.pt")
    legacy = write_a1111_embedding(tmp_path / "l.pt", legacy=True)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from core.formats.reader import read_header\n"
        f"for p in [{str(embedding)!r}, {str(legacy)!r}]:\n"
        "    assert 'string_to_param.*' in read_header(Path(p)).tensors\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()

    assert out == "[]"


def test_header_length_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", 2**63) + b"{}")

    with pytest.raises(CorruptFileError, match="100 MB"):
        read_header(path)


def test_mutated_files_only_raise_format_errors(tmp_path: Path) -> None:
    """Random damage to real files of every container must end in a FormatError, never a crash."""
    seeds = [
        write_a1111_embedding(tmp_path / "zip.pt"),
        write_a1111_embedding(tmp_path / "legacy.pt", legacy=True, parameter_dict=True),
        write_safetensors(tmp_path / "m.safetensors", {"a": ("F32", (4, 4)), "b": ("F16", (8,))}),
        write_gguf(
            tmp_path / "m.gguf", {"a": ("Q4_0", (4, 32))}, {"general.architecture": "flux", "l": [1, 2]}
        ),
    ]
    rng = random.Random(1234)
    for seed in seeds:
        original = seed.read_bytes()
        mutant = tmp_path / f"mutant{seed.suffix}"
        for _ in range(60):
            data = bytearray(original)
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(data))
                if rng.random() < 0.7:
                    data[at] = rng.randrange(256)
                else:
                    del data[at : at + rng.randint(1, 16)]
            mutant.write_bytes(bytes(data))
            with contextlib.suppress(FormatError):
                read_header(mutant)
