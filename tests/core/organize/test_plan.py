"""The move planner, as data: conflicts (taken names, two files to one name, companions, a folder into
itself, names too long for a disk), numbered names on request, unchanged files, case-only renames."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.organize.plan import (
    REASON_EXISTS,
    REASON_INSIDE,
    REASON_TAKEN,
    REASON_TOO_LONG,
    numbered,
    plan_moves,
)

LIB = Path("/lib")


def _exists(*paths: Path) -> Callable[[Path], bool]:
    taken = set(paths)
    return lambda path: path in taken


def _companions(mapping: dict[Path, list[Path]]) -> Callable[[Path], list[Path]]:
    return lambda path: mapping.get(path, [])


def test_a_move_carries_its_companions_to_the_new_stem() -> None:
    source = LIB / "a" / "x.safetensors"
    plan = plan_moves(
        [(1, source, LIB / "b" / "y.safetensors")],
        exists=_exists(),
        companions=_companions({source: [LIB / "a" / "x.preview.png", LIB / "a" / "x.civitai.info"]}),
    )
    (move,) = plan.moves
    assert move.companions == (
        (LIB / "a" / "x.preview.png", LIB / "b" / "y.preview.png"),
        (LIB / "a" / "x.civitai.info", LIB / "b" / "y.civitai.info"),
    )
    assert (plan.move_count, plan.file_count, plan.conflict_count, plan.is_empty) == (1, 3, 0, False)


def test_conflicts_of_every_kind() -> None:
    taken = LIB / "b" / "taken.safetensors"
    with_preview = LIB / "a" / "p.safetensors"
    folder = LIB / "pipeline"
    plan = plan_moves(
        [
            (1, LIB / "a" / "taken.safetensors", taken),
            (2, LIB / "a" / "one.safetensors", LIB / "b" / "same.safetensors"),
            (3, LIB / "c" / "two.safetensors", LIB / "b" / "same.safetensors"),
            (4, with_preview, LIB / "b" / "p.safetensors"),
            (5, folder, folder / "inner"),
            (6, LIB / "a" / "long.safetensors", LIB / "b" / ("é" * 130 + ".safetensors")),
        ],
        exists=_exists(taken, LIB / "b" / "p.preview.png"),
        companions=_companions({with_preview: [LIB / "a" / "p.preview.png"]}),
    )
    assert [move.asset_id for move in plan.moves] == [2]
    codes = {conflict.asset_id: conflict.code for conflict in plan.conflicts}
    assert codes == {
        1: REASON_EXISTS,
        3: REASON_TAKEN,
        4: REASON_EXISTS,
        5: REASON_INSIDE,
        6: REASON_TOO_LONG,
    }
    reasons = {conflict.asset_id: conflict.reason for conflict in plan.conflicts}
    assert reasons[4] == f"{LIB / 'b' / 'p.preview.png'} already exists"
    assert "longer than 255 bytes" in reasons[6]


def test_a_companion_name_too_long_is_a_conflict_even_when_the_model_name_fits() -> None:
    source = LIB / "m.safetensors"
    stem = "a" * 240
    plan = plan_moves(
        [(1, source, LIB / f"{stem}.safetensors")],  # 252 bytes: fits
        exists=_exists(),
        companions=_companions({source: [LIB / "m.civitai.info"]}),  # its .civitai.info: 253 bytes
    )
    assert not plan.conflicts
    plan = plan_moves(
        [(1, source, LIB / f"{stem}xxx.safetensors")],  # 255 bytes: fits; its .civitai.info does not
        exists=_exists(),
        companions=_companions({source: [LIB / "m.civitai.info"]}),
    )
    assert [c.code for c in plan.conflicts] == [REASON_TOO_LONG]


def test_rename_conflicts_numbers_the_name_and_its_companions() -> None:
    source = LIB / "a" / "x.safetensors"
    plan = plan_moves(
        [
            (1, source, LIB / "b" / "x.safetensors"),
            (2, LIB / "c" / "x.safetensors", LIB / "b" / "x.safetensors"),
        ],
        exists=_exists(LIB / "b" / "x.safetensors", LIB / "b" / "x (2).preview.png"),
        companions=_companions({source: [LIB / "a" / "x.preview.png"]}),
        rename_conflicts=True,
    )
    assert not plan.conflicts
    assert [move.target.name for move in plan.moves] == ["x (3).safetensors", "x (2).safetensors"]
    assert plan.moves[0].companions[0][1].name == "x (3).preview.png"


def test_numbered_names_keep_the_model_extension_and_folders_get_it_at_the_end() -> None:
    assert numbered(Path("/a/model.v2.safetensors"), 2) == Path("/a/model.v2 (2).safetensors")
    assert numbered(Path("/a/pipeline"), 3) == Path("/a/pipeline (3)")


def test_unchanged_and_case_only_renames() -> None:
    same = LIB / "x.safetensors"
    upper = LIB / "X.safetensors"
    plan = plan_moves([(1, same, same), (2, same, upper)], exists=_exists(same, upper))
    assert plan.unchanged == (1,)
    assert [move.target for move in plan.moves] == [upper]  # the same file on a case-insensitive disk
    strict = plan_moves([(2, same, upper)], exists=_exists(same, upper), same_file=lambda a, b: False)
    assert [c.code for c in strict.conflicts] == [REASON_EXISTS]  # two files on a case-sensitive disk
