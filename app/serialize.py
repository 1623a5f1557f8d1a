"""JSON shapes of the CLI's ``--json`` output.

One place defines them so ``inspect``, ``search`` and ``show`` agree, and scripts can rely on the ids of
``core.taxonomy`` appearing verbatim.

A file name that is not UTF-8 reaches Python with its undecodable bytes as lone surrogates (PEP 383),
which JSON can only write as ``\udcff`` escapes that strict parsers (serde_json, Go) reject. One rule,
:func:`json_text`, applied where a command prints its JSON (the builders' dicts also feed the text output,
which prints the name's own bytes, see ``app.safe_output``): such a text is written with U+FFFD for each
undecodable byte (what a UTF-8 terminal shows for those bytes), and its exact bytes beside it in
``<field>_b64`` (base64), from which a script gets the real path back.
"""

from __future__ import annotations

import base64
import re
from contextlib import suppress
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.shell_words import map_command
from core.taxonomy import FileFormat, FileStatus

if TYPE_CHECKING:  # the records are only read here; a search or inspect need not load their modules
    from catalog.records import (
        AssetRecord,
        DeletedFileRecord,
        PreviewRecord,
        RemoteLinkRecord,
        RootPlaces,
        RootRecord,
    )
    from core.file_hashes import FileHashes
    from core.formats.sidecar_info import SidecarInfo
    from core.identify.result import Identification
    from core.sources.civitai_records import CivitaiImage

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
        *(sidecars.civitai.trigger_words if sidecars and sidecars.civitai else ()),
    ):
        if word and word not in words:
            words.append(word)
    return words


def sidecar_to_json(info: SidecarInfo) -> dict[str, Any]:
    data = asdict(info)
    data["previews"] = [str(p) for p in info.previews]
    data["sources"] = [str(p) for p in info.sources]
    if info.civitai is not None:
        data["civitai"] = {k: v for k, v in data["civitai"].items() if k not in ("payload", "examples")}
        data["civitai"]["examples"] = [example_to_json(image) for image in info.civitai.examples]
    return _plain(data)  # type: ignore[no-any-return]


def root_to_json(root: RootRecord, places: RootPlaces | None = None) -> dict[str, Any]:
    """The object ``roots --json`` prints for one library folder: ``path`` is this machine's,
    ``canonical_path`` the one the catalog stores, ``machines`` each machine's own path (with ``places``)."""
    data: dict[str, Any] = {
        "id": root.id,
        "name": root.name,
        "path": root.path,
        "canonical_path": root.canonical_path,
        "layout": root.layout.value,
        "file_count": root.file_count,
        "added_at": root.added_at.isoformat(),
    }
    if not root.placed_here:  # the stored path is another machine's: not this machine's "path"
        data["path"] = None
        data["not_here"] = f"not mapped on this machine: {map_command(root.name)}"
    if places is not None:
        data["machines"] = [
            {"id": f.machine_id, "name": f.machine_name, "path": f.path, "this_machine": f.this_machine}
            for f in places.folders
        ]
    return data


def asset_to_json(
    record: AssetRecord,
    *,
    previews: list[PreviewRecord] | None = None,
    links: list[RemoteLinkRecord] | None = None,
) -> dict[str, Any]:
    """A catalog record as JSON (``search --json`` rows and ``show --json``)."""
    data: dict[str, Any] = _plain(asdict(record))
    data["hashes"] = record.hashes.to_json() if record.hashes else None
    # ``kind`` / ``architecture`` are the effective values; the file's own identification stays beside
    # the user's override.
    data["identified_kind"] = record.file_kind.value
    data["identified_architecture"] = record.file_architecture.value
    # A Civitai label naming another family than the file's is said beside it, never silently shown.
    from core.sources.site_words import base_model_conflict

    data["base_model_warning"] = base_model_conflict(record.base_model_label, record.file_architecture)
    if previews is not None:
        data["previews"] = [_plain(asdict(p)) for p in previews]
    if links is not None:
        data["remote_links"] = [_plain(asdict(link)) for link in links]
        civitai = next((link for link in links if link.site == "civitai" and link.found), None)
        data["civitai"] = civitai_to_json(civitai) if civitai is not None else None
    return data


def deleted_file_to_json(record: DeletedFileRecord) -> dict[str, Any]:
    """One remembered deletion (``deleted --json``)."""
    return _plain(asdict(record))  # type: ignore[no-any-return]


def civitai_to_json(link: RemoteLinkRecord) -> dict[str, Any]:
    """What Civitai says about a file, as ``show`` prints it: the description as text (with the HTML kept
    beside it), Civitai's trigger words (the user's are the asset's ``trigger_words``), examples with
    their parameters and the A1111 infotext that puts one on the compose board."""
    return {
        "model_id": link.model_id,
        "version_id": link.version_id,
        "model_name": link.model_name,
        "version_name": link.version_name,
        "creator": link.creator,
        "base_model": link.base_model_label,
        "url": link.page_url,
        "description": link.description_text,
        "description_html": link.description_html,
        "tags": list(link.tags),
        "trigger_words": list(link.trigger_words),
        "nsfw": link.nsfw,
        "nsfw_level": link.nsfw_level,
        "examples": [example_to_json(image) for image in link.examples],
        "fetched_at": link.fetched_at.isoformat() if link.fetched_at else None,
    }


def example_to_json(image: CivitaiImage) -> dict[str, Any]:
    """One example image: where it is, how it was made, and its parameters as A1111 infotext."""
    from core.sources.civitai_facts import example_infotext  # the infotext writer: only for examples

    size = image.size
    return {
        "url": image.url,
        "type": image.type,
        "width": image.width,
        "height": image.height,
        "nsfw_level": image.nsfw_level,
        "prompt": image.prompt,
        "negative_prompt": image.negative,
        "sampler": image.sampler,
        "cfg_scale": image.cfg,
        "steps": image.steps,
        "seed": image.seed,
        "size": f"{size[0]}x{size[1]}" if size else None,
        "model": image.model_name,
        "model_hash": image.model_hash,
        "clip_skip": image.clip_skip,
        "infotext": example_infotext(image) if image.has_parameters else None,
    }


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


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
BYTES_FIELD_SUFFIX = "_b64"


def json_text(value: Any) -> Any:
    """``value`` (a JSON-able tree) with every text holding undecodable bytes written as valid JSON text:
    each such byte as U+FFFD, and in a mapping the exact bytes beside it as ``<key>_b64`` (base64 of the
    name's bytes; a text in a list or a mapping's key keeps only its readable form). Texts without them
    are unchanged. Printed with ``json.dump``'s default ASCII escapes, like every ``--json`` output."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list | tuple):
        return [json_text(item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        out[json_text(key) if isinstance(key, str) else key] = json_text(item)
        if isinstance(item, str) and _LONE_SURROGATE.search(item):
            # A file name's bytes (surrogateescape); another lone surrogate names no bytes.
            with suppress(UnicodeEncodeError):
                raw = item.encode("utf-8", "surrogateescape")
                out[f"{key}{BYTES_FIELD_SUFFIX}"] = base64.b64encode(raw).decode("ascii")
    return out
