"""RenderEngine: single-file loading, caching, samplers, seeds, progress, cancel.

Two engines, each loaded once for the whole module. The single-file load (its progress reports, the
no-op reload) needs the real layout, so a zero-filled SD1 file of the real key space is loaded in fp16,
the file's own dtype (no 4 GB fp32 copy; test_configs loads every real layout in fp32 and denoises).
The render behaviour (seeds, batch, progress, cancel, samplers) does not depend on the layout or size
and runs on the tiny SD1 pipeline (tests/factory/tiny_pipeline.py): renders are 64x64 with 2 steps,
pixels compared as raw bytes. The network is blocked throughout.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.jobs import CancelledError, CancelToken, Progress
from core.render.conditioning import diffusers_clip_skip
from core.render.devices import DeviceChoice, choose_device
from core.render.engine import RenderEngine, RenderResult
from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe, Sampler
from core.render.sigma_schedules import schedule_sigmas
from core.taxonomy import Architecture
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors
from tests.factory.tiny_pipeline import tiny_sd1_folder

pytestmark = pytest.mark.slow

CPU = DeviceChoice(device="cpu", dtype_name="float32", reason="tests run on the CPU")
# The real-size file is F16: loading it as stored keeps the load about the file, not a dtype conversion.
CPU_FP16 = DeviceChoice(device="cpu", dtype_name="float16", reason="the real-size file's own dtype")
BASE = Recipe(prompt="a photo of a cat", negative_prompt="blurry", seed=42, steps=2, width=64, height=64)


@pytest.fixture(scope="module")
def offline() -> Iterator[None]:
    """HF offline, a dead Hub endpoint, and no outgoing TCP at all (module-wide)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        yield


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("checkpoints")
    return write_safetensors(folder / "sd1.safetensors", keyspace("sd1-ldm", dtype="F16"))


LOAD_REPORTS: list[Progress] = []


@pytest.fixture(scope="module")
def single_file_engine(
    offline: None, checkpoint: Path, tmp_path_factory: pytest.TempPathFactory
) -> RenderEngine:
    """The real-layout single file, loaded once; its load reports are kept in LOAD_REPORTS."""
    engine = RenderEngine(tmp_path_factory.mktemp("cache"), device=CPU_FP16)
    engine.load(checkpoint, Architecture.SD1, None, progress=LOAD_REPORTS.append)
    return engine


@pytest.fixture(scope="module")
def engine(offline: None, tmp_path_factory: pytest.TempPathFactory) -> RenderEngine:
    """The tiny SD1 pipeline (a diffusers folder), loaded once for the render behaviour tests."""
    cache = tmp_path_factory.mktemp("tiny-cache")
    folder = tiny_sd1_folder(tmp_path_factory.mktemp("models") / "tiny-sd1", cache, seed=0)
    engine = RenderEngine(cache, device=CPU)
    engine.load(folder, Architecture.SD1, None)
    return engine


def _bytes(result: RenderResult) -> list[bytes]:
    return [image.tobytes() for image in result.images]


def test_same_seed_gives_identical_pixels(engine: RenderEngine) -> None:
    first = engine.render(BASE)
    second = engine.render(BASE)
    assert first.seed == second.seed == 42
    assert [image.size for image in first.images] == [(64, 64)]
    assert first.images[0].mode == "RGB"
    assert _bytes(first) == _bytes(second)
    assert first.device == "CPU, fp32"
    assert first.elapsed > 0


def test_batch_renders_batch_images(engine: RenderEngine) -> None:
    result = engine.render(BASE.replace(batch=2, clip_skip=2))
    assert [image.size for image in result.images] == [(64, 64), (64, 64)]


def test_progress_reported_per_step(engine: RenderEngine) -> None:
    reports: list[Progress] = []
    engine.render(BASE, progress=reports.append)
    # "Step 0 of 2" as sampling starts (the add-ons are on), then one report per step.
    assert [(p.done, p.total) for p in reports] == [(0, 2), (1, 2), (2, 2)]
    assert reports[0].message == "Step 0 of 2"
    assert reports[-1].message == "Step 2 of 2"


def test_single_file_load_reports_its_components(single_file_engine: RenderEngine) -> None:
    """The file is read whole first (no total yet), then diffusers builds each part from it."""
    assert single_file_engine.load_count == 1
    assert type(single_file_engine.pipeline).__name__ == "StableDiffusionPipeline"
    assert LOAD_REPORTS[0] == Progress(0, None, "Loading checkpoint…")
    messages = [report.message for report in LOAD_REPORTS]
    assert {"Loading checkpoint… UNet", "Loading checkpoint… VAE", "Loading checkpoint… text encoder"} <= set(
        messages
    )
    assert "Loading checkpoint… placing the weights on the CPU" in messages
    last = LOAD_REPORTS[-1]
    assert last.total is not None
    assert last.done == last.total


def test_cancel_after_first_step(engine: RenderEngine) -> None:
    token = CancelToken()
    reports: list[Progress] = []

    def progress(report: Progress) -> None:
        reports.append(report)
        token.cancel()

    with pytest.raises(CancelledError):
        engine.render(BASE.replace(steps=3), progress=progress, cancel=token)
    # Cancelled at the first report (sampling starting): the step under way ends, the rest are skipped.
    assert [p.done for p in reports] == [0, 1]
    # Still usable afterwards.
    assert len(engine.render(BASE).images) == 1


def test_cancelled_token_raises_before_rendering(engine: RenderEngine) -> None:
    token = CancelToken()
    token.cancel()
    reports: list[Progress] = []
    with pytest.raises(CancelledError):
        engine.render(BASE, progress=reports.append, cancel=token)
    assert reports == []


def test_switching_sampler_does_not_reload(engine: RenderEngine) -> None:
    loads = engine.load_count
    engine.render(BASE.replace(sampler=Sampler.EULER_A))
    assert type(engine.pipeline.scheduler).__name__ == "EulerAncestralDiscreteScheduler"
    engine.render(BASE.replace(sampler=Sampler.DDIM))
    assert type(engine.pipeline.scheduler).__name__ == "DDIMScheduler"
    assert engine.pipeline.scheduler.config.prediction_type == "epsilon"
    engine.render(BASE.replace(sampler="Euler", schedule="Exponential"))
    scheduler = engine.pipeline.scheduler
    want = schedule_sigmas("Exponential", BASE.steps, scheduler.alphas_cumprod.numpy())
    assert [round(float(v), 4) for v in scheduler.sigmas] == [round(float(v), 4) for v in want]
    assert engine.load_count == loads == 1


def test_loading_same_file_again_is_a_no_op(single_file_engine: RenderEngine, checkpoint: Path) -> None:
    engine = single_file_engine
    pipe = engine.pipeline
    engine.load(checkpoint, Architecture.SD1, None)
    assert engine.load_count == 1
    assert engine.pipeline is pipe
    assert engine.loaded == checkpoint.resolve()


def test_random_seed_is_reported(engine: RenderEngine) -> None:
    result = engine.render(BASE.replace(seed=-1))
    assert isinstance(result.seed, int)
    assert 0 <= result.seed < 2**32


def test_supports_lists_what_cannot_render(engine: RenderEngine, tmp_path: Path) -> None:
    assert engine.supports(BASE) == []
    recipe = BASE.with_lora(LoraUse(AssetRef("add_detail", hash="7c6bd7b7a2"), weight=0.5))
    reasons = engine.supports(recipe)
    assert len(reasons) == 1
    assert "add_detail" in reasons[0]
    assert "LoRA" in reasons[0]
    assert "not in the library" in reasons[0]
    full = recipe.replace(
        vae=AssetRef("vae-ft-mse", path=str(tmp_path / "vae-ft-mse.safetensors")),
        embeddings=(EmbeddingUse(AssetRef("easynegative"), negative=True),),
        hypernetworks=(HypernetworkUse(AssetRef("hn"), 0.5),),
        sampler=Sampler.DPMPP_2S_A,
    )
    text = "\n".join(engine.supports(full))
    for name in ("vae-ft-mse", "does not exist", "easynegative", "'hn'", "DPM++ 2S a"):
        assert name in text
    disabled = BASE.with_lora(LoraUse(AssetRef("off"), enabled=False))
    assert engine.supports(disabled) == []


def test_unsupported_sampler_raises(engine: RenderEngine) -> None:
    with pytest.raises(ValueError, match=r"^Atelier cannot render with sampler 'DPM\+\+ 2S a' yet"):
        engine.render(BASE.replace(sampler=Sampler.DPMPP_2S_A))


def test_render_without_load_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="load"):
        RenderEngine(tmp_path, device=CPU).render(BASE)


def test_unsupported_architecture_is_refused(tmp_path: Path, checkpoint: Path) -> None:
    engine = RenderEngine(tmp_path, device=CPU)
    with pytest.raises(ValueError, match="cannot render 'flux2' checkpoints"):
        engine.load(checkpoint, Architecture.FLUX2, None)
    assert engine.load_count == 0


def test_clip_skip_mapping() -> None:
    assert diffusers_clip_skip(1) is None
    assert diffusers_clip_skip(2) == 1


def test_device_choice_describes_itself() -> None:
    assert CPU.describe() == "CPU, fp32"
    gpu = DeviceChoice("cuda:0", "float16", "test", name="NVIDIA H100", memory_gb=80.0)
    assert gpu.describe() == "CUDA: NVIDIA H100, fp16, 80 GB"
    assert choose_device("cpu") == DeviceChoice("cpu", "float32", "CPU requested in the settings")
    auto = choose_device("cuda:7")
    assert auto.device in {"cpu", "mps"} or auto.device.startswith("cuda")
