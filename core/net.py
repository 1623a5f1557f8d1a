"""One HTTP session per remote, built the same way for Civitai, Hugging Face and downloads.

Every session has: a user agent, a default timeout, a token policy (each site's token to its own origin
only), a per-host minimum interval between requests so a batch of lookups never hammers a site, and a
retry policy that fails fast:

* a name that cannot be looked up is not retried (it will not resolve 0.5 s later), and a refused
  connection is tried once more after a short pause (a server restarting), so being offline shows up
  within a second or two instead of after a storm of retries with backoff;
* 429 and 5xx answers and dropped connections are retried a bounded number of times with exponential
  backoff, honouring ``Retry-After``, but a wait that would end past ``give_up_after_s`` (24 s, so a
  whole command ends within 30 s) since the request began is not started: the request gives up and
  the caller reports how many tries it made;
* every wait is announced before it starts, as a ``WaitNotice``, to the callback installed with
  ``waits_reported_to`` on the calling thread (a GUI job shows it in its pane) or, failing that, to the
  session's ``on_wait`` (a command-line front end can print it), else to the log.

Every wait and every try also fits the budget: a request's connect and read timeouts are cut to what is
left of ``give_up_after_s``, so a server that accepts the connection and never answers is given up on
within the budget too, not after the full read timeout. A read timeout counts the silence between two
bytes, so a server that answers one byte a second would never trip it: each try therefore also has a
deadline for its whole answer (headers, and the body unless the caller streams it) equal to what is left
of the budget. At the deadline the try's connection is shut down under the blocked read
(``_AnswerDeadline``) and the request fails with ``AnswerTooSlowError`` ("… sent its answer too slowly").

Tokens are never set as a session header. A session's ``auth`` is a ``core.site_tokens.TokenPolicy``,
applied to every request *and every redirect hop* by the session's adapter: each site's token goes to its
configured origin only, whatever URL a payload names (see that module). ``redact`` keeps tokens out of
logs and errors. Sessions are created by the composition root and passed to clients by constructor,
never imported as globals.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from core.site_tokens import Origin, TokenPolicy
from core.waits import WaitCallback, WaitNotice, wait_announced

log = logging.getLogger(__name__)

USER_AGENT = "Atelier/0.1 (+https://github.com/atelier-sd/atelier)"
DEFAULT_TIMEOUT = (5.0, 60.0)  # (connect, read) seconds: a TCP connect that takes 5 s is not coming
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_METHODS = frozenset({"GET", "HEAD", "POST"})  # our POSTs (by-hash lookups) are idempotent
# The promise is "a command gives up within 30 s" from the moment it is started, not from its first
# request: the process start, the imports and the lookups before the failing request take 2-4 s on a
# loaded machine (4 s measured with two cores busy), so the retry budget itself is 24 s: a server that
# accepts and never answers costs 24 s of waiting, then the message, and the command still ends in time.
GIVE_UP_AFTER_S = 24.0
REFUSED_RETRY_DELAY_S = 0.25
MIN_TRY_TIMEOUT_S = 1.0  # the shortest timeout a last try within the budget gets
ANSWER_GRACE_S = 0.25
# The most a site's answer (JSON: a model, a version, a page of search results) may weigh once decoded.
# Civitai's largest real answers (a 100-item page of models with every version and description) stay
# under a few MiB; 32 MiB leaves room for that and refuses a gzip bomb or an endless answer after 32 MiB
# read, instead of inflating gigabytes in memory. Streamed bodies (downloads, preview images) are bounded
# by their own readers.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
# The most of a redirect's own body (a 3xx's "moved here" page, which nobody reads) drained so that its
# connection can be reused. requests reads each hop's body whole before following it, streamed request or
# not; past this the connection is closed instead, so a hostile 302 with an endless body or a gzip bomb
# costs 64 KiB, not the memory it asks for.
REDIRECT_BODY_LIMIT = 64 * 1024
_ANSWER_BLOCK = 64 * 1024


# --- what went wrong with a connection ---------------------------------------------------------------


class ConnectFailure(Enum):
    """Why a request got no HTTP answer; decides whether to retry and what to tell the user."""

    NAME_LOOKUP = "name lookup"  # DNS: offline, or a mistyped address
    REFUSED = "refused"  # nothing listens there (site down, wrong port)
    CONNECT_TIMEOUT = "connect timeout"  # no answer to the connection attempt
    READ_TIMEOUT = "read timeout"  # connected, then silence
    DROPPED = "dropped"  # the connection was reset or closed mid-answer
    TLS = "tls"  # the secure connection could not be set up
    TOO_SLOW = "too slow"  # bytes kept coming, too slowly for the whole answer to arrive within the budget
    TOO_LARGE = "too large"  # the answer, decoded, was larger than any site's data (MAX_ANSWER_BYTES)
    REDIRECT_LOOP = "redirect loop"  # the server kept redirecting
    REDIRECT_SCHEME = "redirect scheme"  # a redirect to an address that is not http(s) (file://, ftp://)
    OTHER = "other"


class AnswerTooSlowError(requests.exceptions.ConnectionError):
    """A try's answer did not arrive whole within what was left of the retry budget (a trickling server)."""

    def __init__(self, host: str, after_s: float) -> None:
        super().__init__(f"{host} sent its answer too slowly (gave up after {after_s:.0f} s)")
        self.after_s = after_s


class AnswerTooLargeError(requests.exceptions.ContentDecodingError):
    """A site's answer grew past ``MAX_ANSWER_BYTES`` once decoded (a gzip bomb, an endless answer):
    reading stopped there, so the whole answer was never held in memory."""

    def __init__(self, host: str, limit: int) -> None:
        super().__init__(f"{host} sent an answer larger than {limit:,} bytes")
        self.limit = limit


_SCHEME = re.compile(r"'([A-Za-z][A-Za-z0-9+.-]*):")


def refused_scheme(exc: BaseException) -> str | None:
    """The scheme (``file``) of the address requests found no adapter for, as its message quotes it."""
    found = _SCHEME.search(str(exc))
    return found.group(1).lower() if found else None


# Failures where the server did answer, with something no retry will change.
ANSWERED_WRONGLY = frozenset(
    {ConnectFailure.TOO_LARGE, ConnectFailure.REDIRECT_LOOP, ConnectFailure.REDIRECT_SCHEME}
)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: ``__cause__``, ``__context__``, urllib3's ``reason``, ``args``."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        stack.extend(item for item in wrapped if isinstance(item, BaseException))


def classify_failure(exc: BaseException) -> ConnectFailure:
    """The kind of transport failure behind a ``requests`` (or plain socket) exception."""
    names = {cls.__name__ for cause in _causes(exc) for cls in type(cause).__mro__}
    causes = list(_causes(exc))
    if any(isinstance(c, AnswerTooSlowError) for c in causes):
        return ConnectFailure.TOO_SLOW
    if any(isinstance(c, AnswerTooLargeError) for c in causes):
        return ConnectFailure.TOO_LARGE
    if any(isinstance(c, requests.exceptions.TooManyRedirects) for c in causes):
        return ConnectFailure.REDIRECT_LOOP
    if any(isinstance(c, requests.exceptions.InvalidSchema) for c in causes):
        return ConnectFailure.REDIRECT_SCHEME
    if "NameResolutionError" in names or any(isinstance(c, socket.gaierror) for c in causes):
        return ConnectFailure.NAME_LOOKUP
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return ConnectFailure.REFUSED
    if isinstance(exc, requests.exceptions.SSLError) or any(isinstance(c, ssl.SSLError) for c in causes):
        return ConnectFailure.TLS
    # By class name too: httpx (huggingface_hub's client) has its own ConnectTimeout and ReadTimeout.
    if isinstance(exc, requests.exceptions.ConnectTimeout) or "ConnectTimeout" in names:
        return ConnectFailure.CONNECT_TIMEOUT
    if isinstance(exc, requests.exceptions.ReadTimeout) or names & {"ReadTimeout", "ReadTimeoutError"}:
        return ConnectFailure.READ_TIMEOUT
    if any(isinstance(c, ConnectionResetError | BrokenPipeError) for c in causes) or names & {
        "ProtocolError",
        "RemoteDisconnected",
        "ChunkedEncodingError",
    }:
        return ConnectFailure.DROPPED
    return ConnectFailure.OTHER


def describe_failure(exc: BaseException, host: str) -> str:
    """One line for the user: what happened when reaching ``host`` and what to do about it."""
    match classify_failure(exc):
        case ConnectFailure.NAME_LOOKUP:
            return (
                f"Cannot reach {host} — its name could not be looked up. Check your internet connection "
                "(or the address in Settings)."
            )
        case ConnectFailure.REFUSED:
            return (
                f"Cannot reach {host} — the connection was refused. The site may be down, or the "
                "address in Settings is wrong."
            )
        case ConnectFailure.CONNECT_TIMEOUT:
            return f"Cannot reach {host} — it did not answer. Check your internet connection."
        case ConnectFailure.READ_TIMEOUT:
            return f"{host} stopped answering (nothing arrived in time). Try again later."
        case ConnectFailure.DROPPED:
            return f"{host} closed the connection before answering. Try again later."
        case ConnectFailure.TLS:
            return (
                f"Cannot reach {host} — the secure connection failed (a proxy, a captive portal or a "
                "wrong clock can cause this)."
            )
        case ConnectFailure.TOO_SLOW:
            after = next(c.after_s for c in _causes(exc) if isinstance(c, AnswerTooSlowError))
            return f"{host} sent its answer too slowly — gave up after {after:.0f} s. Try again later."
        case ConnectFailure.TOO_LARGE:
            limit = next(c.limit for c in _causes(exc) if isinstance(c, AnswerTooLargeError))
            return (
                f"{host} sent an answer too large to be its data (over {limit // (1024 * 1024)} MiB once "
                "unpacked); Atelier stopped reading it. The address in Settings may be wrong."
            )
        case ConnectFailure.REDIRECT_LOOP:
            return f"{host} redirected in a loop; Atelier stopped following it. Try again later."
        case ConnectFailure.REDIRECT_SCHEME:
            scheme = refused_scheme(exc) or "another kind of"
            return (
                f"{host} redirected to a {scheme}:// address, which Atelier does not follow "
                "(only http and https)."
            )
        case _:
            return f"Cannot reach {host} — check your internet connection."


def host_of(url: str) -> str:
    """``civitai.com`` from ``https://civitai.com/api/v1`` (``127.0.0.1:8080`` with a port): what a
    message calls the site. Never the URL's user-info, path or query: they may hold a key or a signature."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # a malformed IPv6 literal or port
        return "an invalid address"
    if not host:
        return "an invalid address"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port is not None else host


@dataclass(frozen=True, slots=True)
class RetryHistory:
    """How a request went: how many tries it took and how long, for "gave up after 4 tries in 28 s"."""

    tries: int
    elapsed_s: float

    @property
    def retried(self) -> bool:
        return self.tries > 1

    def note(self) -> str:
        return f"gave up after {self.tries} tries in {self.elapsed_s:.0f} s"


_HISTORY_ATTRIBUTE = "atelier_retry_history"


def retry_history(response: requests.Response) -> RetryHistory:
    """The tries behind ``response`` (one try when it did not come through an Atelier session)."""
    history = getattr(response, _HISTORY_ATTRIBUTE, None)
    return history if isinstance(history, RetryHistory) else RetryHistory(1, 0.0)


# --- the session ---------------------------------------------------------------------------------------


class RateLimiter:
    """Paces the requests to each host: ``burst`` may go at once, and over any longer stretch no more
    than one per ``min_interval_s`` (thread-safe).

    A strict interval made every click on the Civitai tab wait behind the click's own other requests
    (a model, its version, its images: 0.25 s each); a batch of lookups is as polite as before, since a
    burst is paid back before more requests go. The generic cell rate algorithm: each host keeps the
    time its next request would be due at the steady pace, and a request waits only while that time is
    more than ``burst - 1`` intervals ahead of now. Waits are reserved under the lock, so threads sharing
    a session queue up instead of all going at once."""

    def __init__(self, min_interval_s: float, burst: int = 1) -> None:
        self.min_interval_s = min_interval_s
        self.burst = max(1, burst)
        self._lock = threading.Lock()
        self._due: dict[str, float] = {}

    def wait(self, host: str) -> None:
        if self.min_interval_s <= 0:
            return
        with self._lock:
            now = time.monotonic()
            due = max(now, self._due.get(host, now))
            start = max(now, due - (self.burst - 1) * self.min_interval_s)
            self._due[host] = due + self.min_interval_s
        delay = start - now
        if delay > 0:
            time.sleep(delay)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try again, and how long to wait first; ``None`` means give up now."""

    retries: int = 3  # extra tries after the first, for 429/5xx and dropped connections
    backoff_factor: float = 1.0  # waits 1, 2, 4… seconds
    backoff_max: float = 10.0
    give_up_after_s: float = GIVE_UP_AFTER_S

    def backoff(self, attempt: int) -> float:
        """The wait before try ``attempt`` (2 = the first retry) when the site did not say."""
        return float(min(self.backoff_max, self.backoff_factor * 2 ** max(0, attempt - 2)))

    def _fits(self, wait: float, elapsed: float) -> bool:
        return elapsed + wait <= self.give_up_after_s

    def after_status(
        self, status: int, retry_after: float | None, tries: int, elapsed: float
    ) -> float | None:
        if status not in RETRY_STATUSES or tries > self.retries:
            return None
        wait = retry_after if retry_after is not None else self.backoff(tries + 1)
        return wait if self._fits(wait, elapsed) else None

    def after_failure(self, failure: ConnectFailure, tries: int, elapsed: float) -> float | None:
        if failure is ConnectFailure.REFUSED:
            # One quick second chance (a server restarting), never a storm.
            return REFUSED_RETRY_DELAY_S if tries == 1 and self.retries > 0 else None
        if failure is ConnectFailure.DROPPED and tries <= self.retries:
            wait = self.backoff(tries + 1)
            return wait if self._fits(wait, elapsed) else None
        return None  # a name that does not resolve, a timeout or a TLS failure will not fix itself


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the delta form; a date is rare and treated as absent)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


FAILURE_REASONS = {
    ConnectFailure.REFUSED: "the connection was refused",
    ConnectFailure.DROPPED: "the connection dropped",
}


Timeout = float | tuple[float | None, float | None] | None


def within_budget(timeout: Timeout, left_s: float) -> tuple[float, float]:
    """``(connect, read)`` timeouts cut to ``left_s`` (at least ``MIN_TRY_TIMEOUT_S``): a try that
    cannot end within the retry budget is not started with a longer timeout."""
    cap = max(MIN_TRY_TIMEOUT_S, left_s)
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    return (min(connect, cap) if connect else cap, min(read, cap) if read else cap)


class _AnswerDeadline:
    """Shuts down, at a deadline, the connections the current thread takes from the pool meanwhile.

    A blocked ``recv`` cannot be interrupted by a flag, but shutting its socket down makes it return at
    once, and the request fails; ``fired`` then tells that failure apart from a real dropped connection.
    The connections are recorded by the session's pools (``_DeadlinePool._get_conn``) while the deadline
    is the calling thread's current one (``with`` block).
    """

    _current = threading.local()

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._open = True
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    @classmethod
    def current(cls) -> _AnswerDeadline | None:
        deadline = getattr(cls._current, "deadline", None)
        return deadline if isinstance(deadline, _AnswerDeadline) else None

    def track(self, connection: Any) -> None:
        with self._lock:
            if self.fired:
                _shut_down(connection)
            else:
                self._connections.append(connection)

    def _fire(self) -> None:
        with self._lock:
            if not self._open:
                return
            self.fired = True
            for connection in self._connections:
                _shut_down(connection)

    def __enter__(self) -> _AnswerDeadline:
        self._outer = self.current()
        self._current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._open = False  # a timer already running must not shut a connection handed back
        self._current.deadline = self._outer


def _shut_down(connection: Any) -> None:
    """Make a read blocked on ``connection``'s socket return (the plain socket's shutdown, so a TLS
    socket is cut the same way)."""
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # already closed
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _tracked(connection: Any) -> Any:
    """``connection``, made known to the calling thread's ``_AnswerDeadline`` if it has one."""
    deadline = _AnswerDeadline.current()
    if deadline is not None:
        deadline.track(connection)
    return connection


class _DeadlinePool(HTTPConnectionPool):
    """A pool whose connections are known to the calling thread's ``_AnswerDeadline``."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _tracked(super()._get_conn(timeout))


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    """The same for https."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _tracked(super()._get_conn(timeout))


_DEADLINE_POOLS = {"http": _DeadlinePool, "https": _DeadlineHTTPSPool}


class _AtelierAdapter(HTTPAdapter):
    """Token policy, default timeout, per-host rate limit, and ``RetryPolicy`` around every send.

    requests calls ``send`` for the first request and again for each redirect hop, so the token policy
    applied here decides every hop: a redirect to another origin never carries a token.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        timeout: tuple[float, float],
        policy: RetryPolicy,
        on_wait: WaitCallback | None,
        tokens: TokenPolicy,
    ) -> None:
        self._limiter = limiter
        self._timeout = timeout
        self._policy = policy
        self._on_wait = on_wait
        self._tokens = tokens
        super().__init__(max_retries=0)  # urllib3 must not retry behind our back

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _DEADLINE_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _DEADLINE_POOLS
        return manager

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if Origin.of(request.url or "") is None:
            # A payload's link with a host no resolver accepts ("a%40b") would crash http.client.
            raise requests.exceptions.InvalidURL(f"{host_of(request.url or '')} is not a valid web address")
        self._tokens.apply(request)
        timeout = kwargs.get("timeout")
        if timeout is None:
            timeout = self._timeout
        host = host_of(request.url or "")
        retryable = (request.method or "GET").upper() in RETRY_METHODS
        policy = self._policy
        started = time.monotonic()
        tries = 0
        while True:
            tries += 1
            self._limiter.wait(host)
            cut = within_budget(timeout, policy.give_up_after_s - (time.monotonic() - started))
            kwargs["timeout"] = cut
            try:
                response = self._send_within(request, max(cut), kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = classify_failure(exc)
                wait = policy.after_failure(failure, tries, time.monotonic() - started) if retryable else None
                if wait is None:
                    raise
                self._announce(host, wait, FAILURE_REASONS.get(failure, failure.value), tries + 1, False)
                continue
            status = response.status_code
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            elapsed = time.monotonic() - started
            wait = policy.after_status(status, retry_after, tries, elapsed) if retryable else None
            if wait is None:
                setattr(response, _HISTORY_ATTRIBUTE, RetryHistory(tries, elapsed))
                return response
            response.close()
            self._announce(host, wait, f"HTTP {status}", tries + 1, retry_after is not None)

    def _send_within(
        self, request: requests.PreparedRequest, seconds: float, kwargs: dict[str, Any]
    ) -> requests.Response:
        """One try, whose answer must arrive whole within ``seconds``: the headers, and the body too
        unless the caller streams it (a download bounds its body's speed itself)."""
        # A little after the read timeout, so that silence is reported as silence, not as slowness.
        with _AnswerDeadline(seconds + ANSWER_GRACE_S) as deadline:
            try:
                response = super().send(request, **kwargs)
                if response.is_redirect:
                    _drain_redirect(response)  # before requests reads it whole to follow it
                elif not kwargs.get("stream"):
                    read_answer(response)  # read here, under the deadline; requests keeps it
            except requests.RequestException as exc:
                if deadline.fired and not isinstance(exc, requests.Timeout):
                    raise AnswerTooSlowError(host_of(request.url or ""), seconds) from exc
                raise
            if deadline.fired:
                # Cut mid-headers, http.client may take the end of the stream for an empty answer.
                response.close()
                raise AnswerTooSlowError(host_of(request.url or ""), seconds)
        return response

    def _announce(self, host: str, wait: float, reason: str, attempt: int, asked: bool) -> None:
        wait_announced(
            WaitNotice(host, wait, reason, attempt, self._policy.retries + 1, asked), self._on_wait
        )


def read_answer(response: requests.Response, limit: int | None = None) -> bytes:
    """The whole body of a non-streamed answer, decoded, read block by block with a running total: past
    ``limit`` (``MAX_ANSWER_BYTES``) decoded bytes the connection is closed and ``AnswerTooLargeError``
    raised, so a gzip bomb is never inflated in memory. The body is kept where ``response.content`` and
    ``response.text`` find it (requests' own cache of it)."""
    cap = MAX_ANSWER_BYTES if limit is None else limit
    blocks: list[bytes] = []
    received = 0
    # iter_content decodes incrementally (urllib3 hands out at most a block's worth of inflated bytes per
    # read) and maps urllib3's errors to requests' own, as response.content would.
    for block in response.iter_content(_ANSWER_BLOCK):
        received += len(block)
        if received > cap:
            response.close()
            raise AnswerTooLargeError(host_of(response.url or ""), cap)
        blocks.append(block)
    body = b"".join(blocks)
    response._content = body  # what response.content returns from now on
    return body


def _drain_redirect(response: requests.Response) -> None:
    """Read a redirect's own body up to ``REDIRECT_BODY_LIMIT`` (the connection then returns to the pool);
    a longer one, or one that will not decode, is dropped with its connection. Either way requests finds
    the body already read when it follows the redirect, instead of reading it whole, unbounded (for a
    streamed request too: ``Session.resolve_redirects`` reads ``resp.content`` on every hop)."""
    try:
        read_answer(response, REDIRECT_BODY_LIMIT)
    except (requests.exceptions.ContentDecodingError, requests.exceptions.ChunkedEncodingError):
        response.close()  # the body was not read to its end: the connection cannot be reused
        response._content = b""  # what requests reads for the hop from now on, without the socket


def make_session(
    *,
    auth: TokenPolicy | None = None,
    retries: int = 3,
    backoff_factor: float = 1.0,
    backoff_max: float = 10.0,
    give_up_after_s: float = GIVE_UP_AFTER_S,
    min_interval_s: float = 0.0,
    burst: int = 1,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    headers: Mapping[str, str] | None = None,
    on_wait: WaitCallback | None = None,
) -> requests.Session:
    """A ``requests.Session`` with the fail-fast retry policy, timeouts, rate limit, user agent and tokens.

    ``auth`` says which site's token goes where (``TokenPolicy``; none: no request carries a token).
    ``min_interval_s`` and ``burst`` pace each host (:class:`RateLimiter`; 0: not paced).
    ``on_wait`` hears every wait not claimed by a ``waits_reported_to`` block (a CLI would print them).
    """
    tokens = auth if auth is not None else TokenPolicy()
    policy = RetryPolicy(retries, backoff_factor, backoff_max, give_up_after_s)
    adapter = _AtelierAdapter(RateLimiter(min_interval_s, burst), timeout, policy, on_wait, tokens)
    session = requests.Session()
    session.auth = tokens  # also keeps requests from adding credentials of its own (.netrc, user@host)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    if headers:
        session.headers.update(headers)
    return session


def redact(text: str, *secrets: str | None) -> str:
    """Replace every secret in ``text`` by a placeholder (for logs and error messages)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text
