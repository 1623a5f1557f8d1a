"""A data folder Atelier cannot write still serves every command that only reads; a changing command
fails with one line, before it does anything. Run through ``python main.py`` on a real read-only mount,
and as a process without root's rights on a folder or catalog without write permission."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.db import sqlite_url
from catalog.migrate import upgrade
from tests.app.catalog_profiles import CATALOG, copy_profile, folder_state, make_profile
from tests.app.main_process import run_main
from tests.app.restricted_process import read_only_mount, without_root_rights


def refusal(data: Path) -> str:
    return (
        f"The data folder {data} is read-only: Atelier can search and show the library but not change it "
        "(make it writable or use --data-dir)."
    )


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_profile(tmp_path_factory.mktemp("read-only-profile"))


@pytest.fixture(scope="module")
def mounted(profile: tuple[Path, Path]) -> Iterator[tuple[Path, list[str]]]:
    """The profile's data folder and the prefix that runs a command with it mounted read-only."""
    prefix = read_only_mount(profile[0])
    if prefix is None:
        pytest.skip("no read-only bind mount here (needs root or unprivileged user and mount namespaces)")
    before = folder_state(profile[0])
    yield profile[0], prefix
    assert folder_state(profile[0]) == before  # and the mount was the child's only: the folder is as it was


def run_read_only(mounted: tuple[Path, list[str]], *args: str) -> subprocess.CompletedProcess[str]:
    data, prefix = mounted
    return run_main(*args, data_dir=data, wrapper=prefix, timeout=60)


READING = {
    "search": (("search", "pixel"), "pixel-art.safetensors"),
    "search --json": (("search", "--json"), '"file_name": "pixel-art.safetensors"'),
    "show": (("show", "1"), "pixel-art"),
    "roots": (("roots",), "ComfyUI"),
    "history": (("history",), "No moves, renames or deletes yet."),
    "dupes": (("dupes",), "No duplicate files."),
    "downloads": (("downloads",), "No downloads yet."),
    "tag (list)": (("tag", "1"), "(no tags)"),
    "organize --dry-run": (("organize", "--dry-run"), "dry run: nothing was moved"),
}


@pytest.mark.parametrize("name", list(READING))
def test_reading_commands_work_on_a_read_only_mount(mounted: tuple[Path, list[str]], name: str) -> None:
    args, expected = READING[name]
    result = run_read_only(mounted, *args)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    assert result.stderr == ""


def test_export_writes_its_list_outside_the_read_only_folder(
    mounted: tuple[Path, list[str]], tmp_path: Path
) -> None:
    target = tmp_path / "library.json"
    result = run_read_only(mounted, "export", str(target))
    assert result.returncode == 0, result.stderr
    assert "pixel-art.safetensors" in target.read_text(encoding="utf-8")


CHANGING = {
    "scan": ("scan",),
    "rate": ("rate", "1", "4"),
    "tag --add": ("tag", "1", "--add", "style"),
    "download": ("download", "civitai:1"),
    "dupes --resolve": ("dupes", "--resolve", "trash", "--yes"),
    "new-catalog": ("new-catalog",),
}


@pytest.mark.parametrize("name", list(CHANGING))
def test_changing_commands_are_refused_in_one_line(mounted: tuple[Path, list[str]], name: str) -> None:
    result = run_read_only(mounted, *CHANGING[name])
    command = CHANGING[name][0]
    assert result.returncode == 1
    assert result.stderr == f"atelier {command}: {refusal(mounted[0])}\n"
    assert result.stdout == ""


def test_the_refusal_is_also_json_for_a_script(mounted: tuple[Path, list[str]]) -> None:
    result = run_read_only(mounted, "scan", "--json")
    assert result.returncode == 1
    assert '"error": "The data folder' in result.stdout


def test_inspect_needs_no_catalog_and_works_too(
    mounted: tuple[Path, list[str]], profile: tuple[Path, Path]
) -> None:
    model = profile[1] / "models/loras/pixel-art.safetensors"
    result = run_read_only(mounted, "inspect", str(model))
    assert result.returncode == 0, result.stderr
    assert "lora / sd1" in result.stdout


def test_a_catalog_due_for_a_migration_says_so_and_is_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    upgrade(sqlite_url(data / CATALOG), "0007", backup=False)
    prefix = read_only_mount(data)
    if prefix is None:
        pytest.skip("no read-only bind mount here (needs root or unprivileged user and mount namespaces)")
    before = (data / CATALOG).read_bytes()

    result = run_main("search", data_dir=data, wrapper=prefix, timeout=60)

    assert result.returncode == 1
    line = result.stderr.strip()
    assert line.startswith(f"atelier search: The catalog {data / CATALOG} needs an update to this version")
    assert "(schema 0007 to " in line
    assert "cannot run in a read-only folder" in line
    assert "Traceback" not in result.stderr
    assert (data / CATALOG).read_bytes() == before


# without root's rights: file permissions ----------------------------------------------------------------
@pytest.fixture
def unprivileged() -> list[str]:
    prefix = without_root_rights()
    if prefix is None:
        pytest.skip("cannot run a child without root's rights on files here (no user namespaces)")
    return prefix


def test_a_folder_without_write_permission_reads_and_refuses(
    profile: tuple[Path, Path], tmp_path: Path, unprivileged: list[str]
) -> None:
    data = copy_profile(profile, tmp_path)
    data.chmod(0o555)
    try:
        before = folder_state(data)
        found = run_main("search", "pixel", data_dir=data, wrapper=unprivileged, timeout=60)
        refused = run_main("rate", "1", "5", data_dir=data, wrapper=unprivileged, timeout=60)
        after = folder_state(data)
    finally:
        data.chmod(0o755)
    assert found.returncode == 0, found.stderr
    assert "pixel-art.safetensors" in found.stdout
    assert refused.returncode == 1
    assert refused.stderr == f"atelier rate: {refusal(data)}\n"
    assert after == before


def test_a_catalog_without_write_permission_reads_and_refuses(
    profile: tuple[Path, Path], tmp_path: Path, unprivileged: list[str]
) -> None:
    data = copy_profile(profile, tmp_path)
    catalog = data / CATALOG
    catalog.chmod(0o444)
    before = folder_state(data)
    found = run_main("show", "1", "--json", data_dir=data, wrapper=unprivileged, timeout=60)
    refused = run_main("tag", "1", "--add", "x", data_dir=data, wrapper=unprivileged, timeout=60)
    assert found.returncode == 0, found.stderr
    assert '"file_name": "pixel-art.safetensors"' in found.stdout
    assert refused.returncode == 1
    assert refused.stderr == f"atelier tag: {refusal(data)}\n"
    assert folder_state(data) == before  # not even a -wal or -shm file was made beside it
