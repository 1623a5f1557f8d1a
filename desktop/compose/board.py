"""The compose board: the slots and the settings, and the one place a Recipe is built from them.

Drops arrive as library asset ids or as files from a file manager; the board reads each record (or the
file's header) and routes it by kind, so the user does not have to aim (a LoRA dropped on the checkpoint
slot goes to the LoRA stack), and lights the slots a drag will land in while it hovers. A file outside
the library is used where it is, by path. What no slot takes (a ControlNet, an unknown, corrupt or
unsafe file) is refused with a message saying why. A dropped image asks for its parameters to be pasted
(the tab does that through the render service). Every row that does not fit the checkpoint's family is
marked on the board as soon as it is there, and again whenever the checkpoint changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from PySide6.QtCore import QMimeData, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.asset_fit import SEPARATE_PARTS, fit_problem, held_part, lora_fit_problem
from app.import_files import NotAModelError, examine_path
from catalog.records import AssetRecord
from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe
from core.sources.site_words import base_model_word
from core.taxonomy import Architecture, AssetKind, FileFormat, FileStatus, NetworkType
from desktop.compose.chooser import LibraryChooser
from desktop.compose.encoder_slots import PlacedEncoder, TextEncoderSlots
from desktop.compose.mime import ASSET_IDS_MIME, asset_ids_from_mime, render_id_from_mime
from desktop.compose.parameters import ParametersForm
from desktop.compose.slots import (
    AssetSlot,
    EmbeddingList,
    EmbeddingRow,
    FitBadge,
    HypernetworkSlot,
    LoraStack,
    SlotFrame,
)
from desktop.labels import ARCHITECTURE_LABELS, kind_label
from desktop.services import AssetLibrary

BOARD_KINDS = (
    AssetKind.CHECKPOINT,
    AssetKind.VAE,
    AssetKind.TEXT_ENCODER,
    AssetKind.LORA,
    AssetKind.EMBEDDING,
    AssetKind.HYPERNETWORK,
)
_NEGATIVE_HINTS = ("negative", "neg_", "neg-", "bad-", "bad_", "badhand", "verybad")


def asset_ref(record: AssetRecord) -> AssetRef:
    """How a library file is named in a recipe: by its file stem (the token A1111 uses), with its path,
    id and AutoV2 hash, so the render service needs no lookup and the infotext can carry the hash."""
    name = record.file_name if record.format is FileFormat.DIFFUSERS else PurePath(record.file_name).stem
    autov2 = record.hashes.autov2 if record.hashes is not None else None
    return AssetRef(name=name or record.file_name, path=record.path, hash=autov2, asset_id=record.id)


def asset_detail(record: AssetRecord) -> str:
    """``SDXL LoRA · Pony`` for the slot's second line."""
    return _detail(record.kind, record.architecture, record.network, record.base_model_label)


def _detail(
    kind: AssetKind, architecture: Architecture, network: NetworkType | None, label: str | None = None
) -> str:
    parts = [f"{ARCHITECTURE_LABELS.get(architecture, architecture.value)} {kind_label(kind, network)}"]
    if label:
        parts.append(base_model_word(label))
    return " · ".join(parts)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True, slots=True)
class BoardItem:
    """One thing to put on the board, from a library record or read from a file's header.

    ``refusal`` says why it cannot go on the board (unsafe, corrupt, a kind no slot takes). ``encoder``
    is the text encoder a text-encoder file holds (``clip_l``); ``components`` what a checkpoint file
    carries besides its denoiser (``vae``, ``text encoder``; None when identification did not say).
    """

    ref: AssetRef
    kind: AssetKind
    architecture: Architecture
    detail: str
    trigger_words: tuple[str, ...] = ()
    weight: float = 1.0
    refusal: str | None = None
    encoder: str | None = None  # what a text encoder or VAE file holds (app.asset_fit.held_part)
    components: tuple[str, ...] | None = None
    base_model_label: str | None = None  # Civitai's or the user's; picks a Z-Image variant's defaults


def _components(metadata: object) -> tuple[str, ...] | None:
    values = metadata.get("components") if isinstance(metadata, dict) else None
    return tuple(str(value) for value in values) if isinstance(values, list) else None


def item_from_record(record: AssetRecord) -> BoardItem:
    ref = asset_ref(record)
    weight = record.preferred_weight if record.preferred_weight is not None else 1.0
    return BoardItem(
        ref,
        record.kind,
        record.architecture,
        asset_detail(record),
        record.all_trigger_words,  # the user's, then Civitai's
        weight,
        _refusal(ref.name, record.kind, record.status, record.status_reason),
        held_part(record.kind, record.embedded_metadata),
        _components(dict(record.embedded_metadata)),
        record.base_model_label,
    )


def _refusal(name: str, kind: AssetKind, status: FileStatus, reason: str | None) -> str | None:
    if status is not FileStatus.OK:
        because = f": {reason}" if reason else ""
        return f"Refused {name}: the file is {status.value}{because}"
    if kind not in BOARD_KINDS:
        what = "its kind is unknown" if kind is AssetKind.UNKNOWN else f"{_a(kind_label(kind))} has no slot"
        return f"Refused {name}: {what}; the board takes {_TAKES}"
    return None


_TAKES = "checkpoints, VAEs, text encoders, LoRAs, embeddings and hypernetworks"


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def looks_negative(name: str) -> bool:
    """Whether an embedding is a negative one by its usual naming (EasyNegative, bad-hands-5...)."""
    lowered = name.casefold()
    return any(hint in lowered for hint in _NEGATIVE_HINTS)


class ComposeBoard(QWidget):
    """Checkpoint, VAE, text encoders, LoRA stack, embeddings, hypernetwork and the settings form.

    The checkpoint decides what else the board shows: a Flux.1, SD3.5, Chroma, Qwen-Image or Z-Image
    checkpoint gets its family's text-encoder slots, the VAE slot says whether the checkpoint carries
    its own, and the form shows Distilled CFG Scale and Shift where the family uses them.
    """

    message = Signal(str)
    changed = Signal()
    image_dropped = Signal(str)  # an image dropped on the board: paste its parameters
    render_dropped = Signal(int)  # a render dragged from the gallery: load its recipe

    def __init__(self, library: AssetLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self._extra: dict[str, str] = {}
        self._source_infotext = ""
        self._files: dict[str, BoardItem] = {}  # dropped files read during this drag, by path
        self._components: tuple[str, ...] | None = None  # what the checkpoint file carries
        self._checkpoint_label: str | None = None  # its base-model label: the defaults of its variant
        self.checkpoint = AssetSlot("Checkpoint", "Drop a checkpoint here")
        self.vae = AssetSlot("VAE", _VAE_HINT, choosable=True)
        self.text_encoders = TextEncoderSlots()
        self.chooser = LibraryChooser(library, self)
        self.loras = LoraStack()
        self.embeddings = EmbeddingList()
        self.hypernetwork = HypernetworkSlot()
        self.parameters = ParametersForm()
        self.slots: dict[AssetKind, SlotFrame] = {
            AssetKind.CHECKPOINT: self.checkpoint,
            AssetKind.VAE: self.vae,
            AssetKind.TEXT_ENCODER: self.text_encoders,
            AssetKind.LORA: self.loras,
            AssetKind.EMBEDDING: self.embeddings,
            AssetKind.HYPERNETWORK: self.hypernetwork,
        }

        for slot in (
            self.checkpoint,
            self.vae,
            self.text_encoders,
            self.loras,
            self.embeddings,
            self.hypernetwork,
        ):
            slot.changed.connect(self.changed)
        self.vae.choose_requested.connect(lambda: self.choose(AssetKind.VAE))
        self.text_encoders.choose_requested.connect(lambda slot: self.choose(AssetKind.TEXT_ENCODER, slot.id))
        self.chooser.chosen.connect(self._on_chosen)
        self.loras.trigger_requested.connect(self.insert_trigger_words)
        self.embeddings.side_changed.connect(self._on_embedding_side)
        self.embeddings.removed.connect(self._on_embedding_removed)
        self.parameters.changed.connect(self.changed)
        self.changed.connect(self.mark_misfits)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (
            self.checkpoint,
            self.vae,
            self.text_encoders,
            self.loras,
            self.embeddings,
            self.hypernetwork,
        ):
            layout.addWidget(widget)
        layout.addWidget(self.parameters, 1)

    # -- drops (the board panel delivers them; see desktop.compose.board_panel) -----------------------

    def accepts(self, mime: QMimeData) -> bool:
        """Whether a drag carries something for the board: library rows, model files, an image or a render
        from the gallery."""
        if mime.hasFormat(ASSET_IDS_MIME) or render_id_from_mime(mime) is not None:
            return True
        return bool(_local_paths(mime))

    def show_drop_targets(self, mime: QMimeData) -> bool:
        """Lights the slots the dragged items will land in; returns whether the drag is accepted."""
        if not self.accepts(mime):
            self.clear_drop_targets()
            return False
        kinds = {item.kind for item in self._items_of(mime) if item.refusal is None}
        for kind, slot in self.slots.items():
            slot.set_drop_highlight(kind in kinds)
        return True

    def clear_drop_targets(self) -> None:
        for slot in self.slots.values():
            slot.set_drop_highlight(False)

    def drop(self, mime: QMimeData) -> bool:
        """Puts what ``mime`` carries on the board; returns whether anything was taken."""
        self.clear_drop_targets()
        try:
            render_id = render_id_from_mime(mime)
            if render_id is not None:
                self.render_dropped.emit(render_id)
                return True
            if mime.hasFormat(ASSET_IDS_MIME):
                return bool(self.add_asset_ids(asset_ids_from_mime(mime)))
            paths = _local_paths(mime)
            image = next((p for p in paths if p.suffix.lower() in IMAGE_SUFFIXES), None)
            if image is not None:
                self.image_dropped.emit(str(image))
                return True
            return bool(self.add_files(paths))
        finally:
            self._files.clear()

    def _items_of(self, mime: QMimeData) -> list[BoardItem]:
        if mime.hasFormat(ASSET_IDS_MIME):
            return [item_from_record(r) for r in self.library.get_many(asset_ids_from_mime(mime))]
        return [
            item
            for path in _local_paths(mime)
            if path.suffix.lower() not in IMAGE_SUFFIXES
            for item in (self._file_item(path),)
            if item is not None
        ]

    def _file_item(self, path: Path) -> BoardItem | None:
        """The dropped file as a board item: its library record, else read from its header (cached)."""
        key = str(path)
        if key not in self._files:
            record = self.library.get_by_path(path)
            if record is not None:
                self._files[key] = item_from_record(record)
            else:
                try:
                    self._files[key] = _item_from_file(path)
                except NotAModelError:
                    return None
        return self._files[key]

    # -- adding assets ------------------------------------------------------------------------------

    def add_asset_ids(self, ids: Sequence[int]) -> list[str]:
        """Adds the library assets ``ids`` to their slots; returns (and emits) what happened to each."""
        records = {record.id: record for record in self.library.get_many(list(ids))}
        messages = []
        for asset_id in ids:
            record = records.get(asset_id)
            if record is None:
                messages.append(f"Asset {asset_id} is no longer in the library")
            else:
                messages.append(self.add_item(item_from_record(record)))
        self._say(messages)
        return messages

    def add_files(self, paths: Sequence[Path]) -> list[str]:
        """Adds model files by path (a file outside the library is used where it is)."""
        messages = []
        for path in paths:
            try:
                item = self._file_item(path)
            except OSError as error:
                messages.append(f"Refused {path.name}: cannot read it ({error.strerror or error})")
                continue
            if item is None:
                messages.append(f"Refused {path.name}: not a model file or model folder")
            else:
                messages.append(self.add_item(item))
        self._say(messages)
        return messages

    def add_record(self, record: AssetRecord) -> str:
        """Puts one library asset where its kind goes; returns a message for the status bar."""
        return self.add_item(item_from_record(record))

    def add_item(self, item: BoardItem) -> str:
        """Puts one item in the slot of its kind, or says why not."""
        if item.refusal is not None:
            return item.refusal
        ref, name, arch = item.ref, item.ref.name, item.architecture
        match item.kind:
            case AssetKind.CHECKPOINT:
                self._components = item.components
                self._checkpoint_label = item.base_model_label
                self.checkpoint.set_ref(ref, item.detail, arch)
                text = f"Checkpoint: {name}"
            case AssetKind.VAE:
                self.vae.set_ref(ref, item.detail, arch, item.encoder)
                text = f"VAE: {name}"
            case AssetKind.TEXT_ENCODER:
                placed = PlacedEncoder(ref, item.encoder, arch, item.detail)
                slot = self.text_encoders.place(placed)
                text = f"Text encoder ({slot}): {name}" if slot else f"Text encoder: {name}"
            case AssetKind.LORA:
                self.loras.add(LoraUse(ref, weight=item.weight), item.trigger_words, item.detail, arch)
                text = f"Added LoRA {name} to the stack"
            case AssetKind.EMBEDDING:
                text = self.add_embedding(ref, negative=looks_negative(name), architecture=arch)
            case _:
                use = HypernetworkUse(ref, self.hypernetwork.strength.value())
                self.hypernetwork.set_use(use, item.detail, arch)
                text = f"Hypernetwork: {name}"
        checkpoint = self.checkpoint.architecture
        problem = (
            lora_fit_problem(ref.path, arch, checkpoint)
            if item.kind is AssetKind.LORA
            else fit_problem(item.kind, arch, checkpoint, item.encoder)
        )
        return f"{text} ({problem})" if problem else text

    # -- choosing from the library ------------------------------------------------------------------

    def choose(self, kind: AssetKind, encoder: str | None = None) -> None:
        """Opens the chooser of library files for the VAE or a text-encoder slot, fitting ones first."""
        checkpoint = self.checkpoint.architecture if self.checkpoint.ref is not None else None
        button = self.vae.choose_button
        if encoder is not None:
            row = self.text_encoders.row_for(encoder)
            button = row.choose_button if row is not None else button
        self.chooser.open(kind, checkpoint, encoder, button)

    def _on_chosen(self, record: AssetRecord) -> None:
        self._say([self.add_record(record)])

    def add_embedding(self, ref: AssetRef, negative: bool, architecture: Architecture | None = None) -> str:
        """Adds the embedding and writes its token into the prompt (or the negative prompt)."""
        existing = self.embeddings.row_for(ref.name)
        if existing is not None:
            existing.set_negative(negative)
        else:
            self.embeddings.add(EmbeddingUse(ref, negative=negative), architecture)
        self.parameters.insert_terms([ref.name], negative=negative)
        side = "negative prompt" if negative else "prompt"
        return f"Embedding {ref.name} added to the {side}"

    def _say(self, messages: list[str]) -> None:
        if messages:
            self.message.emit("; ".join(messages))

    def insert_trigger_words(self, words: Sequence[str]) -> None:
        self.parameters.insert_terms(list(words))
        if words:
            self.message.emit("Inserted " + ", ".join(words))

    def _on_embedding_side(self, row: EmbeddingRow, was_negative: bool, negative: bool) -> None:
        self.parameters.remove_term(row.token, negative=was_negative)
        self.parameters.insert_terms([row.token], negative=negative)

    def _on_embedding_removed(self, row: EmbeddingRow) -> None:
        self.parameters.remove_term(row.token, negative=row.negative)

    # -- fit ----------------------------------------------------------------------------------------

    def _show_parts(self, checkpoint: Architecture | None) -> None:
        """The text-encoder slots, the VAE slot's hint and the family's fields for ``checkpoint``."""
        components = self._components if self.checkpoint.ref is not None else None
        parts = checkpoint in SEPARATE_PARTS
        encoders = None if components is None else any("text" in c for c in components)
        self.text_encoders.set_checkpoint(checkpoint if parts else None, encoders)
        vae = None if components is None or not parts else "vae" in components
        self.vae.set_hint(_VAE_HINT if vae is None else _VAE_BUNDLED if vae else _VAE_NEEDED)
        label = self._checkpoint_label if self.checkpoint.ref is not None else None
        self.parameters.set_family(checkpoint, label)

    def mark_misfits(self) -> list[str]:
        """Shows the checkpoint family's parts, marks every row that does not fit its family; returns
        the marks shown."""
        checkpoint = self.checkpoint.architecture if self.checkpoint.ref is not None else None
        self._show_parts(checkpoint)
        marks: list[str] = list(self.text_encoders.problems())

        def mark(
            kind: AssetKind, architecture: Architecture | None, badge: FitBadge, held: str | None = None
        ) -> None:
            problem = fit_problem(kind, architecture, checkpoint, held)
            show(problem, badge)

        def show(problem: str | None, badge: FitBadge) -> None:
            badge.show_problem(problem)
            if problem:
                marks.append(problem)

        if self.vae.ref is not None:
            mark(AssetKind.VAE, self.vae.architecture, self.vae.fit_badge, self.vae.held)
        if self.hypernetwork.ref is not None:
            mark(AssetKind.HYPERNETWORK, self.hypernetwork.architecture, self.hypernetwork.fit_badge)
        for row in self.loras.rows:
            # Judged by the families the renderer reads from the file, as the render refuses it.
            show(lora_fit_problem(row.ref.path, row.architecture, checkpoint), row.fit_badge)
        for embedding in self.embeddings.rows:
            mark(AssetKind.EMBEDDING, embedding.architecture, embedding.fit_badge)
        return marks

    # -- the recipe ---------------------------------------------------------------------------------

    def recipe(self) -> Recipe:
        """The board as a Recipe; raises ValueError (with a message for the user) for a bad setting."""
        hypernetwork = self.hypernetwork.use()
        base = Recipe(
            checkpoint=self.checkpoint.ref,
            vae=self.vae.ref,
            text_encoders=self.text_encoders.refs(),
            loras=self.loras.uses(),
            embeddings=self.embeddings.uses(),
            hypernetworks=(hypernetwork,) if hypernetwork is not None else (),
            extra=self._extra,
            source_infotext=self._source_infotext,
        )
        return self.parameters.apply_to(base)

    def named_refs(self) -> tuple[AssetRef, ...]:
        """Every asset the board names now (placed or only named by pasted parameters)."""
        refs = [ref for ref in (self.checkpoint.ref, self.vae.ref) if ref is not None]
        refs += self.text_encoders.refs()
        refs += [use.ref for use in self.loras.uses()]
        refs += [use.ref for use in self.embeddings.uses()]
        hypernetwork = self.hypernetwork.use()
        if hypernetwork is not None:
            refs.append(hypernetwork.ref)
        return tuple(refs)

    def load_recipe(self, recipe: Recipe, *, chosen: bool = True) -> None:
        """Replaces the board with ``recipe`` (from pasted infotext or a stored render).

        Embedding tokens are already in the recipe's texts, so they are not inserted again; LoRAs found
        in the library get their trigger words back from the catalog. ``chosen``: its CFG and steps are
        the user's and stay when the checkpoint changes (False: the blank board, which follows the
        checkpoint's defaults).
        """
        records = {
            r.id: r for r in self.library.get_many([ref.asset_id for ref in recipe.refs() if ref.asset_id])
        }

        def record_of(ref: AssetRef | None) -> AssetRecord | None:
            return records.get(ref.asset_id) if ref is not None and ref.asset_id is not None else None

        def detail(ref: AssetRef | None) -> str:
            record = record_of(ref)
            return asset_detail(record) if record is not None else ""

        def arch(ref: AssetRef | None) -> Architecture | None:
            record = record_of(ref)
            return record.architecture if record is not None else None

        checkpoint_record = record_of(recipe.checkpoint)
        self._components = (
            _components(dict(checkpoint_record.embedded_metadata)) if checkpoint_record is not None else None
        )
        self._checkpoint_label = checkpoint_record.base_model_label if checkpoint_record is not None else None
        self.checkpoint.set_ref(recipe.checkpoint, detail(recipe.checkpoint), arch(recipe.checkpoint))
        vae_record = record_of(recipe.vae)
        vae_held = held_part(AssetKind.VAE, vae_record.embedded_metadata) if vae_record is not None else None
        self.vae.set_ref(recipe.vae, detail(recipe.vae), arch(recipe.vae), vae_held)
        placed = []
        for ref in recipe.text_encoders:
            record = record_of(ref)
            encoder = held_part(AssetKind.TEXT_ENCODER, record.embedded_metadata) if record else None
            placed.append(PlacedEncoder(ref, encoder, arch(ref), detail(ref)))
        self.text_encoders.set_placed(placed)
        self.loras.clear()
        for use in recipe.loras:
            record = record_of(use.ref)
            triggers = record.all_trigger_words if record is not None else ()
            self.loras.add(use, triggers, detail(use.ref), arch(use.ref))
        self.embeddings.clear()
        for embedding in recipe.embeddings:
            self.embeddings.add(embedding, arch(embedding.ref))
        first = recipe.hypernetworks[0] if recipe.hypernetworks else None
        first_ref = first.ref if first else None
        self.hypernetwork.set_use(first, detail(first_ref), arch(first_ref))
        if len(recipe.hypernetworks) > 1:
            dropped = ", ".join(h.ref.name for h in recipe.hypernetworks[1:])
            self.message.emit(f"The board holds one hypernetwork; left out: {dropped}")
        self._extra = dict(recipe.extra)
        self._source_infotext = recipe.source_infotext  # written back byte for byte where unchanged
        self.parameters.show_recipe(recipe, chosen=chosen)
        self.changed.emit()

    def clear(self) -> None:
        self.load_recipe(Recipe(), chosen=False)

    def follow_catalog(self) -> bool:
        """Gives the board's library files the names and paths the catalog has now (after a rename or a
        move), and names a file that is gone (removed, marked missing by a scan, or no longer on disk)
        by its name and hash only, so its slot, the plan and the missing list say so before Render;
        returns whether anything changed."""
        try:
            recipe = self.recipe()
        except ValueError:  # a half-typed setting: the next change of the library tries again
            return False
        updated = as_catalog_has_it(recipe, self.library)
        if updated == recipe:
            return False
        self.load_recipe(updated)
        return True


def as_catalog_has_it(recipe: Recipe, library: AssetLibrary) -> Recipe:
    """``recipe`` with each library file as the catalog has it now: a renamed or moved one under its
    current name and path; one that left the library or its disk named by name and hash only, as
    pasted parameters name them, so the board, the plan and the missing list say it is missing instead
    of trusting an id and a path that lead nowhere; and a file named only that way which the library
    has now (a scan found it moved, a download fetched it) placed again. An embedding keeps its name:
    it is the token the prompt holds, and A1111 reads it from the text."""
    ids = sorted({ref.asset_id for ref in recipe.refs() if ref.asset_id is not None})
    records = {record.id: record for record in library.get_many(ids)} if ids else {}

    def placed(kind: AssetKind, ref: AssetRef, record: AssetRecord) -> AssetRef:
        fresh = asset_ref(record)
        name = ref.name if kind is AssetKind.EMBEDDING else fresh.name
        return dataclasses.replace(ref, name=name, path=fresh.path, asset_id=record.id)

    def current(kind: AssetKind, ref: AssetRef) -> AssetRef:
        if ref.asset_id is None:
            found = _found_again(kind, ref, library)
            return placed(kind, ref, found) if found is not None else ref
        record = records.get(ref.asset_id)
        if record is None or not record.is_there():
            kept = ref.path if ref.path is not None and Path(ref.path).exists() else None  # used by path
            return dataclasses.replace(ref, asset_id=None, path=kept)
        return placed(kind, ref, record)

    from app.render_service import map_refs  # loaded by the plan already; not at the window's start

    return map_refs(recipe, current)


def _found_again(kind: AssetKind, ref: AssetRef, library: AssetLibrary) -> AssetRecord | None:
    """The library file of ``kind`` with the hash of a reference named by name and hash only (a file
    outside the library, named by path, stays as it is); the one of the same name among copies."""
    if ref.path is not None or not ref.hash:
        return None
    found = [r for r in library.find_by_hash(ref.hash) if r.kind is kind and r.is_there()]
    named = [r for r in found if asset_ref(r).name == ref.name]
    return next(iter(named or found), None)


_VAE_HINT = "Drop a VAE here (optional; default: the checkpoint's own)"
_VAE_BUNDLED = "from the checkpoint (drop a VAE here to replace it)"
_VAE_NEEDED = "needed: this checkpoint has no VAE; drop one here (ae.safetensors) or choose one"


def _local_paths(mime: QMimeData) -> list[Path]:
    """The local files a drag from a file manager carries (``text/uri-list`` of file URLs)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


def _item_from_file(path: Path) -> BoardItem:
    """A file outside the library, identified from its header and used by path."""
    scanned = examine_path(path)
    ident = scanned.identification
    kind = ident.kind if ident is not None else AssetKind.UNKNOWN
    architecture = ident.architecture if ident is not None else Architecture.UNKNOWN
    network = ident.network if ident is not None else None
    name = path.name if path.is_dir() else path.stem
    ref = AssetRef(name=name, path=str(path))
    detail = _detail(kind, architecture, network, "file outside the library")
    triggers = tuple(ident.trigger_words) if ident is not None else ()
    refusal = _refusal(name, kind, scanned.status, scanned.status_reason)
    metadata = dict(ident.metadata) if ident is not None else {}
    return BoardItem(
        ref,
        kind,
        architecture,
        detail,
        triggers,
        1.0,
        refusal,
        held_part(kind, metadata),
        _components(metadata),
    )
