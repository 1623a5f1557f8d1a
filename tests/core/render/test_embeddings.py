"""Textual-inversion embeddings on the tiny SD1/SDXL pipelines (text encoders 32 wide).

Files are written in each real layout with random width-32 vectors. Prompt embeddings are compared with
an independent computation: the *original* text encoder run on the prompt with a stand-in word where the
embedding's name was, and a forward hook on its token-embedding module that puts the embedding vectors
at those positions (what A1111 does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from core.render.embeddings import (
    CLIP_G,
    CLIP_L,
    EmbeddingFile,
    EmbeddingFormatError,
    EmbeddingManager,
    EmbeddingMismatchError,
    load_embedding,
)
from core.render.engine import with_embedding_tokens
from core.render.prompt_syntax import find_embedding_tokens
from core.render.recipe import AssetRef, EmbeddingUse, Recipe
from tests.factory.files import save_torch, write_a1111_embedding, write_malicious_torch
from tests.factory.models import emb_params_embedding, sdxl_embedding
from tests.factory.safetensors_writer import write_safetensors
from tests.factory.tiny_pipeline import tiny_sd1_pipeline, tiny_sdxl_pipeline

WIDTH = 32
FILLER = "zebra"  # a one-token word the test prompts do not otherwise use


def _vectors(count: int, seed: int) -> torch.Tensor:
    return torch.randn(count, WIDTH, generator=torch.Generator().manual_seed(seed))


def _a1111(path: Path, vectors: torch.Tensor, *, legacy: bool = False) -> Path:
    data = {
        "string_to_token": {"*": 265},
        "string_to_param": {"*": vectors},
        "name": "name-inside-the-file",
        "step": 1500,
        "sd_checkpoint": "7460a6fa",
        "sd_checkpoint_name": "v1-5-pruned-emaonly",
    }
    return save_torch(path, data, legacy=legacy)


def _sd1_file(folder: Path, name: str, count: int, seed: int) -> EmbeddingFile:
    path = folder / f"{name}.safetensors"
    save_file({"emb_params": _vectors(count, seed)}, str(path))
    return load_embedding(path)


def _sdxl_file(folder: Path, name: str, count: int, seed: int) -> EmbeddingFile:
    path = folder / f"{name}.safetensors"
    save_file({CLIP_L: _vectors(count, seed), CLIP_G: _vectors(count, seed + 100)}, str(path))
    return load_embedding(path)


# -------------------------------------------------------------------------------------------- pipelines


def _legacy_eos(pipe: Any) -> Any:
    """Real SD/SDXL text-encoder configs carry eos_token_id 2 (pooling at argmax of the ids); so do ours."""
    for attr in ("text_encoder", "text_encoder_2"):
        encoder = getattr(pipe, attr, None)
        if encoder is not None:
            for module in encoder.modules():
                if "eos_token_id" in module.__dict__:
                    module.eos_token_id = 2
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def tokenizer_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tokenizers")


@pytest.fixture(scope="module")
def sd1_pipe(tokenizer_cache: Path) -> Any:
    return _legacy_eos(tiny_sd1_pipeline(tokenizer_cache))


@pytest.fixture(scope="module")
def sdxl_pipe(tokenizer_cache: Path) -> Any:
    return _legacy_eos(tiny_sdxl_pipeline(tokenizer_cache))


@pytest.fixture
def sd1(sd1_pipe: Any) -> Iterator[EmbeddingManager]:
    manager = EmbeddingManager(sd1_pipe)
    yield manager
    manager.clear()


@pytest.fixture
def sdxl(sdxl_pipe: Any) -> Iterator[EmbeddingManager]:
    manager = EmbeddingManager(sdxl_pipe)
    yield manager
    manager.clear()


def _render(pipe: Any, prompt: str, negative: str = "", output_type: str = "np") -> np.ndarray:
    """One seeded 1-step 64x64 render (``output_type="latent"`` skips the VAE where pixels add nothing)."""
    generator = torch.Generator().manual_seed(7)
    result = pipe(
        prompt=prompt,
        negative_prompt=negative,
        num_inference_steps=1,
        height=64,
        width=64,
        generator=generator,
        output_type=output_type,
    )
    images = result.images
    return images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)


# ---------------------------------------------------------------------- the independent computation


def _expected(encoder: Any, tokenizer: Any, prompt: str, uses: dict[str, torch.Tensor]) -> Any:
    """``encoder`` on ``prompt`` as A1111 conditions it: each used name's vectors where the name stands.

    Run on the pipeline's *original* tokenizer and encoder (before apply or after clear): every name is
    spelled as one filler word per vector, and a forward hook on the token-embedding module overwrites
    the filler positions with the vectors, in prompt order.
    """
    rows: list[torch.Tensor] = []

    def spell(match: re.Match[str]) -> str:
        vectors = uses[match.group(0)]
        rows.extend(vectors)
        return " ".join([FILLER] * vectors.shape[0])

    names = "|".join(re.escape(name) for name in sorted(uses, key=len, reverse=True))
    text = re.sub(r"(?<![\w\-])(?:" + names + r")(?![\w\-])", spell, prompt) if uses else prompt
    ids = tokenizer(text, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    filler = tokenizer.convert_tokens_to_ids(f"{FILLER}</w>")
    positions = [index for index, token in enumerate(ids[0].tolist()) if token == filler]
    assert len(positions) == len(rows)

    def substitute(module: Any, args: Any, output: torch.Tensor) -> torch.Tensor:
        output = output.clone()
        for position, row in zip(positions, rows, strict=True):
            output[0, position] = row
        return output

    handle = encoder.get_input_embeddings().register_forward_hook(substitute)
    try:
        with torch.no_grad():
            return encoder(ids, output_hidden_states=True)
    finally:
        handle.remove()


def _sd1_expected(pipe: Any, prompt: str, uses: dict[str, torch.Tensor]) -> torch.Tensor:
    return _expected(pipe.text_encoder, pipe.tokenizer, prompt, uses).last_hidden_state


# ------------------------------------------------------------------------------------------- loading


def test_each_layout_loads_with_the_file_name_as_token(tmp_path: Path) -> None:
    three, one = _vectors(3, 1), _vectors(1, 2)
    cases = {
        "a1111": (_a1111(tmp_path / "style-a.pt", three), three),
        "a1111 legacy .bin": (_a1111(tmp_path / "style-b.bin", three, legacy=True), three),
        "emb_params": (tmp_path / "style-c.safetensors", three),
        "diffusers 1-D": (save_torch(tmp_path / "learned_embeds.bin", {"<cat-toy>": one[0]}), one),
        "diffusers 2-D": (tmp_path / "toy.safetensors", three),
        "flattened a1111": (tmp_path / "flat.safetensors", three),
    }
    save_file({"emb_params": three}, str(tmp_path / "style-c.safetensors"))
    save_file({"<toy>": three}, str(tmp_path / "toy.safetensors"))
    save_file({"string_to_param.*": three}, str(tmp_path / "flat.safetensors"))
    layouts = {}
    for label, (path, expected) in cases.items():
        embedding = load_embedding(path)
        assert embedding.name == path.stem, label
        assert list(embedding.vectors) == [CLIP_L], label
        assert torch.equal(embedding.vectors[CLIP_L], expected), label
        assert embedding.vector_count == expected.shape[0]
        layouts[label] = embedding.layout
    assert layouts["a1111"] == "a1111"
    assert layouts["emb_params"] == "emb_params"
    assert layouts["diffusers 1-D"] == "diffusers"


def test_old_a1111_parameter_dict_and_real_size_headers(tmp_path: Path) -> None:
    old = load_embedding(write_a1111_embedding(tmp_path / "old.pt", dim=768, vectors=4, parameter_dict=True))
    assert old.widths == {CLIP_L: 768}
    assert old.family == "SD1"
    assert old.vector_count == 4
    sd2 = load_embedding(write_safetensors(tmp_path / "sd2.safetensors", emb_params_embedding(1024).specs))
    assert sd2.family == "SD2"
    xl = load_embedding(write_safetensors(tmp_path / "xl.safetensors", sdxl_embedding(vectors=3).specs))
    assert xl.widths == {CLIP_L: 768, CLIP_G: 1280}
    assert xl.family == "SDXL"
    assert xl.vectors[CLIP_G].dtype == torch.float32  # stored F16, used as float32


def test_sdxl_file_keeps_both_vector_sets(tmp_path: Path) -> None:
    embedding = _sdxl_file(tmp_path, "xl-style", 2, seed=3)
    assert embedding.name == "xl-style"
    assert embedding.layout == "sdxl"
    assert torch.equal(embedding.vectors[CLIP_L], _vectors(2, 3))
    assert torch.equal(embedding.vectors[CLIP_G], _vectors(2, 103))


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        ("garbage.pt", b"this is not a torch file" * 4, "not a readable torch file"),
        ("garbage.safetensors", b"\x10\x00\x00", "not a readable safetensors file"),
        ("picture.png", b"\x89PNG", "not an embedding file type"),
    ],
)
def test_corrupt_files_are_refused_with_a_reason(
    tmp_path: Path, file_name: str, content: bytes, message: str
) -> None:
    path = tmp_path / file_name
    path.write_bytes(content)
    with pytest.raises(EmbeddingFormatError, match=message):
        load_embedding(path)


def test_truncated_safetensors_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.safetensors"
    save_file({"emb_params": _vectors(2, 0)}, str(path))
    path.write_bytes(path.read_bytes()[:-9])
    with pytest.raises(EmbeddingFormatError, match=r"cut\.safetensors"):
        load_embedding(path)


def test_pickle_with_code_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = write_malicious_torch(tmp_path / "evil.pt", marker)
    with pytest.raises(EmbeddingFormatError, match=r"refused.*exec"):
        load_embedding(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        ({"lora_unet_a.lora_down.weight": torch.zeros(2, 2), "b": torch.zeros(2)}, "not a textual-inversion"),
        ({CLIP_L: torch.zeros(2, 768)}, "needs both"),
        ({CLIP_L: torch.zeros(2, 768), CLIP_G: torch.zeros(3, 1280)}, "must pair up"),
        ({"emb_params": torch.zeros(2, 3, 4)}, "expected \\[vectors, width\\]"),
        ({"emb_params": torch.zeros(2, 8, dtype=torch.int32)}, "not floating point"),
        ({"emb_params": torch.full((1, 4), float("nan"))}, "NaN"),
    ],
)
def test_unknown_or_broken_layouts_are_refused(tmp_path: Path, tensors: dict[str, Any], message: str) -> None:
    path = tmp_path / "odd.safetensors"
    save_file(tensors, str(path))
    with pytest.raises(EmbeddingFormatError, match=message):
        load_embedding(path)


# -------------------------------------------------------------------------------------------- SD1


@pytest.mark.slow
def test_sd1_prompt_embeds_equal_the_vectors_substituted(sd1: EmbeddingManager, tmp_path: Path) -> None:
    pipe = sd1.pipeline
    embedding = load_embedding(_a1111(tmp_path / "my-style.pt", _vectors(3, 11)))
    uses = {"my-style": embedding.vectors[CLIP_L]}
    prompt, negative = "a photo in my-style, detailed", "blurry, my-style"
    expected = _sd1_expected(pipe, prompt, uses)
    expected_negative = _sd1_expected(pipe, negative, uses)
    plain = _sd1_expected(pipe, prompt, {})

    assert sd1.apply([("my-style", embedding)]) == []
    embeds, negative_embeds = pipe.encode_prompt(prompt, "cpu", 1, True, negative)

    torch.testing.assert_close(embeds, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(negative_embeds, expected_negative, rtol=0, atol=1e-5)
    assert not torch.allclose(embeds, plain, atol=1e-3)  # the name alone would read as plain words


@pytest.mark.slow
def test_token_in_prompt_and_in_negative_prompt_changes_the_render(
    sd1: EmbeddingManager, tmp_path: Path
) -> None:
    pipe = sd1.pipeline
    plain_positive = _render(pipe, "a castle, my-style", output_type="latent")
    plain_negative = _render(pipe, "a castle", negative="my-style", output_type="latent")
    sd1.apply([("my-style", _sd1_file(tmp_path, "my-style", 2, seed=5))])
    assert not np.array_equal(_render(pipe, "a castle, my-style", output_type="latent"), plain_positive)
    assert not np.array_equal(
        _render(pipe, "a castle", negative="my-style", output_type="latent"), plain_negative
    )


@pytest.mark.slow
def test_apply_then_clear_restores_the_pipeline_exactly(sd1: EmbeddingManager, tmp_path: Path) -> None:
    pipe = sd1.pipeline
    tokenizer, embedding_module = pipe.tokenizer, pipe.text_encoder.get_input_embeddings()
    weights = embedding_module.weight.detach().clone()
    size = len(tokenizer)
    render = _render(pipe, "a cat, my-style")

    sd1.apply([("my-style", _sd1_file(tmp_path, "my-style", 4, seed=1))])
    assert len(pipe.tokenizer) == size + 4
    assert pipe.text_encoder.get_input_embeddings().weight.shape[0] == weights.shape[0] + 4
    assert sd1.expand_prompt("a cat, my-style") != "a cat, my-style"
    sd1.clear()

    assert pipe.tokenizer is tokenizer
    assert len(pipe.tokenizer) == size
    assert pipe.text_encoder.get_input_embeddings() is embedding_module
    assert torch.equal(embedding_module.weight, weights)
    assert pipe.text_encoder.eos_token_id == 2  # the config's value is back
    assert "maybe_convert_prompt" not in pipe.__dict__
    assert _render(pipe, "a cat, my-style").tobytes() == render.tobytes()


@pytest.mark.slow
def test_empty_apply_is_clear(sd1: EmbeddingManager, tmp_path: Path) -> None:
    pipe = sd1.pipeline
    tokenizer = pipe.tokenizer
    sd1.apply([("aa", _sd1_file(tmp_path, "aa", 1, seed=1))])
    assert sd1.apply([]) == []
    assert pipe.tokenizer is tokenizer
    assert sd1.active == ()


@pytest.mark.slow
def test_reapply_swaps_the_set_without_reload(sd1: EmbeddingManager, tmp_path: Path) -> None:
    pipe = sd1.pipeline
    aa, bb, cc = (_sd1_file(tmp_path, name, 2, seed) for seed, name in enumerate(("aa", "bb", "cc")))
    prompt = "cc and aa, bb"
    expected = _sd1_expected(pipe, prompt, {"aa": aa.vectors[CLIP_L], "cc": cc.vectors[CLIP_L]})

    sd1.apply([("aa", aa), ("bb", bb)])
    aa_tokens = sd1.expand_prompt("aa")
    size = len(pipe.tokenizer)
    sd1.apply([("aa", aa), ("cc", cc)])

    assert sd1.active == ("aa", "cc")
    assert sd1.expand_prompt("aa") == aa_tokens  # unchanged: same token ids
    assert sd1.expand_prompt("bb") == "bb"  # removed: plain text again
    assert len(pipe.tokenizer) == size  # bb's slots were reused for cc
    embeds, _ = pipe.encode_prompt(prompt, "cpu", 1, False)
    torch.testing.assert_close(embeds, expected, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_changed_file_under_the_same_name_is_reloaded(sd1: EmbeddingManager, tmp_path: Path) -> None:
    pipe = sd1.pipeline
    (tmp_path / "new").mkdir()
    old, new = _sd1_file(tmp_path, "v1", 2, seed=1), _sd1_file(tmp_path / "new", "v1", 2, seed=2)
    expected = _sd1_expected(pipe, "a v1", {"v1": new.vectors[CLIP_L]})
    sd1.apply([("v1", old)])
    sd1.apply([("v1", new)])
    embeds, _ = pipe.encode_prompt("a v1", "cpu", 1, False)
    torch.testing.assert_close(embeds, expected, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_embedding_named_like_a_vocabulary_word_wins(sd1: EmbeddingManager, tmp_path: Path) -> None:
    """A1111 finds embedding names before the words reach CLIP, so a file called ``cat`` replaces "cat"."""
    pipe = sd1.pipeline
    cat = _sd1_file(tmp_path, "cat", 2, seed=9)
    prompt = "a cat on a catalog, cat-like"
    expected = _sd1_expected(pipe, prompt, {"cat": cat.vectors[CLIP_L]})
    untouched_row = (
        pipe.text_encoder.get_input_embeddings().weight[pipe.tokenizer.convert_tokens_to_ids("cat")].clone()
    )

    warnings = sd1.apply([("cat", cat)])

    assert any("a word CLIP knows" in warning for warning in warnings)
    embeds, _ = pipe.encode_prompt(prompt, "cpu", 1, False)
    torch.testing.assert_close(embeds, expected, rtol=0, atol=1e-5)
    weight = pipe.text_encoder.get_input_embeddings().weight
    assert torch.equal(weight[pipe.tokenizer.convert_tokens_to_ids("cat")], untouched_row)


@pytest.mark.slow
def test_a_name_in_another_case_is_the_embedding_as_in_a1111(sd1: EmbeddingManager, tmp_path: Path) -> None:
    """``EasyNegative`` in a prompt is the file ``easynegative.pt`` (CLIP lowercases before A1111 compares
    token ids): the same vectors as the name written as the file has it, and nothing appended twice."""
    pipe = sd1.pipeline
    easy = _sd1_file(tmp_path, "easynegative", 2, seed=4)
    sd1.apply([("easynegative", easy)])
    assert sd1.expand_prompt("EasyNegative, ugly") == sd1.expand_prompt("easynegative, ugly")
    assert sd1.expand_prompt("EasyNegative, ugly") != "EasyNegative, ugly"
    assert find_embedding_tokens("EasyNegative, ugly", ["easynegative"]) == ("easynegative",)
    upper, _ = pipe.encode_prompt("a fox, EASYNEGATIVE", "cpu", 1, False)
    lower, _ = pipe.encode_prompt("a fox, easynegative", "cpu", 1, False)
    torch.testing.assert_close(upper, lower, rtol=0, atol=0)
    recipe = Recipe(prompt="a fox", negative_prompt="EasyNegative, ugly").replace(
        embeddings=(
            EmbeddingUse(
                AssetRef("easynegative", path=str(tmp_path / "easynegative.safetensors")), negative=True
            ),
        )
    )
    assert with_embedding_tokens(recipe).negative_prompt == "EasyNegative, ugly"  # found: not appended again


@pytest.mark.parametrize(
    "prompt",
    [
        "style, bad-hands-5",
        "lifestyle, bad-hands-50, my emb",
        "(style:1.2), my embroidery",
        "STYLE bad-hands-5-x, xstyle my emb",
    ],
)
def test_names_match_like_find_embedding_tokens(sd1: EmbeddingManager, tmp_path: Path, prompt: str) -> None:
    names = ("style", "bad-hands-5", "my emb")
    sd1.apply([(name, _sd1_file(tmp_path, f"e{index}", 1, index)) for index, name in enumerate(names)])
    expanded = sd1.expand_prompt(prompt)
    replaced = {name for name in names if sd1.expand_prompt(name) in expanded}
    assert replaced == set(find_embedding_tokens(prompt, names))


@pytest.mark.slow
def test_width_mismatch_is_refused_and_leaves_the_set_alone(sd1: EmbeddingManager, tmp_path: Path) -> None:
    good = _sd1_file(tmp_path, "good", 1, seed=1)
    sd1.apply([("good", good)])
    real_sd1 = load_embedding(
        write_safetensors(tmp_path / "real.safetensors", emb_params_embedding(768).specs)
    )
    real_xl = load_embedding(write_safetensors(tmp_path / "xl.safetensors", sdxl_embedding().specs))

    with pytest.raises(EmbeddingMismatchError) as caught:
        sd1.apply([("good", good), ("real", real_sd1)])
    assert str(caught.value) == (
        "embedding 'real' is for SD1 (768-wide); this checkpoint's text encoder is 32-wide"
    )
    with pytest.raises(EmbeddingMismatchError, match=r"'xl' is for SDXL \(clip_l 768 \+ clip_g 1280 wide\)"):
        sd1.apply([("xl", real_xl)])
    assert sd1.active == ("good",)
    assert sd1.expand_prompt("good") != "good"


# ------------------------------------------------------------------------------------------- SDXL


@pytest.mark.slow
def test_sdxl_uses_clip_l_and_clip_g_vectors(sdxl: EmbeddingManager, tmp_path: Path) -> None:
    pipe = sdxl.pipeline
    embedding = _sdxl_file(tmp_path, "xl-style", 2, seed=21)
    prompt, negative = "a tower, xl-style", "xl-style"
    first = _expected(pipe.text_encoder, pipe.tokenizer, prompt, {"xl-style": embedding.vectors[CLIP_L]})
    second = _expected(pipe.text_encoder_2, pipe.tokenizer_2, prompt, {"xl-style": embedding.vectors[CLIP_G]})
    negative_second = _expected(
        pipe.text_encoder_2, pipe.tokenizer_2, negative, {"xl-style": embedding.vectors[CLIP_G]}
    )
    before = _render(pipe, prompt, output_type="latent")

    assert sdxl.apply([("xl-style", embedding)]) == []
    embeds, negative_embeds, pooled, negative_pooled = pipe.encode_prompt(
        prompt, device="cpu", do_classifier_free_guidance=True, negative_prompt=negative
    )

    expected = torch.cat([first.hidden_states[-2], second.hidden_states[-2]], dim=-1)
    torch.testing.assert_close(embeds, expected, rtol=0, atol=1e-5)
    # Pooled at the EOS token although the placeholders' ids are larger (legacy eos_token_id 2 config).
    torch.testing.assert_close(pooled, second.text_embeds, rtol=0, atol=1e-5)
    torch.testing.assert_close(negative_pooled, negative_second.text_embeds, rtol=0, atol=1e-5)
    torch.testing.assert_close(
        negative_embeds[..., WIDTH:], negative_second.hidden_states[-2], rtol=0, atol=1e-5
    )
    assert not np.array_equal(_render(pipe, prompt, output_type="latent"), before)


@pytest.mark.slow
def test_sdxl_refuses_single_encoder_embeddings(sdxl: EmbeddingManager, tmp_path: Path) -> None:
    with pytest.raises(EmbeddingMismatchError) as caught:
        sdxl.apply([("sd1-style", _sd1_file(tmp_path, "sd1-style", 1, seed=1))])
    assert str(caught.value) == (
        "embedding 'sd1-style' is for a single text encoder (32-wide); this checkpoint's text encoders "
        "are clip_l 32 + clip_g 32 wide"
    )
    assert "maybe_convert_prompt" not in sdxl.pipeline.__dict__
