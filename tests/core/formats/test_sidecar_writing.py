"""Reading the A1111 sidecar that "Write sidecars" merges into: a stranger's file is read strictly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.formats.sidecar_writing import SidecarWriteError, read_json_object


def test_a_missing_or_empty_sidecar_is_an_empty_object(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("  \n")

    assert read_json_object(tmp_path / "missing.json") == {}
    assert read_json_object(tmp_path / "empty.json") == {}


def test_the_users_object_is_read_as_is(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"notes": "mine", "custom": [1, 2.5]}')

    assert read_json_object(tmp_path / "m.json") == {"notes": "mine", "custom": [1, 2.5]}


def test_a_named_pipe_with_the_sidecars_name_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "m.json")

    with pytest.raises(
        SidecarWriteError, match=r"^m\.json: a named pipe \(FIFO\), not a file; .*left unchanged$"
    ):
        read_json_object(tmp_path / "m.json")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"preferred weight": NaN}', "m.json holds NaN, which is not a JSON number; left unchanged"),
        (
            '{"n": 1' + "0" * 5000 + "}",
            "m.json holds an integer of 5,001 digits, too large to store; left unchanged",
        ),
        ("[" * 100_000 + "]" * 100_000, "m.json is nested more than 100 levels deep; left unchanged"),
    ],
)
def test_json_that_cannot_be_merged_faithfully_leaves_the_file_alone(
    tmp_path: Path, text: str, reason: str
) -> None:
    (tmp_path / "m.json").write_text(text)

    with pytest.raises(SidecarWriteError) as caught:
        read_json_object(tmp_path / "m.json")

    assert str(caught.value) == reason
