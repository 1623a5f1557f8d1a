"""Read the tensor names and shapes of a torch pickle (.ckpt .pt .pth .bin) without torch and without risk.

Two independent layers stand between a hostile file and code execution:

1. picklescan lists every global the pickle names; anything it knows to be dangerous (``os.system``,
   ``builtins.exec``...) or anything outside our allow-list makes the file ``UnsafeFileError`` before a
   single byte is unpickled;
2. the pickle is then unpickled by ``RestrictedUnpickler``, whose ``find_class`` only resolves the
   allow-list, so a global picklescan missed still cannot be imported.

Both torch containers are understood: the zip format (torch >= 1.6, ``<archive>/data.pkl``) and the legacy
format (magic-number pickle, protocol, sys_info, the object, the storage keys, then raw storages). Only the
pickle bytes are read; storages are never touched. Work is bounded (pickle size, opcode count, tensors,
nesting) so a crafted file cannot exhaust memory or time.
"""

from __future__ import annotations

import io
import os
import pickletools
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

from picklescan.scanner import SafetyLevel, scan_pickle_bytes

from core.formats.model_file import CorruptFileError, ModelHeader, UnsafeFileError
from core.formats.pickle_flatten import flatten_checkpoint
from core.formats.restricted_unpickler import canonical_global, is_allowed_global, restricted_loads
from core.taxonomy import FileFormat

# A real checkpoint's data.pkl is a few hundred KiB (an SD 1.x checkpoint: ~150 KiB).
MAX_PICKLE_BYTES = 64 * 1024 * 1024
MAX_OPCODES = 4_000_000
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
ZIP_MAGIC = b"PK\x03\x04"
PICKLE_FORMATS: dict[str, FileFormat] = {
    ".ckpt": FileFormat.CKPT,
    ".pt": FileFormat.PT,
    ".pth": FileFormat.PT,
    ".bin": FileFormat.BIN,
}
_FIRST_READ = 1024 * 1024


def pickle_format_for(path: Path) -> FileFormat:
    """The ``FileFormat`` a torch pickle is filed under, from its extension (``.ckpt`` when unknown)."""
    return PICKLE_FORMATS.get(path.suffix.lower(), FileFormat.CKPT)


def read_pickle_header(path: Path, file_format: FileFormat | None = None) -> ModelHeader:
    """Scan, then safely unpickle, a torch checkpoint and flatten it into a ``ModelHeader``.

    Raises ``UnsafeFileError`` (naming the offending globals) for a pickle that imports anything a weights
    file never needs, ``CorruptFileError`` for a damaged or unrecognised file, ``OSError`` if unreadable.
    """
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            raise CorruptFileError("the file is empty")
        head = fh.read(4)
        fh.seek(0)
        if head == ZIP_MAGIC:
            root = _load_zip(fh, str(path))
        elif head[:1] == b"\x80":
            root = _load_legacy(fh, size, str(path))
        else:
            raise CorruptFileError("not a torch checkpoint: the file is neither a zip archive nor a pickle")
    tensors, extras = flatten_checkpoint(root)
    return ModelHeader(
        path=path,
        format=file_format or pickle_format_for(path),
        size=size,
        tensors=tensors,
        extras=extras,
    )


def _load_zip(fh: IO[bytes], file_id: str) -> Any:
    try:
        with zipfile.ZipFile(fh) as archive:
            data_info = _find_data_pkl(archive)
            data = _read_entry(archive, data_info)
            # torch only unpickles data.pkl, but a pickle hidden beside it still makes the file unsafe.
            others = [
                (info.filename, _read_entry(archive, info))
                for info in archive.infolist()
                if info is not data_info and info.filename.endswith(".pkl")
            ]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, EOFError) as exc:
        raise CorruptFileError(f"the zip archive is damaged or truncated ({exc})") from None
    except (OSError, ValueError) as exc:
        # zipfile seeks to offsets and decodes names taken from the file: bogus ones land here.
        raise CorruptFileError(f"the zip archive is damaged ({exc})") from None
    except RuntimeError as exc:  # zipfile raises it for encrypted entries
        raise CorruptFileError(f"the zip archive cannot be read ({exc})") from None
    try:
        _Framer(data).frame(0)
    except _IncompleteError as exc:
        raise CorruptFileError(f"data.pkl is truncated or damaged ({exc})") from None
    _scan(data, f"{file_id}:{data_info.filename}", check_allow_list=True)
    for name, other in others:
        _scan(other, f"{file_id}:{name}", check_allow_list=False)
    return restricted_loads(data)


def _find_data_pkl(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    for info in archive.infolist():
        name = info.filename
        if name == "data.pkl" or (name.endswith("/data.pkl") and name.count("/") == 1):
            return info
    raise CorruptFileError("the zip archive has no data.pkl: it is not a torch checkpoint")


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_PICKLE_BYTES:
        raise CorruptFileError(
            f"{info.filename} is {info.file_size:,} bytes, more than the "
            f"{MAX_PICKLE_BYTES // (1024 * 1024)} MiB a checkpoint's pickle can need"
        )
    return archive.read(info)


def _load_legacy(fh: IO[bytes], size: int, file_id: str) -> Any:
    """Legacy torch files (and plain pickles): the pickles come first, so read only as much as they need."""
    limit = min(size, MAX_PICKLE_BYTES)
    length = min(size, _FIRST_READ)
    while True:
        fh.seek(0)
        buffer = fh.read(length)
        try:
            streams = _frame_legacy(buffer)
            break
        except _IncompleteError as exc:
            if len(buffer) < limit:
                length = min(limit, length * 8)
                continue
            if size > MAX_PICKLE_BYTES:
                raise CorruptFileError(
                    f"the pickle is damaged or larger than {MAX_PICKLE_BYTES // (1024 * 1024)} MiB"
                ) from None
            raise CorruptFileError(f"the pickle is truncated or damaged ({exc})") from None
    _scan(buffer[: streams[-1][1]], file_id, check_allow_list=True)
    if len(streams) == 1:
        return restricted_loads(buffer[: streams[0][1]])
    magic, protocol, _sys_info, root = (restricted_loads(buffer[a:b]) for a, b in streams[:4])
    if magic != LEGACY_MAGIC or protocol != LEGACY_PROTOCOL:
        raise CorruptFileError(f"unsupported legacy torch format (protocol {protocol!r})")
    return root


_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})


class _IncompleteError(Exception):
    """The buffer ended (or the bytes stopped making sense) before the pickle did."""


class _Framer:
    """Walks pickle opcodes without executing them: finds where each stream ends and bounds the work."""

    def __init__(self, buffer: bytes) -> None:
        self.buffer = buffer
        self.opcodes = 0

    def frame(self, start: int) -> tuple[int, bool]:
        """Return the end of the pickle starting at ``start`` and whether it is just torch's magic number."""
        stream = io.BytesIO(self.buffer)
        stream.seek(start)
        found_magic = False
        count = 0
        try:
            for opcode, arg, _pos in pickletools.genops(stream):
                count += 1
                self.opcodes += 1
                if self.opcodes > MAX_OPCODES:
                    raise CorruptFileError(f"the pickle has more than {MAX_OPCODES:,} operations")
                if opcode.name in _MEMO_PUTS and isinstance(arg, int) and arg > self.opcodes:
                    # Memo slots are numbered in order; a far-away slot would make the C unpickler
                    # allocate (and zero) a memo table of that size.
                    raise CorruptFileError(f"the pickle stores to memo slot {arg:,}, beyond its own size")
                if opcode.name in {"LONG1", "LONG4", "LONG"} and arg == LEGACY_MAGIC:
                    found_magic = True
        except ValueError as exc:
            raise _IncompleteError(str(exc)) from None
        return stream.tell(), found_magic and count <= 4


def _frame_legacy(buffer: bytes) -> list[tuple[int, int]]:
    framer = _Framer(buffer)
    end, is_magic = framer.frame(0)
    if not is_magic:
        return [(0, end)]  # a plain pickle, not written by torch.save
    streams = [(0, end)]
    for _ in range(4):  # protocol version, sys_info, the object, the storage keys
        start = streams[-1][1]
        streams.append((start, framer.frame(start)[0]))
    return streams


def _scan(data: bytes, file_id: str, *, check_allow_list: bool) -> None:
    try:
        result = scan_pickle_bytes(io.BytesIO(data), file_id, multiple_pickles=True)
    except ValueError:
        # picklescan could not tell which global a STACK_GLOBAL names: a known way to hide an import.
        raise UnsafeFileError(
            "the pickle hides the name of a module it imports; it was not loaded", ("unknown",)
        ) from None
    names = {canonical_global(str(g.module), str(g.name)): g.safety for g in result.globals}
    dangerous = sorted(
        f"{mod}.{name}" for (mod, name), level in names.items() if level == SafetyLevel.Dangerous
    )
    if dangerous:
        raise UnsafeFileError(
            f"the pickle would run {', '.join(dangerous)} when loaded (code execution); it was not loaded",
            tuple(dangerous),
        )
    if check_allow_list:
        refused = sorted(f"{module}.{name}" for module, name in names if not is_allowed_global(module, name))
        if refused:
            raise UnsafeFileError(
                f"the pickle imports {', '.join(refused)}, which a weights file never needs; "
                "it was not loaded",
                tuple(refused),
            )
