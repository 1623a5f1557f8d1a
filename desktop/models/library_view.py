"""What the library view shows when the window opens, read in two steps off the GUI thread.

Opening the catalog costs far more than reading it: the ``Library`` imports SQLAlchemy and the catalog's
write side before its first query, while a first page takes a few tens of milliseconds. So the window is
drawn first, and the rows come in two jobs:

1. :func:`read_first_page`: the result's ids, its first page, the folders and the number of models, read
   through the context's light reader (``AppContext.reads``: ``sqlite3`` alone, the same SQL as the
   Library) when the catalog can be read as it stands, else through the Library (a new catalog, a
   migration due: the Library creates, migrates or says what is wrong, as always). The rows are shown
   at once.
2. :func:`read_counts`: the sidebar's counts, the tags and which rows have an update, read through the
   Library, which this opens (on the job thread) for everything after the first view.

``MainWindow`` gives each part to the table model, the sidebar and the filter bar as it arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from catalog.asset_query import AssetQuery
from desktop.services import AssetLibrary

if TYPE_CHECKING:  # read on the job thread, after the first frame
    from catalog.records import AssetRow, Facets, RootRecord


class PageReads(Protocol):
    """The reads of the first page; ``catalog.read_connection.CatalogReader`` and ``Library`` answer them."""

    def search_ids(self, query: AssetQuery, /) -> Sequence[int]: ...

    def get_rows(self, ids: Sequence[int], /) -> Sequence[AssetRow]: ...

    def roots(self) -> Sequence[RootRecord]: ...

    def count(self, query: AssetQuery, /) -> int: ...


@dataclass(frozen=True, slots=True)
class FirstPage:
    """A query's result with its first page, the folders, and how many models the library shows."""

    query: AssetQuery
    ids: Sequence[int]
    first_page: Sequence[AssetRow]
    roots: Sequence[RootRecord]
    total: int


@dataclass(frozen=True, slots=True)
class LibraryCounts:
    """The sidebar's counts, the filter bar's tags and the rows with an update."""

    facets: Facets
    tags: Sequence[str]
    update_ids: frozenset[int]


def read_first_page(reads: PageReads, query: AssetQuery, page_size: int) -> FirstPage:
    """Reads the rows the window shows first (``reads``: the light reader, or the library)."""
    ids = list(reads.search_ids(query))
    return FirstPage(
        query=query,
        ids=ids,
        first_page=list(reads.get_rows(ids[:page_size])),
        roots=list(reads.roots()),
        total=len(ids) if query == AssetQuery() else reads.count(AssetQuery()),  # what the library shows
    )


def read_counts(library: AssetLibrary) -> LibraryCounts:
    """Reads the rest of the first view (this opens the Library when nothing has yet)."""
    return LibraryCounts(
        facets=library.facets(),
        tags=list(library.all_tags()),
        update_ids=frozenset(library.update_asset_ids()),
    )
