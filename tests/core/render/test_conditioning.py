"""A1111's prompt conditioning on the tiny SD1 and SDXL pipelines: weights, BREAK, long prompts,
schedules, variation seeds — rendered through RenderEngine, 64x64 with 2-3 steps on the CPU.

The reference for "unchanged" is diffusers' own prompt encoding (``pipe(prompt=...)``), which is what
the engine rendered before A1111's syntax was honoured: a prompt without syntax must stay pixel-equal.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.render.conditioning import (
    CHUNK_LENGTH,
    PromptEncoder,
    ScheduledConditioning,
    conditioning_warnings,
    text_encoder_clip_skip,
)
from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine, RenderResult
from core.render.hires import HiresFix
from core.render.recipe import AssetRef, EmbeddingUse, Recipe
from core.taxonomy import Architecture
from tests.factory.tiny_pipeline import tiny_sd1_folder, tiny_sdxl_folder

pytestmark = pytest.mark.slow  # two tiny pipelines are built and loaded (about 20 s on a shared CPU)

CPU = DeviceChoice(device="cpu", dtype_name="float32", reason="tests run on the CPU")
# One step: a prompt's encoding conditions every step alike, so one shows what the encoding changes. The
# tests whose behaviour lives across steps (schedules, alternation, ancestral noise, hires counts) say
# their step counts themselves.
BASE = Recipe(
    prompt="a red fox", negative_prompt="blurry", seed=5, steps=1, width=64, height=64, sampler="Euler"
)


def _engine(tmp: pytest.TempPathFactory, architecture: Architecture) -> Iterator[RenderEngine]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", refuse)
        build = tiny_sd1_folder if architecture is Architecture.SD1 else tiny_sdxl_folder
        folder = build(tmp.mktemp("models") / "tiny", tmp.mktemp("cache"), seed=0)
        engine = RenderEngine(tmp.mktemp("engine"), device=CPU)
        engine.load(folder, architecture, None)
        _realistic_final_norm(engine.pipeline.text_encoder)
        yield engine


def _realistic_final_norm(text_encoder: Any) -> None:
    """Give the tiny encoder's final layer norm a bias, as CLIP's trained one has: with none, every
    token vector has mean 0 and A1111's mean-restoring rescale divides by (almost) zero."""
    import torch

    with torch.no_grad():
        bias = text_encoder.final_layer_norm.bias
        bias.copy_(torch.linspace(-0.2, 0.6, bias.numel()))


@pytest.fixture(scope="module")
def sd1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RenderEngine]:
    yield from _engine(tmp_path_factory, Architecture.SD1)


@pytest.fixture(scope="module")
def sdxl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RenderEngine]:
    yield from _engine(tmp_path_factory, Architecture.SDXL)


def _pixels(result: RenderResult) -> bytes:
    return b"".join(image.tobytes() for image in result.images)


def _render(engine: RenderEngine, **changes: Any) -> bytes:
    return _pixels(engine.render(BASE.replace(**changes)))


def _diffusers(engine: RenderEngine, recipe: Recipe) -> bytes:
    """What diffusers' own prompt encoding renders (the engine's output before A1111 syntax)."""
    import torch

    engine.prepare(recipe)  # the recipe's sampler on the pipeline
    output = engine.pipeline(
        prompt=recipe.prompt,
        negative_prompt=recipe.negative_prompt or None,
        num_inference_steps=recipe.steps,
        width=recipe.width,
        height=recipe.height,
        guidance_scale=recipe.cfg,
        generator=torch.Generator("cpu").manual_seed(recipe.seed),
    )
    return b"".join(image.tobytes() for image in output.images)


def _encoder(engine: RenderEngine, sdxl: bool = False) -> PromptEncoder:
    return PromptEncoder(engine.pipeline, sdxl=sdxl, clip_skip=None)


# --- unchanged where there is no syntax ------------------------------------------------------------------


@pytest.mark.parametrize("negative", ["blurry", ""])
def test_a_plain_prompt_renders_what_diffusers_renders(sd1: RenderEngine, negative: str) -> None:
    recipe = BASE.replace(negative_prompt=negative)
    assert _pixels(sd1.render(recipe)) == _diffusers(sd1, recipe)


@pytest.mark.parametrize("negative", ["blurry", ""])
def test_a_plain_prompt_renders_what_diffusers_renders_on_sdxl(sdxl: RenderEngine, negative: str) -> None:
    recipe = BASE.replace(negative_prompt=negative)
    assert _pixels(sdxl.render(recipe)) == _diffusers(sdxl, recipe)


# --- attention ---------------------------------------------------------------------------------------------


def test_weight_one_is_the_plain_prompt_and_other_weights_change_the_image(sd1: RenderEngine) -> None:
    plain = _render(sd1, prompt="a red fox")
    assert _render(sd1, prompt="(a red fox:1.0)") == plain
    assert _render(sd1, prompt="(a red fox:1.3)") != plain
    assert _render(sd1, prompt="a (red) fox") != plain
    assert _render(sd1, prompt="a [red] fox") != plain


def test_escaped_brackets_reach_clip_as_brackets(sd1: RenderEngine) -> None:
    assert _render(sd1, prompt="a \\(red\\) fox") == _diffusers(sd1, BASE.replace(prompt="a (red) fox"))


def test_weights_scale_their_tokens_and_keep_the_chunk_mean(sd1: RenderEngine) -> None:
    encoder = _encoder(sd1)
    plain, _ = encoder.encode("a red fox")
    weighted, _ = encoder.encode("a (red:1.5) fox")
    assert weighted.shape == plain.shape == (1, 77, 32)
    assert float(weighted.mean()) == pytest.approx(float(plain.mean()), rel=1e-4)
    scale = float(plain.mean() / (plain * _weights(2, 1.5)).mean())
    assert weighted[0, 2].tolist() == pytest.approx((plain[0, 2] * 1.5 * scale).tolist(), rel=1e-4)
    assert weighted[0, 1].tolist() == pytest.approx((plain[0, 1] * scale).tolist(), rel=1e-4)


def _weights(position: int, weight: float) -> Any:
    import torch

    weights = torch.ones(1, 77, 1)
    weights[0, position] = weight
    return weights


def test_sdxl_weights_change_the_image(sdxl: RenderEngine) -> None:
    plain = _render(sdxl, prompt="a red fox")
    assert _render(sdxl, prompt="(a red fox:1.0)") == plain
    assert _render(sdxl, prompt="(a red fox:1.4)") != plain


# --- chunks -------------------------------------------------------------------------------------------------


def test_break_starts_a_chunk_of_its_own(sd1: RenderEngine) -> None:
    encoder = _encoder(sd1)
    broken, _ = encoder.encode("a red fox BREAK a forest")
    assert broken.shape == (1, 154, 32)
    forest, _ = encoder.encode("a forest")
    assert broken[:, 77:].tolist() == forest.tolist()
    assert _render(sd1, prompt="a red fox BREAK a forest") != _render(sd1, prompt="a red fox a forest")


def test_a_long_prompt_is_chunked_not_cut(sd1: RenderEngine) -> None:
    long = " ".join(["fox"] * 90)  # 90 tokens: two chunks in A1111, 75 kept by diffusers
    encoder = _encoder(sd1)
    assert [len(chunk.tokens) for chunk in encoder.chunks(long)] == [77, 77]
    embeds, _ = encoder.encode(long)
    assert embeds.shape == (1, 154, 32)
    assert _render(sd1, prompt=long) != _diffusers(sd1, BASE.replace(prompt=long))


def test_a_chunk_breaks_after_a_comma_near_its_end(sd1: RenderEngine) -> None:
    encoder = _encoder(sd1)
    prompt = " ".join(["fox"] * 70) + ", " + " ".join(["wolf"] * 10)  # the comma is token 71
    first, second = encoder.chunks(prompt)
    comma = encoder.encoders[0].tokenizer.get_vocab()[",</w>"]
    eos = encoder.encoders[0].eos
    assert first.tokens[71] == comma
    assert first.tokens[72:] == [eos] * 5
    assert second.tokens[1:11] == second.tokens[1:2] * 10
    assert second.tokens[11] == eos
    assert len(first.tokens) == len(second.tokens) == CHUNK_LENGTH + 2


def test_positive_and_negative_are_padded_to_the_same_chunks(sd1: RenderEngine) -> None:
    encoder = _encoder(sd1)
    pair = ScheduledConditioning(encoder, "a red fox BREAK a forest", "blurry", steps=2)
    arguments = pair.arguments()
    assert arguments["prompt_embeds"].shape == arguments["negative_prompt_embeds"].shape == (1, 154, 32)
    empty, _ = encoder.encode("")
    assert arguments["negative_prompt_embeds"][:, 77:].tolist() == empty.tolist()
    assert pair.warnings()
    assert "padded with empty chunks" in pair.warnings()[0]
    # An A1111 image made with its "Pad conds" option was padded the same way: nothing to say.
    assert not ScheduledConditioning(
        encoder, "a fox BREAK a wood", "blurry", steps=2, pad_conds=True
    ).warnings()


def test_sdxl_long_prompts_take_the_pooled_vector_of_the_first_chunk(sdxl: RenderEngine) -> None:
    encoder = _encoder(sdxl, sdxl=True)
    embeds, pooled = encoder.encode("a red fox BREAK a forest")
    first, first_pooled = encoder.encode("a red fox")
    assert embeds.shape == (1, 154, 64)
    assert pooled.tolist() == first_pooled.tolist()
    assert embeds[:, :77].tolist() == first.tolist()
    assert _render(sdxl, prompt="a red fox BREAK a forest", negative_prompt="") != _render(
        sdxl, prompt="a red fox a forest", negative_prompt=""
    )


def test_sdxl_encoders_that_cut_a_text_differently_keep_every_chunk(
    sdxl: RenderEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An embedding with more vectors for bigG than for CLIP-L gives G more chunks: the shorter side is
    padded with its empty chunk, never G's chunks dropped."""
    pipe = sdxl.pipeline
    convert = pipe.maybe_convert_prompt

    def longer_for_g(text: str, tokenizer: Any) -> str:
        return convert(text * 40 if tokenizer is pipe.tokenizer_2 else text, tokenizer)

    monkeypatch.setattr(pipe, "maybe_convert_prompt", longer_for_g)
    encoder = _encoder(sdxl, sdxl=True)
    clip_l, clip_g = encoder.encoders
    assert (len(encoder.chunks("a red fox", clip_l)), len(encoder.chunks("a red fox", clip_g))) == (1, 2)
    embeds, _ = encoder.encode("a red fox")
    assert embeds.shape == (1, 154, 64)
    empty, _ = encoder.encode("")
    assert embeds[:, 77:, :32].tolist() == empty[:, :, :32].tolist()
    assert embeds[:, 77:, 32:].tolist() != empty[:, :, 32:].tolist()


def test_the_comma_token_is_looked_up_once_per_encoder(
    sd1: RenderEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``get_vocab`` copies the whole vocabulary (49 408 entries for CLIP): once a render, not a text."""
    tokenizer = sd1.pipeline.tokenizer
    calls: list[int] = []
    vocab = tokenizer.get_vocab

    def counted() -> dict[str, int]:
        calls.append(1)
        return vocab()

    monkeypatch.setattr(tokenizer, "get_vocab", counted)
    encoder = _encoder(sd1)
    calls.clear()
    for text in ("a red fox", "a red fox, forest", "a (red) fox"):
        encoder.chunks(text)
    assert calls == []


def test_emphasis_ignore_drops_the_weights_and_keeps_break(sd1: RenderEngine) -> None:
    """A1111's "Ignore": the prompt is parsed (weights, escapes, BREAK) and the weights dropped."""
    ignore = {"Emphasis": "Ignore"}
    assert _render(sd1, prompt="(a red:1.5) [fox]", extra=ignore) == _render(sd1, prompt="a red fox")
    assert _render(sd1, prompt="(a red:1.5) [fox]") != _render(sd1, prompt="a red fox")
    encoder = PromptEncoder(sd1.pipeline, sdxl=False, clip_skip=None, emphasis="Ignore")
    assert len(encoder.chunks("a red fox BREAK forest")) == 2
    assert not conditioning_warnings(BASE.replace(extra=ignore), None, Architecture.SD1)


def test_an_embedding_at_a_chunk_boundary_moves_whole_to_the_next_chunk(
    sd1: RenderEngine, tmp_path: Path
) -> None:
    """A1111 never splits a multi-vector embedding across chunks: 73 tokens then a 4-vector embedding
    renders as if a BREAK stood before it."""
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "my-style.safetensors"
    save_file({"emb_params": torch.randn(4, 32, generator=torch.Generator().manual_seed(3))}, str(path))
    style = (EmbeddingUse(AssetRef("my-style", path=str(path))),)
    words = "zebra " * 73
    first_chunk = _encoder(sd1).chunks(words)[0].tokens
    assert first_chunk.index(sd1.pipeline.tokenizer.eos_token_id) == 74  # 73 one-token words
    straddling = _render(sd1, prompt=words + "my-style", embeddings=style)
    assert straddling == _render(sd1, prompt=words + "BREAK my-style", embeddings=style)
    assert straddling != _render(sd1, prompt="zebra " * 71 + "my-style", embeddings=style)


# --- schedules ----------------------------------------------------------------------------------------------


def test_prompt_editing_switches_at_a1111s_step(sd1: RenderEngine) -> None:
    fox = _render(sd1, prompt="a red fox", steps=3)
    wolf = _render(sd1, prompt="a grey wolf", steps=3)
    switched = _render(sd1, prompt="[a red fox:a grey wolf:1]", steps=3)  # steps 0-1 fox, 2 wolf
    assert switched not in (fox, wolf)
    assert _render(sd1, prompt="[a red fox:a grey wolf:5]", steps=3) == fox  # never reached
    assert _render(sd1, prompt="[a red fox:a grey wolf:0]", steps=3) == wolf  # from the start


def test_alternation_and_sdxl_editing_run_and_switch(sd1: RenderEngine, sdxl: RenderEngine) -> None:
    fox = _render(sd1, prompt="a red fox", steps=3)
    assert _render(sd1, prompt="a red [fox|wolf]", steps=3) != fox
    xl_fox = _render(sdxl, prompt="a red fox", steps=3)
    assert _render(sdxl, prompt="[a red fox:a grey wolf:1]", steps=3) != xl_fox


def test_the_hires_pass_runs_its_own_schedule(sd1: RenderEngine) -> None:
    hires = HiresFix(upscaler="Latent", scale=1.5, steps=2, denoising=0.5)
    result = sd1.render(BASE.replace(prompt="[a red fox:a grey wolf:1.5]", steps=2, hires=hires))
    assert result.images[0].size == (96, 96)


def test_the_hires_schedule_counts_the_hires_samplers_steps(sd1: RenderEngine) -> None:
    """A1111 counts a hires pass's schedule with the Hires sampler's total steps (Heun: two a step):
    ``[fox:wolf:1.5]`` over a 2-step Heun pass switches after step 2 of 4, as a whole-number ``4``
    (2 past the first pass) does, not after step 1 as Euler's count would say."""
    hires = HiresFix(upscaler="Latent", scale=1.5, steps=2, denoising=1.0)
    prompt = "[a red fox:a grey wolf:1.5]"
    recipe = BASE.replace(prompt=prompt, steps=2, hires=hires, extra={"Hires sampler": "Heun"})

    def hires_prompt(text: str) -> bytes:
        return _pixels(sd1.render(recipe.replace(extra={**recipe.extra, "Hires prompt": text})))

    at_two, at_one = hires_prompt("[a red fox:a grey wolf:4]"), hires_prompt("[a red fox:a grey wolf:3]")
    assert at_two != at_one
    assert _pixels(sd1.render(recipe)) == at_two


def test_a_schedules_texts_share_one_emphasis_mean_as_in_a1111(sd1: RenderEngine) -> None:
    """A1111 encodes the texts of one prompt's schedule as one batch and Emphasis Original restores the
    mean over that batch: each text's vectors are rescaled by the same factor, not each by its own."""
    import torch

    encoder = _encoder(sd1)
    fox, _ = encoder.encode("a red fox")
    wolf, _ = encoder.encode("a grey wolf")
    weights = torch.tensor(encoder.chunks("(a red fox:1.5)")[0].multipliers).reshape(1, -1, 1)
    assert float(weights.max()) == 1.5
    factor = (fox.mean() + wolf.mean()) / ((fox * weights).mean() + wolf.mean())
    scheduled = ScheduledConditioning(encoder, "[(a red fox:1.5):a grey wolf:10]", "", steps=20)
    first, second = (step.embeds for step in scheduled.positive)
    assert torch.allclose(first, fox * weights * factor, rtol=1e-4, atol=1e-6)
    assert torch.allclose(second, wolf * factor, rtol=1e-4, atol=1e-6)
    alone, _ = encoder.encode("(a red fox:1.5)")
    assert not torch.allclose(first, alone, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("pad_conds", [False, True])
def test_a_zeroed_sdxl_negative_is_padded_as_a1111_pads_it(sdxl: RenderEngine, pad_conds: bool) -> None:
    """An empty SDXL negative is zeros; padded to a longer prompt, A1111 with Pad conds appends its
    encoded empty prompt, and without it denoises the zeros alone, which zero chunks reproduce exactly."""
    encoder = _encoder(sdxl, sdxl=True)
    scheduled = ScheduledConditioning(
        encoder, "a red fox BREAK a forest", "", steps=2, zero_empty_negative=True, pad_conds=pad_conds
    )
    negative = scheduled.negative[0].embeds
    assert negative.shape == (1, 154, 64)
    assert not negative[:, :77].any()
    empty, _ = encoder.encode("")
    assert negative[:, 77:].tolist() == (
        empty.tolist() if pad_conds else empty.new_zeros(empty.shape).tolist()
    )
    assert not scheduled.warnings()


# --- noise --------------------------------------------------------------------------------------------------


def test_variation_seed_blends_towards_the_other_seeds_noise(sd1: RenderEngine) -> None:
    own = _render(sd1, seed=5)
    other = _render(sd1, seed=9)
    assert _render(sd1, extra={"Variation seed": "9", "Variation seed strength": "0"}) == own
    assert _render(sd1, extra={"Variation seed": "9", "Variation seed strength": "1"}) == other
    blended = _render(sd1, extra={"Variation seed": "9", "Variation seed strength": "0.3"})
    assert blended not in (own, other)


def test_ensd_reseeds_the_noise_of_ancestral_samplers_only(sd1: RenderEngine) -> None:
    extra = {"ENSD": "31337"}
    # Two steps: an ancestral sampler adds no noise in its last step.
    assert _render(sd1, sampler="Euler a", steps=2, extra=extra) != _render(sd1, sampler="Euler a", steps=2)
    assert _render(sd1, sampler="Euler", steps=2, extra=extra) == _render(sd1, sampler="Euler", steps=2)


# --- what is not honoured is said -------------------------------------------------------------------------


def test_unhonoured_syntax_and_keys_are_named_in_the_plan_and_the_render(sd1: RenderEngine) -> None:
    recipe = BASE.replace(
        prompt="a red fox AND a grey wolf",
        extra={"Seed resize from": "512x768", "Emphasis": "Sharpen"},
    )
    assert sd1.supports(recipe) == []  # refusals only: none of this is refused
    plan = conditioning_warnings(recipe, None, Architecture.SD1)
    assert any("AND" in line and "not applied" in line for line in plan)
    assert any(line.startswith("Seed resize from: 512x768 is not applied") for line in plan)
    assert any(line.startswith("Emphasis: Sharpen is not applied") for line in plan)
    rendered = sd1.render(recipe)
    assert set(plan) <= set(rendered.warnings)
    assert not conditioning_warnings(
        BASE.replace(prompt="(a red fox:1.2) BREAK [a:b:0.5]"), None, Architecture.SD1
    )


def test_the_plan_says_a_hires_pass_does_not_redraw_variation_noise(sd1: RenderEngine) -> None:
    """A1111 draws the hires pass's noise afresh (variation blend, ENSD generators); Atelier continues
    the first pass's generators, and says so before rendering."""
    hires = HiresFix(upscaler="Latent", scale=1.5, steps=2, denoising=0.5)
    recipe = BASE.replace(hires=hires, extra={"Variation seed": "9", "Variation seed strength": "0.3"})
    line = "Variation seed, Variation seed strength: applied to the first pass only"
    assert any(text.startswith(line) for text in conditioning_warnings(recipe, None, Architecture.SD1))
    assert any(text.startswith(line) for text in sd1.render(recipe).warnings)
    assert not any(
        "first pass only" in text
        for text in conditioning_warnings(recipe.replace(hires=None), None, Architecture.SD1)
    )
    ensd = recipe.replace(extra={"ENSD": "31337"})
    assert any(
        text.startswith("ENSD: applied") for text in conditioning_warnings(ensd, None, Architecture.SD1)
    )


def test_clip_skip_reaches_the_negative_prompt_too(sd1: RenderEngine) -> None:
    """A1111 encodes both prompts at the clip skip; diffusers skipped layers for the positive only."""
    encoder = PromptEncoder(sd1.pipeline, sdxl=False, clip_skip=1)
    skipped = ScheduledConditioning(encoder, "a red fox", "blurry", steps=2).arguments()
    plain = ScheduledConditioning(_encoder(sd1), "a red fox", "blurry", steps=2).arguments()
    assert skipped["negative_prompt_embeds"].tolist() != plain["negative_prompt_embeds"].tolist()
    assert skipped["negative_prompt_embeds"].tolist() == encoder.encode("blurry")[0].tolist()


FORGE_TEXT = (
    "a red fox\nSteps: 2, Sampler: Euler, Clip skip: {skip}, Version: f2.0.1v1.10.1-previous-313-g8a042934"
)
A1111_TEXT = "a red fox\nSteps: 2, Sampler: Euler, Clip skip: {skip}, Version: v1.10.1"


def test_sdxl_clip_skip_is_read_as_the_tool_that_wrote_the_image(sdxl: RenderEngine) -> None:
    """A1111 ignores clip skip on SDXL (both encoders read their penultimate layer); Forge reads layer
    -max(skip, 2). "Clip skip: 2", on nearly every Pony/Illustrious image, changes nothing in either."""
    plain = _render(sdxl)
    for text in (A1111_TEXT, FORGE_TEXT):
        assert _render(sdxl, clip_skip=2, source_infotext=text.format(skip=2)) == plain
    assert _render(sdxl, clip_skip=3, source_infotext=A1111_TEXT.format(skip=3)) == plain
    assert _render(sdxl, clip_skip=3) == plain  # no Version: A1111's rule
    assert _render(sdxl, clip_skip=3, source_infotext=FORGE_TEXT.format(skip=3)) != plain
    a1111 = BASE.replace(clip_skip=2)
    note = "Clip skip: 2 is not applied on SDXL: A1111 ignores it there"
    assert any(line.startswith(note) for line in sdxl.render(a1111).warnings)
    assert any(line.startswith(note) for line in conditioning_warnings(a1111, None, Architecture.SDXL))
    forge = a1111.replace(source_infotext=FORGE_TEXT.format(skip=2))
    assert not any("Clip skip" in line for line in conditioning_warnings(forge, None, Architecture.SDXL))


@pytest.mark.parametrize(
    ("architecture", "skip", "text", "layers", "noted"),
    [
        (Architecture.SD1, 2, A1111_TEXT, 1, False),
        (Architecture.SD1, 3, FORGE_TEXT, 2, False),
        (Architecture.SD2, 2, A1111_TEXT, None, True),
        (Architecture.SD2, 2, FORGE_TEXT, 1, False),
        (Architecture.SDXL, 2, A1111_TEXT, None, True),
        (Architecture.SDXL, 1, A1111_TEXT, None, False),
        (Architecture.SDXL, 2, FORGE_TEXT, None, False),
        (Architecture.SDXL, 4, FORGE_TEXT, 2, False),
    ],
)
def test_clip_skip_rules_of_a1111_and_forge(
    architecture: Architecture, skip: int, text: str, layers: int | None, noted: bool
) -> None:
    rule = text_encoder_clip_skip(
        BASE.replace(clip_skip=skip, source_infotext=text.format(skip=skip)), architecture
    )
    assert rule.layers == layers
    assert (rule.note is not None) is noted


def test_engine_module_still_imports_without_torch() -> None:
    import subprocess
    import sys

    code = "import sys, core.render.engine, core.render.conditioning; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])
