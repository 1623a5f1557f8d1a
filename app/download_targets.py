"""What ``download`` accepts, parsed without touching the network.

- ``civitai:VERSION_ID`` or ``civitai:VERSION_ID:FILE_ID``
- a file's hash as A1111 infotext and the render plan show it (AutoV2 ``1a2b3c4d5e``, AutoV3, AutoV1,
  CRC32, SHA-256 or BLAKE3): the Civitai version whose file has it (``GET /model-versions/by-hash``)
- a Civitai page or download URL on any Civitai host or mirror:
  ``https://civitai.com/models/4201/name?modelVersionId=130072``, ``https://civitai.red/models/4201``
  (its newest version), ``https://civitai.com/api/download/models/130072``
- ``hf:ORG/NAME[@REVISION]/PATH/IN/REPO`` (the repo id is always ``org/name``)
- a Hugging Face file URL, as the browser shows it or as its download link, on huggingface.co or the
  configured endpoint (a mirror): ``https://huggingface.co/ORG/NAME/blob/REVISION/PATH/IN/REPO`` or
  ``…/resolve/REVISION/PATH``; a revision with slashes (``refs/pr/1``) comes percent-encoded
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from core.errors import AtelierError


class TargetError(AtelierError, ValueError):
    """The text is not a download target; the message says what is expected (an expected failure: one
    line, never a traceback)."""


@dataclass(frozen=True, slots=True)
class CivitaiTarget:
    version_id: int | None  # None: the model's newest version, or the version ``file_hash`` finds
    model_id: int | None = None
    file_id: int | None = None
    file_hash: str | None = None  # upper-case hex; Civitai finds the version by it


@dataclass(frozen=True, slots=True)
class HfTarget:
    repo_id: str
    path: str
    revision: str = "main"


Target = CivitaiTarget | HfTarget

_MODEL_PAGE = re.compile(r"^/models/(\d+)(?:/[^/]*)?/?$")
_DOWNLOAD = re.compile(r"^/api/download/models/(\d+)/?$")
_EXPECTED = (
    "expected civitai:VERSION_ID[:FILE_ID], a Civitai model or download URL, a Hugging Face file URL, "
    "hf:ORG/NAME[@REV]/PATH, or a file hash (10 hex digits as A1111 shows it, or a SHA-256)"
)
# The hashes Civitai looks files up by, by length: CRC32 and AutoV1 (8), AutoV2 (10), AutoV3 (12),
# SHA-256 and BLAKE3 (64). A version id is no hash: it needs ``civitai:`` before it.
_FILE_HASH = re.compile(r"^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{10}|[0-9A-Fa-f]{12}|[0-9A-Fa-f]{64})$")
HF_HOSTS = ("huggingface.co", "www.huggingface.co", "hf.co")
_HF_FILE = re.compile(r"^/([^/]+)/([^/]+)/(?:blob|resolve)/([^/]+)/(.+)$")
_HF_REPO = re.compile(r"^/([^/]+)/([^/]+)(?:/(?:tree|blob|resolve)(?:/.*)?)?/?$")


def parse_target(text: str, *, hf_endpoint: str | None = None) -> Target:
    """The target ``text`` names; ``hf_endpoint`` (else ``$HF_ENDPOINT``) is a Hub mirror whose file
    URLs are taken like huggingface.co's."""
    text = text.strip()
    if text.startswith("civitai:"):
        return _civitai_ids(text.removeprefix("civitai:"))
    if text.startswith("hf:"):
        return _hf(text.removeprefix("hf:"))
    if text.startswith(("http://", "https://")):
        hf_path = _hf_path(text, hf_endpoint or os.environ.get("HF_ENDPOINT"))
        on_hub = (urlsplit(text).hostname or "").lower() in HF_HOSTS
        if hf_path is not None and (on_hub or _HF_FILE.match(hf_path)):
            return _hf_url(text, hf_path)
        return _civitai_url(text)
    if _FILE_HASH.match(text):
        return CivitaiTarget(version_id=None, file_hash=text.upper())
    raise TargetError(f"{text!r}: {_EXPECTED}")


def _hf_path(url: str, endpoint: str | None) -> str | None:
    """The URL's path inside the Hub when it is on huggingface.co or on ``endpoint``, else None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in HF_HOSTS:
        return parts.path
    if endpoint:
        base = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        prefix = base.path.rstrip("/")
        same_host = host == (base.hostname or "").lower() and parts.port == base.port
        if same_host and parts.path.startswith(prefix + "/"):
            return parts.path[len(prefix) :]
    return None


def _hf_url(url: str, path: str) -> HfTarget:
    found = _HF_FILE.match(path)
    if found is None:
        if _HF_REPO.match(path):
            raise TargetError(
                f"{url}: a Hugging Face repository, not a file: open the file on its page and paste "
                "that link (…/blob/main/FILE)"
            )
        raise TargetError(f"{url}: not a Hugging Face file URL (…/ORG/NAME/blob/REVISION/PATH)")
    org, name, revision, file_path = (unquote(group) for group in found.groups())
    if ".." in file_path.split("/") or not all(file_path.split("/")):
        raise TargetError(f"{url}: not a Hugging Face file URL (…/ORG/NAME/blob/REVISION/PATH)")
    return HfTarget(repo_id=f"{org}/{name}", path=file_path, revision=revision)


def _civitai_ids(rest: str) -> CivitaiTarget:
    parts = rest.split(":")
    if not 1 <= len(parts) <= 2 or not all(p.isdigit() for p in parts):
        raise TargetError(f"civitai:{rest}: expected civitai:VERSION_ID or civitai:VERSION_ID:FILE_ID")
    return CivitaiTarget(version_id=int(parts[0]), file_id=int(parts[1]) if len(parts) == 2 else None)


def _civitai_url(url: str) -> CivitaiTarget:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    download = _DOWNLOAD.match(parts.path)
    if download:
        return CivitaiTarget(version_id=int(download.group(1)))
    page = _MODEL_PAGE.match(parts.path)
    if page:
        version = query.get("modelVersionId", [None])[0]
        if version is not None and not version.isdigit():
            raise TargetError(f"{url}: modelVersionId must be a number")
        return CivitaiTarget(version_id=int(version) if version else None, model_id=int(page.group(1)))
    raise TargetError(
        f"{url}: not a Civitai model page (/models/ID) or download (/api/download/models/ID) URL, "
        "nor a Hugging Face file URL (…/ORG/NAME/blob/REVISION/PATH)"
    )


def _hf(rest: str) -> HfTarget:
    segments = rest.split("/")
    if len(segments) < 3 or not all(segments):
        raise TargetError(f"hf:{rest}: expected hf:ORG/NAME[@REV]/PATH")
    org, name_rev, path = segments[0], segments[1], "/".join(segments[2:])
    name, _, revision = name_rev.partition("@")
    if not name or ".." in segments:
        raise TargetError(f"hf:{rest}: expected hf:ORG/NAME[@REV]/PATH")
    return HfTarget(repo_id=f"{org}/{name}", path=path, revision=revision or "main")
