"""Two machines, one catalog, one model store reached at a different path on each (catalog.machine_paths).

Each test runs on a real PostgreSQL server (two Library objects with their own engines, as two Ateliers)
and on one SQLite file opened twice. Machine A reaches the store at its real folder; machine B at a
symlink to it, a second path to the same files as a mount of a NAS would be.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from catalog.catalog_url import create_server_engine, parse
from catalog.errors import ConflictError, InvalidValueError, NotFoundError
from catalog.hashing_job import hash_pending
from catalog.library import Library
from catalog.records import AssetQuery, UserDataChanges
from catalog.scanner import Scanner
from tests.catalog.shared_machines import A, B, Opener
from tests.factory.safetensors_writer import write_safetensors

FILES = ("style.safetensors", "Lora/detail.safetensors", "Lora/ink.safetensors")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    folder = tmp_path / "nas" / "sd"
    for seed, name in enumerate(FILES):
        write_safetensors(folder / name, {"w": ("F16", (8, 8))}, seed=seed)
    return folder


@pytest.fixture
def mount(tmp_path: Path, store: Path) -> Path:
    """Machine B's path to the store."""
    link = tmp_path / "mnt" / "models"
    link.parent.mkdir()
    link.symlink_to(store, target_is_directory=True)
    return link


def _scan(library: Library) -> tuple[int, int, int]:
    summary = Scanner(library, workers=1).scan()
    assert not summary.problems, summary.problems
    return summary.new, summary.changed, summary.unchanged


def _paths(library: Library) -> dict[int, str]:
    return {row.id: row.path for row in library.search_rows(AssetQuery())}


@pytest.fixture
def scanned_on_a(open_as: Opener, store: Path) -> Library:
    a = open_as(A)
    a.add_root(store, name="NAS models")
    assert _scan(a) == (3, 0, 0)
    assert hash_pending(a, workers=1).hashed == 3
    return a


def test_a_file_hashed_on_one_machine_is_never_read_hashed_or_looked_up_on_another(
    scanned_on_a: Library, open_as: Opener, store: Path, mount: Path
) -> None:
    a = scanned_on_a
    a.record_remote_misses(list(_paths(a)))  # A looked them up: Civitai has none
    b = open_as(B)
    [before] = b.roots()
    assert before.path == str(store), "not mapped yet: B sees the stored path"
    assert not before.placed_here, "A added it: B scans it once B says where it is"

    root = b.map_root("nas MODELS", mount)  # the name in any case

    assert (root.name, root.path, root.canonical_path) == ("NAS models", str(mount), str(store))
    assert _scan(b) == (0, 0, 3), "every file known: none is read again"
    assert hash_pending(b, workers=1).hashed == 0
    assert b.lookup_candidates() == []
    on_a, on_b = _paths(a), _paths(b)
    assert on_a.keys() == on_b.keys(), "the same rows"
    assert on_b == {asset_id: path.replace(str(store), str(mount)) for asset_id, path in on_a.items()}
    record = b.get(next(iter(on_b)))
    assert record is not None
    assert record.hashes is not None
    assert b.get_by_path(mount / "Lora" / "ink.safetensors") is not None
    assert b.search_ids(AssetQuery(folder=str(mount / "Lora"))) == a.search_ids(
        AssetQuery(folder=str(store / "Lora"))
    )
    assert a.file_index(root.id).keys() == {str(store / name) for name in FILES}
    assert b.file_index(root.id).keys() == {str(mount / name) for name in FILES}


def test_what_one_machine_writes_the_other_reads_at_its_own_paths(
    scanned_on_a: Library, open_as: Opener, store: Path, mount: Path
) -> None:
    a = scanned_on_a
    b = open_as(B)
    b.map_root("NAS models", mount)
    asset = b.get_by_path(mount / "style.safetensors")
    assert asset is not None

    b.update_user_data(asset.id, UserDataChanges(notes="ink wash", tags=("style",), rating=4))
    b.add_preview(asset.id, str(mount / "style.preview.png"), "custom")

    seen = a.get(asset.id)
    assert seen is not None
    assert (seen.notes, seen.tags, seen.rating) == ("ink wash", ("style",), 4)
    assert seen.path == str(store / "style.safetensors")
    assert seen.cover_path == str(store / "style.preview.png")
    assert [preview.path for preview in b.previews(asset.id)] == [str(mount / "style.preview.png")]


def test_a_file_moved_on_one_machine_shows_moved_on_the_other(
    scanned_on_a: Library, open_as: Opener, store: Path, mount: Path
) -> None:
    a = scanned_on_a
    b = open_as(B)
    b.map_root("NAS models", mount)
    asset = b.get_by_path(mount / "Lora" / "ink.safetensors")
    assert asset is not None
    b.update_user_data(asset.id, UserDataChanges(notes="keep me"))

    (mount / "Lora" / "ink.safetensors").rename(mount / "ink-v2.safetensors")
    _scan(b)
    hash_pending(b, workers=1)

    moved = a.get(asset.id)
    assert moved is not None
    assert moved.path == str(store / "ink-v2.safetensors"), "the same row, at A's path of its new place"
    assert moved.notes == "keep me"
    assert _scan(a) == (0, 0, 3)


def test_scanning_from_both_machines_at_once_neither_duplicates_nor_loses_rows(
    open_as: Opener, store: Path, mount: Path
) -> None:
    for number in range(40):
        write_safetensors(
            store / "many" / f"m{number:02}.safetensors", {"w": ("F16", (4, 4))}, seed=100 + number
        )
    a, b = open_as(A), open_as(B)
    a.add_root(store, name="NAS models")
    b.map_root("NAS models", mount)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def scan(library: Library) -> None:
        barrier.wait()
        try:
            Scanner(library, workers=1, batch_size=5).scan()
        except BaseException as error:  # reported in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=scan, args=(library,)) for library in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    on_a = _paths(a)
    assert len(on_a) == len(FILES) + 40
    assert sorted(on_a.values()) == sorted(str(store / path) for path in _files_below(store))
    assert _scan(a) == (0, 0, len(on_a))
    assert _scan(b) == (0, 0, len(on_a))


def _files_below(folder: Path) -> list[str]:
    return [os.path.relpath(path, folder) for path in folder.rglob("*.safetensors")]


def test_names_and_mappings_are_refused_in_one_clear_sentence(
    scanned_on_a: Library, open_as: Opener, store: Path, mount: Path, tmp_path: Path
) -> None:
    a = scanned_on_a
    b = open_as(B)
    other = tmp_path / "other"
    other.mkdir()
    a.add_root(other)

    with pytest.raises(NotFoundError, match=r"No library folder is named 'Nope' \(the library's folders: "):
        b.map_root("Nope", mount)
    with pytest.raises(NotFoundError, match="does not exist on this machine"):
        b.map_root("NAS models", tmp_path / "not-mounted")
    with pytest.raises(ConflictError, match=r"is inside the library folder 'other'"):
        b.map_root("NAS models", other)
    with pytest.raises(ConflictError, match="already named 'NAS models'"):
        a.add_root(other, name="nas models")
    with pytest.raises(InvalidValueError, match="cannot be empty"):
        a.add_root(other, name="  ")
    with pytest.raises(NotFoundError, match="no path of its own"):
        b.unmap_root("NAS models")
    assert [root.name for root in a.roots()] == ["NAS models", "other"]


def test_every_machine_lists_each_machines_path(
    scanned_on_a: Library, open_as: Opener, store: Path, mount: Path
) -> None:
    b = open_as(B)
    b.map_root("NAS models", mount)

    [place] = b.root_places()
    assert place.here == str(mount)
    assert [(f.machine_name, f.path) for f in place.elsewhere] == [("studio-a", str(store))]
    [place_a] = scanned_on_a.root_places()
    assert place_a.here == str(store)

    unmapped = b.unmap_root("NAS models")
    assert unmapped.path == str(store), "back at the stored path"
    assert not unmapped.placed_here
    assert b.get_by_path(store / "style.safetensors") is not None


def test_a_file_another_machine_cataloged_is_known_by_size_and_time_whatever_its_inode_here() -> None:
    """An SMB or NFS mount numbers files its own way: a row's inode is compared only on the device that
    recorded it (or where no device was recorded yet), so a shared file is never read again."""
    from catalog.examine import FoundFile
    from catalog.records import IndexedFile
    from catalog.scanner import _unchanged
    from core.taxonomy import FileStatus

    cataloged = IndexedFile(
        1, "/b/sd/a.safetensors", 100, 5_000, inode=77, status=FileStatus.OK, sha256="AB", device=9
    )
    here = Path("/b/sd/a.safetensors")
    assert _unchanged(cataloged, FoundFile(here, 100, 5_000, inode=123, device=42)), "another machine's inode"
    assert not _unchanged(cataloged, FoundFile(here, 100, 5_000, inode=123, device=9)), (
        "replaced on this disk"
    )
    assert not _unchanged(cataloged, FoundFile(here, 101, 5_000, inode=77, device=42)), "other content"
    unknown_device = cataloged._replace(device=0)
    assert not _unchanged(unknown_device, FoundFile(here, 100, 5_000, inode=123, device=42))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_folders_of_an_older_catalog_are_named_after_themselves(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Migration 0012 names existing folders by their last path component, unique in the order added."""
    from sqlalchemy import text

    from catalog.db import create_catalog_engine
    from catalog.migrate import upgrade

    if backend == "postgresql":
        location = parse(request.getfixturevalue("pg_url"))
        assert location.url is not None
        engine = create_server_engine(location.url)
    else:
        engine = create_catalog_engine(tmp_path / "old.sqlite3")
    try:
        upgrade(engine, "0011", backup=False)
        with engine.begin() as connection:
            for root_id, path in [
                (1, "/data/Lora"),
                (2, "/nas/lora/"),
                (3, "/"),
                (4, "/mnt/x/caf\U0010f8e9"),
            ]:
                connection.execute(
                    text("INSERT INTO roots (id, path, layout, added_at) VALUES (:id, :path, 'flat', :at)"),
                    {"id": root_id, "path": path, "at": "2026-01-01 00:00:00"},
                )
        upgrade(engine, backup=False)
        with engine.connect() as connection:
            names = connection.execute(text("SELECT id, name FROM roots ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in names] == [(1, "Lora"), (2, "lora 2"), (3, "library"), (4, "caf\ufffd")]


def test_a_folder_another_machine_added_is_left_alone_until_this_one_maps_it(
    open_as: Opener, store: Path, tmp_path: Path
) -> None:
    """The stored path may be another folder on this machine: walking it would mark the shared files
    missing and add this machine's own files to the shared folder, hashing there would hash other bytes."""
    a, b = open_as(A), open_as(B)
    a.add_root(store, name="NAS models")
    assert _scan(a) == (3, 0, 0)
    assert len(a.unhashed()) == 3
    assert b.unhashed() == []
    elsewhere = tmp_path / "mounted-elsewhere"
    store.rename(elsewhere)
    store.mkdir()
    write_safetensors(store / "b-only.safetensors", {"w": ("F16", (4, 4))}, seed=99)  # B's own, unrelated

    summary = Scanner(b, workers=1).scan()

    assert summary.problems == [
        f"NAS models: a folder other machines share ({store}); say where this machine reaches it first: "
        "atelier roots map 'NAS models' PATH"
    ]
    assert len(_paths(b)) == 3, "nothing marked missing, nothing added"
    b.map_root("NAS models", elsewhere)
    assert _scan(b) == (0, 0, 3)
    assert sorted(path for _id, path, _size in b.unhashed()) == sorted(
        str(elsewhere / name) for name in FILES
    )


def test_a_folder_not_found_at_its_path_says_how_to_map_it_and_loses_nothing(
    scanned_on_a: Library, store: Path, tmp_path: Path
) -> None:
    store.rename(tmp_path / "unplugged")

    summary = Scanner(scanned_on_a, workers=1).scan()

    assert summary.problems == [
        f"{store}: folder not found (is the drive connected? If it is mounted elsewhere on this machine: "
        "atelier roots map 'NAS models' PATH)"
    ]
    assert len(_paths(scanned_on_a)) == 3
