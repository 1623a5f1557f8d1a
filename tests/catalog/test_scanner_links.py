"""The scanner's file identity: (device, inode) stored, and a file reached by links cataloged once.

Real symlinks and hard links in real folders: a symlink (file or folder) into the library adds no row;
a symlink out of the library is cataloged at the link path; a hard link is a real path and keeps its
row; a root that is a link into another root is not walked twice; symlink loops end.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from catalog.library import Library
from catalog.records import AssetQuery
from catalog.scanner import Scanner
from core.taxonomy import FileStatus, LibraryLayout
from tests.factory.safetensors_writer import write_safetensors

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX symlinks and hard links")

LORA = {
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", (4, 320)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ("F16", ()),
}


def _paths(lib: Library) -> list[str]:
    return sorted(record.path for record in lib.search(AssetQuery(limit=1000)))


def _scan(lib: Library) -> None:
    Scanner(lib, workers=1).scan()


def test_device_and_inode_are_stored_and_filled_for_older_rows(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    lora = write_safetensors(root / "a.safetensors", LORA, seed=1)
    lib.add_root(root, LibraryLayout.FLAT)
    _scan(lib)
    st = lora.stat()
    [indexed] = lib.file_index(lib.roots()[0].id).values()
    assert (indexed.device, indexed.inode) == (st.st_dev, st.st_ino)

    # A row cataloged before devices were (device 0) gets it on the next scan without being reread.
    lib.set_devices([(indexed.id, 0)])
    _scan(lib)
    [again] = lib.file_index(lib.roots()[0].id).values()
    assert again.device == st.st_dev


def test_hard_link_is_a_row_symlink_into_the_library_is_not(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    lora = write_safetensors(root / "Lora" / "style.safetensors", LORA, seed=1)
    os.link(lora, root / "Lora" / "style-hardlink.safetensors")
    (root / "Lora" / "style-symlink.safetensors").symlink_to(lora)
    (root / "linked-folder").symlink_to(root / "Lora", target_is_directory=True)
    lib.add_root(root, LibraryLayout.FLAT)

    _scan(lib)

    assert _paths(lib) == sorted([str(lora), str(root / "Lora" / "style-hardlink.safetensors")])
    rows = lib.file_index(lib.roots()[0].id).values()
    assert len({(row.device, row.inode) for row in rows}) == 1


def test_a_root_that_is_a_link_into_another_root_adds_no_rows(lib: Library, tmp_path: Path) -> None:
    shared = tmp_path / "SharedModels"
    write_safetensors(shared / "Lora" / "one.safetensors", LORA, seed=1)
    write_safetensors(shared / "Lora" / "two.safetensors", LORA, seed=2)
    install = tmp_path / "stable-diffusion-webui"
    (install / "models").mkdir(parents=True)
    (install / "models" / "Lora").symlink_to(shared / "Lora", target_is_directory=True)
    lib.add_root(shared, LibraryLayout.FLAT)
    lib.add_root(install, LibraryLayout.A1111)
    # A library folder that a tool later replaced by a link into another library folder.
    linked_root = tmp_path / "loras-link"
    linked_root.mkdir()
    lib.add_root(linked_root, LibraryLayout.FLAT)
    linked_root.rmdir()
    linked_root.symlink_to(shared / "Lora", target_is_directory=True)

    summary = Scanner(lib, workers=1).scan()
    _scan(lib)  # and again: a rescan changes nothing

    assert _paths(lib) == [str(shared / "Lora" / "one.safetensors"), str(shared / "Lora" / "two.safetensors")]
    assert any("a link into the library folder" in problem for problem in summary.problems)


def test_links_out_of_the_library_are_cataloged_at_the_link_path(lib: Library, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside_file = write_safetensors(outside / "files" / "far.safetensors", LORA, seed=3)
    write_safetensors(outside / "folder" / "deep.safetensors", LORA, seed=4)
    (outside / "folder" / "loop").symlink_to(outside / "folder", target_is_directory=True)
    root = tmp_path / "lib"
    root.mkdir()
    (root / "far.safetensors").symlink_to(outside_file)
    (root / "linked").symlink_to(outside / "folder", target_is_directory=True)
    (root / "self").symlink_to(root, target_is_directory=True)
    (root / "dangling.safetensors").symlink_to(tmp_path / "nothing.safetensors")
    lib.add_root(root, LibraryLayout.FLAT)

    _scan(lib)

    # The link to nothing is there with a model's name: cataloged as unreadable, saying where it points.
    assert _paths(lib) == [
        str(root / "dangling.safetensors"),
        str(root / "far.safetensors"),
        str(root / "linked" / "deep.safetensors"),
    ]
    dangling = lib.get_by_path(root / "dangling.safetensors")
    assert dangling is not None
    assert dangling.status is FileStatus.UNREADABLE
    target = tmp_path / "nothing.safetensors"
    assert dangling.status_reason == f"a symbolic link to {target}, which does not exist"
