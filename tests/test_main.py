"""``main.py``'s own reading of a command line that only opens the window (the rest is ``app.cli``'s)."""

from __future__ import annotations

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
