"""One file never stops a scan: special files, broken links, hostile sidecars, a reader that fails in a
way nobody planned, a worker process that dies, a row the catalog refuses.

Every file here is real (``os.mkfifo``, a bound AF_UNIX socket, symlinks on disk); each scan runs both in
this process and in worker processes (the parallel path is forced with a threshold of one file), and
each test is bounded in time so that a hang fails instead of blocking the suite.
"""

from __future__ import annotations

import os
import pickle
import socket
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from catalog.examine import FoundFile, examine, read_and_identify, status_of_failure
from catalog.library import Library
from catalog.records import AssetQuery, ScannedFile
from catalog.scanner import STORE_FAILED, WORKER_DIED, Scanner, ScanSummary
from core.formats.model_file import CorruptFileError, UnreadableFileError, UnsafeFileError
from core.taxonomy import FileStatus, LibraryLayout
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", (4, 320)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ("F16", ()),
}
# In this process, and in spawned worker processes (threshold 1: every scan takes the parallel path).
MODES = {"in_process": {"workers": 1}, "workers": {"workers": 2, "parallel_threshold": 1}}


@pytest.fixture(params=sorted(MODES))
def scan_mode(request: pytest.FixtureRequest) -> dict[str, int]:
    return MODES[request.param]


def _scan(lib: Library, mode: dict[str, int], **extra: object) -> ScanSummary:
    return Scanner(lib, **mode, **extra).scan()  # type: ignore[arg-type]


def _by_name(lib: Library) -> dict[str, tuple[FileStatus, str | None]]:
    return {r.file_name: (r.status, r.status_reason) for r in lib.search(AssetQuery(limit=1000))}


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX)
    yield sock
    sock.close()


def write_zip_with_nameless_entry(path: Path) -> Path:
    """A torch-style zip whose third entry has an empty name: zipfile's own ``is_dir`` fails on it
    (IndexError), an error no reader was written for."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"a": 1}, protocol=2))
        archive.writestr("archive/version", "3\n")
        archive.writestr(zipfile.ZipInfo(""), b"x")
    return path


@pytest.mark.timeout(60)
def test_special_files_and_broken_links_are_unreadable_with_a_reason(
    lib: Library, tmp_path: Path, scan_mode: dict[str, int], unix_socket: socket.socket
) -> None:
    root = tmp_path / "lib"
    write_safetensors(root / "good.safetensors", LORA, seed=1)
    os.mkfifo(root / "pipe.safetensors")
    unix_socket.bind(str(root / "socket.safetensors"))
    (root / "loop.safetensors").symlink_to(root / "loop.safetensors")
    (root / "dangling.ckpt").symlink_to(root / "gone.ckpt")
    (root / "device.pt").symlink_to("/dev/zero")
    os.mkfifo(root / "notes.txt")  # not named like a model: not cataloged at all
    lib.add_root(root, LibraryLayout.FLAT)

    summary = _scan(lib, scan_mode)

    found = _by_name(lib)
    assert found == {
        "good.safetensors": (FileStatus.OK, None),
        "pipe.safetensors": (FileStatus.UNREADABLE, "a named pipe (FIFO), not a file; it was not opened"),
        "socket.safetensors": (FileStatus.UNREADABLE, "a socket, not a file; it was not opened"),
        "loop.safetensors": (
            FileStatus.UNREADABLE,
            "a symbolic link that loops back on itself; there is no file at its end",
        ),
        "dangling.ckpt": (
            FileStatus.UNREADABLE,
            f"a symbolic link to {root / 'gone.ckpt'}, which does not exist",
        ),
        "device.pt": (FileStatus.UNREADABLE, "a character device, not a file; it was not opened"),
    }
    assert summary.unreadable == 5
    assert "5 unreadable" in str(summary)
    assert lib.facets().problems == 5  # the sidebar's Problems count agrees with its filter
    # A rescan looks at them again (a link may work again), and still says the same; nothing changed.
    again = _scan(lib, scan_mode)
    assert _by_name(lib) == found
    assert (again.unchanged, again.changed, again.unreadable) == (6, 0, 5)


@pytest.mark.timeout(60)
def test_a_link_that_breaks_becomes_unreadable_and_comes_back(lib: Library, tmp_path: Path) -> None:
    target = write_safetensors(tmp_path / "elsewhere" / "real.safetensors", LORA, seed=2)
    root = tmp_path / "lib"
    root.mkdir()
    (root / "linked.safetensors").symlink_to(target)
    lib.add_root(root, LibraryLayout.FLAT)
    Scanner(lib, workers=1).scan()
    assert _by_name(lib)["linked.safetensors"][0] is FileStatus.OK

    moved = target.rename(tmp_path / "elsewhere" / "moved.safetensors")
    Scanner(lib, workers=1).scan()
    assert _by_name(lib)["linked.safetensors"] == (
        FileStatus.UNREADABLE,
        f"a symbolic link to {target}, which does not exist",
    )

    moved.rename(target)
    Scanner(lib, workers=1).scan()
    assert _by_name(lib)["linked.safetensors"] == (FileStatus.OK, None)


@pytest.mark.timeout(60)
def test_a_sidecar_or_preview_that_is_a_pipe_is_never_opened_and_the_model_stays_ok(
    lib: Library, tmp_path: Path, scan_mode: dict[str, int]
) -> None:
    root = tmp_path / "lib"
    write_safetensors(root / "a.safetensors", LORA, seed=3)
    os.mkfifo(root / "a.civitai.info")
    os.mkfifo(root / "a.json")
    write_safetensors(root / "b.safetensors", LORA, seed=4)
    os.mkfifo(root / "b.preview.png")
    (root / "b.png").symlink_to(root / "nowhere.png")
    lib.add_root(root, LibraryLayout.FLAT)

    summary = _scan(lib, scan_mode)

    assert _by_name(lib) == {"a.safetensors": (FileStatus.OK, None), "b.safetensors": (FileStatus.OK, None)}
    b = lib.get_by_path(root / "b.safetensors")
    assert b is not None
    assert lib.previews(b.id) == []
    problems = "\n".join(summary.problems)
    assert f"{root / 'a.civitai.info'}: a named pipe (FIFO), not a file; it was not opened" in problems
    assert f"{root / 'a.json'}: a named pipe (FIFO)" in problems
    assert f"{root / 'b.preview.png'}: a named pipe (FIFO)" in problems
    assert f"{root / 'b.png'}: a symbolic link to {root / 'nowhere.png'}, which does not exist" in problems


@pytest.mark.timeout(60)
def test_a_file_that_makes_a_reader_fail_unexpectedly_is_corrupt_and_the_scan_goes_on(
    lib: Library, tmp_path: Path, scan_mode: dict[str, int]
) -> None:
    root = tmp_path / "lib"
    write_safetensors(root / "before.safetensors", LORA, seed=5)
    write_zip_with_nameless_entry(root / "nameless.pt")
    write_safetensors(root / "after.safetensors", LORA, seed=6)
    lib.add_root(root, LibraryLayout.FLAT)

    _scan(lib, scan_mode)

    found = _by_name(lib)
    assert found["before.safetensors"] == found["after.safetensors"] == (FileStatus.OK, None)
    status, reason = found["nameless.pt"]
    assert status is FileStatus.CORRUPT
    assert reason


def test_every_failure_maps_to_a_status_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "x.safetensors"
    assert status_of_failure(path, UnreadableFileError("a socket")) == (FileStatus.UNREADABLE, "a socket")
    assert status_of_failure(path, UnsafeFileError("runs os.system", ("os.system",)))[0] is FileStatus.UNSAFE
    assert status_of_failure(path, CorruptFileError("truncated")) == (FileStatus.CORRUPT, "truncated")
    assert status_of_failure(path, PermissionError(13, "Permission denied")) == (
        FileStatus.UNREADABLE,
        "no permission to read the file",
    )
    assert status_of_failure(path, MemoryError())[0] is FileStatus.UNSAFE
    status, reason = status_of_failure(path, ValueError("bad name \udcff"))
    assert status is FileStatus.CORRUPT  # said as it is, in text any output can hold
    assert reason == "Atelier could not read this file (ValueError: bad name \ufffd); it may be damaged"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_a_file_without_read_permission_is_unreadable(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "locked.safetensors", LORA, seed=7)
    path.chmod(0)
    try:
        reading = read_and_identify(path)
    finally:
        path.chmod(0o644)
    assert (reading.status, reading.reason) == (FileStatus.UNREADABLE, "no permission to read the file")


def die_on_doomed(found: FoundFile) -> ScannedFile:
    """A reader that ends its process on one file, as the kernel's OOM killer or a crash in native
    code would: runs in the scanner's worker processes (module level, so they can import it)."""
    if "doomed" in found.path.name:
        os._exit(9)
    return examine(found)


@pytest.mark.timeout(120)
def test_a_worker_process_that_dies_costs_one_file(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    names = [f"m{index:02}.safetensors" for index in range(40)]
    names[17] = "doomed.safetensors"
    for index, name in enumerate(names):
        write_safetensors(root / name, LORA, seed=index)
    lib.add_root(root, LibraryLayout.FLAT)

    summary = Scanner(lib, workers=2, parallel_threshold=1, examine_file=die_on_doomed).scan()

    found = _by_name(lib)
    assert len(found) == 40
    assert summary.new == 40
    status, reason = found.pop("doomed.safetensors")
    assert status is FileStatus.UNSAFE
    assert reason == WORKER_DIED.format("killed, or out of memory")
    assert set(found.values()) == {(FileStatus.OK, None)}


def huge_number_in_metadata(found: FoundFile) -> ScannedFile:
    """What a reader that let an integer of 5,000 digits through would give: the catalog cannot store it
    (JSON refuses to write it), which must cost that file its details and nothing else."""
    scanned = examine(found)
    if "huge" not in found.path.name or scanned.identification is None:
        return scanned
    ident = replace(scanned.identification, metadata={"ss_steps": 10**5000})
    return replace(scanned, identification=ident)


@pytest.mark.timeout(60)
def test_a_row_the_catalog_refuses_is_written_minimal_and_the_batch_is_kept(
    lib: Library, tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    for name in ("a.safetensors", "huge.safetensors", "z.safetensors"):
        write_safetensors(root / name, LORA, seed=len(name))
    lib.add_root(root, LibraryLayout.FLAT)

    summary = Scanner(lib, workers=1, examine_file=huge_number_in_metadata).scan()

    records = {r.file_name: r for r in lib.search(AssetQuery(limit=100))}
    assert records["a.safetensors"].status is FileStatus.OK
    assert records["z.safetensors"].kind.value == "lora"  # its neighbours keep every detail
    huge = records["huge.safetensors"]
    assert (huge.status, huge.status_reason) == (FileStatus.CORRUPT, STORE_FAILED)
    assert huge.size == (root / "huge.safetensors").stat().st_size
    assert f"{root / 'huge.safetensors'}: {STORE_FAILED}" in summary.problems


@pytest.mark.timeout(60)
def test_a_small_scan_reads_pickles_in_a_worker_so_a_crash_costs_one_file(
    lib: Library, tmp_path: Path
) -> None:
    """Below the parallel threshold, pickles (whose reader runs native numpy code) still go to a worker
    process: a pickle that crashes its reader cannot end the scan, nor the window that runs it."""
    root = tmp_path / "lib"
    write_safetensors(root / "a.safetensors", LORA, seed=1)
    (root / "doomed.ckpt").write_bytes(pickle.dumps({"state_dict": {}}, protocol=2))
    (root / "fine.ckpt").write_bytes(pickle.dumps({"state_dict": {}}, protocol=2))
    write_safetensors(root / "z.safetensors", LORA, seed=2)
    lib.add_root(root, LibraryLayout.FLAT)

    Scanner(lib, workers=2, examine_file=die_on_doomed).scan()  # 4 files: far below the threshold

    found = _by_name(lib)
    assert found.pop("doomed.ckpt") == (FileStatus.UNSAFE, WORKER_DIED.format("killed, or out of memory"))
    assert found["a.safetensors"] == found["z.safetensors"] == (FileStatus.OK, None)
    assert found["fine.ckpt"][0] is not FileStatus.UNSAFE
