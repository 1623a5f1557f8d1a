"""``copy-catalog --to FILE`` without ``--from`` copies the catalog the command runs on: a profile on a
server (``--catalog URL``) copies the server's library, and leaves no empty catalog file in its data
folder; a ``--from`` file that is not there is one line, and no file is made for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import EXIT_OK, main
from catalog.library import Library


def test_a_server_profile_copies_the_server_catalog_and_leaves_no_stray_file(
    tmp_path: Path, pg_catalog_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    store = tmp_path / "nas" / "sd"
    store.mkdir(parents=True)
    on_server = ["--data-dir", str(data), "--catalog", pg_catalog_url]
    assert main([*on_server, "roots", "add", str(store), "--name", "NAS"]) == EXIT_OK
    capsys.readouterr()
    out = tmp_path / "offline" / "catalog.sqlite3"
    assert main([*on_server, "copy-catalog", "--to", str(out)]) == EXIT_OK
    printed = capsys.readouterr()
    assert printed.err == ""
    assert printed.out.rstrip().endswith(f"to {out}.")
    assert "postgresql://" in printed.out
    with Library.open(out) as copy:
        assert [(root.name, root.path) for root in copy.roots()] == [("NAS", str(store))]
    assert not (data / "catalog.sqlite3").exists()


def test_a_from_file_that_is_not_there_is_one_line_and_makes_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "catalog.sqlite3"
    code = main(
        ["--data-dir", str(tmp_path / "data"), "copy-catalog", "--from", str(missing), "--to", "x.db"]
    )
    printed = capsys.readouterr()
    assert code != EXIT_OK
    assert printed.err.splitlines() == [
        f"atelier copy-catalog: There is no catalog at {missing} to copy from: give one with --from."
    ]
    assert not missing.parent.exists()
    assert not Path("x.db").exists()
