"""RenderEngine with every add-on on a tiny SD1 diffusers folder: VAE swap, LoRAs, embeddings,
hypernetworks, previews, the checkpoint LRU — and never a reload when only add-ons change.

The add-on math itself is tested in test_lora/test_embeddings/test_hypernetwork; here the question is
the engine's bookkeeping: each add-on changes the image, taking it away gives the bare image back bit
for bit, files are parsed once, and the checkpoint is read once.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from PIL import Image

from core.jobs import Progress
from core.render import tensor_files
from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine, RenderResult, embedding_token, with_embedding_tokens
from core.render.recipe import AssetRef, EmbeddingUse, HypernetworkUse, LoraUse, Recipe
from core.taxonomy import Architecture
from tests.factory.ldm_vae import tiny_vae, write_ldm_vae
from tests.factory.mapped_files import mapped_among
from tests.factory.tiny_pipeline import SD1_CONTEXT, tiny_sd1_folder

pytestmark = pytest.mark.slow

CPU = DeviceChoice(device="cpu", dtype_name="float32", reason="tests run on the CPU")
# One step: every add-on acts on the text encoder, the UNet or the VAE of that step, so one step shows
# each change (and its absence) as well as two; the step reports are checked with two and three steps.
BASE = Recipe(prompt="a photo of a cat", negative_prompt="blurry", seed=7, steps=1, width=64, height=64)
ATTN = "down_blocks_0_attentions_0_transformer_blocks_0_attn2"


@pytest.fixture(scope="module")
def offline() -> Iterator[None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", refuse)
        yield


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    cache = tmp_path_factory.mktemp("cache")
    found = {
        "checkpoint": tiny_sd1_folder(root / "tiny-sd1", cache, seed=0),
        "other_checkpoint": tiny_sd1_folder(root / "tiny-sd1-b", cache, seed=3),
        "vae": write_ldm_vae(tiny_vae(seed=11), root / "other-vae.safetensors"),
    }
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(5)
    lora = {}
    for proj, out_dim in (("to_k", 32), ("to_v", 32)):
        name = f"lora_unet_{ATTN}_{proj}"
        lora[f"{name}.lora_down.weight"] = torch.randn(4, SD1_CONTEXT, generator=generator)
        lora[f"{name}.lora_up.weight"] = torch.randn(out_dim, 4, generator=generator)
        lora[f"{name}.alpha"] = torch.tensor(2.0)
    found["lora"] = root / "detail.safetensors"
    save_file(lora, str(found["lora"]))
    found["embedding"] = root / "my-style.safetensors"
    save_file({"emb_params": torch.randn(2, SD1_CONTEXT, generator=generator)}, str(found["embedding"]))
    hyper: dict[object, object] = {
        width: [
            {
                "linear.0.weight": torch.randn(width * 2, width, generator=generator) * 0.1,
                "linear.0.bias": torch.zeros(width * 2),
                "linear.2.weight": torch.randn(width, width * 2, generator=generator) * 0.1,
                "linear.2.bias": torch.zeros(width),
            }
            for _ in range(2)
        ]
        for width in (32, 64)
    }
    hyper.update(
        layer_structure=[1, 2, 1], activation_func="relu", is_layer_norm=False, use_dropout=False, name="hn"
    )
    found["hypernetwork"] = root / "anime-hn.pt"
    torch.save(hyper, str(found["hypernetwork"]))
    return found


@pytest.fixture(scope="module")
def engine(offline: None, files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> RenderEngine:
    engine = RenderEngine(tmp_path_factory.mktemp("engine-cache"), device=CPU)
    engine.load(files["checkpoint"], Architecture.SD1, None)
    return engine


def _ref(files: dict[str, Path], key: str) -> AssetRef:
    return AssetRef(files[key].stem, path=str(files[key]), asset_id=1)


def _pixels(result: RenderResult) -> bytes:
    return result.images[0].tobytes()


def test_diffusers_folder_renders_deterministically(engine: RenderEngine) -> None:
    first, second = engine.render(BASE), engine.render(BASE)
    assert _pixels(first) == _pixels(second)
    assert first.images[0].getextrema() != ((0, 0), (0, 0), (0, 0))
    assert first.recipe is not None
    assert first.recipe.seed == 7
    assert engine.load_count == 1


def test_each_add_on_changes_the_image_and_leaves_no_trace(
    engine: RenderEngine, files: dict[str, Path]
) -> None:
    bare = _pixels(engine.render(BASE))
    variants = {
        "vae": BASE.replace(vae=_ref(files, "vae")),
        "lora": BASE.with_lora(LoraUse(_ref(files, "lora"), weight=1.0)),
        "embedding": BASE.replace(
            prompt="a photo of my-style", embeddings=(EmbeddingUse(_ref(files, "embedding")),)
        ),
        "hypernetwork": BASE.with_hypernetwork(HypernetworkUse(_ref(files, "hypernetwork"), 1.0)),
    }
    for name, recipe in variants.items():
        changed = engine.render(recipe)
        assert _pixels(changed) != bare, name
        assert _pixels(engine.render(BASE)) == bare, f"{name} left a trace"
    assert engine.load_count == 1


def test_an_embedding_inside_a1111_weights_is_still_the_embedding(
    engine: RenderEngine, files: dict[str, Path]
) -> None:
    """A1111 finds embedding names in each weighted fragment: ``(my-style:1.0)`` is ``my-style``."""
    style = (EmbeddingUse(_ref(files, "embedding")),)
    plain = _pixels(engine.render(BASE.replace(prompt="a photo of my-style", embeddings=style)))
    weighted_one = engine.render(BASE.replace(prompt="a photo of (my-style:1.0)", embeddings=style))
    assert _pixels(weighted_one) == plain
    assert weighted_one.recipe is not None
    assert weighted_one.recipe.prompt == "a photo of (my-style:1.0)", "the token is found, not appended"
    stronger = _pixels(engine.render(BASE.replace(prompt="a photo of (my-style:1.5)", embeddings=style)))
    assert stronger != plain
    assert _pixels(engine.render(BASE.replace(prompt="a photo of my-style"))) != plain


def test_zero_weights_render_the_bare_image(engine: RenderEngine, files: dict[str, Path]) -> None:
    bare = _pixels(engine.render(BASE))
    recipe = BASE.with_lora(LoraUse(_ref(files, "lora"), weight=0.0)).with_hypernetwork(
        HypernetworkUse(_ref(files, "hypernetwork"), 0.0)
    )
    assert _pixels(engine.render(recipe)) == bare
    disabled = BASE.with_lora(LoraUse(_ref(files, "lora"), weight=1.0, enabled=False))
    assert _pixels(engine.render(disabled)) == bare


def test_weight_changes_reuse_parsed_files_and_checkpoint(
    engine: RenderEngine, files: dict[str, Path]
) -> None:
    lora = _ref(files, "lora")
    engine.render(BASE.with_lora(LoraUse(lora, weight=0.5)))
    reads = engine.file_reads
    images = {w: _pixels(engine.render(BASE.with_lora(LoraUse(lora, weight=w)))) for w in (0.25, 0.5, 1.0)}
    assert len(set(images.values())) == 3
    assert _pixels(engine.render(BASE.with_lora(LoraUse(lora, weight=0.5)))) == images[0.5]
    assert engine.file_reads == reads
    assert engine.load_count == 1


def test_add_ons_apply_together(engine: RenderEngine, files: dict[str, Path]) -> None:
    recipe = BASE.replace(
        vae=_ref(files, "vae"),
        loras=(LoraUse(_ref(files, "lora"), 0.8),),
        embeddings=(EmbeddingUse(_ref(files, "embedding"), negative=True),),
        hypernetworks=(HypernetworkUse(_ref(files, "hypernetwork"), 0.5),),
    )
    first = engine.render(recipe)
    engine.render(BASE)
    again = engine.render(recipe)
    assert _pixels(first) == _pixels(again)
    assert first.recipe is not None
    assert first.recipe.negative_prompt == "blurry, my-style"
    assert engine.supports(recipe) == []


def test_missing_add_on_file_is_reported(engine: RenderEngine, tmp_path: Path) -> None:
    gone = BASE.with_lora(LoraUse(AssetRef("gone", path=str(tmp_path / "gone.safetensors")), 1.0))
    assert any("does not exist" in line for line in engine.supports(gone))
    with pytest.raises(FileNotFoundError, match="gone"):
        engine.render(gone)
    unresolved = BASE.with_lora(LoraUse(AssetRef("nowhere"), 1.0))
    assert any("not in the library" in line for line in engine.supports(unresolved))
    # The engine is still fine afterwards.
    assert len(engine.render(BASE).images) == 1


def test_previews_stream_per_step(engine: RenderEngine) -> None:
    seen: list[tuple[tuple[int, int], int, int]] = []

    def preview(image: Image.Image, done: int, total: int) -> None:
        seen.append((image.size, done, total))

    reports: list[Progress] = []
    engine.render(BASE.replace(steps=3), preview=preview, progress=reports.append)
    assert [(done, total) for _, done, total in seen] == [(1, 3), (2, 3), (3, 3)]
    assert all(size[0] > 0 for size, _, _ in seen)
    # Sampling starting is reported before its first step (which may take minutes on a slow CPU).
    assert [(r.done, r.total, r.message) for r in reports] == [
        (0, 3, "Step 0 of 3"),
        (1, 3, "Step 1 of 3"),
        (2, 3, "Step 2 of 3"),
        (3, 3, "Step 3 of 3"),
    ]


def test_checkpoint_lru_within_budget(files: dict[str, Path], tmp_path: Path) -> None:
    engine = RenderEngine(tmp_path, device=CPU, memory_budget_bytes=10**10)
    engine.load(files["checkpoint"], Architecture.SD1, None)
    a = _pixels(engine.render(BASE))
    engine.load(files["other_checkpoint"], Architecture.SD1, None)
    b = _pixels(engine.render(BASE))
    engine.load(files["checkpoint"], Architecture.SD1, None)
    assert _pixels(engine.render(BASE)) == a != b
    assert engine.load_count == 2
    assert len(engine.kept) == 2
    assert "2 checkpoint(s)" in engine.memory_in_use()
    tight = RenderEngine(tmp_path, device=CPU)  # budget 0: one checkpoint at a time
    tight.load(files["checkpoint"], Architecture.SD1, None)
    tight.load(files["other_checkpoint"], Architecture.SD1, None)
    assert tight.kept == [files["other_checkpoint"].resolve()]


def test_embedding_tokens_are_added_where_missing() -> None:
    style = EmbeddingUse(AssetRef("My Style", path="/models/embeddings/my-style.pt"))
    negative = EmbeddingUse(AssetRef("easynegative", path="/m/easynegative.safetensors"), negative=True)
    assert embedding_token(style) == "my-style"
    recipe = Recipe(prompt="a cat", negative_prompt="", embeddings=(style, negative))
    filled = with_embedding_tokens(recipe)
    assert filled.prompt == "a cat, my-style"
    assert filled.negative_prompt == "easynegative"
    assert with_embedding_tokens(filled) is filled  # already present: unchanged
    inside = recipe.replace(prompt="my-style, a cat", negative_prompt="(easynegative:1.2)")
    assert with_embedding_tokens(inside) is inside


def test_loading_reports_each_component_then_add_ons_then_steps(
    offline: None, files: dict[str, Path], tmp_path: Path
) -> None:
    """A fresh load says "Loading checkpoint…" at once, then names each part diffusers builds; add-ons
    that change say what they load; only then come the steps."""
    engine = RenderEngine(tmp_path / "cache", device=CPU)
    reports: list[Progress] = []

    engine.load(files["checkpoint"], Architecture.SD1, None, progress=reports.append)
    engine.render(
        BASE.replace(steps=2).with_lora(LoraUse(_ref(files, "lora"), weight=0.5)), progress=reports.append
    )

    messages = [report.message for report in reports]
    assert reports[0] == Progress(0, None, "Loading checkpoint…")
    loading = [report for report in reports if report.message.startswith("Loading checkpoint…")]
    parts = {report.message.removeprefix("Loading checkpoint… ") for report in loading}
    assert {"UNet", "VAE", "text encoder", "tokenizer", "scheduler"} <= parts
    total = loading[1].total
    assert total == 6  # five components, then placing the weights on the device
    assert [report.done for report in loading[1:]] == sorted(report.done for report in loading[1:])
    assert loading[-1] == Progress(total, total, "Loading checkpoint…")
    lora_at = messages.index("Loading LoRA detail…")
    assert messages.index(loading[-1].message) < lora_at < messages.index("Step 1 of 2")
    assert messages[lora_at + 1] == "Step 0 of 2"  # the LoRA is on: sampling is under way
    assert messages[-1] == "Step 2 of 2"

    again: list[Progress] = []
    engine.load(files["checkpoint"], Architecture.SD1, None, progress=again.append)
    assert again == []  # already loaded: nothing to report


def test_on_windows_rendering_leaves_no_add_on_file_mapped(
    offline: None, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows cannot move, trash or replace a file while it is mapped, and the engine keeps parsed
    # add-ons (and a swapped VAE) for later renders. Copies of the files, read by an engine of its own:
    # the module's engine keeps its own reads of the originals (mapped, as off Windows).
    monkeypatch.setattr(tensor_files, "MAPPED_FILES_ARE_LOCKED", True)
    own = {key: Path(shutil.copy(files[key], tmp_path)) for key in ("vae", "lora", "embedding")}
    engine = RenderEngine(tmp_path / "engine-cache", device=CPU)
    engine.load(files["checkpoint"], Architecture.SD1, None)
    recipe = BASE.replace(
        prompt="a photo of my-style",
        vae=_ref(own, "vae"),
        loras=(LoraUse(_ref(own, "lora"), 0.8),),
        embeddings=(EmbeddingUse(_ref(own, "embedding")),),
    )
    engine.render(recipe)
    assert mapped_among(list(own.values())) == []


def test_on_windows_a_loaded_checkpoint_is_not_left_mapped(
    offline: None, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy of the module's checkpoint folder: the module's engines keep the original mapped.
    checkpoint = Path(shutil.copytree(files["other_checkpoint"], tmp_path / "tiny-sd1"))
    weights = sorted(checkpoint.rglob("*.safetensors"))
    assert weights
    monkeypatch.setattr(tensor_files, "MAPPED_FILES_ARE_LOCKED", True)
    engine = RenderEngine(tmp_path / "engine-cache", device=CPU)
    engine.load(checkpoint, Architecture.SD1, None)
    assert mapped_among(weights) == []
    assert len(engine.render(BASE).images) == 1
