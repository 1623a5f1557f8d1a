"""The token policies of the app's HTTP sessions: each site's key goes to that site's configured origin.

The rule itself lives in ``core.site_tokens`` (one place for every session and every redirect hop);
this module only says which keys and which addresses: the Civitai key belongs to the Civitai address of
the settings (civitai.com, civitai.red, a mirror), the Hugging Face token to the Hub endpoint (the
setting, else ``HF_ENDPOINT``). Addresses and keys are read per request, so a change in the settings
applies to the next request.
"""

from __future__ import annotations

from collections.abc import Callable

from core.site_tokens import SiteToken, TokenPolicy

CIVITAI = "civitai"  # the keys' names in the token store (``app.secrets``)
HUGGING_FACE = "huggingface"


def civitai_tokens(base_url: Callable[[], str], token: str | None) -> TokenPolicy:
    """The Civitai API session's policy: ``token`` to the configured Civitai origin only (not to its
    image hosts, nor to wherever a payload's link points)."""
    return TokenPolicy(SiteToken("Civitai", base_url, lambda: token))


def download_tokens(
    civitai_url: Callable[[], str], hf_endpoint: Callable[[], str], token: Callable[[str], str | None]
) -> TokenPolicy:
    """The download session's policy: both sites' tokens, each to its own configured origin."""
    return TokenPolicy(
        SiteToken("Civitai", civitai_url, lambda: token(CIVITAI)),
        SiteToken("Hugging Face", hf_endpoint, lambda: token(HUGGING_FACE)),
    )
