"""The one after-scan chain: scan the library folders → hash the new files → look them up on Civitai.

The CLI's ``scan``/``hash``/``enrich`` commands and the window's rescan, "Hash now", start-up work and
"Look up on Civitai" all run ``run_chain``; only the steps asked for run, in this order, and each step
works on what the previous one left (the lookup asks about files that now have a hash). The steps are
plain job functions (``ChainJobs``): ``context_jobs`` binds them to an ``AppContext``, the window gets
them from its ``DesktopServices``.

When a step wrote (a scan found new, changed, moved or missing files, hashing recorded hashes, the lookup
asked Civitai), the chain ends by merging the search index (``ChainJobs.merge_search_index``): each write
leaves the index a segment more, and a search that checks one row at a time seeks every segment. An
unchanged rescan skips it and so never opens the library for writing.

The lookup is a background nicety, so it never fails the chain: an unreachable Civitai (offline, a wrong
address) ends the lookup quietly with one line in the summary, records nothing, and the same files are
asked again next time. This module imports neither the catalog nor the network: the window imports it
before either is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from app.messages import user_message
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress

if TYPE_CHECKING:
    from app.context import AppContext
    from app.organize.mirror import MirrorsSummary
    from catalog.enrich import EnrichSummary
    from catalog.hashing_job import HashSummary
    from catalog.scanner import ScanSummary


@dataclass(frozen=True, slots=True)
class LookupRequest:
    """Which files to look up on Civitai.

    ``asset_ids`` None: every hashed file without a Civitai link, except those Civitai did not know when
    asked within the last week; a selection (``asset_ids``) is hashed first if needed and asked afresh,
    linked or not. ``force`` also asks again about files not found recently.
    """

    asset_ids: tuple[int, ...] | None = None
    force: bool = False
    covers: bool = True


@dataclass(frozen=True, slots=True)
class ChainSteps:
    """What one run of the chain does; ``root_ids`` None scans every library folder."""

    scan: bool = True
    root_ids: tuple[int, ...] | None = None
    hash: bool = True
    look_up: bool = True
    lookup: LookupRequest = LookupRequest()


OFFLINE_NOTE = "Civitai not reachable: new files will be looked up next time"

ScanStep = Callable[[Sequence[int] | None, ProgressCallback, CancelToken], object]
HashStep = Callable[[ProgressCallback, CancelToken], object]
LookupStep = Callable[[LookupRequest, ProgressCallback, CancelToken], "EnrichSummary"]
MirrorStep = Callable[[ProgressCallback, CancelToken], object]
SearchIndexStep = Callable[[ProgressCallback, CancelToken], object]


@dataclass(frozen=True, slots=True)
class ChainJobs:
    """The step functions; ``look_up`` None (no Civitai configured) skips the lookup. ``sync_mirrors``
    brings the mirrors for other UIs up to date after a scan or hash (which may have moved files);
    ``merge_search_index`` merges the search index after a run that wrote (None: a read-only library)."""

    scan: ScanStep
    hash: HashStep
    look_up: LookupStep | None = None
    sync_mirrors: MirrorStep | None = None
    merge_search_index: SearchIndexStep | None = None


@runtime_checkable
class ScanCounts(Protocol):
    """The counts of a scan's summary (``catalog.scanner.ScanSummary``) that make its end news: the steps
    return ``object`` (a plain text in tests), and this module does not import the scanner. Not its
    corrupt, unsafe and unreadable counts: those are the health of every file it saw, known ones too (a
    file that became corrupt is counted changed)."""

    new: int
    changed: int
    moved: int
    missing: int


@runtime_checkable
class HashCounts(Protocol):
    """The counts of a hashing run's summary (``catalog.hashing_job.HashSummary``) that make it news."""

    hashed: int
    moved: int
    linked: int
    failed: int


@runtime_checkable
class MirrorCounts(Protocol):
    """The counts of a mirrors' re-sync (``app.organize.mirror.MirrorsSummary``) that make it news."""

    @property
    def changed(self) -> int: ...

    @property
    def failed(self) -> int: ...


if TYPE_CHECKING:  # mypy holds the summaries to these counts: a renamed one is an error here, not "no news"
    _COUNTED: tuple[type[ScanCounts], type[HashCounts], type[MirrorCounts]] = (
        ScanSummary,
        HashSummary,
        MirrorsSummary,
    )


@dataclass
class ChainSummary:
    """The outcome of each step that ran (its own summary object), and one line for the status bar."""

    scanned: object | None = None
    hashed: object | None = None
    looked_up: EnrichSummary | None = None
    mirrored: object | None = None  # app.organize.mirror.MirrorsSummary
    lookup_problem: str | None = None  # the lookup could not run (offline...); files are kept for later
    cancelled: bool = False
    _network_problem: str | None = None  # a NetworkError raised by the lookup step itself

    @property
    def offline(self) -> bool:
        """Civitai could not be reached: nothing was recorded, the files are asked again next time."""
        return self.offline_reason is not None

    @property
    def offline_reason(self) -> str | None:
        if self.looked_up is not None and self.looked_up.offline is not None:
            return self.looked_up.offline
        return self._network_problem

    def is_news(self) -> bool:
        """Whether the run is worth a status bar line nobody asked for, and the views that show what the
        library has need a fresh look: files new, changed, moved or gone, hashed, looked up, mirrored,
        a step that failed, was cancelled or could not reach Civitai. A scan after Atelier's own moves
        (or a download the service brought in) finds everything in place already and is no news, however
        many damaged files it saw again. A step that only reports text (no counts) adds no news."""
        if self.cancelled or self.lookup_problem is not None or self.offline:
            return True
        scanned, hashed, looked_up, mirrored = self.scanned, self.hashed, self.looked_up, self.mirrored
        if isinstance(scanned, ScanCounts) and any(
            (scanned.new, scanned.changed, scanned.moved, scanned.missing)
        ):
            return True
        if isinstance(hashed, HashCounts) and any(
            (hashed.hashed, hashed.moved, hashed.linked, hashed.failed)
        ):
            return True
        if looked_up is not None and bool(looked_up.looked_up or looked_up.failed):
            return True
        return isinstance(mirrored, MirrorCounts) and bool(mirrored.changed or mirrored.failed)

    def __str__(self) -> str:
        parts = [str(self.scanned)] if self.scanned is not None else []
        if self.hashed is not None and _worth_saying(self.hashed, "hashed"):
            parts.append(str(self.hashed))
        if self.offline and parts:
            # After a scan the reason would crowd the status bar; a lookup asked for by itself says it.
            parts.append(OFFLINE_NOTE)
        elif self.lookup_problem is not None:
            parts.append(self.lookup_problem)
        elif self.looked_up is not None:
            line = lookup_line(self.looked_up)
            if line:
                parts.append(line)
        if self.mirrored is not None and _worth_saying(self.mirrored, "changed"):
            parts.append(str(self.mirrored))
        return " · ".join(parts) or ("Cancelled" if self.cancelled else "Nothing to do")


def lookup_line(summary: EnrichSummary) -> str:
    """ "3 found on Civitai, 2 not on Civitai" (empty when nothing was asked)."""
    if summary.offline is not None:
        return str(summary)
    if not (summary.looked_up or summary.failed):
        return ""
    parts = [f"{summary.matched} found on Civitai", f"{summary.not_found} not on Civitai"]
    if summary.failed:
        parts.append(
            f"{summary.failed} not checked ({summary.problems[0] if summary.problems else 'failed'})"
        )
    text = ", ".join(parts)
    return f"Lookup cancelled: {text}" if summary.cancelled else text


def _worth_saying(result: object, count_field: str) -> bool:
    """A step's summary is shown unless it only says "nothing to do" (a plain text always is)."""
    if not hasattr(result, count_field):
        return True
    return bool(
        getattr(result, count_field) or getattr(result, "failed", 0) or getattr(result, "cancelled", False)
    )


def run_chain(
    jobs: ChainJobs,
    steps: ChainSteps,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ChainSummary:
    """Run the steps asked for, in order; stops after the step during which ``cancel`` was set."""
    cancel = cancel or CancelToken()
    summary = ChainSummary()
    if steps.scan:
        summary.scanned = jobs.scan(steps.root_ids, progress, cancel)
        if cancel.cancelled:
            summary.cancelled = True
            return summary
    if steps.hash:
        summary.hashed = jobs.hash(progress, cancel)
        if cancel.cancelled:
            summary.cancelled = True
            return summary
    if steps.look_up and jobs.look_up is not None:
        from core.sources.errors import NetworkError, RemoteError  # requests: only when a lookup runs

        try:
            summary.looked_up = jobs.look_up(steps.lookup, progress, cancel)
        except NetworkError as error:
            summary._network_problem = user_message(error)
            summary.lookup_problem = f"{user_message(error)} The files will be looked up next time."
        except RemoteError as error:
            summary.lookup_problem = f"Civitai lookup postponed: {user_message(error)}"
        summary.cancelled = cancel.cancelled
    if (steps.scan or steps.hash) and jobs.sync_mirrors is not None and not cancel.cancelled:
        summary.mirrored = jobs.sync_mirrors(progress, cancel)
    if jobs.merge_search_index is not None and _wrote(summary) and not cancel.cancelled:
        progress(Progress(0, None, "Tidying the search index"))
        jobs.merge_search_index(progress, cancel)
    return summary


# The counts of each step's summary that say it wrote to the catalog (duck-typed: this module imports
# neither the scanner nor the hashing job).
_WRITES = {
    "scanned": ("new", "changed", "reidentified", "moved", "missing"),
    "hashed": ("hashed", "moved"),
    "looked_up": ("matched", "not_found"),
}


def _wrote(summary: ChainSummary) -> bool:
    """Whether a step of the run may have changed the searchable text (and so the search index)."""
    for step, counts in _WRITES.items():
        result = getattr(summary, step)
        if result is not None and any(getattr(result, count, 0) for count in counts):
            return True
    return False


# -- the steps, bound to a context ------------------------------------------------------------------


def look_up_on_civitai(
    context: AppContext,
    request: LookupRequest,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> EnrichSummary:
    """Look files up on Civitai and store what is found; a selection is hashed first where needed."""
    if request.asset_ids is not None:
        from catalog.hashing_job import hash_pending

        workers = int(context.load_settings().hash_workers)
        hash_pending(
            context.library, workers=workers, asset_ids=request.asset_ids, progress=progress, cancel=cancel
        )
        if cancel is not None and cancel.cancelled:
            from catalog.enrich import EnrichSummary

            return EnrichSummary(cancelled=True)
    return context.enrich(
        progress, cancel, force=request.force, covers=request.covers, asset_ids=request.asset_ids
    )


def merge_search_index(
    context: AppContext, progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
) -> bool:
    """The chain's last step: merge the search index of ``context``'s library (see the module docstring);
    whether anything was merged."""
    return context.library.merge_search_index(cancel)


def context_jobs(context: AppContext, *, files_gone: bool = False) -> ChainJobs:
    """The chain's steps working on ``context``'s library, with its Civitai session and settings;
    ``files_gone``: the scan takes the files a folder lacks as deleted (``scan --force``)."""

    def scan(root_ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken) -> object:
        return context.scan(root_ids, progress=progress, cancel=cancel, files_gone=files_gone)

    def hash_files(progress: ProgressCallback, cancel: CancelToken) -> object:
        return context.hash_pending(progress=progress, cancel=cancel)

    def look_up(request: LookupRequest, progress: ProgressCallback, cancel: CancelToken) -> EnrichSummary:
        return look_up_on_civitai(context, request, progress, cancel)

    def merge_index(progress: ProgressCallback, cancel: CancelToken) -> object:
        return merge_search_index(context, progress, cancel)

    def sync_mirrors(progress: ProgressCallback, cancel: CancelToken) -> object:
        if not context.reads.has_mirrors():  # nothing to sync: the mirror code (0.7 s to load) stays unloaded
            return None
        from app.organize.mirror import sync_mirrors

        return sync_mirrors(context.library, progress, cancel)

    return ChainJobs(
        scan=scan,
        hash=hash_files,
        look_up=look_up,
        sync_mirrors=sync_mirrors,
        merge_search_index=None if context.read_only else merge_index,
    )


def auto_lookup(context: AppContext) -> bool:
    """Whether files are looked up on Civitai after hashing (the setting, on by default)."""
    return bool(context.load_settings().auto_lookup_civitai)
