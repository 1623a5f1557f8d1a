"""A catalog that was there and is now missing, empty, overwritten, truncated, a folder or unreadable is
reported in one line and left exactly as it is; a new one is made only on a first start or when asked
(``atelier new-catalog``, ``--from`` a backup). Every command under test through ``python main.py``; the
listing or search that checks what ``new-catalog`` left runs through the CLI's entry point in this process."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from app.machine import ID_FILE
from tests.app.catalog_profiles import CATALOG, copy_profile, make_profile
from tests.app.in_process import run_in_process
from tests.app.main_process import run_main
from tests.app.restricted_process import without_root_rights

REMEDY = (
    "restore it from a backup, or start a new empty library with "
    "`atelier new-catalog` (which moves it aside)."
)


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_profile(tmp_path_factory.mktemp("catalog-profile"))


@pytest.fixture
def data(profile: tuple[Path, Path], tmp_path: Path) -> Path:
    return copy_profile(profile, tmp_path)


def one_line(result: object, command: str) -> str:
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert result.returncode == 1, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"atelier {command}: ")
    return lines[0].removeprefix(f"atelier {command}: ")


def test_the_first_scan_records_that_the_folder_has_a_catalog(data: Path) -> None:
    settings = json.loads((data / "settings.json").read_text(encoding="utf-8"))
    assert settings["catalog_created_at"]


def test_a_deleted_catalog_is_reported_not_replaced(data: Path) -> None:
    (data / CATALOG).unlink()

    line = one_line(run_main("search", data_dir=data), "search")

    assert line == (
        f"The catalog {data / CATALOG} is missing (it was there before). Restore it from a backup, or start "
        "a new empty library with `atelier new-catalog`."
    )
    assert not (data / CATALOG).exists()


def test_a_catalog_overwritten_with_other_bytes_is_reported_and_kept(data: Path) -> None:
    garbage = os.urandom(4096)
    (data / CATALOG).write_bytes(garbage)

    line = one_line(run_main("roots", data_dir=data), "roots")

    assert line == (
        f"The catalog {data / CATALOG} is not an Atelier catalog: not an SQLite database (damaged or "
        f"overwritten). It was left as it is: {REMEDY}"
    )
    assert (data / CATALOG).read_bytes() == garbage


def test_a_truncated_catalog_is_reported_and_kept(data: Path) -> None:
    whole = (data / CATALOG).read_bytes()
    (data / CATALOG).write_bytes(whole[:8192])

    line = one_line(run_main("show", "1", data_dir=data), "show")

    assert f"is truncated (8,192 of its {len(whole):,} bytes are there)" in line
    assert (data / CATALOG).stat().st_size == 8192


def test_an_emptied_catalog_is_reported_not_made_anew(data: Path) -> None:
    (data / CATALOG).write_bytes(b"")

    line = one_line(run_main("search", data_dir=data), "search")

    assert line.startswith(f"The catalog {data / CATALOG} is an empty file (0 bytes).")
    assert (data / CATALOG).stat().st_size == 0


def test_a_folder_at_the_catalog_path_is_reported(data: Path) -> None:
    (data / CATALOG).unlink()
    (data / CATALOG).mkdir()

    line = one_line(run_main("search", data_dir=data), "search")

    assert (
        line
        == f"The catalog {data / CATALOG} is a folder, not a catalog file. It was left as it is: {REMEDY}"
    )


def test_a_catalog_without_read_permission_is_reported(data: Path) -> None:
    prefix = without_root_rights()
    if prefix is None:
        pytest.skip("cannot run a child without root's rights on files here (no user namespaces)")
    (data / CATALOG).chmod(0o000)
    try:
        line = one_line(run_main("search", data_dir=data, wrapper=prefix, timeout=60), "search")
    finally:
        (data / CATALOG).chmod(0o644)
    assert line.startswith(f"The catalog {data / CATALOG} cannot be read: no permission to read the file.")
    assert "fix its permissions" in line


def test_inspect_needs_no_catalog_and_still_works(data: Path, profile: tuple[Path, Path]) -> None:
    (data / CATALOG).unlink()
    model = profile[1] / "models/loras/pixel-art.safetensors"
    result = run_main("inspect", str(model), data_dir=data)
    assert result.returncode == 0, result.stderr
    assert "lora / sd1" in result.stdout


def test_a_first_start_still_makes_the_catalog_silently(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    result = run_main("roots", data_dir=data)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (data / CATALOG).stat().st_size > 0


def test_new_catalog_keeps_the_damaged_file_aside_and_starts_empty(data: Path) -> None:
    (data / CATALOG).write_bytes(b"not a database at all")

    made = run_main("new-catalog", "--json", data_dir=data, check=True)
    listed = run_in_process("roots", data_dir=data, check=True)

    answer = json.loads(made.stdout)
    kept = Path(answer["set_aside"][0])
    assert kept.parent == data
    assert kept.name.startswith(f"{CATALOG}.set-aside-")
    assert kept.read_bytes() == b"not a database at all"
    assert answer["message"].startswith(f"Started a new empty library: {data / CATALOG}; the old catalog was")
    assert "No library folders yet" in listed.stdout


def test_new_catalog_from_a_backup_puts_the_library_back(data: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.sqlite3"
    shutil.copyfile(data / CATALOG, backup)
    (data / CATALOG).unlink()

    made = run_main("new-catalog", "--from", str(backup), data_dir=data, check=True)
    found = run_in_process("search", "pixel", data_dir=data, check=True)

    assert made.stdout.strip() == f"Restored the catalog {data / CATALOG} from {backup}."
    assert "pixel-art.safetensors" in found.stdout


def test_new_catalog_from_a_file_that_is_no_catalog_changes_nothing(data: Path, tmp_path: Path) -> None:
    not_a_catalog = tmp_path / "notes.txt"
    not_a_catalog.write_text("hello")
    before = (data / CATALOG).read_bytes()

    line = one_line(run_main("new-catalog", "--from", str(not_a_catalog), data_dir=data), "new-catalog")

    assert line.startswith(f"The catalog {not_a_catalog} is not an Atelier catalog")
    assert (data / CATALOG).read_bytes() == before
    assert sorted(path.name for path in data.iterdir()) == sorted([CATALOG, ID_FILE, "settings.json"])


def test_new_catalog_from_a_newer_ateliers_backup_changes_nothing(data: Path, tmp_path: Path) -> None:
    """Refused before the catalog in place is moved aside (it was set aside and the newer copy put in its
    place, which this Atelier then could not open: found by an outside tester)."""
    backup = tmp_path / "newer.sqlite3"
    shutil.copyfile(data / CATALOG, backup)
    with sqlite3.connect(backup) as newer:
        newer.execute("UPDATE alembic_version SET version_num = '0099'")
    before = (data / CATALOG).read_bytes()

    done = run_main("new-catalog", "--from", str(backup), data_dir=data)
    line = one_line(done, "new-catalog")

    assert done.returncode == 1
    assert line == (
        f"{backup} was written by a newer version of Atelier (schema 0099): update Atelier to restore it, "
        "or choose another file. Nothing was changed."
    )
    assert (data / CATALOG).read_bytes() == before
    assert sorted(path.name for path in data.iterdir()) == sorted([CATALOG, ID_FILE, "settings.json"])
    assert "pixel-art.safetensors" in run_in_process("search", "pixel", data_dir=data, check=True).stdout


def test_another_programs_database_at_the_catalog_path_is_left_byte_for_byte(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    other = sqlite3.connect(data / CATALOG)
    other.execute("CREATE TABLE moz_places (id INTEGER)")
    other.commit()
    other.close()
    before = (data / CATALOG).read_bytes()

    line = one_line(run_main("roots", data_dir=data), "roots")

    assert line.startswith(f"The catalog {data / CATALOG} is an SQLite database of another program")
    assert (data / CATALOG).read_bytes() == before


def test_new_catalog_is_refused_while_the_window_has_the_catalog_open(data: Path) -> None:
    """The outside tester ran `new-catalog` with the window open: the catalog was set aside under it, the
    window went on writing to the moved file, and the next start showed an empty library."""
    import subprocess
    import sys
    import time

    from app.catalog_users import other_users
    from tests.app.main_process import MAIN, ROOT, main_env
    from tests.desktop.fresh_process import DESKTOP_SCREEN, offscreen_platform

    env = main_env({"ATELIER_DATA_DIR": str(data), "QT_QPA_PLATFORM": offscreen_platform(*DESKTOP_SCREEN)})
    window = subprocess.Popen(
        [sys.executable, str(MAIN)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while window.pid not in other_users(data / CATALOG):  # held from the window's first frame on
            assert window.poll() is None, "the window ended"
            assert time.monotonic() < deadline, "the window never held its catalog"
            time.sleep(0.1)
        before = sorted(path.name for path in data.iterdir())
        refused = run_main("new-catalog", data_dir=data)
        assert one_line(refused, "new-catalog") == (
            f"The catalog {data / CATALOG} is open in Atelier (process {window.pid}): close that window "
            "first, then start the new catalog (it would go on writing to the file set aside)."
        )
        assert sorted(path.name for path in data.iterdir()) == before, "nothing set aside"
    finally:
        window.terminate()
        window.wait(timeout=30)
    made = run_main("new-catalog", "--json", data_dir=data, check=True)
    assert json.loads(made.stdout)["set_aside"], "once the window is gone, the catalog is set aside"
