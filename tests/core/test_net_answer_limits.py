"""core.net reads a site's answer with a cap on its decoded size, and says redirects in the user's words.

Real loopback servers (tests/fakes/hostile_server.py): a gzip bomb, an answer that never ends, a
redirect to ``file://`` and a redirect loop.
"""

from __future__ import annotations

import time

import pytest
import requests

import core.net
from core.net import (
    AnswerTooLargeError,
    ConnectFailure,
    classify_failure,
    describe_failure,
    make_session,
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
