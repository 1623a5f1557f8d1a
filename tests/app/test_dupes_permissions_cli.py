"""``dupes --resolve`` and permissions, and which file is kept, through the CLI's entry point (in this
process, as ``test_dupes_cli``: the tests are about what the commands do to the files) on real files.

A hard link is one file: linking a copy whose permissions differ from the kept file's would give it the
kept file's (the tester's 644 copy came back ``----------`` after an undo). Such a copy is left as it is,
with the reason; an undo of a symbolic-link resolution gives each copy its own permissions back. The file
kept by default, after the kind folder and the user's data, is the oldest by the date the list shows.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from tests.app.in_process import run_in_process as run_main
from tests.app.organize.template_library import write_lora

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions and links")


def _copies(tmp_path: Path) -> tuple[dict[str, str | None], Path, Path]:
    """One LoRA in ``a`` (scanned first: the lower id) and a byte-identical copy in ``b``."""
    first = write_lora(tmp_path / "a" / "detail.safetensors", "detail")
    second = tmp_path / "b" / "detail-copy.safetensors"
    second.parent.mkdir()
    shutil.copyfile(first, second)
    env: dict[str, str | None] = {
        "ATELIER_DATA_DIR": str(tmp_path / "data"),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "ATELIER_CIVITAI_URL": "http://127.0.0.1:9",  # no lookups leave the machine
    }
    return env, first, second


def _scan(env: dict[str, str | None], *folders: Path) -> None:
    run_main("scan", *map(str, folders), "--no-lookup", env=env, check=True)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_copy_whose_permissions_differ_is_not_hard_linked(tmp_path: Path) -> None:
    env, first, second = _copies(tmp_path)
    first.chmod(0o600)  # private
    second.chmod(0o644)  # readable by everyone: linked, it would become private
    _scan(env, first.parent, second.parent)

    result = run_main("dupes", "--resolve", "hardlink", "--yes", "--json", env=env, check=True)

    (group,) = json.loads(result.stdout)["plan"]["groups"]
    (refused,) = group["refused"]
    assert refused["path"] == str(second)
    assert refused["reason"] == (
        f"its permissions (644) differ from those of {first} (600): a hard link would give it the kept "
        "file's; make them alike (chmod), or use symlink or trash"
    )
    assert first.stat().st_ino != second.stat().st_ino
    assert (_mode(first), _mode(second)) == (0o600, 0o644)


def test_undo_of_a_link_gives_each_copy_its_own_permissions_back(tmp_path: Path) -> None:
    env, first, second = _copies(tmp_path)
    first.chmod(0o600)
    second.chmod(0o644)
    _scan(env, first.parent, second.parent)
    run_main("dupes", "--resolve", "symlink", "--yes", env=env, check=True)
    assert second.is_symlink()

    run_main("undo", env=env, check=True)

    assert not second.is_symlink()
    assert second.read_bytes() == first.read_bytes()
    assert (_mode(first), _mode(second)) == (0o600, 0o644), "each its own, not the kept file's"


def test_the_oldest_file_is_kept_whatever_was_scanned_first(tmp_path: Path) -> None:
    env, first, second = _copies(tmp_path)
    os.utime(first, (1_800_000_000, 1_800_000_000))  # the first scanned (lowest id) is the newer file
    os.utime(second, (1_700_000_000, 1_700_000_000))
    _scan(env, first.parent)
    _scan(env, second.parent)

    (group,) = json.loads(run_main("dupes", "--json", env=env, check=True).stdout)["groups"]

    kept = [item["path"] for item in group["files"] if item["keep"]]
    assert kept == [str(second)]
    resolved = run_main("dupes", "--resolve", "trash", "--yes", "--json", env=env, check=True)
    assert json.loads(resolved.stdout)["plan"]["groups"][0]["keep"]["path"] == str(second)
    assert second.is_file()
    assert not first.exists()


@pytest.mark.parametrize("resolution", ["hardlink", "symlink"])
def test_undo_of_a_link_gives_each_copy_its_own_date_back(tmp_path: Path, resolution: str) -> None:
    """The undo's copy is made from the kept file (``copy2``: its date too); the copy's own date decides
    which file a later ``dupes`` keeps (the oldest), so it must come back as it was."""
    env, first, second = _copies(tmp_path)
    os.utime(first, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))  # the older: kept
    os.utime(second, ns=(1_800_000_000_000_000_000, 1_800_000_000_123_456_789))
    _scan(env, first.parent, second.parent)
    run_main("dupes", "--resolve", resolution, "--yes", env=env, check=True)
    assert second.stat().st_ino == first.stat().st_ino or second.is_symlink()

    run_main("undo", env=env, check=True)

    assert not second.is_symlink()
    assert second.stat().st_ino != first.stat().st_ino
    assert (first.stat().st_mtime_ns, second.stat().st_mtime_ns) == (
        1_700_000_000_000_000_000,
        1_800_000_000_123_456_789,
    )
    (group,) = json.loads(run_main("dupes", "--json", env=env, check=True).stdout)["groups"]
    assert [item["path"] for item in group["files"] if item["keep"]] == [str(first)]
