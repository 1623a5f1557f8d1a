"""core.site_tokens: which origin a token may go to, decided on real prepared requests.

The end-to-end proof (servers that record what they get) is tests/attack/test_token_leaks.py; these
pin the rule itself: origins, hostile spellings, and query tokens removed without touching the rest.
"""

from __future__ import annotations

import pytest
import requests

from core.site_tokens import Origin, SiteToken, TokenPolicy, TokenRefusedError, without_query_secrets

KEY = "civ-key-123"
POLICY = TokenPolicy(
    SiteToken.fixed("Civitai", "https://civitai.com", KEY),
    SiteToken.fixed("Hugging Face", "http://127.0.0.1:8080/", "hf_tok"),
)


def _sent(url: str, headers: dict[str, str] | None = None) -> requests.PreparedRequest:
    return POLICY.apply(requests.Request("GET", url, headers=headers).prepare())


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://civitai.com/api", Origin("https", "civitai.com", 443)),
        ("HTTPS://CivitAI.com:443/x", Origin("https", "civitai.com", 443)),
        ("http://civitai.com@evil.net/x", Origin("http", "evil.net", 80)),
        ("http://[::1]:8080/x", Origin("http", "::1", 8080)),
        ("ftp://civitai.com/x", None),
        ("http://evil%40net/x", None),
        ("http://[::1/x", None),
        ("http://civitai.com:99999/x", None),
        ("civitai.com/x", None),
    ],
)
def test_origins(url: str, origin: Origin | None) -> None:
    assert Origin.of(url) == origin


@pytest.mark.parametrize(
    "url",
    [
        "http://civitai.com/api/download/models/1",
        "https://civitai.com:8443/x",
        "https://civitai.com.evil.net/x",
        "https://evil.net/x",
        "https://civitai.com@evil.net/x",
        "https://image.civitai.com/x.png",
        "http://127.0.0.1:8081/x",
        "https://127.0.0.1:8080/x",
    ],
)
def test_no_token_off_its_origin_even_when_a_caller_put_one(url: str) -> None:
    sent = _sent(url, {"Authorization": f"Bearer {KEY}"})
    assert "Authorization" not in sent.headers


def test_each_site_gets_its_own_token_only() -> None:
    assert _sent("https://civitai.com/api/v1/models").headers["Authorization"] == f"Bearer {KEY}"
    assert _sent("https://civitai.com:443/x").headers["Authorization"] == f"Bearer {KEY}"
    assert _sent("http://127.0.0.1:8080/a/b/resolve/main/x").headers["Authorization"] == "Bearer hf_tok"


def test_a_token_in_a_foreign_query_is_removed_and_the_rest_kept_as_written() -> None:
    sent = _sent(f"https://cdn.example/x?X-Sig=a%2Fb&token={KEY}&e=1+2")
    assert sent.url == "https://cdn.example/x?X-Sig=a%2Fb&e=1+2"
    own = _sent(f"https://civitai.com/api/download/models/1?token={KEY}")
    assert own.url == f"https://civitai.com/api/download/models/1?token={KEY}", "its own site may have it"
    hf_on_civitai = _sent("https://civitai.com/x?hf=hf_tok")
    assert hf_on_civitai.url == "https://civitai.com/x"
    assert without_query_secrets("https://a/x?b=1", (KEY,)) == "https://a/x?b=1"


def test_a_token_elsewhere_in_a_foreign_address_is_refused() -> None:
    with pytest.raises(TokenRefusedError) as caught:
        _sent(f"https://evil.net/{KEY}/x")
    assert KEY not in str(caught.value)


def test_base_urls_and_tokens_are_read_at_each_request() -> None:
    settings = {"url": "https://civitai.com", "key": "one"}
    policy = TokenPolicy(SiteToken("Civitai", lambda: settings["url"], lambda: settings["key"]))
    assert policy.token_for("https://civitai.com/x") == "one"
    settings.update(url="https://civitai.red", key="two")
    assert policy.token_for("https://civitai.com/x") is None
    assert policy.token_for("https://civitai.red/x") == "two"
    settings["key"] = ""
    assert policy.token_for("https://civitai.red/x") is None
