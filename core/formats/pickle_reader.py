"""Read the tensor names and shapes of a torch pickle (.ckpt .pt .pth .bin) without torch and without risk.

Two independent layers stand between a hostile file and code execution:

1. picklescan lists every global the pickle names; anything it knows to be dangerous (``os.system``,
   ``builtins.exec``...) or anything outside our allow-list makes the file ``UnsafeFileError`` before a
   single byte is unpickled;
2. the pickle is then unpickled by ``RestrictedUnpickler``, whose ``find_class`` only resolves the
   allow-list, so a global picklescan missed still cannot be imported.

Every container ``torch.load`` accepts is understood, and every pickle in it is checked, because torch
would unpickle it: the zip format (torch >= 1.6, ``<archive>/data.pkl``; any other entry holding a
pickle, or two entries of one name, make the file unsafe), the legacy format (magic-number pickle,
protocol, sys_info, the object, the storage keys, then raw storages), the tar format (``torch_tar``) and
a bare pickle of any protocol (0 to 5). Only the pickle bytes are read; storages are never touched. Work
is bounded (pickle size, opcode count, tensors, nesting, and every allocation: ``pickle_limits``) so a
crafted file cannot exhaust memory or time.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import IO, Any

from core.formats import pickle_stream
from core.formats.containers import PICKLE_FORMATS, SNIFF_BYTES, ZIP_MAGIC
from core.formats.model_file import CorruptFileError, ModelHeader, UnsafeFileError
from core.formats.pickle_flatten import flatten_checkpoint
from core.formats.pickle_limits import short_repr
from core.formats.pickle_stream import (
    LEGACY_MAGIC,
    MAX_PICKLE_BYTES,
    Framer,
    IncompleteError,
    looks_like_pickle,
    refuse_code_execution,
)
from core.formats.restricted_unpickler import restricted_loads
from core.formats.safe_open import open_regular
from core.formats.torch_tar import is_tar, load_tar
from core.taxonomy import FileFormat

LEGACY_PROTOCOL = 1001
_FIRST_READ = 1024 * 1024


def pickle_format_for(path: Path) -> FileFormat:
    """The ``FileFormat`` a torch pickle is filed under, from its extension (``.ckpt`` when unknown)."""
    return PICKLE_FORMATS.get(path.suffix.lower(), FileFormat.CKPT)


def read_pickle_header(path: Path, file_format: FileFormat | None = None) -> ModelHeader:
    """Scan, then safely unpickle, a torch checkpoint and flatten it into a ``ModelHeader``.

    Raises ``UnsafeFileError`` (naming the offending globals, or the resource a pickle would exhaust) for
    a pickle that does anything a weights file never needs, ``CorruptFileError`` for a damaged or
    unrecognised file, ``UnreadableFileError`` for a special file or a broken link (never opened, never
    blocking), ``OSError`` if the file vanished.
    """
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            raise CorruptFileError("the file is empty")
        head = fh.read(SNIFF_BYTES)
        fh.seek(0)
        # The order torch.load tries: a zip by its magic, then a tar archive, then a legacy pickle.
        if head[:4] == ZIP_MAGIC:
            root, pickle_size = _load_zip(fh, str(path))
        elif is_tar(head):
            root, pickle_size = load_tar(fh, str(path))
        elif looks_like_pickle(head):
            root, pickle_size = _load_legacy(fh, size, str(path))
        else:
            raise CorruptFileError("not a torch checkpoint: the file is neither a zip archive nor a pickle")
    tensors, extras = flatten_checkpoint(root, pickle_size)
    return ModelHeader(
        path=path,
        format=file_format or pickle_format_for(path),
        size=size,
        tensors=tensors,
        extras=extras,
    )


# Entries torch's own writer puts beside data.pkl and the storages (``<archive>/data/<key>``); none of
# them is unpickled, and none holds a pickle in a file torch wrote.
_TORCH_ENTRIES = frozenset(
    {
        "version",
        "byteorder",
        ".format_version",
        ".storage_alignment",
        ".data/version",
        ".data/serialization_id",
        "serialization_id",
    }
)
_STORAGE_FOLDERS = ("data/", ".data/")


def _load_zip(fh: IO[bytes], file_id: str) -> tuple[Any, int]:
    """Load data.pkl of a torch zip; any refusal is preceded by a scan of every entry for code execution."""
    try:
        return _read_zip(fh, file_id)
    except (CorruptFileError, UnsafeFileError):
        _refuse_code_in_zip(fh, file_id)
        raise


def _refuse_code_in_zip(fh: IO[bytes], file_id: str) -> None:
    """Raise ``UnsafeFileError`` if any entry but raw storages starts with pickles naming a global that runs
    code; entries (or an archive) too damaged to read are left to the structural verdict."""
    fh.seek(0)
    try:
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return
    with archive:
        for info in archive.infolist():
            name = info.filename.casefold()
            inner = name.split("/", 1)[1] if "/" in name else name
            if info.is_dir() or inner.startswith(_STORAGE_FOLDERS):
                continue
            try:
                with archive.open(info) as entry:
                    refuse_code_execution(entry.read, f"{file_id}:{info.filename}")
            except (
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                ValueError,
                EOFError,
                RuntimeError,
                NotImplementedError,
            ):
                continue


def _read_zip(fh: IO[bytes], file_id: str) -> tuple[Any, int]:
    try:
        with zipfile.ZipFile(fh) as archive:
            infos = archive.infolist()
            _refuse_duplicates(infos)
            data_info = _find_data_pkl(infos)
            data = _read_entry(archive, data_info)
            # torch only unpickles data.pkl, but a pickle hidden beside it still makes the file unsafe.
            hidden = [
                (info.filename, found)
                for info in infos
                if info is not data_info and (found := _hidden_pickle(archive, info)) is not None
            ]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, EOFError) as exc:
        raise CorruptFileError(f"the zip archive is damaged or truncated ({exc})") from None
    except (OSError, ValueError) as exc:
        # zipfile seeks to offsets and decodes names taken from the file: bogus ones land here.
        raise CorruptFileError(f"the zip archive is damaged ({exc})") from None
    except RuntimeError as exc:  # zipfile raises it for encrypted entries
        raise CorruptFileError(f"the zip archive cannot be read ({exc})") from None
    for name, other in hidden:
        pickle_stream.scan(other, f"{file_id}:{name}", check_allow_list=False)
    if hidden:
        names = tuple(name for name, _ in hidden)
        raise UnsafeFileError(
            f"the zip archive hides a pickle in {', '.join(names)} beside data.pkl; a second pickle is "
            "a way to smuggle code past scanners, so it was not loaded",
            names,
        )
    try:
        Framer(data).frame(0)
    except IncompleteError as exc:
        pickle_stream.scan_damaged(data, f"{file_id}:{data_info.filename}")
        raise CorruptFileError(f"data.pkl is truncated or damaged ({exc})") from None
    pickle_stream.scan(data, f"{file_id}:{data_info.filename}", check_allow_list=True)
    return restricted_loads(data), len(data)


def _refuse_duplicates(infos: list[zipfile.ZipInfo]) -> None:
    # torch's zip reader (miniz) looks names up without regard to case: DATA.PKL is its data.pkl.
    names = Counter(info.filename.casefold() for info in infos)
    twice = sorted(info.filename for info in infos if names[info.filename.casefold()] > 1)
    if twice:
        raise UnsafeFileError(
            f"the zip archive holds several entries named {', '.join(sorted(set(twice)))}: loaders "
            "disagree on which one they read, a way to hide a payload; it was not loaded",
            tuple(sorted(set(twice))),
        )


def _find_data_pkl(infos: list[zipfile.ZipInfo]) -> zipfile.ZipInfo:
    found = [
        info
        for info in infos
        # torch's zip reader (miniz) matches names without regard to case
        if info.filename.casefold() == "data.pkl"
        or (info.filename.casefold().endswith("/data.pkl") and info.filename.count("/") == 1)
    ]
    if len(found) > 1:
        names = tuple(info.filename for info in found)
        raise UnsafeFileError(
            f"the zip archive holds {len(found)} data.pkl pickles ({', '.join(names)}): loaders disagree "
            "on which one they read, a way to hide a payload; it was not loaded",
            names,
        )
    if not found:
        raise CorruptFileError("the zip archive has no data.pkl: it is not a torch checkpoint")
    return found[0]


def _hidden_pickle(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """The bytes of ``info`` if it is an entry torch does not expect and it holds a pickle."""
    name = info.filename.casefold()
    inner = name.split("/", 1)[1] if "/" in name else name
    if info.is_dir() or inner.startswith(_STORAGE_FOLDERS):
        return None  # raw storage bytes: torch never unpickles them
    if inner in _TORCH_ENTRIES and info.file_size <= 64:
        return None
    with archive.open(info) as entry:
        head = entry.read(SNIFF_BYTES)
    if not (looks_like_pickle(head) or info.filename.endswith(".pkl")):
        return None
    return _read_entry(archive, info)


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_PICKLE_BYTES:
        raise CorruptFileError(
            f"{info.filename} is {info.file_size:,} bytes, more than the "
            f"{MAX_PICKLE_BYTES // (1024 * 1024)} MiB a checkpoint's pickle can need"
        )
    return archive.read(info)


def _load_legacy(fh: IO[bytes], size: int, file_id: str) -> tuple[Any, int]:
    """Load a legacy file; any refusal is preceded by a scan of its pickles for code execution."""
    try:
        return _read_legacy(fh, size, file_id)
    except (CorruptFileError, UnsafeFileError):
        fh.seek(0)
        refuse_code_execution(fh.read, file_id)
        raise


def _read_legacy(fh: IO[bytes], size: int, file_id: str) -> tuple[Any, int]:
    """Legacy torch files (and plain pickles): the pickles come first, so read only as much as they need."""
    limit = min(size, MAX_PICKLE_BYTES)
    length = min(size, _FIRST_READ)
    while True:
        fh.seek(0)
        buffer = fh.read(length)
        try:
            streams = _frame_legacy(buffer)
            break
        except IncompleteError as exc:
            if len(buffer) < limit:
                length = min(limit, length * 8)
                continue
            pickle_stream.scan_damaged(buffer, file_id)
            if size > MAX_PICKLE_BYTES:
                raise CorruptFileError(
                    f"the pickle is damaged or larger than {MAX_PICKLE_BYTES // (1024 * 1024)} MiB"
                ) from None
            raise CorruptFileError(f"the pickle is truncated or damaged ({exc})") from None
    pickled = streams[-1][1]
    pickle_stream.scan(buffer[:pickled], file_id, check_allow_list=True)
    if len(streams) == 1:
        _scan_trailing(fh, pickled, size, file_id)
        return restricted_loads(buffer[: streams[0][1]]), pickled
    magic, protocol, _sys_info, root = (restricted_loads(buffer[a:b]) for a, b in streams[:4])
    if magic != LEGACY_MAGIC or protocol != LEGACY_PROTOCOL:
        raise CorruptFileError(f"unsupported legacy torch format (protocol {short_repr(protocol)})")
    return root, pickled


def _scan_trailing(fh: IO[bytes], start: int, size: int, file_id: str) -> None:
    """A plain pickle followed by more pickles: ``torch.load`` stops at the first, but other loaders
    (and scanners that stop at the first STOP) do not; a dangerous one hidden there makes the file unsafe."""
    if start >= size:
        return
    fh.seek(start)
    rest = fh.read(min(size - start, MAX_PICKLE_BYTES))
    if not looks_like_pickle(rest[:SNIFF_BYTES]):
        return
    framer = Framer(rest)
    end = 0
    try:
        while end < len(rest):
            end = framer.frame(end)[0]
    except IncompleteError:
        pass
    if end:
        pickle_stream.scan(rest[:end], f"{file_id}:trailing", check_allow_list=True)


def _frame_legacy(buffer: bytes) -> list[tuple[int, int]]:
    framer = Framer(buffer)
    end, is_magic = framer.frame(0)
    if not is_magic:
        return [(0, end)]  # a plain pickle, not written by torch.save
    streams = [(0, end)]
    for _ in range(4):  # protocol version, sys_info, the object, the storage keys
        start = streams[-1][1]
        streams.append((start, framer.frame(start)[0]))
    return streams
