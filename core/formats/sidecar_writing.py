"""Writing the user's data back next to a model, in the shapes other tools read.

AUTOMATIC1111 (and Forge) keep the user's own words about a LoRA, an embedding or a checkpoint in
``<stem>.json`` ("user metadata": ``description``, ``activation text``, ``preferred weight``, ``notes``,
``sd version``) and show ``<stem>.preview.png`` as its card. :func:`merged_a1111_metadata` merges the
user's values into what such a file already holds (keys Atelier does not know are kept as they were), and
:func:`write_json_atomic` / :func:`write_png_atomic` replace files through a temporary sibling and a
rename, so a crash never leaves half a sidecar where the other tool reads it.

:mod:`core.formats.sidecars` reads the same keys back; a rescan therefore sees the values written here.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from core.formats.model_file import UnreadableFileError
from core.formats.safe_open import read_regular
from core.formats.strict_json import JsonRefusedError, load_json
from core.replace_file import replace_file
from core.taxonomy import Architecture

# The same cap as for reading sidecars during a scan.
MAX_SIDECAR_BYTES = 16 * 1024 * 1024

# What A1111 writes in "sd version" (its SdVersion enum names).
_SD_VERSIONS = {Architecture.SD1: "SD1", Architecture.SD2: "SD2", Architecture.SDXL: "SDXL"}


@dataclass(frozen=True, slots=True)
class UserMetadata:
    """The user's words about one model, as A1111's ``<stem>.json`` holds them."""

    description: str = ""
    trigger_words: tuple[str, ...] = ()
    preferred_weight: float | None = None
    notes: str = ""
    architecture: Architecture = Architecture.UNKNOWN


class SidecarWriteError(ValueError):
    """An existing sidecar that cannot be merged into (not JSON, not an object): left as it is."""


def sd_version(architecture: Architecture) -> str:
    """A1111's "sd version" for an architecture ("Unknown" for anything it has no name for)."""
    return _SD_VERSIONS.get(architecture, "Unknown")


def merged_a1111_metadata(existing: Mapping[str, Any], data: UserMetadata) -> dict[str, Any]:
    """``existing`` with the user's values written over A1111's keys; every other key kept.

    The activation text is the trigger words joined by ", " (A1111 pastes it into the prompt as is); a
    preferred weight of None is written as 0, which A1111 reads as "no preference".
    """
    merged = dict(existing)
    merged["description"] = data.description
    merged["activation text"] = ", ".join(data.trigger_words)
    merged["preferred weight"] = data.preferred_weight if data.preferred_weight is not None else 0
    merged["notes"] = data.notes
    merged["sd version"] = sd_version(data.architecture)
    return merged


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` ({} when there is no file). Raises SidecarWriteError for anything else,
    so a file the user wrote by hand is never replaced by a merge that could not read it."""
    try:  # only a regular file is read: a named pipe with the sidecar's name would block forever
        raw = read_regular(path, MAX_SIDECAR_BYTES)
    except FileNotFoundError:
        return {}
    except UnreadableFileError as exc:
        raise SidecarWriteError(f"{path.name}: {exc.reason}; left unchanged") from None
    except ValueError as exc:  # over the size cap
        raise SidecarWriteError(f"{exc}; left unchanged") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SidecarWriteError(f"{path.name} is not UTF-8 text; left unchanged") from exc
    if not text.strip():
        return {}
    try:
        value = load_json(text)
    except JsonRefusedError as exc:
        raise SidecarWriteError(f"{path.name} {exc.reason}; left unchanged") from None
    if not isinstance(value, dict):
        raise SidecarWriteError(
            f"{path.name} holds a JSON {type(value).__name__}, not an object; left unchanged"
        )
    return value


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented UTF-8 JSON to ``path`` through a temporary sibling and a rename."""
    payload = (json.dumps(data, indent=4, ensure_ascii=False) + "\n").encode("utf-8")
    _write_atomic(path, lambda fh: fh.write(payload))


def write_png_atomic(path: Path, save: Callable[[IO[bytes]], object]) -> None:
    """Write the bytes ``save`` produces (e.g. a Pillow ``image.save(fh, "PNG")``) to ``path`` atomically."""
    _write_atomic(path, save)


def _write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); a sidecar is read by other tools and users: keep the
        # permissions of the file it replaces, else the usual 0644.
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            mode = 0o644
        tmp.chmod(mode)
        replace_file(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
