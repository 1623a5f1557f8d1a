"""``atelier scan`` / ``roots add`` on a machine that reaches a shared folder at a path of its own, and
``scan`` of a share that is not mounted: one line each, and the shared library keeps one row per file.

Two profiles (two data folders: two machines) share one catalog on a PostgreSQL server. Machine B sees
the store through a second folder with the same files, sizes and times (as a bind mount or a NAS share
shows it). The commands run in-process through the CLI entry (``app.cli.main``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.cli import EXIT_FAILED, main
from tests.factory.safetensors_writer import write_safetensors

COUNT = 24


@pytest.fixture
def store(tmp_path: Path) -> Path:
    folder = tmp_path / "nas" / "sd"
    for number in range(COUNT):
        write_safetensors(folder / "Lora" / f"l{number:02}.safetensors", {"w": ("F16", (4, 4))}, seed=number)
    return folder


def test_a_shared_folder_scanned_at_another_path_is_refused_and_an_unmounted_share_loses_nothing(
    tmp_path: Path, store: Path, pg_catalog_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def on(machine: str, *argv: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(tmp_path / machine), "--catalog", pg_catalog_url, *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    assert on("a", "roots", "add", str(store), "--name", "sd")[0] == 0
    assert on("a", "scan", "--no-hash")[0] == 0
    mount = tmp_path / "mnt" / "B" / "share" / "sd"
    shutil.copytree(store, mount, copy_function=shutil.copy2)

    for command in (("scan", str(mount), "--no-hash"), ("roots", "add", str(mount))):
        code, out, err = on("b", *command)
        assert code == EXIT_FAILED
        assert err.strip().splitlines() == [
            f"atelier {command[0]}: {mount} is the shared library folder 'sd' ({COUNT} of {COUNT} of its "
            f"files are here, same size and time): map it on this machine instead: atelier roots map sd "
            f"{mount}"
        ]
    code, out, _ = on("b", "roots")
    assert len(out.splitlines()) == 1, "no second folder"

    mount_point = tmp_path / "mnt" / "B" / "unmounted"
    mount_point.mkdir()
    assert on("b", "roots", "map", "sd", str(mount_point), "--force")[0] == 0  # empty: refused unless forced
    code, out, err = on("b", "scan", "--no-hash")
    assert code == 0, "a scan that found its folder empty has not failed: it says so, as for a folder gone"
    assert out.splitlines()[1:] == [
        f"  ! {mount_point}: the folder is empty but the catalog lists {COUNT} files in it (is the drive or "
        "share mounted?); nothing was marked missing."
    ]
    code, out, _ = on("a", "search")
    assert out.splitlines()[-1] == f"{COUNT} of {COUNT} shown"
    assert "[missing]" not in out
