"""``updates`` as a user runs it: check, list, download beside the old file, ignore; offline is one line.

The commands run through the CLI's entry point in this process (:mod:`tests.app.in_process`)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.download_sites import VERSION_ID, Sites, loopback_sites
from tests.app.in_process import run_in_process
from tests.app.update_sites import publish_version
from tests.conftest import closed_loopback_url
from tests.fakes.server import FakeHandler, serve


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Sites]:
    with loopback_sites(tmp_path) as made:
        yield made


def run(sites: Sites, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_in_process(*args, env=sites.env, check=check)


def old_version_in(sites: Sites, folder: Path) -> dict[str, object]:
    """The library folder scanned and version 910002 downloaded into ``folder`` (linked to Civitai)."""
    run(sites, "scan", str(sites.root))
    (result,) = json.loads(
        run(sites, "download", f"civitai:{VERSION_ID}", "--to", str(folder), "--json").stdout
    )
    return dict(result)


def test_check_lists_the_update_then_downloads_it_beside_the_old_file(sites: Sites, tmp_path: Path) -> None:
    styles = sites.root / "models" / "Lora" / "styles"
    old = old_version_in(sites, styles)
    new_bytes = publish_version(
        sites,
        tmp_path,
        910003,
        name="v2",
        published="2024-05-01T10:00:00.000Z",
        changes="<p>Sharper <b>pixels</b>, fewer artifacts.</p>",
    )

    (listed,) = json.loads(run(sites, "updates", "--check", "--json").stdout)

    assert listed["asset_id"] == old["asset_id"]
    assert listed["current_version"]["id"] == VERSION_ID
    assert listed["new_version"]["id"] == 910003
    assert listed["new_version"]["name"] == "v2"
    assert listed["new_version"]["base_model"] == "SD 1.5"
    assert listed["new_version"]["published_at"].startswith("2024-05-01")
    assert listed["new_version"]["changes"] == "Sharper pixels, fewer artifacts."
    text = run(sites, "updates").stdout
    assert f"#{old['asset_id']}" in text
    assert "-> v2  (2024-05-01, SD 1.5)" in text
    assert "what changed: Sharper pixels, fewer artifacts." in text

    (done,) = json.loads(run(sites, "updates", "--download", str(old["path"]), "--json").stdout)

    new_path = Path(done["downloaded"])
    assert new_path == styles / "pixel_art_v2.safetensors"
    assert new_path.read_bytes() == new_bytes
    assert Path(str(old["path"])).exists(), "the old file stays"
    shown = json.loads(run(sites, "show", str(done["downloaded_asset_id"]), "--json").stdout)
    assert shown["remote_links"][0]["version_id"] == "910003"
    assert json.loads(run(sites, "updates", "--json").stdout) == []


def test_an_ignored_update_stays_hidden_until_a_newer_version(sites: Sites, tmp_path: Path) -> None:
    old = old_version_in(sites, sites.root / "models" / "Lora")
    publish_version(sites, tmp_path, 910003, name="v2", published="2024-05-01T10:00:00.000Z")
    run(sites, "updates", "--check")

    ignored = run(sites, "updates", "--ignore", str(old["asset_id"]))

    assert "Ignoring v2" in ignored.stdout
    assert json.loads(run(sites, "updates", "--check", "--json").stdout) == []
    again = run(sites, "updates", "--ignore", str(old["asset_id"]), check=False)
    assert again.returncode == 1
    assert "has no update to get" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1

    publish_version(sites, tmp_path, 910004, name="v3", published="2024-09-01T10:00:00.000Z")
    (listed,) = json.loads(run(sites, "updates", "--check", "--json").stdout)
    assert listed["new_version"]["id"] == 910004
    assert listed["newer_versions"] == [910004, 910003, 1292]  # V3 Alpha (1292) is newer than 910002 too


def test_unreachable_civitai_is_one_line_and_exit_1(sites: Sites) -> None:
    old_version_in(sites, sites.root / "models" / "Lora")

    failed = run_in_process(
        "updates", "--check", env={**sites.env, "ATELIER_CIVITAI_URL": closed_loopback_url()}
    )

    assert failed.returncode == 1
    assert failed.stderr.startswith("atelier updates: Cannot reach 127.0.0.1")
    assert len(failed.stderr.strip().splitlines()) == 1
    assert "Traceback" not in failed.stderr


def test_ignore_says_it_covers_every_file_of_the_model(sites: Sites, tmp_path: Path) -> None:
    """ "Ignore" is remembered per Civitai model: the line names every file of the model it hides the
    update of, not only the one named; naming two files of one model is one ignore, not an error."""
    old = old_version_in(sites, sites.root / "models" / "Lora")
    copy_dir = sites.root / "models" / "Lora" / "copies"
    copy_dir.mkdir()
    twin = copy_dir / "pixel_art_copy.safetensors"
    twin.write_bytes(Path(str(old["path"])).read_bytes())
    run(sites, "scan", str(sites.root))  # the copy is found on Civitai by its hash: the same model
    publish_version(sites, tmp_path, 910003, name="v2", published="2024-05-01T10:00:00.000Z")
    listed = json.loads(run(sites, "updates", "--check", "--json").stdout)
    ids = sorted(update["asset_id"] for update in listed)
    assert len(ids) == 2

    ignored = run(sites, "updates", "--ignore", str(old["asset_id"]), str(twin))

    lines = ignored.stdout.splitlines()
    assert lines[0] == (
        "Ignoring v2 of SynthwavePunk for every file of that model (2 files; a still newer version "
        "shows again):"
    )
    twin_id = next(asset_id for asset_id in ids if asset_id != old["asset_id"])
    assert sorted(lines[1:]) == sorted([f"  #{old['asset_id']}  {old['path']}", f"  #{twin_id}  {twin}"])
    assert json.loads(run(sites, "updates", "--json").stdout) == []


def test_download_with_nothing_to_get_says_what_to_do(sites: Sites) -> None:
    old = old_version_in(sites, sites.root / "models" / "Lora")
    run(sites, "updates", "--check")
    run(sites, "updates", "--ignore", str(old["asset_id"]))  # its one update (V3 Alpha) ignored

    everything = run(sites, "updates", "--download")
    named = run(sites, "updates", "--download", str(old["asset_id"]))

    assert everything.stdout.splitlines()[-1] == (
        "Nothing to download: no file of the library has an update (ignored ones left out); "
        "`atelier updates --check` asks Civitai again."
    )
    assert named.stdout.splitlines()[-1] == (
        "Nothing to download: none of the files named has an update; `atelier updates` lists those that "
        "have one (`--download` without files gets them all)."
    )


def test_a_web_page_instead_of_data_counts_the_models_in_words(sites: Sites) -> None:
    """Civitai's address answering with an HTML page (a login or browser check): "1 model", not "1 models"."""
    old_version_in(sites, sites.root / "models" / "Lora")

    class PageHandler(FakeHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><html><body>Just a moment...</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serve(PageHandler) as page:
        failed = run_in_process("updates", "--check", env={**sites.env, "ATELIER_CIVITAI_URL": page.base_url})

    assert failed.returncode == 1
    assert failed.stderr.startswith(
        "atelier updates: Civitai answered 1 model with a web page instead of data."
    )


def test_a_newer_version_for_another_base_model_is_no_update(sites: Sites, tmp_path: Path) -> None:
    """The file is for SD 1.5: a newer SDXL version of the same Civitai model is a sibling that would not
    load on the user's checkpoint, so the update stays the newest SD 1.5 version (V3 Alpha, 1292); a
    version re-trained on SD 1.4, a successive release of the same base, still counts."""
    old = old_version_in(sites, sites.root / "models" / "Lora")
    publish_version(
        sites, tmp_path, 910003, name="xl", published="2024-05-01T10:00:00.000Z", base_model="SDXL 1.0"
    )

    (listed,) = json.loads(run(sites, "updates", "--check", "--json").stdout)

    assert listed["asset_id"] == old["asset_id"]
    assert listed["new_version"]["id"] == 1292
    assert listed["newer_versions"] == [1292]
    assert "-> xl" not in run(sites, "updates").stdout

    run(sites, "updates", "--ignore", str(old["asset_id"]))  # V3 Alpha ignored: nothing left for SD 1.5
    assert json.loads(run(sites, "updates", "--check", "--json").stdout) == []
    assert run(sites, "updates").stdout.splitlines()[-1] == (
        "No updates: every Civitai-linked file is on the newest version for its base model (or ignored)."
    )

    publish_version(
        sites, tmp_path, 910004, name="v4", published="2024-09-01T10:00:00.000Z", base_model="SD 1.4"
    )
    (listed,) = json.loads(run(sites, "updates", "--check", "--json").stdout)
    assert listed["new_version"]["id"] == 910004
    assert listed["newer_versions"] == [910004, 1292]
