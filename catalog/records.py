"""Plain, frozen records that cross the catalog boundary.

ORM objects and SQLAlchemy sessions never leave ``catalog/``; the GUI, the CLI and jobs on other threads
get these immutable records and hand back ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

# A search of the library lives in catalog.asset_query (light to import); named here too, re-exported.
from catalog.asset_query import AssetQuery as AssetQuery  # noqa: PLC0414
from catalog.asset_query import HiddenFilter as HiddenFilter  # noqa: PLC0414
from catalog.asset_query import SortKey as SortKey  # noqa: PLC0414
from core.file_hashes import FileHashes
from core.identify.result import Identification
from core.positional_pickle import pickled_by_position
from core.taxonomy import (
    Architecture,
    AssetKind,
    FileFormat,
    FileStatus,
    LibraryLayout,
    NetworkType,
    Precision,
    Prediction,
    Variant,
)

if TYPE_CHECKING:  # records only carry these; their parsers load when a sidecar or payload is read
    from core.formats.sidecar_info import SidecarInfo
    from core.sources.civitai_records import CivitaiImage

HUGGING_FACE_WEB = "https://huggingface.co"


@dataclass(frozen=True, slots=True)
class RootRecord:
    """A library folder the user added. ``path`` is where this machine reaches it (its own path for a
    shared folder it mapped, see :mod:`catalog.machine_paths`); ``canonical_path`` is the path the catalog
    stores, the folder on the machine that added it; ``name`` is how every machine calls it."""

    id: int
    path: str
    layout: LibraryLayout
    added_at: datetime
    file_count: int = 0
    name: str = ""
    canonical_path: str = ""
    # False: other machines said where they reach the folder and this one never did (``roots map``).
    placed_here: bool = True


@dataclass(frozen=True, slots=True)
class MachineFolder:
    """Where one machine reaches a library folder (``root_paths``)."""

    machine_id: str
    machine_name: str
    path: str
    this_machine: bool


@dataclass(frozen=True, slots=True)
class RootPlaces:
    """A library folder with every machine's own path for it (this machine's first)."""

    root: RootRecord
    folders: tuple[MachineFolder, ...]

    @property
    def here(self) -> str | None:
        """This machine's own path for the folder, None when it recorded none."""
        return next((folder.path for folder in self.folders if folder.this_machine), None)

    @property
    def elsewhere(self) -> tuple[MachineFolder, ...]:
        return tuple(folder for folder in self.folders if not folder.this_machine)


@dataclass(frozen=True, slots=True)
class PreviewRecord:
    """A preview image of an asset (a sidecar next to the file, a render, or a remote image)."""

    id: int
    path: str
    source: str  # "sidecar" | "render" | "civitai" | "huggingface" | "embedded" | "custom" (user-chosen)
    is_cover: bool
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class RemoteLinkRecord:
    """A link from a local file to a model on Civitai or Hugging Face, with what the site says about it.

    Filled the same way by a lookup and by another tool's sidecar. ``description_text`` is the text
    rendering of ``description_html`` (never show the HTML as it is); ``trigger_words`` and ``tags`` are the
    site's, apart from the user's own on the asset; ``examples`` are sample images with their generation
    parameters.
    """

    id: int
    site: str  # "civitai" | "huggingface"
    model_id: str | None
    version_id: str | None
    file_id: str | None
    model_name: str | None
    version_name: str | None
    base_model_label: str | None
    fetched_at: datetime | None
    payload: Mapping[str, Any] = field(default_factory=dict)
    not_found_at: datetime | None = None  # set when the site answered "unknown" (retried after a while)
    creator: str | None = None
    description_html: str | None = None
    description_text: str = ""
    tags: tuple[str, ...] = ()
    trigger_words: tuple[str, ...] = ()
    nsfw: bool = False
    nsfw_level: int | None = None
    examples: tuple[CivitaiImage, ...] = ()

    @property
    def found(self) -> bool:
        """Whether this row holds a real match (not only a remembered "not found")."""
        return self.version_id is not None or self.model_id is not None

    @property
    def page_url(self) -> str | None:
        """The model's web page (Civitai opens it on this version)."""
        if self.site == "civitai":
            from core.sources.civitai_facts import page_url

            return page_url(self.model_id, self.version_id)
        if self.site == "huggingface" and self.model_id:
            return f"{HUGGING_FACE_WEB}/{self.model_id}"
        return None


class _Identified:
    """The user's word over the file's own identification, read the same way from a full record and from
    a page's light row (both dataclasses below declare these fields)."""

    __slots__ = ()
    kind: AssetKind
    architecture: Architecture
    kind_override: AssetKind | None
    architecture_override: Architecture | None
    identified_kind: AssetKind | None
    identified_architecture: Architecture | None

    @property
    def file_kind(self) -> AssetKind:
        """What the file itself says it is, whatever the user overrode."""
        return self.identified_kind if self.identified_kind is not None else self.kind

    @property
    def file_architecture(self) -> Architecture:
        return self.identified_architecture if self.identified_architecture is not None else self.architecture

    @property
    def overridden(self) -> bool:
        """Whether the user overrode the kind or the architecture."""
        return self.kind_override is not None or self.architecture_override is not None


@dataclass(frozen=True, slots=True)
class AssetRecord(_Identified):
    """One model file (or diffusers folder) in the library with its identification and user data."""

    id: int
    root_id: int | None
    path: str
    file_name: str
    size: int
    mtime_ns: int
    kind: AssetKind  # effective: the user's override when set, else the file's identification
    architecture: Architecture  # effective, like ``kind``
    format: FileFormat
    status: FileStatus
    network: NetworkType | None = None
    variant: Variant | None = None
    prediction: Prediction | None = None
    precision: Precision | None = None
    status_reason: str | None = None
    reasons: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()
    hashes: FileHashes | None = None
    display_name: str = ""
    notes: str = ""
    rating: int = 0  # 0 = unrated, else 1..5
    favorite: bool = False
    nsfw: bool = False
    tags: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    trigger_words: tuple[str, ...] = ()  # the user's own (typed, from A1111's sidecar or the file itself)
    preferred_weight: float | None = None
    base_model_label: str | None = None  # ecosystem label (Pony, Illustrious...) from Civitai or the user
    description: str | None = None  # the user's (A1111 sidecar); Civitai's is on the remote link
    embedded_metadata: Mapping[str, Any] = field(default_factory=dict)
    cover_path: str | None = None
    added_at: datetime | None = None
    updated_at: datetime | None = None
    remote_model_name: str | None = None  # the model's name on Civitai (or Hugging Face), when linked
    remote_trigger_words: tuple[str, ...] = ()  # the remote sites' (Civitai's trained words), kept apart
    hidden: bool = False  # hidden from the library views (not forgotten); see AssetQuery.hidden
    device: int = 0  # st_dev of the file (0: not known yet); (device, inode) names one file
    kind_override: AssetKind | None = None  # the user's word over the file's identification
    architecture_override: Architecture | None = None
    # The file's own identification, kept beside the override (None on records built by hand: same as
    # ``kind`` / ``architecture``).
    identified_kind: AssetKind | None = None
    identified_architecture: Architecture | None = None

    @property
    def all_trigger_words(self) -> tuple[str, ...]:
        """The user's trigger words then the sites' ones, each once: what a prompt should be given."""
        words = list(self.trigger_words)
        seen = {word.casefold() for word in words}
        for word in self.remote_trigger_words:
            if word.casefold() not in seen:
                seen.add(word.casefold())
                words.append(word)
        return tuple(words)

    def is_there(self) -> bool:
        """Whether the file is there to use: a scan has not marked it missing, and it is on disk (a file
        deleted or moved while the app was closed is gone before a scan has marked it). What "in the
        library" means wherever a site's file is matched by hash: a row for a deleted file must not say
        "In library" and disable the Download that is the only way to get it back."""
        return self.status is not FileStatus.MISSING and Path(self.path).exists()


@dataclass(frozen=True, slots=True)
class AssetRow(_Identified):
    """What a page of the library shows of one file: a grid tile, a table row, a line of a listing.

    A light sibling of :class:`AssetRecord`, read in one query per page (no tags, collections, hashes,
    notes or remote facts), so a page of 200 rows costs a fraction of 200 full records. The fields here have
    the same values as the full record's fields of the same name; the details pane reads the full record
    (``Library.get``) of the one file it shows.
    """

    id: int
    root_id: int | None
    path: str
    file_name: str
    size: int
    kind: AssetKind  # effective, as on AssetRecord
    architecture: Architecture
    format: FileFormat
    status: FileStatus
    network: NetworkType | None = None
    status_reason: str | None = None
    display_name: str = ""
    rating: int = 0
    favorite: bool = False
    nsfw: bool = False
    base_model_label: str | None = None
    cover_path: str | None = None
    added_at: datetime | None = None
    hidden: bool = False
    kind_override: AssetKind | None = None
    architecture_override: Architecture | None = None
    identified_kind: AssetKind | None = None
    identified_architecture: Architecture | None = None


@dataclass(frozen=True, slots=True)
class Facets:
    """Counts for the sidebar, over the whole library (missing files excluded except in ``problems``)."""

    total: int
    by_kind: Mapping[AssetKind, int]
    by_architecture: Mapping[Architecture, int]
    by_root: Mapping[int, int]
    tags: Mapping[str, int]
    collections: Mapping[str, int]
    favorites: int
    problems: int  # corrupt + unsafe + unreadable + missing (what the Problems filter shows)
    unhashed: int
    # The base-model labels (Pony, Illustrious...) under their files' architecture, with their counts.
    base_models: Mapping[Architecture, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UserDataChanges:
    """A partial update of an asset's user data; ``None`` leaves a field unchanged."""

    display_name: str | None = None
    notes: str | None = None
    rating: int | None = None
    favorite: bool | None = None
    nsfw: bool | None = None
    tags: tuple[str, ...] | None = None
    collections: tuple[str, ...] | None = None
    trigger_words: tuple[str, ...] | None = None
    preferred_weight: float | None = None
    base_model_label: str | None = None
    hidden: bool | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Overrides:
    """The user's word over a file's identification; ``None`` leaves a field unchanged, ``reset`` clears
    both overrides first (back to what the file says)."""

    kind: AssetKind | None = None
    architecture: Architecture | None = None
    reset: bool = False


@dataclass(frozen=True, slots=True)
class BulkEdit:
    """One edit applied to many assets at once (the bulk edit dialog, ``tag``/``rate``/``collection``).

    Labels are added to / removed from each asset's own (``set_tags`` replaces them); ``None`` flags and
    rating leave each asset's value alone, so a "(mixed)" field the user did not touch stays mixed.
    """

    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    set_tags: tuple[str, ...] | None = None
    add_collections: tuple[str, ...] = ()
    remove_collections: tuple[str, ...] = ()
    rating: int | None = None
    favorite: bool | None = None
    nsfw: bool | None = None
    hidden: bool | None = None

    @property
    def is_empty(self) -> bool:
        return self == BulkEdit()


@dataclass(frozen=True, slots=True)
class DeletionOrigin:
    """The journal's delete a remembered deletion came from, so it can be undone: the operation, how many
    files it trashed (an undo brings back all of them), and where the trash put this file and its sidecars
    (``trashed``: paths under the trash's ``files/``; empty where the system does not say)."""

    deleted_file_id: int
    operation_id: int
    operation_state: str
    operation_label: str
    files_in_operation: int
    trashed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeletedFileRecord:
    """A file the user deleted from the library, remembered so it is recognised when offered again."""

    id: int
    path: str
    file_name: str
    kind: AssetKind
    size: int
    sha256: str | None
    site: str | None
    model_id: str | None
    version_id: str | None
    model_name: str | None
    version_name: str | None
    deleted_at: datetime


class IndexedFile(NamedTuple):
    """What the scanner needs to know about a cataloged file to decide whether to reopen it.

    A named tuple: an unchanged rescan builds one per cataloged file, three times cheaper than a frozen
    dataclass.
    """

    id: int
    path: str
    size: int
    mtime_ns: int
    inode: int
    status: FileStatus
    sha256: str | None
    sidecar_mtime_ns: int = 0
    device: int = 0  # st_dev (0: not known yet); (device, inode) names one file
    identified_with: int = 0  # the identification rules' version that read it (core.identify.rules_version)


@pickled_by_position  # crosses the scan's process boundary for every file read
@dataclass(frozen=True, slots=True)
class ScannedFile:
    """The scanner's finding for one new or changed file, written to the catalog in batches.

    ``identification`` is None when the file could not be read (``status`` CORRUPT or UNSAFE, with the
    reason in ``status_reason``).
    """

    path: str
    size: int
    mtime_ns: int
    inode: int
    format: FileFormat
    status: FileStatus
    status_reason: str | None = None
    identification: Identification | None = None
    sidecars: SidecarInfo | None = None
    sidecar_mtime_ns: int = 0  # newest mtime among the sidecars read
    device: int = 0  # st_dev; with ``inode`` it names one file (hard links and bind mounts share it)


@dataclass(frozen=True, slots=True)
class RemoteMatch:
    """What a remote site says about one local file (from a hash lookup, a download or a sidecar)."""

    site: str  # "civitai" | "huggingface"
    model_id: str | None
    version_id: str | None
    file_id: str | None = None
    model_name: str | None = None
    version_name: str | None = None
    base_model_label: str | None = None  # Civitai's ecosystem label: "Pony", "Illustrious", "SDXL 1.0"...
    description: str | None = None  # as the site wrote it (HTML on Civitai)
    trigger_words: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    nsfw: bool = False
    payload: Mapping[str, Any] = field(default_factory=dict)  # the raw API answer, kept for re-parsing
    creator: str | None = None
    nsfw_level: int | None = None
    examples: tuple[CivitaiImage, ...] = ()  # sample images with their generation parameters


class RenderRole(StrEnum):
    """The part an asset played in a render."""

    CHECKPOINT = "checkpoint"
    VAE = "vae"
    TEXT_ENCODER = "text_encoder"  # a separate clip_l / t5xxl file of a Flux.1, SD3.5 or Chroma render
    LORA = "lora"
    EMBEDDING = "embedding"
    HYPERNETWORK = "hypernetwork"


class RenderKind(StrEnum):
    IMAGE = "image"
    GRID = "grid"


@dataclass(frozen=True, slots=True)
class RenderAssetLink:
    """One asset used by a render; ``weight`` is the LoRA weight or hypernetwork strength (else None)."""

    asset_id: int
    role: RenderRole
    weight: float | None = None


@dataclass(frozen=True, slots=True)
class NewRender:
    """What :meth:`catalog.library.Library.add_render` stores.

    ``path`` may be absolute or relative to the library's renders folder; an absolute path inside that
    folder is stored relative to it. ``recipe`` is the JSON form of the recipe (core.render.recipe_codec).
    """

    path: str
    width: int
    height: int
    seed: int
    recipe: Mapping[str, Any]
    infotext: str = ""
    elapsed: float = 0.0
    device: str = ""
    kind: RenderKind = RenderKind.IMAGE
    grid_axes: Mapping[str, Any] | None = None
    assets: tuple[RenderAssetLink, ...] = ()


@dataclass(frozen=True, slots=True)
class RenderRecord:
    """A stored render; ``path`` is always absolute (resolved against the renders folder on read)."""

    id: int
    created_at: datetime
    path: str
    width: int
    height: int
    seed: int
    recipe: Mapping[str, Any]
    infotext: str
    elapsed: float
    device: str
    kind: RenderKind
    grid_axes: Mapping[str, Any] | None = None
    assets: tuple[RenderAssetLink, ...] = ()
