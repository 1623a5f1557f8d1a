"""Every place torch finds a pickle is checked: protocols 0-5, zip entries, tar members, any file name;
and every allowed reconstruction call is bounded (``pickle_limits``). No torch in this process: the
files are written opcode by opcode (``tests.attack.pickle_corpus``), and the attack suite proves in a
child process that torch reads the same layouts."""

from __future__ import annotations

import io
import pickle
import struct
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.formats.model_file import CorruptFileError, UnsafeFileError
from core.formats.pickle_flatten import flatten_checkpoint
from core.formats.pickle_limits import AllocationBudget, allowance, short_repr
from core.formats.pickle_stream import looks_like_pickle
from core.formats.reader import read_header
from core.formats.restricted_unpickler import restricted_loads
from core.taxonomy import FileFormat
from tests.attack.pickle_corpus import (
    PAYLOADS,
    _zip,
    benign_data_pkl,
    benign_tar,
    benign_zip,
    binbytes,
    call,
    dtype_resized_after_use,
    get,
    glob,
    integer,
    proto,
    put,
    tar,
    text,
    zip_duplicate,
)

EXEC = next(p for p in PAYLOADS if p.name == "builtins.exec")
ROOT = Path(__file__).resolve().parents[3]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# ---- recognising pickles ----------------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(6))
def test_pickles_of_every_protocol_are_recognised(protocol: int) -> None:
    assert looks_like_pickle(pickle.dumps({"w": [1.0, 2.0]}, protocol=protocol))


@pytest.mark.parametrize("head", [b"", b"hello world", b'{"a": 1}', b"\x00" * 16, b"\x80\x09xx", b"GGUF"])
def test_other_bytes_are_not_pickles(head: bytes) -> None:
    assert not looks_like_pickle(head)


@pytest.mark.parametrize("protocol", [0, 1])
@pytest.mark.parametrize("suffix", [".pt", ".ckpt", ".bin", ".safetensors", ".sft", ".gguf"])
def test_protocol_0_and_1_payloads_are_unsafe_under_any_name(
    tmp_path: Path, protocol: int, suffix: str
) -> None:
    marker = tmp_path / "MARKER"

    class Exec:
        def __reduce__(self) -> tuple[object, ...]:
            return exec, (f"open({str(marker)!r}, 'w')",)

    path = _write(tmp_path / f"old{suffix}", pickle.dumps({"w": Exec()}, protocol=protocol))

    with pytest.raises(UnsafeFileError, match=r"builtins\.exec"):
        read_header(path)
    assert not marker.exists()


def test_benign_protocol_0_pickle_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "old.pt", pickle.dumps({"step": 3, "name": "x"}, protocol=0))

    assert read_header(path).extras == {"step": 3, "name": "x"}


def test_harmless_pickle_named_safetensors_is_corrupt_not_ok(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.safetensors", benign_zip())

    with pytest.raises(CorruptFileError, match=r"named \.safetensors but holds a torch pickle"):
        read_header(path)


def test_text_that_starts_like_a_protocol_0_pickle_keeps_its_reason(tmp_path: Path) -> None:
    path = _write(tmp_path / "notes.pt", b"(hello) this is text, not a model")

    with pytest.raises(CorruptFileError, match="neither a torch checkpoint nor safetensors"):
        read_header(path)


# ---- zip ----------------------------------------------------------------------------------------


def test_hand_written_torch_zip_reads_like_torch_save(tmp_path: Path) -> None:
    header = read_header(_write(tmp_path / "w.pt", benign_zip((4, 8))))

    assert header.format is FileFormat.PT
    assert {n: (t.dtype, t.shape) for n, t in header.tensors.items()} == {"w": ("F32", (4, 8))}


def test_a_payload_behind_a_duplicate_name_is_reported_as_code_execution(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    path = _write(tmp_path / "dup.pt", zip_duplicate(EXEC.build(marker)))

    with pytest.raises(UnsafeFileError, match=r"would run builtins\.exec .*\(code execution\)"):
        read_header(path)
    assert not marker.exists()


def test_a_payload_in_a_zip_without_data_pkl_is_code_execution_not_damage(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    path = _write(
        tmp_path / "m.pt", _zip([("archive/evil.pkl", EXEC.build(marker)), ("archive/version", b"3\n")])
    )

    with pytest.raises(UnsafeFileError, match="code execution"):
        read_header(path)
    assert not marker.exists()


def test_duplicate_names_are_unsafe_even_when_both_are_harmless(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "dup.pt", _zip([("a/data.pkl", benign_data_pkl()), ("a/data.pkl", benign_data_pkl())])
    )

    with pytest.raises(UnsafeFileError, match="loaders disagree"):
        read_header(path)


@pytest.mark.parametrize(
    "entry", ["archive/extra.pkl", "archive/constants.pkl", "archive/notes", "other.bin"]
)
def test_a_harmless_pickle_in_an_unexpected_entry_is_unsafe(tmp_path: Path, entry: str) -> None:
    path = _write(tmp_path / "m.pt", benign_zip(extra=[(entry, pickle.dumps({"a": 1}, protocol=2))]))

    with pytest.raises(UnsafeFileError, match="hides a pickle") as caught:
        read_header(path)
    assert caught.value.offending_globals == (entry,)


def test_storage_bytes_that_look_like_a_pickle_are_not_scanned(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "m.pt", benign_zip(extra=[("archive/data/1", b"\x80\x02cos\nsystem\n" + b"\0" * 64)])
    )

    assert "w" in read_header(path).tensors


def test_two_archive_folders_with_data_pkl_are_unsafe(tmp_path: Path) -> None:
    data = _zip([("a/data.pkl", benign_data_pkl()), ("b/data.pkl", benign_data_pkl()), ("a/version", b"3\n")])

    with pytest.raises(UnsafeFileError, match=r"2 data\.pkl"):
        read_header(_write(tmp_path / "m.ckpt", data))


def test_local_header_naming_another_entry_is_never_ok(tmp_path: Path) -> None:
    data = bytearray(benign_zip())
    at = data.index(b"archive/data.pkl")  # the first local header's name
    data[at : at + 16] = b"archive/evil.pkl"

    with pytest.raises(CorruptFileError, match="zip archive"):
        read_header(_write(tmp_path / "m.pt", bytes(data)))


# ---- tar ----------------------------------------------------------------------------------------


def test_tar_checkpoint_is_read_with_its_shapes(tmp_path: Path) -> None:
    header = read_header(_write(tmp_path / "old.pt", benign_tar((3, 5))))

    assert {n: (t.dtype, t.shape) for n, t in header.tensors.items()} == {
        "string_to_param.*": ("F32", (3, 5))
    }
    assert header.extras == {"name": "old-style"}


def _tar_with(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_payload_in_each_tar_member_is_unsafe(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    payload = EXEC.build(marker)
    count = pickle.dumps(0, protocol=2)
    views = pickle.dumps([], protocol=2)
    for members in (
        [("storages", payload + views), ("tensors", count), ("pickle", benign_data_pkl())],
        [("storages", count + payload), ("tensors", count), ("pickle", benign_data_pkl())],
        [("storages", count + views), ("tensors", payload), ("pickle", benign_data_pkl())],
    ):
        with pytest.raises(UnsafeFileError):
            read_header(_write(tmp_path / "t.pt", _tar_with(members)))
    with pytest.raises(UnsafeFileError):
        read_header(_write(tmp_path / "t.pt", tar(payload)))
    assert not marker.exists()


def test_tar_with_duplicate_or_extra_members_is_unsafe(tmp_path: Path) -> None:
    count = pickle.dumps(0, protocol=2)
    base = [
        ("storages", count + pickle.dumps([], protocol=2)),
        ("tensors", count),
        ("pickle", pickle.dumps({}, 2)),
    ]

    with pytest.raises(UnsafeFileError, match="two members named 'pickle'"):
        read_header(_write(tmp_path / "a.pt", _tar_with([*base, ("pickle", pickle.dumps({}, 2))])))
    with pytest.raises(UnsafeFileError, match="'extra'"):
        read_header(_write(tmp_path / "b.pt", _tar_with([*base, ("extra", b"x")])))


def test_tar_written_by_old_torch_with_sys_info_is_read(tmp_path: Path) -> None:
    """torch 0.1-0.3 wrote sys_info (a dict of plain values) beside the three members."""
    header = read_header(_write(tmp_path / "old.pt", benign_tar((3, 5), sys_info=True)))

    assert {n: (t.dtype, t.shape) for n, t in header.tensors.items()} == {
        "string_to_param.*": ("F32", (3, 5))
    }


@pytest.mark.parametrize(
    "sys_info",
    [
        pickle.dumps([1001, True], 2),
        pickle.dumps({"type_sizes": {2, 4}}, 2),
        pickle.dumps({"a": [[[[[1]]]]]}, 2),
    ],
)
def test_tar_sys_info_that_is_not_plain_values_is_corrupt(tmp_path: Path, sys_info: bytes) -> None:
    data = _tar_with([("sys_info", sys_info), *_members_of(benign_tar())])

    with pytest.raises(CorruptFileError, match="'sys_info' is not torch's description"):
        read_header(_write(tmp_path / "t.pt", data))


def _members_of(archive_bytes: bytes) -> list[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(archive_bytes), mode="r:") as archive:
        return [(m.name, archive.extractfile(m).read()) for m in archive if m.isfile()]  # type: ignore[union-attr]


def test_payload_in_tar_sys_info_is_code_execution(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    data = _tar_with([("sys_info", EXEC.build(marker)), *_members_of(benign_tar())])

    with pytest.raises(UnsafeFileError, match="code execution"):
        read_header(_write(tmp_path / "t.pt", data))
    assert not marker.exists()


@pytest.mark.parametrize(
    "arrange",
    [
        pytest.param(
            lambda payload, base: [*base, ("extra", b"x"), ("storages", payload)], id="beside-an-extra"
        ),
        pytest.param(lambda payload, base: [*base, ("pickle", payload)], id="second-pickle-member"),
        pytest.param(lambda payload, base: [("junk", payload), *base], id="unexpected-member"),
        pytest.param(
            lambda payload, base: [*base, *((f"m{i}", b"") for i in range(20)), ("tensors", payload)],
            id="too-many-members",
        ),
        pytest.param(
            lambda payload, base: [("storages", payload), *base[1:]],
            id="storages-is-only-the-payload",
        ),
    ],
)
def test_tar_payload_is_reported_before_any_structural_fault(
    tmp_path: Path, arrange: Callable[[bytes, list[tuple[str, bytes]]], list[tuple[str, bytes]]]
) -> None:
    marker = tmp_path / "MARKER"
    base = _members_of(benign_tar())
    assert [name for name, _ in base] == ["storages", "tensors", "pickle"]
    data = _tar_with(arrange(EXEC.build(marker), base))

    with pytest.raises(UnsafeFileError, match=r"would run builtins\.exec .*\(code execution\)"):
        read_header(_write(tmp_path / "t.pt", data))
    assert not marker.exists()


def test_legacy_payload_is_reported_before_a_structural_fault(tmp_path: Path) -> None:
    """A plain pickle refused for an extension-registry call, a payload pickle right after it."""
    marker = tmp_path / "MARKER"
    data = proto(2) + b"\x82\x01." + EXEC.build(marker)

    with pytest.raises(UnsafeFileError, match="code execution"):
        read_header(_write(tmp_path / "two.ckpt", data))
    assert not marker.exists()


def test_tar_storage_larger_than_the_member_is_corrupt(tmp_path: Path) -> None:
    data = benign_tar()
    at = data.index(struct.pack("<q", 6))
    data = data[:at] + struct.pack("<q", 2**40) + data[at + 8 :]

    with pytest.raises(CorruptFileError):
        read_header(_write(tmp_path / "t.pt", data))


# ---- bounds -------------------------------------------------------------------------------------


def test_allowance_grows_with_the_pickle() -> None:
    assert allowance(0) == 16 * 1024 * 1024
    assert allowance(1024 * 1024) == 20 * 1024 * 1024


def test_budget_names_resource_exhaustion() -> None:
    budget = AllocationBudget(90)
    budget.charge(1000, "x")

    with pytest.raises(
        UnsafeFileError, match=r"asks for .* bytes from a 90-byte file \(resource exhaustion\)"
    ):
        budget.charge(2**40, "numpy.core.multiarray.scalar")


def test_real_numpy_scalars_and_arrays_still_load() -> None:
    data = pickle.dumps(
        {"loss": np.float64(0.25), "ids": np.arange(6, dtype=np.int32).reshape(2, 3)}, protocol=2
    )

    loaded = restricted_loads(data)

    assert loaded["loss"] == 0.25
    assert loaded["ids"].tolist() == [[0, 1, 2], [3, 4, 5]]


def _arrays_from_one_memoized_blob(size: int, count: int) -> bytes:
    """``[array, array, ...]``: ``count`` separate numpy arrays, each filled (BUILD) from one memoized
    ``size``-byte string: the file holds the bytes once, a naive reader allocates them ``count`` times."""
    head = (
        glob("numpy.core.multiarray", "_reconstruct")
        + put(0)
        + b"0"
        + glob("numpy", "ndarray")
        + put(1)
        + b"0"
    )
    head += call(glob("numpy", "dtype"), text("u1"), b"\x89\x88") + put(2) + b"0"
    head += binbytes(b"\0" * size) + put(3) + b"0"
    array = get(0) + b"(" + get(1) + integer(0) + b"\x85" + get(2) + b"tR"
    array += b"(" + integer(1) + integer(size) + b"\x85" + get(2) + b"\x89" + get(3) + b"tb"
    return proto(2) + head + b"}" + text("w") + b"(" + array * count + b"ls."


def test_numpy_arrays_filled_from_one_memoized_blob_are_bounded() -> None:
    assert len(restricted_loads(_arrays_from_one_memoized_blob(1024 * 1024, 3))["w"]) == 3

    with pytest.raises(UnsafeFileError, match="resource exhaustion"):
        restricted_loads(_arrays_from_one_memoized_blob(1024 * 1024, 30))


def test_flatten_keeps_hostile_scalars_json_safe() -> None:
    tensors, extras = flatten_checkpoint(
        {"big": 1 << 5000, "nan": float("nan"), "s": slice((1, (2, (3, (4, (5,))))), None), 10**400: "k"}
    )

    assert tensors == {}
    assert extras["big"] == "<5,001-bit integer>"
    assert extras["nan"] == "nan"
    assert extras["s"].startswith("slice(")
    assert "<1,329-bit integer>" in extras


def test_short_repr_is_bounded_for_shared_structures() -> None:
    node: object = (1, 2)
    for _ in range(60):
        node = (node, node)

    assert len(short_repr(node)) < 200


def test_stack_global_with_hidden_module_name_is_unsafe(tmp_path: Path) -> None:
    data = proto(4) + b"}" + text("w") + glob("builtins", "str") + b"(" + text("os") + b"tR" + text("system")
    data += b"\x93(" + text("true") + b"tRs."

    with pytest.raises(UnsafeFileError):
        read_header(_write(tmp_path / "m.pt", data))


def test_data_pkl_is_found_whatever_its_case_as_torch_finds_it(tmp_path: Path) -> None:
    """torch's zip reader matches names without regard to case: ``DATA.PKL`` is loaded, so it is read."""
    data = _zip([("archive/DATA.PKL", benign_data_pkl()), ("archive/version", b"3\n")])

    assert "w" in read_header(_write(tmp_path / "m.pt", data)).tensors


def test_entries_differing_only_in_case_are_unsafe(tmp_path: Path) -> None:
    data = _zip([("archive/Data.pkl", benign_data_pkl()), ("archive/data.pkl", benign_data_pkl())])

    with pytest.raises(UnsafeFileError, match=r"several entries named archive/Data\.pkl, archive/data\.pkl"):
        read_header(_write(tmp_path / "m.pt", data))


def test_a_dtype_resized_after_use_cannot_crash_the_reader(tmp_path: Path) -> None:
    """numpy resizes a flexible dtype in place on BUILD; arrays built on it must keep their own copy.
    Read in a child process: before the fix this pickle ended the process with a segmentation fault."""
    path = _write(tmp_path / "m.pt", dtype_resized_after_use())
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from core.formats.reader import read_header\n"
        f"print(read_header(Path({str(path)!r})).extras)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "{'a': ['A']}"
