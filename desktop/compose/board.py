"""The compose board: the slots and the settings, and the one place a Recipe is built from them.

Drops from the library arrive as asset ids; the board reads each record and routes it by kind, so the
user does not have to aim (a LoRA dropped on the checkpoint slot goes to the LoRA stack). What no slot
takes (a ControlNet, an unknown or unsafe file) is refused with a message saying why. A dropped PNG asks
for its parameters to be pasted (the tab does that through the render service).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from catalog.records import AssetRecord
from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe
from core.taxonomy import AssetKind, FileFormat, FileStatus
from desktop.compose.mime import ASSET_IDS_MIME, asset_ids_from_mime
from desktop.compose.parameters import ParametersForm
from desktop.compose.slots import AssetSlot, EmbeddingList, EmbeddingRow, HypernetworkSlot, LoraStack
from desktop.labels import ARCHITECTURE_LABELS, kind_label
from desktop.services import AssetLibrary

BOARD_KINDS = (
    AssetKind.CHECKPOINT,
    AssetKind.VAE,
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
    architecture = ARCHITECTURE_LABELS.get(record.architecture, record.architecture.value)
    parts = [f"{architecture} {kind_label(record.kind, record.network)}"]
    if record.base_model_label:
        parts.append(record.base_model_label)
    return " · ".join(parts)


_TAKES = "checkpoints, VAEs, LoRAs, embeddings and hypernetworks"


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def looks_negative(name: str) -> bool:
    """Whether an embedding is a negative one by its usual naming (EasyNegative, bad-hands-5...)."""
    lowered = name.casefold()
    return any(hint in lowered for hint in _NEGATIVE_HINTS)


class ComposeBoard(QWidget):
    """Checkpoint, VAE, LoRA stack, embeddings, hypernetwork and the settings form."""

    message = Signal(str)
    changed = Signal()
    image_dropped = Signal(str)  # a PNG dropped on the board: paste its parameters

    def __init__(self, library: AssetLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self._extra: dict[str, str] = {}
        self.setAcceptDrops(True)
        self.checkpoint = AssetSlot("Checkpoint", "Drop a checkpoint here")
        self.vae = AssetSlot("VAE", "Drop a VAE here (optional; default: the checkpoint's own)")
        self.loras = LoraStack()
        self.embeddings = EmbeddingList()
        self.hypernetwork = HypernetworkSlot()
        self.parameters = ParametersForm()

        for slot in (self.checkpoint, self.vae, self.loras, self.embeddings, self.hypernetwork):
            slot.dropped.connect(self.add_asset_ids)
            slot.changed.connect(self.changed)
        self.loras.trigger_requested.connect(self.insert_trigger_words)
        self.embeddings.side_changed.connect(self._on_embedding_side)
        self.embeddings.removed.connect(self._on_embedding_removed)
        self.parameters.changed.connect(self.changed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.checkpoint, self.vae, self.loras, self.embeddings, self.hypernetwork):
            layout.addWidget(widget)
        layout.addWidget(self.parameters, 1)

    # -- drops --------------------------------------------------------------------------------------

    def _drop_kind(self, event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> str | None:
        mime = event.mimeData()
        if mime.hasFormat(ASSET_IDS_MIME):
            return "assets"
        if mime.hasUrls() and any(url.toLocalFile().lower().endswith(".png") for url in mime.urls()):
            return "png"
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self._drop_kind(event) is not None:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if self._drop_kind(event) is not None:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        kind = self._drop_kind(event)
        if kind == "assets":
            event.accept()
            self.add_asset_ids(asset_ids_from_mime(event.mimeData()))
        elif kind == "png":
            event.accept()
            png = next(
                u.toLocalFile() for u in event.mimeData().urls() if u.toLocalFile().lower().endswith(".png")
            )
            self.image_dropped.emit(png)
        else:
            event.ignore()

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
                messages.append(self.add_record(record))
        if messages:
            self.message.emit("; ".join(messages))
        return messages

    def add_record(self, record: AssetRecord) -> str:
        """Puts one library asset where its kind goes; returns a message for the status bar."""
        name = asset_ref(record).name
        if record.status is not FileStatus.OK:
            reason = f": {record.status_reason}" if record.status_reason else ""
            return f"Refused {name}: the file is {record.status.value}{reason}"
        if record.kind not in BOARD_KINDS:
            what = (
                "its kind is unknown"
                if record.kind is AssetKind.UNKNOWN
                else f"{_a(kind_label(record.kind))} has no slot"
            )
            return f"Refused {name}: {what}; the board takes {_TAKES}"
        ref, detail = asset_ref(record), asset_detail(record)
        match record.kind:
            case AssetKind.CHECKPOINT:
                self.checkpoint.set_ref(ref, detail)
                return f"Checkpoint: {name}"
            case AssetKind.VAE:
                self.vae.set_ref(ref, detail)
                return f"VAE: {name}"
            case AssetKind.LORA:
                weight = record.preferred_weight if record.preferred_weight is not None else 1.0
                self.loras.add(LoraUse(ref, weight=weight), record.trigger_words, detail)
                return f"Added LoRA {name} to the stack"
            case AssetKind.EMBEDDING:
                return self.add_embedding(ref, negative=looks_negative(name))
            case _:
                self.hypernetwork.set_use(HypernetworkUse(ref, self.hypernetwork.strength.value()), detail)
                return f"Hypernetwork: {name}"

    def add_embedding(self, ref: AssetRef, negative: bool) -> str:
        """Adds the embedding and writes its token into the prompt (or the negative prompt)."""
        existing = self.embeddings.row_for(ref.name)
        if existing is not None:
            existing.set_negative(negative)
        else:
            self.embeddings.add(EmbeddingUse(ref, negative=negative))
        self.parameters.insert_terms([ref.name], negative=negative)
        side = "negative prompt" if negative else "prompt"
        return f"Embedding {ref.name} added to the {side}"

    def insert_trigger_words(self, words: Sequence[str]) -> None:
        self.parameters.insert_terms(list(words))
        if words:
            self.message.emit("Inserted " + ", ".join(words))

    def _on_embedding_side(self, row: EmbeddingRow, was_negative: bool, negative: bool) -> None:
        self.parameters.remove_term(row.token, negative=was_negative)
        self.parameters.insert_terms([row.token], negative=negative)

    def _on_embedding_removed(self, row: EmbeddingRow) -> None:
        self.parameters.remove_term(row.token, negative=row.negative)

    # -- the recipe ---------------------------------------------------------------------------------

    def recipe(self) -> Recipe:
        """The board as a Recipe; raises ValueError (with a message for the user) for a bad setting."""
        hypernetwork = self.hypernetwork.use()
        base = Recipe(
            checkpoint=self.checkpoint.ref,
            vae=self.vae.ref,
            loras=self.loras.uses(),
            embeddings=self.embeddings.uses(),
            hypernetworks=(hypernetwork,) if hypernetwork is not None else (),
            extra=self._extra,
        )
        return self.parameters.apply_to(base)

    def load_recipe(self, recipe: Recipe) -> None:
        """Replaces the board with ``recipe`` (from pasted infotext or a stored render).

        Embedding tokens are already in the recipe's texts, so they are not inserted again; LoRAs found
        in the library get their trigger words back from the catalog.
        """
        records = {
            r.id: r for r in self.library.get_many([ref.asset_id for ref in recipe.refs() if ref.asset_id])
        }

        def detail(ref: AssetRef | None) -> str:
            record = records.get(ref.asset_id) if ref is not None and ref.asset_id is not None else None
            return asset_detail(record) if record is not None else ""

        self.checkpoint.set_ref(recipe.checkpoint, detail(recipe.checkpoint))
        self.vae.set_ref(recipe.vae, detail(recipe.vae))
        self.loras.clear()
        for use in recipe.loras:
            record = records.get(use.ref.asset_id) if use.ref.asset_id is not None else None
            triggers = record.trigger_words if record is not None else ()
            self.loras.add(use, triggers, detail(use.ref))
        self.embeddings.clear()
        for embedding in recipe.embeddings:
            self.embeddings.add(embedding)
        first = recipe.hypernetworks[0] if recipe.hypernetworks else None
        self.hypernetwork.set_use(first, detail(first.ref if first else None))
        if len(recipe.hypernetworks) > 1:
            dropped = ", ".join(h.ref.name for h in recipe.hypernetworks[1:])
            self.message.emit(f"The board holds one hypernetwork; left out: {dropped}")
        self._extra = dict(recipe.extra)
        self.parameters.show_recipe(recipe)
        self.changed.emit()

    def clear(self) -> None:
        self.load_recipe(Recipe())
