"""What an update check needs to know about a Civitai model: its versions, newest first, as plain records.

A library file is linked to one Civitai version; whether a newer one exists is decided from the model's
version list. Civitai sends that list in the author's order (``index``), which is usually but not always
newest first (a captured ``/models/215485`` lists its versions oldest first), so the order is decided
here: by ``publishedAt``, else ``createdAt``, else the order sent. Everything the update section shows
(name, date, base model, files with sizes and hashes, the changelog as text, trigger words) is kept in a
small JSON form so the catalog can show an update offline, long after the check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.sources.civitai_records import CivitaiModel, CivitaiVersion, parse_datetime
from core.text import html_to_text


@dataclass(frozen=True, slots=True)
class VersionFile:
    """One file of a version: enough to say what a download would bring, and to recognise it by hash."""

    name: str
    size_bytes: int | None
    sha256: str | None
    primary: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size_bytes, "sha256": self.sha256, "primary": self.primary}


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version of a model as an update check shows it; ``changes`` is the changelog as plain text."""

    id: int
    name: str
    base_model: str | None
    published_at: datetime | None
    files: tuple[VersionFile, ...]
    changes: str
    trained_words: tuple[str, ...]

    @property
    def primary_file(self) -> VersionFile | None:
        return next((f for f in self.files if f.primary), self.files[0] if self.files else None)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "base_model": self.base_model,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "files": [file.to_json() for file in self.files],
            "changes": self.changes,
            "trained_words": list(self.trained_words),
        }


@dataclass(frozen=True, slots=True)
class ModelVersions:
    """A Civitai model and its versions, newest first (see the module docstring for the order)."""

    model_id: int
    model_name: str
    model_type: str
    versions: tuple[VersionInfo, ...]

    @property
    def newest(self) -> VersionInfo | None:
        return self.versions[0] if self.versions else None

    def newer_than(self, version_id: int) -> tuple[VersionInfo, ...]:
        """The versions newer than ``version_id``; all of them when that version is no longer listed."""
        ids = [version.id for version in self.versions]
        return self.versions[: ids.index(version_id)] if version_id in ids else self.versions

    def to_json(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "model_name": self.model_name,
            "model_type": self.model_type,
            "versions": [version.to_json() for version in self.versions],
        }


def version_info(version: CivitaiVersion) -> VersionInfo:
    """The update view of one parsed version (its description HTML becomes the changelog text)."""
    return VersionInfo(
        id=version.id,
        name=version.name,
        base_model=version.base_model,
        published_at=version.published_at or version.created_at,
        files=tuple(
            VersionFile(name=f.name, size_bytes=f.size_bytes, sha256=f.sha256, primary=f.primary)
            for f in version.files
        ),
        changes=html_to_text(version.description_html),
        trained_words=version.trained_words,
    )


def newest_first(versions: Sequence[VersionInfo]) -> tuple[VersionInfo, ...]:
    """Dated versions newest first, then undated ones in the order sent (Civitai's own order)."""
    indexed = list(enumerate(versions))
    dated = sorted(
        ((i, v) for i, v in indexed if v.published_at is not None),
        key=lambda item: (item[1].published_at, -item[0]),
        reverse=True,
    )
    undated = [(i, v) for i, v in indexed if v.published_at is None]
    return tuple(v for _, v in (*dated, *undated))


def model_versions(model: CivitaiModel) -> ModelVersions:
    """A model's versions for an update check, newest first."""
    return ModelVersions(
        model_id=model.id,
        model_name=model.name,
        model_type=model.type,
        versions=newest_first([version_info(v) for v in model.versions]),
    )


# --- reading back what the catalog stored ---------------------------------------------------------


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def version_from_json(data: Mapping[str, Any]) -> VersionInfo | None:
    """A :class:`VersionInfo` written by :meth:`VersionInfo.to_json`; None when it has no id."""
    version_id = _int(data.get("id"))
    if version_id is None:
        return None
    files = data.get("files")
    return VersionInfo(
        id=version_id,
        name=_str(data.get("name")) or "",
        base_model=_str(data.get("base_model")),
        published_at=parse_datetime(data.get("published_at")),
        files=tuple(
            VersionFile(
                name=_str(f.get("name")) or "",
                size_bytes=_int(f.get("size")),
                sha256=_str(f.get("sha256")),
                primary=f.get("primary") is True,
            )
            for f in (files if isinstance(files, list) else [])
            if isinstance(f, Mapping)
        ),
        changes=_str(data.get("changes")) or "",
        trained_words=tuple(w for w in data.get("trained_words") or () if isinstance(w, str) and w),
    )


def model_versions_from_json(data: Mapping[str, Any]) -> ModelVersions | None:
    """A :class:`ModelVersions` written by :meth:`ModelVersions.to_json`; None for anything else."""
    model_id = _int(data.get("model_id"))
    raw_versions = data.get("versions")
    if model_id is None or not isinstance(raw_versions, list):
        return None
    versions = [version_from_json(v) for v in raw_versions if isinstance(v, Mapping)]
    return ModelVersions(
        model_id=model_id,
        model_name=_str(data.get("model_name")) or "",
        model_type=_str(data.get("model_type")) or "Other",
        versions=tuple(v for v in versions if v is not None),
    )
