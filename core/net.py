"""One HTTP session per remote, built the same way for Civitai, Hugging Face and downloads.

Every session has: a user agent, a default timeout, retries with exponential backoff on 429/5xx and
dropped connections (honouring ``Retry-After``), an optional bearer token, and a per-host minimum
interval between requests so a batch of lookups never hammers a site. Sessions are created by the
composition root and passed to clients by constructor, never imported as globals.

Tokens are sent as ``Authorization: Bearer`` only; ``redact`` keeps them out of logs and error texts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

USER_AGENT = "Atelier/0.1 (+https://github.com/atelier-sd/atelier)"
DEFAULT_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds
RETRY_STATUSES = (429, 500, 502, 503, 504)


class RateLimiter:
    """Enforces a minimum interval between requests to the same host (thread-safe)."""

    def __init__(self, min_interval_s: float) -> None:
        self.min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}

    def wait(self, host: str) -> None:
        if self.min_interval_s <= 0:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + self.min_interval_s
        delay = slot - now
        if delay > 0:
            time.sleep(delay)


class _TimeoutAndRateLimitAdapter(HTTPAdapter):
    def __init__(self, limiter: RateLimiter, timeout: tuple[float, float], **kwargs: Any) -> None:
        self._limiter = limiter
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        self._limiter.wait(urlsplit(request.url or "").netloc)
        return super().send(request, **kwargs)


def make_session(
    *,
    token: str | None = None,
    retries: int = 5,
    backoff_factor: float = 1.0,
    backoff_max: float = 30.0,
    min_interval_s: float = 0.0,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    headers: Mapping[str, str] | None = None,
) -> requests.Session:
    """A ``requests.Session`` with retries, backoff, timeouts, rate limit, user agent and token."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "POST"}),  # our POSTs (by-hash lookups) are idempotent
        respect_retry_after_header=True,
        raise_on_status=False,  # the caller maps the final status to a typed error
    )
    adapter = _TimeoutAndRateLimitAdapter(RateLimiter(min_interval_s), timeout, max_retries=retry)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    if headers:
        session.headers.update(headers)
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def redact(text: str, *secrets: str | None) -> str:
    """Replace every secret in ``text`` by a placeholder (for logs and error messages)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text
