"""Mirrors on a catalog two machines share, on real files: a machine's sync makes and changes only its
own mirrors' entries (``catalog.mirrors``: a mirror belongs to the machine that made it). The catalog
side runs on both catalogs in tests/catalog/test_mirrors_per_machine.py; here one SQLite file is opened
as two machines, as two Ateliers sharing it would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.organize.mirror import create_mirror, sync_mirrors
from catalog.library import Library
from catalog.machine_paths import Machine
from catalog.scanner import Scanner
from core.organize.mirror_plan import MirrorMode, MirrorUI
from core.taxonomy import LibraryLayout
from tests.app.organize.mirror_library import a1111_install
from tests.app.organize.test_mirror import entries_of

A = Machine("0a0a0a0a-0000-4000-8000-00000000000a", "studio-a")
B = Machine("0b0b0b0b-0000-4000-8000-00000000000b", "studio-b")


@pytest.fixture
def machines(tmp_path: Path) -> Iterator[tuple[Library, Library]]:
    """Machine A adds and scans an A1111 install; machine B maps it (the same folder here: one disk)."""
    webui = a1111_install(tmp_path / "webui")
    catalog = tmp_path / "shared" / "catalog.sqlite3"
    with Library.open(catalog, A) as a, Library.open(catalog, B) as b:
        a.add_root(webui, LibraryLayout.A1111, name="webui")
        Scanner(a).scan()
        b.map_root("webui", webui)
        yield a, b


def test_a_sync_on_one_machine_leaves_the_other_machines_mirror_alone(
    tmp_path: Path, machines: tuple[Library, Library]
) -> None:
    a, b = machines
    of_a = create_mirror(a, MirrorUI.COMFYUI, MirrorMode.SYMLINK, tmp_path / "a" / "ComfyUI")
    assert len(sync_mirrors(a).reports) == 1
    made_on_a = entries_of(tmp_path / "a" / "ComfyUI")
    assert len(made_on_a) == 5
    synced = a.mirror(of_a.id)

    (tmp_path / "a" / "ComfyUI" / "models" / "loras" / "pixel.safetensors").unlink()  # A's entry gone
    assert sync_mirrors(b).reports == []  # B has no mirror: it neither remakes nor forgets A's entry
    assert a.mirror(of_a.id) == synced
    assert len(a.mirror_entries(of_a.id)) == 5

    of_b = create_mirror(b, MirrorUI.A1111, MirrorMode.HARDLINK, tmp_path / "b" / "forge")
    (report,) = sync_mirrors(b).reports
    assert report.mirror_id == of_b.id
    assert report.added == 5
    assert not (tmp_path / "a" / "ComfyUI" / "models" / "loras" / "pixel.safetensors").exists()
    assert [m.id for m in a.mirrors()] == [of_a.id]
    assert [m.id for m in b.mirrors()] == [of_b.id]

    (again,) = sync_mirrors(a).reports  # A's own sync remakes its entry and leaves B's mirror alone
    assert again.mirror_id == of_a.id
    assert again.added == 1
    assert b.mirror(of_b.id).report == report.to_json()
