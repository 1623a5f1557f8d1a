"""Downloads from the user's point of view: a target in, a verified file in the library out.

``DownloadService`` turns a target (a Civitai version/file, a Civitai URL, a Hugging Face file) into a
queued download with the expected size and SHA256, in the folder for the file's kind under a library
root's layout. When the bytes are verified and in place, the file is scanned into the library, hashed,
and linked to the remote metadata the download already carries, so it needs no lookup.

Each site gets its own HTTP session so a site's token is only ever sent to that site.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import requests

from app.context import CATALOG_FILE, AppContext
from app.download_paths import NoDownloadRootError, choose_root
from app.download_requests import civitai_request, hf_request, match_from_metadata
from app.download_targets import CivitaiTarget, HfTarget, Target
from catalog.download_store import SqlDownloadStore
from catalog.records import AssetRecord, RootRecord
from core.downloads import Downloader, DownloadRecord, DownloadSource
from core.jobs import CancelToken, ProgressCallback, no_progress
from core.net import make_session
from core.sources.civitai_records import CivitaiFile, CivitaiVersion


class DownloadTargetError(Exception):
    """A target that cannot be downloaded as asked (no library folder, no such file...)."""


@dataclass(frozen=True)
class FinishedDownload:
    path: Path
    asset: AssetRecord | None


class DownloadService:
    """Queue, run and finish downloads for one profile."""

    def __init__(self, context: AppContext) -> None:
        self.context = context

    @cached_property
    def store(self) -> SqlDownloadStore:
        return SqlDownloadStore.open(self.context.data_dir / CATALOG_FILE)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()

    def _downloader(self, source: DownloadSource) -> Downloader:
        session = self._sessions[source]
        return Downloader(session, self.store, concurrency=self.context.load_settings().download_concurrency)

    @cached_property
    def _sessions(self) -> dict[DownloadSource, requests.Session]:
        tokens = self.context.tokens
        return {
            DownloadSource.CIVITAI: make_session(token=tokens.get("civitai")),
            DownloadSource.HUGGINGFACE: make_session(token=tokens.get("huggingface")),
            DownloadSource.URL: make_session(),
        }

    # queueing -----------------------------------------------------------------------------------------
    def enqueue(self, target: Target, *, to: Path | None = None) -> int:
        root = self._root(to)
        if isinstance(target, HfTarget):
            return self._enqueue_hf(target, root)
        return self._enqueue_civitai(target, root)

    def _enqueue_civitai(self, target: CivitaiTarget, root: RootRecord) -> int:
        client = self.context.civitai()
        if target.version_id is None:
            if target.model_id is None:
                raise DownloadTargetError("no Civitai version or model given")
            model = client.get_model(target.model_id)
            if not model.versions:
                raise DownloadTargetError(f"Civitai model {model.id} has no version to download")
            version = client.get_version(model.versions[0].id)
        else:
            version = client.get_version(target.version_id)
            if version.model_id is None:
                raise DownloadTargetError(f"Civitai version {version.id} names no model")
            model = client.get_model(version.model_id)
        file = _choose_file(version, target.file_id)
        settings = self.context.load_settings()
        request = civitai_request(
            model,
            version,
            file,
            file.download_url or client.download_url(version.id, file.id, version=version),
            roots=[root],
            subfolder=settings.download_subfolder,
        )
        return self.store.add(request)

    def _enqueue_hf(self, target: HfTarget, root: RootRecord) -> int:
        client = self.context.huggingface()
        detail = client.model_info(target.repo_id, target.revision)
        file = detail.file(target.path)
        if file is None:
            raise DownloadTargetError(f"{target.repo_id} has no file {target.path!r} at {target.revision}")
        resolved = client.resolve_file(target.repo_id, target.path, target.revision)
        settings = self.context.load_settings()
        request = hf_request(detail, file, resolved.url, roots=[root], subfolder=settings.download_subfolder)
        return self.store.add(request)

    def _root(self, to: Path | None) -> RootRecord:
        library = self.context.library
        if to is not None:
            wanted = to.expanduser().resolve()
            for root in library.roots():
                if Path(root.path) == wanted:
                    return root
            return self.context.add_root(wanted)
        try:
            return choose_root(library.roots(), self.context.load_settings().download_root)
        except NoDownloadRootError as exc:
            raise DownloadTargetError(f"{exc} (or pass --to FOLDER)") from exc

    # running ------------------------------------------------------------------------------------------
    def run(
        self, download_id: int, progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
    ) -> FinishedDownload:
        """Download (or resume) one item and bring the file into the library."""
        record = self.get(download_id)
        path = self._downloader(record.source).run_one(download_id, progress, cancel)
        return FinishedDownload(path, self._into_library(self.get(download_id), path))

    def list(self) -> list[DownloadRecord]:
        return self.store.list()

    def get(self, download_id: int) -> DownloadRecord:
        record = self.store.get(download_id)
        if record is None:
            raise DownloadTargetError(f"no download with id {download_id}")
        return record

    def cancel(self, download_id: int) -> None:
        self._downloader(self.get(download_id).source).cancel(download_id)

    def resume(self, download_id: int) -> None:
        self._downloader(self.get(download_id).source).resume(download_id)

    def _into_library(self, record: DownloadRecord, path: Path) -> AssetRecord | None:
        """Scan the new file in, hash it and attach the remote metadata the download carried."""
        context = self.context
        roots = [r for r in context.library.roots() if Path(r.path) in path.parents]
        if not roots:
            return None
        context.scan([max(roots, key=lambda r: len(r.path)).id])
        context.hash_pending()
        asset = context.library.get_by_path(path)
        if asset is None:
            return None
        match = match_from_metadata(record.metadata)
        if match is not None:
            context.library.record_remote_match(asset.id, match)
        return context.library.get(asset.id)


def _choose_file(version: CivitaiVersion, file_id: int | None) -> CivitaiFile:
    if file_id is not None:
        for file in version.files:
            if file.id == file_id:
                return file
        raise DownloadTargetError(f"Civitai version {version.id} has no file {file_id}")
    chosen = version.primary_file or (version.files[0] if version.files else None)
    if chosen is None:
        raise DownloadTargetError(f"Civitai version {version.id} has no file to download")
    return chosen
