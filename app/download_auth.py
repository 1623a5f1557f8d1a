"""Which token a download request carries: each site's own token, sent to that site's host only.

A download URL comes from a site's payload, and payloads can point anywhere (Civitai's ``downloadUrl``
on a CDN, a mirror, a repository's README link). The token must follow the *configured* host, never
the URL: the Civitai key goes only to the Civitai host of the settings, the Hugging Face token only to
the Hub endpoint's host, and nothing goes anywhere else. Hosts and tokens are read per request, so a
key or host changed in the settings applies to the next download without rebuilding the session;
requests drops the header itself when a redirect leaves the host (Civitai's signed storage URLs).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase


class SiteTokenAuth(AuthBase):
    """``session.auth`` for the download session: ``Authorization: Bearer`` by configured host.

    ``civitai_url()`` and ``hf_endpoint()`` give the current base URLs; ``token(site)`` the current
    token of ``"civitai"`` or ``"huggingface"`` (or None).
    """

    def __init__(
        self,
        civitai_url: Callable[[], str],
        hf_endpoint: Callable[[], str],
        token: Callable[[str], str | None],
    ) -> None:
        self._civitai_url = civitai_url
        self._hf_endpoint = hf_endpoint
        self._token = token

    def site_for(self, url: str) -> str | None:
        """``"civitai"``, ``"huggingface"`` or None: whose token ``url`` may carry."""
        host = urlsplit(url).hostname
        if host is None:
            return None
        if host == urlsplit(self._civitai_url()).hostname:
            return "civitai"
        if host == urlsplit(self._hf_endpoint()).hostname:
            return "huggingface"
        return None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)  # never a token a caller put there for another host
        site = self.site_for(request.url or "")
        token = self._token(site) if site is not None else None
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        return request
