"""Which request may carry which token: each site's token goes to that site's own origin, nowhere else.

URLs come from payloads, and payloads can point anywhere: a Civitai version's ``downloadUrl`` or an image
URL may name a CDN, a mirror or a hostile host; a Hub file may redirect to storage. The token must follow
the *configured* site, never the URL. So the decision is made here, once, for every request a session
sends (the first one and each redirect hop, see ``core.net``):

* a site's token is sent only when the request's **origin** — scheme, host and port, the unit browsers
  trust (RFC 6454) — equals the origin of the site's configured base URL. ``http://civitai.com`` when
  the setting says ``https://civitai.com`` (a downgrade), another port on the same host, a lookalike
  ``civitai.com.evil.net`` and ``http://civitai.com@evil.net/`` (whose host is ``evil.net``) all get
  nothing;
* any ``Authorization`` header a caller or an earlier hop put on the request is dropped first, so the
  only credential that ever leaves is the one this policy adds;
* a token found in a URL's query string (``?token=…``, the way Civitai also accepts keys) is removed
  when the URL is not the token's site, and a request whose address still contains a token anywhere is
  refused (:class:`TokenRefusedError`) rather than sent.

Base URLs and tokens are read at each request (``SiteToken`` holds callables), so a key or address
changed in the settings applies to the next request without rebuilding the session.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus, urlsplit, urlunsplit

import requests
from requests.auth import AuthBase

DEFAULT_PORTS = {"http": 80, "https": 443}
# A DNS name or an IPv4 address (any case, IDNA already applied), or an IPv6 literal (``[::1]`` without
# its brackets): nothing else is a host a request may go to.
_HOST = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_.])?|[0-9a-f:.]*:[0-9a-f:.]*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Origin:
    """Scheme, host and port of a URL (the port made explicit): where a token may go."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin | None:
        """The origin of an ``http(s)`` URL; None for anything else or a URL that does not parse."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:  # a port that is not a number, a malformed IPv6 literal
            return None
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()  # the host after any ``user@``: what is really contacted
        if scheme not in DEFAULT_PORTS or not _HOST.fullmatch(host):
            return None
        return cls(scheme, host, port if port is not None else DEFAULT_PORTS[scheme])

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class SiteToken:
    """One site's token and the base URL whose origin alone may receive it (both read per request)."""

    site: str  # "Civitai", "Hugging Face": what a message calls it
    base_url: Callable[[], str]
    token: Callable[[], str | None]

    @classmethod
    def fixed(cls, site: str, base_url: str, token: str | None) -> SiteToken:
        """A site whose address and token do not change (a test, a one-off session)."""
        return cls(site, lambda: base_url, lambda: token)

    def current(self) -> str | None:
        return self.token() or None


class TokenRefusedError(requests.RequestException):
    """A request whose address contains a token it may not carry; it is not sent."""


class TokenPolicy(AuthBase):
    """``session.auth`` of every Atelier session: ``Authorization: Bearer`` by origin, see the module.

    With no sites it is still the policy: it strips any ``Authorization`` a caller passed.
    """

    def __init__(self, *sites: SiteToken) -> None:
        self._sites = sites

    def site_for(self, url: str) -> SiteToken | None:
        """The site whose configured origin ``url`` is on, if any."""
        origin = Origin.of(url)
        if origin is None:
            return None
        return next((site for site in self._sites if Origin.of(site.base_url()) == origin), None)

    def token_for(self, url: str) -> str | None:
        """The token a request to ``url`` carries (None: no token may go there)."""
        site = self.site_for(url)
        return site.current() if site is not None else None

    def secrets(self) -> tuple[str, ...]:
        """Every current token (for redacting messages)."""
        return tuple(token for site in self._sites if (token := site.current()))

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return self.apply(request)

    def apply(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Make ``request`` carry exactly the token its origin may have (raises ``TokenRefusedError``)."""
        url = request.url or ""
        own = self.token_for(url)
        request.headers.pop("Authorization", None)
        foreign = tuple(secret for secret in self.secrets() if secret != own)
        if foreign:
            url = without_query_secrets(url, foreign)
            if any(_contains(url, secret) for secret in foreign):
                host = urlsplit(url).hostname or "that address"
                raise TokenRefusedError(
                    f"Atelier will not send a site's API key to {host} (it is in the link)."
                )
            request.url = url
        if own:
            request.headers["Authorization"] = f"Bearer {own}"
        return request


def _contains(url: str, secret: str) -> bool:
    return secret in url or secret in unquote(url) or secret in unquote_plus(url)


def without_query_secrets(url: str, secrets: tuple[str, ...]) -> str:
    """``url`` without the query parameters whose value is one of ``secrets``; the rest is untouched.

    Parameters are dropped as written, never re-encoded, so a signed storage URL keeps its signature.
    """
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [
        pair
        for pair in parts.query.split("&")
        if unquote_plus(pair.partition("=")[2]) not in secrets and unquote_plus(pair) not in secrets
    ]
    query = "&".join(kept)
    if query == parts.query:
        return url
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
