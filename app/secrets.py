"""API tokens for Civitai and Hugging Face: never in the catalog, never in settings.json, never logged.

Resolution order: the environment (``ATELIER_CIVITAI_TOKEN``, ``HF_TOKEN``) so scripts and tests can pass
them without touching the user's store; then a ``tokens.json`` in the data dir that only the user can read
(mode 0600), which holds a token only when no keyring could take it; then the OS keyring when a real
backend is available (where tokens are stored when it is).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol, cast

log = logging.getLogger(__name__)

SERVICE = "Atelier"
SITES = ("civitai", "huggingface")
ENV_VARS = {"civitai": "ATELIER_CIVITAI_TOKEN", "huggingface": "HF_TOKEN"}
# A catalog server's password is kept under "database:<user>@<host>:<port>/<name>" (see
# catalog.catalog_url.secret_key), beside the site tokens and with the same care.
DATABASE_PREFIX = "database:"


class _Keyring(Protocol):
    def get_password(self, service: str, username: str) -> str | None: ...
    def set_password(self, service: str, username: str, password: str) -> None: ...
    def delete_password(self, service: str, username: str) -> None: ...


def _usable_keyring() -> _Keyring | None:
    """The keyring module when a backend that really stores secrets is configured, else None."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or "null" in type(backend).__module__.lower():
        return None
    try:
        priority = float(getattr(backend, "priority", 0))
    except (TypeError, ValueError):
        priority = 0.0
    return cast("_Keyring", keyring) if priority > 0 else None


class TokenStore:
    """Reads and writes the tokens of one profile (data dir)."""

    FILE_NAME = "tokens.json"

    def __init__(self, data_dir: Path, *, use_keyring: bool = True) -> None:
        self.path = data_dir / self.FILE_NAME
        self._use_keyring = use_keyring
        self._keyring_resolved = False
        self._keyring_backend: _Keyring | None = None

    @property
    def _keyring(self) -> _Keyring | None:
        """The keyring, looked up on first use: importing it costs ~60 ms, too much for every start-up."""
        if not self._keyring_resolved:
            self._keyring_backend = _usable_keyring() if self._use_keyring else None
            self._keyring_resolved = True
        return self._keyring_backend

    @property
    def backend(self) -> str:
        return "the system keyring" if self._keyring is not None else f"{self.path} (readable only by you)"

    def get(self, site: str) -> str | None:
        _check(site)
        from_env = os.environ.get(ENV_VARS[site]) if site in ENV_VARS else None
        if from_env:
            return from_env
        # The file holds a token only while no keyring could take it (set() moves one to the keyring and
        # out of the file), so it is asked first: where it answers, the keyring (0.1 s to load, a
        # command's whole budget on a catalog server) is never loaded.
        in_file = self._read_file().get(site)
        if in_file:
            return in_file
        if self._keyring is not None:
            try:
                value = self._keyring.get_password(SERVICE, site)
            except Exception as exc:  # keyring backends raise their own types
                log.warning("could not read the %s token from the keyring: %s", site, type(exc).__name__)
            else:
                if value:
                    return str(value)
        return None

    def set(self, site: str, token: str | None) -> None:
        """Store (or with None/empty, forget) the token of ``site``."""
        _check(site)
        if self._keyring is not None:
            try:
                if token:
                    self._keyring.set_password(SERVICE, site, token)
                else:
                    self._forget_in_keyring(site)
                self._write_file({k: v for k, v in self._read_file().items() if k != site})
                return
            except Exception as exc:
                log.warning("could not store the %s token in the keyring: %s", site, type(exc).__name__)
        tokens = self._read_file()
        if token:
            tokens[site] = token
        else:
            tokens.pop(site, None)
        self._write_file(tokens)

    def _forget_in_keyring(self, site: str) -> None:
        if self._keyring is None:
            return
        try:
            self._keyring.delete_password(SERVICE, site)
        except Exception:
            return

    def _read_file(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def _write_file(self, tokens: dict[str, str]) -> None:
        if not tokens:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)
        try:
            if hasattr(os, "fchmod"):  # POSIX: private from creation, never readable by others
                os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(tokens, fh)
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _check(site: str) -> None:
    if site not in SITES and not site.startswith(DATABASE_PREFIX):
        raise ValueError(f"unknown site {site!r}; expected one of {', '.join(SITES)}")
