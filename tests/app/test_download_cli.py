"""``download`` and ``downloads`` run as a user runs them, against loopback Civitai, Hub and file servers.

The commands run through the CLI's entry point in this process (:mod:`tests.app.in_process`: the same
arguments, environment, exit code and output, without a second of start-up per command); a download
killed or stopped with Ctrl+C mid-way runs in a real ``main.py`` child (:mod:`tests.app.download_sites`,
:mod:`tests.app.download_stops`), as the signal is the point there."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.hashing import hash_file
from core.sizes import human_size
from tests.app.download_sites import FILE_PATH, VERSION_ID, Sites, kill_mid_download, loopback_sites
from tests.app.download_stops import stop_mid_download
from tests.app.in_process import run_in_process
from tests.fakes.file_server import Fault
from tests.page_cache import observes_writeback, page_counts

ROOT = Path(__file__).resolve().parents[2]


def run(sites: Sites, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_in_process(*args, env=sites.env, check=check)


def test_download_from_civitai_lands_identified_and_linked(sites: Sites) -> None:
    run(sites, "scan", str(sites.root))

    (result,) = json.loads(run(sites, "download", f"civitai:{VERSION_ID}", "--json").stdout)

    path = Path(result["path"])
    assert path == sites.root / "models" / "Lora" / "pixel_art.safetensors"
    assert path.read_bytes() == sites.lora
    assert not list(path.parent.glob("*.part"))
    assert (result["kind"], result["architecture"]) == ("lora", "sd1")
    shown = json.loads(run(sites, "show", str(result["asset_id"]), "--json").stdout)
    assert shown["civitai"]["trigger_words"] == ["pixel art"]
    assert shown["base_model_label"] == "SD 1.5"
    assert shown["hashes"] == hash_file(path).to_json(), "hashed while downloading: the scan's hashes"
    assert shown["remote_links"][0]["version_id"] == str(VERSION_ID)
    lookups = [p for method, p, _ in sites.civitai.requests if method == "POST"]
    assert lookups == [], "a downloaded file needs no hash lookup"
    listed = json.loads(run(sites, "downloads", "--json").stdout)
    assert [(d["status"], d["completed_path"]) for d in listed] == [("completed", str(path))]


def test_the_command_ends_once_the_downloaded_file_is_on_disk(sites: Sites) -> None:
    """The final flush runs behind the download (core.download_flush); the command's exit joins it, so
    when ``download`` returns no page of the file waits in memory (the kernel's count, not ours)."""
    if not observes_writeback(sites.root):
        pytest.skip("this filesystem or kernel does not show which pages wait for the disk (cachestat)")

    command = ["download", f"civitai:{VERSION_ID}", "--to", str(sites.root), "--json"]
    (result,) = json.loads(run(sites, *command).stdout)

    path = Path(result["path"])
    counts = page_counts(path)
    assert counts.on_disk, f"the command ended before its file was on disk: {counts}"
    assert path.read_bytes() == sites.lora


def test_download_from_hugging_face(sites: Sites) -> None:
    run(sites, "scan", str(sites.root))
    (result,) = json.loads(
        run(sites, "download", "hf:someone/pixel-lora/pixel_lora.safetensors", "--json").stdout
    )
    assert Path(result["path"]).parent == sites.root / "models" / "Lora"
    shown = json.loads(run(sites, "show", str(result["asset_id"]), "--json").stdout)
    assert shown["remote_links"][0]["site"] == "huggingface"
    assert shown["remote_links"][0]["model_id"] == "someone/pixel-lora"


def test_a_failed_download_is_reported_and_can_be_resumed(sites: Sites) -> None:
    run(sites, "scan", str(sites.root))
    sites.file_state.faults["/api/download/models/910002"] = Fault(
        status=401, status_times=1, json_body={"error": "Unauthorized", "message": "log in"}
    )

    failed = run(sites, "download", f"civitai:{VERSION_ID}", check=False)

    assert failed.returncode == 1
    assert "API key" in failed.stderr
    (record,) = json.loads(run(sites, "downloads", "--json").stdout)
    assert record["status"] == "failed"
    resumed = run(sites, "downloads", "resume", str(record["id"]))
    assert "Downloaded" in resumed.stdout
    assert (sites.root / "models" / "Lora" / "pixel_art.safetensors").read_bytes() == sites.lora


def test_targets_are_checked_before_anything_is_fetched(sites: Sites) -> None:
    bad = run(sites, "download", f"civitai:{VERSION_ID}", "not-a-target", check=False)
    assert bad.returncode == 1
    assert "expected civitai:" in bad.stderr
    assert sites.civitai.requests == []
    no_root = run(sites, "download", f"civitai:{VERSION_ID}", check=False)
    assert no_root.returncode == 1
    assert "library folder" in no_root.stderr


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
@pytest.mark.parametrize("kind", ["AutoV2", "SHA-256"])
def test_a_file_hash_downloads_the_civitai_file_that_has_it(sites: Sites, kind: str) -> None:
    """The render plan says a missing file "can be downloaded from Civitai by its hash": ``download
    HASH`` does, with the hash as the plan (AutoV2, lower-case as A1111 writes it) or a site shows it."""
    run(sites, "scan", str(sites.root))
    sha256 = hashlib.sha256(sites.lora).hexdigest()
    digest = sha256[:10] if kind == "AutoV2" else sha256

    (result,) = json.loads(run(sites, "download", digest, "--json").stdout)

    path = Path(result["path"])
    assert path == sites.root / "models" / "Lora" / "pixel_art.safetensors"
    assert path.read_bytes() == sites.lora
    shown = json.loads(run(sites, "show", str(result["asset_id"]), "--json").stdout)
    assert shown["remote_links"][0]["version_id"] == str(VERSION_ID)
    asked = [p for method, p, _ in sites.civitai.requests if method == "GET" and "by-hash" in p]
    assert asked == [f"/api/v1/model-versions/by-hash/{digest.upper()}"]


def test_a_hash_civitai_does_not_know_ends_in_one_line(sites: Sites) -> None:
    run(sites, "scan", str(sites.root))
    result = run(sites, "download", "0123456789", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "atelier download: Civitai has no file with the hash 0123456789"
    ], result.stderr
    assert sorted(p.name for p in sites.root.joinpath("models").iterdir()) == ["Stable-diffusion"]


def test_a_download_killed_mid_way_is_interrupted_with_its_bytes_and_resumes(tmp_path: Path) -> None:
    with loopback_sites(tmp_path, rank=64) as sites:
        run(sites, "scan", str(sites.root))
        part = kill_mid_download(sites, Path(sites.env["ATELIER_DATA_DIR"]))
        kept = part.stat().st_size
        assert 0 < kept < len(sites.lora)

        (record,) = json.loads(run(sites, "downloads", "--json").stdout)
        assert (record["status"], record["bytes_done"]) == ("interrupted", kept)
        assert "interrupted" in run(sites, "downloads").stdout

        sent_before = sites.file_state.sent[FILE_PATH]
        resumed = run(sites, "downloads", "resume")
        assert "Downloaded" in resumed.stdout
        final = sites.root / "models" / "Lora" / "pixel_art.safetensors"
        assert final.read_bytes() == sites.lora
        assert not part.exists()
        sent = sites.file_state.sent[FILE_PATH] - sent_before
        assert sent == len(sites.lora) - kept, "resumed from the .part, not restarted"
        (record,) = json.loads(run(sites, "downloads", "--json").stdout)
        assert record["status"] == "completed"
        shown = json.loads(run(sites, "show", str(final), "--json").stdout)
        assert shown["remote_links"]
        assert shown["hashes"] == hash_file(final).to_json(), "the killed run's bytes hashed from the .part"


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_the_next_download_command_continues_an_interrupted_download(tmp_path: Path) -> None:
    with loopback_sites(tmp_path, rank=64) as sites:
        run(sites, "scan", str(sites.root))
        kill_mid_download(sites, Path(sites.env["ATELIER_DATA_DIR"]))
        again = run(sites, "download", f"civitai:{VERSION_ID}")
        assert again.stdout.count("Downloaded") == 1, "the same file is continued, not fetched twice"
        listed = json.loads(run(sites, "downloads", "--json").stdout)
        assert [d["status"] for d in listed] == ["completed"]
        assert (sites.root / "models" / "Lora" / "pixel_art.safetensors").read_bytes() == sites.lora


def test_download_to_a_new_folder_makes_it_a_library_folder(sites: Sites, tmp_path: Path) -> None:
    new = tmp_path / "fresh" / "models"

    result = run(sites, "download", f"civitai:{VERSION_ID}", "--to", str(new))

    lines = result.stdout.splitlines()
    assert lines[0] == f"Created {new} and added it as a library folder (flat layout)"
    assert lines[-1].startswith("Downloaded ")
    assert "Traceback" not in result.stderr
    assert str(new) in run(sites, "roots").stdout
    (record,) = json.loads(run(sites, "downloads", "--json").stdout)
    assert Path(record["completed_path"]).read_bytes() == sites.lora
    assert Path(record["completed_path"]).is_relative_to(new)


def test_download_into_a_folder_inside_a_library_folder_uses_that_folder(sites: Sites) -> None:
    run(sites, "scan", str(sites.root))
    inside = sites.root / "models" / "Lora" / "styles"

    (result,) = json.loads(
        run(sites, "download", f"civitai:{VERSION_ID}", "--to", str(inside), "--json").stdout
    )

    assert Path(result["path"]) == inside / "pixel_art.safetensors"
    assert result["kind"] == "lora"
    assert run(sites, "roots").stdout.count("\n") == 1, "no second library folder nested in the first"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["download", "civitai:abc"], "expected civitai:VERSION_ID"),
        (["download", "ftp://civitai.com/models/1"], "expected civitai:"),
        (["download", f"civitai:{VERSION_ID}"], "No library folder to download into yet"),
        (["download", f"civitai:{VERSION_ID}", "--to", "{file}"], "is a file, not a folder"),
        (["downloads", "cancel"], "needs the download's id"),
        (["downloads", "resume", "42"], "No download with id 42"),
    ],
)
def test_user_errors_end_in_one_line(sites: Sites, tmp_path: Path, args: list[str], expected: str) -> None:
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("not a folder")
    result = run(sites, *[arg.replace("{file}", str(a_file)) for arg in args], check=False)
    assert result.returncode == 1
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "a-file.txt").is_dir()


def test_an_unreachable_site_ends_in_one_line_and_creates_nothing(sites: Sites, tmp_path: Path) -> None:
    sites.env["ATELIER_CIVITAI_URL"] = "http://127.0.0.1:9"  # nothing listens on the discard port
    new = tmp_path / "not-yet"
    result = run(sites, "download", f"civitai:{VERSION_ID}", "--to", str(new), check=False)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "127.0.0.1" in result.stderr
    assert not new.exists(), "the folder is made only once there is something to put in it"


def test_a_file_already_in_the_library_is_not_downloaded_again(sites: Sites, tmp_path: Path) -> None:
    run(sites, "scan", str(sites.root))
    (first,) = json.loads(run(sites, "download", f"civitai:{VERSION_ID}", "--json").stdout)

    again = run(sites, "download", f"civitai:{VERSION_ID}")
    elsewhere = run(sites, "download", f"civitai:{VERSION_ID}", "--to", str(tmp_path / "other"))
    from_hub = run(sites, "download", "hf:someone/pixel-lora/pixel_lora.safetensors")

    line = f"Already in the library: {first['path']} (#{first['asset_id']})"
    for result in (again, elsewhere, from_hub):
        assert result.returncode == 0
        assert result.stdout.strip().splitlines() == [f"{line} (--again downloads a second copy)"]
    assert not (tmp_path / "other").exists(), "a refused download creates no folder"
    lora_folder = sites.root / "models" / "Lora"
    assert sorted(p.name for p in lora_folder.iterdir()) == ["pixel_art.safetensors"]
    assert len(json.loads(run(sites, "downloads", "--json").stdout)) == 1

    second = run(sites, "download", f"civitai:{VERSION_ID}", "--again")
    assert "Downloaded" in second.stdout
    assert (lora_folder / "pixel_art (1).safetensors").read_bytes() == sites.lora


def test_a_hugging_face_file_url_is_a_target(sites: Sites) -> None:
    run(sites, "scan", str(sites.root))
    url = f"{sites.hub.base_url}/someone/pixel-lora/blob/main/pixel_lora.safetensors"
    (result,) = json.loads(run(sites, "download", url, "--json").stdout)
    assert Path(result["path"]) == sites.root / "models" / "Lora" / "pixel_lora.safetensors"


def test_statuses_say_what_happened(sites: Sites, tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir()
    added = run(sites, "download", f"civitai:{VERSION_ID}", "--to", str(existing))
    assert added.stdout.splitlines()[0].startswith(f"Added {existing} as a library folder")
    path = existing / "Lora" / "pixel_art.safetensors"
    if not path.exists():  # the layout decides the kind folder; find the file wherever it went
        (path,) = existing.rglob("pixel_art.safetensors")

    cancel = run(sites, "downloads", "cancel", "1", check=False)
    assert cancel.returncode == 1
    assert cancel.stderr.strip().splitlines()[-1].endswith(f"Download 1 is already complete: {path}")
    assert path.exists()
    resume = run(sites, "downloads", "resume", "1")
    assert resume.stdout.strip() == f"Download 1 is already complete: {path}"
    listed = run(sites, "downloads").stdout
    assert "KiB" in listed
    assert "0.0/0.0 MiB" not in listed

    empty = run(sites, "download", f"civitai:{VERSION_ID}", "--to", "", check=False)
    assert empty.returncode == 1
    assert "--to needs a folder" in empty.stderr


def test_a_version_you_deleted_is_not_downloaded_again_without_again(sites: Sites, tmp_path: Path) -> None:
    """Download, delete (to a per-test trash), download again: refused with the date; ``deleted`` lists it;
    ``--again`` downloads it; forgetting the deletion lifts the refusal."""
    env = {**sites.env, "XDG_DATA_HOME": str(tmp_path / "xdg")}

    def run_env(*args: str) -> subprocess.CompletedProcess[str]:
        return run_in_process(*args, env=env, check=True)

    run_env("scan", str(sites.root))
    (first,) = json.loads(run_env("download", f"civitai:{VERSION_ID}", "--json").stdout)
    run_env("delete", str(first["asset_id"]), "--yes")
    assert not Path(first["path"]).exists()

    refused = run_env("download", f"civitai:{VERSION_ID}")
    (line,) = refused.stdout.strip().splitlines()
    assert line.startswith("You deleted this version on 20")
    assert line.endswith(f"(was {first['path']}) (--again downloads it anyway)")
    (refused_json,) = json.loads(run_env("download", f"civitai:{VERSION_ID}", "--json").stdout)
    assert refused_json["deleted_before"] is True
    assert refused_json["version_id"] == str(VERSION_ID)
    assert not Path(first["path"]).exists()

    (remembered,) = json.loads(run_env("deleted", "--json").stdout)
    assert remembered["version_id"] == str(VERSION_ID)
    assert "Downloaded" in run_env("download", f"civitai:{VERSION_ID}", "--again").stdout
    assert Path(first["path"]).read_bytes() == sites.lora

    run_env("delete", first["path"], "--yes")
    for item in json.loads(run_env("deleted", "--json").stdout):
        run_env("deleted", "--forget", str(item["id"]))
    assert "Downloaded" in run_env("download", f"civitai:{VERSION_ID}").stdout


@contextmanager
def small_filesystem(folder: Path, size: str) -> Iterator[Callable[[str], None]]:
    """A real tmpfs of ``size`` mounted on ``folder`` (root only; skipped elsewhere, where the engine's
    RLIMIT_FSIZE test in tests/core/test_downloads.py stands for a full disk); yields a function that
    grows it (``"1m"``): space freed."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")

    def grow(new_size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={new_size}", str(folder)], check=True)

    try:
        yield grow
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="tmpfs")
def test_a_full_disk_keeps_and_shows_the_bytes_written_and_resumes(tmp_path: Path) -> None:
    with loopback_sites(tmp_path, rank=64) as sites:
        run(sites, "scan", str(sites.root))
        lora_folder = sites.root / "models" / "Lora"
        with small_filesystem(lora_folder, "64k") as grow:
            failed = run(sites, "download", f"civitai:{VERSION_ID}", check=False)

            assert failed.returncode == 1
            (line,) = failed.stderr.strip().splitlines()
            part = lora_folder / "pixel_art.safetensors.part"
            kept = part.stat().st_size
            assert 0 < kept < len(sites.lora)
            assert line.startswith("atelier download: The disk is full (or the file is too large for it)")
            assert "KiB are kept in pixel_art.safetensors.part; free some space and resume." in line
            (record,) = json.loads(run(sites, "downloads", "--json").stdout)
            assert (record["status"], record["bytes_done"]) == ("failed", kept), "the bytes on disk, not 0"

            grow("1m")
            resumed = run(sites, "downloads", "resume")  # as the message says: free space, resume

            assert "Downloaded" in resumed.stdout
            assert (lora_folder / "pixel_art.safetensors").read_bytes() == sites.lora
            gets = [h for m, p, h in sites.files.requests if m == "GET"]
            assert gets[-1]["Range"] == f"bytes={kept}-", "resumed from the kept bytes"
            (record,) = json.loads(run(sites, "downloads", "--json").stdout)
            assert (record["status"], record["bytes_done"]) == ("completed", len(sites.lora))


HF_FILE = "hf:someone/pixel-lora/pixel_lora.safetensors"


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child")
def test_a_download_stopped_with_ctrl_c_stays_paused_until_resumed(tmp_path: Path) -> None:
    with loopback_sites(tmp_path, rank=64) as sites:
        run(sites, "scan", str(sites.root))
        part, stderr = stop_mid_download(sites, signal.SIGINT)
        kept = part.stat().st_size
        assert 0 < kept < len(sites.lora)
        assert "Download #1 (pixel_art.safetensors) paused" in stderr
        assert "`downloads resume 1` continues it" in stderr

        (record,) = json.loads(run(sites, "downloads", "--json").stdout)
        assert (record["status"], record["bytes_done"]) == ("paused", kept)
        assert "stopped by you" in run(sites, "downloads").stdout

        # Another download (the slow host still trickles): only what was asked is fetched.
        sent_before = sites.file_state.sent[FILE_PATH]
        other = run(sites, "download", HF_FILE, "--again")
        assert other.stdout.count("Downloaded") == 1
        assert "pixel_lora.safetensors" in other.stdout
        assert "pixel_art" not in other.stdout + other.stderr
        assert sites.file_state.sent[FILE_PATH] == sent_before, "the paused download was not touched"
        stopped = json.loads(run(sites, "downloads", "--json").stdout)[0]
        assert (stopped["status"], stopped["bytes_done"]) == ("paused", kept)
        assert part.stat().st_size == kept

        del sites.file_state.faults[FILE_PATH]
        resumed = run(sites, "downloads", "resume", "1")
        assert "Downloaded" in resumed.stdout
        assert (sites.root / "models" / "Lora" / "pixel_art.safetensors").read_bytes() == sites.lora
        assert sites.file_state.sent[FILE_PATH] - sent_before == len(sites.lora) - kept
        statuses = [d["status"] for d in json.loads(run(sites, "downloads", "--json").stdout)]
        assert statuses == ["completed", "completed"]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_download_of_another_file_names_a_crashed_download_without_continuing_it(tmp_path: Path) -> None:
    with loopback_sites(tmp_path, rank=64) as sites:
        run(sites, "scan", str(sites.root))
        part, _ = stop_mid_download(sites, signal.SIGKILL)
        kept = part.stat().st_size
        sent_before = sites.file_state.sent[FILE_PATH]
        other = run(sites, "download", HF_FILE, "--again")
        assert other.stdout.count("Downloaded") == 1
        assert (
            f"Download #1 (pixel_art.safetensors) was cut off earlier, {human_size(kept)} of "
            f"{human_size(len(sites.lora))} kept; `downloads resume 1` continues it." in other.stdout
        )
        assert sites.file_state.sent[FILE_PATH] == sent_before
        crashed = json.loads(run(sites, "downloads", "--json").stdout)[0]
        assert (crashed["status"], crashed["bytes_done"]) == ("interrupted", kept)


def _complete_outside_the_library(sites: Sites, monkeypatch: pytest.MonkeyPatch) -> tuple[int, Path]:
    """The state a stop between the rename and the library entry leaves (a kill, a second Ctrl+C): the
    engine alone completes the download, nothing records the file in the catalog."""
    from app.context import AppContext
    from app.secrets import TokenStore

    for name, value in sites.env.items():
        monkeypatch.setenv(name, value)
    data_dir = Path(sites.env["ATELIER_DATA_DIR"])
    context = AppContext(data_dir, tokens=TokenStore(data_dir.parent / "tokens", use_keyring=False))
    try:
        service = context.downloads
        queued = service.enqueue(service.parse_target(f"civitai:{VERSION_ID}"))
        path = service.downloader.run_one(queued.download_id)
        assert service.needs_library_entry(service.get(queued.download_id))
        stopped = service.mark_stopped(queued.download_id)  # what the CLI's Ctrl+C handler records
        assert (stopped.status.value, stopped.bytes_done) == ("completed", len(sites.lora))
    finally:
        context.close()
    return queued.download_id, path


@pytest.mark.parametrize("how", ["downloads resume", "download again"])
def test_a_completed_download_kept_out_of_the_library_is_added_without_fetching_it_again(
    sites: Sites, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    run(sites, "scan", str(sites.root))
    download_id, path = _complete_outside_the_library(sites, monkeypatch)
    assert json.loads(run(sites, "search", "--json").stdout) == []
    sent_before = sites.file_state.sent[FILE_PATH]

    if how == "downloads resume":
        result = run(sites, "downloads", "resume")
    else:
        result = run(sites, "download", f"civitai:{VERSION_ID}")

    assert "Downloaded" in result.stdout, result.stdout + result.stderr
    assert sites.file_state.sent[FILE_PATH] == sent_before, "not a byte fetched again"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name], "no second copy"
    shown = json.loads(run(sites, "show", str(path), "--json").stdout)
    assert shown["hashes"] == hash_file(path).to_json()
    assert shown["remote_links"][0]["version_id"] == str(VERSION_ID), "linked to its page as a download is"
    (record,) = json.loads(run(sites, "downloads", "--json").stdout)
    expected = (download_id, "completed", len(sites.lora))
    assert (record["id"], record["status"], record["bytes_done"]) == expected
