"""Turns a file picked on Civitai or Hugging Face into a ``DownloadRequest``, and a finished download
back into a ``RemoteMatch`` for the library.

The request carries the remote facts (ids, names, base model, trigger words, the raw payload) in its
``metadata``; the engine stores them with the queue, so when the file lands the library records what it
is without a hash lookup, even after a restart in between.

What is kept of the site's answer is bounded: a description longer than ``DESCRIPTION_LIMIT`` characters
(the model's, and the version's inside the payload) is cut there, with a mark saying so
(``core.sources.descriptions``, the rule every remote link in the library follows too), so a site's
answer with a 200 MB description does not become 200 MB in the queue and again in the library. Once the
file is in the library, the queue's row drops the payload (``SqlDownloadStore.drop_metadata``): the
library's remote link is the one copy kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.download_paths import choose_root, kind_for_civitai, kind_for_hf, target_folder
from catalog.records import RemoteMatch, RootRecord
from core.downloads import DownloadRequest, DownloadSource
from core.sources.civitai_facts import examples
from core.sources.civitai_records import CivitaiFile, CivitaiModel, CivitaiVersion
from core.sources.descriptions import bounded_description, bounded_payload
from core.sources.hf_records import HfFile, HfModelDetail

MATCH_KEY = "remote_match"


def civitai_request(
    model: CivitaiModel,
    version: CivitaiVersion,
    file: CivitaiFile,
    download_url: str,
    *,
    roots: Sequence[RootRecord],
    preferred_root: str = "",
    subfolder: str = "",
) -> DownloadRequest:
    """A Civitai file into the folder of its kind (from the model type) under the download root."""
    root = choose_root(roots, preferred_root)
    kind = kind_for_civitai(model.type, file.type)
    values = {"base_model": version.base_model, "model_name": model.name, "type": model.type}
    match = {
        "site": "civitai",
        "model_id": str(model.id),
        "version_id": str(version.id),
        "file_id": str(file.id) if file.id is not None else None,
        "model_name": model.name,
        "version_name": version.name,
        "base_model_label": version.base_model,
        "trigger_words": list(version.trained_words),
        "tags": list(model.tags),
        "nsfw": model.nsfw,
        "description": bounded_description(model.description_html),
        "creator": model.creator,
        "payload": bounded_payload(version.raw),
    }
    return DownloadRequest(
        url=download_url,
        target_dir=target_folder(root, kind, subfolder, values),
        source=DownloadSource.CIVITAI,
        expected_size=file.size_bytes,
        expected_sha256=file.sha256,
        file_name=file.name,
        metadata={MATCH_KEY: match},
        remote_ids={"model_id": model.id, "version_id": version.id, "file_id": file.id},
    )


def hf_request(
    detail: HfModelDetail,
    file: HfFile,
    url: str,
    *,
    roots: Sequence[RootRecord],
    preferred_root: str = "",
    subfolder: str = "",
) -> DownloadRequest:
    """A Hugging Face file; its kind is guessed from the repository's tags and the file's path."""
    root = choose_root(roots, preferred_root)
    kind = kind_for_hf(detail.repo_id, detail.tags, file.path)
    base = detail.base_models[0] if detail.base_models else None
    values = {"base_model": base, "model_name": detail.repo_id.split("/")[-1], "type": kind.value}
    match = {
        "site": "huggingface",
        "model_id": detail.repo_id,
        "version_id": detail.sha,
        "file_id": file.path,
        "model_name": detail.repo_id,
        "version_name": None,
        "base_model_label": None,
        "trigger_words": [],
        "tags": list(detail.tags),
        "nsfw": False,
        "description": None,
        "payload": {"repo_id": detail.repo_id, "sha": detail.sha, "path": file.path},
    }
    return DownloadRequest(
        url=url,
        target_dir=target_folder(root, kind, subfolder, values),
        source=DownloadSource.HUGGINGFACE,
        expected_size=file.size,
        expected_sha256=file.sha256,
        file_name=file.name,
        metadata={MATCH_KEY: match},
        remote_ids={"repo_id": detail.repo_id, "revision": detail.sha, "path": file.path},
    )


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def match_from_metadata(metadata: Mapping[str, Any]) -> RemoteMatch | None:
    """The ``RemoteMatch`` stored by :func:`civitai_request` / :func:`hf_request`, if any."""
    raw = metadata.get(MATCH_KEY)
    if not isinstance(raw, Mapping) or raw.get("site") not in ("civitai", "huggingface"):
        return None
    payload = raw.get("payload")
    return RemoteMatch(
        site=str(raw["site"]),
        model_id=_text(raw.get("model_id")),
        version_id=_text(raw.get("version_id")),
        file_id=_text(raw.get("file_id")),
        model_name=_text(raw.get("model_name")),
        version_name=_text(raw.get("version_name")),
        base_model_label=_text(raw.get("base_model_label")),
        description=_text(raw.get("description")),
        trigger_words=tuple(str(w) for w in raw.get("trigger_words") or ()),
        tags=tuple(str(t) for t in raw.get("tags") or ()),
        nsfw=bool(raw.get("nsfw")),
        payload=dict(payload) if isinstance(payload, Mapping) else {},
        creator=_text(raw.get("creator")),
        # The version payload's example images, stored like a lookup's (catalog/remote.py).
        examples=examples(payload.get("images")) if isinstance(payload, Mapping) else (),
    )
