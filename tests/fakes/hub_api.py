"""A fake Hugging Face Hub on the loopback server, good enough for huggingface_hub's ``HfApi``.

It follows the contract in FORMATS-AND-APIS.md B.6: ``/api/models`` (search/author/filter/sort/limit/expand,
``Link: rel="next"`` paging), ``/api/models/{id}[/revision/{rev}]`` (file sizes and LFS only with
``blobs=true``, like the real Hub), ``/api/models/{id}/tree/{rev}[/{path}]``, and HEAD/GET
``/{id}/resolve/{rev}/{path}`` with ``X-Repo-Commit``, ``ETag``/``X-Linked-Etag`` (sha256 for LFS),
``X-Linked-Size`` and Range. Errors carry ``X-Error-Code`` so the library raises its typed exceptions.
Gated repositories answer their model info freely but refuse file downloads without the right token,
as huggingface.co does. ``FakeRepo.redirects`` sends a file's ``/resolve/`` to another URL with a 302
that carries the file's metadata headers, as the real Hub does for LFS files (to its CDN). Everything
else (``/api/agent-harnesses`` included) is a plain 404.

Repositories come from real payloads (``siblings`` list sizes and LFS sha256 of files too big to serve);
``contents`` gives some files real bytes, whose size and hashes then replace the payload's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from tests.fakes.server import FakeHandler, FakeServer

LFS_SUFFIXES = frozenset(
    {".safetensors", ".ckpt", ".bin", ".pt", ".pth", ".gguf", ".sft", ".onnx", ".onnx_data", ".png", ".jpg"}
)
# Keys the real Hub returns for a list item when no ``expand`` is given.
DEFAULT_LIST_KEYS = ("_id", "id", "modelId", "likes", "private", "downloads", "tags", "pipeline_tag",
                     "library_name", "createdAt")  # fmt: skip


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class FakeRepo:
    """One model repository; ``gated_token`` set means gated, readable only with that bearer token."""

    info: dict[str, Any]
    contents: dict[str, bytes] = field(default_factory=dict)
    gated_token: str | None = None
    redirects: dict[str, str] = field(default_factory=dict)  # file path -> URL its /resolve/ redirects to

    def __post_init__(self) -> None:
        siblings = {s["rfilename"]: dict(s) for s in self.info.get("siblings") or ()}
        for path, data in self.contents.items():
            sibling: dict[str, Any] = {"rfilename": path, "size": len(data), "blobId": git_blob_sha1(data)}
            if PurePosixPath(path).suffix.lower() in LFS_SUFFIXES:
                sibling["lfs"] = {
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                    "pointerSize": 130,
                }
            siblings[path] = sibling
        self.info = {**self.info, "siblings": list(siblings.values())}
        if self.gated_token is not None and not self.info.get("gated"):
            self.info["gated"] = "manual"

    @property
    def repo_id(self) -> str:
        return str(self.info["id"])

    @property
    def sha(self) -> str:
        return str(self.info.get("sha") or "0" * 40)

    def sibling(self, path: str) -> dict[str, Any] | None:
        return next((s for s in self.info["siblings"] if s["rfilename"] == path), None)


@dataclass
class HubState:
    repos: dict[str, FakeRepo] = field(default_factory=dict)
    page_size: int = 1000  # the real Hub pages /api/models by 1000 at most
    extra_models: list[dict[str, Any]] = field(default_factory=list)  # list-only items (no repository)
    fail_status: int | None = None  # answer every request with this status (e.g. 429, 503)

    def add(self, info: dict[str, Any], contents: dict[str, bytes] | None = None,
            gated_token: str | None = None) -> FakeRepo:  # fmt: skip
        repo = FakeRepo(info=info, contents=dict(contents or {}), gated_token=gated_token)
        self.repos[repo.repo_id] = repo
        return repo

    def list_items(self) -> list[dict[str, Any]]:
        return [repo.info for repo in self.repos.values()] + self.extra_models


class HubHandler(FakeHandler):
    server: FakeServer

    @property
    def state(self) -> HubState:
        state: HubState = self.server.state
        return state

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self.record()
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        parts = [unquote(p) for p in split.path.strip("/").split("/")]
        if self.state.fail_status is not None:
            self.send_json({"error": "failure"}, status=self.state.fail_status)
        elif parts == ["api", "models"]:
            self._list_models(query)
        elif len(parts) >= 4 and parts[:2] == ["api", "models"]:
            self._api_repo(parts[2:], query)
        elif len(parts) >= 5 and parts[2] == "resolve":
            self._resolve(parts)
        else:
            self.send_json({"error": "Not Found"}, status=404)

    # -- /api/models ------------------------------------------------------------------------------------

    def _list_models(self, query: dict[str, list[str]]) -> None:
        items = self.state.list_items()
        if search := query.get("search", [""])[0].lower():
            items = [m for m in items if search in str(m["id"]).lower()]
        if author := query.get("author", [""])[0]:
            items = [m for m in items if str(m["id"]).split("/")[0] == author]
        for tag in query.get("filter", []):
            items = [m for m in items if tag in (m.get("tags") or ()) or tag == m.get("library_name")]
        sort = query.get("sort", [""])[0]
        if sort:
            items = sorted(items, key=lambda m: m.get(sort) or 0, reverse=True)
        limit = int(query.get("limit", ["0"])[0]) or self.state.page_size
        page_size = min(limit, self.state.page_size)
        cursor = int(query.get("cursor", ["0"])[0])
        page = items[cursor : cursor + page_size]
        expand = query.get("expand", []) + query.get("expand[]", [])
        keys = ("id", *expand) if expand else DEFAULT_LIST_KEYS
        body = [{k: m[k] for k in keys if k in m} for m in page]
        headers: dict[str, str] = {}
        if cursor + page_size < len(items):
            next_query = {k: v for k, v in query.items() if k != "cursor"} | {
                "cursor": [str(cursor + page_size)]
            }
            headers["Link"] = (
                f'<{self.server.base_url}/api/models?{urlencode(next_query, doseq=True)}>; rel="next"'
            )
        self.send_json(body, headers=headers)

    def _api_repo(self, rest: list[str], query: dict[str, list[str]]) -> None:
        repo = self.state.repos.get("/".join(rest[:2]))
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return
        tail = rest[2:]
        if not tail or tail[0] == "revision":
            revision = "/".join(tail[1:]) if tail else "main"
            if not self._revision_ok(repo, revision):
                return
            info = dict(repo.info)
            if query.get("blobs", ["false"])[0].lower() != "true":
                info["siblings"] = [{"rfilename": s["rfilename"]} for s in info["siblings"]]
            self.send_json(info)
        elif tail[0] == "tree" and len(tail) >= 2:
            if not self._revision_ok(repo, tail[1]):
                return
            recursive = query.get("recursive", ["false"])[0].lower() == "true"
            self._tree(repo, "/".join(tail[2:]), recursive)
        else:
            self.send_json({"error": "Not Found"}, status=404)

    def _tree(self, repo: FakeRepo, prefix: str, recursive: bool) -> None:
        base = f"{prefix}/" if prefix else ""
        files = [s for s in repo.info["siblings"] if s["rfilename"].startswith(base)]
        if prefix and not files:
            self._error(404, "EntryNotFound", f"{prefix} does not exist", repo)
            return
        entries: dict[str, dict[str, Any]] = {}
        for s in files:
            relative = s["rfilename"][len(base) :].split("/")
            for depth in range(1, len(relative)):
                folder = base + "/".join(relative[:depth])
                if recursive or depth == 1:
                    entries.setdefault(folder, {"type": "directory", "path": folder, "oid": "d" * 40})
            if recursive or len(relative) == 1:
                entry: dict[str, Any] = {"type": "file", "path": s["rfilename"], "size": s.get("size", 0),
                                         "oid": s.get("blobId") or "0" * 40}  # fmt: skip
                if s.get("lfs"):
                    lfs = s["lfs"]
                    entry["size"] = lfs["size"]
                    entry["lfs"] = {
                        "oid": lfs["sha256"],
                        "size": lfs["size"],
                        "pointerSize": lfs["pointerSize"],
                    }
                entries[s["rfilename"]] = entry
        self.send_json(list(entries.values()))

    # -- /{org}/{name}/resolve/{rev}/{path} -------------------------------------------------------------

    def _resolve(self, parts: list[str]) -> None:
        repo = self.state.repos.get("/".join(parts[:2]))
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return
        if repo.gated_token is not None:
            auth = self.headers.get("Authorization", "")
            if auth != f"Bearer {repo.gated_token}":
                status = 403 if auth else 401
                self._error(status, "GatedRepo", f"Access to model {repo.repo_id} is restricted.", repo)
                return
        revision, path = parts[3], "/".join(parts[4:])
        if not self._revision_ok(repo, revision):
            return
        sibling = repo.sibling(path)
        data = repo.contents.get(path)
        if sibling is None or (data is None and self.command == "GET"):
            self._error(404, "EntryNotFound", f"{path} does not exist", repo)
            return
        lfs = sibling.get("lfs")
        size = lfs["size"] if lfs else sibling.get("size", 0)
        headers = {"X-Repo-Commit": repo.sha, "Accept-Ranges": "bytes", "ETag": f'"{sibling.get("blobId")}"'}
        if lfs:
            headers |= {
                "ETag": f'"{lfs["sha256"]}"',
                "X-Linked-Etag": f'"{lfs["sha256"]}"',
                "X-Linked-Size": str(size),
            }
        if path in repo.redirects:
            self.send_response(302)
            for key, value in (headers | {"Location": repo.redirects[path], "Content-Length": "0"}).items():
                self.send_header(key, value)
            self.end_headers()
            return
        body = data or b""
        status, start = 200, 0
        range_header = self.headers.get("Range", "")
        if data is not None and range_header.startswith("bytes="):
            first, _, last = range_header.removeprefix("bytes=").partition("-")
            start = int(first or 0)
            end = int(last) if last else len(data) - 1
            body = data[start : end + 1]
            status = 206
            headers["Content-Range"] = f"bytes {start}-{start + len(body) - 1}/{len(data)}"
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) if data is not None else size))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)

    # -- helpers ----------------------------------------------------------------------------------------

    def _revision_ok(self, repo: FakeRepo, revision: str) -> bool:
        if revision in ("main", repo.sha):
            return True
        self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", repo)
        return False

    def _error(self, status: int, code: str, message: str, repo: FakeRepo | None = None) -> None:
        headers = {"X-Error-Code": code, "X-Error-Message": message}
        if repo is not None:
            headers["X-Repo-Commit"] = repo.sha
        self.send_json({"error": message}, status=status, headers=headers)


def load_payload(path: str) -> dict[str, Any]:
    """Helper for tests: a captured Hub payload as a fresh dict (FakeRepo copies nothing deeply)."""
    with open(path, encoding="utf-8") as handle:
        payload: dict[str, Any] = json.load(handle)
    return payload


def resolve_path(repo_id: str, path: str, revision: str = "main") -> str:
    """The request path HfApi uses for a file (for matching ``server.requests``)."""
    return f"/{repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"
