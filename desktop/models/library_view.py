"""Everything the library view shows when the window opens, read in one go off the GUI thread.

Opening the catalog costs far more than reading it: the first call imports SQLAlchemy and the catalog's
modules and opens the database, while the queries of a first page take a few tens of milliseconds. So the
window is drawn first, and :func:`read_library_view` runs on a job thread: the imports and the reads happen
there while the GUI thread keeps painting and answering the user, and the GUI thread receives a
:class:`LibraryView` to show at once (``MainWindow`` gives it to the table model, the sidebar and the
filter bar). After that first view, reads go through the same library on the GUI thread, as before: the
catalog is open and a page costs milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from catalog.records import AssetQuery, AssetRow, Facets, RootRecord
from desktop.services import AssetLibrary


@dataclass(frozen=True, slots=True)
class LibraryView:
    """A query's result with its first page of rows, and the sidebar's and filter bar's contents."""

    query: AssetQuery
    ids: Sequence[int]
    update_ids: frozenset[int]
    first_page: Sequence[AssetRow]
    facets: Facets
    roots: Sequence[RootRecord]
    tags: Sequence[str]


def read_library_view(library: AssetLibrary, query: AssetQuery, page_size: int) -> LibraryView:
    """Reads what the window shows first: the result's ids, its first page, the counts, roots and tags."""
    ids = list(library.search_ids(query))
    return LibraryView(
        query=query,
        ids=ids,
        update_ids=frozenset(library.update_asset_ids()),
        first_page=list(library.get_rows(ids[:page_size])),
        facets=library.facets(),
        roots=list(library.roots()),
        tags=list(library.all_tags()),
    )
