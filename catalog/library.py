"""The Library: the one door to the catalog for the GUI, the CLI, the scanner and background jobs.

Each method is one unit of work (one short Session, one transaction) and returns frozen records from
:mod:`catalog.records`, never ORM objects, so any thread may call any method. The methods are thin: the SQL
lives in small modules by concern (:mod:`catalog.queries`: the reads, as plain SQL shared with the light
:class:`~catalog.read_connection.CatalogReader`; :mod:`catalog.user_data`, :mod:`catalog.scan_writes`,
:mod:`catalog.merge`, :mod:`catalog.facets`). Errors leave as
:class:`~catalog.errors.CatalogError` subclasses with a message fit for the user.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, or_, select

from catalog import (
    deleted_files,
    duplicates,
    fts_match,
    hash_claims,
    journal,
    merge,
    queries,
    reading,
    remote,
    render_index,
    renders,
    scan_writes,
    shared_roots,
    template_rows,
    twin_links,
    user_data,
)
from catalog import facets as facets_queries
from catalog import mirrors as mirror_rows
from catalog.db import CatalogDatabase, driver_connection, utc_now
from catalog.errors import CatalogError, NotFoundError
from catalog.labels import COLLECTIONS, TAGS, prune
from catalog.machine_paths import Machine
from catalog.migrate import refuse_foreign_file, upgrade
from catalog.normalize import parse_hash_query
from catalog.orm import ASSETS, AssetTag, Collection, Root, Tag
from catalog.records import (
    AssetQuery,
    AssetRecord,
    AssetRow,
    BulkEdit,
    DeletedFileRecord,
    DeletionOrigin,
    Facets,
    IndexedFile,
    NewRender,
    Overrides,
    PreviewRecord,
    RemoteLinkRecord,
    RemoteMatch,
    RenderRecord,
    RootPlaces,
    RootRecord,
    ScannedFile,
    UserDataChanges,
)
from catalog.root_guard import refuse_unfit_root
from catalog.scan_catalog import BatchWritten
from catalog.template_rows import TemplateRow, TemplateScope
from core.download_locks import RunLocks
from core.file_hashes import FileHashes
from core.organize.mirror_plan import MirrorMode, MirrorUI, RecordedEntry
from core.render.resolve import Candidate
from core.taxonomy import Architecture, AssetKind, LibraryLayout

if TYPE_CHECKING:  # update checks load the Civitai parsers only when used
    from datetime import datetime

    from sqlalchemy import Engine

    from catalog.change_feed import ChangeFeed, ChangesCallback, StateCallback
    from catalog.exchange import ExchangeItem
    from catalog.updates import AssetUpdate, ModelUpdateState
    from core.jobs import CancelToken
    from core.sources.civitai_updates import ModelVersions

RENDERS_FOLDER = "renders"
HASH_JOB_LOCKS_FOLDER = "hash-job-locks"  # in the data folder: see Library.running_hash_job


class Library:
    """An open catalog database. Create with :meth:`open`; safe to share between threads."""

    def __init__(self, database: CatalogDatabase, machine: Machine | None = None) -> None:
        """Wrap an already migrated database (tests use this to pass a short busy timeout). ``machine``:
        this computer, whose own paths for shared library folders the catalog reads and writes
        (:mod:`catalog.machine_paths`); without one, paths are read as stored."""
        self._db = database
        self._machine = machine
        database.machine_id = machine.id if machine is not None else None

    @classmethod
    def open(cls, db_path: Path, machine: Machine | None = None) -> Library:
        """Open (or create) the catalog at ``db_path`` and bring its schema up to date."""
        db_path = Path(db_path).expanduser()
        db_path.parent.mkdir(parents=True, exist_ok=True)
        refuse_foreign_file(db_path)
        database = CatalogDatabase(db_path)
        try:
            upgrade(database.engine, machine_id=machine.id if machine is not None else None)
        except BaseException:
            database.close()
            raise
        return cls(database, machine)

    @classmethod
    def on_server(cls, engine: Engine, data_dir: Path, name: str, machine: Machine | None = None) -> Library:
        """Open (or create) the catalog on a database server and bring its schema up to date; ``data_dir``
        keeps this machine's own files (renders), ``name`` the server as messages show it."""
        database = CatalogDatabase.on_server(engine, Path(data_dir).expanduser(), name)
        try:
            upgrade(engine, backup=False, machine_id=machine.id if machine is not None else None)
        except BaseException:
            database.close()
            raise
        return cls(database, machine)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def renders_dir(self) -> Path:
        """Where render images live: ``renders/`` next to the catalog file (in the data dir)."""
        return self._db.path.parent / RENDERS_FOLDER

    def follow_changes(self, on_change: ChangesCallback, on_state: StateCallback | None = None) -> ChangeFeed:
        """Starts reporting the changes other processes and machines commit to this catalog (LISTEN on a
        server, a poll of the file otherwise; see :mod:`catalog.change_feed`); ``stop()`` the result."""
        from catalog.change_feed import FileChangeFeed, ServerChangeFeed

        feed: FileChangeFeed | ServerChangeFeed
        if self._db.on_a_server:
            feed = ServerChangeFeed(self._db.engine, on_change, on_state)
        else:
            feed = FileChangeFeed(self._db.path, on_change, on_state)
        feed.start()
        return feed

    # -- roots ------------------------------------------------------------------------------------------

    @property
    def machine(self) -> Machine | None:
        """This computer as the catalog knows it (None: opened without one; paths are read as stored)."""
        return self._machine

    def add_root(
        self, path: Path, layout: LibraryLayout = LibraryLayout.FLAT, *, name: str | None = None
    ) -> RootRecord:
        """Add a library folder; adding the same resolved folder again returns it, ``layout`` updated (and
        its name, when ``name`` is given). A folder added without a name is named after itself.

        Raises:
            ConflictError: another folder already has that name.
            InvalidValueError: an empty name, or one with control characters.
            NotALibraryFolderError: the disk's root, the home folder itself, a system folder (root_guard).
        """
        resolved = str(Path(path).expanduser().resolve())
        refuse_unfit_root(Path(resolved))
        with self._db.session_scope(write=True) as session:
            root_id = shared_roots.add_root(session, resolved, layout, name=name, machine=self._machine)
        self._db.forget_machine_paths()
        root = self.get_root(root_id)
        assert root is not None
        return root

    def map_root(self, name: str, path: Path, *, force: bool = False) -> RootRecord:
        """Record where this machine reaches the shared library folder called ``name``: from now on its
        files are read here at ``path`` and what this machine writes under ``path`` is stored canonical.

        ``path`` is taken as written (made absolute, links not resolved: a mount point is what the machine
        sees). A folder that has files in the catalog is mapped only to a folder that holds at least one
        of them (same place, same size), unless ``force`` (the user is sure: the share is not mounted yet).

        Raises:
            NotFoundError: no folder has that name, or ``path`` is not a folder on this machine.
            ConflictError: ``path`` is inside or around another library folder on this machine.
            NotTheSharedFolderError: (a ConflictError) none of the folder's known files is at ``path``.
        """
        machine = self._require_machine()
        local = os.path.normpath(Path(path).expanduser().absolute())
        if not Path(local).is_dir():
            what = "is not a folder" if Path(local).exists() else "does not exist"
            raise NotFoundError(
                f"{local} {what} on this machine: give the folder where the shared one is mounted."
            )
        with self._db.session_scope(write=True) as session:
            root_id = shared_roots.map_root(session, name, local, machine, force=force)
        self._db.forget_machine_paths()
        root = self.get_root(root_id)  # a new unit of work: read with the new map
        assert root is not None
        return root

    def unmap_root(self, name: str) -> RootRecord:
        """Forget this machine's own path for the folder called ``name``.

        Raises:
            NotFoundError: no folder has that name, or this machine has no path of its own for it.
        """
        machine = self._require_machine()
        with self._db.session_scope(write=True) as session:
            root_id = shared_roots.unmap_root(session, name, machine)
        self._db.forget_machine_paths()
        root = self.get_root(root_id)
        assert root is not None
        return root

    def root_places(self) -> list[RootPlaces]:
        """Every library folder with each machine's own path for it (this machine's first)."""
        machine_id = self._machine.id if self._machine is not None else None
        self._db.forget_machine_paths()
        with self._db.session_scope() as session:
            return queries.root_places(driver_connection(session), machine_id)

    @property
    def _machine_id(self) -> str | None:
        return self._machine.id if self._machine is not None else None

    def _require_machine(self) -> Machine:
        if self._machine is None:
            raise CatalogError("This library was opened without a machine id: its folders cannot be mapped.")
        return self._machine

    def roots(self) -> list[RootRecord]:
        """Every library folder at this machine's path for it (this machine's folders for the shared roots
        are read afresh: a scan starts here, so a folder another process mapped is followed)."""
        self._db.forget_machine_paths()
        with self._db.session_scope() as session:
            return queries.root_records(driver_connection(session))

    def get_root(self, root_id: int) -> RootRecord | None:
        with self._db.session_scope() as session:
            found = queries.root_records(driver_connection(session), root_id)
            return found[0] if found else None

    def remove_root(self, root_id: int) -> None:
        """Forget a library folder and every asset row under it (the files on disk are not touched)."""
        with self._db.session_scope(write=True) as session:
            scan_writes.require_root(session, root_id)
            session.execute(delete(Root).where(Root.id == root_id))
            prune(session, TAGS)
            prune(session, COLLECTIONS)
        self._db.forget_machine_paths()

    # -- reading ----------------------------------------------------------------------------------------

    def get(self, asset_id: int) -> AssetRecord | None:
        with self._db.session_scope() as session:
            return queries.record_by_id(driver_connection(session), asset_id)

    def get_by_path(self, path: str | Path) -> AssetRecord | None:
        """The asset stored at exactly ``path`` (as the scanner wrote it; no resolving of links)."""
        with self._db.session_scope() as session:
            return queries.record_by_path(driver_connection(session), str(path))

    def get_many(self, ids: Sequence[int]) -> list[AssetRecord]:
        with self._db.session_scope() as session:
            return queries.records_by_ids(driver_connection(session), ids)

    def find_by_hash(self, value: str) -> list[AssetRecord]:
        """Assets whose SHA256, BLAKE3, AutoV1/V2/V3 or CRC32 is ``value`` (any case; see
        :func:`catalog.normalize.parse_hash_query` for how the length picks the hash)."""
        parsed = parse_hash_query(value)
        if parsed is None:
            return []
        conditions = [ASSETS.c[column] == parsed.value for column in parsed.exact_columns]
        # A prefix as an index range: the stored hashes are upper-case hex, and "G" sorts after "F".
        upper = parsed.value + "G"
        conditions += [ASSETS.c[column].between(parsed.value, upper) for column in parsed.prefix_columns]
        with self._db.session_scope() as session:
            stmt = reading.select_assets().where(or_(*conditions)).order_by(ASSETS.c.id)
            rows = session.execute(stmt).all()
            return reading.assets_from_rows(session, rows)

    def copies_there(self, sha256: str) -> list[AssetRecord]:
        """The library's files with this SHA-256 that are there to use: what "in the library" means for a
        site's file (the Civitai and Hugging Face tabs, ``search civitai``). A row a scan marked missing,
        or whose file went before a scan noticed, does not count (:meth:`AssetRecord.is_there`): saying
        "In library" for it would disable the Download that is the only way to get the file back."""
        return [record for record in self.find_by_hash(sha256) if record.is_there()]

    def search(self, query: AssetQuery) -> list[AssetRecord]:
        with self._db.session_scope() as session:
            return queries.search_records(driver_connection(session), query)

    def search_rows(self, query: AssetQuery) -> list[AssetRow]:
        """The page of ``query`` as light rows (what a grid, a table or a listing shows), in one query."""
        with self._db.session_scope() as session:
            return queries.search_rows(driver_connection(session), query)

    def get_rows(self, ids: Sequence[int]) -> list[AssetRow]:
        """Light rows for ``ids`` in the same order (unknown ids skipped): a page of a view's result."""
        with self._db.session_scope() as session:
            return queries.rows_by_ids(driver_connection(session), ids)

    def search_ids(self, query: AssetQuery) -> list[int]:
        with self._db.session_scope() as session:
            return queries.search_ids(driver_connection(session), query)

    def count(self, query: AssetQuery) -> int:
        """How many assets match ``query`` (its sort and page are ignored)."""
        with self._db.session_scope() as session:
            return queries.count(driver_connection(session), query)

    def base_model_labels(self) -> dict[Architecture, dict[str, int]]:
        """The base-model labels of the shown files, per architecture (``queries.base_model_labels``)."""
        with self._db.session_scope() as session:
            return queries.base_model_labels(driver_connection(session))

    def facets(self) -> Facets:
        with self._db.session_scope() as session:
            return facets_queries.facets(session)

    def previews(self, asset_id: int) -> list[PreviewRecord]:
        """Previews of an asset, the cover first."""
        with self._db.session_scope() as session:
            return queries.preview_records(driver_connection(session), asset_id)

    def remote_links(self, asset_id: int) -> list[RemoteLinkRecord]:
        with self._db.session_scope() as session:
            return queries.remote_link_records(driver_connection(session), asset_id)

    def has_mirrors(self) -> bool:
        with self._db.session_scope() as session:
            return queries.has_mirrors(driver_connection(session), self._machine_id)

    def merge_search_index(self, cancel: CancelToken | None = None) -> bool:
        """Merge the search index into one segment (searches that check a row at a time then seek one
        place), a bounded step per write transaction so a waiting writer waits one step at most; stops
        early when ``cancel`` is set. Whether anything was merged (nothing, at no cost, when no write
        touched the text since the last merge)."""
        merged = False
        if self._db.on_a_server:
            return merged  # PostgreSQL's GIN index has no segments to merge
        while cancel is None or not cancel.cancelled:
            with self._db.session_scope(write=True) as session:
                if not fts_match.merge_step(driver_connection(session)):
                    break
            merged = True
        return merged

    def all_tags(self) -> list[str]:
        """Every tag in use, alphabetically (case-insensitive)."""
        stmt = select(Tag.name).where(select(AssetTag.tag_id).where(AssetTag.tag_id == Tag.id).exists())
        with self._db.session_scope() as session:
            return list(session.scalars(stmt.order_by(Tag.key)))

    def all_collections(self) -> list[str]:
        with self._db.session_scope() as session:
            return list(session.scalars(select(Collection.name).order_by(Collection.key)))

    # -- user edits -------------------------------------------------------------------------------------

    def update_user_data(self, asset_id: int, changes: UserDataChanges) -> AssetRecord:
        """Apply ``changes`` in one transaction and return the updated asset.

        Raises:
            InvalidValueError: (a ``ValueError``) a rating outside 0..5 or a non-finite weight.
            NotFoundError: no asset ``asset_id``.
        """
        with self._db.session_scope(write=True) as session:
            user_data.apply_user_changes(session, asset_id, changes)
            record = reading.asset_by_id(session, asset_id)
        if record is None:  # pragma: no cover - apply_user_changes already checked it exists
            raise NotFoundError(f"No asset with id {asset_id} in the library.")
        return record

    def set_cover(self, asset_id: int, preview_id: int) -> None:
        with self._db.session_scope(write=True) as session:
            user_data.set_cover(session, asset_id, preview_id)

    def add_preview(
        self,
        asset_id: int,
        path: str,
        source: str,
        *,
        make_cover: bool = False,
        width: int | None = None,
        height: int | None = None,
    ) -> PreviewRecord:
        """Attach a preview image. It becomes the cover when ``make_cover`` is set or when the asset has no
        cover yet; adding a path the asset already has updates that preview instead of duplicating it."""
        with self._db.session_scope(write=True) as session:
            return user_data.add_preview(
                session, asset_id, str(path), source, make_cover=make_cover, width=width, height=height
            )

    # -- scanner-facing ---------------------------------------------------------------------------------

    def file_index(self, root_id: int) -> dict[str, IndexedFile]:
        """Every row of a root (missing ones too) by path, for the scanner's unchanged-file check."""
        with self._db.session_scope() as session:
            return queries.file_index(driver_connection(session), root_id)

    def apply_scan_batch(self, root_id: int, files: Sequence[ScannedFile]) -> list[int]:
        """Write a batch of scanned files in one transaction; returns their asset ids in input order.

        New paths are inserted; known ones updated (a changed size or mtime clears the stored hashes, a
        missing row becomes present). Sidecar data fills only empty user fields the user never edited.
        """
        return self.write_scan_batch(root_id, files).ids

    def write_scan_batch(self, root_id: int, files: Sequence[ScannedFile]) -> BatchWritten:
        """:meth:`apply_scan_batch`, also saying which files were cataloged already (a scan counts as
        new only the rows it created)."""
        if not files:
            return BatchWritten([], frozenset())
        with self._db.session_scope(write=True) as session:
            return scan_writes.write_scan_batch(session, root_id, files)

    def mark_missing(self, asset_ids: Sequence[int]) -> None:
        """Flag files that are gone from disk; their user data stays for when they come back."""
        if not asset_ids:
            return
        with self._db.session_scope(write=True) as session:
            scan_writes.mark_missing(session, asset_ids)

    def relocate(
        self, asset_id: int, new_path: str, *, size: int, mtime_ns: int, inode: int, device: int = 0
    ) -> None:
        """A file moved: the same row (and its user data) now points at ``new_path``."""
        with self._db.session_scope(write=True) as session:
            scan_writes.relocate(
                session, asset_id, str(new_path), size=size, mtime_ns=mtime_ns, inode=inode, device=device
            )

    def unhashed(self, limit: int | None = None) -> list[tuple[int, str, int]]:
        """``(id, path, size)`` of present, healthy files still to hash, smallest first."""
        with self._db.session_scope() as session:
            return scan_writes.unhashed(session, limit)

    def still_unhashed(self, asset_ids: Sequence[int]) -> set[int]:
        """Those of ``asset_ids`` still to hash now: another machine sharing the catalog (or another
        process) may have hashed some since :meth:`unhashed` listed them."""
        if not asset_ids:
            return set()
        stmt = select(ASSETS.c.id).where(
            ASSETS.c.id.in_(list(asset_ids)), ASSETS.c.sha256.is_(None), ASSETS.c.status == "ok"
        )
        with self._db.session_scope() as session:
            return set(session.scalars(stmt))

    def claim_for_hashing(self, asset_ids: Sequence[int], job: str, seconds: int) -> dict[int, int]:
        """Claim for the hashing job ``job`` those of ``asset_ids`` still to hash that no other job (on
        this machine or another) holds, for ``seconds``; returns those claimed with their files' cataloged
        modification times (``catalog.hash_claims``). The claims of this machine's jobs whose process
        died (see :meth:`running_hash_job`) are taken over at once."""
        if not asset_ids:
            return {}
        machine = self._machine.id if self._machine is not None else ""
        with self._db.session_scope(write=True) as session:
            return hash_claims.claim(
                session, asset_ids, job=job, machine=machine, seconds=seconds, ended_here=self._hash_job_ended
            )

    @contextmanager
    def running_hash_job(self, job: str) -> Iterator[None]:
        """Hold the hashing job ``job``'s lock while it runs: a lock that the operating system drops with
        this process, so the next job on this machine knows its claims are no one's once it was killed.
        A lock folder that cannot be written leaves the claims to expire by time."""
        try:
            held = self._hash_job_locks.acquire(job)
        except OSError:
            held = None
        try:
            yield
        finally:
            if held is not None:
                held.release()
                with suppress(OSError):
                    self._hash_job_locks.discard(job)

    def _hash_job_ended(self, job: str) -> bool:
        """Whether this machine's hashing job ``job`` has ended: no live process holds its lock (False
        when that cannot be told: its claims expire by time)."""
        try:
            held = self._hash_job_locks.acquire(job)
        except OSError:
            return False
        if held is None:
            return False
        held.release()
        with suppress(OSError):
            self._hash_job_locks.discard(job)
        return True

    @property
    def _hash_job_locks(self) -> RunLocks:
        """This data folder's hashing-job locks (one data folder is one machine: ``app.machine``)."""
        return RunLocks(self._db.path.parent / HASH_JOB_LOCKS_FOLDER)

    def release_hash_claims(self, job: str) -> None:
        """End the claims of the hashing job ``job``."""
        with self._db.session_scope(write=True) as session:
            hash_claims.release(session, job)

    def set_hashes(self, asset_id: int, hashes: FileHashes) -> int:
        """Store a file's hashes; returns the id that holds them afterwards.

        If a *missing* row has the same SHA256, the file was moved: that older row is kept (with its user
        data), takes over this file's path and identification, and this row is deleted.
        """
        with self._db.session_scope(write=True) as session:
            return merge.set_hashes(session, asset_id, hashes)

    # remote metadata (enrichment) ----------------------------------------------------------------------
    def lookup_candidates(
        self,
        site: str = "civitai",
        *,
        retry_after: timedelta = timedelta(days=7),
        force: bool = False,
        limit: int | None = None,
    ) -> list[tuple[int, str]]:
        """(asset id, SHA256) of hashed files to look up on ``site``: never found there, or a miss older
        than ``retry_after`` (every miss with ``force``)."""
        with self._db.session_scope() as session:
            return remote.lookup_candidates(
                session, site, retry_before=utc_now() - retry_after, force=force, limit=limit
            )

    def linked_twins(self, asset_id: int, sha256: str) -> list[int]:
        """The other files with ``sha256`` linked to a site (:func:`catalog.twin_links.linked_twin_ids`)."""
        with self._db.session_scope() as session:
            return twin_links.linked_twin_ids(session, asset_id, sha256)

    def record_remote_match(self, asset_id: int, match: RemoteMatch) -> None:
        """Store a lookup's answer; fills only user fields that are empty and were never edited."""
        with self._db.session_scope(write=True) as session:
            user_data.require_asset(session, asset_id)
            remote.record_match(session, asset_id, match, utc_now())

    def record_remote_misses(self, asset_ids: Sequence[int], site: str = "civitai") -> None:
        """Remember that ``site`` does not know these files (never replaces a real link)."""
        if not asset_ids:
            return
        with self._db.session_scope(write=True) as session:
            remote.record_misses(session, asset_ids, site, utc_now())

    def remove_assets(self, asset_ids: Sequence[int]) -> None:
        """Forget rows (e.g. "forget missing files"); files on disk are not touched."""
        if not asset_ids:
            return
        with self._db.session_scope(write=True) as session:
            scan_writes.remove_assets(session, asset_ids)

    # -- renders ----------------------------------------------------------------------------------------

    def add_render(self, render: NewRender) -> RenderRecord:
        """Store a render and its links to the assets it used, in one transaction.

        Raises:
            InvalidValueError: a non-positive size or a non-finite time or weight.
            NotFoundError: a linked asset is not in the library (nothing is stored).
        """
        with self._db.session_scope(write=True) as session:
            render_id = renders.insert_render(session, render, self.renders_dir)
            return renders.render_records(session, self.renders_dir, render_id=render_id)[0]

    def renders(
        self, asset_id: int | None = None, limit: int | None = 200, offset: int = 0
    ) -> list[RenderRecord]:
        """Renders newest first; with ``asset_id`` only those that used that asset."""
        with self._db.session_scope() as session:
            return renders.render_records(
                session, self.renders_dir, asset_id=asset_id, limit=limit, offset=offset
            )

    def get_render(self, render_id: int) -> RenderRecord | None:
        with self._db.session_scope() as session:
            found = renders.render_records(session, self.renders_dir, render_id=render_id)
            return found[0] if found else None

    def delete_render(self, render_id: int) -> bool:
        """Forget a render; returns whether its image file was deleted too.

        The row goes first (so a failure never leaves a row pointing at nothing) and the file after, but
        only when it lies in the renders folder (an ``--out`` copy elsewhere is the user's) and no asset
        uses it as a preview (the user chose it as a cover; the cover must not break).

        Raises:
            NotFoundError: no render ``render_id``.
        """
        with self._db.session_scope(write=True) as session:
            image = renders.delete_render_row(session, render_id, self.renders_dir)
            keep = renders.used_as_preview(session, image)
        if keep or not image.is_relative_to(self.renders_dir):
            return False
        try:
            image.unlink()
        except FileNotFoundError:
            return False
        return True

    def use_render_as_preview(self, render_id: int, asset_id: int) -> PreviewRecord:
        """Make a render an asset's preview and its cover (source ``render``).

        Raises:
            NotFoundError: no such render or asset.
        """
        with self._db.session_scope(write=True) as session:
            found = renders.render_records(session, self.renders_dir, render_id=render_id)
            if not found:
                raise NotFoundError(f"No render with id {render_id} in the library.")
            render = found[0]
            return user_data.add_preview(
                session,
                asset_id,
                render.path,
                "render",
                make_cover=True,
                width=render.width,
                height=render.height,
            )

    # -- the renderer's asset index ---------------------------------------------------------------------

    def candidates_by_name(self, kind: AssetKind, name: str) -> list[Candidate]:
        """Healthy assets of ``kind`` whose stem, display name or alias is ``name`` ignoring case."""
        with self._db.session_scope() as session:
            return render_index.by_name(session, kind, name)

    def candidates_by_hash(self, value: str) -> list[Candidate]:
        """Healthy assets with a hash equal to or starting with ``value`` (8+ hex digits, any kind)."""
        with self._db.session_scope() as session:
            return render_index.by_hash(session, value)

    def embedding_names(self) -> list[str]:
        """The tokens (file stems) of the library's embeddings."""
        with self._db.session_scope() as session:
            return render_index.embedding_names(session)

    # -- organize: by template (catalog.template_rows) ----------------------------------------------------

    def template_rows(self, scope: TemplateScope) -> list[TemplateRow]:
        """What a template may name about each file in ``scope`` (missing files left out), by path."""
        with self._db.session_scope() as session:
            return template_rows.template_rows(session, scope)

    def cataloged_paths(self) -> set[str]:
        """Every path a row stands at (missing files too): where no move may put a file."""
        with self._db.session_scope() as session:
            return template_rows.cataloged_paths(session)

    # -- organize: the operations journal (catalog.journal) -----------------------------------------------

    def begin_operation(
        self, kind: str, label: str, steps: Sequence[journal.NewStep], *, undo_of: int | None = None
    ) -> tuple[int, list[journal.StepRecord]]:
        """Write an operation (``applying``) and its steps (``pending``), committed before any disk change."""
        with self._db.session_scope(write=True) as session:
            return journal.begin_operation(session, kind, label, steps, undo_of=undo_of)

    def operation_steps(self, operation_id: int) -> list[journal.StepRecord]:
        with self._db.session_scope() as session:
            return journal.step_records(session, operation_id)

    def set_step_state(self, step_id: int, state: str, detail: Mapping[str, Any] | None = None) -> None:
        """A step failed, was skipped or undone (no catalog change); ``detail`` is merged into its own."""
        with self._db.session_scope(write=True) as session:
            journal.set_step(session, step_id, state, detail)

    def set_steps_state(self, step_ids: Sequence[int], state: str) -> None:
        """:meth:`set_step_state` for many steps in one transaction (no detail)."""
        if step_ids:
            with self._db.session_scope(write=True) as session:
                journal.set_steps(session, step_ids, state)

    def record_step_moved(
        self,
        step_id: int,
        asset_id: int | None,
        moved: journal.FileState,
        *,
        files: Sequence[tuple[str, str]],
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Mark a move done and make the catalog follow (asset, previews) in the same transaction."""
        with self._db.session_scope(write=True) as session:
            journal.record_moved(session, step_id, asset_id, moved, files=files, detail=detail)

    def record_steps_moved(self, moved: Sequence[journal.MovedStep]) -> None:
        """:meth:`record_step_moved` for a batch of steps, in one transaction (large moves)."""
        with self._db.session_scope(write=True) as session:
            journal.record_moves(session, moved)

    def record_step_trashed(
        self, step_id: int, asset_id: int | None, detail: Mapping[str, Any] | None = None
    ) -> None:
        """Mark a delete done: the row goes, its snapshot kept in the step, the file remembered."""
        with self._db.session_scope(write=True) as session:
            journal.record_trashed(session, step_id, asset_id, detail)

    def record_step_restored(
        self,
        step_id: int,
        snapshot: Mapping[str, Any] | None,
        restored: journal.FileState,
        detail: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Mark a restore from the trash done and put the asset back as it was; returns its id."""
        with self._db.session_scope(write=True) as session:
            return journal.record_restored(session, step_id, snapshot, restored, detail)

    def record_step_linked(
        self,
        step_id: int,
        asset_id: int | None,
        state: journal.FileState,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Mark a link (or unlink) step done with the file's new identity."""
        with self._db.session_scope(write=True) as session:
            journal.record_linked(session, step_id, asset_id, state, detail)

    def finish_operation(self, operation_id: int, state: str, summary: Mapping[str, Any]) -> None:
        with self._db.session_scope(write=True) as session:
            journal.finish_operation(session, operation_id, state, summary)

    def set_operation_state(self, operation_id: int, state: str) -> None:
        with self._db.session_scope(write=True) as session:
            journal.set_operation_state(session, operation_id, state)

    def applying_operations(self) -> list[int]:
        """Ids of operations a crash left unfinished (one indexed query)."""
        with self._db.session_scope() as session:
            return journal.applying_operation_ids(session)

    def recent_operations(self, limit: int | None = 20) -> list[journal.OperationRecord]:
        with self._db.session_scope() as session:
            return journal.operation_records(session, limit=limit)

    def get_operation(self, operation_id: int) -> journal.OperationRecord | None:
        with self._db.session_scope() as session:
            found = journal.operation_records(session, limit=None, operation_id=operation_id)
            return found[0] if found else None

    def asset_id_at(self, path: str | Path) -> int | None:
        """The id of the row at exactly ``path``, present or missing (a cheap check before a move)."""
        with self._db.session_scope() as session:
            return journal.asset_at(session, str(path))

    def asset_ids_at(self, paths: Sequence[str | Path]) -> dict[str, int]:
        """The ids of the rows at any of ``paths`` (present or missing), by path: one query per 500."""
        with self._db.session_scope() as session:
            return journal.assets_at(session, [str(path) for path in paths])

    def root_containing(self, path: str | Path) -> int | None:
        """The innermost library folder containing ``path``, or None when it is outside all of them."""
        with self._db.session_scope() as session:
            return journal.root_containing(session, str(path))

    # -- organize: duplicates (catalog.duplicates) --------------------------------------------------------

    def duplicate_groups(self) -> list[duplicates.DuplicateGroup]:
        """Identical files (one SHA256, distinct device and inode), most freeable bytes first."""
        with self._db.session_scope() as session:
            return duplicates.duplicate_groups(session)

    def duplicates_of(self, asset_id: int) -> duplicates.DuplicateGroup | None:
        """The duplicate group of one file (None when it has no duplicate): one indexed query."""
        with self._db.session_scope() as session:
            return duplicates.duplicates_of(session, asset_id)

    def near_duplicate_hints(self) -> list[duplicates.NearDuplicateHint]:
        """Same tensors, other metadata; one Civitai version in other bytes; several versions of a model."""
        with self._db.session_scope() as session:
            return duplicates.near_duplicate_hints(session)

    def merge_duplicate_user_data(self, keep: int, drops: Sequence[int]) -> dict[str, Any]:
        """Unite the user's data of ``drops`` onto ``keep``; returns what changed on ``keep``, for
        :meth:`unmerge_duplicate_user_data`. (A resolution merges inside its journal steps instead.)"""
        with self._db.session_scope(write=True) as session:
            return duplicates.merge_user_data(session, keep, drops)

    def unmerge_duplicate_user_data(self, merged: Mapping[str, Any]) -> None:
        """Take back from the kept row what :meth:`merge_duplicate_user_data` gave it."""
        with self._db.session_scope(write=True) as session:
            duplicates.unmerge_user_data(session, merged)

    def set_devices(self, devices: Sequence[tuple[int, int]]) -> None:
        """The scanner's ``(asset id, st_dev)`` for unchanged files, so (device, inode) names a file."""
        if devices:
            with self._db.session_scope(write=True) as session:
                scan_writes.set_devices(session, devices)

    # -- organize: mirrors (catalog.mirrors) ----------------------------------------------------------------

    def mirrors(self) -> list[mirror_rows.MirrorRecord]:
        """This machine's mirrors, oldest first, with their last sync's report and entry counts (a mirror is a
        folder on the machine that made it: see :mod:`catalog.mirrors`)."""
        with self._db.session_scope() as session:
            return mirror_rows.mirrors(session, self._machine_id)

    def mirrors_elsewhere(self) -> list[tuple[str, int]]:
        """(machine name, mirror count) of the other machines sharing this catalog that have mirrors."""
        with self._db.session_scope() as session:
            return mirror_rows.elsewhere(session, self._machine_id)

    def mirror(self, mirror_id: int) -> mirror_rows.MirrorRecord:
        """Raises NotFoundError when there is no such mirror, or it is another machine's."""
        with self._db.session_scope() as session:
            return mirror_rows.mirror(session, mirror_id, self._machine_id)

    def mirror_at(self, target: Path) -> mirror_rows.MirrorRecord | None:
        with self._db.session_scope() as session:
            return mirror_rows.mirror_at(session, target, self._machine_id)

    def save_mirror(
        self,
        *,
        ui: MirrorUI,
        mode: MirrorMode,
        target: Path,
        kinds: Sequence[AssetKind] = (),
        collections: Sequence[str] = (),
    ) -> mirror_rows.MirrorRecord:
        """Create the mirror at ``target`` or change the one there (its entries stay recorded)."""
        with self._db.session_scope(write=True) as session:
            return mirror_rows.save_mirror(
                session,
                ui=ui,
                mode=mode,
                target=target,
                kinds=kinds,
                collections=collections,
                machine=self._machine,
            )

    def delete_mirror(self, mirror_id: int) -> None:
        """Forget a mirror and its entries' records (the caller removed the entries first)."""
        with self._db.session_scope(write=True) as session:
            mirror_rows.delete_mirror(session, mirror_id, self._machine_id)

    def mirror_entries(self, mirror_id: int) -> list[RecordedEntry]:
        with self._db.session_scope() as session:
            return mirror_rows.entries(session, mirror_id)

    def record_mirror_entry(self, mirror_id: int, entry: RecordedEntry) -> None:
        with self._db.session_scope(write=True) as session:
            mirror_rows.record_entry(session, mirror_id, entry)

    def record_mirror_entries(self, mirror_id: int, entries: Sequence[RecordedEntry]) -> None:
        """Record a batch of entries about to be made, in one transaction."""
        if not entries:
            return
        with self._db.session_scope(write=True) as session:
            mirror_rows.record_entries(session, mirror_id, entries)

    def forget_mirror_entries(self, mirror_id: int, paths: Sequence[Path]) -> None:
        if not paths:
            return
        with self._db.session_scope(write=True) as session:
            mirror_rows.forget_entries(session, mirror_id, paths)

    def finish_mirror_sync(self, mirror_id: int, report: dict[str, Any]) -> None:
        with self._db.session_scope(write=True) as session:
            mirror_rows.finish_sync(session, mirror_id, report, self._machine_id)

    def mirror_shared_files(
        self, kinds: Sequence[AssetKind] = (), collections: Sequence[str] = ()
    ) -> list[mirror_rows.SharedFile]:
        """The healthy files on disk a mirror of ``kinds``/``collections`` (empty: all) shares."""
        with self._db.session_scope() as session:
            return mirror_rows.shared_files(session, kinds, collections)

    def mirror_state_rows(
        self, mirror_id: int, kinds: Sequence[AssetKind] = (), collections: Sequence[str] = ()
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Shared files, recorded entries and library folders as plain rows, read in one snapshot."""
        with self._db.session_scope() as session:
            return mirror_rows.state_rows(session, mirror_id, kinds, collections)

    # -- organize: curation, overrides, hidden, deleted-file memory (catalog.user_data) ---------------------

    def bulk_edit(self, asset_ids: Sequence[int], edit: BulkEdit) -> list[AssetRecord]:
        """Apply one edit (labels added/removed, rating, flags) to every asset in one transaction; returns
        the updated records in ``asset_ids`` order.

        Raises:
            InvalidValueError: a rating outside 0..5.
            NotFoundError: an id that is not in the library (nothing is written).
        """
        with self._db.session_scope(write=True) as session:
            user_data.apply_bulk_edit(session, asset_ids, edit)
            return reading.assets_by_ids(session, list(dict.fromkeys(asset_ids)))

    def set_overrides(self, asset_id: int, overrides: Overrides) -> AssetRecord:
        """The user's kind / architecture over the file's identification (which is kept beside it)."""
        with self._db.session_scope(write=True) as session:
            user_data.set_overrides(session, asset_id, overrides)
            record = reading.asset_by_id(session, asset_id)
        if record is None:  # pragma: no cover - set_overrides already checked it exists
            raise NotFoundError(f"No asset with id {asset_id} in the library.")
        return record

    def deleted_files(self, limit: int | None = None) -> list[DeletedFileRecord]:
        """Files the user deleted from the library, newest first."""
        with self._db.session_scope() as session:
            return deleted_files.deleted_records(session, limit)

    def forget_deleted(self, ids: Sequence[int]) -> int:
        """Stop remembering these deletions (a download of them is no longer questioned)."""
        with self._db.session_scope(write=True) as session:
            return deleted_files.forget_deleted(session, ids)

    def deletion_origins(self, ids: Sequence[int]) -> dict[int, DeletionOrigin]:
        """The journaled delete behind each remembered deletion (none: another tool deleted it)."""
        with self._db.session_scope() as session:
            return deleted_files.deletion_origins(session, ids)

    def deleted_match(
        self, *, sha256: str | None = None, site: str | None = None, version_id: str | None = None
    ) -> DeletedFileRecord | None:
        """The remembered deletion of the same bytes or the same remote version, if any."""
        with self._db.session_scope() as session:
            return deleted_files.matching_deletion(session, sha256=sha256, site=site, version_id=version_id)

    # -- organize: export / import of the library list (catalog.exchange) --------------------------------

    def exchange_items(self) -> list[ExchangeItem]:
        """Every file on disk with its hashes, user data and Civitai / Hugging Face links (for export
        and for matching an imported list by hash)."""
        from catalog import exchange

        with self._db.session_scope() as session:
            return exchange.exchange_items(session)

    # -- organize: update checks (catalog.updates) ----------------------------------------------------------

    def linked_civitai_models(self) -> list[int]:
        """The Civitai models the library's present files are linked to (what an update check asks about)."""
        from catalog import updates

        with self._db.session_scope() as session:
            return updates.linked_model_ids(session)

    def record_update_check(self, found: Sequence[ModelVersions]) -> None:
        """Store the versions a check saw, one transaction per batch; ignored versions stay ignored."""
        from catalog import updates

        with self._db.session_scope(write=True) as session:
            updates.record_check(session, found, utc_now())

    def last_update_check(self) -> datetime | None:
        from catalog import updates

        with self._db.session_scope() as session:
            return updates.last_checked(session)

    def asset_updates(self, asset_ids: Sequence[int] | None = None) -> list[AssetUpdate]:
        """The files with a newer version on Civitai (only among ``asset_ids`` when given)."""
        from catalog import updates

        with self._db.session_scope() as session:
            return updates.asset_updates(session, asset_ids)

    def update_asset_ids(self, asset_ids: Sequence[int] | None = None) -> set[int]:
        """Which of ``asset_ids`` (else of all assets) have an update: what the views badge."""
        from catalog import updates

        stmt = updates.assets_with_updates()
        if asset_ids is not None:
            stmt = stmt.where(ASSETS.c.id.in_(list(asset_ids)))
        with self._db.session_scope() as session:
            return set(session.scalars(stmt))

    def model_update_state(self, model_id: int) -> ModelUpdateState | None:
        from catalog import updates

        with self._db.session_scope() as session:
            return updates.model_state(session, model_id)

    def ignore_update(self, model_id: int, version_id: int) -> None:
        """Remember "ignore this update" for ``model_id``; a still newer version shows again."""
        from catalog import updates

        with self._db.session_scope(write=True) as session:
            if not updates.ignore(session, model_id, version_id):
                raise NotFoundError(f"no update check has seen Civitai model {model_id} yet")
