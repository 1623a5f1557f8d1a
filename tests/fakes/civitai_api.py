"""A fake Civitai API v1 on the loopback server, serving the real payloads of ``tests/data/civitai``.

Routes: ``GET /api/v1/models`` (query, tag, username, types, baseModels, sort, period, nsfw, limit and
cursor paging with ``metadata.nextCursor``; ``page`` with ``query`` is a 400 as on the real site),
``/api/v1/models/{id}``, ``/api/v1/model-versions/{id}``, ``GET /api/v1/model-versions/by-hash/{hash}``
(any stored hash kind, case-insensitive), ``POST /api/v1/model-versions/by-hash`` (<=100 SHA-256),
``/api/v1/images`` and ``/api/v1/tags``; ``GET /api/download/models/{id}`` answers 307 to the URL set in
``CivitaiState.downloads`` (the real site redirects to a signed storage URL on another host).

Fault switches live on ``CivitaiState`` so a test can flip them while the server runs: ``fail_next``
queues error responses for the next requests (429 with or without Retry-After, 500...), ``id_errors``
answers a given model/version id with a status and body (401, 403 Early Access, 404, 410), and
``html_next`` serves a login page instead of JSON.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.server import FakeHandler, FakeServer, serve

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "civitai"
LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in | Civitai</title></head><body>Log in</body></html>"


def load_payload(name: str) -> Any:
    """A reference payload from ``tests/data/civitai`` (a fresh copy each call)."""
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


@dataclass
class CivitaiState:
    models: dict[int, dict[str, Any]] = field(default_factory=dict)
    versions: dict[int, dict[str, Any]] = field(default_factory=dict)
    images: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # version id -> /images items
    tags: list[dict[str, Any]] = field(default_factory=list)
    # (status, headers, body) answered to the next requests, whatever they ask for
    failures: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    id_errors: dict[int, tuple[int, Any]] = field(default_factory=dict)
    html_next: int = 0
    post_bodies: list[list[Any]] = field(default_factory=list)
    downloads: dict[int, str] = field(default_factory=dict)  # version id -> where its download redirects
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_model(self, payload: dict[str, Any]) -> None:
        """Store a model and, as ``/model-versions`` would show them, each of its versions."""
        self.models[payload["id"]] = payload
        summary = {k: payload.get(k) for k in ("name", "type", "nsfw", "poi")}
        for version in payload.get("modelVersions", []):
            standalone = copy.deepcopy(version)
            standalone.setdefault("modelId", payload["id"])
            standalone["model"] = summary
            self.versions[standalone["id"]] = standalone

    def fail_next(
        self, status: int, count: int = 1, *, retry_after: str | None = None, body: Any = None
    ) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self.lock:
            self.failures.extend([(status, headers, body or {"error": f"fake {status}"})] * count)

    @classmethod
    def from_reference(cls) -> CivitaiState:
        """Five models (3 embeddings, a checkpoint, a LoRA), a standalone version, images and tags."""
        state = cls()
        for model in load_payload("03_models.json")["items"]:
            state.add_model(model)
        state.add_model(load_payload("04_models_modelId.json"))
        state.add_model(load_payload("RepoCivitaiModelMetadata1.json"))
        state.versions[1318] = load_payload("05_models_versions_modelVersionId.json")
        first = load_payload("02_images.json")["items"][0]
        second = {**copy.deepcopy(first), "id": first["id"] + 1, "nsfwLevel": "X", "browsingLevel": 8}
        state.images[1318] = [first, second]
        state.tags = load_payload("06_tags.json")["items"]
        return state


def _all_hashes(version: dict[str, Any]) -> set[str]:
    return {
        str(digest).upper() for f in version.get("files", []) for digest in (f.get("hashes") or {}).values()
    }


def _tag_names(model: dict[str, Any]) -> list[str]:
    return [t if isinstance(t, str) else t.get("name", "") for t in model.get("tags", [])]


def _newest(model: dict[str, Any]) -> str:
    return max((v.get("createdAt") or "" for v in model.get("modelVersions", [])), default="")


class CivitaiHandler(FakeHandler):
    server: FakeServer

    @property
    def state(self) -> CivitaiState:
        state: CivitaiState = self.server.state
        return state

    def send_html(self, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(LOGIN_PAGE)))
        self.end_headers()
        self.wfile.write(LOGIN_PAGE)

    def _injected(self) -> bool:
        with self.state.lock:
            failure = self.state.failures.pop(0) if self.state.failures else None
            html = self.state.html_next > 0
            if failure is None and html:
                self.state.html_next -= 1
        if failure is not None:
            status, headers, body = failure
            self.send_json(body, status, headers)
            return True
        if html:
            self.send_html()
            return True
        return False

    def _by_id(self, table: dict[int, dict[str, Any]], raw_id: str, kind: str) -> None:
        if not raw_id.isdigit():
            self.send_json({"error": f"Invalid {kind} id"}, 400)
            return
        item_id = int(raw_id)
        if item_id in self.state.id_errors:
            status, body = self.state.id_errors[item_id]
            self.send_json(body, status)
        elif item_id in table:
            self.send_json(table[item_id])
        else:
            self.send_json({"error": f"No {kind} with id {item_id}"}, 404)

    def do_GET(self) -> None:
        self.record()
        if self._injected():
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [unquote(p) for p in url.path.split("/") if p]
        if parts[:3] == ["api", "download", "models"] and len(parts) == 4 and parts[3].isdigit():
            self._download(int(parts[3]))
            return
        if parts[:2] != ["api", "v1"]:
            self.send_html(404)
            return
        route = parts[2:]
        if route == ["models"]:
            self._models(query)
        elif len(route) == 2 and route[0] == "models":
            self._by_id(self.state.models, route[1], "model")
        elif len(route) == 3 and route[:2] == ["model-versions", "by-hash"]:
            digest = route[2].upper()
            match = next((v for v in self.state.versions.values() if digest in _all_hashes(v)), None)
            if match is None:
                self.send_json({"error": f"Model not found for hash {route[2]}"}, 404)
            else:
                self.send_json(match)
        elif len(route) == 2 and route[0] == "model-versions":
            self._by_id(self.state.versions, route[1], "model version")
        elif route == ["images"]:
            self._images(query)
        elif route == ["tags"]:
            self._tags(query)
        else:
            self.send_json({"error": "Not found"}, 404)

    def _download(self, version_id: int) -> None:
        """307 to the version's file, as civitai.com does (to its signed storage URL)."""
        location = self.state.downloads.get(version_id)
        if location is None:
            self.send_json({"error": "Not found"}, 404)
            return
        self.send_response(307)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        self.record()
        body = self.read_body()
        if self._injected():
            return
        if urlsplit(self.path).path != "/api/v1/model-versions/by-hash":
            self.send_json({"error": "Not found"}, 404)
            return
        try:
            hashes = json.loads(body)
        except ValueError:
            self.send_json({"error": "Invalid JSON"}, 400)
            return
        if not isinstance(hashes, list) or len(hashes) > 100:
            self.send_json({"error": "Too many hashes (max 100)"}, 400)
            return
        if any(not isinstance(h, str) or len(h) != 64 for h in hashes):
            self.send_json({"error": "Invalid hash: SHA256 expected"}, 400)
            return
        with self.state.lock:
            self.state.post_bodies.append(hashes)
        wanted = {h.upper() for h in hashes}
        matched = [v for v in self.state.versions.values() if wanted & _all_hashes(v)]
        self.send_json(matched)

    def _page(
        self, items: list[Any], query: dict[str, list[str]], default_limit: int, max_limit: int
    ) -> None:
        try:
            limit = int(query.get("limit", [str(default_limit)])[0])
            offset = int(query.get("cursor", ["0"])[0].split("|")[0])
        except ValueError:
            self.send_json({"error": "Invalid limit or cursor"}, 400)
            return
        if not 1 <= limit <= max_limit:
            self.send_json({"error": f"limit must be between 1 and {max_limit}"}, 400)
            return
        page = items[offset : offset + limit]
        metadata: dict[str, Any] = {"pageSize": limit}
        if offset + limit < len(items):
            metadata["nextCursor"] = f"{offset + limit}|{len(items)}"  # opaque, shaped like Civitai's
        self.send_json({"items": page, "metadata": metadata})

    def _models(self, query: dict[str, list[str]]) -> None:
        if "page" in query and "query" in query:
            self.send_json(
                {"error": "Cannot use page param with query search. Use cursor-based pagination."}, 400
            )
            return
        models = list(self.state.models.values())
        if "ids" in query:
            wanted = {int(i) for value in query["ids"] for i in value.split(",") if i}
            models = [m for m in models if m["id"] in wanted]
        text = query.get("query", [""])[0].lower()
        if text:
            models = [m for m in models if text in m["name"].lower()]
        if "tag" in query:
            tag = query["tag"][0].lower()
            models = [m for m in models if tag in (t.lower() for t in _tag_names(m))]
        if "username" in query:
            user = query["username"][0].lower()
            models = [m for m in models if (m.get("creator") or {}).get("username", "").lower() == user]
        if "types" in query:
            types = {t for value in query["types"] for t in value.split(",")}
            models = [m for m in models if m.get("type") in types]
        if "baseModels" in query:
            bases = set(query["baseModels"])
            models = [
                m for m in models if any(v.get("baseModel") in bases for v in m.get("modelVersions", []))
            ]
        if query.get("nsfw", ["false"])[0] == "false":
            models = [m for m in models if not m.get("nsfw")]
        sort = query.get("sort", [""])[0]
        if sort == "Newest":
            models.sort(key=_newest, reverse=True)
        elif sort == "Most Downloaded":
            models.sort(key=lambda m: (m.get("stats") or {}).get("downloadCount", 0), reverse=True)
        self._page(models, query, 100, 100)

    def _images(self, query: dict[str, list[str]]) -> None:
        version_id = query.get("modelVersionId", [""])[0]
        items = self.state.images.get(int(version_id), []) if version_id.isdigit() else []
        if "browsingLevel" in query:
            level = int(query["browsingLevel"][0])
            items = [i for i in items if i.get("browsingLevel", 1) & level]
        self._page(items, query, 50, 200)

    def _tags(self, query: dict[str, list[str]]) -> None:
        text = query.get("query", [""])[0].lower()
        items = [t for t in self.state.tags if text in t["name"].lower()]
        self._page(items, query, 20, 200)


@contextmanager
def fake_civitai(state: CivitaiState | None = None) -> Iterator[FakeServer]:
    """Run the fake with the reference data (or ``state``); ``server.base_url`` is the client base URL."""
    with serve(CivitaiHandler, state if state is not None else CivitaiState.from_reference()) as server:
        yield server
