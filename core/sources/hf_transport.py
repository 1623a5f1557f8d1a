"""The fail-fast retry policy of ``core.net``, applied to huggingface_hub's own HTTP client.

huggingface_hub owns its HTTP (an ``httpx``/``httpx2`` client shared by the process) and, for paged calls
(search, file trees), retries a name that does not resolve or a refused connection five times with
backoff: 23 s of "Searching…" when offline, with a warning on stderr for each try, and it sleeps whatever
a 429's reset asks, an hour included. This module installs, through the library's public
``set_client_factory``, a client whose transport applies ``core.net.RetryPolicy`` instead:

* a failed name lookup, a refused connection (after one quick retry) or a timeout raises
  ``HfOfflineError`` with ``describe_failure``'s sentence at once;
* 429/5xx are retried within the same budget (``core.net.GIVE_UP_AFTER_S``), each wait announced to
  ``core.net.waits_reported_to``; when the budget is spent an ``HfRateLimitedError``/``HfServerError``
  says how many tries it took.

Those are not ``httpx`` errors, so the library's backoff loop lets them through untouched, and the
client's ``translate`` passes a ``HuggingFaceError`` on as is. Each try's timeouts are cut to what is left
of the budget, so a Hub that accepts the connection and never answers is given up on within it too.
A read timeout counts the silence between two bytes, so a Hub sending a byte a second would never trip
it: each try's whole answer (headers and body) must also arrive within what is left of the budget. The
client's connections read through ``_deadline_backend``'s streams, which cut each read's timeout to the try's
deadline and fail the read past it ("… sent its answer too slowly — gave up after N s"). This reaches
into the library's connection pool (``HTTPTransport._pool._network_backend``, private in httpx/httpcore):
where a version lacks it, only the per-read timeout applies.

The same transport keeps the token on the Hub: the library adds the token to its requests, and this
transport drops the ``Authorization`` header of any request whose origin (scheme, host, port; see
``core.site_tokens``) is not the endpoint of the ``HuggingFaceClient`` call that made it
(``token_only_to``), whatever URL a payload or a redirect names.

An answer of the Hub's API (a model's info, a file list, a page of search results: JSON the library reads
whole into memory) is held to ``core.net.MAX_ANSWER_BYTES`` once decoded, as Civitai's answers are
(``core.net.read_answer``): past it the read stops and ``HfProtocolError`` says "… sent an answer too large
to be its data …" (``describe_failure``). The library decodes ``Content-Encoding`` only after the transport
returns, where a gzip bomb would be seen inflated; so the transport decodes an API answer itself, through
the HTTP library's own bounded decoders (a block of compressed bytes never inflates past 1 MiB at once),
counts the decoded bytes as they come, and hands the library plain bytes without the ``Content-Encoding``
and ``Content-Length`` headers.

Which requests are answers is decided by route, not by what the server says it sends (a hostile server
says whatever it likes): a request whose first address is under ``/api/`` is one, and stays one through
its redirects (the request's extensions travel with them), so an API request redirected elsewhere is
still capped. Everything else is a file (``/{repo}/resolve/…``, and the CDN address the library fetches
it from after asking the Hub where it lives), held the same way to ``HUB_FILE_CAP`` (50 MiB) once
decoded: Atelier fetches through the library only the renderer's small files (``snapshot_download`` of a
tokenizer folder: ``tokenizer.json``, ``spiece.model``, configs; the largest real one, Gemma 3's
``tokenizer.json``, is 33 MB), so a configured endpoint that sends an endless or inflating "tokenizer"
cannot fill the disk. Model files never come this way: ``download hf:…`` fetches them with
``core.downloads`` (its own size checks and ``core.download_room``'s free-space guard). A Hub address with
a path of its own before ``/api/`` (none of the known mirrors has one) has its answers held to the file
cap, not the answer cap.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import Any

from core import net
from core.net import (
    ANSWER_GRACE_S,
    DEFAULT_TIMEOUT,
    FAILURE_REASONS,
    MIN_TRY_TIMEOUT_S,
    RETRY_STATUSES,
    AnswerTooLargeError,
    AnswerTooSlowError,
    RetryHistory,
    RetryPolicy,
    classify_failure,
    describe_failure,
    retry_after_seconds,
)
from core.site_tokens import Origin
from core.sources.hf_errors import HfOfflineError, HfProtocolError, HfRateLimitedError, HfServerError
from core.waits import WaitNotice, wait_announced

_RETRY_METHODS = frozenset({"GET", "HEAD"})  # a request with a body could not be sent twice here
_installed_lock = threading.Lock()
_installed: dict[str, RetryPolicy] = {}  # "policy" -> the policy the library's client uses
# The origin the library's requests may carry the token to, during a client's call (None: nowhere).
_token_origin: ContextVar[Origin | None] = ContextVar("atelier_hf_token_origin", default=None)


@contextmanager
def token_only_to(endpoint: str) -> Iterator[None]:
    """Within the block, on this thread, the library's requests keep their token only on ``endpoint``'s
    origin (a ``HuggingFaceClient`` wraps each of its calls in this)."""
    reset = _token_origin.set(Origin.of(endpoint))
    try:
        yield
    finally:
        _token_origin.reset(reset)


_answer_deadline = threading.local()  # .at: when the current try's answer must have arrived (monotonic)


def _deadline_backend(http: ModuleType) -> Any:
    """A network backend of ``http``'s core library whose streams read under ``_answer_deadline``;
    None if the library has none (then the per-read timeout alone applies)."""
    try:
        core = importlib.import_module("httpcore2" if http.__name__ == "httpx2" else "httpcore")
    except ImportError:  # pragma: no cover - httpx always comes with its core
        return None

    class DeadlineStream(core.NetworkStream):  # type: ignore[misc, name-defined]
        """A connection whose every read ends by the current try's deadline."""

        def __init__(self, inner: Any, host: str) -> None:
            self._inner = inner
            self._host = host

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            at: float | None = getattr(_answer_deadline, "at", None)
            if at is None:
                return bytes(self._inner.read(max_bytes, timeout))
            left = at - time.monotonic()
            if left > 0:
                try:
                    return bytes(self._inner.read(max_bytes, left if timeout is None else min(timeout, left)))
                except core.ReadTimeout:
                    if at - time.monotonic() > 0:
                        raise  # silence within the deadline: the read timeout's own failure
            raise AnswerTooSlowError(self._host, getattr(_answer_deadline, "seconds", 0.0))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._inner.write(buffer, timeout)

        def close(self) -> None:
            self._inner.close()

        def start_tls(self, *args: Any, **kwargs: Any) -> Any:
            return DeadlineStream(self._inner.start_tls(*args, **kwargs), self._host)

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

    class DeadlineBackend(core.SyncBackend):  # type: ignore[misc, name-defined]
        def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
            return DeadlineStream(super().connect_tcp(host, port, *args, **kwargs), f"{host}:{port}")

    return DeadlineBackend()


def _body_within(http: ModuleType, stream: Any, at: float, seconds: float, host: str) -> Any:
    """``stream`` (a response body the library reads after the transport returned) read under the
    try's deadline ``at``; a body too slow to arrive by then ends as ``HfOfflineError``."""

    class DeadlineBody(http.SyncByteStream):  # type: ignore[misc, name-defined]
        def __iter__(self) -> Iterator[bytes]:
            chunks = iter(stream)
            while True:
                outer = getattr(_answer_deadline, "at", None), getattr(_answer_deadline, "seconds", 0.0)
                _answer_deadline.at, _answer_deadline.seconds = at, seconds
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                except AnswerTooSlowError as exc:
                    raise HfOfflineError(describe_failure(exc, host)) from None
                finally:
                    _answer_deadline.at, _answer_deadline.seconds = outer
                yield chunk

        def close(self) -> None:
            stream.close()

    return DeadlineBody()


# The most a file fetched through huggingface_hub may weigh once decoded (see the module's docstring): a
# tokenizer's or a config's file, the largest real one 33 MB.
HUB_FILE_CAP = 50 * 1024 * 1024
_API_ANSWER = "atelier_api_answer"  # request extension: whether the request's first address is the API's


def _asks_the_api(request: Any) -> bool:
    """Whether ``request`` asks the Hub's API (a path under ``/api/``: JSON the library reads whole),
    decided on its first address and kept for its redirects (the extensions travel with them)."""
    decided = request.extensions.get(_API_ANSWER)
    if decided is None:
        decided = str(request.url.path).startswith("/api/")
        request.extensions[_API_ANSWER] = decided
    return bool(decided)


def _body_within_cap(http: ModuleType, response: Any, host: str, *, answer: bool) -> None:
    """Make ``response`` hand out its body decoded, at most its cap of it (an API answer:
    ``MAX_ANSWER_BYTES``; a file: ``HUB_FILE_CAP``): decoded here with the HTTP library's own bounded
    decoders, its ``Content-Encoding`` dropped so the library does not decode it again; past the cap the
    connection is closed and ``HfProtocolError`` says what was too large (the library has then held or
    written at most the cap, never the inflated whole)."""
    body = response.stream
    # The body as the library would decode it (a response of its own kind over the same bytes).
    decoder = http.Response(response.status_code, headers=response.headers, stream=body)
    if "content-encoding" in response.headers:  # what is handed on is the decoded bytes
        for name in ("content-encoding", "content-length"):
            response.headers.pop(name, None)
    cap = net.MAX_ANSWER_BYTES if answer else HUB_FILE_CAP
    message = describe_failure(AnswerTooLargeError(host, cap), host) if answer else _file_too_large(host, cap)

    class CappedBody(http.SyncByteStream):  # type: ignore[misc, name-defined]
        def __iter__(self) -> Iterator[bytes]:
            received = 0
            for chunk in decoder.iter_bytes():
                received += len(chunk)
                if received > cap:
                    body.close()
                    raise HfProtocolError(message)
                yield chunk

        def close(self) -> None:
            body.close()

    response.stream = CappedBody()


def _file_too_large(host: str, cap: int) -> str:
    return (
        f"{host} sent a file larger than {cap // (1024 * 1024)} MiB once unpacked, more than any tokenizer "
        "or config file; Atelier stopped reading it. The address in Settings may be wrong."
    )


def _token_allowed(url: str) -> bool:
    allowed = _token_origin.get()
    return allowed is not None and Origin.of(url) == allowed


def _within_budget(timeouts: Any, left_s: float) -> Any:
    """The request's timeout extension with connect and read cut to ``left_s`` (at least 1 s)."""
    if not isinstance(timeouts, dict):
        return timeouts
    cap = max(MIN_TRY_TIMEOUT_S, left_s)
    cut = dict(timeouts)
    for key in ("connect", "read"):
        cut[key] = min(cut[key], cap) if cut.get(key) else cap
    return cut


def _http_module() -> ModuleType | None:
    """The HTTP library huggingface_hub uses (``httpx2`` in 2.x, ``httpx`` in 1.x); None for 0.x."""
    try:
        from huggingface_hub.utils import _http
    except ImportError:  # pragma: no cover - every supported version has it
        return None
    module = getattr(_http, "httpx2", None) or getattr(_http, "httpx", None)
    return module if isinstance(module, ModuleType) else None


def give_up_error(status: int, retry_after: float | None, history: RetryHistory) -> Exception:
    """The error for a 429/5xx the policy will not retry (any more)."""
    note = f" ({history.note()})" if history.retried else ""
    if status == 429:
        if retry_after is not None:
            return HfRateLimitedError(
                f"Hugging Face asked to wait {retry_after:.0f} s (rate limit, HTTP 429){note}; try again "
                "later (signed-in users get more).",
                status=429,
            )
        return HfRateLimitedError(
            f"Hugging Face is rate-limiting requests: try again in a few minutes (signed-in users get "
            f"more).{note}",
            status=429,
        )
    if history.retried:
        return HfServerError(
            f"Hugging Face is not answering (HTTP {status}) — {history.note()}. Try again later.",
            status=status,
        )
    return HfServerError(f"Hugging Face is not answering (HTTP {status}). Try again later.", status=status)


def _make_transport(http: ModuleType, policy: RetryPolicy) -> Any:
    class FailFastTransport(http.BaseTransport):  # type: ignore[misc, name-defined]
        """Wraps the library's default transport with ``policy``."""

        def __init__(self) -> None:
            self._inner = http.HTTPTransport()
            pool = getattr(self._inner, "_pool", None)
            backend = _deadline_backend(http)
            if backend is not None and hasattr(pool, "_network_backend"):
                pool._network_backend = backend  # type: ignore[union-attr]

        def handle_request(self, request: Any) -> Any:
            url = request.url
            is_answer = _asks_the_api(request)  # before any redirect is built from this request
            if not _token_allowed(str(url)):
                request.headers.pop("authorization", None)
            host = f"{url.host}:{url.port}" if url.port else str(url.host)
            retryable = str(request.method).upper() in _RETRY_METHODS
            timeouts = request.extensions.get("timeout")
            started = time.monotonic()
            tries = 0
            while True:
                tries += 1
                left = policy.give_up_after_s - (time.monotonic() - started)
                request.extensions["timeout"] = _within_budget(timeouts, left)
                # The whole answer by then; a little after the read timeout, so silence reads as silence.
                seconds = max(MIN_TRY_TIMEOUT_S, left)
                at = time.monotonic() + seconds + ANSWER_GRACE_S
                outer = getattr(_answer_deadline, "at", None), getattr(_answer_deadline, "seconds", 0.0)
                _answer_deadline.at, _answer_deadline.seconds = at, seconds
                try:
                    response = self._inner.handle_request(request)
                    response.stream = _body_within(http, response.stream, at, seconds, host)
                    if str(request.method).upper() != "HEAD":  # a HEAD's Content-Length is the file's
                        _body_within_cap(http, response, host, answer=is_answer)
                except (http.TransportError, OSError) as exc:
                    failure = classify_failure(exc)
                    elapsed = time.monotonic() - started
                    wait = policy.after_failure(failure, tries, elapsed) if retryable else None
                    if wait is None:
                        raise HfOfflineError(describe_failure(exc, host)) from None
                    reason = FAILURE_REASONS.get(failure, failure.value)
                    wait_announced(WaitNotice(host, wait, reason, tries + 1, policy.retries + 1, False))
                    continue
                finally:
                    _answer_deadline.at, _answer_deadline.seconds = outer
                status = int(response.status_code)
                if status not in RETRY_STATUSES:
                    return response
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                elapsed = time.monotonic() - started
                wait = policy.after_status(status, retry_after, tries, elapsed) if retryable else None
                response.close()
                if wait is None:
                    raise give_up_error(status, retry_after, RetryHistory(tries, elapsed))
                notice = WaitNotice(
                    host, wait, f"HTTP {status}", tries + 1, policy.retries + 1, retry_after is not None
                )
                wait_announced(notice)

        def close(self) -> None:
            self._inner.close()

    return FailFastTransport()


def install_fail_fast_client(policy: RetryPolicy | None = None) -> bool:
    """Make huggingface_hub's shared client use ``policy`` (None: the one installed, else the default).

    The library's client is one per process, so the policy is too; False if the library cannot take it.
    """
    with _installed_lock:
        current = _installed.get("policy")
        if policy is None:
            policy = current or RetryPolicy()
        if current == policy:
            return True
        http = _http_module()
        if http is None:
            return False
        from huggingface_hub import utils

        set_factory = getattr(utils, "set_client_factory", None)
        if set_factory is None:
            return False
        from huggingface_hub.utils import _http

        hooks = getattr(_http, "hf_request_event_hook", None)  # offline mode, request ids, debug log
        connect, read = DEFAULT_TIMEOUT

        def factory() -> Any:
            return http.Client(
                event_hooks={"request": [hooks]} if hooks is not None else {},
                follow_redirects=True,
                timeout=http.Timeout(read, connect=connect),
                transport=_make_transport(http, policy),
            )

        set_factory(factory)
        _installed["policy"] = policy
        return True
