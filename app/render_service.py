"""Rendering recipes against the library: resolve names to files, render, save PNGs, store them linked.

The GUI's compose board and the CLI's ``render``/``grid`` commands share this service. It keeps the
renderer behind a factory because importing torch and diffusers takes seconds: the window must open, and
:meth:`RenderService.prepare` must answer ("LoRA 'x' is an SD 1.x LoRA; the checkpoint is an SDXL
checkpoint") without them. The engine is created on the first render and then kept, so its loaded
checkpoint stays warm.

Every image is written once under the output folder with a name never used before, carries A1111
infotext with the hashes A1111 itself would write (so Civitai and A1111 recognise the files), and is
stored in the catalog linked to each asset it used.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from app.asset_fit import conflicts, held_part, lora_families, lora_refusal, vae_refusal
from app.messages import user_message
from catalog.errors import CatalogError
from catalog.library import Library
from catalog.records import AssetRecord, NewRender, RenderAssetLink, RenderKind, RenderRecord, RenderRole
from catalog.render_index import LibraryAssetIndex
from core.errors import AtelierError
from core.identify.precision import PACKED_4BIT_PRECISIONS
from core.identify.vocabulary import ENCODER_OF
from core.jobs import CancelledError, Progress, ProgressCallback, no_progress
from core.render.conditioning import conditioning_warnings
from core.render.families import family_of
from core.render.family_rules import effective_settings, family_refusal, ignored_settings
from core.render.grid import (
    GridAxis,
    compose_grid,
    grid_infotext_extra,
    grid_recipes,
    render_order,
    with_fixed_seeds,
)
from core.render.hires import hires_refusal
from core.render.infotext import (
    civitai_checkpoint,
    format_infotext,
    recipe_from_infotext,
    unapplied_keys,
    unapplied_warnings,
    without_unapplied,
)
from core.render.phases import is_step
from core.render.png import read_infotext, save_png
from core.render.prompt_syntax import with_prompt_networks
from core.render.recipe import MAX_SEED, AssetRef, Recipe
from core.render.recipe_codec import recipe_to_dict
from core.render.resolve import MissingAsset, resolve_recipe
from core.render.samplers import FLOW_ARCHITECTURES, refusal
from core.taxonomy import (
    KIND_NOUNS,
    Architecture,
    AssetKind,
    FileFormat,
    Precision,
    Prediction,
    Variant,
    describe_kind,
    describe_model,
)

if TYPE_CHECKING:
    from core.jobs import CancelToken
    from core.render.engine import RenderEngine
    from core.render.families import Family
    from core.render.memory import Placement

_log = logging.getLogger(__name__)
PreviewCallback = Callable[[Image.Image, int, int], None]
RENDERABLE = (
    Architecture.SD1,
    Architecture.SD2,
    Architecture.SDXL,
    Architecture.FLUX1,
    Architecture.CHROMA,
    Architecture.SD3,
    Architecture.Z_IMAGE,
    Architecture.QWEN_IMAGE,
)
_SEED_MODULUS = MAX_SEED + 1
_DIRECT = -1  # placeholder asset id of a file given by path outside the library (resolution skips it)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
_MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft", ".gguf")
_LABELS = {
    AssetKind.CHECKPOINT: "Checkpoint",
    AssetKind.VAE: "VAE",
    AssetKind.LORA: "LoRA",
    AssetKind.EMBEDDING: "Embedding",
    AssetKind.HYPERNETWORK: "Hypernetwork",
}
RENDERABLE_NAMES = "SD 1.x, SD 2.x, SDXL, SD 3.5, Flux.1, Chroma, Z-Image and Qwen-Image"
# UNets trained for another task take extra input channels a text-to-image render does not provide.
_TASK_VARIANTS = {Variant.INPAINT: "inpainting", Variant.PIX2PIX: "instruct-pix2pix", Variant.DEPTH: "depth"}


@dataclass(frozen=True, slots=True)
class MisplacedAsset:
    """A file named in a slot made for another kind ("add_detail" is a LoRA, given as the checkpoint).

    ``use_as`` is how to name it in the slot it fits: its library name, or the path it was given by.
    """

    slot: AssetKind
    name: str
    actual: AssetKind
    use_as: str

    @property
    def what(self) -> str:
        """What the file is, with its article: "a LoRA", "a model file of unknown kind"."""
        return (
            "a model file of unknown kind" if self.actual is AssetKind.UNKNOWN else describe_kind(self.actual)
        )

    @property
    def message(self) -> str:
        """The sentence for the window: what the file is, and where it belongs."""
        text = f"{self.name} is {self.what}; the {KIND_NOUNS[self.slot]} slot needs "
        text += describe_kind(self.slot)
        if self.actual in _LABELS:
            text += f" (put it in the {KIND_NOUNS[self.actual]} slot)"
        return text


class RenderError(AtelierError):
    """A render that cannot happen, with a message for the user; ``missing`` lists absent assets."""

    def __init__(self, message: str, missing: Sequence[MissingAsset] = ()) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


@dataclass(frozen=True, slots=True)
class _FileFacts:
    """What the render needs to know about one file: from the catalog, or identified on the spot."""

    kind: AssetKind
    architecture: Architecture
    prediction: Prediction | None = None
    record: AssetRecord | None = None
    variant: Variant | None = None
    # What identification recorded beyond the family (a text encoder's id, a VAE's layouts and channels).
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    precision: Precision | None = None

    def held(self) -> str | None:
        """What the file holds for the fit rule (:func:`app.asset_fit.held_part`)."""
        return held_part(self.kind, self.metadata)


@dataclass(frozen=True, slots=True)
class RenderPlan:
    """A recipe resolved against the library, with what is missing and what the user should know."""

    recipe: Recipe
    architecture: Architecture | None
    prediction: Prediction | None
    missing: tuple[MissingAsset, ...]
    warnings: tuple[str, ...]
    variant: Variant | None = None  # the checkpoint's (inpaint and pix2pix UNets take other inputs)
    # The checkpoint's stored precision: a bitsandbytes 4-bit file (nf4/fp4) has no loader here.
    precision: Precision | None = None
    misplaced: tuple[MisplacedAsset, ...] = ()  # files of another kind than their slot: never loaded
    parts_problem: str | None = None  # a Flux/SD3.5/Chroma model file without encoders/VAE, none given
    # A LoRA of another family than the checkpoint's (the render refuses it by name).
    lora_problem: str | None = None
    # A part that cannot work with the checkpoint, known from the headers (a VAE of another latent space,
    # a text encoder of another family or width, a diffusers folder without a component it lists).
    fit_problem: str | None = None
    # Tokenizers no package ships and the Hugging Face cache lacks ("repo/subfolder"): the render fetches
    # them once from ``tokenizer_endpoint`` before it loads.
    tokenizers_to_fetch: tuple[str, ...] = ()
    tokenizer_endpoint: str | None = None
    # Why those tokenizers cannot be fetched now (HF_HUB_OFFLINE, the endpoint down): the render would fail.
    tokenizer_problem: str | None = None
    # Whether the checkpoint file holds its own text encoders / VAE (False: a diffusion model only).
    own_text_encoders: bool = True
    own_vae: bool = True
    # The checkpoint's base-model label (Civitai's or the user's): picks the defaults of a family's
    # variant the header cannot tell (Z-Image Turbo or Base); ``defaults_note`` says when one was assumed.
    base_model_label: str | None = None
    defaults_note: str | None = None
    # Whether the checkpoint has a distilled-guidance input (Flux.1 dev: True; schnell: False; None for
    # families without one): the plan shows and the infotext writes Distilled CFG only where it does.
    takes_guidance: bool | None = None

    @property
    def ready(self) -> bool:
        """Whether render() can run: the checkpoint was found, is renderable, and nothing is missing."""
        return self.problem is None

    @property
    def sampler_problem(self) -> str | None:
        """The refusal of a sampler, schedule type or hires upscaler Atelier cannot run (kept by name,
        never replaced)."""
        flow = self.architecture in FLOW_ARCHITECTURES
        return refusal(self.recipe.sampler, self.recipe.schedule, flow=flow) or hires_refusal(self.recipe)

    @property
    def problem(self) -> str | None:
        """Why the plan cannot be rendered (None when it can)."""
        checkpoint = self.recipe.checkpoint
        if self.sampler_problem:
            return self.sampler_problem
        if self.misplaced:
            return "; ".join(item.message for item in self.misplaced)
        if self.lora_problem:
            return self.lora_problem
        if self.fit_problem:
            return self.fit_problem
        if self.missing:
            return "; ".join(item.message for item in self.missing)
        if checkpoint is None:
            return "no checkpoint chosen"
        if checkpoint.path is None:
            return f"checkpoint {checkpoint.describe()} was not found"
        if self.architecture not in RENDERABLE:
            found = describe_model(AssetKind.CHECKPOINT, self.architecture)
            return f"{checkpoint.describe()} is {found}; Atelier renders {RENDERABLE_NAMES} checkpoints"
        # Linears packed by bitsandbytes (Forge's flux1-dev-bnb-nf4): loading needs bitsandbytes, not shipped.
        if self.precision in PACKED_4BIT_PRECISIONS:
            return (
                f"{checkpoint.describe()} is a bitsandbytes {self.precision.value.upper()} checkpoint: the "
                "built-in renderer cannot load it; use the fp8/fp16 file"
            )
        family = family_of(self.architecture)
        if family is not None:
            refused = family_refusal(family, self.recipe) or self.parts_problem or self.tokenizer_problem
            if refused:
                return refused
        if self.variant in _TASK_VARIANTS:
            found = describe_model(AssetKind.CHECKPOINT, self.architecture)
            return (
                f"{checkpoint.describe()} is {found} made for {_TASK_VARIANTS[self.variant]}; "
                "Atelier renders text-to-image with normal checkpoints"
            )
        return None


@dataclass(frozen=True, slots=True)
class StoredRender:
    """One image written and stored: where it is, its infotext, and the exact recipe that made it."""

    render: RenderRecord
    path: Path
    infotext: str
    seed: int
    recipe: Recipe
    elapsed: float
    device: str
    warnings: tuple[str, ...]


def map_refs(recipe: Recipe, change: Callable[[AssetKind, AssetRef], AssetRef]) -> Recipe:
    """``recipe`` with ``change`` applied to every asset reference (``kind`` says which slot)."""
    return recipe.replace(
        checkpoint=change(AssetKind.CHECKPOINT, recipe.checkpoint) if recipe.checkpoint else None,
        vae=change(AssetKind.VAE, recipe.vae) if recipe.vae else None,
        text_encoders=tuple(change(AssetKind.TEXT_ENCODER, ref) for ref in recipe.text_encoders),
        loras=tuple(dataclasses.replace(u, ref=change(AssetKind.LORA, u.ref)) for u in recipe.loras),
        embeddings=tuple(
            dataclasses.replace(u, ref=change(AssetKind.EMBEDDING, u.ref)) for u in recipe.embeddings
        ),
        hypernetworks=tuple(
            dataclasses.replace(u, ref=change(AssetKind.HYPERNETWORK, u.ref)) for u in recipe.hypernetworks
        ),
    )


def _found_only(recipe: Recipe) -> Recipe:
    """``recipe`` without the add-ons resolving found no file for: the plan lists them as missing
    already, and the engine's "is not in the library and has no path" would say the same twice."""
    return recipe.replace(
        vae=recipe.vae if recipe.vae is None or recipe.vae.path else None,
        loras=tuple(use for use in recipe.loras if use.ref.path),
        embeddings=tuple(use for use in recipe.embeddings if use.ref.path),
        hypernetworks=tuple(use for use in recipe.hypernetworks if use.ref.path),
    )


def asset_links(recipe: Recipe) -> list[RenderAssetLink]:
    """The catalog links of every library asset ``recipe`` uses (disabled LoRAs excluded)."""
    links: list[RenderAssetLink] = []

    def add(ref: AssetRef | None, role: RenderRole, weight: float | None = None) -> None:
        if ref is not None and ref.asset_id is not None and ref.asset_id > 0:
            links.append(RenderAssetLink(ref.asset_id, role, weight))

    add(recipe.checkpoint, RenderRole.CHECKPOINT)
    add(recipe.vae, RenderRole.VAE)
    for encoder in recipe.text_encoders:
        add(encoder, RenderRole.TEXT_ENCODER)
    for lora in recipe.loras:
        if lora.enabled:
            add(lora.ref, RenderRole.LORA, lora.weight)
    for embedding in recipe.embeddings:
        add(embedding.ref, RenderRole.EMBEDDING)
    for hypernetwork in recipe.hypernetworks:
        add(hypernetwork.ref, RenderRole.HYPERNETWORK, hypernetwork.strength)
    return links


def a1111_short_hash(kind: AssetKind, record: AssetRecord) -> str | None:
    """The hash A1111 writes for this file in infotext (lower case), or None when not hashed yet.

    Model/VAE hash: AutoV2 (SHA256[:10]); hypernetwork: SHA256[:10]; embeddings ("TI hashes"):
    SHA256[:12]; LoRAs ("Lora hashes"): AutoV3[:12] for safetensors, SHA256[:12] otherwise.
    """
    hashes = record.hashes
    if hashes is None:
        return None
    value: str | None
    if kind in (AssetKind.CHECKPOINT, AssetKind.VAE):
        value = hashes.autov2 or (hashes.sha256[:10] if hashes.sha256 else None)
    elif kind is AssetKind.HYPERNETWORK:
        value = hashes.sha256[:10] if hashes.sha256 else None
    elif kind is AssetKind.LORA and record.format is FileFormat.SAFETENSORS and hashes.autov3:
        value = hashes.autov3[:12]
    else:
        value = hashes.sha256[:12] if hashes.sha256 else None
    return value.lower() if value else None


def _is_image_path(value: str | Path) -> Path | None:
    if isinstance(value, Path):
        return value
    text = value.strip()
    if "\n" in text or len(text) > 4096 or not text.lower().endswith(_IMAGE_SUFFIXES):
        return None
    return Path(text).expanduser()


class RenderService:
    """Prepares, renders and stores recipes; one per app (it owns the engine and its loaded model)."""

    def __init__(
        self, library: Library, engine_factory: Callable[[], RenderEngine], output_dir: Path
    ) -> None:
        self.library = library
        self.output_dir = Path(output_dir)
        self._engine_factory = engine_factory
        self._engine: RenderEngine | None = None
        self._engine_lock = threading.Lock()
        self._name_lock = threading.Lock()

    # -- the engine -------------------------------------------------------------------------------------

    @property
    def engine_started(self) -> bool:
        """Whether the renderer (torch) has been loaded yet."""
        return self._engine is not None

    def engine(self) -> RenderEngine:
        """The engine, created on first use (this imports torch)."""
        with self._engine_lock:
            if self._engine is None:
                self._engine = self._engine_factory()
            return self._engine

    def device_description(self) -> str:
        """``'CPU, fp32'``, ``'CUDA: …, bf16, 80 GB'``; chooses the device (imports torch) if not done yet.

        Once a checkpoint is loaded, the memory its weights take (and on CUDA the allocated and peak
        memory) follows, which is what the compose board's device line shows.
        """
        if self._engine is not None:
            if self._engine.loaded is not None:
                return self._engine.memory_in_use()
            return self._engine.device.describe()
        from core.render.devices import describe

        return describe()

    # -- planning ---------------------------------------------------------------------------------------

    def prepare(self, recipe: Recipe) -> RenderPlan:
        """Resolve ``recipe`` against the library and say what is missing or will not fit.

        References with a ``path`` to an existing file are used as given: a library file at that path
        keeps its catalog identity, any other file is identified on the spot. A reference to a library
        file takes the path the catalog has now (the file may have been moved or renamed since the board
        or a stored render named it, by this window or another program). Never imports torch.
        """
        typed = with_prompt_networks(
            recipe, self.library.embedding_names() if recipe.prompt or recipe.negative_prompt else ()
        )
        recipe = typed.recipe
        direct: dict[str, _FileFacts] = {}
        read: dict[int, AssetRecord] = {}  # the catalog rows read for the paths, used again for the facts
        given = map_refs(
            self._current_paths(recipe, read), lambda kind, ref: self._accept_path(kind, ref, direct)
        )
        index = LibraryAssetIndex(self.library)
        resolved = resolve_recipe(given, index)
        final = map_refs(
            resolved.recipe,
            lambda _kind, ref: dataclasses.replace(ref, asset_id=None) if ref.asset_id == _DIRECT else ref,
        )
        facts = self._facts(final, direct, read)
        misplaced = self._misplaced(final, facts, resolved.missing, index)
        misplaced_names = {(item.slot, item.name) for item in misplaced}
        missing = tuple(item for item in resolved.missing if (item.kind, item.name) not in misplaced_names)
        architecture: Architecture | None = None
        prediction: Prediction | None = None
        variant: Variant | None = None
        precision: Precision | None = None
        base_model_label: str | None = None
        warnings: list[str] = [*typed.warnings, *resolved.notes]
        checkpoint = final.checkpoint
        if checkpoint is not None and checkpoint.path is not None:
            fact = facts.get(checkpoint.path)
            if fact is not None and fact.kind is AssetKind.CHECKPOINT:
                architecture, prediction, variant = fact.architecture, fact.prediction, fact.variant
                precision = fact.precision
                base_model_label = fact.record.base_model_label if fact.record is not None else None
        lora_problem, refused_loras = _lora_family_problem(final, facts, architecture)
        fit = _parts_fit_problem(final, facts, architecture)
        warnings += [
            warning
            for warning in self._mismatches(final, facts, architecture, refused_loras=refused_loras)
            if fit is None or not warning.startswith("VAE " if fit.startswith("VAE ") else "Text encoder ")
        ]
        if self._engine is not None and not misplaced:
            warnings += self._engine.supports(_found_only(final))
        family = family_of(architecture)
        # The prompt's syntax and noise keys the render will not honour, named before rendering (the CLI's
        # plan has no engine to ask; the board's has, and gets the same lines, kept once). A key the new
        # image will not carry is said once, by the writer's line (it also says the key is not written).
        unapplied = unapplied_warnings(final, unapplied_keys(transformer_family=family is not None))
        covered = {line.split(":", 1)[0] for line in unapplied}
        warnings += conditioning_warnings(final, family.label if family is not None else None, architecture)
        warnings = [line for line in warnings if line.split(":", 1)[0] not in covered] + list(unapplied)
        takes_guidance = (
            _takes_guidance(Path(checkpoint.path))
            if family is not None and family.default_guidance is not None and checkpoint and checkpoint.path
            else None
        )
        if family is not None:
            warnings += ignored_settings(family, final, takes_guidance=bool(takes_guidance))
        parts = _own_parts(final, architecture)
        return RenderPlan(
            final,
            architecture,
            prediction,
            missing,
            tuple(dict.fromkeys(warnings)),
            variant,
            precision,
            misplaced,
            parts.problem,
            own_text_encoders=parts.text_encoders,
            own_vae=parts.vae,
            lora_problem=lora_problem,
            fit_problem=fit,
            base_model_label=base_model_label,
            takes_guidance=takes_guidance,
            **_tokenizers_to_fetch(final, architecture),
        )

    @staticmethod
    def _misplaced(
        recipe: Recipe,
        facts: dict[str, _FileFacts],
        missing: Sequence[MissingAsset],
        index: LibraryAssetIndex,
    ) -> tuple[MisplacedAsset, ...]:
        """Files of another kind than the slot that names them: by path, or a name only another kind has."""
        found: list[MisplacedAsset] = []
        for kind, ref in _slots(recipe):
            fact = facts.get(ref.path or "")
            if fact is None or fact.kind is kind:
                continue
            name = ref.name or Path(ref.path or "").stem
            use_as = _stem_of(fact.record.file_name) if fact.record is not None else str(ref.path)
            found.append(MisplacedAsset(kind, name, fact.kind, use_as))
        for item in missing:
            if not item.name:
                continue
            for other in AssetKind:
                candidates = [] if other is item.kind else list(index.by_name(other, item.name))
                if candidates:
                    found.append(
                        MisplacedAsset(item.kind, item.name, other, _stem_of(candidates[0].file_stem))
                    )
                    break
        return tuple(dict.fromkeys(found))

    def _current_paths(self, recipe: Recipe, read: dict[int, AssetRecord]) -> Recipe:
        """``recipe`` with each library file's path as the catalog has it now; the rows read go into
        ``read``."""
        ids = sorted({ref.asset_id for ref in recipe.refs() if ref.asset_id is not None and ref.asset_id > 0})
        if not ids:
            return recipe
        read.update((record.id, record) for record in self.library.get_many(ids))
        paths = {asset_id: record.path for asset_id, record in read.items()}

        def current(_kind: AssetKind, ref: AssetRef) -> AssetRef:
            path = paths.get(ref.asset_id) if ref.asset_id is not None else None
            return ref if path is None or path == ref.path else dataclasses.replace(ref, path=path)

        return map_refs(recipe, current)

    def _accept_path(self, kind: AssetKind, ref: AssetRef, direct: dict[str, _FileFacts]) -> AssetRef:
        if ref.path is None or ref.asset_id is not None:
            return ref
        path = Path(ref.path).expanduser()
        if not path.exists():
            return ref
        resolved = path.resolve()
        record = self.library.get_by_path(resolved) or self.library.get_by_path(path)
        if record is not None:
            return dataclasses.replace(ref, asset_id=record.id, path=record.path)
        direct[str(resolved)] = _identify(resolved, kind)
        return dataclasses.replace(ref, path=str(resolved), asset_id=_DIRECT, name=ref.name or resolved.stem)

    def _facts(
        self, recipe: Recipe, direct: dict[str, _FileFacts], read: dict[int, AssetRecord]
    ) -> dict[str, _FileFacts]:
        """Kind and architecture of every file the recipe uses, by path (rows ``read`` already are not
        read again: those the resolver found since are)."""
        facts = dict(direct)
        ids = {ref.asset_id for ref in recipe.refs() if ref.asset_id is not None and ref.asset_id > 0}
        unread = sorted(ids - read.keys())
        records = [read[asset_id] for asset_id in sorted(ids & read.keys())]
        records += self.library.get_many(unread) if unread else []
        for record in records:
            facts[record.path] = _FileFacts(
                record.kind,
                record.architecture,
                record.prediction,
                record,
                record.variant,
                dict(record.embedded_metadata),
                record.precision,
            )
        return facts

    @staticmethod
    def _mismatches(
        recipe: Recipe,
        facts: dict[str, _FileFacts],
        architecture: Architecture | None,
        *,
        refused_loras: frozenset[str],
    ) -> list[str]:
        """A warning for each part made for another family than the checkpoint's. The LoRAs in
        ``refused_loras`` (paths) are skipped: the plan's refusal already names them, and another LoRA
        that does not fit (an SDXL LoRA beside a refused Flux.1 one on SD 1.x) is still listed."""
        if architecture not in RENDERABLE:
            return []
        checkpoint_name = describe_model(AssetKind.CHECKPOINT, architecture)
        found: list[str] = []
        slots: list[tuple[AssetKind, AssetRef]] = [(AssetKind.VAE, recipe.vae)] if recipe.vae else []
        slots += [
            (AssetKind.LORA, use.ref)
            for use in recipe.loras
            if use.enabled and (use.ref.path or "") not in refused_loras
        ]
        slots += [(AssetKind.EMBEDDING, use.ref) for use in recipe.embeddings]
        slots += [(AssetKind.HYPERNETWORK, use.ref) for use in recipe.hypernetworks]
        slots += [(AssetKind.TEXT_ENCODER, ref) for ref in recipe.text_encoders]
        for kind, ref in slots:
            fact = facts.get(ref.path or "")
            encoder = fact.held() if fact is not None else None
            if fact is None or not conflicts(kind, fact.architecture, architecture, encoder):
                continue
            if kind is AssetKind.TEXT_ENCODER:
                held = ENCODER_OF.get(encoder or "")
                what = f"holds {held.name}" if held else f"is {describe_model(kind, fact.architecture)}"
                found.append(f"Text encoder {ref.name!r} {what}; the checkpoint is {checkpoint_name}")
                continue
            found.append(
                f"{_LABELS[kind]} {ref.name!r} is {describe_model(kind, fact.architecture)}; "
                f"the checkpoint is {checkpoint_name}"
            )
        return found

    def placement(self, plan: RenderPlan) -> Placement | None:
        """How this machine would hold the plan's model (full GPU, model or sequential offload), or that
        it cannot, with the numbers — before anything loads. None for SD checkpoints (their own plan
        decides offload at load) and unresolved plans. Chooses the device, so it imports torch.

        The weights are estimated from the files' sizes (the checkpoint, separate encoders, the VAE);
        fp8 tensors, found by their dtype in the header, count twice, as they are upcast to 16 bits,
        and a full checkpoint's own encoders or VAE do not count where separate files replace them.
        """
        family = family_of(plan.architecture)
        checkpoint = plan.recipe.checkpoint
        if family is None or checkpoint is None or not checkpoint.path:
            return None
        from core.render.devices import free_memory_bytes
        from core.render.family_loader import FamilyLoadError, match_encoder_files
        from core.render.memory import available_memory_bytes, plan_placement

        recipe = plan.recipe
        encoders = [Path(ref.path) for ref in recipe.text_encoders if ref.path]
        parts = list(encoders)
        # The checkpoint's own encoders and VAE are not loaded where separate files take their place.
        try:
            replaced = match_encoder_files(family, encoders)
        except (FamilyLoadError, OSError):
            replaced = {}
        unused = tuple(
            prefix for slot in family.encoders if slot.name in replaced for prefix in slot.prefixes
        )
        if recipe.vae is not None and recipe.vae.path:
            parts.append(Path(recipe.vae.path))
            unused += family.vae_prefixes
        choice = self.engine().device
        width = 4 if choice.dtype_name == "float32" else 2
        sizes = [
            _weights_size(Path(checkpoint.path), unused, width),
            *(_weights_size(path, bytes_per_weight=width) for path in parts),
        ]
        return plan_placement(
            device_kind=choice.device.split(":", 1)[0],
            device_free_bytes=free_memory_bytes(choice),
            ram_available_bytes=available_memory_bytes(),
            weights_bytes=sum(sizes),
            largest_component_bytes=max(sizes, default=0),
            width=recipe.width,
            height=recipe.height,
            batch=recipe.batch,
        )

    def plan_from_infotext(self, text_or_png: str | Path) -> RenderPlan:
        """A plan from A1111 infotext, or from an image that carries it (PNG, JPEG, WebP).

        Missing assets that infotext names with a hash say so: the hash finds the file on Civitai.
        Raises RenderError for an image without infotext or that cannot be read.
        """
        image = _is_image_path(text_or_png)
        text = str(text_or_png)
        if image is not None:
            try:
                found = read_infotext(image)
            except OSError as error:
                raise RenderError(f"cannot read the image {image}: {error}") from error
            if not found:
                raise RenderError(f"{image} carries no generation parameters (no A1111 infotext)")
            text = found
        parsed = recipe_from_infotext(text, known_embeddings=self.library.embedding_names())
        plan = self.prepare(parsed.recipe)
        named = civitai_checkpoint(parsed.params)
        missing = tuple(
            dataclasses.replace(
                item, message=f"{item.message}; it can be downloaded from Civitai by its hash {item.hash}"
            )
            if item.hash
            else _by_civitai_version(item, named[1])
            if named is not None and item.kind is AssetKind.CHECKPOINT and item.name == named[0]
            else item
            for item in plan.missing
        )
        return dataclasses.replace(plan, missing=missing, warnings=(*parsed.warnings, *plan.warnings))

    # -- rendering --------------------------------------------------------------------------------------

    def render(
        self,
        plan: RenderPlan,
        *,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        preview: PreviewCallback | None = None,
    ) -> list[StoredRender]:
        """Render a ready plan and store every image (one PNG and one catalog row each).

        Raises RenderError when the plan is not ready or the renderer refuses it, and
        ``core.jobs.CancelledError`` when cancelled (nothing is stored then).
        """
        self._require_ready(plan)
        rendered, images, elapsed, device, warnings = self._render_one(plan, progress, cancel, preview)
        stored: list[StoredRender] = []
        for index, image in enumerate(images):
            recipe = rendered.replace(seed=(rendered.seed + index) % _SEED_MODULUS, batch=1)
            stored.append(
                self._store(
                    image,
                    recipe,
                    elapsed=elapsed,
                    device=device,
                    warnings=(*plan.warnings, *warnings),
                    kind=RenderKind.IMAGE,
                )
            )
        return stored

    def render_grid(
        self,
        base: Recipe,
        x: GridAxis,
        y: GridAxis | None = None,
        *,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        preview: PreviewCallback | None = None,
    ) -> StoredRender:
        """Render an X/Y grid of ``base`` and store the composed image as one render of kind ``grid``.

        Cells are rendered grouped by checkpoint (one load each); progress runs over all cells' steps. A
        cell the renderer refuses becomes a grey "failed" box and a warning. Raises RenderError when a
        cell's assets are missing (nothing is rendered then).
        """
        fill = base.seed if base.seed != -1 else random.randrange(4294967294)
        base = base.replace(batch=1)
        cells = grid_recipes(base, x, y, seed=fill)
        plans = [[self.prepare(recipe) for recipe in row] for row in cells]
        problems = list(dict.fromkeys(p.problem for row in plans for p in row if p.problem))
        if problems:
            missing = {(m.kind, m.name, m.hash): m for row in plans for p in row for m in p.missing}
            raise RenderError("cannot render the grid: " + "; ".join(problems), tuple(missing.values()))
        order = render_order([[plan.recipe for plan in row] for row in plans])
        total_steps = sum(plans[r][c].recipe.steps for r, c in order)
        images: list[list[Image.Image | None]] = [[None] * len(row) for row in plans]
        rendered: dict[tuple[int, int], Recipe] = {}
        warnings: list[str] = []
        elapsed, device, offset = 0.0, "", 0
        for number, (row, column) in enumerate(order, start=1):
            plan = plans[row][column]
            cell_progress = _cell_progress(
                progress,
                offset=offset,
                steps=plan.recipe.steps,
                total_steps=total_steps,
                number=number,
                cells=len(order),
            )
            try:
                recipe, cell_images, seconds, device, cell_warnings = self._render_one(
                    plan, cell_progress, cancel, preview
                )
            except RenderError as error:
                warnings.append(f"cell {x.label(x.values[column])}: {error}")
            else:
                images[row][column] = cell_images[0]
                rendered[(row, column)] = recipe
                elapsed += seconds
                warnings += [*plan.warnings, *cell_warnings]
            offset += plan.recipe.steps
        if not rendered:
            raise RenderError("every cell of the grid failed: " + "; ".join(warnings))
        grid = compose_grid(images, x, y)
        first = rendered.get((0, 0)) or next(iter(rendered.values()))
        fixed_y = with_fixed_seeds(y, fill + 1) if y is not None else None
        extra = grid_infotext_extra(x, y, fixed_x=with_fixed_seeds(x, fill), fixed_y=fixed_y)
        links = [link for recipe in rendered.values() for link in asset_links(recipe)]
        axes = {"x": _axis_json(x), "y": _axis_json(y) if y is not None else None}
        return self._store(
            grid,
            first.with_extra(extra),
            elapsed=elapsed,
            device=device,
            warnings=tuple(dict.fromkeys(warnings)),
            kind=RenderKind.GRID,
            links=links,
            grid_axes=axes,
        )

    def _require_ready(self, plan: RenderPlan) -> None:
        problem = plan.problem
        if problem is not None:
            raise RenderError(f"cannot render: {problem}", plan.missing)

    def _render_one(
        self,
        plan: RenderPlan,
        progress: ProgressCallback,
        cancel: CancelToken | None,
        preview: PreviewCallback | None,
    ) -> tuple[Recipe, list[Image.Image], float, str, tuple[str, ...]]:
        """Load the plan's checkpoint (a no-op when loaded) and render; returns the recipe as rendered."""
        self._require_ready(plan)
        checkpoint = plan.recipe.checkpoint
        assert checkpoint is not None  # _require_ready checked these
        assert checkpoint.path is not None
        assert plan.architecture is not None
        engine = self.engine()
        try:
            family = family_of(plan.architecture)
            recipe = plan.recipe
            engine.load(
                Path(checkpoint.path),
                plan.architecture,
                plan.prediction,
                progress=progress,
                text_encoders=[Path(ref.path) for ref in recipe.text_encoders if ref.path],
                vae=Path(recipe.vae.path) if family is not None and recipe.vae and recipe.vae.path else None,
            )
            result = engine.render(plan.recipe, progress=progress, cancel=cancel, preview=preview)
        except CancelledError:
            raise
        except (ValueError, OSError, RuntimeError) as error:
            raise RenderError(f"the renderer refused the recipe: {user_message(error)}") from error
        except Exception as error:  # the render's boundary: a bad add-on file can raise anything
            _log.exception("render failed")
            raise RenderError(f"the render failed: {user_message(error)}") from error
        rendered = result.recipe if result.recipe is not None else plan.recipe.replace(seed=result.seed)
        if family is not None:
            # The infotext says only what steered the image (Forge writes "Distilled CFG Scale: 3.5" for
            # Flux.1 dev, none for schnell, and no clip skip the render did not apply).
            takes = plan.takes_guidance if plan.takes_guidance is not None else False
            rendered = effective_settings(family, rendered, takes_guidance=takes)
        # What the renderer does not apply is not written into the image as if it had been.
        unapplied = unapplied_keys(transformer_family=family is not None)
        rendered = self._with_short_hashes(without_unapplied(rendered, unapplied).replace(seed=result.seed))
        return rendered, list(result.images), result.elapsed, result.device, tuple(result.warnings)

    def with_hashes(self, plan: RenderPlan) -> RenderPlan:
        """``plan`` with each library file's A1111 short hash filled in, as a render would record it
        (what ``render --plan`` and the board's plan show next to each file)."""
        return dataclasses.replace(plan, recipe=self._with_short_hashes(plan.recipe))

    def _with_short_hashes(self, recipe: Recipe) -> Recipe:
        """``recipe`` with each library asset's ``hash`` set to the short hash A1111 writes for it."""
        ids = sorted({ref.asset_id for ref in recipe.refs() if ref.asset_id is not None and ref.asset_id > 0})
        records = {record.id: record for record in self.library.get_many(ids)}

        def fill(kind: AssetKind, ref: AssetRef) -> AssetRef:
            record = records.get(ref.asset_id) if ref.asset_id is not None else None
            if record is None:
                return ref
            # The file used, not the one the text named: a hash read from infotext that matched by file
            # name belongs to another file and is dropped when the one used is not hashed yet.
            return dataclasses.replace(ref, hash=a1111_short_hash(kind, record))

        return map_refs(recipe, fill)

    # -- storing ----------------------------------------------------------------------------------------

    def _store(
        self,
        image: Image.Image,
        recipe: Recipe,
        *,
        elapsed: float,
        device: str,
        warnings: tuple[str, ...],
        kind: RenderKind,
        links: Iterable[RenderAssetLink] | None = None,
        grid_axes: dict[str, Any] | None = None,
    ) -> StoredRender:
        infotext = format_infotext(recipe)
        path = self._reserve_path(recipe.seed, kind)
        try:
            save_png(image, path, infotext)
            record = self.library.add_render(
                NewRender(
                    path=str(path),
                    width=image.width,
                    height=image.height,
                    seed=recipe.seed,
                    recipe=recipe_to_dict(recipe),
                    infotext=infotext,
                    elapsed=elapsed,
                    device=device,
                    kind=kind,
                    grid_axes=grid_axes,
                    assets=tuple(asset_links(recipe) if links is None else links),
                )
            )
        except BaseException:
            path.unlink(missing_ok=True)  # never leave an image the catalog does not know
            raise
        return StoredRender(record, path, infotext, recipe.seed, recipe, elapsed, device, warnings)

    def _reserve_path(self, seed: int, kind: RenderKind) -> Path:
        """A new file name under the output folder, created empty so no other render can take it."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        stem = f"{stamp}-{'grid' if kind is RenderKind.GRID else 'render'}-{seed}"
        with self._name_lock:
            for attempt in range(10_000):
                path = self.output_dir / (f"{stem}.png" if attempt == 0 else f"{stem}-{attempt}.png")
                try:
                    path.open("xb").close()
                except FileExistsError:
                    continue
                return path
        raise RenderError(f"no free file name for a render in {self.output_dir}")

    # -- the gallery ------------------------------------------------------------------------------------

    def renders(self, asset_id: int | None = None, limit: int = 200) -> list[RenderRecord]:
        return self.library.renders(asset_id=asset_id, limit=limit)

    def delete_render(self, render_id: int) -> bool:
        """Forget a render; its image is deleted unless it is a cover or lies outside the renders folder."""
        try:
            return self.library.delete_render(render_id)
        except CatalogError as error:
            raise RenderError(str(error)) from error

    def use_as_preview(self, render_id: int, asset_id: int) -> None:
        """Make a stored render the asset's cover. Raises RenderError for an unknown render or asset."""
        try:
            self.library.use_render_as_preview(render_id, asset_id)
        except CatalogError as error:
            raise RenderError(str(error)) from error


def _by_civitai_version(item: MissingAsset, version: int) -> MissingAsset:
    """``item``, a checkpoint named by its Civitai model version only, saying how to download it."""
    return dataclasses.replace(
        item,
        civitai_version=version,
        message=(
            f"{item.message.removesuffix(' is not in the library')} (Civitai version {version}) is not in "
            f"the library; download it with: python main.py download civitai:{version}"
        ),
    )


def _slots(recipe: Recipe) -> list[tuple[AssetKind, AssetRef]]:
    """Every (slot kind, reference) of ``recipe``, disabled LoRAs included (they are still named)."""
    slots: list[tuple[AssetKind, AssetRef]] = []
    if recipe.checkpoint is not None:
        slots.append((AssetKind.CHECKPOINT, recipe.checkpoint))
    if recipe.vae is not None:
        slots.append((AssetKind.VAE, recipe.vae))
    slots += [(AssetKind.TEXT_ENCODER, ref) for ref in recipe.text_encoders]
    slots += [(AssetKind.LORA, use.ref) for use in recipe.loras]
    slots += [(AssetKind.EMBEDDING, use.ref) for use in recipe.embeddings]
    slots += [(AssetKind.HYPERNETWORK, use.ref) for use in recipe.hypernetworks]
    return slots


def _stem_of(file_name: str) -> str:
    """``add_detail.safetensors`` -> ``add_detail``; a diffusers folder's name stays whole."""
    suffix = Path(file_name).suffix
    return file_name[: -len(suffix)] if suffix.lower() in _MODEL_SUFFIXES else file_name


def _identify(path: Path, kind: AssetKind) -> _FileFacts:
    """Kind and architecture of a file outside the library (header only: cheap, never unpickles)."""
    from core.formats.model_file import FormatError
    from core.formats.reader import read_header
    from core.formats.tensor_data import read_tensor
    from core.identify import identify

    try:
        header = read_header(path)
        reader = (lambda name: read_tensor(header, name)) if header.format is FileFormat.SAFETENSORS else None
        found = identify(header, read_tensor=reader)
    except (FormatError, OSError) as error:
        raise RenderError(f"cannot use {path}: {error}") from error
    return _FileFacts(
        found.kind,
        found.architecture,
        found.prediction,
        variant=found.variant,
        metadata=dict(found.metadata),
        precision=found.precision,
    )


def _tokenizers_to_fetch(recipe: Recipe, architecture: Architecture | None) -> dict[str, Any]:
    """The plan's note of tokenizers the render will fetch once (a single-file transformer checkpoint
    whose family's tokenizer is not in the Hugging Face cache), from where, and why it cannot be now
    (offline, the endpoint down); empty when none."""
    family = family_of(architecture)
    checkpoint = recipe.checkpoint
    if family is None or checkpoint is None or not checkpoint.path or Path(checkpoint.path).is_dir():
        return {}
    from core.render.tokenizer import cached_hub_tokenizer_dir, fetch_refusal, hub_endpoint

    wanted = [slot.tokenizer for slot in family.encoders if slot.tokenizer is not None]
    missing = tuple(
        f"{hub.repo}/{hub.subfolder}"
        for hub in wanted
        if cached_hub_tokenizer_dir(hub.repo, hub.subfolder) is None
    )
    if not missing:
        return {}
    unique = tuple(dict.fromkeys(missing))
    return {
        "tokenizers_to_fetch": unique,
        "tokenizer_endpoint": hub_endpoint(),
        "tokenizer_problem": fetch_refusal(unique),
    }


def _takes_guidance(checkpoint: Path) -> bool:
    """Whether a transformer checkpoint has a distilled-guidance input (Flux.1 dev's ``guidance_in``;
    schnell has none), read from its header or its diffusers folder's transformer config."""
    from core.formats.model_file import FormatError
    from core.formats.reader import read_header

    try:
        if checkpoint.is_dir():
            config = json.loads((checkpoint / "transformer" / "config.json").read_text(encoding="utf-8"))
            return bool(config.get("guidance_embeds", False))
        names = read_header(checkpoint).tensors
    except (FormatError, OSError, ValueError):
        return False
    return any("guidance_in." in name or "guidance_embedder." in name for name in names)


def _lora_family_problem(
    recipe: Recipe, facts: dict[str, _FileFacts], architecture: Architecture | None
) -> tuple[str | None, frozenset[str]]:
    """The refusal the render would give a LoRA of another family (a Qwen-Image LoRA on Flux.1, a Flux.1
    LoRA on SDXL), in the renderer's words and judged by the families the renderer reads from the file's
    tensors (:func:`app.asset_fit.lora_families`), with the paths of the LoRAs it names, so that their
    mismatch warnings are not said a second time. An SD LoRA whose widths name another SD family (an SDXL
    LoRA on SD 1.x) is refused too, as its layers would be at load; one whose widths name no family keeps
    its warning (it may load). Disabled LoRAs are never loaded: not judged."""
    if architecture not in RENDERABLE:
        return None, frozenset()
    problems: list[str] = []
    refused: set[str] = set()
    for use in recipe.loras:
        fact = facts.get(use.ref.path or "") if use.enabled else None
        if fact is None or fact.kind is not AssetKind.LORA or use.ref.path is None:
            continue
        name = use.ref.name or Path(use.ref.path).stem
        problem = lora_refusal(name, lora_families(use.ref.path, fact.architecture), architecture)
        if problem:
            problems.append(problem)
            refused.add(use.ref.path)
    return "; ".join(problems) or None, frozenset(refused)


def _parts_fit_problem(
    recipe: Recipe, facts: dict[str, _FileFacts], architecture: Architecture | None
) -> str | None:
    """What the render would refuse after loading, known from the headers and the catalog: a VAE that
    cannot decode the checkpoint's latents, a text encoder of another family (a Wan UMT5 in Flux.1's T5
    slot, as a Qwen3 there is refused) or width, a diffusers folder without a component it lists."""
    if architecture not in RENDERABLE:
        return None
    vae = recipe.vae
    fact = facts.get(vae.path or "") if vae is not None else None
    if vae is not None and fact is not None and fact.kind is AssetKind.VAE:
        refused = vae_refusal(vae.name or Path(vae.path or "").stem, fact.held(), architecture)
        if refused:
            return refused
    family = family_of(architecture)
    if family is None:
        return None
    for ref in recipe.text_encoders:
        fact = facts.get(ref.path or "")
        held = fact.held() if fact is not None and fact.kind is AssetKind.TEXT_ENCODER else None
        row = ENCODER_OF.get(held or "")
        if (
            fact is not None
            and row is not None
            and conflicts(AssetKind.TEXT_ENCODER, fact.architecture, architecture, held)
        ):
            # Worded as the loader refuses an encoder kind the family has no slot for (a Qwen3 on Flux.1).
            given = Path(ref.path).name if ref.path else ref.name
            return f"{family.label} takes no {row.name} text encoder; given {given}"
    return _folder_problem(recipe, family) or _text_width_problem(recipe, family)


def _text_width_problem(recipe: Recipe, family: Family) -> str | None:
    """A separate T5/Qwen file of another width than the checkpoint's transformer reads (header only)."""
    checkpoint = recipe.checkpoint
    files = [Path(ref.path) for ref in recipe.text_encoders if ref.path]
    if checkpoint is None or not checkpoint.path or not files:
        return None
    from core.render.family_loader import FamilyLoadError, match_encoder_files, text_width_problem

    try:
        matched = match_encoder_files(family, files)
    except (FamilyLoadError, OSError):
        return None  # _own_parts words that refusal
    return text_width_problem(family, Path(checkpoint.path), matched)


def _folder_problem(recipe: Recipe, family: Family) -> str | None:
    """A diffusers folder without a component its ``model_index.json`` lists (a download that stopped
    after the transformer): diffusers would stop on the first one missing; the plan names them all.
    Components replaced by separate files (a text encoder, the VAE) are not needed from the folder."""
    checkpoint = recipe.checkpoint
    folder = Path(checkpoint.path) if checkpoint is not None and checkpoint.path else None
    if folder is None or not folder.is_dir():
        return None
    try:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(index, dict):
        return None
    from core.render.family_loader import FamilyLoadError, match_encoder_files

    try:
        replaced = set(match_encoder_files(family, [Path(r.path) for r in recipe.text_encoders if r.path]))
    except (FamilyLoadError, OSError):
        replaced = set()
    given = {slot.component for slot in family.encoders if slot.name in replaced}
    if recipe.vae is not None and recipe.vae.path:
        given.add("vae")
    missing = [
        component
        for component, value in index.items()
        if not component.startswith("_")
        and isinstance(value, list)
        and len(value) == 2
        and value[0] is not None
        and component not in given
        and not (folder / component).is_dir()
    ]
    if not missing:
        return None
    name = checkpoint.name if checkpoint is not None and checkpoint.name else folder.name
    folders = ", ".join(f"{component}/" for component in missing)
    return (
        f"{name} is a diffusers folder without {folders} (its model_index.json lists "
        f"{'it' if len(missing) == 1 else 'them'}): download the missing "
        f"{'folder' if len(missing) == 1 else 'folders'} into {folder}"
    )


@dataclass(frozen=True, slots=True)
class _OwnParts:
    """Whether a checkpoint file holds its own text encoders and VAE (False: a diffusion model only),
    and why the recipe cannot render it when it lacks one the recipe does not name either."""

    text_encoders: bool = True
    vae: bool = True
    problem: str | None = None


def _own_parts(recipe: Recipe, architecture: Architecture | None) -> _OwnParts:
    """What a transformer family's checkpoint holds besides its diffusion model, read from the file's
    header, and what it lacks for a render (its text encoders or VAE, when the recipe names none).

    The problem is worded for every front end ("choose its text encoders (clip_l, t5xxl)"): the CLI
    adds its option, the board has its slots in view."""
    family = family_of(architecture)
    checkpoint = recipe.checkpoint
    if family is None or checkpoint is None or not checkpoint.path or Path(checkpoint.path).is_dir():
        return _OwnParts()
    from core.formats.model_file import FormatError
    from core.formats.reader import read_header

    try:
        names = list(read_header(Path(checkpoint.path)).tensors)
    except (FormatError, OSError):
        return _OwnParts()
    name = checkpoint.name or Path(checkpoint.path).stem
    has_encoders = any(name_.startswith(slot.prefixes) for slot in family.encoders for name_ in names)
    has_vae = any(name_.startswith(family.vae_prefixes) for name_ in names)
    problem: str | None = None
    wanted = ", ".join(slot.name for slot in family.encoders)
    if not has_encoders and not recipe.text_encoders:
        problem = (
            f"{name} is {family.a_label} diffusion model without its text encoders: "
            f"choose its text encoders ({wanted})"
        )
    elif recipe.text_encoders:
        problem = _encoder_slots_problem(family, recipe, names, name)
    if problem is None and recipe.vae is None and not has_vae:
        problem = (
            f"{name} is {family.a_label} diffusion model without a VAE: choose a VAE file (ae.safetensors)"
        )
    return _OwnParts(has_encoders, has_vae, problem)


def _encoder_slots_problem(family: Family, recipe: Recipe, names: list[str], name: str) -> str | None:
    """Which encoder slots neither the checkpoint nor the chosen files fill, matched as the loader
    matches them (by what each file holds), so the plan refuses what the render would refuse."""
    from core.render.family_loader import FamilyLoadError, match_encoder_files

    files = [Path(ref.path) for ref in recipe.text_encoders if ref.path]
    try:
        matched = match_encoder_files(family, files)
    except FamilyLoadError as error:
        return str(error)
    except OSError as error:
        return f"cannot read a text-encoder file: {error}"
    missing = [
        slot.name
        for slot in family.encoders
        if slot.name not in matched and not any(key.startswith(slot.prefixes) for key in names)
    ]
    if not missing:
        return None
    wanted = ", ".join(slot.name for slot in family.encoders)
    return (
        f"{name} is {family.a_label} diffusion model without its text encoders: choose the "
        f"text-encoder files ({wanted}); {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
    )


def _weights_size(path: Path, unused: tuple[str, ...] = (), bytes_per_weight: int = 2) -> int:
    """Bytes a model file's (or diffusers folder's) weights take once loaded for rendering.

    A safetensors file's floating-point tensors are loaded in the render's precision, whatever the file
    stores: ``bytes_per_weight`` each (2 for fp16/bf16 on a GPU; 4 on the CPU, which renders in fp32, so a
    bf16 file takes twice its size there and an fp8 one four times). Judged by each tensor's dtype in the
    header, never by the file's name. Tensors under ``unused`` prefixes (parts replaced by separate files)
    are not counted. Other formats (GGUF, whose quantized layers stay quantized) count as their size."""
    try:
        files = sorted(path.rglob("*.safetensors")) if path.is_dir() else [path]
        return sum(_loaded_bytes(file, unused, bytes_per_weight) for file in files)
    except OSError:
        return 0


def _loaded_bytes(path: Path, unused: tuple[str, ...], bytes_per_weight: int) -> int:
    """One file's bytes once loaded (its size for other formats or an unreadable header)."""
    size = path.stat().st_size
    if path.suffix.lower() not in (".safetensors", ".sft"):
        return size
    from core.formats.model_file import FormatError
    from core.formats.reader import read_header

    try:
        tensors = read_header(path).tensors
    except (FormatError, OSError):
        return size
    loaded = 0
    for name, tensor in tensors.items():
        if unused and name.startswith(unused):
            continue
        if tensor.dtype.startswith(("F", "BF")):  # F8_*, F16, BF16, F32, F64: cast to the render's dtype
            loaded += math.prod(tensor.shape) * bytes_per_weight
        else:
            loaded += tensor.nbytes
    return loaded


def _cell_progress(
    progress: ProgressCallback, *, offset: int, steps: int, total_steps: int, number: int, cells: int
) -> ProgressCallback:
    """Progress of one grid cell, reported as progress over the steps of the whole grid.

    Steps advance the grid's count; what comes before them (loading a cell's checkpoint or add-ons)
    keeps the count where it is and says what is happening ("Cell 2 of 4: Loading checkpoint… UNet").
    """

    def report(step: Progress) -> None:
        message = f"Cell {number} of {cells}: {step.message}" if step.message else f"Cell {number} of {cells}"
        fraction = step.done / step.total if step.total and is_step(step) else 0.0
        progress(Progress(offset + round(fraction * steps), total_steps, message))

    return report


def _axis_json(axis: GridAxis) -> dict[str, Any]:
    return {"kind": axis.kind.value, "target": axis.target, "values": list(axis.values)}
