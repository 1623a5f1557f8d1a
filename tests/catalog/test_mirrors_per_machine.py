"""A mirror belongs to the machine that made it (migration 0014, :mod:`catalog.mirrors`): on a catalog
shared by two machines each lists, syncs and changes only its own, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from catalog.catalog_url import create_server_engine, parse
from catalog.errors import NotFoundError
from catalog.library import Library
from catalog.machine_paths import Machine
from catalog.migrate import alembic_config, current_revision, head_revision, upgrade
from catalog.mirrors import MirrorRecord
from core.organize.mirror_plan import MirrorMode, MirrorUI, RecordedEntry
from tests.catalog.conftest import catalog_rows
from tests.catalog.shared_machines import A, B, Opener

# -- the migration --------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_at_0013(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A catalog at revision 0013 (made at head, then taken down), on SQLite or the server."""
    if request.param == "postgresql":
        location = parse(request.getfixturevalue("pg_catalog_url"))
        assert location.url is not None
        engine = create_server_engine(location.url)
    else:
        Library.open(tmp_path / "c.sqlite3").close()
        from catalog.db import create_catalog_engine

        engine = create_catalog_engine(tmp_path / "c.sqlite3")
    from alembic import command

    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")
        connection.commit()
    assert current_revision(engine) == "0013"
    yield engine
    engine.dispose()


def _run(engine: Engine, sql: str, **values: object) -> list[tuple[object, ...]]:
    with engine.begin() as connection:
        result = connection.execute(text(sql), values)
        return [tuple(row) for row in result] if result.returns_rows else []


def _old_mirror(engine: Engine) -> None:
    """A mirror with two entries, as an Atelier before 0014 wrote it (no machine)."""
    _run(
        engine,
        "INSERT INTO mirrors (id, ui, mode, target, kinds, collections, created_at, report)"
        " VALUES (7, 'comfyui', 'symlink', '/home/a/ComfyUI/models', '[]', '[]', :now, '{}')",
        now="2026-12-01 10:00:00",
    )
    for name in ("one", "two"):
        _run(
            engine,
            "INSERT INTO mirror_entries (mirror_id, path, source, asset_id, mode, size, mtime_ns, inode)"
            " VALUES (7, :path, :source, NULL, 'symlink', 5000000000, 1, 2)",
            path=f"/home/a/ComfyUI/models/loras/{name}.safetensors",
            source=f"/nas/sd/{name}.safetensors",
        )


def _shared_root(engine: Engine, added_by: Machine, mapped_by: Machine) -> None:
    _run(
        engine,
        "INSERT INTO roots (id, path, layout, added_at, name) VALUES (1, '/nas/sd', 'flat', :now, 'NAS')",
        now="2026-12-01 09:00:00",
    )
    for machine, path in ((added_by, "/nas/sd"), (mapped_by, "/mnt/nas/sd")):
        _run(
            engine,
            "INSERT INTO machines (id, name, seen_at) VALUES (:id, :name, :now)",
            id=machine.id,
            name=machine.name,
            now="2026-12-01 09:00:00",
        )
        _run(engine, "INSERT INTO root_paths VALUES (1, :machine, :path)", machine=machine.id, path=path)


def test_old_mirrors_go_to_the_machine_that_added_the_first_folder_and_keep_their_entries(
    catalog_at_0013: Engine,
) -> None:
    engine = catalog_at_0013
    _shared_root(engine, added_by=A, mapped_by=B)
    _old_mirror(engine)
    upgrade(engine, backup=False, machine_id=B.id)  # B upgrades, but A's folder is the catalog's first
    assert current_revision(engine) == head_revision()
    assert _run(engine, "SELECT id, machine, target FROM mirrors") == [(7, A.id, "/home/a/ComfyUI/models")]
    entries = _run(engine, "SELECT path, size FROM mirror_entries WHERE mirror_id = 7 ORDER BY path")
    assert entries == [
        ("/home/a/ComfyUI/models/loras/one.safetensors", 5000000000),
        ("/home/a/ComfyUI/models/loras/two.safetensors", 5000000000),
    ]
    _run(engine, "DELETE FROM mirrors WHERE id = 7")  # the entries still go with their mirror
    assert _run(engine, "SELECT count(*) FROM mirror_entries") == [(0,)]


def test_in_a_catalog_of_one_machine_old_mirrors_go_to_the_machine_that_upgrades_it(
    catalog_at_0013: Engine,
) -> None:
    _old_mirror(catalog_at_0013)
    upgrade(catalog_at_0013, backup=False, machine_id=A.id)
    assert _run(catalog_at_0013, "SELECT machine FROM mirrors") == [(A.id,)]
    assert _run(catalog_at_0013, "SELECT count(*) FROM mirror_entries") == [(2,)]


def test_an_upgrade_without_a_machine_leaves_old_mirrors_to_be_taken(catalog_at_0013: Engine) -> None:
    _old_mirror(catalog_at_0013)
    upgrade(catalog_at_0013, backup=False)
    assert _run(catalog_at_0013, "SELECT machine FROM mirrors") == [(None,)]


def test_two_machines_may_have_a_mirror_at_the_same_path_and_going_down_keeps_the_oldest(
    catalog_at_0013: Engine,
) -> None:
    engine = catalog_at_0013
    _old_mirror(engine)
    upgrade(engine, backup=False, machine_id=A.id)
    _run(
        engine,
        "INSERT INTO mirrors (id, ui, mode, target, kinds, collections, created_at, report, machine)"
        " VALUES (8, 'comfyui', 'symlink', '/home/a/ComfyUI/models', '[]', '[]', :now, '{}', :machine)",
        now="2026-12-02 10:00:00",
        machine=B.id,
    )
    with pytest.raises(IntegrityError):
        _run(
            engine,
            "INSERT INTO mirrors (id, ui, mode, target, kinds, collections, created_at, report, machine)"
            " VALUES (9, 'a1111', 'symlink', '/home/a/ComfyUI/models', '[]', '[]', :now, '{}', :machine)",
            now="2026-12-02 10:00:00",
            machine=B.id,
        )
    from alembic import command

    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")
        connection.commit()
    assert _run(engine, "SELECT id FROM mirrors") == [(7,)]
    assert _run(engine, "SELECT count(*) FROM mirror_entries") == [(2,)]
    upgrade(engine, backup=False, machine_id=A.id)
    assert _run(engine, "SELECT id, machine FROM mirrors") == [(7, A.id)]


# -- each machine its own mirrors -----------------------------------------------------------------------


def _mirror(library: Library, target: Path) -> MirrorRecord:
    return library.save_mirror(ui=MirrorUI.COMFYUI, mode=MirrorMode.SYMLINK, target=target)


def _entry(folder: Path, name: str) -> RecordedEntry:
    return RecordedEntry(folder / name, folder / "src" / name, None, MirrorMode.SYMLINK, 10, 1, 2)


def test_a_machine_lists_finds_and_changes_only_its_own_mirrors(open_as: Opener, tmp_path: Path) -> None:
    a, b = open_as(A), open_as(B)
    made = _mirror(a, tmp_path / "a-comfy")
    a.record_mirror_entries(made.id, [_entry(tmp_path / "a-comfy", "x.safetensors")])
    assert [m.id for m in a.mirrors()] == [made.id]
    assert a.has_mirrors()
    assert b.mirrors() == []
    assert not b.has_mirrors()
    assert b.mirror_at(tmp_path / "a-comfy") is None
    with pytest.raises(
        NotFoundError, match=f"mirror {made.id} is a folder on another computer \\(studio-a\\)"
    ):
        b.mirror(made.id)
    with pytest.raises(NotFoundError, match="another computer"):
        b.delete_mirror(made.id)
    b.finish_mirror_sync(made.id, {"added": 99})  # not B's: nothing is written
    kept = a.mirror(made.id)
    assert (kept.synced_at, kept.report, kept.entry_count) == (None, {}, 1)


def test_two_machines_each_keep_a_mirror_at_the_same_path(open_as: Opener, tmp_path: Path) -> None:
    a, b = open_as(A), open_as(B)
    target = tmp_path / "home" / "studio" / "ComfyUI" / "models"  # the same path on both computers
    of_a = _mirror(a, target)
    of_b = b.save_mirror(ui=MirrorUI.A1111, mode=MirrorMode.COPY, target=target)
    assert of_a.id != of_b.id
    assert (a.mirror_at(target), b.mirror_at(target)) == (a.mirror(of_a.id), b.mirror(of_b.id))
    assert a.mirror(of_a.id).ui is MirrorUI.COMFYUI  # B's save changed its own mirror, not A's
    changed = b.save_mirror(ui=MirrorUI.INVOKEAI, mode=MirrorMode.COPY, target=target)
    assert changed.id == of_b.id
    assert a.mirror(of_a.id).ui is MirrorUI.COMFYUI


def test_a_mirror_made_without_a_machine_is_taken_by_the_first_machine_that_syncs_it(
    open_as: Opener, tmp_path: Path
) -> None:
    a, b = open_as(A), open_as(B)
    made = _mirror(a, tmp_path / "old-comfy")
    catalog_rows(a, "UPDATE mirrors SET machine = NULL")  # as a catalog opened without a machine made it
    assert [m.id for m in a.mirrors()] == [made.id] == [m.id for m in b.mirrors()]
    b.finish_mirror_sync(made.id, {"added": 1})
    assert [m.id for m in b.mirrors()] == [made.id]
    assert a.mirrors() == []
    assert catalog_rows(a, "SELECT machine FROM mirrors") == [(B.id,)]
