"""Civitai REST API v1 client: search, model/version lookups, hash identification, images, tags.

The HTTP session (retries with backoff on 429/5xx, rate limit, timeouts, bearer token) is built by
``core.net.make_session`` and passed in, so this module only shapes requests and interprets answers:
every final error status becomes a typed ``core.sources.errors`` error with a message for the user, and
every body is checked to be the JSON the API promises (a login page or a wrong base URL answers HTML).
The token lives only in the session's token policy (``core.site_tokens``: sent to the configured Civitai
origin and nowhere else, images and download links included) and is redacted from every message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import requests

from core.net import (
    ANSWERED_WRONGLY,
    RetryHistory,
    classify_failure,
    describe_failure,
    host_of,
    retry_history,
)
from core.site_tokens import TokenPolicy
from core.sources.civitai_records import (
    CivitaiImagePage,
    CivitaiModel,
    CivitaiSearchPage,
    CivitaiVersion,
    RecordError,
    is_sha256,
    parse_image_page,
    parse_model,
    parse_search_page,
    parse_tags,
    parse_version,
    parse_versions,
)
from core.sources.errors import (
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RemoteError,
    ServerError,
    UnexpectedResponseError,
    error_for_status,
)
from core.wording import counted

log = logging.getLogger(__name__)

SOURCE = "Civitai"
DEFAULT_BASE_URL = "https://civitai.com"
HASH_BATCH_SIZE = 100  # POST /model-versions/by-hash rejects more than 100 hashes (400)
IDS_BATCH_SIZE = 100  # /models answers at most 100 items a page

T = TypeVar("T")


def with_retry_note(error: RemoteError, history: RetryHistory) -> RemoteError:
    """After retries the error says so ("Civitai is not answering (HTTP 503) — gave up after 4 tries…")."""
    if not history.retried:
        return error
    if isinstance(error, ServerError):
        return ServerError(
            f"{SOURCE} is not answering (HTTP {error.status}) — {history.note()}. Try again later.",
            status=error.status,
        )
    if isinstance(error, RateLimitedError):
        return RateLimitedError(
            f"{error.message} ({history.note()})", retry_after_s=error.retry_after_s, status=429
        )
    return error


class CivitaiClient:
    """Talks to ``{base_url}/api/v1``; ``base_url`` may be civitai.com, civitai.red or a mirror."""

    def __init__(self, session: requests.Session, base_url: str = DEFAULT_BASE_URL) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self.api_url = f"{self.base_url}/api/v1"

    # --- public API ---------------------------------------------------------------------------------

    def search_models(
        self,
        query: str = "",
        *,
        tag: str | None = None,
        username: str | None = None,
        types: Sequence[str] = (),
        base_models: Sequence[str] = (),
        sort: str | None = None,
        period: str | None = None,
        nsfw: bool | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> CivitaiSearchPage:
        """One page of ``/models``. Cursor paging only: Civitai answers 400 to ``page`` with ``query``."""
        params: list[tuple[str, str]] = [("limit", str(max(1, min(limit, 100))))]
        if query:
            params.append(("query", query))
        if tag:
            params.append(("tag", tag))
        if username:
            params.append(("username", username))
        params.extend(("types", t) for t in types)
        params.extend(("baseModels", b) for b in base_models)
        if sort:
            params.append(("sort", sort))
        if period:
            params.append(("period", period))
        if nsfw is not None:
            params.append(("nsfw", "true" if nsfw else "false"))
        if cursor:
            params.append(("cursor", cursor))
        what = f'models matching "{query}"' if query else "the model list"
        data = self._request("GET", "/models", what, params=params, listing=True)
        return self._parse(parse_search_page, data, what, listing="/models")

    def models_by_ids(self, model_ids: Sequence[int]) -> dict[int, CivitaiModel]:
        """Several models at once (``/models?ids=``, 100 per request): tags and flags for many matches."""
        found: dict[int, CivitaiModel] = {}
        for _asked, models in self.model_batches(model_ids):
            found.update(models)
        return found

    def model_batches(self, model_ids: Sequence[int]) -> Iterator[tuple[list[int], dict[int, CivitaiModel]]]:
        """``/models?ids=`` one request of at most 100 ids at a time, each with every version of its models.

        Yields (the ids asked, the models found among them) after each request, so a long check can report
        progress and stop between requests; requests go one after another, through the session's rate
        limit and its 429/Retry-After policy. A model missing from an answer was deleted or hidden.
        """
        unique = list(dict.fromkeys(int(i) for i in model_ids))
        for start in range(0, len(unique), IDS_BATCH_SIZE):
            chunk = unique[start : start + IDS_BATCH_SIZE]
            params = [("ids", ",".join(str(i) for i in chunk)), ("limit", str(len(chunk))), ("nsfw", "true")]
            what = counted(len(chunk), "model")
            data = self._request("GET", "/models", what, params=params, listing=True)
            page = self._parse(parse_search_page, data, what, listing="/models")
            yield chunk, {model.id: model for model in page.items}

    def get_model(self, model_id: int) -> CivitaiModel:
        what = f"model {model_id}"
        return self._parse(parse_model, self._request("GET", f"/models/{int(model_id)}", what), what)

    def get_version(self, version_id: int) -> CivitaiVersion:
        what = f"model version {version_id}"
        path = f"/model-versions/{int(version_id)}"
        return self._parse(parse_version, self._request("GET", path, what), what)

    def version_by_hash(self, file_hash: str) -> CivitaiVersion | None:
        """The version owning a file with this AutoV1/V2/V3, SHA256, BLAKE3 or CRC32; None if unknown."""
        digest = file_hash.strip().upper()
        if not digest or any(c not in "0123456789ABCDEF" for c in digest):
            raise ValueError(f"not a hash: {file_hash!r}")
        what = f"the file with hash {digest}"
        try:
            data = self._request("GET", f"/model-versions/by-hash/{digest}", what)
        except NotFoundError:
            return None
        return self._parse(parse_version, data, what)

    def versions_by_hashes(self, sha256s: Sequence[str]) -> dict[str, CivitaiVersion]:
        """Map each SHA-256 (upper-cased) to its version, in POSTs of at most 100; unknown ones absent."""
        wanted = list(dict.fromkeys(h.strip().upper() for h in sha256s))
        bad = [h for h in wanted if not is_sha256(h)]
        if bad:
            raise ValueError(f"not SHA-256 hex digests: {bad[:3]}")
        found: dict[str, CivitaiVersion] = {}
        for start in range(0, len(wanted), HASH_BATCH_SIZE):
            batch = wanted[start : start + HASH_BATCH_SIZE]
            what = counted(len(batch), "file hash", "file hashes")
            data = self._request("POST", "/model-versions/by-hash", what, body=batch, listing=True)
            requested = set(batch)
            for version in self._parse(parse_versions, data, what, listing="/model-versions/by-hash"):
                for file in version.files:
                    if file.sha256 in requested:
                        found[file.sha256] = version
        return found

    def images(
        self, version_id: int, *, limit: int = 20, nsfw_level: int | None = None, cursor: str | None = None
    ) -> CivitaiImagePage:
        """Community images of a version; ``nsfw_level`` is the NsfwLevel bitmask sent as browsingLevel."""
        params: list[tuple[str, str]] = [
            ("modelVersionId", str(int(version_id))),
            ("limit", str(max(1, min(limit, 200)))),
        ]
        if nsfw_level is not None:
            params.append(("browsingLevel", str(nsfw_level)))
        if cursor:
            params.append(("cursor", cursor))
        what = f"images of model version {version_id}"
        data = self._request("GET", "/images", what, params=params, listing=True)
        return self._parse(parse_image_page, data, what, listing="/images")

    def tags(self, query: str = "", limit: int = 20) -> list[str]:
        params: list[tuple[str, str]] = [("limit", str(max(1, min(limit, 200))))]
        if query:
            params.append(("query", query))
        what = "the tag list"
        data = self._request("GET", "/tags", what, params=params, listing=True)
        return self._parse(parse_tags, data, what, listing="/tags")

    def download_url(
        self, version_id: int, file_id: int | None = None, *, version: CivitaiVersion | None = None
    ) -> str:
        """The ``/api/download/models/{id}`` URL; a non-primary file is chosen with ``?type=&format=``.

        Choosing a file needs its type and format, so ``version`` is fetched unless the caller has it.
        """
        url = f"{self.base_url}/api/download/models/{int(version_id)}"
        if file_id is None:
            return url
        if version is None or version.id != version_id:
            version = self.get_version(version_id)
        file = next((f for f in version.files if f.id == file_id), None)
        if file is None:
            raise NotFoundError(f"{SOURCE} has no file {file_id} in model version {version_id}.", status=404)
        if file.primary:
            return url
        params = [(key, value) for key, value in (("type", file.type), ("format", file.format)) if value]
        return f"{url}?{urlencode(params, quote_via=quote)}" if params else url

    # --- plumbing -----------------------------------------------------------------------------------

    def _token(self) -> str | None:
        """The key the session sends to this client's API (None: none, or not to this address)."""
        auth = self._session.auth
        return auth.token_for(self.api_url) if isinstance(auth, TokenPolicy) else None

    def _request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Iterable[tuple[str, str]] | None = None,
        body: Any = None,
        listing: bool = False,
    ) -> Any:
        """Send, map a final error status to a typed error, and return the decoded JSON body.

        A ``listing`` endpoint (search, tags, images, the hash batch) exists on every Civitai: a 404 there
        means the address is not Civitai's, not that something is missing.
        """
        url = f"{self.api_url}{path}"
        token = self._token()
        # Content-Type: application/json makes Civitai answer errors as JSON instead of redirecting to
        # its HTML login page (see FORMATS-AND-APIS A.6).
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        try:
            response = self._session.request(
                method,
                url,
                params=list(params) if params is not None else None,
                data=json.dumps(body) if body is not None else None,
                headers=headers,
            )
        except requests.RequestException as exc:
            # str(exc) would carry the URL (and its query); the classified reason says enough.
            log.debug("%s %s failed: %s", method, path, type(exc).__name__)
            message = describe_failure(exc, host_of(self.base_url))
            if classify_failure(exc) in ANSWERED_WRONGLY:  # it did answer: trying again gets the same
                raise UnexpectedResponseError(message) from None
            raise NetworkError(message) from None
        log.debug("%s %s -> %s", method, path, response.status_code)
        data = self._decode(response, what)
        if listing and response.status_code == 404:
            raise self._wrong_address(f"HTTP 404 for /api/v1{path}")
        if response.status_code >= 400:
            error = error_for_status(
                response.status_code,
                source=SOURCE,
                what=what,
                body=data,
                retry_after=response.headers.get("Retry-After"),
                had_token=token is not None,
                secrets=(token,),
            )
            raise with_retry_note(error, retry_history(response))
        if data is None:
            raise self._not_json(what)
        return data

    def _decode(self, response: requests.Response, what: str) -> Any:
        """The JSON body, None for an error status without JSON; an HTML page is never accepted as data."""
        content_type = response.headers.get("Content-Type", "").lower()
        text = response.text
        looks_html = "html" in content_type or text.lstrip()[:1] == "<"
        if looks_html:
            if response.status_code >= 400:
                return None
            raise UnexpectedResponseError(
                f"{SOURCE} answered {what} with a web page instead of data. This usually means a login or "
                f"browser-check page, or a wrong {SOURCE} address in Settings (it should be like "
                f"{DEFAULT_BASE_URL}, without /api/v1)."
            )
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            if response.status_code >= 400:
                return None
            raise self._not_json(what) from None

    def _not_json(self, what: str) -> UnexpectedResponseError:
        return UnexpectedResponseError(
            f"{SOURCE} sent something that is not valid data for {what}. The site may be changing its API "
            f"or the {SOURCE} address in Settings may be wrong."
        )

    def _wrong_address(self, detail: str) -> UnexpectedResponseError:
        return UnexpectedResponseError(
            f"The {SOURCE} address in Settings ({self.base_url}) does not answer like {SOURCE} ({detail}) "
            "— check it"
        )

    def _parse(self, parser: Callable[[Any], T], data: Any, what: str, *, listing: str | None = None) -> T:
        try:
            return parser(data)
        except RecordError as exc:
            if listing is not None:  # a listing in another shape: some other server answered
                raise self._wrong_address(f"an answer for /api/v1{listing} in another shape") from None
            raise UnexpectedResponseError(
                f"{SOURCE} sent an answer for {what} that Atelier does not understand ({exc})."
            ) from None
