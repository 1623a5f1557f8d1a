"""Hugging Face answers obey the cap every site's answer does, as a user meets it: ``search hf`` and
``download hf:…`` against a loopback Hub that sends a gzip bomb for its API answer (through the CLI's entry
point, in this process: :mod:`tests.app.in_process`; tests/fakes/hostile_server.py)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.in_process import run_in_process
from tests.fakes.hostile_server import GzipBomb, HostileState, JsonAnswer, hostile_server
from tests.fakes.server import FakeServer

MIB = 1024 * 1024


@pytest.fixture
def hub() -> Iterator[tuple[FakeServer, HostileState]]:
    with hostile_server() as pair:
        yield pair


def _env(tmp_path: Path, hub: FakeServer) -> dict[str, str]:
    return {
        "ATELIER_DATA_DIR": str(tmp_path / "profile"),
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_ENDPOINT": hub.base_url,
        "HF_TOKEN": "",
    }


def _too_large(command: str, hub: FakeServer) -> str:
    host = hub.base_url.removeprefix("http://")
    return (
        f"atelier {command}: {host} sent an answer too large to be its data (over 32 MiB once unpacked); "
        "Atelier stopped reading it. The address in Settings may be wrong.\n"
    )


def test_a_gzip_bomb_for_a_search_is_refused_without_inflating_it(
    hub: tuple[FakeServer, HostileState], tmp_path: Path
) -> None:
    """The Hub's search answer inflates to 256 MiB: the command says it is too large, having held at most
    the 32 MiB cap of it (before: the whole bomb was inflated in memory, twice over as it was joined and
    parsed, and the search then failed on "an answer in another shape")."""
    server, state = hub
    env = _env(tmp_path, server)
    state.routes["/api/models"] = JsonAnswer([{"id": "someone/pixel", "modelId": "someone/pixel"}])
    assert run_in_process("search", "hf", "pixel", env=env).returncode == 0  # imports done, a real answer
    state.routes["/api/models"] = GzipBomb(inflated=256 * MIB)

    tracemalloc.start()
    try:
        failed = run_in_process("search", "hf", "pixel", env=env)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 96 * MIB, f"the reader stopped at the cap (peak {peak / MIB:.0f} MiB)"
    assert (failed.returncode, failed.stderr) == (1, _too_large("search", server))


def test_a_gzip_bomb_for_a_models_info_stops_its_download(
    hub: tuple[FakeServer, HostileState], tmp_path: Path
) -> None:
    """The model-info route (the first thing ``download hf:…`` asks) sends 40 MiB once unpacked."""
    server, state = hub
    state.routes["/api/models/someone/pixel-lora/revision/main"] = GzipBomb(inflated=40 * MIB)

    failed = run_in_process(
        "download", "hf:someone/pixel-lora/pixel_lora.safetensors", "--to", str(tmp_path / "lib"),
        env=_env(tmp_path, server),
    )  # fmt: skip

    assert (failed.returncode, failed.stderr) == (1, _too_large("download", server))
