"""core.net reads a site's answer with a cap on its decoded size, and says redirects in the user's words.

Real loopback servers (tests/fakes/hostile_server.py): a gzip bomb, an answer that never ends, a
redirect to ``file://`` and a redirect loop.
"""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
import requests

import core.net
from core.net import (
    AnswerTooLargeError,
    ConnectFailure,
    classify_failure,
    describe_failure,
    make_session,
    read_answer,
)
from tests.fakes.hostile_server import Endless, GzipBomb, JsonAnswer, RedirectTo, hostile_server

MIB = 1024 * 1024


def test_a_gzip_bomb_is_refused_after_the_cap_not_inflated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core.net, "MAX_ANSWER_BYTES", 1 * MIB)
    with hostile_server() as (server, state):
        state.routes["/bomb"] = GzipBomb(inflated=64 * MIB)
        session = make_session(retries=0, give_up_after_s=5.0)

        with pytest.raises(AnswerTooLargeError) as caught:
            session.get(f"{server.base_url}/bomb")

    assert classify_failure(caught.value) is ConnectFailure.TOO_LARGE
    assert describe_failure(caught.value, "civitai.com") == (
        "civitai.com sent an answer too large to be its data (over 1 MiB once unpacked); Atelier stopped "
        "reading it. The address in Settings may be wrong."
    )


def test_an_answer_that_never_ends_is_read_only_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bounded read: the client stops at the cap and closes, so the server could send only what the
    socket buffers held beyond it (before: read until the 5 s budget ran out, then "too slowly")."""
    monkeypatch.setattr(core.net, "MAX_ANSWER_BYTES", 1 * MIB)
    with hostile_server() as (server, state):
        state.routes["/endless"] = Endless(cap=2048 * MIB)
        session = make_session(retries=0, give_up_after_s=5.0)
        started = time.monotonic()

        with pytest.raises(AnswerTooLargeError):
            session.get(f"{server.base_url}/endless")

        assert time.monotonic() - started < 4.0
        time.sleep(0.2)  # the server notices the closed connection
        assert state.sent["/endless"] < 64 * MIB


def test_an_answer_under_the_cap_reads_as_before() -> None:
    with hostile_server() as (server, state):
        state.routes["/ok"] = JsonAnswer({"items": ["a" * 1000] * 100})
        session = make_session(retries=0)

        response = session.get(f"{server.base_url}/ok")

    assert response.json() == {"items": ["a" * 1000] * 100}
    assert len(response.content) == len(response.text.encode())


def test_redirects_to_file_and_in_a_loop_are_said_in_words() -> None:
    with hostile_server() as (server, state):
        state.routes["/to-file"] = RedirectTo("file:///etc/passwd")
        state.routes["/loop"] = RedirectTo("/loop")
        session = make_session(retries=0)

        with pytest.raises(requests.RequestException) as to_file:
            session.get(f"{server.base_url}/to-file")
        with pytest.raises(requests.RequestException) as loop:
            session.get(f"{server.base_url}/loop")

    assert describe_failure(to_file.value, "civitai.com") == (
        "civitai.com redirected to a file:// address, which Atelier does not follow (only http and https)."
    )
    assert describe_failure(loop.value, "civitai.com") == (
        "civitai.com redirected in a loop; Atelier stopped following it. Try again later."
    )


@pytest.mark.parametrize(
    "body",
    [Endless(cap=2048 * MIB), GzipBomb(inflated=512 * MIB)],
    ids=["endless", "gzip-bomb"],
)
def test_a_streamed_downloads_redirect_is_followed_without_reading_its_body_whole(
    body: Endless | GzipBomb,
) -> None:
    """A file fetched with ``stream=True`` (a download, a desktop image) through a 302 whose own body
    never ends or inflates to 512 MiB: the file arrives, and the 302's body was read only up to
    ``REDIRECT_BODY_LIMIT`` (before: requests read each hop's ``content`` whole, uncapped, in memory)."""
    with hostile_server() as (server, state):
        state.routes["/hop"] = RedirectTo("/file", body=body)
        state.routes["/file"] = JsonAnswer({"file": "yes"})
        session = make_session(retries=0, give_up_after_s=10.0)
        started = time.monotonic()
        tracemalloc.start()
        try:
            with session.get(f"{server.base_url}/hop", stream=True) as response:
                payload = read_answer(response)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert time.monotonic() - started < 5.0
        time.sleep(0.2)  # the server notices the closed connection
        sent = state.sent.get("/hop", 0)

    assert json.loads(payload) == {"file": "yes"}
    assert [hop.status_code for hop in response.history] == [302]
    assert peak < 16 * MIB, f"the 302's body was not inflated in memory (peak {peak / MIB:.0f} MiB)"
    assert sent < 64 * MIB, "the client stopped reading the 302's body"


def test_a_redirects_small_body_is_drained_and_its_connection_reused() -> None:
    """A 302 with a short body, as most servers send: read (under the limit), so the connection goes back
    to the pool and the next hop reuses it."""
    with hostile_server() as (server, state):
        state.routes["/hop"] = RedirectTo("/file", body=GzipBomb(inflated=1000))
        state.routes["/file"] = JsonAnswer({"file": "yes"})
        session = make_session(retries=0)

        with session.get(f"{server.base_url}/hop", stream=True) as response:
            assert response.json() == {"file": "yes"}

    (hop,) = response.history
    assert hop.content.startswith(b'{"id": 1, "pad": "000')
