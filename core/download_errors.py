"""Typed download failures, each with a sentence a user can act on and whether trying again may help.

The engine retries only ``retryable`` errors (dropped connections, 5xx), and the GUI shows ``message``
verbatim, so every message says what happened *and* what to do. Civitai answers non-browser clients with
JSON bodies (``{"error": ..., "message": ...}``, see FORMATS-AND-APIS A.6); :func:`error_for_status`
turns those into these types so a 401 reads "add an API key", not "HTTP 401".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class DownloadError(Exception):
    """Base of every download failure; ``retryable`` says whether the same request may succeed later."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable


class AuthRequiredError(DownloadError):
    """401: the file needs a logged-in user; from a desktop app that means an API key."""


class EarlyAccessError(DownloadError):
    """403 with a deadline: the creator sells early access until ``deadline``."""

    def __init__(self, message: str, deadline: str | None = None) -> None:
        super().__init__(message)
        self.deadline = deadline


class ForbiddenError(DownloadError):
    """403 without more detail (blocked IP or account, private file)."""


class NotFoundError(DownloadError):
    """404: the file or version is gone, or the request named a variant that does not exist."""


class ArchivedError(DownloadError):
    """410: the model was archived by its creator or the site."""


class RateLimitedError(DownloadError):
    """429: too many downloads (Civitai has a 24 h per-user/IP limiter); ``retry_after_s`` when sent."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ServerError(DownloadError):
    """5xx: the server failed; usually temporary."""

    retryable = True


class HtmlInsteadOfFileError(DownloadError):
    """200 with an HTML page: a login or error page where the file should be."""


class UnexpectedContentError(DownloadError):
    """200 with a JSON error body (or another non-file answer) where the file should be."""


class WrongSizeError(DownloadError):
    """The body ended before the announced length, or the file's size differs from the expected one."""


class HashMismatchError(DownloadError):
    """The finished file's SHA-256 differs from the one the site published: corrupted or replaced."""


class DiskFullError(DownloadError):
    """ENOSPC/EFBIG while writing; the ``.part`` file is kept so the download resumes after cleanup."""


class ConnectionLostError(DownloadError):
    """The connection dropped or timed out; resuming from the ``.part`` file usually works."""

    retryable = True


_BODY_LIMIT = 64 * 1024


def _json_fields(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body[:_BODY_LIMIT].decode("utf-8", errors="replace"))
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _detail(fields: Mapping[str, Any]) -> str:
    """The server's own words, when it gave any (Civitai puts them in ``message`` or ``error``)."""
    for key in ("message", "error"):
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare enough to treat as "unknown"


def error_for_status(status: int, body: bytes, headers: Mapping[str, str], host: str = "") -> DownloadError:
    """The typed error for an HTTP error reply, using the JSON body's text when there is one."""
    fields = _json_fields(body)
    detail = _detail(fields)
    said = f" The server said: “{detail}”." if detail else ""
    where = host or "the server"
    if status == 401:
        return AuthRequiredError(
            f"{where} requires you to be logged in to download this file.{said} "
            "Add an API key for this site in Settings → Accounts and try again."
        )
    if status == 403:
        deadline = fields.get("deadline")
        if str(fields.get("error", "")).lower() == "early access" or deadline:
            when = f" until {deadline}" if deadline else ""
            return EarlyAccessError(
                f"This file is in early access{when}: only supporters of the creator can download it now.",
                deadline=str(deadline) if deadline else None,
            )
        return ForbiddenError(f"{where} refused the download (403 Forbidden).{said}")
    if status == 404:
        return NotFoundError(f"The file was not found on {where} (404).{said} It may have been removed.")
    if status == 410:
        return ArchivedError(
            f"This model has been archived on {where} (410) and can no longer be downloaded."
        )
    if status == 429:
        retry_after = _retry_after(headers)
        later = f" Try again in {retry_after:.0f} s." if retry_after is not None else " Try again later."
        return RateLimitedError(
            f"{where} is limiting downloads (429: too many requests or the daily download limit)."
            f"{said}{later}",
            retry_after_s=retry_after,
        )
    if status >= 500:
        return ServerError(f"{where} had an internal error (HTTP {status}).{said} Try again later.")
    return DownloadError(f"{where} answered HTTP {status}.{said}")
