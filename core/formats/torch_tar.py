"""torch's oldest checkpoint format: a tar archive of three or four members, each carrying pickles.

``torch.load`` still reads it (before anything else, for a file at offset 0) and unpickles every pickle
in it: ``storages`` (a count, then per storage a pickled ``(key, location, storage_type)`` followed by
the raw elements, then a pickled list of storage views), ``tensors`` (a count, then per tensor a
pickled ``(key, storage_id, tensor_type)`` followed by its dimensions, strides and offset as binary
integers) and ``pickle`` (the object itself, whose persistent ids are the tensor keys). torch 0.1 to 0.3
also wrote ``sys_info``, a pickled dict of plain values (protocol version, byte order, C type sizes).
Every one of those pickles is framed, scanned and loaded with the allow-list here, the raw bytes between
them are skipped by their stated lengths, and the tensors' shapes come from the binary records, so a tar
checkpoint is cataloged like the newer formats. When the archive fails a structural check, every member
is first scanned for globals that run code, so a payload is reported as what it is.
"""

from __future__ import annotations

import math
import struct
import tarfile
from typing import IO, Any

from core.formats.dtypes import SAFETENSORS_DTYPE_BITS
from core.formats.model_file import CorruptFileError, UnsafeFileError
from core.formats.pickle_stream import (
    MAX_PICKLE_BYTES,
    Framer,
    IncompleteError,
    refuse_code_execution,
    scan,
    scan_damaged,
)
from core.formats.restricted_unpickler import (
    MAX_DIMS,
    MAX_ELEMENTS,
    MAX_TENSORS,
    PickledTensor,
    StorageType,
    restricted_loads,
)

MEMBERS = ("storages", "tensors", "pickle")
# Written by torch 0.1-0.3 beside the three; modern torch never reads it, old torch unpickled it.
SYS_INFO = "sys_info"
MAX_MEMBERS = 16
# How far a refused archive is listed when looking for a payload under a name torch reads.
_MAX_LISTED = 4096
_BLOCK = 512
_WINDOW = 64 * 1024
# sys_info is a dict of a few numbers (about 100 bytes); anything far larger is not torch's.
_MAX_SYS_INFO_BYTES = 64 * 1024
_PLAIN = (bool, int, float, str, bytes, type(None))


def is_tar(head: bytes) -> bool:
    """Whether ``head`` (at least the first 512 bytes) is a tar header block, as ``tarfile`` checks it."""
    if len(head) < _BLOCK:
        return False
    try:
        tarfile.TarInfo.frombuf(head[:_BLOCK], tarfile.ENCODING, "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def load_tar(fh: IO[bytes], file_id: str) -> tuple[Any, int]:
    """Scan and safely load a tar checkpoint; return the object and the bytes of pickle it came from.

    Any refusal is preceded by a scan of every member for code execution (``refuse_code_in_tar``).
    """
    try:
        return _load_tar(fh, file_id)
    except (CorruptFileError, UnsafeFileError):
        fh.seek(0)
        refuse_code_in_tar(fh, file_id)
        raise


def _load_tar(fh: IO[bytes], file_id: str) -> tuple[Any, int]:
    try:
        with tarfile.open(fileobj=fh, mode="r:") as archive:
            members = _members(_listed(archive))
            sys_info_bytes = 0
            if SYS_INFO in members:
                sys_info = _open_member(archive, members, SYS_INFO, limit=_MAX_SYS_INFO_BYTES).read()
                sys_info_bytes = _check_sys_info(sys_info, f"{file_id}:{SYS_INFO}")
            dtypes, storage_bytes = _storages(_open_member(archive, members, "storages"), file_id)
            tensors = _open_member(archive, members, "tensors", limit=MAX_PICKLE_BYTES).read()
            main = _open_member(archive, members, "pickle", limit=MAX_PICKLE_BYTES).read()
    except (tarfile.TarError, EOFError) as exc:
        raise CorruptFileError(f"the tar archive is damaged or truncated ({exc})") from None
    shapes, tensor_bytes = _tensors(tensors, dtypes, f"{file_id}:tensors")
    _frame(main, "pickle")
    scan(main, f"{file_id}:pickle", check_allow_list=True)
    pickled = sys_info_bytes + storage_bytes + tensor_bytes + len(main)
    return restricted_loads(main, persistent=shapes), pickled


def refuse_code_in_tar(fh: IO[bytes], file_id: str) -> None:
    """Raise ``UnsafeFileError`` if a member starts with pickles naming a global that runs code.

    Scanned: every member bearing a name torch reads (``tarfile`` hands torch the last of a repeated name,
    wherever it lies among the first ``_MAX_LISTED``) and the first ``MAX_MEMBERS`` of any name. An archive
    too damaged to list is left to the structural verdict.
    """
    torch_reads = {*MEMBERS, SYS_INFO}
    try:
        with tarfile.open(fileobj=fh, mode="r:") as archive:
            for count, member in enumerate(archive, start=1):
                if count > _MAX_LISTED:
                    break
                if count > MAX_MEMBERS and member.name not in torch_reads:
                    continue
                extracted = archive.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    refuse_code_execution(extracted.read, f"{file_id}:{member.name}")
    except (tarfile.TarError, EOFError, OSError):
        return


def _listed(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    listed: list[tarfile.TarInfo] = []
    for member in archive:
        listed.append(member)
        if len(listed) > MAX_MEMBERS:
            raise UnsafeFileError(
                f"the tar archive has more than {MAX_MEMBERS} members; a torch checkpoint has three or four",
                ("tar",),
            )
    return listed


def _members(listed: list[tarfile.TarInfo]) -> dict[str, tarfile.TarInfo]:
    found: dict[str, tarfile.TarInfo] = {}
    for member in listed:
        if member.name in found:
            raise UnsafeFileError(
                f"the tar archive holds two members named {member.name!r}: loaders disagree on which "
                "one they read, a way to hide a payload; it was not loaded",
                (member.name,),
            )
        found[member.name] = member
    unexpected = sorted(set(found) - {*MEMBERS, SYS_INFO})
    if unexpected:
        raise UnsafeFileError(
            f"the tar archive holds {', '.join(repr(n) for n in unexpected)} beside torch's "
            "sys_info/storages/tensors/pickle; it was not loaded",
            tuple(unexpected),
        )
    return found


def _check_sys_info(data: bytes, file_id: str) -> int:
    """Scan and load ``sys_info`` (old torch unpickled it); it must be a dict of plain values."""
    end = _frame(data, SYS_INFO)
    scan(data[:end], file_id, check_allow_list=True)
    info = restricted_loads(data[:end])
    if not (isinstance(info, dict) and _is_plain(info)):
        raise CorruptFileError(
            "the tar member 'sys_info' is not torch's description of the saving machine "
            "(a dict of plain numbers and text)"
        )
    return end


def _is_plain(root: object) -> bool:
    """Plain values in dicts, lists and tuples, at most 4 deep and 10,000 items (a shared one each time)."""
    pending: list[tuple[object, int]] = [(root, 0)]
    budget = 10_000
    while pending:
        value, depth = pending.pop()
        if isinstance(value, _PLAIN):
            continue
        if depth >= 4 or not isinstance(value, (dict, list, tuple)):
            return False
        items = [item for pair in value.items() for item in pair] if isinstance(value, dict) else value
        budget -= len(items)
        if budget < 0:
            return False
        pending.extend((item, depth + 1) for item in items)
    return True


def _open_member(
    archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str, *, limit: int | None = None
) -> IO[bytes]:
    member = members.get(name)
    if member is None or not member.isfile():
        raise CorruptFileError(f"the tar archive has no {name!r} member: it is not a torch checkpoint")
    if limit is not None and member.size > limit:
        raise CorruptFileError(f"the tar member {name!r} is {member.size:,} bytes, more than a pickle needs")
    extracted = archive.extractfile(member)
    if extracted is None:
        raise CorruptFileError(f"the tar member {name!r} cannot be read")
    return extracted


def _frame(data: bytes, what: str, start: int = 0) -> int:
    try:
        return Framer(data).frame(start)[0]
    except IncompleteError as exc:
        scan_damaged(data[start:], what)
        raise CorruptFileError(f"the tar member {what!r} is truncated or damaged ({exc})") from None


def _load_at(data: bytes, start: int, file_id: str, what: str) -> tuple[Any, int]:
    end = _frame(data, what, start)
    scan(data[start:end], file_id, check_allow_list=True)
    return restricted_loads(data[start:end]), end


def _count(data: bytes, file_id: str, what: str) -> tuple[int, int]:
    count, at = _load_at(data, 0, file_id, what)
    if not isinstance(count, int) or not 0 <= count <= MAX_TENSORS:
        raise CorruptFileError(f"the tar member {what!r} does not start with a count")
    return count, at


def _pickle_window(member: IO[bytes], at: int, file_id: str) -> tuple[Any, int]:
    """Load the pickle at ``at`` of a member too large to read whole; return it and where it ends."""
    length = _WINDOW
    while True:
        member.seek(at)
        window = member.read(length)
        try:
            end = Framer(window).frame(0)[0]
            break
        except IncompleteError as exc:
            if len(window) < length or length >= MAX_PICKLE_BYTES:
                scan_damaged(window, file_id)
                raise CorruptFileError(f"the tar member 'storages' is truncated or damaged ({exc})") from None
            length *= 8
    scan(window[:end], file_id, check_allow_list=True)
    return restricted_loads(window[:end]), at + end


def _storages(member: IO[bytes], file_id: str) -> tuple[dict[str, str], int]:
    """storage key -> dtype; skips each storage's elements by their stated count, never reading them."""
    file_id = f"{file_id}:storages"
    count, at = _pickle_window(member, 0, file_id)
    if not isinstance(count, int) or not 0 <= count <= MAX_TENSORS:
        raise CorruptFileError("the tar member 'storages' does not start with a count")
    dtypes: dict[str, str] = {}
    pickled = at
    for _ in range(count):
        start = at
        record, at = _pickle_window(member, at, file_id)
        pickled += at - start
        if not (isinstance(record, tuple) and len(record) == 3 and isinstance(record[2], StorageType)):
            raise CorruptFileError("the tar member 'storages' has a malformed storage record")
        dtype = record[2].dtype
        member.seek(at)
        raw = member.read(8)
        if len(raw) < 8:
            raise CorruptFileError("the tar member 'storages' is truncated")
        (numel,) = struct.unpack("<q", raw)
        if numel < 0:
            raise CorruptFileError("the tar member 'storages' states a negative size")
        at += 8 + numel * max(1, SAFETENSORS_DTYPE_BITS.get(dtype, 8) // 8)
        dtypes[_key(record[0])] = dtype
    start = at
    views, at = _pickle_window(member, at, file_id)  # (view key, root key, offset, numel) per view
    pickled += at - start
    if not isinstance(views, list) or len(views) > MAX_TENSORS:
        raise CorruptFileError("the tar member 'storages' has malformed storage views")
    for view in views:
        if not (isinstance(view, tuple) and len(view) == 4) or _key(view[1]) not in dtypes:
            raise CorruptFileError("the tar member 'storages' has a malformed storage view")
        dtypes[_key(view[0])] = dtypes[_key(view[1])]
    return dtypes, pickled


def _key(value: object) -> str:
    """torch looks objects up by ``int(key)``; keys are compared as the text of that number."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 64:
        return str(value)
    if isinstance(value, str) and value.isdecimal() and len(value) <= 20:
        return str(int(value))
    if isinstance(value, str) and len(value) <= 256:
        return value
    raise CorruptFileError("the tar archive has a malformed key")


def _tensors(data: bytes, dtypes: dict[str, str], file_id: str) -> tuple[dict[str, PickledTensor], int]:
    """tensor key -> dtype and shape, from the pickled records and the binary sizes after each."""
    count, at = _count(data, file_id, "tensors")
    shapes: dict[str, PickledTensor] = {}
    pickled = at
    for _ in range(count):
        start = at
        record, at = _load_at(data, at, file_id, "tensors")
        pickled += at - start
        if not (isinstance(record, tuple) and len(record) == 3):
            raise CorruptFileError("the tar member 'tensors' has a malformed tensor record")
        if len(data) < at + 8:
            raise CorruptFileError("the tar member 'tensors' is truncated")
        (ndim,) = struct.unpack_from("<i", data, at)
        at += 8
        if not 0 <= ndim <= MAX_DIMS or len(data) < at + 16 * ndim + 8:
            raise CorruptFileError("the tar member 'tensors' has a malformed tensor record")
        shape = struct.unpack_from(f"<{ndim}q", data, at)
        at += 16 * ndim + 8  # sizes, strides, storage offset
        if any(d < 0 for d in shape) or math.prod(shape) >= MAX_ELEMENTS:
            raise CorruptFileError("the tar member 'tensors' has an impossible tensor size")
        dtype = dtypes.get(_key(record[1]))
        if dtype is None:
            raise CorruptFileError("a tensor of the tar archive names a storage it does not hold")
        shapes[_key(record[0])] = PickledTensor(dtype=dtype, shape=tuple(shape))
    return shapes, pickled
