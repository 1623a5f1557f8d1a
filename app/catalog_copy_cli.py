"""``atelier copy-catalog --to URL [--from URL] [--replace]``: copy the whole catalog into another database.

The way a library moves onto a team's PostgreSQL server (``--to postgresql://user@host/atelier``) and back
into a file (``--from postgresql://... --to /path/catalog.sqlite3``). ``--from`` defaults to the catalog
the command runs on: the server of ``--catalog`` (or the setting), else this profile's catalog file. A
password given in a URL is stored with the other secrets (see ``app.secrets``) once the server accepted
it, as every command keeps it, and never printed: every message names a server as
``postgresql://user:***@host/db``. A source written by an older Atelier is migrated first where it can
be written (a file keeps its backup, as on any open). The copy itself is
:func:`catalog.catalog_copy.copy_catalog` (one transaction, ids kept, a filled target refused).
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, TextIO

from app.serialize import json_text

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from app.context import AppContext
    from catalog.catalog_url import CatalogLocation, ServerAddress

EXIT_OK = 0
EXIT_USAGE = 2
POSTGRESQL_PORT = 5432  # a server URL without a port names this one


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    copy = sub.add_parser(
        "copy-catalog",
        parents=[common],
        description="Copies every row of a catalog (ids kept, one transaction) into another catalog: an "
        "SQLite file or a PostgreSQL server. A target that already holds a library is refused unless "
        "--replace.",
    )
    copy.add_argument(
        "--to", dest="target", required=True, metavar="URL", help="postgresql://user@host/db or a file"
    )
    copy.add_argument(
        "--from",
        dest="source",
        metavar="URL",
        help="default: the catalog this command runs on (--catalog, else this profile's file)",
    )
    copy.add_argument(
        "--replace",
        action="store_true",
        help="delete the library the target holds, in the copy's transaction",
    )
    copy.add_argument("--json", action="store_true")


def _engine(context: AppContext, location: CatalogLocation, *, read_only: bool = False) -> Engine:
    """An engine on ``location``: a file's (its folder made unless ``read_only``), or a server's connected
    once (see :func:`app.server_catalog.connected_server_engine`: a refused connection is the line every
    command gives, and a password given in the URL is kept once the server took it, whatever the copy
    does next)."""
    if location.url is None:
        from catalog.db import create_catalog_engine

        assert location.path is not None
        if not read_only:
            location.path.parent.mkdir(parents=True, exist_ok=True)
        return create_catalog_engine(location.path, read_only=read_only)
    from app.server_catalog import connected_server_engine

    return connected_server_engine(location, context.tokens)


def _source_engine(context: AppContext, location: CatalogLocation) -> Engine:
    """The source, migrated first when an older Atelier wrote it, as any command opening it does (a file
    gets its backup beside it). A file in a folder Atelier cannot write is opened read-only and left as
    it is: the copy then says it needs an update that cannot run there."""
    from app.catalog_access import data_folder_read_only
    from catalog.migrate import upgrade

    read_only = location.path is not None and data_folder_read_only(location.path.parent, location.path)
    engine = _engine(context, location, read_only=read_only)
    if read_only:
        return engine
    try:
        # The machine migration 0014 gives the mirrors no machine owned yet: this one, as on any open.
        upgrade(engine, backup=location.path is not None, machine_id=context.machine.id)
    except BaseException:
        engine.dispose()
        raise
    return engine


def cmd_copy_catalog(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    from sqlalchemy import exc as sa_exc

    from catalog.catalog_copy import copy_catalog
    from catalog.catalog_url import mask_in, parse
    from catalog.errors import CatalogError

    # Without --from: the catalog this command runs on (--catalog, ATELIER_CATALOG_URL, the setting), else
    # the data folder's file.
    if args.source:
        source = parse(args.source)
    elif context.server_catalog is not None:
        source = context.server_catalog
    else:
        source = parse(str(context.catalog_path))
    target = parse(args.target)
    for option, location in (("--to", target), ("--from", source)):
        _refuse_a_folder(option, location)
    if source.path is not None and not source.path.is_file():  # never made here, empty, to copy from
        raise CatalogError(f"There is no catalog at {source.path} to copy from: give one with --from.")
    if _same_catalog(source, target):  # a copy onto itself: with --replace it would read what it deletes
        print(
            f"atelier copy-catalog: the source and the target are the same catalog ({target}): nothing to "
            "copy; give --to another file or server (--from says what to copy, default: this catalog)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with ExitStack() as engines:
        target_engine = _engine(context, target)  # first: its password is kept whatever comes next
        engines.callback(target_engine.dispose)
        source_engine = _source_engine(context, source)
        engines.callback(source_engine.dispose)
        try:
            report = copy_catalog(
                source_engine,
                target_engine,
                replace=args.replace,
                source_name=str(source),
                target_name=str(target),
            )
        except sa_exc.DBAPIError as error:
            # The driver's own words may quote the connection string: masked before anyone sees them.
            first_line = str(error.orig or error).strip().splitlines()[0]
            raise CatalogError(f"The catalog {target} could not be written: {mask_in(first_line)}") from None
    if args.json:
        json.dump(json_text({"from": str(source), "to": str(target), "rows": report.rows}), out, indent=2)
        out.write("\n")
    else:
        print(f"{report} From {source} to {target}.", file=out)
    return EXIT_OK


def _refuse_a_folder(option: str, location: CatalogLocation) -> None:
    """A catalog file given as a folder is a usage error naming the file to give. The folder is not
    filled with a name of Atelier's choosing: ``--catalog`` and ``--from`` take that file's name again,
    so the user names it once, here (a data folder's own file is ``catalog.sqlite3``, the example)."""
    from app.context import CATALOG_FILE
    from core.errors import UsageError

    if location.path is not None and location.path.is_dir():
        raise UsageError(
            f"{location.path} is a folder: give {option} the catalog's file name (e.g. "
            f"{location.path / CATALOG_FILE})"
        )


def _same_catalog(source: CatalogLocation, target: CatalogLocation) -> bool:
    """Whether both name one database: one file (however its path is written, links followed), or one
    database of one server (whoever connects to it)."""
    if source.path is not None and target.path is not None:
        if source.path.exists() and target.path.exists():
            return source.path.samefile(target.path)
        return source.path.resolve() == target.path.resolve()
    if source.server is not None and target.server is not None:
        return _database_of(source.server) == _database_of(target.server)
    return False


def _database_of(server: ServerAddress) -> tuple[str, int, str | None]:
    return (server.host.casefold(), server.port or POSTGRESQL_PORT, server.database)


COMMANDS = {"copy-catalog": cmd_copy_catalog}
