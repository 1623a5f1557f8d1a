"""``atelier copy-catalog --to URL [--from URL] [--replace]``: copy the whole catalog into another database.

The way a library moves onto a team's PostgreSQL server (``--to postgresql://user@host/atelier``) and back
into a file (``--from postgresql://... --to /path/catalog.sqlite3``). ``--from`` defaults to the catalog
the command runs on: the server of ``--catalog`` (or the setting), else this profile's catalog file. A
password given in a URL is stored with the other secrets (see ``app.secrets``) and never printed: every
message names a server as ``postgresql://user:***@host/db``. The copy itself is
:func:`catalog.catalog_copy.copy_catalog` (one transaction, ids kept, a filled target refused).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from app.context import AppContext
    from catalog.catalog_url import CatalogLocation

EXIT_OK = 0


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


def _engine(context: AppContext, location: CatalogLocation, given: dict[str, str]) -> Engine:
    from app.secrets import TokenStore
    from catalog.catalog_url import create_server_engine, secret_key, split_password, with_password
    from catalog.db import create_catalog_engine

    if location.url is None:
        assert location.path is not None
        location.path.parent.mkdir(parents=True, exist_ok=True)
        return create_catalog_engine(location.path)
    store: TokenStore = context.tokens
    bare, password = split_password(location.url)
    if password is not None:
        given[secret_key(bare)] = password  # kept with the other secrets once the server accepted it
        return create_server_engine(location.url)
    return create_server_engine(with_password(bare, store.get))


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
    if source.path is not None and not source.path.is_file():  # never made here, empty, to copy from
        raise CatalogError(f"There is no catalog at {source.path} to copy from: give one with --from.")
    given: dict[str, str] = {}
    source_engine, target_engine = _engine(context, source, given), _engine(context, target, given)
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
    finally:
        source_engine.dispose()
        target_engine.dispose()
    for key, password in given.items():
        context.tokens.set(key, password)
    if args.json:
        json.dump({"from": str(source), "to": str(target), "rows": report.rows}, out, indent=2)
        out.write("\n")
    else:
        print(f"{report} From {source} to {target}.", file=out)
    return EXIT_OK


COMMANDS = {"copy-catalog": cmd_copy_catalog}
