"""The layout of a folder several machines use follows only a folder that holds its files: a machine that
mapped it to the wrong place (``--force``) or whose share is not mounted (an empty folder reads as flat)
adding or scanning it by path leaves the layout every machine downloads into as it was. On a real
PostgreSQL server and on one SQLite file opened twice (``open_as``)."""

from __future__ import annotations

from pathlib import Path

from catalog.scanner import Scanner
from core.taxonomy import LibraryLayout
from tests.catalog.shared_machines import A, B, Opener
from tests.factory.safetensors_writer import write_safetensors


def _a1111(folder: Path) -> Path:
    for number in range(3):
        write_safetensors(
            folder / "models" / "Lora" / f"l{number}.safetensors", {"w": ("F16", (4, 4))}, seed=number
        )
    return folder


def test_a_wrongly_mapped_or_empty_folder_does_not_change_the_shared_layout(
    open_as: Opener, tmp_path: Path
) -> None:
    store = _a1111(tmp_path / "nas" / "sd")
    a = open_as(A)
    a.add_root(store, LibraryLayout.A1111, name="NAS")
    Scanner(a, workers=1).scan()
    b = open_as(B)
    wrong = tmp_path / "b" / "Downloads"
    write_safetensors(wrong / "mine.safetensors", {"w": ("F16", (2, 2))}, seed=9)
    b.map_root("NAS", wrong, force=True)
    assert b.add_root(wrong, LibraryLayout.FLAT).layout is LibraryLayout.A1111
    assert [root.layout for root in a.roots()] == [LibraryLayout.A1111]
    empty = tmp_path / "b" / "mnt"
    empty.mkdir()
    b.map_root("NAS", empty, force=True)
    assert b.add_root(empty, LibraryLayout.FLAT).layout is LibraryLayout.A1111
    # B's folder that holds the files may set it (the same folder, laid out as it is).
    b.map_root("NAS", store)
    assert b.add_root(store, LibraryLayout.COMFYUI).layout is LibraryLayout.COMFYUI


def test_a_machines_own_folder_follows_what_is_there(open_as: Opener, tmp_path: Path) -> None:
    store = _a1111(tmp_path / "mine")
    a = open_as(A)
    a.add_root(store, LibraryLayout.A1111, name="Mine")
    assert a.add_root(store, LibraryLayout.FLAT).layout is LibraryLayout.FLAT
