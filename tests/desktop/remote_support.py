"""Loopback Civitai, Hugging Face and file servers wired into ``RemoteServices`` for the desktop tests.

The services come from a real ``AppContext`` on the populated library's data dir, through
``desktop.launch.build_services`` as the app composes them; only the settings point at the loopback
servers and tokens go to a file in the profile (never the developer's keyring).

The Civitai reference payloads point their images at ``imagecache.civitai.com``; here every image URL
is rewritten to a PNG on a loopback file server, and one LoRA file's download URL, size and SHA-256
are replaced by a small real safetensors file served there too, so a download runs end to end.
CharTurner V1's file gets the SHA-256 of the populated library's ``pixelArtStyle`` so the library "has"
an older version of that model.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QColor, QImage, QPainter

from app.context import AppContext
from app.live_settings import LiveSettings
from app.secrets import TokenStore
from catalog.download_store import SqlDownloadStore
from catalog.library import Library
from catalog.records import RootRecord
from core.taxonomy import LibraryLayout
from desktop.launch import build_services
from desktop.services import RemoteServices
from tests.factory.models import kohya_lora, write_case
from tests.fakes.civitai_api import CivitaiState, fake_civitai
from tests.fakes.file_server import FileServerState, serve_files
from tests.fakes.hub_api import HubHandler, HubState
from tests.fakes.server import FakeServer, serve

OWNED_SHA256 = "A" * 64  # pixelArtStyle's SHA-256 in the populated library
CHARTURNER_ID, CHARTURNER_V1 = 3036, 3334
ULZZANG_ID = 8109  # NSFW model whose first image is level 4 (R)
LORA_MODEL_ID, LORA_VERSION_ID, LORA_FILE_ID = 215485, 242807, 187907
HF_LORA_REPO = "someone/pixel-lora"


def pattern_png(seed: int, size: int = 96) -> bytes:
    """A PNG with sharp stripes: blurring it visibly changes its pixels."""
    image = QImage(size, size, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    for x in range(0, size, 4):
        painter.fillRect(x, 0, 2, size, QColor.fromHsv((seed * 40 + x) % 360, 255, 200))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def _rewrite(state: CivitaiState, files: FileServerState, base: str, lora: bytes) -> None:
    counter = 0
    for model in state.models.values():
        for version in model.get("modelVersions", []):
            for image in version.get("images", []):
                counter += 1
                path = files.add(f"/img/{counter}.png", pattern_png(counter))
                image["url"] = base + path
            if version["id"] == CHARTURNER_V1:
                version["files"][0]["hashes"] = {"SHA256": OWNED_SHA256}
            if version["id"] == LORA_VERSION_ID:
                file = version["files"][0]
                file["hashes"] = {"SHA256": hashlib.sha256(lora).hexdigest().upper()}
                file["sizeKB"] = len(lora) / 1024
                file["downloadUrl"] = base + files.add("/files/sd_xl_turbo_lora_v1.safetensors", lora)
    for model_id in list(state.models):
        state.add_model(copy.deepcopy(state.models[model_id]))  # refresh the standalone versions


def lora_bytes(tmp: Path) -> bytes:
    return write_case(kohya_lora("sd1", rank=1), tmp).read_bytes()


@dataclass
class RemoteEnv:
    civitai: FakeServer
    hub: FakeServer
    files: FakeServer
    file_state: FileServerState
    library: Library
    a1111_root: RootRecord
    settings: LiveSettings
    remote: RemoteServices
    store: SqlDownloadStore
    lora: bytes
    context: AppContext
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def remote_env(library: Library, tmp: Path) -> Iterator[RemoteEnv]:
    """The three loopback servers and a ``RemoteServices`` over them, downloads into an A1111 root."""
    lora = lora_bytes(tmp / "factory")
    with ExitStack() as stack:
        files, file_state = stack.enter_context(serve_files())
        state = CivitaiState.from_reference()
        _rewrite(state, file_state, files.base_url, lora)
        civitai = stack.enter_context(fake_civitai(state))
        hub_state = HubState()
        hub_state.add(
            {"id": HF_LORA_REPO, "sha": "b" * 40, "downloads": 42, "likes": 3, "tags": ["lora", "diffusers"]},
            contents={"pixel_lora.safetensors": lora, "README.md": b"# pixel lora"},
        )
        hub_state.add({"id": "someone/other", "sha": "c" * 40, "tags": ["text-generation"]})
        hub = stack.enter_context(serve(HubHandler, hub_state))
        root_dir = tmp / "a1111"
        (root_dir / "models" / "Lora").mkdir(parents=True)
        root = library.add_root(root_dir, LibraryLayout.A1111)
        context = AppContext(library.path.parent, tokens=TokenStore(tmp / "profile", use_keyring=False))
        stack.callback(context.close)
        settings = context.settings
        settings.civitai_base_url = civitai.base_url
        settings.hf_endpoint = hub.base_url
        settings.download_root = str(root_dir)
        settings.nsfw_max_level = 1
        settings.hash_in_background = False
        settings.watch_folders = False
        settings.first_start_done = True
        remote = build_services(context).remote
        assert remote is not None
        store = context.downloads.store
        yield RemoteEnv(
            civitai, hub, files, file_state, library, root, settings, remote, store, lora, context
        )


def scanning_services(remote: RemoteEnv, make_services: Any, **overrides: object) -> Any:
    """``DesktopServices`` on the loopback sites whose scan is the real ``Scanner`` over the library (what a
    landing download's rescan and F5 run), with ``overrides`` (a real hashing job, say)."""
    from catalog.scanner import Scanner

    library = remote.library

    def scan(ids: Any, progress: Any, cancel: Any) -> object:
        return Scanner(library, progress=progress, cancel=cancel).scan(ids)

    settings, sites = remote.settings, remote.remote
    return make_services(library, settings=settings, scan_roots=scan, remote=sites, **overrides)


def downloads_tab(window: Any) -> Any:
    """The window's Downloads tab, made the current tab (as a click on it does)."""
    tab = window.downloads_tab
    assert tab is not None
    assert window.tabs is not None
    window.tabs.setCurrentWidget(tab)
    return tab
