"""Machine B undoes a delete machine A made in a shared folder, on real files: the file comes back where
B reaches the share and the row with A's data at the shared path (``catalog.step_paths``); a folder B
never mapped, and a file in a trash only A reaches, are each refused in one line
(``app.organize.shared_steps``). On one SQLite file opened as two machines, and on a PostgreSQL server.

B reaches A's store ``nas/sd`` through ``mnt/b/sd``, a link to it (the same files at another path, as a
share mounted elsewhere shows them). Both use the test's own trash, as both reach the share's own trash.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.organize.engine import delete_assets, undo
from catalog.catalog_url import create_server_engine, parse
from catalog.library import Library
from catalog.machine_paths import Machine
from catalog.records import UserDataChanges
from catalog.scanner import Scanner
from core.organize.errors import OrganizeError
from tests.app.organize.ops_library import linked_lora, own_trash

A = Machine("0a0a0a0a-0000-4000-8000-00000000000a", "studio-a")
B = Machine("0b0b0b0b-0000-4000-8000-00000000000b", "studio-b")


@pytest.fixture(params=["sqlite", "postgresql"])
def open_as(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[Machine], Library]]:
    """Opens the one shared catalog as a machine (as tests/catalog's fixture of the same name)."""
    url = request.getfixturevalue("pg_catalog_url") if request.param == "postgresql" else None
    opened: list[Library] = []

    def open_machine(machine: Machine) -> Library:
        if url is None:
            library = Library.open(tmp_path / "shared" / "catalog.sqlite3", machine)
        else:
            location = parse(url)
            assert location.url is not None
            data = tmp_path / machine.name  # the machine's data folder (its operation lock lives there)
            data.mkdir(exist_ok=True)
            library = Library.on_server(create_server_engine(location.url), data, url, machine)
        opened.append(library)
        return library

    yield open_machine
    for library in opened:
        library.close()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    folder = tmp_path / "nas" / "sd"
    linked_lora(folder)
    return folder


def _deleted_on_a(open_as: Callable[[Machine], Library], store: Path) -> tuple[Library, int, int]:
    """A adds, scans, tags and deletes the LoRA; returns A, the asset id and the delete's operation."""
    a = open_as(A)
    a.add_root(store, name="NAS")
    Scanner(a, workers=1).scan()
    model = a.get_by_path(store / "detail_tweaker.safetensors")
    assert model is not None
    a.update_user_data(model.id, UserDataChanges(notes="weight 0.6", tags=("detail",)))
    result = delete_assets(a, [model.id])
    assert result.done == 1
    assert not (store / "detail_tweaker.safetensors").exists()
    return a, model.id, result.operation_id


def test_b_undoes_as_delete_at_its_own_path_and_a_sees_the_file_back(
    open_as: Callable[[Machine], Library], store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_trash(monkeypatch, tmp_path / "xdg")
    a, asset_id, operation = _deleted_on_a(open_as, store)
    mount = tmp_path / "mnt" / "b" / "sd"
    mount.parent.mkdir(parents=True)
    mount.symlink_to(store, target_is_directory=True)
    b = open_as(B)
    b.map_root("NAS", mount)
    (step,) = b.operation_steps(operation)
    assert step.source == str(mount / "detail_tweaker.safetensors")
    assert step.detail["trashed"][0]["original"] == str(mount / "detail_tweaker.safetensors")
    assert step.detail["snapshot"]["asset"]["path"] == str(mount / "detail_tweaker.safetensors")
    (deleted,) = b.deleted_files()
    assert deleted.path == str(mount / "detail_tweaker.safetensors")

    result = undo(b, operation)

    assert result.done == 1
    assert sorted(p.name for p in store.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    on_b, on_a = b.get(asset_id), a.get(asset_id)
    assert on_b is not None
    assert on_a is not None
    assert on_b.path == str(mount / "detail_tweaker.safetensors")
    assert on_a.path == str(store / "detail_tweaker.safetensors")
    assert (on_a.notes, on_a.tags) == ("weight 0.6", ("detail",))
    assert [p.path for p in a.previews(asset_id)] == [str(store / "detail_tweaker.preview.png")]
    assert a.deleted_files() == []


def test_b_is_told_to_map_the_shared_folder_first(
    open_as: Callable[[Machine], Library], store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_trash(monkeypatch, tmp_path / "xdg")
    _a, _asset_id, operation = _deleted_on_a(open_as, store)
    b = open_as(B)
    b.map_root("NAS", store)  # ... as another machine maps it: then B forgets its path again
    b.unmap_root("NAS")
    other = open_as(Machine("0c0c0c0c-0000-4000-8000-00000000000c", "studio-c"))

    with pytest.raises(OrganizeError) as refused:
        undo(other, operation)

    assert str(refused.value) == (
        "detail_tweaker.safetensors is in the shared folder 'NAS', which is not mapped on this machine: say "
        "where it is here (atelier roots map NAS PATH), then undo again"
    )
    assert not (store / "detail_tweaker.safetensors").exists()


def test_a_file_in_a_trash_only_a_reaches_is_refused_with_as_name(
    open_as: Callable[[Machine], Library], store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_trash(monkeypatch, tmp_path / "xdg-a")
    _a, asset_id, operation = _deleted_on_a(open_as, store)
    (tmp_path / "xdg-a").rename(tmp_path / "on-a-only")  # A's home trash: not on B's disks
    own_trash(monkeypatch, tmp_path / "xdg-b")
    mount = tmp_path / "mnt" / "b" / "sd"
    shutil.copytree(store, mount)  # what B sees of the share (the other files are still there)
    b = open_as(B)
    b.map_root("NAS", mount, force=True)  # the share holds only the companions here: nothing known

    history = b.recent_operations(10)
    with pytest.raises(OrganizeError) as refused:
        undo(b, operation)

    assert str(refused.value) == (
        "detail_tweaker.safetensors is not in a trash this machine can reach: it was deleted on "
        "studio-a, whose trash holds it; undo it there (or restore it from that trash)"
    )
    assert b.recent_operations(10) == history, "refused before anything ran: no failed undo recorded"
    assert b.get(asset_id) is None
