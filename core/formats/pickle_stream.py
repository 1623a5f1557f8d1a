"""What a pickle stream is, where it ends and what it imports - found without executing a single opcode.

Every container that carries pickles (torch zip, legacy, tar, a bare pickle under any name) goes through
here before ``restricted_unpickler`` runs anything:

- ``looks_like_pickle`` recognises pickles of every protocol from their first bytes: protocols 2-5 start
  with ``PROTO`` (``\\x80``), protocols 0 and 1 with any opcode that pushes a value (``(``, ``}``, ``]``,
  ``c``...), which is why the first opcodes are decoded rather than one byte compared;
- ``Framer`` walks the opcodes to find where each stream ends and bounds the work: opcode count, memo slots,
  counted lengths (checked against the bytes present before the C unpickler would allocate them), and the
  expansion of every value that will be hashed or handed to a call (``pickle_limits.ExpansionTracker``);
- ``scan`` asks picklescan which globals the stream names, and refuses the dangerous ones and, where the
  caller asks, anything outside the allow-list.
"""

from __future__ import annotations

import io
import pickletools
from collections.abc import Callable

from picklescan.scanner import SafetyLevel, scan_pickle_bytes

from core.formats.model_file import CorruptFileError, UnsafeFileError
from core.formats.pickle_limits import ATOM, MARK, ExpansionTracker
from core.formats.restricted_unpickler import canonical_global, is_allowed_global

MAX_OPCODES = 4_000_000
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
# A real checkpoint's pickle is a few hundred KiB (SD 1.x: ~150 KiB); every container's is capped.
MAX_PICKLE_BYTES = 64 * 1024 * 1024
_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_EXTENSIONS = frozenset({"EXT1", "EXT2", "EXT4"})
_LONGS = frozenset({"LONG1", "LONG4", "LONG"})
_MEMO_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
# Opcodes a protocol 0 or 1 pickle can start with: those that push a value without popping one.
_FIRST_OPCODES = frozenset(
    op.code.encode("latin-1")
    for op in pickletools.opcodes
    if not op.stack_before and op.stack_after and op.proto <= 1 and not op.name.endswith("GET")
)
# (items popped below the mark or in all, items pushed, pops down to a mark) per opcode name.
_STACK_EFFECTS: dict[str, tuple[int, int, bool]] = {}
for _op in pickletools.opcodes:
    _marked = pickletools.markobject in _op.stack_before
    _below = _op.stack_before.index(pickletools.markobject) if _marked else len(_op.stack_before)
    _STACK_EFFECTS[_op.name] = (_below, len(_op.stack_after), _marked)
# Opcodes that push one value that never grows (numbers, strings, globals): size 1, shared.
_ATOM_PUSHES = frozenset(
    op.name
    for op in pickletools.opcodes
    if not op.stack_before
    and len(op.stack_after) == 1
    and op.stack_after[0] is not pickletools.markobject
    and not op.name.endswith("GET")
    and not op.name.startswith("EMPTY_")
    and op.name not in {"EXT1", "EXT2", "EXT4"} | {"LONG1", "LONG4", "LONG"}
)


class IncompleteError(Exception):
    """The buffer ended (or the bytes stopped making sense) before the pickle did."""


def looks_like_pickle(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file, up to 1 KiB) starts a pickle of any protocol.

    Protocols 2-5 announce themselves; for 0 and 1 every opcode of ``head`` must decode, up to STOP or
    up to where ``head`` cuts an opcode short - text that merely starts with ``(`` or ``N`` soon meets a
    byte that is no opcode.
    """
    if head[:1] == b"\x80":
        return head[1:2] in {b"\x00", b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"}
    if head[:1] not in _FIRST_OPCODES:
        return False
    try:
        for _opcode, _arg, _pos in pickletools.genops(io.BytesIO(head)):
            pass
    except ValueError as exc:
        reason = str(exc)  # cut by the end of head, not by nonsense:
        return any(cut in reason for cut in ("remain", "newline", "exhausted"))
    return True


class Framer:
    """Walks pickle opcodes without executing them: finds where each stream ends and bounds the work."""

    def __init__(self, buffer: bytes) -> None:
        self.buffer = buffer
        self.opcodes = 0

    def frame(self, start: int) -> tuple[int, bool]:
        """Return the end of the pickle starting at ``start`` and whether it is just torch's magic number.

        Raises ``IncompleteError`` when the bytes end (or stop decoding) before ``STOP``,
        ``CorruptFileError`` / ``UnsafeFileError`` when a limit is passed.
        """
        stream = io.BytesIO(self.buffer)
        stream.seek(start)
        found_magic = False
        count = 0
        tracker = ExpansionTracker()
        stack, memo, step = tracker.stack, tracker.memo, tracker.step
        try:
            for opcode, arg, _pos in pickletools.genops(stream):
                count += 1
                self.opcodes += 1
                if self.opcodes > MAX_OPCODES:
                    raise CorruptFileError(f"the pickle has more than {MAX_OPCODES:,} operations")
                name = opcode.name
                # The two commonest opcodes by far (a value pushed, a value memoized) are followed
                # here; the tracker takes the rest.
                if name in _ATOM_PUSHES:
                    stack.append(ATOM)
                    continue
                if name in _MEMO_GETS:
                    stack.append(memo.get(arg) or ATOM)
                    continue
                if name == "MARK":
                    stack.append(MARK)
                    continue
                if name in _MEMO_PUTS:
                    if isinstance(arg, int) and arg > self.opcodes:
                        # Memo slots are numbered in order; a far-away slot would make the C unpickler
                        # allocate (and zero) a memo table of that size.
                        raise CorruptFileError(f"the pickle stores to memo slot {arg:,}, beyond its own size")
                    memo[arg] = stack[-1] if stack else ATOM
                    continue
                if name in _EXTENSIONS:
                    # EXT1/2/4 call whatever copyreg's extension registry maps the code to in the
                    # loading process: no weights file uses them, and a scanner cannot see the target.
                    raise UnsafeFileError(
                        "the pickle calls a function through copyreg's extension registry "
                        f"({name} {arg}), which a weights file never does; it was not loaded",
                        (f"copyreg extension {arg}",),
                    )
                if name in _LONGS and arg == LEGACY_MAGIC:
                    found_magic = True
                before, after, marked = _STACK_EFFECTS[name]
                step(name, arg, before, after, marked)
        except ValueError as exc:
            raise IncompleteError(str(exc)) from None
        return stream.tell(), found_magic and count <= 4

    def frame_all(self, start: int = 0) -> list[tuple[int, int]]:
        """Every pickle stream from ``start`` to the end of the buffer, back to back."""
        streams: list[tuple[int, int]] = []
        while start < len(self.buffer):
            end = self.frame(start)[0]
            streams.append((start, end))
            start = end
        return streams


def scan_damaged(buffer: bytes, file_id: str) -> None:
    """Scan the part of a truncated or damaged pickle that still decodes.

    ``torch.load`` runs every opcode before the damage and only then fails, so a payload in front of a
    cut is as dangerous as a whole one: its globals are checked before the file is called corrupt.
    """
    stream = io.BytesIO(buffer)
    good = 0
    try:
        while good < len(buffer):
            for _opcode, _arg, _pos in pickletools.genops(stream):
                good = stream.tell()
    except ValueError:
        pass
    if good:
        scan(buffer[:good] + b".", file_id, check_allow_list=True)


# The first read of a member scanned for code; it grows eightfold while opcodes keep decoding to its end.
_CODE_SCAN_WINDOW = 64 * 1024


def refuse_code_execution(read: Callable[[int], bytes], file_id: str) -> None:
    """Refuse the pickles a member starts with if they name a global that runs code, whatever else is wrong.

    Containers call it on every member torch could unpickle once their structure fails a check (duplicate
    or unexpected entries, damage, limits), so a payload is reported as code execution, the reason a user
    must hear, and not as a structural oddity. ``read`` is the member's ``read``; pickles are walked back to
    back as far as their opcodes decode (raw storage bytes after them end the walk), at most
    ``MAX_PICKLE_BYTES``. What picklescan cannot read there is left to the container's own checks.
    """
    buffer = read(_CODE_SCAN_WINDOW)
    while True:
        stream = io.BytesIO(buffer)
        walked = 0  # the end of the last whole opcode
        try:
            while stream.tell() < len(buffer):
                for _opcode, _arg, _pos in pickletools.genops(stream):
                    walked = stream.tell()
        except ValueError:
            pass
        if stream.tell() < len(buffer) or len(buffer) >= MAX_PICKLE_BYTES:
            break  # the walk met bytes that are no pickle, or the cap
        more = read(min(len(buffer) * 7, MAX_PICKLE_BYTES - len(buffer)))
        if not more:
            break
        buffer += more
    if not walked:
        return
    try:
        result = scan_pickle_bytes(io.BytesIO(buffer[:walked] + b"."), file_id, multiple_pickles=True)
    except Exception:  # the container's own full scan reports a pickle picklescan cannot read
        return
    _refuse_dangerous({canonical_global(str(g.module), str(g.name)): g.safety for g in result.globals})


def _refuse_dangerous(names: dict[tuple[str, str], SafetyLevel]) -> None:
    dangerous = sorted(
        f"{mod}.{name}" for (mod, name), level in names.items() if level == SafetyLevel.Dangerous
    )
    if dangerous:
        raise UnsafeFileError(
            f"the pickle would run {', '.join(dangerous)} when loaded (code execution); it was not loaded",
            tuple(dangerous),
        )


def scan(data: bytes, file_id: str, *, check_allow_list: bool) -> None:
    """Refuse ``data`` (one or more framed pickles) if it names a dangerous global, or, with
    ``check_allow_list``, any global ``restricted_unpickler`` would not resolve."""
    try:
        result = scan_pickle_bytes(io.BytesIO(data), file_id, multiple_pickles=True)
    except ValueError:
        # picklescan could not tell which global a STACK_GLOBAL names: a known way to hide an import.
        raise UnsafeFileError(
            "the pickle hides the name of a module it imports; it was not loaded", ("unknown",)
        ) from None
    except Exception as exc:  # picklescan tripping over crafted opcodes is itself a warning sign
        raise UnsafeFileError(
            f"the pickle could not be scanned ({type(exc).__name__}); it was not loaded", ("unknown",)
        ) from None
    names = {canonical_global(str(g.module), str(g.name)): g.safety for g in result.globals}
    _refuse_dangerous(names)
    if check_allow_list:
        refused = sorted(f"{module}.{name}" for module, name in names if not is_allowed_global(module, name))
        if refused:
            raise UnsafeFileError(
                f"the pickle imports {', '.join(refused)}, which a weights file never needs; "
                "it was not loaded",
                tuple(refused),
            )
