"""Typed, user-facing errors for the Hugging Face client.

huggingface_hub raises a zoo of exceptions whose names changed across 0.x/1.x/2.x (``EntryNotFoundError``
became a base of ``RemoteEntryNotFoundError``; 2.x raises ``httpx2`` transport errors). The GUI must not
know any of that: it catches ``HuggingFaceError`` and shows ``message``, and reacts to the subclass (a gated
repo means "go accept the conditions", a 429 means "wait"). Messages never contain the token: the
library's own text is not reused, except through ``redact``.
"""

from __future__ import annotations

from huggingface_hub.errors import (
    EntryNotFoundError,
    FileMetadataError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from core.net import redact
from core.sources.errors import (
    AuthRequiredError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RemoteError,
    ServerError,
    UnexpectedResponseError,
)

GATED_MESSAGE = (
    "This repository is gated: accept its conditions on huggingface.co and add your token in Settings "
    "(or HF_TOKEN)"
)

# Transport failures of requests (0.x), httpx (1.x) and httpx2 (2.x), matched by class name so that core
# does not import whichever HTTP library the installed huggingface_hub happens to use.
_NETWORK_ERROR_NAMES = frozenset(
    {
        "ConnectError",
        "ConnectTimeout",
        "ReadTimeout",
        "ReadError",
        "WriteError",
        "PoolTimeout",
        "TimeoutException",
        "NetworkError",
        "TransportError",
        "RemoteProtocolError",
        "Timeout",
    }
)


class HuggingFaceError(RemoteError):
    """Base of every Hugging Face failure; a ``RemoteError``, so callers catch one type for both sites.

    Each subclass is also the site-neutral ``RemoteError`` subclass of its kind (a missing repo is a
    ``NotFoundError``, no network a ``NetworkError``...), so code that serves both sites reacts by type.
    """


class HfRepoNotFoundError(HuggingFaceError, NotFoundError):
    """The repository does not exist, or is private and the token cannot see it (the Hub says 404/401)."""


class HfGatedRepoError(HuggingFaceError, AuthRequiredError):
    """The repository is gated and the request carried no token, or one without accepted conditions."""


class HfRevisionNotFoundError(HuggingFaceError, NotFoundError):
    """The branch, tag or commit does not exist in the repository."""


class HfFileNotFoundError(HuggingFaceError, NotFoundError):
    """The file does not exist at that revision."""


class HfAuthError(HuggingFaceError, AuthRequiredError):
    """401/403 not explained by gating: the token is invalid or lacks permission."""


class HfRateLimitedError(HuggingFaceError, RateLimitedError):
    """429: too many requests; the user should wait (or sign in, which raises the limit)."""


class HfServerError(HuggingFaceError, ServerError):
    """5xx or another unexpected HTTP status: the Hub (or mirror) is failing, not the user."""


class HfOfflineError(HuggingFaceError, NetworkError):
    """No network: offline mode is on, the host cannot be reached, or a cached entry is missing."""


class HfProtocolError(HuggingFaceError, UnexpectedResponseError):
    """The server answered, but not like a Hugging Face Hub (e.g. no ``X-Repo-Commit`` header)."""


def _status_of(exc: HfHubHTTPError) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _is_network_error(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    return any(cls.__name__ in _NETWORK_ERROR_NAMES for cls in type(exc).__mro__)


def translate(
    exc: BaseException,
    *,
    repo_id: str | None = None,
    path: str | None = None,
    revision: str | None = None,
    token: str | None = None,
) -> HuggingFaceError | None:
    """Map a huggingface_hub (or transport) exception to a ``HuggingFaceError``; None if it is not one.

    Order matters: ``GatedRepoError`` subclasses ``RepositoryNotFoundError``, and ``OfflineModeIsEnabled``
    subclasses ``ConnectionError``.
    """
    what = f"'{repo_id}'" if repo_id else "the repository"
    where = f"'{path}' in {what}" if path else what
    if isinstance(exc, HuggingFaceError):
        return exc
    if isinstance(exc, GatedRepoError):
        return HfGatedRepoError(GATED_MESSAGE, status=_status_of(exc))
    if isinstance(exc, RepositoryNotFoundError):
        return HfRepoNotFoundError(
            f"Hugging Face repository {what} was not found (or it is private and your token cannot see it).",
            status=_status_of(exc),
        )
    if isinstance(exc, RevisionNotFoundError):
        return HfRevisionNotFoundError(
            f"Revision '{revision or 'main'}' does not exist in {what}.", status=_status_of(exc)
        )
    if isinstance(exc, OfflineModeIsEnabled):
        return HfOfflineError("Hugging Face is unreachable: offline mode is on (HF_HUB_OFFLINE).")
    if isinstance(exc, LocalEntryNotFoundError):
        return HfOfflineError(f"Cannot reach Hugging Face and {where} is not in the local cache.")
    if isinstance(exc, EntryNotFoundError):
        return HfFileNotFoundError(
            f"File {where} was not found at revision '{revision or 'main'}'.",
            status=_status_of(exc) if isinstance(exc, HfHubHTTPError) else None,
        )
    if isinstance(exc, HfHubHTTPError):
        status = _status_of(exc)
        if status in (401, 403):
            return HfAuthError(
                f"Hugging Face refused access to {what} (HTTP {status}): check the token in Settings.",
                status=status,
            )
        if status == 429:
            return HfRateLimitedError(
                "Hugging Face is rate-limiting requests: wait a few minutes (signed-in users get more).",
                status=status,
            )
        server_message = redact(getattr(exc, "server_message", None) or "", token)
        detail = f": {server_message}" if server_message else ""
        return HfServerError(
            f"Hugging Face answered HTTP {status if status is not None else '?'} for {where}{detail}",
            status=status,
        )
    if isinstance(exc, FileMetadataError):
        return HfProtocolError(f"The server for {where} does not behave like a Hugging Face Hub.")
    if _is_network_error(exc):
        return HfOfflineError("Cannot reach Hugging Face: check your network connection (or HF_ENDPOINT).")
    return None
