"""File names that are not UTF-8, and names of 255 bytes, are cataloged, found again and shown.

Linux names are bytes; Python hands the bytes that are not UTF-8 over as lone surrogates, which SQLite
refuses. ``catalog.path_text`` stores them reversibly: the properties below check that over arbitrary
byte names, and the scans check it on real files, in this process and in worker processes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.hashing_job import hash_pending
from catalog.library import Library
from catalog.path_text import ESCAPE, from_stored, shown, to_stored
from catalog.records import AssetQuery
from catalog.scanner import Scanner
from catalog.template_rows import TemplateScope
from core.layouts import is_ignored_file
from core.taxonomy import FileStatus, LibraryLayout
from tests.catalog.conftest import scanned
from tests.factory.safetensors_writer import write_safetensors

LORA = {
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", (4, 320)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ("F16", ()),
}
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
# A file name's bytes: anything but "/" and NUL.
NAME_BYTES = st.binary(min_size=1, max_size=60).map(lambda raw: raw.replace(b"/", b"_").replace(b"\0", b"_"))
SETTINGS = settings(max_examples=300, deadline=None, database=None, derandomize=True)

NOT_UTF8 = os.fsdecode(b"\xff\xfe caf\xe9 \x80.safetensors")  # Latin-1 bytes, as an old archive leaves them
LONGEST = "l" * (255 - len(".safetensors")) + ".safetensors"  # 255 bytes: its ".aria2" cannot exist


@SETTINGS
@given(ANY_TEXT)
def test_every_string_is_stored_as_valid_unicode_and_comes_back_exactly(value: str) -> None:
    stored = to_stored(value)
    stored.encode("utf-8")  # what SQLite needs: no lone surrogate left
    assert from_stored(stored) == value


@SETTINGS
@given(NAME_BYTES, NAME_BYTES)
def test_any_byte_name_round_trips_and_a_folder_stays_a_prefix(folder: bytes, name: bytes) -> None:
    path = os.fsdecode(b"/" + folder + b"/" + name)
    assert os.fsencode(from_stored(to_stored(path))) == b"/" + folder + b"/" + name
    # Stored paths under a stored folder start with it, so "path LIKE folder || '/%'" finds them.
    assert to_stored(path).startswith(to_stored(os.fsdecode(b"/" + folder + b"/")))


def test_real_characters_of_the_reserved_range_are_kept_apart_from_escaped_bytes() -> None:
    reserved = "\U0010fcff"  # where the escaped byte 0xff lands
    assert to_stored("\udcff") == reserved
    assert to_stored(reserved) == ESCAPE + reserved
    assert from_stored(to_stored(reserved + "\udcff" + ESCAPE)) == reserved + "\udcff" + ESCAPE
    assert to_stored("plain/ascii.safetensors") == "plain/ascii.safetensors"


def test_names_are_shown_with_a_replacement_character() -> None:
    assert shown(NOT_UTF8) == "\ufffd\ufffd caf\ufffd \ufffd.safetensors"
    assert shown("Änderung.safetensors") == "Änderung.safetensors"


@settings(
    max_examples=20,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one catalog, a fresh folder per example
)
@given(st.lists(NAME_BYTES, min_size=1, max_size=5, unique=True))
def test_the_catalog_stores_and_finds_any_byte_name(
    lib: Library, tmp_path_factory: pytest.TempPathFactory, names: list[bytes]
) -> None:
    folder = tmp_path_factory.mktemp("names")
    root = lib.add_root(folder, LibraryLayout.FLAT)
    paths = [os.fsdecode(os.fsencode(folder) + b"/" + name + b".safetensors") for name in names]
    ids = lib.apply_scan_batch(root.id, [scanned(path) for path in paths])
    for asset_id, path in zip(ids, paths, strict=True):
        record = lib.get(asset_id)
        assert record is not None
        assert record.path == path
        assert lib.get_by_path(path) == record
    assert set(lib.file_index(root.id)) == set(paths)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "mode", [{"workers": 1}, {"workers": 2, "parallel_threshold": 1}], ids=["in_process", "workers"]
)
def test_odd_names_are_scanned_found_and_rescanned_unchanged(
    lib: Library, tmp_path: Path, mode: dict[str, int]
) -> None:
    root = tmp_path / "lib"
    write_safetensors(root / NOT_UTF8, LORA, seed=1)
    write_safetensors(root / LONGEST, LORA, seed=2)
    write_safetensors(root / "plain.safetensors", LORA, seed=3)
    (root / os.fsdecode(b"sub\xff")).mkdir()
    write_safetensors(root / os.fsdecode(b"sub\xff") / "inside.safetensors", LORA, seed=4)
    lib.add_root(root, LibraryLayout.FLAT)

    summary = Scanner(lib, **mode).scan()  # type: ignore[arg-type]

    assert (summary.new, summary.problems) == (4, [])
    for path in (root / NOT_UTF8, root / LONGEST, root / os.fsdecode(b"sub\xff") / "inside.safetensors"):
        record = lib.get_by_path(path)
        assert record is not None, path
        assert record.status is FileStatus.OK
        assert record.kind.value == "lora"
        assert record.path == str(path)
    assert {r.file_name for r in lib.search(AssetQuery(text="caf", limit=10))} == {NOT_UTF8}
    again = Scanner(lib, **mode).scan()  # type: ignore[arg-type]
    assert (again.unchanged, again.new, again.changed, again.missing) == (4, 0, 0, 0)


def test_a_255_byte_name_is_checked_for_aria2_without_asking_the_file_system(tmp_path: Path) -> None:
    path = tmp_path / LONGEST
    assert is_ignored_file(path) is False  # "<name>.aria2" is too long to exist: no ENAMETOOLONG
    assert is_ignored_file(path, frozenset({LONGEST})) is False
    assert is_ignored_file(path, frozenset({LONGEST, LONGEST + ".aria2"})) is True


@pytest.mark.timeout(60)
def test_raw_sql_readers_give_back_the_real_names(lib: Library, tmp_path: Path) -> None:
    """Duplicates and organize templates read paths with hand-written SQL: they decode them too."""
    root = tmp_path / os.fsdecode(b"lib\xe9")
    first = write_safetensors(root / NOT_UTF8, LORA, seed=1)
    second = root / os.fsdecode(b"copy \xff.safetensors")
    second.write_bytes(first.read_bytes())
    lib.add_root(root, LibraryLayout.FLAT)
    Scanner(lib, workers=1).scan()
    hash_pending(lib, workers=1)

    (group,) = lib.duplicate_groups()
    paths = {entry.path for file in group.files for entry in file.paths}
    assert paths == {str(first), str(second)}
    assert {entry.root_path for file in group.files for entry in file.paths} == {str(root)}
    sub = root / os.fsdecode(b"sub \xfe")
    write_safetensors(sub / "inner.safetensors", LORA, seed=3)
    Scanner(lib, workers=1).scan()
    # The sidebar's folder filter compares the stored text of the folder.
    assert [r.path for r in lib.search(AssetQuery(folder=str(sub), limit=10))] == [
        str(sub / "inner.safetensors")
    ]
    assert len(lib.search(AssetQuery(folder=str(root), limit=10))) == 3
    rows = [row for row in lib.template_rows(TemplateScope()) if row.path != str(sub / "inner.safetensors")]
    assert {(row.path, row.file_name) for row in rows} == {(str(first), NOT_UTF8), (str(second), second.name)}
