"""File names for downloads: taken from the server, made safe, never clobbering an existing file.

A download's name comes from the server (``Content-Disposition``, RFC 6266 / RFC 5987 ``filename*``),
else the URL path, else a fallback. Those strings are attacker-controlled: ``../../x`` or ``/etc/x``
would write outside the models folder, and ``CON`` or a trailing dot makes a file Windows cannot open.
:func:`sanitize_file_name` reduces any string to one plain name component, and :func:`free_path` picks
``name (1).ext``... so a download never replaces a model the user already has.

Names are kept to ``MAX_NAME_BYTES`` (200) although file systems allow 255 bytes: the rest is room for
what Atelier and other tools put next to a model under the same stem (``name (12)``, ``.part``,
``.civitai.info``, ``.preview.png``). :func:`part_name` never exceeds the 255-byte limit whatever name it
is given: a name too long for its suffix gets a shortened, deterministic partial name.

On Windows without long paths the whole path is limited too (``core.windows_paths``): :func:`free_path`
refuses a name whose ``.part`` would pass it, before the folder or the ``.part`` is created, rather than
let the download fail with WinError 3/206 once the server has answered.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from core.windows_names import FORBIDDEN_CHARACTERS, is_reserved_name
from core.windows_paths import HOW_TO_LIFT, path_length, path_limits

FALLBACK_NAME = "download"
MAX_NAME_BYTES = 200  # well below the 255-byte limit of ext4/NTFS, leaving room for " (12).part"
NAME_MAX_BYTES = 255  # ext4, btrfs, XFS, APFS; NTFS counts UTF-16 units, never fewer
_MAX_SUFFIX_CHARS = 16
_EXTENDED = re.compile(r"filename\*\s*=\s*([\w!#$%&+^`{}~-]*)'[^']*'([^;]+)", re.IGNORECASE)
_PLAIN = re.compile(r'(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))', re.IGNORECASE)


def file_name_from_content_disposition(value: str | None) -> str | None:
    """The raw file name of a ``Content-Disposition`` header, unsanitised.

    RFC 6266: ``filename*`` (RFC 5987, ``UTF-8''caf%C3%A9.bin``) wins over ``filename`` when both are
    sent, because ``filename`` is then only the ASCII fallback for old clients.
    """
    if not value:
        return None
    extended = _EXTENDED.search(value)
    if extended is not None:
        charset = extended.group(1) or "utf-8"
        try:
            name = unquote(extended.group(2).strip().strip('"'), encoding=charset, errors="strict")
        except (LookupError, UnicodeDecodeError):
            name = ""
        if name.strip():
            return name.strip()
    plain = _PLAIN.search(value)
    if plain is None:
        return None
    name = plain.group(1) if plain.group(1) is not None else plain.group(2)
    name = re.sub(r"\\(.)", r"\1", name).strip()
    return name or None


def file_name_from_url(url: str) -> str | None:
    """The last path segment of ``url``, percent-decoded (``None`` for ``/`` or an empty path)."""
    path = urlsplit(url).path
    if not path or path.endswith("/"):
        return None
    segment = unquote(PurePosixPath(path).name)
    return segment or None


def _truncate_keeping_suffix(name: str, limit: int = MAX_NAME_BYTES) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    dot = name.rfind(".")
    suffix = name[dot:] if dot > 0 and len(name) - dot <= _MAX_SUFFIX_CHARS else ""
    stem = name[: len(name) - len(suffix)]
    budget = limit - len(suffix.encode("utf-8"))
    while len(stem.encode("utf-8")) > budget:
        stem = stem[:-1]
    return stem.rstrip(" .") + suffix


def part_name(name: str, suffix: str) -> str:
    """The name of ``name``'s partial file: ``name + suffix``, or, when that would pass the file
    system's 255-byte limit, a shortened name with a digest of the whole name so it stays one per name
    and the same on every run (a download resumes from it after a restart)."""
    plain = name + suffix
    if len(plain.encode("utf-8", "surrogateescape")) <= NAME_MAX_BYTES:
        return plain
    tag = "~" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    room = NAME_MAX_BYTES - len((tag + suffix).encode("utf-8"))
    stem = name
    while len(stem.encode("utf-8", "surrogateescape")) > room:
        stem = stem[:-1]
    return stem + tag + suffix


def partial_path(target: Path, suffix: str, *, hidden: bool = False) -> Path:
    """Where ``target`` is written before it is complete: beside it, named ``target + suffix`` (with a
    leading dot when ``hidden``), shortened by ``part_name`` when a long name would pass the file
    system's limit, so a 255-byte name can still be copied, converted, mirrored or downloaded."""
    return target.with_name(part_name(("." if hidden else "") + target.name, suffix))


def _clean(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = FORBIDDEN_CHARACTERS.sub("_", name)
    # No hidden files and no "..": scans skip dot-files, and trailing dots/spaces are stripped by Windows.
    name = name.strip().strip(". ")
    if not name:
        return ""
    if is_reserved_name(name):
        name = f"_{name}"
    return _truncate_keeping_suffix(name)


def sanitize_file_name(raw: str | None, fallback: str = FALLBACK_NAME) -> str:
    """One safe path component for ``raw``: no separators, ``..``, control characters or reserved names.

    Only the last component of a path-like value is kept (``../../x.safetensors`` -> ``x.safetensors``,
    ``/etc/x`` -> ``x``), because that is the part a server meant as the name.
    """
    return _clean(raw or "") or _clean(fallback) or FALLBACK_NAME


def choose_file_name(content_disposition: str | None, urls: Iterable[str], hint: str | None = None) -> str:
    """The name a download gets: server header, else the caller's hint, else a URL path, else a fallback.

    The header wins over ``hint`` because Civitai's real name (with the right extension) is only in the
    storage reply (FORMATS-AND-APIS A.6); ``urls`` is tried in order (final URL after redirects first).
    """
    for candidate in (file_name_from_content_disposition(content_disposition), hint):
        if candidate:
            return sanitize_file_name(candidate)
    for url in urls:
        from_url = file_name_from_url(url)
        if from_url:
            return sanitize_file_name(from_url)
    return FALLBACK_NAME


def _numbered(name: str, number: int) -> str:
    path = PurePosixPath(name)
    suffix = path.suffix if 0 < len(path.suffix) <= _MAX_SUFFIX_CHARS else ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    mark = f" ({number})"
    room = NAME_MAX_BYTES - len((mark + suffix).encode("utf-8"))
    while len(stem.encode("utf-8", "surrogateescape")) > room:
        stem = stem[:-1]
    return f"{stem}{mark}{suffix}"


def free_path(directory: Path, name: str, *, also_free: Iterable[str] = ()) -> Path:
    """``directory / name``, or ``name (1)``, ``name (2)``... whichever does not exist yet.

    ``also_free`` are suffixes whose companions (``part_name(candidate, suffix)``) must be free too
    (``.part``), so a new download never adopts an unrelated ``.part`` file left by another program.

    Raises:
        PathTooLongError: on Windows without long paths, ``directory`` or the chosen name or one of its
            companions would pass the longest path Windows allows (see :func:`refuse_too_long`).
    """
    suffixes = tuple(also_free)
    candidate = name
    number = 0
    while True:
        path = directory / candidate
        companions = [directory / part_name(candidate, s) for s in suffixes]
        if not path.exists() and not any(companion.exists() for companion in companions):
            refuse_too_long(directory, [path, *companions])
            return path
        number += 1
        candidate = _numbered(name, number)


def refuse_too_long(directory: Path, files: Iterable[Path]) -> None:
    """Raise ``PathTooLongError`` when ``directory`` (if it is still to be created) or one of ``files``
    would pass the longest path this system allows (``core.windows_paths``); nothing elsewhere.

    The message names the longest file (the ``.part``), its length, the limit and how to lift it, because
    the download otherwise fails with a bare WinError 3/206 when the ``.part`` is created."""
    limits = path_limits()
    if limits is None:
        return
    lift = HOW_TO_LIFT[:1].upper() + HOW_TO_LIFT[1:]
    shorter = "or choose a shorter download folder or subfolder template (Settings › Sites)."
    folder_length = path_length(str(directory))
    if folder_length > limits.folder and not directory.is_dir():
        from core.sources.errors import PathTooLongError  # the remote errors load requests: only now

        raise PathTooLongError(
            f"Cannot create the download folder {directory}: its path would be {folder_length} characters, "
            f"more than the {limits.folder} Windows allows for a folder. {lift}, {shorter}"
        )
    length, longest = max(((path_length(str(file)), file) for file in files), default=(0, directory))
    if length > limits.file:
        from core.sources.errors import PathTooLongError

        raise PathTooLongError(
            f"Cannot download into {directory}: the path of {longest.name} would be {length} characters, "
            f"more than the {limits.file} Windows allows. {lift}, {shorter}"
        )


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.samefile(other)
    except OSError:
        return False


def move_to_free_name(
    source: Path, directory: Path, name: str, named: Callable[[Path], None] | None = None
) -> Path:
    """Move ``source`` to ``directory / name`` (or ``name (1)``...) without ever overwriting a file.

    ``os.link`` fails instead of replacing an existing file, so a file that appears at the chosen name
    between the check and the move is never lost: the next free name is taken. Filesystems without
    hard links (FAT, some network shares) fall back to a checked ``os.replace``.

    ``named(path)`` is called once the file has its new name and, with hard links, before ``source``
    goes: a record of where the file is (the download queue's) is then written while both names exist,
    so a process killed at any point leaves the file findable by its old name or by the record.
    """
    number = 0
    while True:
        candidate = directory / (_numbered(name, number) if number else name)
        try:
            os.link(source, candidate)
        except FileExistsError:
            if not _same_file(source, candidate):
                number += 1
                continue
            # Linked there by a process killed before it removed ``source``: the move is that link.
        except OSError:
            if candidate.exists():
                number += 1
                continue
            source.replace(candidate)
            if named is not None:
                named(candidate)
            return candidate
        if named is not None:
            named(candidate)
        source.unlink()
        return candidate
