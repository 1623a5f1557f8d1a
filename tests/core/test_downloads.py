"""core.downloads against a real loopback file server, real files and the real SQLite queue store.

Faults are injected per URL (tests/fakes/file_server.py); the server's request log and byte counters
prove resumes use ``Range`` and never fetch the file twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import quote

import pytest

from catalog.download_store import SqlDownloadStore
from core.download_catalog_hashes import Follower
from core.downloads import (
    Downloader,
    DownloadProgress,
    DownloadRequest,
    DownloadSource,
    DownloadStatus,
)
from core.hashing import hash_file
from core.jobs import CancelledError, CancelToken, Progress
from core.net import MIN_TRY_TIMEOUT_S, host_of, make_session
from core.site_tokens import SiteToken, TokenPolicy
from core.sources.errors import (
    ArchivedError,
    AuthRequiredError,
    ConnectionLostError,
    DiskFullError,
    EarlyAccessError,
    ForbiddenError,
    HashMismatchError,
    HtmlInsteadOfFileError,
    NotFoundError,
    RateLimitedError,
    RemoteError,
    ServerError,
    UnexpectedContentError,
)
from core.waits import WaitNotice, waits_reported_to
from tests.fakes.file_server import Fault, FileServerState, serve_files
from tests.fakes.server import FakeServer
from tests.fakes.side_by_side import Outcome, side_by_side
from tests.fakes.silent_server import TRICKLE_BODY, TRICKLE_HEADERS, silent_server, trickle_server

ROOT = Path(__file__).resolve().parents[2]
CHUNK = 256 * 1024
SIZE = 3 * 1024 * 1024 + 12345
DATA = os.urandom(SIZE)
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def server() -> Iterator[tuple[FakeServer, FileServerState]]:
    with serve_files() as pair:
        yield pair


def _downloader(store: SqlDownloadStore, *, civitai: str | None = None, **kwargs: object) -> Downloader:
    """An engine whose session knows Civitai at ``civitai`` (a base URL), as the app's does."""
    options: dict[str, object] = {"chunk_size": CHUNK, "backoff_s": 0.01, "attempts": 3}
    options.update(kwargs)
    sites = (SiteToken.fixed("Civitai", civitai, None),) if civitai is not None else ()
    session = make_session(retries=0, timeout=(5.0, 5.0), auth=TokenPolicy(*sites))
    return Downloader(session, store, **options)  # type: ignore[arg-type]


def _request(server: FakeServer, path: str, target: Path, **kwargs: object) -> DownloadRequest:
    return DownloadRequest(f"{server.base_url}{path}", target, **kwargs)  # type: ignore[arg-type]


def _gets(server: FakeServer, path: str) -> list[dict[str, str]]:
    return [headers for method, p, headers in server.requests if method == "GET" and p == path]


def test_plain_download_is_verified_and_recorded(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/files/model.safetensors", DATA)
    engine = _downloader(store)
    target = tmp_path / "models" / "Lora"
    download_id = engine.enqueue(
        _request(
            http,
            "/files/model.safetensors",
            target,
            source=DownloadSource.CIVITAI,
            expected_size=SIZE,
            expected_sha256=SHA.upper(),
            metadata={"modelId": 7},
            remote_ids={"version_id": 70},
        )
    )
    reports: list[Progress] = []
    path = engine.run_one(download_id, reports.append)
    assert path == target / "model.safetensors"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA
    assert not list(target.glob("*.part"))
    record = engine.get(download_id)
    assert record.status is DownloadStatus.COMPLETED
    assert (record.completed_path, record.bytes_done, record.total) == (path, SIZE, SIZE)
    assert record.metadata == {"modelId": 7}
    assert record.remote_ids == {"version_id": 70}
    last = reports[-1]
    assert isinstance(last, DownloadProgress)
    assert (last.done, last.total, last.download_id) == (SIZE, SIZE, download_id)
    assert "MiB" in last.message
    assert engine.take_file_hashes(download_id) == hash_file(path), "the scan's hashes, without a re-read"
    assert engine.take_file_hashes(download_id) is None, "handed out once"
    assert engine.run_one(download_id) == path, "a finished download is not fetched again"
    assert engine.take_file_hashes(download_id) is None, "nothing was downloaded: the caller hashes the file"
    (headers,) = _gets(http, "/files/model.safetensors")
    assert headers["Content-Type"] == "application/json"
    assert "Range" not in headers


def test_a_cut_connection_is_resumed_with_range(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    cut = 1024 * 1024 + 777
    state.add("/cut.bin", DATA, Fault(cut_after=cut))
    engine = _downloader(store)
    path = engine.run_one(engine.enqueue(_request(http, "/cut.bin", tmp_path, expected_sha256=SHA)))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA
    first, second = _gets(http, "/cut.bin")
    assert "Range" not in first
    start = int(second["Range"].removeprefix("bytes=").rstrip("-"))
    assert cut - CHUNK <= start <= cut
    assert SIZE <= state.total_sent("/cut.bin") <= SIZE + CHUNK


def _safetensors(payload: bytes) -> bytes:
    header = json.dumps({"w": {"dtype": "U8", "shape": [len(payload)], "data_offsets": [0, len(payload)]}})
    raw = header.encode() + b" " * (-len(header) % 8)
    return struct.pack("<Q", len(raw)) + raw + payload


@pytest.mark.parametrize("stop", ["cut", "pause"])
def test_a_resumed_download_hands_over_the_hashes_a_scan_would_record(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path, stop: str
) -> None:
    """Cut (the same run retries and keeps its hash state) or paused (the next run rebuilds the state
    from the .part on disk, the AutoV1 window and the safetensors header included): every hash the
    download hands to the catalog equals core.hashing's of the finished file."""
    http, state = server
    data = _safetensors(DATA)
    fault = Fault(cut_after=1024 * 1024 + 5) if stop == "cut" else Fault(trickle=(64 * 1024, 0.01))
    state.add("/m.safetensors", data, fault)
    engine = _downloader(store)
    download_id = engine.enqueue(_request(http, "/m.safetensors", tmp_path, expected_size=len(data)))
    if stop == "pause":
        threading.Timer(0.15, engine.pause, args=(download_id,)).start()
        with pytest.raises(CancelledError):
            engine.run_one(download_id)
        assert 0 < _part_bytes(engine, download_id) < len(data)
        state.faults.clear()
        engine.resume(download_id)
    path = engine.run_one(download_id)
    assert len(_gets(http, "/m.safetensors")) == 2, "resumed once"
    hashes = engine.take_file_hashes(download_id)
    assert hashes == hash_file(path)
    assert hashes.autov3 is not None, "a safetensors file: its data section's hash too"
    assert hashes.autov1 is not None


def _part_bytes(engine: Downloader, download_id: int) -> int:
    part = engine.get(download_id).part_path
    assert part is not None
    return part.stat().st_size


def test_range_ignored_restarts_from_zero(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/norange.bin", DATA, Fault(cut_after=1_000_000, ignore_range=True))
    engine = _downloader(store)
    download_id = engine.enqueue(_request(http, "/norange.bin", tmp_path, expected_sha256=SHA))
    path = engine.run_one(download_id)
    assert path.read_bytes() == DATA
    assert "Range" in _gets(http, "/norange.bin")[1]
    assert engine.take_file_hashes(download_id) == hash_file(path), "the catalog hashes restarted too"


def test_wrong_content_length_is_retried_then_explained(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/short.bin", DATA, Fault(extra_length=1000, ignore_range=True))
    engine = _downloader(store)
    download_id = engine.enqueue(_request(http, "/short.bin", tmp_path))
    with pytest.raises(ConnectionLostError) as caught:
        engine.run_one(download_id)
    assert "fewer bytes than it announced" in caught.value.message
    assert "gave up after 3 tries" in caught.value.message
    assert len(_gets(http, "/short.bin")) == 3
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".db" and "catalog" not in p.name] == [
        "short.bin.part"
    ]
    assert engine.get(download_id).status is DownloadStatus.FAILED


def test_wrong_content_length_with_range_support_is_verified_and_finished(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/short.bin", DATA, Fault(extra_length=1000))
    engine = _downloader(store)
    path = engine.run_one(engine.enqueue(_request(http, "/short.bin", tmp_path, expected_sha256=SHA)))
    assert path.read_bytes() == DATA
    assert state.total_sent("/short.bin") == SIZE


def test_html_login_page_is_an_error_and_leaves_no_file(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/login.bin", DATA, Fault(html=True))
    engine = _downloader(store)
    download_id = engine.enqueue(_request(http, "/login.bin", tmp_path / "out"))
    with pytest.raises(HtmlInsteadOfFileError, match="HTML page"):
        engine.run_one(download_id)
    assert not list((tmp_path / "out").iterdir())
    record = engine.get(download_id)
    assert record.status is DownloadStatus.FAILED
    assert record.error is not None
    assert "login page" in record.error


@pytest.mark.parametrize(
    ("fault", "error_type", "words"),
    [
        (
            Fault(status=401, json_body={"error": "Unauthorized", "message": "log in to download"}),
            AuthRequiredError,
            "API key",
        ),
        (
            Fault(status=403, json_body={"error": "Early Access", "deadline": "2026-12-01T00:00:00Z"}),
            EarlyAccessError,
            "until 2026-12-01",
        ),
        (Fault(status=403, json_body={"error": "Forbidden"}), ForbiddenError, "does not allow access"),
        (Fault(status=404, json_body={"error": "File not found"}), NotFoundError, "not found"),
        (Fault(status=410, json_body={"error": "Model archived"}), ArchivedError, "archived"),
        (Fault(status=429, retry_after="120"), RateLimitedError, "asked to wait 120 s"),
        (Fault(status=429, json_body={"error": "unusual amount of downloading"}), RateLimitedError, "later"),
    ],
)
def test_error_statuses_have_human_messages(  # noqa: PLR0917
    server: tuple[FakeServer, FileServerState],
    store: SqlDownloadStore,
    tmp_path: Path,
    fault: Fault,
    error_type: type[RemoteError],
    words: str,
) -> None:
    http, state = server
    state.add("/e.bin", DATA, fault)
    engine = _downloader(store)
    with pytest.raises(error_type) as caught:
        engine.run_one(engine.enqueue(_request(http, "/e.bin", tmp_path)))
    assert words in caught.value.message
    assert not caught.value.retryable
    assert len(_gets(http, "/e.bin")) == 1, "client errors are not retried"


def test_server_errors_are_retried_until_success(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/flaky.bin", DATA, Fault(status=500, status_times=2))
    engine = _downloader(store)
    path = engine.run_one(engine.enqueue(_request(http, "/flaky.bin", tmp_path, expected_sha256=SHA)))
    assert path.read_bytes() == DATA
    assert len(_gets(http, "/flaky.bin")) == 3


def test_server_errors_give_up_with_a_message(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/down.bin", DATA, Fault(status=503))
    engine = _downloader(store, attempts=2)
    download_id = engine.enqueue(_request(http, "/down.bin", tmp_path))
    with pytest.raises(ServerError, match="503"):
        engine.run_one(download_id)


# A small retry budget keeps these tests short (as short as a try may be: MIN_TRY_TIMEOUT_S); the default
# one is timed in the CLI test (tests/app/test_download_give_up.py).
BUDGET_S = MIN_TRY_TIMEOUT_S
# A trickling host sends a byte this often: well inside the read timeout (the budget) it renews, so only
# the budget's deadline or its minimum speed can end the wait.
TRICKLE_S = 0.2
# What a message says the budget took, in whole seconds: the budget, or a second more on a loaded machine.
BUDGET_SAID = f"[{BUDGET_S:.0f}{BUDGET_S + 1:.0f}]"
# A server that answers at once with an error costs only the waits between tries (no try waits for a
# timeout): half the budget still holds three tries, the least these tests ask for.
ANSWERED_BUDGET_S = BUDGET_S / 2


def _budgeted(
    store: SqlDownloadStore, *, civitai: str | None = None, budget_s: float = BUDGET_S
) -> Downloader:
    """An engine with the default rule but a short budget and short waits (a fifth of it, doubling): many
    tries allowed, so the budget is what stops it."""
    return _downloader(store, civitai=civitai, attempts=20, backoff_s=budget_s / 5, give_up_after_s=budget_s)


@pytest.mark.parametrize(
    ("fault", "error_type", "words"),
    [
        (Fault(status=500), ServerError, "{host} is not answering (HTTP 500) — gave up after "),
        (Fault(status=503), ServerError, "{host} is not answering (HTTP 503) — gave up after "),
        (
            Fault(status=429, retry_after="3600"),
            RateLimitedError,
            "{host} asked to wait 3600 s (rate limit, HTTP 429); try again later.",
        ),
        (Fault(status=429, retry_after="30"), RateLimitedError, "asked to wait 30 s"),
    ],
)
def test_a_failing_server_is_given_up_within_the_budget_with_the_reason(  # noqa: PLR0917
    server: tuple[FakeServer, FileServerState],
    store: SqlDownloadStore,
    tmp_path: Path,
    fault: Fault,
    error_type: type[RemoteError],
    words: str,
) -> None:
    http, state = server
    state.add("/down.bin", DATA, fault)
    engine = _budgeted(store, budget_s=ANSWERED_BUDGET_S)
    download_id = engine.enqueue(_request(http, "/down.bin", tmp_path))
    started = time.monotonic()
    with pytest.raises(error_type) as caught:
        engine.run_one(download_id)
    elapsed = time.monotonic() - started
    # The budget plus a loaded machine's slack, never the 20 tries' backoff.
    assert elapsed < ANSWERED_BUDGET_S + 3.0
    assert words.format(host=host_of(http.base_url)) in caught.value.message  # a plain link: its host
    tries = len(_gets(http, "/down.bin"))
    if fault.status == 429:
        assert tries == 1, "a Retry-After past the budget is not waited for"
        assert elapsed < 1.5
    else:
        assert 3 <= tries < 20, "bounded by the time budget, not by the tries allowed"
        assert f"gave up after {tries} tries in" in caught.value.message
    record = engine.get(download_id)
    assert (record.status, record.error) == (DownloadStatus.FAILED, caught.value.message)


@dataclass(frozen=True)
class Waited:
    """One of the module's downloads that wait out the budget: its engine and id, the address of the slow
    host it met, and how its run ended."""

    engine: Downloader
    download_id: int
    url: str
    outcome: Outcome


@pytest.fixture(scope="module")
def waited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Waited]]:
    """The downloads below that each wait out the budget against a host of their own (silent, or sending a
    byte at a time), run side by side (tests/fakes/side_by_side.py): the module waits for them once, before
    its first test; each test asserts on its own. Each has its own queue file, folder and server."""
    with ExitStack() as stack:
        cases: dict[str, tuple[Downloader, int, str]] = {}

        def add(name: str, url: str, link: str, *, civitai: str | None = None) -> None:
            """``name``'s download of ``link`` (Civitai's, when ``civitai`` is Civitai's address)."""
            folder = tmp_path_factory.mktemp(name.replace(" ", "-"))
            store = SqlDownloadStore.open(folder / "catalog.db")
            stack.callback(store.close)
            engine = _budgeted(store, civitai=civitai)
            request = (
                DownloadRequest(link, folder, source=DownloadSource.CIVITAI)
                if civitai is not None
                else DownloadRequest(link, folder)
            )
            cases[name] = (engine, engine.enqueue(request), url)

        silent = stack.enter_context(silent_server())
        add("silent", silent, f"{silent}/never.bin", civitai=silent)
        file = stack.enter_context(
            trickle_server(TRICKLE_BODY, content_type="application/octet-stream", interval_s=TRICKLE_S)
        )
        add("file trickle", file, f"{file}/slow.bin")
        message = stack.enter_context(
            trickle_server(TRICKLE_BODY, content_type="application/json", interval_s=TRICKLE_S)
        )
        add("json trickle", message, f"{message}/model.bin")
        headers = stack.enter_context(trickle_server(TRICKLE_HEADERS, interval_s=TRICKLE_S))
        add("header trickle", headers, f"{headers}/slow.bin", civitai=headers)
        beyond = stack.enter_context(silent_server())
        civitai, civitai_state = stack.enter_context(serve_files())
        civitai_state.add("/api/download/models/8", b"", Fault(redirect_to=f"{beyond}/never.bin"))
        add(
            "redirect to silent",
            beyond,
            f"{civitai.base_url}/api/download/models/8",
            civitai=civitai.base_url,
        )

        ended = side_by_side(
            {name: partial(engine.run_one, download_id) for name, (engine, download_id, _) in cases.items()}
        )
        yield {
            name: Waited(engine, download_id, url, ended[name])
            for name, (engine, download_id, url) in cases.items()
        }


def test_a_server_that_never_answers_is_given_up_within_the_budget(waited: dict[str, Waited]) -> None:
    ended = waited["silent"].outcome
    caught = ended.raised(ConnectionLostError)
    assert BUDGET_S - 0.1 < ended.elapsed_s < BUDGET_S + 3.0  # not the 60 s read timeout
    assert re.fullmatch(
        rf"Civitai stopped answering \(nothing arrived in time\) — gave up after 1 try in {BUDGET_SAID} s\. "
        r"Try again later\.",
        caught.message,
    ), caught.message


def test_a_file_trickled_a_byte_at_a_time_is_given_up_within_the_budget_keeping_its_bytes(
    waited: dict[str, Waited],
) -> None:
    """Each byte renews the read timeout and is progress of a sort, yet a byte at a time is no download:
    fewer than 16 KiB in the budget's window ends the try, that trickle does not renew the budget, and the
    bytes received are kept in the .part for a later resume."""
    case = waited["file trickle"]
    ended = case.outcome
    caught = ended.raised(ConnectionLostError)
    assert BUDGET_S - 0.1 < ended.elapsed_s < BUDGET_S + 3.0
    assert re.fullmatch(
        rf"127\.0\.0\.1 is sending the file too slowly \([1-9] bytes in {BUDGET_SAID} s\) — gave up after 1 "
        rf"try in {BUDGET_SAID} s\. Try again later\.",
        caught.message,
    ), caught.message
    record = case.engine.get(case.download_id)
    assert record.status is DownloadStatus.FAILED
    assert record.part_path is not None
    assert record.part_path.read_bytes().strip(b" ") == b""
    assert record.bytes_done == record.part_path.stat().st_size > 0


def test_a_json_message_trickled_a_byte_at_a_time_is_explained_within_the_budget(
    waited: dict[str, Waited],
) -> None:
    """The short reply read to explain a failure is bounded in time too, not only in size."""
    case = waited["json trickle"]
    ended = case.outcome
    caught = ended.raised(UnexpectedContentError)
    assert re.search(r"^127\.0\.0\.1 sent a JSON message instead", str(caught)), str(caught)
    assert BUDGET_S - 0.1 < ended.elapsed_s < BUDGET_S + 3.0
    assert case.engine.get(case.download_id).status is DownloadStatus.FAILED


def test_headers_trickled_a_byte_at_a_time_are_given_up_within_the_budget(waited: dict[str, Waited]) -> None:
    ended = waited["header trickle"].outcome
    caught = ended.raised(ConnectionLostError)
    assert BUDGET_S - 0.1 < ended.elapsed_s < BUDGET_S + 3.0
    assert re.fullmatch(
        rf"Civitai sent its answer too slowly — gave up after 1 try in {BUDGET_SAID} s\. Try again later\.",
        caught.message,
    ), caught.message


def test_a_redirect_to_a_silent_host_names_that_host(waited: dict[str, Waited]) -> None:
    """The hop that never answers is the redirect's target, not Civitai, whose answer (a 307) came."""
    case = waited["redirect to silent"]
    caught = case.outcome.raised(ConnectionLostError)
    assert caught.message.startswith(
        f"{host_of(case.url)} (the file host Civitai pointed to) stopped answering (nothing arrived in time)"
        " — gave up after 1 try in "
    ), caught.message


def test_retry_after_within_the_budget_is_waited_for_and_announced(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/later.bin", DATA, Fault(status=429, retry_after="1", status_times=1))
    # A budget with room for the 1 s asked (the shortest a Retry-After of whole seconds can ask).
    engine = _downloader(store, civitai=http.base_url, attempts=20, backoff_s=0.2, give_up_after_s=2.0)
    notices: list[WaitNotice] = []
    started = time.monotonic()
    with waits_reported_to(notices.append):
        path = engine.run_one(
            engine.enqueue(_request(http, "/later.bin", tmp_path, source=DownloadSource.CIVITAI))
        )
    assert path.read_bytes() == DATA
    assert time.monotonic() - started >= 1.0
    (notice,) = notices
    assert (notice.host, notice.seconds, notice.reason, notice.asked_by_server) == (
        "Civitai",
        1.0,
        "HTTP 429",
        True,
    )
    assert notice.text() == "Civitai asked us to wait 1 s… (try 2 of 20)"


def test_a_failing_file_host_civitai_pointed_to_is_named_not_civitai(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    """A version's link (or Civitai's redirect) may name any host: its 500s and 429s are its own, and
    the user is told which host failed, not sent to blame (or wait for) Civitai."""
    civitai, civitai_state = server
    with serve_files() as (files, state):
        state.add("/broken.bin", DATA, Fault(status=500))
        state.add("/limited.bin", DATA, Fault(status=429, retry_after="3600"))
        civitai_state.add("/api/download/models/7", b"", Fault(redirect_to=f"{files.base_url}/broken.bin"))
        engine = _budgeted(store, civitai=civitai.base_url, budget_s=ANSWERED_BUDGET_S)
        file_host = f"{host_of(files.base_url)} (the file host Civitai pointed to)"

        def fail(url: str) -> str:
            notices: list[WaitNotice] = []
            request = DownloadRequest(url, tmp_path, source=DownloadSource.CIVITAI)
            with waits_reported_to(notices.append), pytest.raises(RemoteError) as caught:
                engine.run_one(engine.enqueue(request))
            assert {n.host for n in notices} <= {file_host}
            return caught.value.message

        assert fail(f"{files.base_url}/broken.bin").startswith(
            f"{file_host} is not answering (HTTP 500) — gave up after "
        )
        assert fail(f"{files.base_url}/limited.bin") == (
            f"{file_host} asked to wait 3600 s (rate limit, HTTP 429); try again later."
        )
        redirected = fail(f"{civitai.base_url}/api/download/models/7")  # Civitai's own link, then away
        assert redirected.startswith(f"{file_host} is not answering (HTTP 500) — gave up after ")

    civitai_state.add("/own.bin", DATA, Fault(status=503))
    notices: list[WaitNotice] = []
    own = DownloadRequest(f"{civitai.base_url}/own.bin", tmp_path, source=DownloadSource.CIVITAI)
    with waits_reported_to(notices.append), pytest.raises(ServerError) as caught:
        engine.run_one(engine.enqueue(own))
    assert caught.value.message.startswith("Civitai is not answering (HTTP 503) — gave up after ")
    assert notices[0].text().startswith("Civitai answered HTTP 503 — trying again in ")


def test_bytes_arriving_renew_the_tries_and_the_budget(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    """A link that breaks every 512 KiB needs 7 tries for 3 MiB: more than the 3 allowed, but each try
    brings bytes, so the download goes on (a long download over a bad line is not given up on)."""
    http, state = server
    state.add("/choppy.bin", DATA, Fault(cut_after=512 * 1024, cut_times=100))
    engine = _downloader(store, attempts=3, give_up_after_s=BUDGET_S)
    path = engine.run_one(engine.enqueue(_request(http, "/choppy.bin", tmp_path, expected_sha256=SHA)))
    assert path.read_bytes() == DATA
    assert len(_gets(http, "/choppy.bin")) == 7


def test_a_few_bytes_then_a_drop_every_time_do_not_renew_the_tries(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    """Only a useful amount (16 KiB) renews the count: a host that sends 100 bytes and drops, again and
    again, is given up on after the tries allowed instead of being retried for ever."""
    http, state = server
    state.add("/crumbs.bin", DATA, Fault(cut_after=100, cut_times=1000))
    engine = _downloader(store, attempts=3, give_up_after_s=BUDGET_S)
    with pytest.raises(ConnectionLostError, match="gave up after 3 tries"):
        engine.run_one(engine.enqueue(_request(http, "/crumbs.bin", tmp_path)))
    assert len(_gets(http, "/crumbs.bin")) == 3


def test_hash_mismatch_deletes_the_bad_file(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/m.bin", DATA)
    engine = _downloader(store)
    with pytest.raises(HashMismatchError, match="SHA-256"):
        engine.run_one(engine.enqueue(_request(http, "/m.bin", tmp_path / "o", expected_sha256="0" * 64)))
    assert not list((tmp_path / "o").iterdir())


def test_cancel_during_a_slow_trickle_is_prompt_and_deletes_the_part(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/slow.bin", DATA, Fault(trickle=(8 * 1024, 0.01)))
    engine = _downloader(store, chunk_size=1024 * 1024)
    download_id = engine.enqueue(_request(http, "/slow.bin", tmp_path / "o"))
    token = CancelToken()
    threading.Timer(0.3, engine.cancel, args=(download_id,)).start()
    started = time.monotonic()
    with pytest.raises(CancelledError):
        engine.run_one(download_id, cancel=token)
    assert time.monotonic() - started < 1.0, "cancel must not wait for a whole 1 MiB chunk"
    assert engine.get(download_id).status is DownloadStatus.CANCELLED
    assert not list((tmp_path / "o").iterdir())


def test_pause_keeps_the_part_and_resume_continues(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/p.bin", DATA, Fault(trickle=(64 * 1024, 0.01)))
    engine = _downloader(store)
    download_id = engine.enqueue(_request(http, "/p.bin", tmp_path, expected_sha256=SHA))

    def pause_once_bytes_are_kept() -> None:  # not after a fixed delay: on a loaded machine the
        deadline = time.monotonic() + 60  # download may not have written a byte by then
        while time.monotonic() < deadline:
            part = engine.get(download_id).part_path
            if part is not None and part.exists() and part.stat().st_size > 0:
                break
            time.sleep(0.01)
        engine.pause(download_id)

    threading.Thread(target=pause_once_bytes_are_kept, daemon=True).start()
    with pytest.raises(CancelledError):
        engine.run_one(download_id)
    record = engine.get(download_id)
    assert record.status is DownloadStatus.PAUSED
    assert record.part_path is not None
    kept = record.part_path.stat().st_size
    assert kept > 0
    state.faults.clear()
    engine.resume(download_id)
    assert engine.get(download_id).status is DownloadStatus.QUEUED
    results = engine.run_queue()
    assert results[download_id] == tmp_path / "p.bin"
    assert (tmp_path / "p.bin").read_bytes() == DATA
    assert _gets(http, "/p.bin")[1]["Range"] == f"bytes={kept}-"


@pytest.mark.parametrize(
    "header",
    [
        'attachment; filename="../../x.safetensors"',
        "attachment; filename=/etc/x.safetensors",
        'attachment; filename="..\\\\..\\\\x.safetensors"',
    ],
)
def test_content_disposition_cannot_escape_the_target(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path, header: str
) -> None:
    http, state = server
    state.add("/cd.bin", DATA, Fault(content_disposition=header))
    target = tmp_path / "a" / "b"
    engine = _downloader(store)
    path = engine.run_one(engine.enqueue(_request(http, "/cd.bin", target)))
    assert path == target / "x.safetensors"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.safetensors")) == [
        "a/b/x.safetensors"
    ]


def test_a_255_byte_name_from_the_server_downloads_under_a_name_that_fits(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    """The longest name a file system allows, twice: both land, keep their extension and leave room
    for ``.part``, `` (1)`` and the sidecars other tools write under the same stem."""
    http, state = server
    long_name = "ü" * 121 + "x.safetensors"
    assert len(long_name.encode()) == 255
    header = f"attachment; filename*=UTF-8''{quote(long_name)}"
    state.add("/long.bin", DATA, Fault(content_disposition=header))
    engine = _downloader(store)
    first = engine.run_one(engine.enqueue(_request(http, "/long.bin", tmp_path, expected_sha256=SHA)))
    second = engine.run_one(engine.enqueue(_request(http, "/long.bin", tmp_path, expected_sha256=SHA)))
    for path in (first, second):
        assert path.read_bytes() == DATA
        assert path.name.endswith(".safetensors")
    assert len(first.name.encode()) <= 200  # the rest is room for " (1)", ".part" and sidecars
    assert first.name.startswith("ü" * 90)
    assert second.name == first.name.removesuffix(".safetensors") + " (1).safetensors"
    assert not list(tmp_path.glob("*.part"))


def test_utf8_names_and_no_overwrite(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/u.bin", DATA, Fault(content_disposition="attachment; filename*=UTF-8''caf%C3%A9.safetensors"))
    (tmp_path / "café.safetensors").write_bytes(b"precious")
    engine = _downloader(store)
    path = engine.run_one(engine.enqueue(_request(http, "/u.bin", tmp_path)))
    assert path.name == "café (1).safetensors"
    assert (tmp_path / "café.safetensors").read_bytes() == b"precious"


def test_redirect_to_a_signed_url(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    state.add("/api/download/models/70", b"", Fault(redirect_to="/signed/abc?X-Amz-Signature=1"))
    state.add("/signed/abc", DATA, Fault(content_disposition='attachment; filename="real.safetensors"'))
    engine = _downloader(store)
    path = engine.run_one(engine.enqueue(_request(http, "/api/download/models/70", tmp_path)))
    assert path == tmp_path / "real.safetensors"
    assert path.read_bytes() == DATA


def test_run_queue_runs_everything_queued(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    for name in ("a", "b", "c"):
        state.add(f"/{name}.bin", DATA[: 100_000 * (ord(name) - 96)])
    state.add("/bad.bin", DATA, Fault(status=404))
    engine = _downloader(store)
    ids = [engine.enqueue(_request(http, f"/{n}.bin", tmp_path)) for n in ("a", "b", "c", "bad")]
    seen: set[int] = set()
    results = engine.run_queue(2, lambda i, _p: seen.add(i))
    assert [results[i] for i in ids[:3]] == [tmp_path / f"{n}.bin" for n in "abc"]
    assert isinstance(results[ids[3]], NotFoundError)
    assert seen >= set(ids[:3])
    assert [r.status for r in engine.list()] == [DownloadStatus.COMPLETED] * 3 + [DownloadStatus.FAILED]


def _script(db: Path, download_id: int, chunk: int, extra: str = "") -> str:
    return textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        {extra}
        from catalog.download_store import SqlDownloadStore
        from core.sources.errors import RemoteError
        from core.downloads import Downloader
        from core.net import make_session
        store = SqlDownloadStore.open(__import__("pathlib").Path({str(db)!r}))
        engine = Downloader(make_session(retries=0), store, chunk_size={chunk}, attempts=1)
        try:
            engine.run_one({download_id})
        except RemoteError as error:
            print(type(error).__name__, error.message)
            sys.exit(3)
        """
    )


def test_disk_full_keeps_the_part(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    pytest.importorskip("resource")
    http, state = server
    state.add("/big.bin", DATA)
    download_id = _downloader(store).enqueue(_request(http, "/big.bin", tmp_path / "o"))
    limit = 1024 * 1024
    extra = f"import resource; resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))"
    result = subprocess.run(
        [sys.executable, "-c", _script(tmp_path / "catalog.db", download_id, CHUNK, extra)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout.startswith(DiskFullError.__name__)
    assert "free some space" in result.stdout
    record = _downloader(store).get(download_id)
    assert record.status is DownloadStatus.FAILED
    assert record.part_path is not None
    assert record.part_path.stat().st_size == limit
    # After "freeing space" the same download resumes from the kept bytes.
    path = _downloader(store).run_one(download_id)
    assert path.read_bytes() == DATA
    assert _gets(http, "/big.bin")[1]["Range"] == f"bytes={limit}-"


def test_sigkill_mid_download_then_resume(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    http, state = server
    block = 32 * 1024
    state.add("/kill.bin", DATA, Fault(trickle=(block, 0.005)))
    engine = _downloader(store)
    download_id = engine.enqueue(_request(http, "/kill.bin", tmp_path / "o", expected_sha256=SHA))
    child = subprocess.Popen([sys.executable, "-c", _script(tmp_path / "catalog.db", download_id, CHUNK)])
    sent_at_kill = 0
    try:
        deadline = time.monotonic() + 20
        part: Path | None = None
        threshold = int(SIZE * (0.2 + 0.5 * (os.getpid() % 7) / 7))  # a "random" point, reproducible
        while time.monotonic() < deadline:
            part = engine.get(download_id).part_path
            if part is not None and part.exists() and part.stat().st_size >= threshold:
                break
            time.sleep(0.01)
        sent_at_kill = state.total_sent("/kill.bin")
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    # What the server writes into the dead connection until it is refused reaches no one: not counted.
    state.wait_until_sent("/kill.bin")
    first_connection = state.total_sent("/kill.bin")
    assert part is not None
    kept = part.stat().st_size
    assert 0 < kept < SIZE
    state.faults.clear()
    engine.resume(download_id)
    path = engine.run_one(download_id)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA
    assert engine.take_file_hashes(download_id) == hash_file(path), "rebuilt from the .part the kill left"
    assert _gets(http, "/kill.bin")[1]["Range"] == f"bytes={kept}-"
    assert state.total_sent("/kill.bin") - first_connection == SIZE - kept, "resumed where the .part ends"
    assert sent_at_kill - kept <= CHUNK, "at most the chunk in flight when killed is fetched again"


def test_a_kill_in_the_middle_of_the_rename_leaves_one_file_known_to_the_queue(
    server: tuple[FakeServer, FileServerState], store: SqlDownloadStore, tmp_path: Path
) -> None:
    """Killed after the queue says completed but before the ``.part`` name went: the next start removes
    that leftover name (the same file). Killed after the link but before the queue knew: the resume
    finds every byte in the ``.part``, verifies it and ends at the same name, not at a copy."""
    http, state = server
    state.add("/m.bin", DATA)
    engine = _downloader(store)
    models = tmp_path / "models"
    download_id = engine.enqueue(_request(http, "/m.bin", models, expected_sha256=SHA))
    final = engine.run_one(download_id)
    part = engine.get(download_id).part_path
    assert part is not None
    os.link(final, part)  # completed in the queue, the old name still there

    engine.recover_interrupted()

    assert not part.exists()
    assert final.read_bytes() == DATA

    os.link(final, part)  # linked, the queue not yet told: it still says running
    store.set_status(download_id, DownloadStatus.RUNNING)
    (recovered,) = engine.recover_interrupted()
    assert (recovered.status, recovered.bytes_done) == (DownloadStatus.INTERRUPTED, SIZE)
    engine.resume(download_id)

    assert engine.run_one(download_id) == final
    assert sorted(p.name for p in models.iterdir()) == [final.name]
    assert engine.get(download_id).status is DownloadStatus.COMPLETED


class _OpenAtRemoval:
    """Records, whenever the file at ``path`` is linked elsewhere or removed, the descriptors this process
    still has open on it: Windows refuses to remove or rename a file any handle has open."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, path_of: Callable[[], Path | None]) -> None:
        self.seen: list[tuple[str, list[str]]] = []
        self._path_of = path_of
        link, unlink = os.link, os.unlink

        def watched_link(source: object, target: object, *args: object, **kwargs: object) -> None:
            self._look("link", source)
            link(source, target, *args, **kwargs)  # type: ignore[arg-type]

        def watched_unlink(path: object, *args: object, **kwargs: object) -> None:
            self._look("unlink", path)
            unlink(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "link", watched_link)
        monkeypatch.setattr(os, "unlink", watched_unlink)

    def _look(self, what: str, path: object) -> None:
        watched = self._path_of()
        if watched is None or Path(str(path)) != watched or not watched.exists():
            return
        holders = []
        for fd in Path("/proc/self/fd").iterdir():
            try:
                if fd.readlink() == watched:
                    holders.append(fd.name)
            except OSError:
                continue
        self.seen.append((what, holders))


needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="lists descriptors via /proc")


@needs_proc
@pytest.mark.parametrize("handles_block_moves", [True, False], ids=["windows-order", "posix-order"])
def test_a_finished_part_is_moved_with_no_handle_open_where_windows_needs_that(
    server: tuple[FakeServer, FileServerState],
    store: SqlDownloadStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    handles_block_moves: bool,
) -> None:
    """Where open handles block a move (Windows), the follower's, the flush's and the catalog hashes'
    handles on the ``.part`` are all closed before it is linked to its name and removed, and the hashes
    handed to the catalog are still exact, after a cut connection too (the follower of the first try
    kept its state); elsewhere the descriptors opened before the move are what hold it."""
    monkeypatch.setattr("core.downloads.OPEN_HANDLES_BLOCK_MOVES", handles_block_moves)
    http, state = server
    data = _safetensors(DATA)
    state.add("/w.safetensors", data, Fault(cut_after=1024 * 1024 + 5))
    engine = _downloader(store)
    download_id = engine.enqueue(_request(http, "/w.safetensors", tmp_path, expected_size=len(data)))
    watch = _OpenAtRemoval(monkeypatch, lambda: engine.get(download_id).part_path)
    path = engine.run_one(download_id)
    assert [what for what, _ in watch.seen] == ["link", "unlink"]
    if handles_block_moves:
        assert watch.seen == [("link", []), ("unlink", [])], "no handle open on the .part as it moves"
    else:
        assert all(holders for _, holders in watch.seen), "POSIX: the descriptors opened before the move"
    assert engine.take_file_hashes(download_id) == hash_file(path)
    assert path.read_bytes() == data


def _slow_followers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each catalog follower, once its try has ended, holds its handle 0.3 s longer (a slow disk's last
    read): what is removed after the try must wait for it, not race it."""
    follow = Follower._follow

    def slow_follow(self: Follower, pipeline: object) -> None:
        follow(self, pipeline)  # type: ignore[arg-type]
        time.sleep(0.3)

    monkeypatch.setattr(Follower, "_follow", slow_follow)


@needs_proc
def test_a_cancelled_download_closes_every_handle_before_its_part_is_deleted(
    server: tuple[FakeServer, FileServerState],
    store: SqlDownloadStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The follower of a try that ended is stopped, and joined, before the ``.part`` goes: Windows
    would refuse to delete a file it still reads."""
    http, state = server
    state.add("/c.bin", DATA, Fault(trickle=(64 * 1024, 0.01)))
    engine = _downloader(store)
    download_id = engine.enqueue(_request(http, "/c.bin", tmp_path / "o"))
    part = tmp_path / "o" / "c.bin.part"
    _slow_followers(monkeypatch)
    watch = _OpenAtRemoval(monkeypatch, lambda: part)
    threading.Timer(0.3, engine.cancel, args=(download_id,)).start()
    with pytest.raises(CancelledError):
        engine.run_one(download_id)
    assert watch.seen == [("unlink", [])]
    assert not part.exists()


@needs_proc
def test_a_damaged_download_closes_every_handle_before_it_is_deleted(
    server: tuple[FakeServer, FileServerState],
    store: SqlDownloadStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http, state = server
    state.add("/d.bin", DATA)
    engine = _downloader(store)
    download_id = engine.enqueue(_request(http, "/d.bin", tmp_path / "o", expected_sha256="0" * 64))
    _slow_followers(monkeypatch)
    watch = _OpenAtRemoval(monkeypatch, lambda: engine.get(download_id).part_path)
    with pytest.raises(HashMismatchError):
        engine.run_one(download_id)
    assert watch.seen == [("unlink", [])]


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        (
            "Hugging Face",
            "Hugging Face requires you to be logged in for this file. Add a Hugging Face token in Settings, "
            "or set the HF_TOKEN environment variable. (Hugging Face said: Access to model is restricted.)",
        ),
        (
            "Civitai",
            "Civitai requires you to be logged in for this file. Add your Civitai API key in Settings, or "
            "set the ATELIER_CIVITAI_TOKEN environment variable. (Civitai said: Access to model is "
            "restricted.)",
        ),
        (
            None,
            "127.0.0.1 requires you to be logged in for this file. Atelier sends an API key only to the "
            "Civitai and Hugging Face addresses of Settings › Sites: download this file in a web browser. "
            "(127.0.0.1 said: Access to model is restricted.)",
        ),
    ],
)
def test_a_login_wall_names_the_site_whose_address_the_settings_give_and_its_own_key(
    server: tuple[FakeServer, FileServerState],
    store: SqlDownloadStore,
    tmp_path: Path,
    site: str | None,
    expected: str,
) -> None:
    """The loopback server stands for the site the settings point at (tests use 127.0.0.1 for both): the
    message names that site and its own key, never "your 127.0.0.1 API key"."""
    http, state = server
    state.add("/gated.bin", DATA, Fault(status=401, json_body={"error": "Access to model is restricted."}))
    sites = (SiteToken.fixed(site, http.base_url, None),) if site is not None else ()
    session = make_session(retries=0, timeout=(5.0, 5.0), auth=TokenPolicy(*sites))
    engine = Downloader(session, store, chunk_size=CHUNK, backoff_s=0.01, attempts=3)
    with pytest.raises(AuthRequiredError) as caught:
        engine.run_one(engine.enqueue(_request(http, "/gated.bin", tmp_path)))
    assert caught.value.message == expected
