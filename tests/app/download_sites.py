"""Loopback Civitai, Hugging Face and file servers offering one small LoRA, for the download tests.

One Civitai model (910001) whose version 910002 has one file, ``pixel_art.safetensors``, a real kohya
LoRA served by the file server with its true size, SHA-256 and AutoV2 (found by either through
``GET /api/v1/model-versions/by-hash/{hash}``); the same bytes as a file of the Hub
repository ``someone/pixel-lora``. ``env`` points a ``main.py`` subprocess (or ``AppContext``) at them.
"""

from __future__ import annotations

import copy
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.factory.safetensors_writer import write_safetensors
from tests.fakes.civitai_api import CivitaiState, fake_civitai, load_payload
from tests.fakes.file_server import Fault, FileServerState, serve_files
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.server import FakeServer, serve

ROOT = Path(__file__).resolve().parents[2]
_LORA_KEY = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
VERSION_ID = 910002
FILE_PATH = f"/api/download/models/{VERSION_ID}"


@dataclass
class Sites:
    civitai: FakeServer
    hub: FakeServer
    files: FakeServer
    file_state: FileServerState
    lora: bytes
    env: dict[str, str]
    root: Path


def _lora(tmp: Path, rank: int) -> bytes:
    keys = {
        f"{_LORA_KEY}.lora_down.weight": ("F16", (rank, 768)),
        f"{_LORA_KEY}.lora_up.weight": ("F16", (320, rank)),
    }
    return write_safetensors(tmp / "factory" / "lora.safetensors", keys, seed=11).read_bytes()


def _civitai_state(lora: bytes, file_url: str) -> CivitaiState:
    model: dict[str, Any] = copy.deepcopy(load_payload("04_models_modelId.json"))
    model["id"] = 910001
    model["type"] = "LORA"
    model["tags"] = ["pixel", "style"]
    version = model["modelVersions"][0]
    version.update(id=VERSION_ID, modelId=910001, baseModel="SD 1.5", trainedWords=["pixel art"], images=[])
    file = version["files"][0]
    sha256 = hashlib.sha256(lora).hexdigest().upper()
    file.update(
        name="pixel_art.safetensors",
        sizeKB=len(lora) / 1024,
        hashes={"SHA256": sha256, "AutoV2": sha256[:10]},  # AutoV2: as A1111 infotext names a file
        downloadUrl=file_url,
        primary=True,
    )
    version["files"] = [file]
    state = CivitaiState()
    state.add_model(model)
    return state


@contextmanager
def loopback_sites(tmp_path: Path, *, rank: int = 4) -> Iterator[Sites]:
    """The three servers, an empty A1111 folder (not yet a library folder) and the environment.

    ``rank`` sizes the LoRA: 4 gives 9 KB, 64 gives 140 KB (long enough to kill a slow download).
    """
    lora = _lora(tmp_path, rank)
    with serve_files() as (files, file_state):
        file_state.add(FILE_PATH, lora)
        hub_state = HubState()
        hub_state.add(
            {"id": "someone/pixel-lora", "sha": "d" * 40, "tags": ["lora", "diffusers"]},
            contents={"pixel_lora.safetensors": lora},
        )
        with (
            fake_civitai(_civitai_state(lora, files.base_url + FILE_PATH)) as civitai,
            serve(HubHandler, hub_state) as hub,
        ):
            root = tmp_path / "stable-diffusion-webui"
            (root / "models" / "Stable-diffusion").mkdir(parents=True)
            (root / "webui.py").write_text("")
            env = {
                "ATELIER_DATA_DIR": str(tmp_path / "profile"),
                "ATELIER_CIVITAI_URL": civitai.base_url,
                "ATELIER_CIVITAI_TOKEN": "",
                "HF_ENDPOINT": hub.base_url,
                "HF_HOME": str(tmp_path / "hf-home"),
                "HF_TOKEN": "",
            }
            yield Sites(civitai, hub, files, file_state, lora, env, root)


def kill_mid_download(sites: Sites, data_dir: Path, *, at_least: int = 16 * 1024) -> Path:
    """Start ``main.py download`` on a trickling server, SIGKILL it once ``at_least`` bytes are on disk.

    Returns the ``.part`` file it left; the trickle is lifted afterwards, so resuming is fast.
    """
    sites.file_state.faults[FILE_PATH] = Fault(trickle=(2048, 0.05))
    part = sites.root / "models" / "Lora" / "pixel_art.safetensors.part"
    env = {**os.environ, **sites.env, "ATELIER_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "download", f"civitai:{VERSION_ID}"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (part.exists() and part.stat().st_size >= at_least):
            assert process.poll() is None, "the download ended before it could be killed"
            assert time.monotonic() < deadline, "the download did not start"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    sites.file_state.wait_until_sent(FILE_PATH)  # the killed connection's last writes count before, not after
    del sites.file_state.faults[FILE_PATH]
    return part
