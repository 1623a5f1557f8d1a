"""Attack on the scan itself: a library folder holding every hostile thing at once must be scanned to
the end, each hostile file with a status and a reason that says what it is, each benign neighbour ``ok``.

Hostile here means what a stranger's download or a broken disk leaves: named pipes and sockets named like
models or sidecars, links that loop or point at nothing or at a device, names that are not UTF-8, names
of 255 bytes, a zip that breaks Python's own ``zipfile``, headers with numbers of thousands of digits,
sidecars that are pipes or nested ten thousand deep, a decompression-bomb preview. A second, property-
based attack fills folders with random mixes of these under random byte names.

Each scan runs on a thread with a time bound, so that a hang is counted and fails the test instead of
blocking the suite; counts go to ``tests.attack.report`` for the README's figures.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.library import Library
from catalog.records import AssetQuery
from catalog.scanner import Scanner, ScanSummary
from core.taxonomy import FileStatus, LibraryLayout
from tests.attack.report import record
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", (4, 320)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ("F16", ()),
}
SCAN_BOUND_S = 30
BENIGN = ("benign_a.safetensors", "benign_b.safetensors", "benign_c.safetensors")


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    library = Library.open(tmp_path / "data" / "catalog.sqlite3")
    yield library
    library.close()


def scan_bounded(lib: Library, **options: int) -> tuple[ScanSummary | None, BaseException | None, bool]:
    """Scan on a daemon thread: (summary, the exception that escaped, whether it hung past the bound)."""
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["summary"] = Scanner(lib, **options).scan()  # type: ignore[arg-type]
        except BaseException as exc:  # counted as a crash by the caller
            outcome["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(SCAN_BOUND_S)
    hung = thread.is_alive()
    summary = outcome.get("summary")
    error = outcome.get("error")
    return (
        summary if isinstance(summary, ScanSummary) else None,
        error if isinstance(error, BaseException) else None,
        hung,
    )


def bomb_png(path: Path, side: int = 40_000) -> Path:
    """A PNG that claims ``side`` x ``side`` RGB pixels (4.8 GB decoded) in a few hundred bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(b"\0" * (1 + side * 3) * 4, 9)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", rows)
        + chunk(b"IEND", b"")
    )
    return path


def nameless_zip(path: Path) -> Path:
    """A torch-style zip with an entry of empty name: ``zipfile.ZipInfo.is_dir`` raises IndexError."""
    import pickle

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"a": 1}, protocol=2))
        archive.writestr("archive/version", "3\n")
        archive.writestr(zipfile.ZipInfo(""), b"x")
    return path


def huge_int_header(path: Path) -> Path:
    header = b'{"a":{"dtype":"F32","shape":[' + b"9" * 5000 + b'],"data_offsets":[0,64]}}'
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 64)
    return path


def nan_metadata(path: Path) -> Path:
    header = (
        b'{"__metadata__":{"ss_network_dim":NaN,"x":1e999},'
        b'"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
    )
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    return path


@pytest.fixture
def hostile_folder(tmp_path: Path) -> Iterator[tuple[Path, dict[str, FileStatus]]]:
    """The folder, and what each model-named entry in it must be cataloged as."""
    root = tmp_path / "lib"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    expected: dict[str, FileStatus] = {}

    def model(name: str, status: FileStatus, make: Callable[[Path], object]) -> None:
        make(root / name)
        expected[name] = status

    for index, name in enumerate(BENIGN):
        write_safetensors(root / name, LORA, seed=index)
        expected[name] = FileStatus.OK
    model("pipe.safetensors", FileStatus.UNREADABLE, os.mkfifo)
    model("pipe.ckpt", FileStatus.UNREADABLE, os.mkfifo)
    sock = socket.socket(socket.AF_UNIX)
    model("socket.pt", FileStatus.UNREADABLE, lambda p: sock.bind(str(p)))
    model("loop.safetensors", FileStatus.UNREADABLE, lambda p: p.symlink_to(p))
    model("ring_a.safetensors", FileStatus.UNREADABLE, lambda p: p.symlink_to(root / "ring_b.safetensors"))
    model("ring_b.safetensors", FileStatus.UNREADABLE, lambda p: p.symlink_to(root / "ring_a.safetensors"))
    model("dangling.bin", FileStatus.UNREADABLE, lambda p: p.symlink_to(root / "never.bin"))
    model("zero.safetensors", FileStatus.UNREADABLE, lambda p: p.symlink_to("/dev/zero"))
    model("null.gguf", FileStatus.UNREADABLE, lambda p: p.symlink_to("/dev/null"))
    os.mkfifo(outside / "far_pipe")
    model("far_pipe.safetensors", FileStatus.UNREADABLE, lambda p: p.symlink_to(outside / "far_pipe"))
    model("nameless.pt", FileStatus.CORRUPT, nameless_zip)
    model("huge_int.safetensors", FileStatus.CORRUPT, huge_int_header)
    model("nan_meta.safetensors", FileStatus.CORRUPT, nan_metadata)
    model(
        os.fsdecode(b"\xff\xfe\x80.safetensors"), FileStatus.OK, lambda p: write_safetensors(p, LORA, seed=7)
    )
    longest = "n" * (255 - len(".safetensors")) + ".safetensors"
    model(longest, FileStatus.OK, lambda p: write_safetensors(p, LORA, seed=8))
    model(os.fsdecode(b"pipe\xff.safetensors"), FileStatus.UNREADABLE, os.mkfifo)
    # Hostile neighbours of a healthy model: its status must stay ok.
    model("sidecars.safetensors", FileStatus.OK, lambda p: write_safetensors(p, LORA, seed=9))
    for suffix in (".civitai.info", ".json", ".cm-info.json", ".metadata.json", ".preview.png", ".webp"):
        os.mkfifo(root / f"sidecars{suffix}")
    model("nested.safetensors", FileStatus.OK, lambda p: write_safetensors(p, LORA, seed=10))
    (root / "nested.civitai.info").write_text("[" * 100_000 + "]" * 100_000)
    (root / "nested.json").write_text(
        '{"preferred weight": 1e999, "description": "\\ud800", "notes": ' + "9" * 5000 + "}"
    )
    model("bomb.safetensors", FileStatus.OK, lambda p: write_safetensors(p, LORA, seed=11))
    bomb_png(root / "bomb.preview.png")
    os.mkfifo(root / "partial.safetensors.aria2")  # beside a model: marks it partial, never opened
    write_safetensors(root / "partial.safetensors", LORA, seed=12)
    yield root, expected
    sock.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "mode", [{"workers": 1}, {"workers": 2, "parallel_threshold": 1}], ids=["in_process", "workers"]
)
def test_a_folder_of_every_hostile_thing_is_scanned_to_the_end(
    lib: Library, hostile_folder: tuple[Path, dict[str, FileStatus]], mode: dict[str, int]
) -> None:
    root, expected = hostile_folder
    lib.add_root(root, LibraryLayout.FLAT)

    summary, error, hung = scan_bounded(lib, **mode)
    record("scan", fuzz_inputs=len(list(root.iterdir())), crashes=int(error is not None), hangs=int(hung))

    assert not hung, "the scan hung"
    assert error is None, repr(error)
    assert summary is not None
    found = {r.file_name: r for r in lib.search(AssetQuery(limit=1000))}
    assert {name: found[name].status for name in found} == expected
    for name, status in expected.items():
        if status is not FileStatus.OK:
            assert found[name].status_reason, name
    assert found["bomb.safetensors"].status is FileStatus.OK
    assert summary.unreadable == sum(s is FileStatus.UNREADABLE for s in expected.values())


def test_a_decompression_bomb_preview_is_refused_where_it_would_be_decoded(
    lib: Library, tmp_path: Path, qapp: object
) -> None:
    from PySide6.QtCore import QSize

    from app.covers import CoverError, cover_from_image
    from app.sidecar_writer import write_many
    from catalog.library import Library as _Library
    from desktop.thumbnails import load_thumbnail

    bomb = bomb_png(tmp_path / "bomb.png")
    assert load_thumbnail(bomb, QSize(128, 128), tmp_path / "cache") is None
    os.mkfifo(tmp_path / "pipe.png")
    assert load_thumbnail(tmp_path / "pipe.png", QSize(128, 128), tmp_path / "cache") is None
    model = write_safetensors(tmp_path / "m.safetensors", LORA, seed=1)
    root = lib.add_root(tmp_path, LibraryLayout.FLAT)
    Scanner(lib, workers=1).scan([root.id])
    record_ = lib.get_by_path(model)
    assert record_ is not None
    assert isinstance(lib, _Library)
    with pytest.raises(CoverError, match="too many pixels"):
        cover_from_image(lib, record_.id, bomb)
    with pytest.raises(CoverError, match="a named pipe"):
        cover_from_image(lib, record_.id, tmp_path / "pipe.png")

    # A LoRA Manager sidecar names the bomb as its preview: the scan reads its header and never makes it
    # the cover; made the cover anyway (an older catalog), "Write sidecars" refuses to copy it.
    shared = write_safetensors(tmp_path / "shared.safetensors", LORA, seed=2)
    (tmp_path / "shared.metadata.json").write_text(json.dumps({"preview_url": str(bomb)}))
    Scanner(lib, workers=1).scan([root.id])
    shared_record = lib.get_by_path(shared)
    assert shared_record is not None
    assert shared_record.cover_path is None
    lib.add_preview(shared_record.id, str(bomb), "sidecar", make_cover=True)
    shared_record = lib.get_by_path(shared)
    assert shared_record is not None
    assert shared_record.cover_path == str(bomb)
    reports, failures = write_many(lib, [shared_record])
    assert reports == []
    assert [line for _record, line in failures] == [
        "shared.safetensors: the cover bomb.png has far too many pixels to copy"
    ]
    record("scan", fuzz_inputs=3)


# -- property-based: random mixes of hostile entries under random byte names -------------------------

_KINDS = ("model", "garbage", "fifo", "loop", "dangling", "device", "fifo_sidecar", "empty")
_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".bin", ".gguf")
_NAME = st.binary(min_size=1, max_size=40).map(lambda raw: raw.replace(b"/", b"_").replace(b"\0", b"_"))
_ENTRY = st.tuples(_NAME, st.sampled_from(_SUFFIXES), st.sampled_from(_KINDS), st.binary(max_size=64))


def _make(root: Path, name: str, kind: str, data: bytes) -> FileStatus | None:
    """Create one entry; what it must be cataloged as (None: a status the scan chooses, with a reason)."""
    path = root / name
    if kind == "model":
        write_safetensors(path, LORA, seed=len(name))
        return FileStatus.OK
    if kind == "garbage":
        path.write_bytes(data)
        return None
    if kind == "fifo":
        os.mkfifo(path)
        return FileStatus.UNREADABLE
    if kind == "loop":
        path.symlink_to(path)
        return FileStatus.UNREADABLE
    if kind == "dangling":
        path.symlink_to(root / f"{name}.gone")
        return FileStatus.UNREADABLE
    if kind == "device":
        path.symlink_to("/dev/zero")
        return FileStatus.UNREADABLE
    if kind == "fifo_sidecar":
        write_safetensors(path, LORA, seed=1)
        os.mkfifo(root / (name[: -len(Path(name).suffix)] + ".civitai.info"))
        return FileStatus.OK
    path.write_bytes(b"")
    return None


@pytest.mark.timeout(300)
@settings(
    max_examples=15,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(_ENTRY, min_size=1, max_size=8, unique_by=lambda entry: entry[0]))
def test_random_hostile_folders_never_stop_the_scan(
    tmp_path_factory: pytest.TempPathFactory, entries: list[tuple[bytes, str, str, bytes]]
) -> None:
    folder = tmp_path_factory.mktemp("hostile")
    root = folder / "lib"
    root.mkdir()
    expected: dict[str, FileStatus | None] = {}
    stems: set[str] = set()
    for raw, suffix, kind, data in entries:
        stem = os.fsdecode(raw.lstrip(b".~") or b"x")
        if stem in stems:
            continue  # two entries would share their sidecars' names
        stems.add(stem)
        name = stem + (".safetensors" if kind in {"model", "fifo_sidecar"} else suffix)
        try:
            expected[name] = _make(root, name, kind, data)
        except OSError:
            continue  # a name the file system refuses (too long once suffixed): nothing to scan
    lib = Library.open(folder / "catalog.sqlite3")
    try:
        lib.add_root(root, LibraryLayout.FLAT)
        summary, error, hung = scan_bounded(lib, workers=1)
        record("scan", fuzz_inputs=len(expected), crashes=int(error is not None), hangs=int(hung))
        assert not hung
        assert error is None, repr(error)
        assert summary is not None
        found = {r.file_name: r for r in lib.search(AssetQuery(limit=1000))}
        assert set(found) == set(expected)
        for name, status in expected.items():
            record_ = found[name]
            if status is not None:
                assert record_.status is status, (name, record_.status_reason)
            if record_.status is not FileStatus.OK:
                assert record_.status_reason, name
    finally:
        lib.close()
