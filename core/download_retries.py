"""When the download engine tries a failed download again, and what it says when it stops trying.

A download is retried by the engine itself, each try resuming from the ``.part`` file (the session below
it does not retry: its tries would restart a body the engine could have resumed, and their time would
not count). The rule is the one of ``core.net.RetryPolicy``, counted per download:

* only failures that can heal are retried: 5xx, a lost or refused connection, a stalled transfer, a 429
  that says when to come back (without ``Retry-After`` it is Civitai's daily download limit);
* waits grow (1, 2, 4… s), a 429's ``Retry-After`` is honoured — and every wait and every try must fit
  one time budget (``give_up_after_s``, 24 s by default, see ``core.net``) counted from the first
  failure. A ``Retry-After`` past the budget is not waited for at all: the download stops at once with
  "Civitai asked to wait 3600 s (rate limit, HTTP 429); try again later.";
* bytes arriving reset the count: a ten-hour download that loses its connection twice an hour is not
  given up on, a server that answers nothing but 500 is, within the budget. Only a useful amount counts
  (``MIN_USEFUL_BYTES``): a server that sends a few bytes and drops, or trickles a byte a second (a try
  ends when fewer than ``MIN_USEFUL_BYTES`` arrive within one budget's time, see ``core.downloads``),
  would otherwise renew the tries for ever;
* the final message names who answered, the status and the tries ("Civitai is not answering (HTTP 500)
  — gave up after 5 tries in 15 s. Try again later."). Who answered is the site only when the answer
  came from the site's configured origin; a download link (or a redirect) may point anywhere, and a
  failing file host is named as such: "files.example.net (the file host Civitai pointed to) is not
  answering (HTTP 500) …". Blaming Civitai for a stranger's server would send the user to the wrong
  place (see ``answering_party``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.net import DEFAULT_TIMEOUT, GIVE_UP_AFTER_S, host_of, within_budget
from core.site_tokens import TokenPolicy
from core.sources.errors import (
    ConnectionLostError,
    NetworkError,
    RateLimitedError,
    RemoteError,
    ServerError,
)

DEFAULT_ATTEMPTS = 5
# The least a try must bring to count as progress, and the least a download must receive within each
# window of ``give_up_after_s`` to go on (16 KiB in 24 s: under 1 KiB/s is not a download, it is a stall).
MIN_USEFUL_BYTES = 16 * 1024
SITE_NAMES = {"civitai": "Civitai", "huggingface": "Hugging Face"}


def site_name(source: str, url: str) -> str:
    """What a message calls the site a download comes from: "Civitai", "Hugging Face", else the host."""
    try:
        host = urlsplit(url).hostname
    except ValueError:  # a malformed link from a payload
        host = None
    return SITE_NAMES.get(str(source)) or host or "the server"


def answering_party(site: str, url: str, tokens: TokenPolicy | None) -> str:
    """What a message calls whoever answered a try at ``url`` of a download from ``site``.

    ``site`` itself ("Civitai") when ``url`` is on the origin configured for that site in ``tokens`` (the
    session's policy, which knows each site's address); any other host by its name and port, said to be
    the file host the site pointed to ("127.0.0.1:18804 (the file host Civitai pointed to)"), since the
    site's payload or redirect sent us there. A download of no site (a plain link) names the host alone.
    """
    host = host_of(url)
    if site not in SITE_NAMES.values():
        return host
    own = tokens.site_for(url) if tokens is not None else None
    if own is not None and own.site == site:
        return site
    return f"{host} (the file host {site} pointed to)"


@dataclass(frozen=True, slots=True)
class RetryRule:
    """How many tries, how long between them and how long in all (see the module's docstring)."""

    attempts: int = DEFAULT_ATTEMPTS
    backoff_s: float = 1.0
    backoff_max_s: float = 10.0
    give_up_after_s: float = GIVE_UP_AFTER_S
    read_timeout_s: float = DEFAULT_TIMEOUT[1]

    def start(self, site: str) -> RetryBudget:
        return RetryBudget(self, site)


class RetryBudget:
    """The tries of one download run: counts failures since the last bytes arrived."""

    def __init__(self, rule: RetryRule, site: str) -> None:
        self.rule = rule
        self.site = site
        self.answered_by = site  # who answered the last try (``answering_party``), for every message
        self.tries = 0
        self._since = time.monotonic()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._since

    def heard_from(self, party: str) -> None:
        """The last try was answered (or left unanswered) by ``party``: waits and the end name it."""
        self.answered_by = party

    def progressed(self, received: int) -> None:
        """A try brought ``received`` bytes: at least ``MIN_USEFUL_BYTES`` and failures from now on start
        a fresh count and a fresh budget (a trickle or a drop after a few bytes does not)."""
        if received >= MIN_USEFUL_BYTES:
            self.tries = 0
            self._since = time.monotonic()

    def timeout(self) -> tuple[float, float]:
        """The next try's (connect, read) timeouts: a try never outlasts what is left of the budget."""
        left = self.rule.give_up_after_s - self.elapsed_s
        return within_budget((DEFAULT_TIMEOUT[0], self.rule.read_timeout_s), left)

    def wait_after(self, error: RemoteError) -> float | None:
        """Seconds to wait before trying again after ``error`` (counted as a try); None: give up."""
        self.tries += 1
        asked = error.retry_after_s if isinstance(error, RateLimitedError) else None
        # A 429 without Retry-After is Civitai's daily download limit: seconds will not lift it.
        if not (error.retryable or asked is not None) or self.tries >= self.rule.attempts:
            return None
        wait = asked if asked is not None else self._backoff()
        return wait if self.elapsed_s + wait <= self.rule.give_up_after_s else None

    def _backoff(self) -> float:
        return float(min(self.rule.backoff_max_s, self.rule.backoff_s * 2 ** (self.tries - 1)))

    def give_up(self, error: RemoteError) -> RemoteError:
        """The error to end with: ``error`` itself after one try of something that cannot heal, else a
        message with who answered, the status and how many tries it took."""
        tries = self.tries
        who = self.answered_by
        note = f"gave up after {tries} {'try' if tries == 1 else 'tries'} in {self.elapsed_s:.0f} s"
        if isinstance(error, RateLimitedError):
            after = f" ({note})" if tries > 1 else ""
            if error.retry_after_s is not None:
                return RateLimitedError(
                    f"{who} asked to wait {error.retry_after_s:.0f} s (rate limit, HTTP 429){after}; "
                    "try again later.",
                    retry_after_s=error.retry_after_s,
                )
            return RateLimitedError(
                f"{who} is limiting requests (rate limit, HTTP 429){after}; try again later.",
                retry_after_s=None,
            )
        if not error.retryable:
            return error
        if isinstance(error, ServerError):
            return ServerError(
                f"{who} is not answering (HTTP {error.status}) — {note}. Try again later.",
                status=error.status,
            )
        kind = ConnectionLostError if isinstance(error, ConnectionLostError) else NetworkError
        what = error.message.removesuffix(" Try again later.").rstrip(".")
        return kind(f"{what} — {note}. Try again later.", status=error.status)

    def reason(self, error: RemoteError) -> str:
        """What a wait notice says happened ("HTTP 503", "the connection was lost")."""
        if error.status is not None:
            return f"HTTP {error.status}"
        return "the connection was lost" if isinstance(error, ConnectionLostError) else "no answer"
