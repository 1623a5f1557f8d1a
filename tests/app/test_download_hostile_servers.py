"""``download civitai:…`` against hostile servers, as a user meets them: a file that never ends, a gzip
bomb for an API answer, a huge description, redirects to ``file://`` and in a loop, a dropped connection
that recovers. Real loopback servers (tests/app/download_sites.py, tests/fakes/hostile_server.py), the
real catalog file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.sizes import human_size
from core.sources.descriptions import DESCRIPTION_LIMIT
from tests.app.download_sites import FILE_PATH, VERSION_ID, Sites, loopback_sites
from tests.app.in_process import run_in_process
from tests.fakes.file_server import Fault
from tests.fakes.hostile_server import Endless, GzipBomb, HostileState, RedirectTo, hostile_server
from tests.fakes.server import FakeServer

MIB = 1024 * 1024


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Sites]:
    with loopback_sites(tmp_path, rank=64) as running:
        yield running


@pytest.fixture
def hostile() -> Iterator[tuple[FakeServer, HostileState]]:
    with hostile_server() as pair:
        yield pair


def run(sites: Sites, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_in_process(*args, env={**sites.env, **(env or {})})


def _versions(sites: Sites) -> list[dict[str, Any]]:
    """The version as both Civitai answers show it (/model-versions/{id} and the model's versions)."""
    state = sites.civitai.state
    model = state.models[state.versions[VERSION_ID]["modelId"]]
    return [state.versions[VERSION_ID], *(v for v in model["modelVersions"] if v["id"] == VERSION_ID)]


def _file_url(sites: Sites, url: str) -> None:
    for version in _versions(sites):
        version["files"][0]["downloadUrl"] = url


def test_a_file_that_never_ends_stops_past_the_size_civitai_lists(
    sites: Sites, hostile: tuple[FakeServer, HostileState]
) -> None:
    """The file server sends the file, then zeros, with no Content-Length (before: written until the disk
    was full, 54 GB in two minutes, while the queue showed "0 B / 136.4 KiB")."""
    server, state = hostile
    state.routes["/endless"] = Endless(head=sites.lora, cap=64 * MIB)
    _file_url(sites, f"{server.base_url}/endless")
    run(sites, "scan", str(sites.root))

    failed = run(sites, "download", f"civitai:{VERSION_ID}")

    assert failed.returncode == 1
    size = len(sites.lora)
    assert failed.stderr.strip().splitlines() == [
        f"atelier download: 127.0.0.1 sent more than the {human_size(size)} ({size:,} bytes) Civitai lists "
        "for this file; the download was stopped and its partial file deleted."
    ]
    assert state.sent["/endless"] < 16 * MIB, "the download stopped reading at once"
    assert not list((sites.root / "models" / "Lora").iterdir()), "no .part, no file"
    (record,) = json.loads(run(sites, "downloads", "--json").stdout)
    assert (record["status"], record["bytes_done"]) == ("failed", 0)


def test_a_gzip_bomb_for_the_version_is_refused_as_too_large(
    sites: Sites, hostile: tuple[FakeServer, HostileState]
) -> None:
    """The API answer inflates to 40 MiB, past the 32 MiB any site's data stays under (before: 8 GiB were
    inflated in memory, 5.36 GB RSS, then "sent its answer too slowly")."""
    server, state = hostile
    state.routes[f"/api/v1/model-versions/{VERSION_ID}"] = GzipBomb(inflated=40 * MIB)
    run(sites, "scan", str(sites.root))

    failed = run(sites, "download", f"civitai:{VERSION_ID}", env={"ATELIER_CIVITAI_URL": server.base_url})

    assert failed.returncode == 1
    host = server.base_url.removeprefix("http://")
    assert failed.stderr.strip().splitlines() == [
        f"atelier download: {host} sent an answer too large to be its data (over 32 MiB once unpacked); "
        "Atelier stopped reading it. The address in Settings may be wrong."
    ]


def test_a_huge_description_is_kept_once_and_trimmed(sites: Sites, tmp_path: Path) -> None:
    """A version whose description is 3 MB (under the answer cap): the library keeps it cut to
    DESCRIPTION_LIMIT characters with a mark, and the queue's row no longer holds the payload (before:
    the whole answer twice, 420 MB of catalog for a 200 MB description)."""
    for version in _versions(sites):
        version["description"] = "<p>" + "A" * (3 * MIB) + "</p>"
    run(sites, "scan", str(sites.root))

    done = run(sites, "download", f"civitai:{VERSION_ID}")

    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "profile" / "catalog.sqlite3") as db:
        (queued,) = db.execute("SELECT metadata FROM downloads").fetchone()
        (payload,) = db.execute("SELECT payload FROM remote_links").fetchone()
    assert json.loads(queued) == {}, "one copy: the library's"
    description = json.loads(payload)["description"]
    assert description.startswith("<p>AAAA")
    assert description.endswith(f"… [cut by Atelier: the site's description has {3 * MIB + 7:,} characters]")
    assert len(description) < DESCRIPTION_LIMIT + 100


@pytest.mark.parametrize(
    ("location", "said"),
    [
        (
            "file:///etc/passwd",
            "redirected to a file:// address, which Atelier does not follow (only http and https).",
        ),
        ("/loop", "redirected in a loop; Atelier stopped following it. Try again later."),
    ],
)
def test_a_redirect_atelier_does_not_follow_is_said_in_words(
    sites: Sites, hostile: tuple[FakeServer, HostileState], location: str, said: str
) -> None:
    server, state = hostile
    state.routes["/loop"] = RedirectTo(location)
    _file_url(sites, f"{server.base_url}/loop")
    run(sites, "scan", str(sites.root))

    failed = run(sites, "download", f"civitai:{VERSION_ID}")

    assert failed.returncode == 1
    host = server.base_url.removeprefix("http://")
    assert failed.stderr.strip().splitlines() == [
        f"atelier download: {host} (the file host Civitai pointed to) {said}"
    ]


def test_a_lost_connection_that_recovers_reads_as_a_step_not_a_failure(sites: Sites) -> None:
    """The wait before the resume is said like every other retry: what happened, the next try and its
    count (before: "Civitai: the connection was lost — trying again in 1 s…")."""
    sites.file_state.faults[FILE_PATH] = Fault(cut_after=50_000)
    run(sites, "scan", str(sites.root))

    done = run(sites, "download", f"civitai:{VERSION_ID}")

    assert done.returncode == 0, done.stderr
    host = sites.files.base_url.removeprefix("http://")
    assert done.stderr.strip().splitlines() == [
        f"atelier download: The connection to {host} (the file host Civitai pointed to) was lost — trying "
        "again in 1 s (try 2 of 5)…"
    ]
    assert "Downloaded" in done.stdout


@pytest.mark.parametrize(
    "body",
    [Endless(cap=2048 * MIB), GzipBomb(inflated=512 * MIB)],
    ids=["endless", "gzip-bomb"],
)
def test_a_redirect_whose_own_body_is_hostile_still_delivers_the_file(
    sites: Sites, hostile: tuple[FakeServer, HostileState], body: Endless | GzipBomb
) -> None:
    """Civitai's link answers 302 to the real file, with a 302 body that never ends or inflates to 512 MiB:
    the file is downloaded and the 302's body was never read whole (before: requests read every hop's
    body into memory, uncapped, streamed download or not: 2 GiB read, or 512 MiB inflated)."""
    server, state = hostile
    state.routes["/hop"] = RedirectTo(sites.files.base_url + FILE_PATH, body=body)
    _file_url(sites, f"{server.base_url}/hop")
    run(sites, "scan", str(sites.root))

    tracemalloc.start()
    try:
        done = run(sites, "download", f"civitai:{VERSION_ID}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert done.returncode == 0, done.stderr
    assert (sites.root / "models" / "Lora" / "pixel_art.safetensors").read_bytes() == sites.lora
    assert peak < 64 * MIB, f"the 302's body was not held in memory (peak {peak / MIB:.0f} MiB)"
    time.sleep(0.2)  # the server notices the closed connection
    assert state.sent["/hop"] < 64 * MIB, "the client stopped reading the 302's body"
