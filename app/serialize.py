"""JSON shapes of the CLI's ``--json`` output.

One place defines them so ``inspect``, ``search`` and ``show`` agree, and scripts can rely on the ids of
``core.taxonomy`` appearing verbatim.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from catalog.records import AssetRecord, PreviewRecord, RemoteLinkRecord
from core.file_hashes import FileHashes
from core.formats.sidecar_info import SidecarInfo
from core.identify.result import Identification
from core.taxonomy import FileFormat, FileStatus

HASH_KEYS = ("sha256", "blake3", "crc32", "autov1", "autov2", "autov3")


def inspection_to_json(
    path: Path,
    *,
    size: int | None,
    file_format: FileFormat | None,
    status: FileStatus,
    status_reason: str | None,
    identification: Identification | None,
    hashes: FileHashes | None,
    sidecars: SidecarInfo | None,
    with_hashes: bool,
) -> dict[str, Any]:
    """The object ``inspect --json`` prints for one path."""
    ident = identification.to_json() if identification else {}
    out: dict[str, Any] = {
        "path": str(path),
        "size": size,
        "kind": ident.get("kind", "unknown"),
        "architecture": ident.get("architecture", "unknown"),
        "network": ident.get("network"),
        "variant": ident.get("variant"),
        "prediction": ident.get("prediction"),
        "format": file_format.value if file_format else None,
        "precision": ident.get("precision"),
        "status": status.value,
        "status_reason": status_reason,
        "reasons": ident.get("reasons", []),
        "refusals": ident.get("refusals", []),
        "metadata": ident.get("metadata", {}),
        "trigger_words": _merged_triggers(identification, sidecars),
    }
    if sidecars is not None and not sidecars.is_empty:
        out["sidecars"] = sidecar_to_json(sidecars)
    if with_hashes:
        out["hashes"] = hashes.to_json() if hashes else dict.fromkeys(HASH_KEYS)
    return out


def _merged_triggers(identification: Identification | None, sidecars: SidecarInfo | None) -> list[str]:
    words: list[str] = []
    for word in (
        *(identification.trigger_words if identification else ()),
        *(sidecars.trigger_words if sidecars else ()),
    ):
        if word and word not in words:
            words.append(word)
    return words


def sidecar_to_json(info: SidecarInfo) -> dict[str, Any]:
    data = asdict(info)
    data["previews"] = [str(p) for p in info.previews]
    data["sources"] = [str(p) for p in info.sources]
    if info.civitai is not None:
        data["civitai"] = {k: v for k, v in data["civitai"].items() if k != "payload"}
    return _plain(data)  # type: ignore[no-any-return]


def asset_to_json(
    record: AssetRecord,
    *,
    previews: list[PreviewRecord] | None = None,
    links: list[RemoteLinkRecord] | None = None,
) -> dict[str, Any]:
    """A catalog record as JSON (``search --json`` rows and ``show --json``)."""
    data: dict[str, Any] = _plain(asdict(record))
    data["hashes"] = record.hashes.to_json() if record.hashes else None
    if previews is not None:
        data["previews"] = [_plain(asdict(p)) for p in previews]
    if links is not None:
        data["remote_links"] = [_plain(asdict(link)) for link in links]
    return data


def _plain(value: Any) -> Any:
    """Convert enums, datetimes, tuples and mappings into JSON-able values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return value
