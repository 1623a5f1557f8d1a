"""A mirror belongs to the machine that made it (migration 0014, :mod:`catalog.mirrors`): on a catalog
shared by two machines each lists, syncs and changes only its own, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from catalog.catalog_url import create_server_engine, parse
from catalog.library import Library
from catalog.machine_paths import Machine
from catalog.migrate import alembic_config, current_revision, head_revision, upgrade
from tests.catalog.shared_machines import A, B

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


Opener = Callable[[Machine], Library]
