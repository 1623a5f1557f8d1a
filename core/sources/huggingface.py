"""Hugging Face Hub client: search, repository details, file trees and file metadata for the downloader.

A thin layer over huggingface_hub's ``HfApi`` (the library owns HTTP, paging and auth headers; its client
gets the fail-fast retry policy of ``core.net`` through ``core.sources.hf_transport``).
What it adds: the endpoint and token are passed explicitly on every call, because huggingface_hub reads
``HF_ENDPOINT`` once at import and the app lets the user change both at runtime; the library's objects are
turned into frozen records; and its exceptions become ``HuggingFaceError`` subclasses with plain messages.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url
from huggingface_hub.hf_api import ExpandModelProperty_T, ModelInfo, RepoFile

from core.net import RetryPolicy
from core.sources.hf_errors import HfProtocolError, HuggingFaceError, translate
from core.sources.hf_records import (
    HfFile,
    HfModelDetail,
    HfModelSummary,
    HfResolvedFile,
    detail_from_payload,
    sha256_or_none,
    summary_from_payload,
)
from core.sources.hf_transport import install_fail_fast_client, token_only_to

DEFAULT_ENDPOINT = "https://huggingface.co"
# Sent in the User-Agent so the Hub (or a mirror's logs) can tell Atelier's requests apart.
LIBRARY_NAME = "atelier"
LIBRARY_VERSION = "0.1"

SortKey = Literal["downloads", "likes", "last_modified", "created_at", "trending_score"]

# Asked for explicitly: the Hub's default list items lack author, lastModified and gated.
_SUMMARY_EXPAND: list[ExpandModelProperty_T] = [
    "author",
    "downloads",
    "likes",
    "tags",
    "pipeline_tag",
    "library_name",
    "lastModified",
    "gated",
    "private",
]


class HuggingFaceClient:
    """Read-only access to one Hub endpoint (huggingface.co or a mirror such as HF_ENDPOINT)."""

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        self._token = token or None
        self._timeout = timeout
        # Offline is reported at once, not after the library's 5 retries (one policy per process).
        install_fail_fast_client(retry_policy)
        self._api = HfApi(
            endpoint=self.endpoint,
            token=self._token,
            library_name=LIBRARY_NAME,
            library_version=LIBRARY_VERSION,
        )

    def __repr__(self) -> str:
        # Never show the token (this object ends up in logs and tracebacks).
        return f"HuggingFaceClient(endpoint={self.endpoint!r}, token={'set' if self._token else 'unset'})"

    def search_models(
        self,
        text: str = "",
        *,
        author: str | None = None,
        tags: Iterable[str] = (),
        sort: SortKey = "downloads",
        limit: int = 30,
        offset: int = 0,
    ) -> list[HfModelSummary]:
        """Models matching ``text`` (substring of the id), ``author`` and every tag in ``tags``, best first.

        Tags are the Hub's filters: "diffusers", "lora", "base_model:org/name", "library:…". The Hub pages by
        ``Link`` headers, which the library follows lazily; ``offset`` skips results client-side, so deep
        offsets cost the pages before them.
        """
        if limit <= 0:
            return []
        filters = list(tags)
        try:
            with self._translating():
                items = self._api.list_models(
                    search=text or None,
                    author=author or None,
                    filter=filters or None,
                    sort=sort,
                    limit=offset + limit,
                    expand=_SUMMARY_EXPAND,
                )
                return [
                    summary_from_payload(_payload_from_info(info))
                    for info in itertools.islice(items, offset, offset + limit)
                ]
        except HuggingFaceError as exc:
            # /api/models exists on every Hub: a 404 there means the address is not a Hub's
            if exc.status == 404:
                raise self._wrong_address("HTTP 404 for /api/models") from exc
            raise
        except (TypeError, KeyError, AttributeError, ValueError) as exc:  # a listing in another shape
            raise self._wrong_address("an answer for /api/models in another shape") from exc

    def model_info(self, repo_id: str, revision: str | None = None) -> HfModelDetail:
        """The repository at ``revision`` (default branch if None), with sizes and LFS sha256 of all files."""
        with self._translating(repo_id=repo_id, revision=revision):
            info = self._api.model_info(
                repo_id, revision=revision, files_metadata=True, timeout=self._timeout
            )
        return detail_from_payload(_payload_from_info(info))

    def file_tree(self, repo_id: str, revision: str | None = None, path: str | None = None) -> list[HfFile]:
        """Every file under ``path`` (whole repository if None), recursively, with sizes and LFS sha256."""
        with self._translating(repo_id=repo_id, revision=revision, path=path):
            entries = self._api.list_repo_tree(
                repo_id, path_in_repo=path or None, recursive=True, revision=revision
            )
            return [_file_from_repo_file(e) for e in entries if isinstance(e, RepoFile)]

    def file_url(self, repo_id: str, path: str, revision: str = "main") -> str:
        """The ``/resolve/`` URL of a file on this endpoint (what a browser or the downloader GETs)."""
        return hf_hub_url(repo_id, path, revision=revision, endpoint=self.endpoint)

    def resolve_file(self, repo_id: str, path: str, revision: str = "main") -> HfResolvedFile:
        """HEAD the file: the URL to download (a CDN after redirects), its size, sha256 and commit.

        sha256 is the ``X-Linked-Etag`` of LFS files; small git files have a sha1 blob id there instead,
        so it is None for them and the downloader checks the size only.
        """
        url = self.file_url(repo_id, path, revision)
        with self._translating(repo_id=repo_id, revision=revision, path=path):
            meta = get_hf_file_metadata(
                url,
                token=self._token,
                timeout=self._timeout,
                endpoint=self.endpoint,
                library_name=LIBRARY_NAME,
                library_version=LIBRARY_VERSION,
            )
        if not meta.commit_hash:
            raise HfProtocolError(
                f"The server for '{path}' in '{repo_id}' sent no X-Repo-Commit: it is not a Hugging Face Hub."
            )
        return HfResolvedFile(
            url=meta.location, size=meta.size, sha256=sha256_or_none(meta.etag), commit=meta.commit_hash
        )

    def _wrong_address(self, detail: str) -> HfProtocolError:
        return HfProtocolError(
            f"The Hugging Face address in Settings ({self.endpoint}) does not answer like the Hugging Face "
            f"Hub ({detail}) — check it"
        )

    @contextmanager
    def _translating(
        self, *, repo_id: str | None = None, revision: str | None = None, path: str | None = None
    ) -> Iterator[None]:
        try:
            with token_only_to(self.endpoint):  # the token goes to this Hub only (see hf_transport)
                yield
        except Exception as exc:
            error = translate(exc, repo_id=repo_id, path=path, revision=revision, token=self._token)
            if error is None:
                raise
            raise error from exc


def _file_from_repo_file(entry: RepoFile) -> HfFile:
    lfs = entry.lfs
    return HfFile(
        path=entry.path,
        size=lfs.size if lfs is not None else entry.size,
        sha256=sha256_or_none(lfs.sha256) if lfs is not None else None,
        is_lfs=lfs is not None,
        blob_id=entry.blob_id,
    )


def _payload_from_info(info: ModelInfo) -> dict[str, Any]:
    """Back to the Hub's JSON shape, so parsing lives in one pure place (hf_records) and ``raw`` is JSON."""
    # CardData.to_dict is untyped in huggingface_hub; it returns the card's YAML keys as a plain dict.
    card = info.card_data.to_dict() if info.card_data is not None else None  # type: ignore[no-untyped-call]
    payload: dict[str, Any] = {
        "id": info.id,
        "author": info.author,
        "sha": info.sha,
        "lastModified": _iso(info.last_modified),
        "createdAt": _iso(info.created_at),
        "private": info.private,
        "gated": info.gated,
        "disabled": info.disabled,
        "downloads": info.downloads,
        "likes": info.likes,
        "library_name": info.library_name,
        "pipeline_tag": info.pipeline_tag,
        "tags": list(info.tags) if info.tags is not None else None,
        "cardData": card,
        "config": info.config,
    }
    if info.siblings is not None:
        payload["siblings"] = [
            _drop_none(
                {
                    "rfilename": s.rfilename,
                    "size": s.size,
                    "blobId": s.blob_id,
                    "lfs": (
                        {"sha256": s.lfs.sha256, "size": s.lfs.size, "pointerSize": s.lfs.pointer_size}
                        if s.lfs is not None
                        else None
                    ),
                }
            )
            for s in info.siblings
        ]
    return _drop_none(payload)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _drop_none(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}
