"""The renderer: one loaded checkpoint and txt2img renders of recipes on it.

:class:`RenderEngine` keeps a single diffusers pipeline in memory because a checkpoint is 2-7 GB and
loading it dominates preview time: loading the same file again is a no-op, a different file frees the
old pipeline first (two SDXL pipelines do not fit most GPUs). Switching the sampler only swaps the
scheduler, built from the checkpoint's original scheduler config.

This slice renders the checkpoint with the recipe's base parameters only (prompt, negative prompt,
seed, steps, CFG, size, batch, clip skip, sampler). A VAE, LoRAs, embeddings and hypernetworks in the
recipe are *not* applied; :meth:`RenderEngine.supports` lists them so the GUI can say so before
rendering.

torch and diffusers are imported inside functions only: importing this module must not import torch.
"""

from __future__ import annotations

import gc
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from core.jobs import CancelledError, CancelToken, Progress, ProgressCallback, no_progress
from core.render.configs import load_single_file_pipeline
from core.render.devices import DeviceChoice, choose_device
from core.render.recipe import Recipe, Sampler
from core.render.samplers import make_scheduler, unavailable_reason
from core.taxonomy import Architecture, Prediction

SUPPORTED_ARCHITECTURES = (Architecture.SD1, Architecture.SD2, Architecture.SDXL)
_SEED_MODULUS = 2**64


@dataclass(frozen=True, slots=True)
class RenderResult:
    """The images of one render and what is needed to reproduce them.

    ``seed`` is the seed actually used (a concrete value when the recipe asked for -1); image ``i`` of a
    batch used ``seed + i``, as in A1111. ``elapsed`` is wall time in seconds; ``device`` the
    description of the device it ran on.
    """

    images: list[Image.Image]
    seed: int
    elapsed: float
    device: str


@dataclass(frozen=True, slots=True)
class _LoadedKey:
    path: Path
    mtime_ns: int
    size: int
    architecture: Architecture
    prediction: Prediction | None


def random_seed() -> int:
    """A seed for recipes with seed -1 (A1111's range, so the seed is reusable there too)."""
    return random.randrange(4_294_967_294)


def diffusers_clip_skip(clip_skip: int) -> int | None:
    """A1111 counts clip skip from 1 (= last layer); diffusers counts skipped layers (None = none)."""
    return None if clip_skip <= 1 else clip_skip - 1


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


class RenderEngine:
    """Loads one checkpoint at a time and renders recipes on it (txt2img).

    Thread-safe in the sense that loads and renders are serialized by a lock; the GUI runs them in a
    worker thread and cancels through :class:`CancelToken`.
    """

    def __init__(self, cache_dir: Path, device: DeviceChoice | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self._device = device
        self._lock = threading.RLock()
        self._pipe: Any = None  # diffusers pipeline (untyped)
        self._base_scheduler_config: dict[str, Any] = {}
        self._sampler: Sampler | None = None
        self._key: _LoadedKey | None = None
        self.load_count = 0  # how many times a checkpoint was actually read (for tests and diagnostics)

    # --- device and state ---------------------------------------------------------------------------

    @property
    def device(self) -> DeviceChoice:
        """The device renders run on, chosen on first use (that imports torch)."""
        if self._device is None:
            self._device = choose_device()
        return self._device

    @property
    def loaded(self) -> Path | None:
        """The checkpoint currently loaded, if any."""
        return self._key.path if self._key else None

    @property
    def pipeline(self) -> Any:
        """The loaded diffusers pipeline (None when nothing is loaded); for diagnostics and tests."""
        return self._pipe

    # --- loading ------------------------------------------------------------------------------------

    def load(self, checkpoint: Path, architecture: Architecture, prediction: Prediction | None) -> None:
        """Make ``checkpoint`` the loaded model; a no-op when that same file is loaded already.

        "Same" means the same resolved path, modification time, size, architecture and prediction, so a
        file replaced on disk is reloaded. Another checkpoint is freed before the new one is read, so
        peak memory holds one model. Raises ValueError for architectures this renderer does not do.
        """
        if architecture not in SUPPORTED_ARCHITECTURES:
            names = ", ".join(a.value for a in SUPPORTED_ARCHITECTURES)
            raise ValueError(f"cannot render {architecture.value!r} checkpoints; supported: {names}")
        path = Path(checkpoint).resolve()
        stat = path.stat()
        key = _LoadedKey(path, stat.st_mtime_ns, stat.st_size, architecture, prediction)
        with self._lock:
            if key == self._key and self._pipe is not None:
                return
            self.unload()
            import torch

            choice = self.device
            pipe = load_single_file_pipeline(
                path,
                architecture,
                prediction,
                cache_dir=self.cache_dir,
                dtype=getattr(torch, choice.dtype_name),
                device=choice.device,
            )
            pipe.set_progress_bar_config(disable=True)
            _patch_clip_skip(pipe)
            self._pipe = pipe
            self._base_scheduler_config = dict(pipe.scheduler.config)
            self._sampler = None
            self._key = key
            self.load_count += 1

    def unload(self) -> None:
        """Free the loaded pipeline (and the CUDA cache, so the memory is really returned)."""
        with self._lock:
            if self._pipe is None:
                return
            self._pipe = None
            self._key = None
            self._sampler = None
            gc.collect()
            if self._device is not None and self._device.device.startswith("cuda"):
                import torch

                torch.cuda.empty_cache()

    # --- rendering ----------------------------------------------------------------------------------

    def supports(self, recipe: Recipe) -> list[str]:
        """Human-readable reasons for what of ``recipe`` render() would ignore or refuse (empty: all used).

        render() uses only the loaded checkpoint and the base parameters; add-ons are listed here so the
        GUI can warn before a preview that would not show them.
        """
        reasons: list[str] = []
        if recipe.vae is not None:
            reasons.append(f"VAE {recipe.vae.describe()} is ignored: the checkpoint's own VAE is used")
        for lora in recipe.loras:
            if lora.enabled:
                reasons.append(f"LoRA {lora.ref.describe()} is ignored: LoRAs are not applied yet")
        for embedding in recipe.embeddings:
            side = "negative " if embedding.negative else ""
            reasons.append(
                f"{side}embedding {embedding.ref.describe()} is ignored: embeddings are not loaded yet"
            )
        for hypernetwork in recipe.hypernetworks:
            reasons.append(
                f"hypernetwork {hypernetwork.ref.describe()} is ignored: hypernetworks are not applied"
            )
        sampler_problem = unavailable_reason(recipe.sampler)
        if sampler_problem:
            reasons.append(f"cannot render: {sampler_problem}")
        return reasons

    def _use_sampler(self, sampler: Sampler) -> None:
        if sampler is not self._sampler:
            self._pipe.scheduler = make_scheduler(sampler, self._base_scheduler_config)
            self._sampler = sampler

    def render(
        self,
        recipe: Recipe,
        *,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> RenderResult:
        """Render ``recipe`` (txt2img) on the loaded checkpoint.

        Progress is reported after every denoising step. Cancelling stops at the next step boundary
        (diffusers' ``_interrupt`` flag) and raises :class:`CancelledError`; the engine stays usable.
        Raises RuntimeError when no checkpoint is loaded and ValueError for an unusable sampler.
        """
        import torch

        with self._lock:
            pipe = self._pipe
            if pipe is None:
                raise RuntimeError("no checkpoint loaded: call load() first")
            if cancel is not None:
                cancel.raise_if_cancelled()
            self._use_sampler(recipe.sampler)
            seed = random_seed() if recipe.seed == -1 else recipe.seed
            device = self.device.device
            # mps generators are not supported by every torch build; the CPU one is, and deterministic.
            generator_device = "cpu" if device.startswith("mps") else device
            generators = [
                torch.Generator(device=generator_device).manual_seed((seed + i) % _SEED_MODULUS)
                for i in range(recipe.batch)
            ]
            interrupted = False

            def on_step_end(
                pipeline: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]
            ) -> dict[str, Any]:
                nonlocal interrupted
                # Heun/DPM2 run two model evaluations per step; num_timesteps counts what really runs.
                total = int(getattr(pipeline, "num_timesteps", 0) or recipe.steps)
                done = min(step + 1, total)
                progress(Progress(done=done, total=total, message=f"step {done}/{total}"))
                if cancel is not None and cancel.cancelled:
                    pipeline._interrupt = True
                    interrupted = True
                return callback_kwargs

            started = time.perf_counter()
            output = pipe(
                prompt=recipe.prompt,
                negative_prompt=recipe.negative_prompt or None,
                num_inference_steps=recipe.steps,
                guidance_scale=recipe.cfg,
                width=recipe.width,
                height=recipe.height,
                num_images_per_prompt=recipe.batch,
                generator=generators if recipe.batch > 1 else generators[0],
                clip_skip=diffusers_clip_skip(recipe.clip_skip),
                callback_on_step_end=on_step_end,
                output_type="pil",
            )
            elapsed = time.perf_counter() - started
            if interrupted:
                raise CancelledError
            return RenderResult(
                images=list(output.images), seed=seed, elapsed=elapsed, device=self.device.describe()
            )
