"""One error family, one mapping to the line a user reads: ``app.messages.user_message``, and the CLI's use
of it (one line on stderr, a non-zero exit) for a failure of each branch, through ``main.py``."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest

from app.messages import MAX_LENGTH, user_message
from app.render_service import RenderError
from catalog.errors import CatalogError, DatabaseLockedError, NotACatalogError, NotFoundError
from core.errors import AtelierError
from core.formats.model_file import CorruptFileError, FormatError, UnsafeFileError
from core.jobs import CancelledError
from core.sources import errors as remote
from core.sources.hf_errors import HfGatedRepoError, HfOfflineError, HuggingFaceError
from tests.app.main_process import run_main
from tests.conftest import closed_loopback_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "error",
    [
        remote.NotFoundError("Civitai has no model 5 (not found).", status=404),
        remote.AuthRequiredError("Add your Civitai API key in Settings.", status=401),
        remote.EarlyAccessError("This file is in Early Access until 2026-12-01."),
        remote.ForbiddenError("Civitai does not allow access to model 5.", status=403),
        remote.ArchivedError("Model 5 was archived on Civitai.", status=410),
        remote.RateLimitedError("Civitai is limiting requests. Try again in 10 seconds.", retry_after_s=10),
        remote.ServerError("Civitai is having trouble (server error 502).", status=502),
        remote.UnexpectedResponseError("Civitai answered with a web page instead of data."),
        remote.NetworkError("Cannot reach civitai.com — check your internet connection."),
        remote.HtmlInsteadOfFileError("civitai.com sent an HTML page instead of the file."),
        remote.UnexpectedContentError("civitai.com sent a JSON message instead of the file."),
        remote.WrongSizeError("The downloaded file has 3 bytes but should have 4."),
        remote.HashMismatchError("The downloaded file is damaged: its SHA-256 differs."),
        remote.DiskFullError("The disk is full; free some space and resume."),
        remote.ConnectionLostError("The connection to civitai.com was lost after 10 bytes."),
        HfGatedRepoError("This repository is gated: accept its conditions on huggingface.co."),
        HfOfflineError("Cannot reach Hugging Face: check your network connection."),
        DatabaseLockedError("The library database is busy. Try again in a moment."),
        NotACatalogError("The library database is damaged. Restore a backup."),
        NotFoundError("No asset 7 in the library."),
        RenderError("cannot render: the checkpoint is missing"),
        CorruptFileError("the safetensors header is truncated"),
        UnsafeFileError("the pickle imports os.system", ("os.system",)),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_error_of_the_family_is_its_own_message(error: AtelierError) -> None:
    assert isinstance(error, AtelierError)
    assert user_message(error) == error.message == str(error)


def test_the_branches_hang_from_one_root() -> None:
    assert issubclass(remote.RemoteError, AtelierError)
    assert issubclass(CatalogError, AtelierError)
    assert issubclass(RenderError, AtelierError)
    assert issubclass(FormatError, AtelierError)
    assert issubclass(HuggingFaceError, remote.RemoteError)
    assert issubclass(HfOfflineError, remote.NetworkError), "offline reads the same for both sites"
    assert issubclass(remote.ConnectionLostError, remote.NetworkError)
    assert remote.ConnectionLostError("x").retryable
    assert remote.ServerError("x").retryable
    assert not remote.NotFoundError("x").retryable
    assert not remote.HashMismatchError("x").retryable


def test_a_download_status_maps_through_the_one_table() -> None:
    error = remote.error_for_status(
        401,
        source="files.example",
        what="this file",
        body=remote.json_error_body(b'{"error": "Unauthorized"}'),
        token_env_var=None,
    )
    assert isinstance(error, remote.AuthRequiredError)
    assert "API key" in error.message
    assert "environment variable" not in error.message
    assert isinstance(remote.error_for_status(503, source="x", what="y"), remote.ServerError)


def test_other_exceptions_become_one_line_too() -> None:
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory", "/models/a.safetensors")
    assert user_message(missing) == "/models/a.safetensors: it does not exist"
    denied = PermissionError(errno.EACCES, "Permission denied", "/models")
    assert "permission denied" in user_message(denied)
    assert user_message(CancelledError()).startswith("Cancelled")
    assert user_message(ValueError("--limit must be at least 1")) == "--limit must be at least 1"
    bug = user_message(KeyError("x"))
    assert bug.startswith("Unexpected error (KeyError")
    assert "log" in bug
    long = user_message(AtelierError("first line\nsecond line " + "x" * 1000))
    assert "\n" not in long
    assert len(long) <= MAX_LENGTH


def _main(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_main(*args, data_dir=data_dir, env={"ATELIER_CIVITAI_URL": closed_loopback_url()}, timeout=60)


def _one_line_failure(result: subprocess.CompletedProcess[str], command: str) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"atelier {command}: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_cli_remote_failure_is_one_line(tmp_path: Path) -> None:
    line = _one_line_failure(_main("search", "civitai", "detail", data_dir=tmp_path / "p"), "search")
    assert "reach" in line
    assert "127.0.0.1" in line


def test_cli_catalog_failure_is_one_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "p"
    data_dir.mkdir()
    (data_dir / "catalog.sqlite3").write_bytes(b"this is not an SQLite database, " * 64)
    line = _one_line_failure(_main("roots", data_dir=data_dir), "roots")
    assert "not an Atelier catalog" in line


def test_cli_render_failure_is_one_line(tmp_path: Path) -> None:
    image = tmp_path / "plain.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    line = _one_line_failure(_main("render", "--infotext", str(image), data_dir=tmp_path / "p"), "render")
    assert "plain.png" in line


def test_cli_usage_failure_is_one_line(tmp_path: Path) -> None:
    line = _one_line_failure(_main("show", "424242", data_dir=tmp_path / "p"), "show")
    assert "no asset with id 424242 in the library" in line
