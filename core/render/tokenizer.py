"""CLIP tokenizer files derived offline from the BPE vocabulary shipped in a PyPI package.

``from_single_file`` needs a ``vocab.json`` and ``merges.txt`` for every CLIP tokenizer, and without
them it goes to the Hugging Face Hub. We do not commit copies of those Hub files: OpenAI's
``bpe_simple_vocab_16e6.txt.gz`` (MIT) is shipped by the ``openai-clip`` package, and the two
transformers files are a pure function of it (the algorithm of ``SimpleTokenizer`` in OpenAI's and
OpenCLIP's ``tokenizer.py``). We find the file through ``importlib.metadata`` because importing those
packages imports torch, and derive into the user cache, because the bundled ``resources`` folder may be
read-only once installed.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urljoin, urlsplit

BPE_FILE_NAME = "bpe_simple_vocab_16e6.txt.gz"
BPE_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
# Distributions known to ship the identical file, in order of preference (openai-clip has no torch deps).
BPE_DISTRIBUTIONS = ("openai-clip", "open-clip-torch", "clip-anytorch")

VOCAB_SIZE = 49408
MERGE_COUNT = 49152 - 256 - 2  # 48 894, the slice SimpleTokenizer keeps
MERGES_HEADER = "#version: 0.2"
TOKENIZER_FILES = ("vocab.json", "merges.txt")
# The derived folder layout changes only with this number (bump it when the derivation changes).
_DERIVATION_VERSION = 1
_COMPLETE_MARKER = ".complete"


class TokenizerVocabMissingError(RuntimeError):
    """The CLIP BPE vocabulary file is not installed (or is not the expected file)."""


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte-to-character table: printable bytes map to themselves, the rest above 255.

    Reproduced (not imported) so that deriving the files never imports torch or transformers.
    """
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _candidate_paths() -> list[Path]:
    """Where installed distributions put the BPE file, found from their RECORD without importing them."""
    found: list[Path] = []
    for dist_name in BPE_DISTRIBUTIONS:
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            continue
        for file in dist.files or ():
            if file.name == BPE_FILE_NAME:
                found.append(Path(str(dist.locate_file(file))))
    return found


def bpe_vocab_path() -> Path:
    """The installed ``bpe_simple_vocab_16e6.txt.gz``, checked against its known SHA-256.

    Raises ``TokenizerVocabMissingError`` naming the package to install when no good copy is found, so
    the renderer fails with an actionable message instead of a Hub download attempt.
    """
    candidates = _candidate_paths()
    bad: list[str] = []
    for path in candidates:
        if not path.is_file():
            bad.append(f"{path} (listed but missing)")
            continue
        if _sha256(path) != BPE_SHA256:
            bad.append(f"{path} (unexpected SHA-256)")
            continue
        return path
    detail = f" Rejected: {'; '.join(bad)}." if bad else ""
    raise TokenizerVocabMissingError(
        f"The CLIP BPE vocabulary ({BPE_FILE_NAME}) was not found. Install the 'openai-clip' package "
        f"(pip install openai-clip==1.0.1), which ships it.{detail}"
    )


def _derive_contents(bpe_path: Path) -> tuple[str, str]:
    """``vocab.json`` and ``merges.txt`` text for the given BPE file (E.7 algorithm)."""
    with gzip.open(bpe_path, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    merges = lines[1 : MERGE_COUNT + 1]
    if len(merges) != MERGE_COUNT:
        raise TokenizerVocabMissingError(f"{bpe_path} holds {len(merges)} merges, expected {MERGE_COUNT}")
    byte_chars = list(_bytes_to_unicode().values())
    tokens = byte_chars + [f"{char}</w>" for char in byte_chars]
    tokens += ["".join(merge.split()) for merge in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: index for index, token in enumerate(tokens)}
    if len(vocab) != VOCAB_SIZE:
        raise TokenizerVocabMissingError(f"derived {len(vocab)} distinct tokens, expected {VOCAB_SIZE}")
    vocab_text = json.dumps(vocab, ensure_ascii=False, separators=(",", ":"))
    merges_text = "\n".join([MERGES_HEADER, *merges]) + "\n"
    return vocab_text, merges_text


def _write_atomic(path: Path, text: str) -> None:
    """Write through a temporary sibling and rename, so readers never see a half-written file."""
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        Path(tmp_name).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp_name).unlink()
        raise


def derive_clip_tokenizer_files(dest_dir: Path, *, bpe_path: Path | None = None) -> None:
    """Write ``vocab.json`` (49 408 tokens) and ``merges.txt`` (48 894 merges) into ``dest_dir``.

    Idempotent: identical files are left untouched; each file is replaced atomically.
    """
    vocab_text, merges_text = _derive_contents(bpe_path or bpe_vocab_path())
    dest_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(dest_dir / "vocab.json", vocab_text)
    _write_atomic(dest_dir / "merges.txt", merges_text)


def _tree_fingerprint(root: Path) -> str:
    """Hash of every file's relative path and bytes, so an app update with new configs gets a new tree."""
    digest = hashlib.sha256(f"derivation-{_DERIVATION_VERSION}\n{BPE_SHA256}\n".encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _tokenizer_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("tokenizer_config.json"))


def ensure_tokenizers(config_root: Path, cache_dir: Path) -> Path:
    """A complete copy of ``config_root`` in ``cache_dir`` with the derived tokenizer files added.

    Every folder holding a ``tokenizer_config.json`` gets ``vocab.json`` and ``merges.txt``. The copy is
    keyed by a fingerprint of ``config_root`` and reused while its completion marker exists; it is built
    in a temporary folder and renamed into place, so an interrupted build never looks complete.
    """
    config_root = config_root.resolve()
    if not config_root.is_dir():
        raise FileNotFoundError(f"diffusers config folder not found: {config_root}")
    target = cache_dir / f"diffusers-configs-{_tree_fingerprint(config_root)[:16]}"
    if (target / _COMPLETE_MARKER).is_file():
        return target
    bpe_path = bpe_vocab_path()
    vocab_text, merges_text = _derive_contents(bpe_path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".diffusers-configs-", dir=cache_dir))
    try:
        tree = build / "tree"
        shutil.copytree(config_root, tree)
        for folder in _tokenizer_dirs(tree):
            (folder / "vocab.json").write_text(vocab_text, encoding="utf-8")
            (folder / "merges.txt").write_text(merges_text, encoding="utf-8")
        (tree / _COMPLETE_MARKER).write_text(bpe_path.name + "\n", encoding="utf-8")
        if target.exists():
            # A stale, incomplete copy (crash before the marker was possible only by manual edits).
            shutil.rmtree(target, ignore_errors=True)
        try:
            tree.replace(target)
        except OSError:
            # Another process finished first; its copy is equivalent.
            if not (target / _COMPLETE_MARKER).is_file():
                raise
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return target


DEFAULT_ENDPOINT = "https://huggingface.co"
FETCH_NOTICE = "Fetching the tokenizer"  # how the one-line notice before a fetch starts
CONNECT_TIMEOUT_S = 4.0  # one short try at the Hub before fetching: no network fails at once


class TokenizerUnavailableError(RuntimeError):
    """A tokenizer is neither cached nor fetchable; the message is one line saying what to do."""


def hub_tokenizer_dir(repo: str, subfolder: str, *, notify: Callable[[str], None] | None = None) -> Path:
    """The local folder of a tokenizer no package ships (T5's, Qwen's): from the Hugging Face cache, or
    fetched into it once (only the tokenizer's files, a few MB) so later renders run offline.

    ``HF_ENDPOINT`` is honoured (a mirror, or the tests' loopback Hub); ``notify`` hears a one-line
    message before anything is downloaded. Raises :class:`TokenizerUnavailableError` when the files are
    not cached and cannot be fetched (no network, ``HF_HUB_OFFLINE``, a mirror without the repository),
    with the repository named.
    """
    from huggingface_hub import snapshot_download

    from core.sources.hf_transport import install_fail_fast_client, token_only_to

    patterns = [f"{subfolder}/*"]
    endpoint = os.environ.get("HF_ENDPOINT") or None
    cache = _hub_cache()
    cached = cached_hub_tokenizer_dir(repo, subfolder)
    if cached is not None:
        return cached
    where = f"{repo}/{subfolder}"
    if hub_offline():
        raise TokenizerUnavailableError(
            f"the tokenizer {where} is not in the Hugging Face cache and HF_HUB_OFFLINE is set: "
            "render once with network access (it is fetched once, a few MB)"
        )
    if notify is not None:
        notify(f"{FETCH_NOTICE} {where} from {hub_endpoint()} (once, a few MB)…")
    unreachable = _unreachable(hub_endpoint())
    if unreachable is not None:  # one short try, not the Hub client's long retry loop
        raise TokenizerUnavailableError(
            f"the tokenizer {where} is not cached and could not be fetched ({unreachable}); "
            "connect to the network once, or set HF_ENDPOINT to a reachable mirror"
        )
    absent = endpoint_lacks(repo, subfolder)
    if absent is not None:  # a mirror without the repository: said as such, not as a Hub client error
        raise TokenizerUnavailableError(
            f"the tokenizer {where} is not cached and could not be fetched ({absent.reason}); {absent.advice}"
        )
    # Atelier's client for the library: the fail-fast retries, and a file cap (HUB_FILE_CAP) so an
    # endpoint that sends an endless "tokenizer" cannot fill the disk; the token only to the endpoint.
    install_fail_fast_client()
    try:
        with token_only_to(hub_endpoint()):
            root = snapshot_download(repo, allow_patterns=patterns, endpoint=endpoint, cache_dir=cache)
    except Exception as error:  # network errors come in many types; the user needs one line
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TokenizerUnavailableError(
            f"the tokenizer {where} is not cached and could not be fetched ({reason}); "
            "connect to the network once, or set HF_ENDPOINT to a reachable mirror"
        ) from error
    folder = Path(root) / subfolder
    if not folder.is_dir():
        raise TokenizerUnavailableError(f"{repo} has no {subfolder} folder: cannot tokenize prompts for it")
    return folder


_PROBE_TTL_S = 15.0  # an endpoint that made a probe wait is not probed again this long
_SLOW_PROBE_S = 0.5  # a probe answered faster (connection refused, no such host) is simply redone
_probes: dict[str, tuple[float, str]] = {}


def fetch_refusal(missing: Sequence[str]) -> str | None:
    """Why tokenizers the Hub cache lacks (``repo/subfolder``) cannot be fetched now, in one line for a
    render plan, said before anything loads: ``HF_HUB_OFFLINE`` is set, the endpoint does not answer
    one short connect, or it answers but does not hold the repository (a mirror that lacks it; see
    :func:`endpoint_lacks`), named with the endpoint. None when there is nothing to fetch or the
    endpoint holds every tokenizer.
    """
    if not missing:
        return None
    endpoint = hub_endpoint()
    names = ", ".join(missing)
    what = (
        f"the tokenizer {names} must be fetched once from {endpoint} and cannot be now"
        if len(missing) == 1
        else f"the tokenizers {names} must be fetched once from {endpoint} and cannot be now"
    )
    if hub_offline():
        return f"{what} (HF_HUB_OFFLINE is set): render once with network access"
    unreachable = _probe(endpoint)
    if unreachable is not None:
        return (
            f"{what} ({unreachable}): connect to the network once, or set HF_ENDPOINT to a reachable mirror"
        )
    absent = [found for where in missing if (found := endpoint_lacks(*split_tokenizer_name(where)))]
    if absent:
        return f"{what} ({'; '.join(a.reason for a in absent)}): {absent[0].advice}"
    return None


def _probe(endpoint: str) -> str | None:
    """:func:`_unreachable` for ``endpoint``. An endpoint that made the probe wait (a dropped connection
    times out after seconds) is remembered as down for :data:`_PROBE_TTL_S` seconds, so a board that
    plans on every change does not wait on it each time; a quick answer is never remembered."""
    started = time.monotonic()
    down = _probes.get(endpoint)
    if down is not None and started - down[0] < _PROBE_TTL_S:
        return down[1]
    result = _unreachable(endpoint)
    if result is not None and time.monotonic() - started >= _SLOW_PROBE_S:
        _probes[endpoint] = (started, result)
    else:
        _probes.pop(endpoint, None)
    return result


PROBE_FILE = "tokenizer_config.json"  # every tokenizer folder transformers reads holds it
_PRESENT_TTL_S = 300.0  # a repository the endpoint holds is not asked about again this long
_MAX_REDIRECTS = 5
# A HEAD's answer: (status, the Hub's X-Error-Code, None), or (None, "", why) when none came.
_Answer = tuple[int | None, str, str | None]
_presence: dict[tuple[str, str, str], tuple[float, float, Absence | None]] = {}


@dataclass(frozen=True, slots=True)
class Absence:
    """Why an endpoint that answers cannot give a tokenizer: ``reason`` names the endpoint and the
    repository (for the parentheses of a refusal), ``advice`` says what to do."""

    reason: str
    advice: str


def split_tokenizer_name(where: str) -> tuple[str, str]:
    """``('Qwen/Qwen-Image', 'tokenizer')`` for ``'Qwen/Qwen-Image/tokenizer'`` (a plan's name for it)."""
    owner, name, subfolder = where.split("/", 2)
    return f"{owner}/{name}", subfolder


def endpoint_lacks(repo: str, subfolder: str) -> Absence | None:
    """Why the Hub endpoint (``HF_ENDPOINT``, a mirror) cannot give ``repo``'s tokenizer, from one HEAD of
    ``/{repo}/resolve/main/{subfolder}/tokenizer_config.json`` with a short timeout; None when it holds
    it. A mirror that lacks the repository answers the plan before the render would fail on it.

    Answers are remembered as the reachability probe's are: a present file for minutes, a refusal for
    :data:`_PROBE_TTL_S` seconds (a board plans on every change), a transport failure only when it
    made the check wait."""
    endpoint = hub_endpoint()
    key = (endpoint, repo, subfolder)
    started = time.monotonic()
    remembered = _presence.get(key)
    if remembered is not None and started - remembered[0] < remembered[1]:
        return remembered[2]
    answer = _head(f"{endpoint}/{repo}/resolve/main/{subfolder}/{PROBE_FILE}")
    status = answer[0]
    absence = None if status is not None and status < 400 else _absence(endpoint, repo, subfolder, answer)
    if absence is None:
        _presence[key] = (started, _PRESENT_TTL_S, None)
    elif status is not None or time.monotonic() - started >= _SLOW_PROBE_S:
        _presence[key] = (started, _PROBE_TTL_S, absence)
    else:
        _presence.pop(key, None)
    return absence


def _absence(endpoint: str, repo: str, subfolder: str, answer: _Answer) -> Absence:
    """The one-line reason and advice for a HEAD that did not find the tokenizer's file."""
    status, code, failure = answer
    mirror = bool(os.environ.get("HF_ENDPOINT")) and endpoint != DEFAULT_ENDPOINT
    where = f"the mirror {endpoint}" if mirror else endpoint
    elsewhere = (
        f"set HF_ENDPOINT to a mirror that holds {repo}, or unset it to fetch from {DEFAULT_ENDPOINT}"
        if mirror
        else f"set HF_ENDPOINT to a mirror that holds {repo}"
    )
    if status is None:
        return Absence(f"{where} did not answer for {repo}: {failure}", "try again, or " + elsewhere)
    if code == "GatedRepo":
        return Absence(
            f"{repo} is gated on {where}", f"accept its terms on the Hub and set HF_TOKEN, or {elsewhere}"
        )
    if code == "EntryNotFound":
        return Absence(f"{where} has no {subfolder}/{PROBE_FILE} in {repo}", elsewhere)
    if code == "RevisionNotFound":
        return Absence(f"{where} has no main revision of {repo}", elsewhere)
    if status == 404 or code == "RepoNotFound":  # the Hub says 401 RepoNotFound for a missing repository
        return Absence(f"{where} has no repository {repo}", elsewhere)
    return Absence(f"{where} answers HTTP {status} for {repo}", "try again later, or " + elsewhere)


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    """Hands a redirect back instead of following it: urllib would follow a HEAD with a GET."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def _head(url: str) -> _Answer:
    """(status, the Hub's X-Error-Code, None) for a HEAD of ``url``, or (None, '', why) when no answer
    came. A redirect to the same host (a renamed repository, the Hub's resolve cache) is followed with
    HEAD; one to another host (a CDN serving the file) means the file is there."""
    from huggingface_hub.utils._headers import build_hf_headers

    opener = urllib.request.build_opener(_KeepRedirects)
    headers = build_hf_headers()  # the user agent and token the fetch itself would send
    for _ in range(_MAX_REDIRECTS):
        request = urllib.request.Request(url, method="HEAD", headers=headers)
        try:
            with opener.open(request, timeout=CONNECT_TIMEOUT_S) as answer:
                return int(answer.status), "", None
        except urllib.error.HTTPError as error:
            status, location = error.code, error.headers.get("Location")
            code = error.headers.get("X-Error-Code", "")
            error.close()
            if not 300 <= status < 400 or not location:
                return status, code, None
            target = urljoin(url, location)
            if urlsplit(target).netloc != urlsplit(url).netloc:
                return status, code, None
            url = target
        except (OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            text = (
                "timed out"
                if isinstance(reason, TimeoutError)
                else str(reason).strip() or type(error).__name__
            )
            return None, "", text
    return None, "", f"more than {_MAX_REDIRECTS} redirects"


def cached_hub_tokenizer_dir(repo: str, subfolder: str) -> Path | None:
    """The tokenizer's folder in the Hugging Face cache, or None when it was never fetched (no network)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        root = snapshot_download(
            repo, allow_patterns=[f"{subfolder}/*"], local_files_only=True, cache_dir=_hub_cache()
        )
    except LocalEntryNotFoundError:
        return None
    folder = Path(root) / subfolder
    return folder if folder.is_dir() else None


def hub_endpoint() -> str:
    """Where a tokenizer is fetched from: ``HF_ENDPOINT`` (a mirror, the tests' loopback Hub) or the Hub."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` forbids fetching (read now, not at huggingface_hub's import)."""
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    return bool(constants.HF_HUB_OFFLINE) or flag


def _unreachable(endpoint: str, timeout: float = CONNECT_TIMEOUT_S) -> str | None:
    """Why ``endpoint`` cannot be reached in one short TCP connect (None: it answers, or a proxy is set
    and decides). Without it, the Hub client retries an unreachable host for about 40 seconds."""
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")):
        return None
    parsed = urlsplit(endpoint)
    host = parsed.hostname
    if not host:
        return f"{endpoint} is not a URL"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as error:
        reason = (
            error.strerror or type(error).__name__ if not isinstance(error, TimeoutError) else "timed out"
        )
        return f"{host}:{port} unreachable: {reason}"


def _hub_cache() -> str | None:
    """The Hub cache folder as the environment names it now (huggingface_hub reads it only at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None
