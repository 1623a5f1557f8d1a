"""Benchmark: SDXL and Flux.1 at real size on a GPU, Atelier's render vs a bare diffusers pipeline.

What it compares, per family, in one process on one GPU, in bf16 (the dtype the engine picks on a card
that supports it):

- **files**: real-size, zero-filled files in the layouts users store (written sparsely from the real key
  lists in ``tests/data/keyspaces``: nothing but headers touches the disk). SDXL: one A1111 checkpoint
  (``sd_xl_base_1.0.safetensors``, fp16, 6.9 GB). Flux.1 dev as ComfyUI users keep it: the diffusion model
  alone (``flux1-dev.safetensors``, bf16, 23.8 GB) plus ``clip_l.safetensors``, ``t5xxl_fp16.safetensors``
  and the VAE ``ae.safetensors`` as separate files.
- **Atelier**: the folder is added to a fresh library and scanned through the app layer
  (``AppContext.add_root`` + ``scan``), the recipe names the files by their library names, and
  ``RenderService.prepare`` + ``RenderService.render`` load and render it (the memory placement is the
  engine's own choice, printed), storing each PNG as a user's render is stored.
- **bare diffusers**: the same files loaded the way a diffusers user would, with the same bundled
  configs: ``StableDiffusionXLPipeline.from_single_file``; for Flux.1 ``FluxTransformer2DModel`` and
  ``AutoencoderKL.from_single_file`` plus the CLIP-L and T5 files assigned into transformers models, in a
  ``FluxPipeline`` with the engine's tokenizers and a copy of the engine's scheduler; everything on the
  GPU (``.to("cuda")``), called with the same prompt, steps, size, seed and guidance.

Both render 1024x1024 with 20 Euler steps (SDXL at CFG 5 with a negative prompt, Flux.1 dev at its
distilled guidance 3.5, CFG 1). After one warm-up render each, they alternate ``--repeat`` times while both
fit on the GPU (else the engine's renders run first, then it is unloaded and the bare pipeline's run). The
figures, medians over the timed renders:

- **it/s ratio** (target >= 1.0): denoising iterations per second, Atelier's over bare diffusers'. Clocked
  from the first denoiser call's start to the last one's end (forward hooks with a CUDA sync on the UNet or
  transformer of each pipeline, so text encoding, VAE decode and saving are outside it);
- **render time ratio** (informative): the whole call, Atelier's (PNG and catalog row included) over bare;
- **peak VRAM** (``torch.cuda.max_memory_allocated``, load and first render, the other pipeline's
  resident weights subtracted) against the weights' bytes as loaded, for each; and the placement the
  engine chose (full GPU, model offload, sequential offload) with its reason.

Zero weights render black (or NaN) images: that is fine for speed, and nothing here checks pixels.

Tokenizers: the CLIP tokenizers are derived offline from the installed packages (as every render does);
the T5 tokenizer, which no package ships, is served by a loopback Hub on 127.0.0.1 (``HF_ENDPOINT``,
a fresh ``HF_HOME``), as the tests do, so the run needs no network. Its vocabulary is small; the prompt is
padded to T5's 512 tokens either way, so the work is the same.

On a lent GPU machine (``device`` tool): its image (Python 3.12, torch, transformers, accelerate,
safetensors, huggingface_hub, PyYAML) lacks diffusers, the catalog's packages and openai-clip (whose CLIP
BPE file the offline CLIP tokenizers are derived from). Carry them as wheels, 13 MB together (checked
2026-12; openai-clip is a source package: ``pip wheel`` builds its pure-Python wheel). Once, here, in the
repository root::

    echo /.whl/ >> .git/info/exclude
    python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl diffusers==0.42.1 SQLAlchemy==2.1.9 alembic==1.20.1 Mako==1.4.3 msgspec==0.23.0 \
        isal==1.9.1 platformdirs==4.14.9 importlib_metadata
    python -m pip wheel -q --no-deps -w .whl openai-clip==1.0.1

then one ``run`` with ``carry: [".whl"]`` and ``timeout_s`` 600 (about 5 minutes on an H100 for both
families; ``--family sdxl`` or ``--family flux1`` runs one)::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit; \
    PYTHONUNBUFFERED=1 python3 -m bench.bench_render_gpu --json-out $OUT/gpu.json

Without a CUDA device the script says so in one line and exits 0, unless ``--device cpu --tiny`` is
given: then the same code path runs on tiny models (the tests' factory: widths of 32-64, a diffusers
folder for SDXL, split files for Flux.1) at 64 px and 2 steps, which is what its test runs.

    python -m bench.bench_render_gpu [--family sdxl|flux1|all] [--repeat N] [--steps N] [--size PX]
                                     [--device cuda|cpu] [--tiny] [--json] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.render.configs import RESOURCES_CONFIG_ROOT
from core.render.families import FAMILIES
from core.render.family_rules import family_guidance
from core.render.recipe import AssetRef, Recipe
from core.taxonomy import Architecture
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import DTYPE_SIZES, TensorSpec, write_safetensors

IT_S_TARGET = 1.0
FAMILY_NAMES = ("sdxl", "flux1")
_FLOAT_DTYPES = ("F32", "F16", "BF16")
# What the released SDXL base checkpoint holds of the SGM key space: text encoders (their optional last
# layers and projection included), UNet and VAE; not the LDM scheduler's buffers nor the v-prediction /
# EDM markers, which would make it another model.
_SDXL_BASE_PREFIXES = ("conditioner.", "model.diffusion_model.", "first_stage_model.")


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """One family's files as a user keeps them (the recipe names each by its stem, as the library does)."""

    architecture: Architecture
    checkpoint: Path
    text_encoders: tuple[Path, ...] = ()
    vae: Path | None = None
    config_root: Path | None = None  # the diffusers config folder the bare pipeline loads with

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.checkpoint, *self.text_encoders, *((self.vae,) if self.vae else ()))


# --- the real-size files ---------------------------------------------------------------------------------


def _with_dtype(specs: dict[str, TensorSpec], dtype: str) -> dict[str, TensorSpec]:
    """``specs`` with every float tensor stored as ``dtype`` (integer tensors, like position ids, kept)."""
    return {name: (dtype if old in _FLOAT_DTYPES else old, shape) for name, (old, shape) in specs.items()}


def _stripped(specs: dict[str, TensorSpec], prefix: str) -> dict[str, TensorSpec]:
    return {name.removeprefix(prefix): spec for name, spec in specs.items()}


def sdxl_specs() -> dict[str, TensorSpec]:
    """``sd_xl_base_1.0.safetensors``: the full A1111 (SGM) checkpoint in fp16, with the text encoders'
    last layers and projection that the released file carries (6.94 GB)."""
    specs = keyspace("sdxl-sgm", include_optional=True)
    return _with_dtype({k: v for k, v in specs.items() if k.startswith(_SDXL_BASE_PREFIXES)}, "F16")


def flux_specs() -> dict[str, dict[str, TensorSpec]]:
    """Flux.1 dev as ComfyUI users store it, file name -> tensors: the diffusion model alone in BFL names
    (bf16, 23.8 GB), ``clip_l`` and ``t5xxl_fp16`` (fp16) and BFL's ``ae`` VAE (fp32)."""
    parts = {
        "flux1-dev.safetensors": ("diffuser", "model.diffusion_model.", "BF16"),
        "clip_l.safetensors": ("clip_l", "text_encoders.clip_l.transformer.", "F16"),
        "t5xxl_fp16.safetensors": ("t5xxl", "text_encoders.t5xxl.transformer.", "F16"),
        "ae.safetensors": ("vae", "vae.", "F32"),
    }
    return {
        name: _with_dtype(_stripped(keyspace("flux-flux", components=(component,)), prefix), dtype)
        for name, (component, prefix, dtype) in parts.items()
    }


def specs_bytes(specs: dict[str, TensorSpec]) -> int:
    """The bytes of a file's tensors (what its size is, less the header)."""
    total = 0
    for dtype, shape in specs.values():
        count = 1
        for size in shape:
            count *= size
        total += count * DTYPE_SIZES[dtype]
    return total


def write_real(family: str, folder: Path) -> ModelFiles:
    """Zero-filled real-size files (sparse: the disk holds the headers only)."""
    folder.mkdir(parents=True, exist_ok=True)
    if family == "sdxl":
        checkpoint = write_safetensors(folder / "sd_xl_base_1.0.safetensors", sdxl_specs())
        return ModelFiles(Architecture.SDXL, checkpoint)
    written = {name: write_safetensors(folder / name, specs) for name, specs in flux_specs().items()}
    return ModelFiles(
        Architecture.FLUX1,
        written["flux1-dev.safetensors"],
        (written["clip_l.safetensors"], written["t5xxl_fp16.safetensors"]),
        written["ae.safetensors"],
        RESOURCES_CONFIG_ROOT / "flux1",
    )


# --- the tiny models (--tiny): the same path at test size ------------------------------------------------


def write_tiny(family: str, folder: Path, cache_dir: Path) -> ModelFiles:
    """The tests' tiny models: SDXL as a diffusers folder (the bundled single-file config is real-size),
    Flux.1 as split files with a config folder of their tiny widths for the bare pipeline."""
    from tests.factory.tiny_families import flux_parts, write_flux_split
    from tests.factory.tiny_pipeline import tiny_sdxl_folder

    folder.mkdir(parents=True, exist_ok=True)
    if family == "sdxl":
        return ModelFiles(Architecture.SDXL, tiny_sdxl_folder(folder / "tiny-sdxl", cache_dir))
    parts = flux_parts(0)
    split = write_flux_split(folder, parts)
    config = folder.parent / "tiny-flux-config"
    shutil.copytree(RESOURCES_CONFIG_ROOT / "flux1" / "scheduler", config / "scheduler", dirs_exist_ok=True)
    parts.transformer.save_config(str(config / "transformer"))
    parts.vae.save_config(str(config / "vae"))
    parts.clip_l.config.save_pretrained(str(config / "text_encoder"))
    parts.t5.config.save_pretrained(str(config / "text_encoder_2"))
    return ModelFiles(Architecture.FLUX1, split.checkpoint, split.text_encoders, split.vae, config)


# --- the bare diffusers pipelines ------------------------------------------------------------------------


def _text_encoder(class_name: str, config_dir: Path, path: Path, dtype: Any) -> Any:
    """A transformers text encoder filled from a ComfyUI-style file (``text_model.`` prefix or not)."""
    import transformers
    from accelerate import init_empty_weights
    from safetensors.torch import load_file

    cls = getattr(transformers, class_name)
    with init_empty_weights():
        model = cls(cls.config_class.from_pretrained(str(config_dir)))
    expected = set(model.state_dict())
    state = {
        (name if name in expected else name.removeprefix("text_model.")): tensor.to(dtype)
        for name, tensor in load_file(str(path)).items()
    }
    model.load_state_dict(state, strict=False, assign=True)
    model.tie_weights()  # T5: encoder.embed_tokens is the file's shared.weight
    empty = [name for name, tensor in model.state_dict().items() if tensor.is_meta]
    if empty:
        raise SystemExit(f"bare {class_name}: {path.name} lacks {len(empty)} tensors ({empty[:3]})")
    return model.eval()


def bare_pipeline(files: ModelFiles, engine_pipe: Any, dtype: Any, cache_dir: Path) -> Any:
    """The same files as a plain diffusers pipeline (see the module docstring), on the CPU."""
    import diffusers

    library: Any = diffusers
    if files.architecture is Architecture.SDXL:
        if files.checkpoint.is_dir():
            pipe = library.StableDiffusionXLPipeline.from_pretrained(
                str(files.checkpoint), torch_dtype=dtype, local_files_only=True
            )
        else:
            from core.render.configs import config_dir_for

            config = config_dir_for(Architecture.SDXL, None, cache_dir)  # the bundled configs, offline
            pipe = library.StableDiffusionXLPipeline.from_single_file(
                str(files.checkpoint), config=str(config), torch_dtype=dtype, local_files_only=True
            )
    else:
        assert files.config_root is not None
        assert files.vae is not None
        root = str(files.config_root)
        by_name = {path.name: path for path in files.text_encoders}
        clip = next(path for name, path in by_name.items() if name.startswith("clip_l"))
        t5 = next(path for name, path in by_name.items() if name.startswith("t5xxl"))
        pipe = library.FluxPipeline(
            scheduler=engine_pipe.scheduler,  # replaced by a copy below
            vae=library.AutoencoderKL.from_single_file(
                str(files.vae), config=root, subfolder="vae", torch_dtype=dtype, local_files_only=True
            ),
            text_encoder=_text_encoder("CLIPTextModel", files.config_root / "text_encoder", clip, dtype),
            tokenizer=engine_pipe.tokenizer,
            text_encoder_2=_text_encoder("T5EncoderModel", files.config_root / "text_encoder_2", t5, dtype),
            tokenizer_2=engine_pipe.tokenizer_2,
            transformer=library.FluxTransformer2DModel.from_single_file(
                str(files.checkpoint),
                config=root,
                subfolder="transformer",
                torch_dtype=dtype,
                local_files_only=True,
            ),
        )
    # The very scheduler the engine renders with (its class and config: Euler, the model's shift).
    pipe.scheduler = type(engine_pipe.scheduler).from_config(engine_pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def bare_call(pipe: Any, architecture: Architecture, recipe: Recipe, device: str) -> Callable[[], Any]:
    """A bare call with what the engine passes: prompt, steps, size, seed and the family's guidance."""
    import torch

    guidance: dict[str, Any]
    if architecture is Architecture.SDXL:
        guidance = {"guidance_scale": recipe.cfg, "negative_prompt": recipe.negative_prompt or None}
    else:
        guidance = {"guidance_scale": family_guidance(FAMILIES[architecture], recipe)}

    def call() -> Any:
        return pipe(
            prompt=recipe.prompt,
            num_inference_steps=recipe.steps,
            width=recipe.width,
            height=recipe.height,
            generator=torch.Generator(device=device).manual_seed(recipe.seed),
            output_type="pil",
            **guidance,
        )

    return call


# --- measuring -------------------------------------------------------------------------------------------


class DenoiserClock:
    """Times the denoising loop of one pipeline: from the first UNet/transformer call's start to the last
    one's end, synchronizing CUDA at each (both pipelines get the same hooks, so the cost is shared)."""

    def __init__(self, module: Any, cuda: bool) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []
        self._cuda = cuda
        module.register_forward_pre_hook(lambda *_: self.starts.append(self._now()))
        module.register_forward_hook(lambda *_: self.ends.append(self._now()))

    def _now(self) -> float:
        if self._cuda:
            import torch

            torch.cuda.synchronize()
        return time.perf_counter()

    def reset(self) -> None:
        self.starts.clear()
        self.ends.clear()

    def iterations_per_second(self) -> float:
        if not self.starts or not self.ends:
            raise SystemExit("the denoiser never ran: nothing to time")
        return len(self.starts) / (self.ends[-1] - self.starts[0])


def weights_bytes(pipe: Any) -> int:
    """The bytes a pipeline's weights hold where they are, each storage once (two parameters sharing one
    tensor, as T5's tied embedding, count once; two copies count twice)."""
    import torch

    seen: dict[tuple[str, int], int] = {}
    for module in pipe.components.values():
        if isinstance(module, torch.nn.Module):
            for tensor in [*module.parameters(), *module.buffers()]:
                storage = tensor.untyped_storage()
                seen[(str(tensor.device), storage.data_ptr())] = storage.nbytes()
    return sum(seen.values())


def _denoiser(pipe: Any) -> Any:
    return getattr(pipe, "unet", None) or pipe.transformer


@dataclass
class Side:
    """One of the two pipelines under test: how to render once, its clock, and its figures."""

    name: str
    render: Callable[[], Any]
    clock: DenoiserClock | None = None
    its: list[float] = dataclasses.field(default_factory=list)
    seconds: list[float] = dataclasses.field(default_factory=list)
    peak_bytes: int | None = None
    weights_bytes: int = 0

    def timed(self, cuda: bool) -> None:
        assert self.clock is not None
        self.clock.reset()
        started = time.perf_counter()
        self.render()
        if cuda:
            import torch

            torch.cuda.synchronize()
        self.seconds.append(time.perf_counter() - started)
        self.its.append(self.clock.iterations_per_second())


def _peak_start(cuda: bool) -> int:
    """Reset the peak counter; the bytes already allocated (the other pipeline's) to subtract."""
    if not cuda:
        return 0
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    return int(torch.cuda.memory_allocated())


def _peak_since(base: int, cuda: bool) -> int | None:
    if not cuda:
        return None
    import torch

    torch.cuda.synchronize()
    return int(torch.cuda.max_memory_allocated()) - base


def _both_fit(engine_peak: int | None, cuda: bool) -> bool:
    """Whether a second pipeline as large as the engine's (its peak) fits beside it now."""
    if not cuda or engine_peak is None:
        return True
    import torch

    torch.cuda.empty_cache()  # blocks the caching allocator keeps count as used in mem_get_info
    free, _total = torch.cuda.mem_get_info()
    return engine_peak * 1.05 < free * 0.95


@contextlib.contextmanager
def loopback_hub(folder: Path) -> Iterator[str]:
    """The T5 tokenizer served on 127.0.0.1 as the Hub repository the engine fetches it from, with a
    fresh Hugging Face cache; the environment is restored afterwards (the test runs in process)."""
    from tests.factory.tiny_families import add_tokenizer_repo
    from tests.fakes.hub_api import HubHandler, HubState
    from tests.fakes.server import serve

    names = ("HF_ENDPOINT", "HF_HOME", "HF_HUB_OFFLINE")
    saved = {name: os.environ.get(name) for name in names}
    state = HubState()
    add_tokenizer_repo(state)
    try:
        with serve(HubHandler, state) as hub:
            os.environ["HF_ENDPOINT"] = hub.base_url
            os.environ["HF_HOME"] = str(folder / "hf-home")
            os.environ.pop("HF_HUB_OFFLINE", None)
            yield hub.base_url
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _recipe(files: ModelFiles, steps: int, size: int) -> Recipe:
    """The recipe by library names: SDXL at CFG 5 with a negative prompt; Flux.1 dev at CFG 1 (its
    distilled guidance, 3.5, steers; no negative pass)."""

    def ref(path: Path) -> AssetRef:
        return AssetRef(name=path.stem if path.is_file() else path.name)

    sdxl = files.architecture is Architecture.SDXL
    return Recipe(
        checkpoint=ref(files.checkpoint),
        text_encoders=tuple(ref(path) for path in files.text_encoders),
        vae=ref(files.vae) if files.vae is not None else None,
        prompt="a photo of a red cat on a tree",
        negative_prompt="blurry" if sdxl else "",
        cfg=5.0 if sdxl else 1.0,
        seed=7,
        steps=steps,
        width=size,
        height=size,
        sampler="Euler",
    )


def _placement(engine: Any) -> dict[str, Any]:
    """The memory placement the engine chose for the loaded model, as the board shows it."""
    placement = engine.last_placement
    if placement is not None:
        return {"mode": placement.mode, "reason": placement.reason}
    if engine.last_memory_plan:  # SD checkpoints: model offload decided by plan_memory
        return {"mode": "model_offload", "reason": engine.last_memory_plan}
    return {"mode": "gpu" if engine.device.device.startswith("cuda") else "cpu", "reason": "fits"}


def bench_family(
    family: str, root: Path, *, tiny: bool, device: str, steps: int, size: int, repeat: int
) -> dict[str, Any]:
    """Write, catalog, load and render one family both ways; the figures (see the module docstring)."""
    import torch

    from app.context import AppContext
    from app.secrets import TokenStore

    cuda = device.startswith("cuda")
    models = root / family / "models"
    data = root / family / "data"
    print(f"{family}: writing the {'tiny' if tiny else 'real-size zero-filled'} files ...", file=sys.stderr)
    files = write_tiny(family, models, root / "tiny-cache") if tiny else write_real(family, models)
    file_bytes = sum(_size(path) for path in files.paths)
    context = AppContext(data, tokens=TokenStore(data / "tokens", use_keyring=False))
    try:
        if device == "cpu":
            context.save_settings(context.load_settings()._replace(render_device="cpu"))
        context.add_root(models)
        context.scan()
        service = context.render_service
        plan = service.prepare(_recipe(files, steps, size))
        if plan.problem is not None:
            raise SystemExit(f"{family}: Atelier would not render the bench files: {plan.problem}")
        engine = service.engine()
        ours = Side("atelier", lambda: service.render(plan))
        print(f"{family}: Atelier loads and renders once (warm-up) ...", file=sys.stderr)
        base = _peak_start(cuda)
        ours.render()
        ours.peak_bytes = _peak_since(base, cuda)
        ours.weights_bytes = weights_bytes(engine.pipeline)
        ours.clock = DenoiserClock(_denoiser(engine.pipeline), cuda)
        placement = _placement(engine)
        dtype = getattr(torch, engine.device.dtype_name)
        alternate = _both_fit(ours.peak_bytes, cuda)

        def load_bare() -> Side:
            print(f"{family}: bare diffusers loads and renders once (warm-up) ...", file=sys.stderr)
            resident = _peak_start(cuda)
            pipe = bare_pipeline(files, engine.pipeline, dtype, context.cache_dir).to(device)
            call = bare_call(pipe, files.architecture, plan.recipe, device)
            bare = Side("bare diffusers", call, weights_bytes=weights_bytes(pipe))
            call()
            bare.peak_bytes = _peak_since(resident, cuda)
            bare.clock = DenoiserClock(_denoiser(pipe), cuda)
            return bare

        if alternate:
            bare = load_bare()
            for round_ in range(repeat):
                for side in (ours, bare) if round_ % 2 == 0 else (bare, ours):
                    side.timed(cuda)
        else:  # both do not fit: the engine's renders, then the bare pipeline's alone on the GPU
            for _ in range(repeat):
                ours.timed(cuda)
            engine.unload()
            bare = load_bare()
            for _ in range(repeat):
                bare.timed(cuda)
        figures = {"atelier": _side_dict(ours), "bare": _side_dict(bare)}
        described = engine.device.describe()
        engine.unload()
        del ours, bare  # their render closures hold the pipelines: free the GPU for the next family
    finally:
        context.close()
        import gc

        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
    atelier, bare_row = figures["atelier"], figures["bare"]
    return {
        "family": family,
        "tiny": tiny,
        "device": described,
        "dtype": str(dtype).removeprefix("torch."),
        "size": size,
        "steps": steps,
        "repeat": repeat,
        "alternated": alternate,
        "files_bytes": file_bytes,
        "placement": placement,
        **figures,
        "its_ratio": atelier["its_median"] / bare_row["its_median"],
        "its_target": IT_S_TARGET,
        "time_ratio": atelier["seconds_median"] / bare_row["seconds_median"],
    }


def _size(path: Path) -> int:
    """A file's bytes, or a diffusers folder's."""
    if path.is_dir():
        return sum(part.stat().st_size for part in path.rglob("*") if part.is_file())
    return path.stat().st_size


def _side_dict(side: Side) -> dict[str, Any]:
    return {
        "its_median": statistics.median(side.its),
        "its": side.its,
        "seconds_median": statistics.median(side.seconds),
        "peak_vram_bytes": side.peak_bytes,
        "weights_bytes": side.weights_bytes,
        "peak_over_weights": side.peak_bytes / side.weights_bytes if side.peak_bytes else None,
    }


def _gb(count: int | None) -> str:
    return "n/a" if count is None else f"{count / 1e9:.2f} GB"


def report_lines(row: dict[str, Any]) -> list[str]:
    """The human summary of one family's figures."""
    ours, bare = row["atelier"], row["bare"]
    name = row["family"] + (" (tiny)" if row["tiny"] else "")
    lines = [
        f"{name}: {row['device']}, {row['size']}x{row['size']}, {row['steps']} steps, "
        f"{row['repeat']} timed renders each ({'alternating' if row['alternated'] else 'in turn'})",
        f"{name}: it/s Atelier {ours['its_median']:.3f}, bare diffusers {bare['its_median']:.3f} -> "
        f"ratio {row['its_ratio']:.3f} (target >= {row['its_target']})",
        f"{name}: render time Atelier {ours['seconds_median']:.2f} s, bare {bare['seconds_median']:.2f} s -> "
        f"ratio {row['time_ratio']:.3f} (informative: Atelier's includes the PNG and catalog row)",
        f"{name}: files {_gb(row['files_bytes'])}; weights loaded {_gb(ours['weights_bytes'])} (Atelier), "
        f"{_gb(bare['weights_bytes'])} (bare)",
    ]
    if ours["peak_vram_bytes"] is not None:
        lines.append(
            f"{name}: peak VRAM Atelier {_gb(ours['peak_vram_bytes'])} "
            f"({ours['peak_over_weights']:.2f}x its weights), bare {_gb(bare['peak_vram_bytes'])} "
            f"({bare['peak_over_weights']:.2f}x)"
        )
    lines.append(f"{name}: placement {row['placement']['mode']}: {row['placement']['reason']}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--family", choices=(*FAMILY_NAMES, "all"), default="all")
    parser.add_argument("--repeat", type=int, default=3, help="timed renders per pipeline (median)")
    parser.add_argument("--steps", type=int, default=None, help="default 20 (2 with --tiny)")
    parser.add_argument("--size", type=int, default=None, help="default 1024 (64 with --tiny)")
    parser.add_argument("--device", default="cuda", help="cuda (default) or, with --tiny, cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny models: the same path, for tests")
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where the files go (default: a temp dir)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the JSON there")
    args = parser.parse_args(argv)
    import torch

    on_cpu = args.device == "cpu"
    if (on_cpu and not args.tiny) or (not on_cpu and not torch.cuda.is_available()):
        print(
            "bench_render_gpu: no CUDA device here: real-size SDXL and Flux.1 renders need a GPU "
            "(run it on a lent device; --device cpu --tiny runs the same path on tiny models)"
        )
        return 0
    steps = args.steps or (2 if args.tiny else 20)
    size = args.size or (64 if args.tiny else 1024)
    families = FAMILY_NAMES if args.family == "all" else (args.family,)
    with contextlib.ExitStack() as stack:
        if on_cpu:  # one thread: a busy machine's descheduled OpenMP workers would time the scheduler
            stack.callback(torch.set_num_threads, torch.get_num_threads())
            torch.set_num_threads(1)
        root = args.work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-gpu-")))
        stack.enter_context(loopback_hub(root))
        rows = []
        for family in families:
            rows.append(
                bench_family(
                    family,
                    root,
                    tiny=args.tiny,
                    device=args.device,
                    steps=steps,
                    size=size,
                    repeat=args.repeat,
                )
            )
            if args.device.startswith("cuda"):
                torch.cuda.empty_cache()
    document = {"results": rows}
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(document, indent=2))
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        for row in rows:
            print("\n".join(report_lines(row)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
