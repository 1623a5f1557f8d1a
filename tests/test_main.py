"""``main.py``'s own reading of a command line that only opens the window (the rest is ``app.cli``'s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import parse_command_line
from main import window_start


@pytest.mark.parametrize(
    ("args", "data_dir"),
    [
        ([], None),
        (["--data-dir", "/tmp/profile"], "/tmp/profile"),
        (["--data-dir=/tmp/profile"], "/tmp/profile"),
        (["--data-dir", "profile with spaces"], "profile with spaces"),
        (["--data-dir=-odd"], "-odd"),
    ],
)
def test_a_window_start_is_read_as_the_parser_reads_it(args: list[str], data_dir: str | None) -> None:
    """What main.py reads without the parser is what the parser reads: no command, the same folder."""
    assert window_start(args) == (True, data_dir)
    parsed = parse_command_line(args)
    assert parsed.command is None
    assert getattr(parsed, "data_dir", None) == data_dir


@pytest.mark.parametrize(
    "args",
    [
        ["search", "pixel"],
        ["--data-dir", "/tmp/profile", "search"],
        ["search", "--data-dir", "/tmp/profile"],
        ["--help"],
        ["-h"],
        ["--data-dir"],
        ["--data-dir", ""],
        ["--data-dir="],
        ["--data-dir", "-x"],
        ["--data", "/tmp/profile"],
        ["--data-dir", "/a", "--data-dir", "/b"],
        ["/tmp/profile"],
    ],
)
def test_anything_else_is_left_to_the_parser(args: list[str]) -> None:
    """Commands, help, abbreviations and mistakes go to ``app.cli``, which answers them as always."""
    assert window_start(args) == (False, None)


def test_the_window_opens_the_catalog_named_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``main.py --catalog URL`` opens the window on that server's catalog, as every command does (it
    opened the data folder's own file before)."""
    import desktop.launch
    import main

    opened: list[tuple[object, object]] = []

    def launch_gui(data_dir: object, _argv: list[str], *, catalog: str | None = None) -> int:
        opened.append((data_dir, catalog))
        return 0

    monkeypatch.setattr(desktop.launch, "launch_gui", launch_gui)
    url = "postgresql://team@db.example:5432/atelier"
    assert main.main(["--data-dir", str(tmp_path), "--catalog", url]) == 0
    assert opened == [(str(tmp_path), url)]


def test_a_catalog_url_naming_no_usable_database_is_one_line_not_a_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from desktop.launch import launch_gui

    assert launch_gui(tmp_path, ["atelier"], catalog="mysql://team@db.example/atelier") == 2
    error = capsys.readouterr().err
    assert error.startswith("atelier: Atelier keeps its catalog in SQLite or PostgreSQL, not mysql")
    assert "Traceback" not in error
