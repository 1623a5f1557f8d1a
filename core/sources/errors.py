"""Typed errors for everything that talks to a remote site: Civitai, Hugging Face and downloads.

``RemoteError`` is the one remote branch of ``core.errors.AtelierError``: its ``message`` is shown to the
user as is, so every message says what happened and what to do in plain words, never a status code alone
or a stack trace. The type lets callers react without parsing text (a 404 during a hash lookup means "not
on Civitai", a 429 means "wait", a 401 means "add a key", a ``NetworkError`` means "offline"), and
``retryable`` says whether the same request may succeed later (the download engine retries only those).
The download-specific failures (a wrong size, a hash mismatch, an HTML page instead of the file, a full
disk, a lost connection) are subclasses too, so one ``except RemoteError`` covers a lookup and a download.
Messages must never contain an API token: ``error_for_status`` redacts every secret it is given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.errors import AtelierError
from core.net import redact, retry_after_seconds


class RemoteError(AtelierError):
    """Base of every remote failure; ``status`` is the HTTP status when there was one."""

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.status = status
        if retryable is not None:
            self.retryable = retryable


class NotFoundError(RemoteError):
    """404: the id, hash or file is unknown to the site (or the item was never published)."""


class AuthRequiredError(RemoteError):
    """401: the site wants an API key, or refused the one it was given."""


class EarlyAccessError(RemoteError):
    """403 "Early Access": the creator restricts this version to supporters until ``deadline``."""

    def __init__(self, message: str, *, deadline: datetime | None = None, status: int = 403) -> None:
        super().__init__(message, status=status)
        self.deadline = deadline


class ForbiddenError(RemoteError):
    """403 for any other reason (blocked region, blacklisted IP, private item)."""


class ArchivedError(RemoteError):
    """410: the model was archived by its creator; its files can no longer be downloaded."""


class RateLimitedError(RemoteError):
    """429 after the session's retries: the site's request or daily download limit was reached."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, status: int = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after_s = retry_after_s


class ServerError(RemoteError):
    """5xx after the session's retries: the site is down or overloaded; nothing is wrong locally."""

    retryable = True


class UnexpectedResponseError(RemoteError):
    """The answer was not what the API promises (an HTML page, invalid JSON, a missing field)."""


class NetworkError(RemoteError):
    """The site could not be reached at all (DNS, refused connection, timeout): the machine is offline,
    or the site's address is wrong. Background work stops quietly on it and tries again another time."""

    retryable = True


# -- downloads ---------------------------------------------------------------------------------------


class HtmlInsteadOfFileError(UnexpectedResponseError):
    """200 with an HTML page: a login or error page where the file should be."""


class UnexpectedContentError(UnexpectedResponseError):
    """200 with a JSON error body (or another non-file answer) where the file should be."""


class WrongSizeError(RemoteError):
    """The body ended before the announced length, or the file's size differs from the expected one."""


class HashMismatchError(RemoteError):
    """The finished file's SHA-256 differs from the one the site published: corrupted or replaced."""


class DiskFullError(RemoteError):
    """ENOSPC/EFBIG while writing a download; the ``.part`` file is kept so it resumes after cleanup."""


class PathTooLongError(RemoteError):
    """The download's ``.part`` or folder would pass the longest path Windows allows (``core.windows_paths``):
    refused before anything is written, and never retried (only a shorter folder or long paths help)."""


class ConnectionLostError(NetworkError):
    """The connection dropped or timed out mid-download; resuming from the ``.part`` file usually works."""


_BODY_LIMIT = 64 * 1024

# What each site calls the credential a request may carry, and the environment variable that holds it
# (``app.secrets``), by the site's name in ``core.site_tokens.SiteToken.site``: a message names the site
# and its own key ("a Hugging Face token", HF_TOKEN), whatever address the settings give the site.
SITE_KEYS: Mapping[str, tuple[str, str]] = {
    "Civitai": ("API key", "ATELIER_CIVITAI_TOKEN"),
    "Hugging Face": ("token", "HF_TOKEN"),
}


def json_error_body(raw: bytes) -> Any:
    """The decoded JSON of an error reply's (first 64 KiB of) bytes, or None when it is not JSON."""
    try:
        return json.loads(raw[:_BODY_LIMIT].decode("utf-8", errors="replace"))
    except ValueError:
        return None


def body_error_text(body: Any) -> str | None:
    """The human part of an API error body (``{"error": ..., "message": ...}``), if there is one."""
    if not isinstance(body, Mapping):
        return None
    parts = [str(body[key]) for key in ("error", "message") if isinstance(body.get(key), str) and body[key]]
    return ": ".join(dict.fromkeys(parts)) or None


def parse_deadline(value: Any) -> datetime | None:
    """An ISO 8601 deadline (``2026-12-01T00:00:00.000Z``) as an aware UTC datetime, else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def error_for_status(
    status: int,
    *,
    source: str,
    what: str,
    body: Any = None,
    retry_after: str | None = None,
    had_token: bool = False,
    token_env_var: str | None = None,
    secrets: tuple[str | None, ...] = (),
) -> RemoteError:
    """Map a final HTTP error status to the typed error a user understands.

    ``source`` names the site ("Civitai", "Hugging Face": a key of ``SITE_KEYS``), or a download's host
    when the address belongs to no site; ``what`` the thing asked for ("model 1102", "this file");
    ``body`` is the decoded JSON error body if any (see ``json_error_body``); ``token_env_var`` is the
    variable that holds the site's token (by default the site's own, none for a bare host).
    Server-provided text is redacted with ``secrets`` because a few endpoints echo the request back.
    """
    detail = body_error_text(body)
    detail = redact(detail, *secrets) if detail else None
    suffix = f" ({source} said: {detail})" if detail else ""
    if status == 401:
        return AuthRequiredError(_login_text(source, what, had_token, token_env_var) + suffix, status=status)
    if status == 403:
        if isinstance(body, Mapping) and str(body.get("error", "")).lower() == "early access":
            deadline = parse_deadline(body.get("deadline"))
            if deadline is not None:
                when = f" until {deadline:%Y-%m-%d %H:%M} UTC"
            else:
                when = f" until {body['deadline']}" if isinstance(body.get("deadline"), str) else ""
            return EarlyAccessError(
                f"{what[:1].upper()}{what[1:]} is in Early Access{when}: only supporters of its creator "
                f"can download it on {source} for now.",
                deadline=deadline,
            )
        return ForbiddenError(f"{source} does not allow access to {what}.{suffix}", status=status)
    if status == 404:
        return NotFoundError(
            f"{source} does not have {what} (not found: it may have been deleted or never published).",
            status=404,
        )
    if status == 410:
        return ArchivedError(
            f"{what[:1].upper()}{what[1:]} was archived on {source}; its files can no longer be downloaded.",
            status=410,
        )
    if status == 429:
        seconds = retry_after_seconds(retry_after)
        why = "too many requests, or the daily download limit was reached"
        if seconds is not None:
            text = f"{source} asked to wait {seconds:.0f} s (rate limit: {why}); try again later.{suffix}"
        else:
            text = f"{source} is limiting requests ({why}). Try again later.{suffix}"
        return RateLimitedError(text, retry_after_s=seconds)
    if 500 <= status < 600:
        return ServerError(
            f"{source} is having trouble (server error {status}) and did not answer for {what}, even after "
            f"retrying. Try again later.{suffix}",
            status=status,
        )
    return RemoteError(f"{source} rejected the request for {what} (HTTP {status}).{suffix}", status=status)


def _login_text(source: str, what: str, had_token: bool, token_env_var: str | None) -> str:
    """What a 401 means and what to do: the site's own key by its own name ("Add a Hugging Face token in
    Settings, or set the HF_TOKEN environment variable"); an address of no site gets no key from Atelier
    (``core.site_tokens``), so it is not asked for one."""
    key, site_var = SITE_KEYS.get(source, (None, None))
    env_var = token_env_var or site_var
    if key is None:
        return (
            f"{source} requires you to be logged in for {what}. Atelier sends an API key only to the "
            "Civitai and Hugging Face addresses of Settings › Sites: download this file in a web browser."
        )
    if had_token:
        where = f" (or {env_var})" if env_var else ""
        return (
            f"{source} refused the {key} while fetching {what}. Check the {key} in Settings{where}; it "
            "may have expired or been revoked."
        )
    where = f", or set the {env_var} environment variable" if env_var else ""
    mine = f"your {source} {key}" if key == "API key" else f"a {source} {key}"
    return f"{source} requires you to be logged in for {what}. Add {mine} in Settings{where}."
