"""The renderer: loaded checkpoints and txt2img renders of recipes on them, with every add-on applied.

:class:`RenderEngine` keeps the loaded diffusers pipeline in memory because a checkpoint is 2-7 GB and
loading it dominates preview time. Loading the same file again is a no-op; another file frees the old
pipeline first (two SDXL pipelines do not fit most GPUs) unless ``memory_budget_bytes`` leaves room to
keep the most recently used ones. Everything else a recipe changes is applied *onto* the loaded
pipeline and undone exactly when it goes away, never by reloading:

- sampler: a new scheduler built from the checkpoint's original scheduler config;
- VAE: a separately loaded ``AutoencoderKL`` swapped in (the checkpoint's own is kept to swap back);
- LoRAs (all LyCORIS types): deltas merged into the layer weights, originals backed up
  (:mod:`core.render.lora`), so a render with LoRAs costs the same as without;
- embeddings: tokens added to the tokenizer(s) and text encoder(s) (:mod:`core.render.embeddings`);
- hypernetworks: attention processors applying A1111's formula (:mod:`core.render.hypernetwork`);
- prompts (SD1/SD2/SDXL): encoded per render as A1111 does — weights, 75-token chunks, BREAK, prompt
  editing and alternation switched per step (:mod:`core.render.conditioning`); variation seed and ENSD
  shape the starting and sampler noise (:mod:`core.render.variation`).

Parsed add-on files are cached by path, modification time and size, so moving a weight slider costs
one merge, not a file read.

torch and diffusers are imported inside functions only: importing this module must not import torch.
"""

from __future__ import annotations

import gc
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from core.jobs import CancelledError, CancelToken, Progress, ProgressCallback, no_progress
from core.render.conditioning import (
    PromptEncoder,
    ScheduledConditioning,
    conditioning_warnings,
    emphasis_mode,
    pads_conds,
    schedule_steps,
    text_encoder_clip_skip,
)
from core.render.configs import PIPELINE_CLASSES, config_folder_name, load_single_file_pipeline
from core.render.devices import DeviceChoice, choose_device
from core.render.families import FAMILIES, Family, family_of
from core.render.family_rules import family_guidance, family_refusal
from core.render.hires import HiresTarget, hires_refusal, second_pass, target_size
from core.render.memory import (
    CPU_ONLY,
    GPU,
    MODEL_OFFLOAD,
    SEQUENTIAL_OFFLOAD,
    Placement,
    component_bytes,
    format_bytes,
    pipeline_bytes,
    plan_memory,
    plan_placement,
)
from core.render.phases import LOADING_CHECKPOINT, loading_checkpoint, step_message
from core.render.prompt_syntax import parse_prompt
from core.render.recipe import AssetRef, EmbeddingUse, Recipe
from core.render.samplers import beta_parameters, make_scheduler, refusal
from core.render.tensor_files import own_cpu_weights
from core.render.variation import noise_settings, starting_noise
from core.taxonomy import Architecture, AssetKind, Prediction, describe_model

UNET_ARCHITECTURES = (Architecture.SD1, Architecture.SD2, Architecture.SDXL)
SUPPORTED_ARCHITECTURES = (*UNET_ARCHITECTURES, *FAMILIES)
_SEED_MODULUS = 2**64
_FILE_CACHE_SIZE = 24  # parsed add-on files kept (LoRAs are 10-200 MB each on the CPU)

PreviewCallback = Callable[[Image.Image, int, int], None]
"""Receives a cheap preview of the first image, the steps done and the total, during a render."""


@dataclass(frozen=True, slots=True)
class RenderResult:
    """The images of one render and what is needed to reproduce them.

    ``seed`` is the seed actually used (a concrete value when the recipe asked for -1); image ``i`` of a
    batch used ``seed + i``, as in A1111. ``elapsed`` is wall time in seconds; ``device`` the
    description of the device it ran on. ``recipe`` is the recipe as rendered: the concrete seed and
    any embedding token the prompt lacked added to it, so infotext written from it replays exactly.
    ``warnings`` say what of the recipe did not fully apply (LoRA layers the checkpoint lacks...).
    """

    images: list[Image.Image]
    seed: int
    elapsed: float
    device: str
    recipe: Recipe | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _FileKey:
    path: Path
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: str | Path) -> _FileKey:
        resolved = Path(path).resolve()
        stat = resolved.stat()
        size = stat.st_size
        if resolved.is_dir():  # a diffusers folder: its newest file and total size stand for it
            files = [p.stat() for p in resolved.rglob("*") if p.is_file()]
            size = sum(s.st_size for s in files)
            return cls(resolved, max((s.st_mtime_ns for s in files), default=stat.st_mtime_ns), size)
        return cls(resolved, stat.st_mtime_ns, size)


@dataclass(frozen=True, slots=True)
class _LoadedKey:
    """What a loaded pipeline was built from: the checkpoint and, for a transformer family whose
    checkpoint lacks them, the separate text-encoder files and VAE (they are part of the model then)."""

    file: _FileKey
    architecture: Architecture
    prediction: Prediction | None
    text_encoders: tuple[_FileKey, ...] = ()
    vae: _FileKey | None = None

    @property
    def path(self) -> Path:
        return self.file.path


@dataclass(slots=True)
class _Loaded:
    """One loaded pipeline with the add-ons currently applied to it."""

    key: _LoadedKey
    pipe: Any
    base_scheduler_config: dict[str, Any]
    own_vae: Any
    weights_bytes: int
    sampler: tuple[str, str, tuple[float, float], float | None] | None = None
    vae_key: _FileKey | None = None
    lora_state: tuple[Hashable, ...] = ()
    embedding_state: tuple[Hashable, ...] = ()
    hypernetwork_state: tuple[Hashable, ...] = ()
    warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    patchers: dict[str, Any] = field(default_factory=dict)


def _names_a_separate_file(error: BaseException, text_encoders: Sequence[Path], vae: Path | None) -> bool:
    """Whether a family loader's refusal starts with a separate encoder or VAE file's name (the file at
    fault), so the user is not told the checkpoint failed."""
    from core.render.family_loader import FamilyLoadError

    names = [path.name for path in (*text_encoders, *((vae,) if vae is not None else ()))]
    return isinstance(error, FamilyLoadError) and any(str(error).startswith(name) for name in names)


class CheckpointLoadError(ValueError):
    """A checkpoint diffusers could not build a pipeline from; the message is one line for the user."""

    def __init__(self, path: Path, architecture: Architecture, cause: BaseException) -> None:
        lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
        reason = lines[0] if lines else type(cause).__name__
        what = describe_model(AssetKind.CHECKPOINT, architecture)
        super().__init__(f"cannot load {path.name} as {what}: {reason}")


def random_seed() -> int:
    """A seed for recipes with seed -1 (A1111's range, so the seed is reusable there too)."""
    return random.randrange(4_294_967_294)


def embedding_token(use: EmbeddingUse) -> str:
    """The prompt token of an embedding: its file name without extension, as in A1111.

    A reference resolved by display name or alias still has the file's stem as token, since that is what
    A1111 (and so every shared prompt) writes.
    """
    if use.ref.path:
        name = Path(use.ref.path).name
        return name.rsplit(".", 1)[0] if "." in name else name
    return use.ref.name


def _contains_token(text: str, token: str) -> bool:
    """Whether ``token`` stands in ``text`` as a whole token, in any case (A1111 matches an embedding by
    CLIP's lowercased token ids: ``EasyNegative`` is the embedding ``easynegative``)."""
    return re.search(rf"(?<![\w-]){re.escape(token)}(?![\w-])", text, re.IGNORECASE) is not None


def with_embedding_tokens(recipe: Recipe) -> Recipe:
    """``recipe`` with each embedding's token present in its prompt (appended when missing).

    Embeddings act only where their token appears in the text; an embedding put on the board (or passed
    with ``--embedding``) whose token the prompt lacks would silently do nothing.
    """
    prompt, negative = recipe.prompt, recipe.negative_prompt
    for use in recipe.embeddings:
        token = embedding_token(use)
        if use.negative:
            if not _contains_token(negative, token):
                negative = f"{negative}, {token}" if negative.strip() else token
        elif not _contains_token(prompt, token):
            prompt = f"{prompt}, {token}" if prompt.strip() else token
    if (prompt, negative) == (recipe.prompt, recipe.negative_prompt):
        return recipe
    return recipe.replace(prompt=prompt, negative_prompt=negative)


class _TextModelView:
    """Stands in for ``CLIPTextModel.text_model``, which transformers 5 removed (the model is flat now).

    diffusers 0.42's SD1/SD2 pipelines still apply clip skip through
    ``text_encoder.text_model.final_layer_norm``; this view forwards that attribute to the flat model.
    """

    def __init__(self, text_encoder: Any) -> None:
        self._text_encoder = text_encoder

    @property
    def final_layer_norm(self) -> Any:
        return self._text_encoder.final_layer_norm


def _patch_clip_skip(pipe: Any) -> None:
    """Make clip skip work on SD1/SD2 pipelines with transformers 5 (see :class:`_TextModelView`)."""
    encoder = getattr(pipe, "text_encoder", None)
    if encoder is None or "text_model" in encoder.__dict__ or not hasattr(encoder, "final_layer_norm"):
        return
    try:
        encoder.text_model  # noqa: B018 - older transformers: the attribute exists, nothing to patch
    except AttributeError:
        # Not a submodule (that would duplicate the weights in state_dict): a plain instance attribute.
        object.__setattr__(encoder, "text_model", _TextModelView(encoder))


def _quiet_libraries() -> None:
    """Silence the loaders' own progress bars and notices (they would spill over the CLI's progress line
    and the app's log); failures reach the user as exceptions, and our own progress covers loading."""
    import diffusers
    import transformers

    for library in (diffusers, transformers):
        logging_module: Any = library.utils.logging  # untyped upstream
        logging_module.set_verbosity_error()
        logging_module.disable_progress_bar()


def _names(refs: Iterable[AssetRef | None]) -> str:
    """ "detail-tweaker, add-more-details": the names of add-ons as a progress message shows them."""
    return ", ".join(ref.name or Path(ref.path or "").stem for ref in refs if ref is not None)


def _require_path(ref: AssetRef, what: str) -> Path:
    if not ref.path:
        raise ValueError(f"{what} {ref.describe()} is not resolved to a file")
    path = Path(ref.path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {ref.describe()}: {path} does not exist")
    return path


class _FileCache:
    """A small LRU of parsed add-on files keyed by path, mtime and size."""

    def __init__(self, capacity: int = _FILE_CACHE_SIZE) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, _FileKey], Any] = OrderedDict()
        self.reads = 0  # files actually parsed (for tests and the benchmark)

    def get(self, kind: str, key: _FileKey, load: Callable[[Path], Any]) -> Any:
        slot = (kind, key)
        if slot in self._items:
            self._items.move_to_end(slot)
            return self._items[slot]
        value = load(key.path)
        self.reads += 1
        self._items[slot] = value
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()


class RenderEngine:
    """Loads checkpoints and renders recipes on them (txt2img), applying every add-on of the recipe.

    Thread-safe in the sense that loads and renders are serialized by a lock; the GUI runs them in a
    worker thread and cancels through :class:`CancelToken`.

    ``memory_budget_bytes`` is how much memory the checkpoints kept loaded may take together: 0 (the
    default) keeps only the current one; a larger budget keeps the most recently used ones as long as
    they fit, so comparing two checkpoints does not reload either.
    """

    def __init__(
        self, cache_dir: Path, device: DeviceChoice | None = None, *, memory_budget_bytes: int = 0
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self._device = device
        self.memory_budget_bytes = memory_budget_bytes
        self._lock = threading.RLock()
        self._loaded: OrderedDict[_LoadedKey, _Loaded] = OrderedDict()  # most recently used last
        self._files = _FileCache()
        self.load_count = 0  # how many times a checkpoint was actually read (for tests and diagnostics)
        self.last_memory_plan = ""
        self.last_placement: Placement | None = None  # how the current transformer model was placed

    # --- device and state ---------------------------------------------------------------------------

    @property
    def device(self) -> DeviceChoice:
        """The device renders run on, chosen on first use (that imports torch)."""
        if self._device is None:
            self._device = choose_device()
        return self._device

    @property
    def _current(self) -> _Loaded | None:
        return next(reversed(self._loaded.values())) if self._loaded else None

    @property
    def loaded(self) -> Path | None:
        """The checkpoint currently loaded (the one renders use), if any."""
        current = self._current
        return current.key.path if current else None

    @property
    def kept(self) -> list[Path]:
        """Every checkpoint held in memory, least recently used first."""
        return [key.path for key in self._loaded]

    @property
    def pipeline(self) -> Any:
        """The current diffusers pipeline (None when nothing is loaded); for diagnostics and tests."""
        current = self._current
        return current.pipe if current else None

    @property
    def file_reads(self) -> int:
        """How many add-on files (LoRA, embedding, hypernetwork, VAE) were parsed so far."""
        return self._files.reads

    def memory_in_use(self) -> str:
        """``'weights 2.0 GB on CPU, fp32'``, plus allocated memory on CUDA; for the GUI's device line."""
        with self._lock:
            weights = sum(entry.weights_bytes for entry in self._loaded.values())
        text = (
            f"weights {format_bytes(weights)} ({len(self._loaded)} checkpoint(s)) on {self.device.describe()}"
        )
        if self.device.device.startswith("cuda"):
            import torch

            allocated = torch.cuda.memory_allocated()
            peak = torch.cuda.max_memory_allocated()
            text += f"; allocated {format_bytes(allocated)}, peak {format_bytes(peak)}"
        if self.last_memory_plan:
            text += f"; {self.last_memory_plan}"
        return text

    # --- loading ------------------------------------------------------------------------------------

    def load(
        self,
        checkpoint: Path,
        architecture: Architecture,
        prediction: Prediction | None,
        *,
        progress: ProgressCallback = no_progress,
        text_encoders: Iterable[Path] = (),
        vae: Path | None = None,
    ) -> None:
        """Make ``checkpoint`` (a single file or a diffusers folder) the current model.

        For Flux.1, Chroma, SD3.5 (:mod:`core.render.families`) ``text_encoders`` are separate encoder
        files (``clip_l``, ``t5xxl``...) and ``vae`` a VAE file, for a checkpoint that lacks its own;
        they are part of what is loaded. SD checkpoints ignore them (their VAE is swapped per render).

        A no-op when that same file is loaded already — "same" means the same resolved path, modification
        time, size, architecture and prediction, so a file replaced on disk is reloaded. Without memory
        budget for both, the previous checkpoint is freed before the new one is read, so peak memory holds
        one model. Raises ValueError for architectures this renderer does not do, and
        :class:`CheckpointLoadError` (a ValueError with one line for the user) for a file diffusers
        cannot build a pipeline from, whatever diffusers raised.

        A real load reports ``Progress`` with the message "Loading checkpoint…": first with no total
        (a single file is read whole before anything else), then one step per pipeline component as
        diffusers builds it ("Loading checkpoint… UNet"), then placing the weights on the device.
        """
        if architecture not in SUPPORTED_ARCHITECTURES:
            names = ", ".join(a.value for a in SUPPORTED_ARCHITECTURES)
            raise ValueError(f"cannot render {architecture.value!r} checkpoints; supported: {names}")
        family = family_of(architecture)
        encoder_files = tuple(text_encoders)
        key = _LoadedKey(_FileKey.of(checkpoint), architecture, prediction)
        if family is not None:
            key = _LoadedKey(
                key.file,
                architecture,
                None,
                tuple(_FileKey.of(path) for path in encoder_files),
                _FileKey.of(vae) if vae is not None else None,
            )
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return
            if self.memory_budget_bytes <= 0:
                self.unload()
            try:
                pipe = self._read_pipeline(key, progress)
            except CancelledError:
                raise
            except Exception as error:  # the load boundary: diffusers raises many types for a bad file
                if _names_a_separate_file(error, encoder_files, vae):
                    raise  # already one line naming the encoder or VAE file at fault, not the checkpoint
                raise CheckpointLoadError(checkpoint, architecture, error) from error
            entry = _Loaded(
                key=key,
                pipe=pipe,
                base_scheduler_config=dict(pipe.scheduler.config),
                own_vae=pipe.vae,
                weights_bytes=pipeline_bytes(pipe),
                vae_key=key.vae,
            )
            self._loaded[key] = entry
            self.load_count += 1
            self._evict_beyond_budget()

    def _read_pipeline(self, key: _LoadedKey, progress: ProgressCallback) -> Any:
        progress(Progress(0, None, LOADING_CHECKPOINT))
        import torch

        from core.render.load_progress import component_progress

        _quiet_libraries()

        choice = self.device
        dtype = getattr(torch, choice.dtype_name)
        family = family_of(key.architecture)
        if key.path.is_dir():
            from core.formats.diffusers_folder import components_without_weights

            missing = components_without_weights(key.path)
            if missing:
                raise ValueError(
                    f"its {' and '.join(missing)} folder{'s hold' if len(missing) > 1 else ' holds'} a "
                    "config but no weights: download the missing weight files into it"
                )
        with component_progress(progress, loading_checkpoint, extra_steps=1) as components:
            if family is not None:
                pipe = self._read_family(family, key, dtype, progress)
            elif key.path.is_dir():
                pipe = self._read_diffusers_folder(key, dtype)
            else:
                pipe = load_single_file_pipeline(
                    key.path,
                    key.architecture,
                    key.prediction,
                    cache_dir=self.cache_dir,
                    dtype=dtype,
                    device=None,
                )
        placed, total = components.components, components.components + 1
        target = choice.device.split(":", 1)[0].upper()
        progress(Progress(placed, total, loading_checkpoint(f"placing the weights on the {target}")))
        if family is not None:
            pipe = self._place(pipe, choice)
        else:
            plan = plan_memory(
                device_kind=choice.device.split(":", 1)[0],
                device_memory_bytes=int(choice.memory_gb * 1024**3) if choice.memory_gb else None,
                weights_bytes=pipeline_bytes(pipe),
                width=1024 if key.architecture is Architecture.SDXL else 512,
                height=1024 if key.architecture is Architecture.SDXL else 512,
            )
            if plan.offload:
                own_cpu_weights(pipe.components.values())
                pipe.enable_model_cpu_offload(device=choice.device)
            else:
                pipe = pipe.to(choice.device)
                own_cpu_weights(pipe.components.values())
            self.last_memory_plan = plan.reason if plan.offload else ""
        pipe.set_progress_bar_config(disable=True)
        _patch_clip_skip(pipe)
        progress(Progress(total, total, LOADING_CHECKPOINT))
        return pipe

    def _place(self, pipe: Any, choice: DeviceChoice) -> Any:
        """Full GPU, model offload or sequential offload by free VRAM (:func:`plan_placement`)."""
        from core.render.devices import free_memory_bytes

        sizes = component_bytes(pipe)
        placement = plan_placement(
            device_kind=choice.device.split(":", 1)[0],
            device_free_bytes=free_memory_bytes(choice),
            ram_available_bytes=None,  # the weights are in RAM already
            weights_bytes=sum(sizes.values()),
            largest_component_bytes=max(sizes.values(), default=0),
        )
        self.last_placement = placement
        self.last_memory_plan = placement.reason if placement.mode not in (GPU, CPU_ONLY) else ""
        if placement.mode == MODEL_OFFLOAD:
            own_cpu_weights(pipe.components.values())
            pipe.enable_model_cpu_offload(device=choice.device)
        elif placement.mode == SEQUENTIAL_OFFLOAD:
            own_cpu_weights(pipe.components.values())
            pipe.enable_sequential_cpu_offload(device=choice.device)
        else:
            pipe = pipe.to(choice.device)
            own_cpu_weights(pipe.components.values())
        return pipe

    def _read_family(self, family: Family, key: _LoadedKey, dtype: Any, progress: ProgressCallback) -> Any:
        from core.render.configs import RESOURCES_CONFIG_ROOT
        from core.render.family_loader import FamilyFiles, load_family_pipeline

        files = FamilyFiles(
            key.path,
            tuple(encoder.path for encoder in key.text_encoders),
            key.vae.path if key.vae is not None else None,
        )
        return load_family_pipeline(
            family,
            files,
            cache_dir=self.cache_dir,
            config_root=RESOURCES_CONFIG_ROOT,
            dtype=dtype,
            notify=lambda message: progress(Progress(0, None, message)),
        )

    def _read_diffusers_folder(self, key: _LoadedKey, dtype: Any) -> Any:
        import diffusers

        folder = config_folder_name(key.architecture, key.prediction)
        pipeline_cls = getattr(diffusers, PIPELINE_CLASSES[folder])
        kwargs: dict[str, Any] = {"local_files_only": True, "dtype": dtype}
        if key.architecture is not Architecture.SDXL:
            kwargs.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
        return pipeline_cls.from_pretrained(str(key.path), **kwargs)

    def _evict_beyond_budget(self) -> None:
        while len(self._loaded) > 1:
            total = sum(entry.weights_bytes for entry in self._loaded.values())
            if total <= self.memory_budget_bytes:
                return
            _, entry = self._loaded.popitem(last=False)
            self._free(entry)
        self._release_memory()

    def _free(self, entry: _Loaded) -> None:
        for patcher in entry.patchers.values():
            restore = getattr(patcher, "restore", None) or getattr(patcher, "clear", None)
            if restore is not None:
                restore()
        entry.patchers.clear()
        entry.pipe = None
        entry.own_vae = None

    def _release_memory(self) -> None:
        gc.collect()
        if self._device is not None and self._device.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    def unload(self) -> None:
        """Free every loaded pipeline (and the CUDA cache, so the memory is really returned)."""
        with self._lock:
            if not self._loaded:
                return
            for entry in self._loaded.values():
                self._free(entry)
            self._loaded.clear()
            self._release_memory()

    # --- add-ons ------------------------------------------------------------------------------------

    def supports(self, recipe: Recipe) -> list[str]:
        """Human-readable reasons for what of ``recipe`` render() would refuse (empty: all of it renders).

        Refusals only: what a render would do differently from A1111 (prompt syntax, clip skip, noise
        keys) is a warning, which the plan gets from :func:`conditioning_warnings` itself."""
        reasons: list[str] = []
        current = self._current
        family = family_of(current.key.architecture) if current is not None else None
        flow = family is not None
        sampler_problem = refusal(recipe.sampler, recipe.schedule, flow=flow) or hires_refusal(recipe)
        if sampler_problem:
            reasons.append(sampler_problem)
        for ref, what in self._addon_refs(recipe):
            if not ref.path:
                reasons.append(f"{what} {ref.describe()} is not in the library and has no path")
            elif not Path(ref.path).exists():
                reasons.append(f"{what} {ref.describe()}: {ref.path} does not exist")
        return reasons

    @staticmethod
    def _addon_refs(recipe: Recipe) -> list[tuple[AssetRef, str]]:
        refs: list[tuple[AssetRef, str]] = []
        if recipe.vae is not None:
            refs.append((recipe.vae, "VAE"))
        refs += [(lora.ref, "LoRA") for lora in recipe.loras if lora.enabled]
        refs += [(use.ref, "embedding") for use in recipe.embeddings]
        refs += [(use.ref, "hypernetwork") for use in recipe.hypernetworks]
        return refs

    def _patcher(self, entry: _Loaded, kind: str, factory: Callable[[Any], Any]) -> Any:
        if kind not in entry.patchers:
            entry.patchers[kind] = factory(entry.pipe)
        return entry.patchers[kind]

    def _apply_vae(self, entry: _Loaded, recipe: Recipe, progress: ProgressCallback) -> None:
        key = _FileKey.of(_require_path(recipe.vae, "VAE")) if recipe.vae is not None else None
        if key == entry.vae_key:
            return
        if key is None:
            entry.pipe.vae = entry.own_vae
        else:
            progress(Progress(0, None, f"Loading VAE {_names([recipe.vae])}…"))
            from core.render.vae import load_vae

            choice = self.device

            def read(path: Path) -> Any:
                import torch

                return load_vae(
                    path, entry.own_vae, dtype=getattr(torch, choice.dtype_name), device=choice.device
                )

            # The module is cached per checkpoint entry's VAE config: the file cache holds it by path,
            # and a VAE built for SD1's config is reused only by SD1-config checkpoints (same key space).
            vae = self._files.get(f"vae:{entry.key.architecture.value}", key, read)
            entry.pipe.vae = vae
        entry.vae_key = key

    def _apply_loras(self, entry: _Loaded, recipe: Recipe, progress: ProgressCallback) -> None:
        uses = [lora for lora in recipe.loras if lora.enabled]
        if not uses and not entry.lora_state and "lora" not in entry.patchers:
            return  # nothing applied, nothing wanted: the module need not even be imported
        from core.render.lora import LoraApplication, LoraPatcher, load_network

        keys = [_FileKey.of(_require_path(lora.ref, "LoRA")) for lora in uses]
        state = tuple(
            (key, lora.weight, lora.effective_text_encoder_weight)
            for key, lora in zip(keys, uses, strict=True)
        )
        if state == entry.lora_state:
            return
        if uses:
            progress(Progress(0, None, f"Loading LoRA {_names(lora.ref for lora in uses)}…"))
        patcher = self._patcher(entry, "lora", LoraPatcher)
        applications = [
            LoraApplication(
                network=self._files.get("lora", key, load_network),
                unet_weight=lora.weight,
                text_encoder_weight=lora.effective_text_encoder_weight,
                label=lora.ref.name or key.path.stem,
            )
            for key, lora in zip(keys, uses, strict=True)
        ]
        entry.lora_state = ()  # a failing apply leaves the weights restored, not half-merged
        entry.warnings["lora"] = tuple(patcher.apply(applications))
        entry.lora_state = state

    def _apply_embeddings(self, entry: _Loaded, recipe: Recipe, progress: ProgressCallback) -> None:
        if not recipe.embeddings and "embeddings" not in entry.patchers:
            return
        from core.render.embeddings import EmbeddingManager, load_embedding

        wanted: dict[str, _FileKey] = {}
        for use in recipe.embeddings:
            wanted.setdefault(embedding_token(use), _FileKey.of(_require_path(use.ref, "embedding")))
        state = tuple(sorted(wanted.items(), key=lambda item: item[0]))
        if state == entry.embedding_state:
            return
        if state:
            progress(Progress(0, None, f"Loading embeddings {', '.join(token for token, _ in state)}…"))
        manager = self._patcher(entry, "embeddings", EmbeddingManager)
        files = [(token, self._files.get("embedding", key, load_embedding)) for token, key in state]
        entry.embedding_state = ()
        entry.warnings["embeddings"] = tuple(manager.apply(files))
        entry.embedding_state = state

    def _apply_hypernetworks(self, entry: _Loaded, recipe: Recipe, progress: ProgressCallback) -> None:
        if not recipe.hypernetworks and "hypernetworks" not in entry.patchers:
            return
        from core.render.hypernetwork import HypernetworkPatcher, load_hypernetwork

        keys = [_FileKey.of(_require_path(use.ref, "hypernetwork")) for use in recipe.hypernetworks]
        state = tuple((key, use.strength) for key, use in zip(keys, recipe.hypernetworks, strict=True))
        if state == entry.hypernetwork_state:
            return
        if state:
            names = _names(use.ref for use in recipe.hypernetworks)
            progress(Progress(0, None, f"Loading hypernetwork {names}…"))
        patcher = self._patcher(entry, "hypernetworks", HypernetworkPatcher)
        uses = [
            (self._files.get("hypernetwork", key, load_hypernetwork), use.strength)
            for key, use in zip(keys, recipe.hypernetworks, strict=True)
        ]
        entry.hypernetwork_state = ()
        entry.warnings["hypernetworks"] = tuple(patcher.apply(uses))
        entry.hypernetwork_state = state

    def prepare(self, recipe: Recipe, progress: ProgressCallback = no_progress) -> tuple[str, ...]:
        """Apply the recipe's sampler and add-ons to the current pipeline; return their warnings.

        Only what changed since the last render is redone, and only that reports progress ("Loading
        LoRA detail-tweaker…", without a total). render() calls this; calling it alone lets a
        benchmark or the GUI measure the cost of switching add-ons.
        """
        with self._lock:
            entry = self._current
            if entry is None:
                raise RuntimeError("no checkpoint loaded: call load() first")
            family = family_of(entry.key.architecture)
            if family is not None:
                refused = family_refusal(family, recipe)
                if refused:
                    raise ValueError(refused)
            wanted = (recipe.sampler, recipe.schedule, beta_parameters(recipe.extra), recipe.shift)
            if family is not None and wanted != entry.sampler:
                # Flow-matching configs get flow schedulers (Euler, Heun, DPM++ 2M; the rest refused).
                entry.pipe.scheduler = make_scheduler(
                    recipe.sampler,
                    entry.base_scheduler_config,
                    recipe.schedule,
                    beta=wanted[2],
                    shift=recipe.shift,
                )
                entry.sampler = wanted
            elif wanted != entry.sampler:
                entry.pipe.scheduler = make_scheduler(
                    recipe.sampler,
                    entry.base_scheduler_config,
                    recipe.schedule,
                    sdxl=entry.key.architecture is Architecture.SDXL,
                    beta=wanted[2],
                )
                entry.sampler = wanted
            self._apply_vae(entry, recipe, progress)
            self._apply_loras(entry, recipe, progress)
            self._apply_embeddings(entry, recipe, progress)
            self._apply_hypernetworks(entry, recipe, progress)
            return tuple(line for lines in entry.warnings.values() for line in lines)

    # --- rendering ----------------------------------------------------------------------------------

    def render(
        self,
        recipe: Recipe,
        *,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        preview: PreviewCallback | None = None,
        preview_every: int = 1,
    ) -> RenderResult:
        """Render ``recipe`` (txt2img) on the current checkpoint with its VAE, LoRAs, embeddings and
        hypernetworks.

        Changed add-ons report what they load first; then progress is reported after every denoising
        step ("Step k of n"), and ``preview`` (when given) receives a cheap
        latent preview of the first image every ``preview_every`` steps. Cancelling stops at the next
        step boundary (diffusers' ``_interrupt`` flag) and raises :class:`CancelledError`; the engine
        stays usable. Raises RuntimeError when no checkpoint is loaded, ValueError for an unusable
        sampler or add-on file, FileNotFoundError for an add-on file that vanished.
        """
        import torch

        with self._lock:
            entry = self._current
            if entry is None:
                raise RuntimeError("no checkpoint loaded: call load() first")
            if cancel is not None:
                cancel.raise_if_cancelled()
            upscaler_problem = hires_refusal(recipe)
            if upscaler_problem:
                raise ValueError(upscaler_problem)
            warnings = self.prepare(recipe, progress)
            pipe = entry.pipe
            architecture = entry.key.architecture
            seed = random_seed() if recipe.seed == -1 else recipe.seed
            rendered = with_embedding_tokens(recipe).replace(seed=seed)
            device = self.device.device
            # mps generators are not supported by every torch build; the CPU one is, and deterministic.
            generator_device = "cpu" if device.startswith("mps") else device
            generators = [
                torch.Generator(device=generator_device).manual_seed((seed + i) % _SEED_MODULUS)
                for i in range(recipe.batch)
            ]
            hires = recipe.hires
            target = target_size(hires, recipe.width, recipe.height) if hires is not None else None
            hires_steps = hires.steps_run(recipe.steps) if hires is not None else 0
            plan = plan_memory(
                device_kind=device.split(":", 1)[0],
                device_memory_bytes=int(self.device.memory_gb * 1024**3) if self.device.memory_gb else None,
                weights_bytes=entry.weights_bytes,
                width=target.width if target is not None else recipe.width,
                height=target.height if target is not None else recipe.height,
                batch=recipe.batch,
            )
            vae = pipe.vae
            if plan.vae_tiling:
                vae.enable_tiling()
            else:
                vae.disable_tiling()
            interrupted = False
            if preview is not None:
                from core.render.previews import has_preview, latents_to_preview

            done_before = 0  # steps of the first pass, once the hires pass runs
            switching: list[ScheduledConditioning] = []  # the pass now running, for on_step_end

            def on_step_end(
                pipeline: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]
            ) -> dict[str, Any]:
                nonlocal interrupted
                # Heun/DPM2 run two model evaluations per step; num_timesteps counts what really runs.
                this_pass = int(getattr(pipeline, "num_timesteps", 0) or recipe.steps)
                later = hires_steps if done_before == 0 else 0
                total = done_before + this_pass + later
                done = done_before + min(step + 1, this_pass)
                progress(Progress(done=done, total=total, message=step_message(done, total)))
                if (
                    preview is not None
                    and has_preview(architecture)
                    and (done % max(1, preview_every) == 0 or done == total)
                ):
                    latents = callback_kwargs.get("latents")
                    if latents is not None:
                        # Packed (Flux-style) latents unpack with the render's size, as the pipeline does.
                        image = latents_to_preview(
                            latents[:1],
                            architecture,
                            width=recipe.width,
                            height=recipe.height,
                            vae_scale=int(getattr(pipeline, "vae_scale_factor", 8)),
                        )[0]
                        preview(image, done, total)
                if cancel is not None and cancel.cancelled:
                    pipeline._interrupt = True
                    interrupted = True
                if switching:
                    switching[-1].on_step_end(pipeline, step, callback_kwargs)
                return callback_kwargs

            # The add-ons are on: sampling starts now, and its first step may take minutes on a slow
            # CPU, so the front ends stop saying "Loading LoRA x…" at once ("Step 0 of 20").
            steps_total = recipe.steps + hires_steps
            progress(Progress(done=0, total=steps_total, message=step_message(0, steps_total)))
            family = family_of(architecture)
            if family is not None:
                return self._render_family(
                    entry,
                    family,
                    recipe=recipe,
                    rendered=rendered,
                    generators=generators,
                    on_step_end=on_step_end,
                    warnings=warnings + conditioning_warnings(rendered, family.label),
                    interrupted_flag=lambda: interrupted,
                )
            encoder = PromptEncoder(
                pipe,
                sdxl=architecture is Architecture.SDXL,
                clip_skip=text_encoder_clip_skip(recipe, architecture).layers,
                emphasis=emphasis_mode(recipe.extra),
            )
            zero_empty_negative = architecture is Architecture.SDXL and bool(
                getattr(pipe.config, "force_zeros_for_empty_prompt", False)
            )

            def conditioning(prompt: str, negative: str, hires_steps: int | None) -> ScheduledConditioning:
                """One pass's conditioning, A1111's way (:mod:`core.render.conditioning`)."""
                return ScheduledConditioning(
                    encoder,
                    prompt,
                    negative,
                    steps=schedule_steps(recipe.sampler, recipe.steps),
                    hires_steps=hires_steps,
                    zero_empty_negative=zero_empty_negative,
                    pad_conds=pads_conds(recipe.extra),
                )

            started = time.perf_counter()
            first = conditioning(rendered.prompt, rendered.negative_prompt, None)
            switching.append(first)
            noise = noise_settings(recipe.extra)
            warnings += (*first.warnings(), *conditioning_warnings(rendered, None, architecture))
            common: dict[str, Any] = {
                "guidance_scale": recipe.cfg,
                "num_images_per_prompt": recipe.batch,
                "generator": generators if recipe.batch > 1 else generators[0],
                "callback_on_step_end": on_step_end,
            }
            first_pass: dict[str, Any] = {}
            if noise.changes_noise:
                cell = int(getattr(pipe, "vae_scale_factor", 8))
                first_pass["latents"], step_generators = starting_noise(
                    noise,
                    seed=seed,
                    generators=generators,
                    shape=(int(pipe.unet.config.in_channels), recipe.height // cell, recipe.width // cell),
                    device=pipe._execution_device,
                    dtype=first.arguments()["prompt_embeds"].dtype,
                )
                common["generator"] = step_generators if recipe.batch > 1 else step_generators[0]
            latent_first = hires is not None and hires.latent_mode is not None
            output = pipe(
                num_inference_steps=recipe.steps,
                width=recipe.width,
                height=recipe.height,
                output_type="latent" if latent_first else "pil",
                callback_on_step_end_tensor_inputs=["latents", *first.tensor_inputs],
                **first.arguments(),
                **first_pass,
                **common,
            )
            if interrupted:
                raise CancelledError
            images = output.images
            if hires is not None and target is not None:
                done_before = int(getattr(pipe, "num_timesteps", 0) or recipe.steps)
                second = self._hires_conditioning(recipe, rendered, conditioning)
                switching.append(second)
                warnings += tuple(line for line in second.warnings() if line not in warnings)
                images = self._hires_pass(entry, recipe, images, target, common, conditioning=second)
            elapsed = time.perf_counter() - started
            if interrupted:
                raise CancelledError
            plan_note = (plan.reason,) if plan.vae_tiling else ()
            return RenderResult(
                images=list(images),
                seed=seed,
                elapsed=elapsed,
                device=self.device.describe(),
                recipe=rendered,
                warnings=warnings + plan_note,
            )

    def _render_family(
        self,
        entry: _Loaded,
        family: Family,
        *,
        recipe: Recipe,
        rendered: Recipe,
        generators: list[Any],
        on_step_end: Callable[..., dict[str, Any]],
        warnings: tuple[str, ...],
        interrupted_flag: Callable[[], bool],
    ) -> RenderResult:
        """A txt2img render on a transformer family's pipeline, with its own guidance arguments."""
        settings = {
            "cfg": recipe.cfg,
            "guidance": family_guidance(family, recipe),
            "negative_prompt": rendered.negative_prompt,
        }
        started = time.perf_counter()
        output = entry.pipe(
            prompt=rendered.prompt,
            num_inference_steps=recipe.steps,
            width=recipe.width,
            height=recipe.height,
            num_images_per_prompt=recipe.batch,
            generator=generators if recipe.batch > 1 else generators[0],
            callback_on_step_end=on_step_end,
            callback_on_step_end_tensor_inputs=["latents"],
            output_type="pil",
            **family.arguments(settings),
        )
        if interrupted_flag():
            raise CancelledError
        return RenderResult(
            images=list(output.images),
            seed=rendered.seed,
            elapsed=time.perf_counter() - started,
            device=self.device.describe(),
            recipe=rendered,
            warnings=warnings,
        )

    @staticmethod
    def _hires_conditioning(
        recipe: Recipe,
        rendered: Recipe,
        conditioning: Callable[[str, str, int | None], ScheduledConditioning],
    ) -> ScheduledConditioning:
        """The second pass's conditioning: A1111's ``Hires prompt``/``Hires negative prompt`` when the
        recipe has them (their network tags are not re-applied), with schedules counted as A1111 counts
        them for a hires pass (``when`` past the first pass's steps)."""
        hires = recipe.hires
        assert hires is not None
        own = second_pass(recipe.extra)
        prompt = parse_prompt(own.prompt).text if own.prompt is not None else rendered.prompt
        negative = (
            parse_prompt(own.negative_prompt).text
            if own.negative_prompt is not None
            else rendered.negative_prompt
        )
        return conditioning(
            prompt,
            negative,
            schedule_steps(own.sampler or recipe.sampler, hires.second_pass_steps(recipe.steps)),
        )

    def _hires_pass(
        self,
        entry: _Loaded,
        recipe: Recipe,
        first: Any,
        target: HiresTarget,
        common: dict[str, Any],
        *,
        conditioning: ScheduledConditioning,
    ) -> list[Image.Image]:
        """A1111's hires fix on the first pass's output: upscale, then img2img at the target size.

        The img2img pipeline is built around the loaded pipeline's own modules (no second model), so
        the merged LoRAs, embeddings, hypernetworks and the VAE apply to both passes. Like A1111 with
        ``Hires steps``, the second pass runs exactly that many steps (or the first pass's) at the end
        of a schedule ``steps / denoising`` long; denoising 0 keeps the upscaled image as it is. A1111's
        ``Hires prompt``, ``Hires negative prompt``, ``Hires CFG Scale``, ``Hires sampler`` and ``Hires
        schedule type`` (kept in ``recipe.extra``) apply to this pass only.
        """
        from core.render.upscale import upscale_image, upscale_latents

        hires = recipe.hires
        assert hires is not None
        pipe = entry.pipe
        if hires.latent_mode is not None:
            cell = int(getattr(pipe, "vae_scale_factor", 8))
            upscaled: Any = upscale_latents(first, hires, target, cell)
        else:
            upscaled = [upscale_image(image, hires, target) for image in first]
        if hires.denoising <= 0:
            return _decoded(pipe, upscaled) if hires.latent_mode is not None else list(upscaled)
        steps = hires.second_pass_steps(recipe.steps)
        schedule = int(steps / min(hires.denoising, 0.999))
        img2img = _img2img(pipe, entry.key.architecture)
        own = second_pass(recipe.extra)
        settings = {
            **common,
            **conditioning.arguments(),
            "callback_on_step_end_tensor_inputs": ["latents", *conditioning.tensor_inputs],
        }
        if own.cfg is not None:
            settings["guidance_scale"] = own.cfg
        if own.sampler or own.schedule:
            img2img.scheduler = make_scheduler(
                own.sampler or recipe.sampler,
                entry.base_scheduler_config,
                own.schedule or recipe.schedule,
                sdxl=entry.key.architecture is Architecture.SDXL,
                beta=beta_parameters(recipe.extra),
            )
        result = img2img(
            image=upscaled,
            num_inference_steps=schedule,
            strength=min(1.0, (steps + 0.5) / schedule),
            output_type="pil",
            **settings,
        )
        return list(result.images)


def _img2img(pipe: Any, architecture: Architecture) -> Any:
    """The img2img pipeline over ``pipe``'s modules (shared, not copied: nothing is loaded twice)."""
    import diffusers

    library: Any = diffusers  # untyped upstream
    img2img: Any
    if architecture is Architecture.SDXL:
        watermark = getattr(pipe, "watermark", None) is not None  # as the first pass does
        img2img = library.StableDiffusionXLImg2ImgPipeline(**pipe.components, add_watermarker=watermark)
    else:
        img2img = library.StableDiffusionImg2ImgPipeline(**pipe.components, requires_safety_checker=False)
    img2img.set_progress_bar_config(disable=True)
    return img2img


def _decoded(pipe: Any, latents: Any) -> list[Image.Image]:
    """Latents decoded by the pipeline's VAE into images (the upscale without a second pass)."""
    import torch

    vae = pipe.vae
    with torch.no_grad():
        decoded = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0]
    return list(pipe.image_processor.postprocess(decoded.detach(), output_type="pil"))
