"""Update checks, for the window and the CLI alike: which Civitai-linked files have a newer version.

* :meth:`UpdateService.check` asks Civitai about every model the library's files are linked to, 100 models
  per request (``/models?ids=``), one request after another through the Civitai session (its rate limit
  and its 429/Retry-After policy), and stores each model's versions in the catalog (``catalog.updates``);
  it reports progress after each request and stops between requests when cancelled.
* :meth:`UpdateService.check_if_due` is the automatic check: at most once a day (the last check's time is
  the catalog's, so every front end and every machine sharing the catalog agrees), and only when the
  ``check_updates_daily`` setting allows. :meth:`UpdateService.check_quietly` is how the window runs it:
  an unreachable Civitai is no error the user asked to see, only a calm note (:data:`OFFLINE_NOTE`), like
  the lookup after a scan; the check asked for by the user (menu, CLI) reports the failure.
* :meth:`UpdateService.download_beside` downloads a file's newest version into the old file's folder
  through the one download pipeline (``app.download_service``): verified, then in the library, linked.
* :meth:`UpdateService.ignore` remembers "ignore this update" for the file's model; a still newer
  version is not ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.download_targets import CivitaiTarget
from core.errors import AtelierError
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress

if TYPE_CHECKING:
    from app.context import AppContext
    from app.download_service import DownloadService, FinishedDownload
    from catalog.library import Library
    from catalog.records import AssetRecord
    from catalog.updates import AssetUpdate
    from core.sources.civitai import CivitaiClient

_log = logging.getLogger(__name__)
CHECK_INTERVAL = timedelta(days=1)
OFFLINE_NOTE = "Civitai not reachable: updates will be checked next time"


class NoUpdateError(AtelierError):
    """The file named has no update to download or ignore."""


@dataclass(frozen=True, slots=True)
class CheckSummary:
    """What a check did: models asked, requests sent, models Civitai no longer shows, files to update."""

    models: int
    requests: int
    not_found: int
    updates: int

    def __str__(self) -> str:
        if not self.models:
            return "No file of the library is linked to Civitai: nothing to check."
        gone = f" ({self.not_found} no longer on Civitai)" if self.not_found else ""
        files = f"{self.updates} file{'s' if self.updates != 1 else ''}"
        plural = "s" if self.models != 1 else ""
        return f"Checked {self.models} Civitai model{plural}{gone}: {files} with a newer version."


@dataclass(frozen=True, slots=True)
class CheckPostponed:
    """An automatic check that could not reach Civitai; ``reason`` is the network's one line (logged)."""

    reason: str

    def __str__(self) -> str:
        return OFFLINE_NOTE


class UpdateSettings(Protocol):
    """The one setting the automatic check reads (``app.live_settings.LiveSettings`` has it)."""

    check_updates_daily: bool


class UpdateService:
    """Update checks, "ignore" and "download beside" for one profile (see the module docstring).

    Built from the context's parts (the window hands over the same parts it already has), read on use
    so a changed Civitai host, key or setting applies to the next check.
    """

    def __init__(
        self,
        library: Library,
        civitai: Callable[[], CivitaiClient],
        downloads: Callable[[], DownloadService],
        settings: UpdateSettings,
    ) -> None:
        self.library = library
        self._civitai = civitai
        self._downloads = downloads
        self._settings = settings

    @classmethod
    def for_context(cls, context: AppContext) -> UpdateService:
        return cls(context.library, context.civitai, lambda: context.downloads, context.settings)

    def check(
        self, progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
    ) -> CheckSummary:
        """Ask Civitai about every linked model, in requests of 100, and store what it says."""
        from core.sources.civitai_updates import model_versions  # the parsers load on the first check

        library = self.library
        model_ids = library.linked_civitai_models()
        total = len(model_ids)
        progress(Progress(0, total, "Checking for updates on Civitai"))
        done = requests = not_found = 0
        for asked, found in self._civitai().model_batches(model_ids):
            requests += 1
            library.record_update_check([model_versions(model) for model in found.values()])
            done += len(asked)
            not_found += len(asked) - len(found)
            progress(Progress(done, total, f"Checked {done} of {total} models"))
            if cancel is not None:
                cancel.raise_if_cancelled()
        return CheckSummary(total, requests, not_found, len(library.update_asset_ids()))

    def check_quietly(
        self, progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
    ) -> CheckSummary | CheckPostponed:
        """:meth:`check` for the automatic daily check: Civitai out of reach (no network, a server
        error) is :class:`CheckPostponed`, not an error; nothing is recorded, so the next start asks
        again. Any other failure (a refused key...) is still raised for the user to see."""
        from app.messages import user_message
        from core.sources.errors import NetworkError, ServerError

        try:
            return self.check(progress, cancel)
        except (NetworkError, ServerError) as exc:
            _log.info("automatic update check postponed: %s", user_message(exc))
            return CheckPostponed(user_message(exc))

    def is_due(self, now: datetime | None = None) -> bool:
        """Whether the automatic check should run now (setting on, no check for a day, something to ask)."""
        if not self._settings.check_updates_daily:
            return False
        last = self.library.last_update_check()
        if last is not None and not self.is_stale(last, now):
            return False
        return bool(self.library.linked_civitai_models())

    @staticmethod
    def is_stale(last: datetime, now: datetime | None = None) -> bool:
        """Whether a check made at ``last`` is a day old or more."""
        return (now or datetime.now(UTC)) - last >= CHECK_INTERVAL

    def check_if_due(
        self, progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
    ) -> CheckSummary | None:
        """The automatic check: run :meth:`check` when :meth:`is_due`, else None."""
        return self.check(progress, cancel) if self.is_due() else None

    def last_check(self) -> datetime | None:
        return self.library.last_update_check()

    def available(self, assets: Sequence[AssetRecord] | None = None) -> list[AssetUpdate]:
        """The files with an update: all of them, or those of ``assets`` that have one."""
        ids = [asset.id for asset in assets] if assets is not None else None
        return self.library.asset_updates(ids)

    def for_asset(self, asset_id: int) -> AssetUpdate | None:
        found = self.library.asset_updates([asset_id])
        return found[0] if found else None

    def _require(self, asset_id: int) -> AssetUpdate:
        update = self.for_asset(asset_id)
        if update is None:
            asset = self.library.get(asset_id)
            name = asset.file_name if asset is not None else f"#{asset_id}"
            raise NoUpdateError(
                f"{name} has no update to get (not linked to Civitai, already up to date, ignored, or not "
                "checked yet: run `atelier updates --check`)"
            )
        return update

    def ignore(self, asset_id: int) -> AssetUpdate:
        """Ignore the newest version of the file's model (the badge goes; a later version brings it back)."""
        update = self._require(asset_id)
        self.library.ignore_update(update.model_id, update.newest.id)
        return update

    def download_beside(
        self, asset_id: int, progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
    ) -> FinishedDownload:
        """Download the file's newest version into the old file's folder, verified, into the library."""
        update = self._require(asset_id)
        downloads = self._downloads()
        target = CivitaiTarget(version_id=update.newest.id, model_id=update.model_id)
        queued = downloads.enqueue(target, to=Path(update.path).parent, exact=True)
        return downloads.run(queued.download_id, progress, cancel)
