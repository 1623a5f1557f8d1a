"""LoRAs for Flux.1, Chroma, SD3.5, Qwen-Image and Z-Image in every dialect trainers write merge into
the diffusers transformer exactly.

Each file is written to a real .safetensors file in the dialect's key layout (``tests/factory/
dit_lora_files.py``: kohya ``lora_unet_double_blocks_0_img_attn_qkv``, ai-toolkit/ComfyUI
``diffusion_model.<original>.lora_A``, diffusers/PEFT ``transformer.<module>.lora_A`` with or without
``.default``, OneTrainer ``lora_transformer_``, XLabs ``processor.qkv_lora1``, fal's ``base_model.model.``,
LoHa and LoKr over fused projections) and merged by :class:`LoraPatcher`; every diffusers module must
then hold ``W + multiplier·ΔW`` where ΔW is cut out of the fused layer's product by rows
(``expected_deltas``), and every other weight must be untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from core.render.lora import LoraApplication, LoraMismatchError, LoraPatcher, load_network
from core.render.lora_keys import target_modules
from tests.factory import dit_lora_files as files
from tests.factory.dit_lora_files import FusedLayer
from tests.factory.tiny_pipeline import tiny_sd1_pipeline

FAMILIES = ("flux", "chroma", "sd3", "qwen", "zimage")
Writer = Callable[[list[FusedLayer]], dict[str, torch.Tensor]]


def _lokr(band: int) -> Callable[[list[FusedLayer]], list[FusedLayer]]:
    def make(layers: list[FusedLayer]) -> list[FusedLayer]:
        return files.with_lokr([layer for layer in layers if layer.out_features % band == 0], band)

    return make


def _lokr_unswapped(band: int) -> Callable[[list[FusedLayer]], list[FusedLayer]]:
    def make(layers: list[FusedLayer]) -> list[FusedLayer]:
        return _lokr(band)([layer for layer in layers if not layer.swap])

    return make


def _peft_default(layers: list[FusedLayer]) -> dict[str, torch.Tensor]:
    return files.diffusers_peft(layers, default=True)


# dialect -> (factors, writer)
DIALECTS: dict[str, tuple[Callable[[list[FusedLayer]], list[FusedLayer]], Writer]] = {
    "kohya": (files.with_lora, files.kohya),
    "ai-toolkit/comfy": (files.with_lora, files.comfy),
    "diffusers": (files.with_lora, files.diffusers_peft),
    "peft-default": (files.with_lora, _peft_default),
    "onetrainer": (files.with_lora, files.onetrainer),
    "musubi": (files.with_lora, files.musubi),
    "comfy-dot": (files.with_lora, files.comfy_dot),
    "loha": (files.with_loha, files.kohya),
    "lokr-aligned": (_lokr(4), files.kohya),
    "lycoris-lokr": (_lokr_unswapped(4), files.lycoris_lokr),
}


@pytest.fixture(scope="module")
def pipes() -> dict[str, Any]:
    return {family: files.PIPELINES[family]() for family in FAMILIES}


def _snapshot(pipe: Any) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for component in ("transformer", "text_encoder", "text_encoder_2", "text_encoder_3"):
        module = getattr(pipe, component, None)
        if module is not None:
            out |= {f"{component}.{k}": v.detach().clone() for k, v in module.state_dict().items()}
    return out


def _current(pipe: Any) -> dict[str, torch.Tensor]:
    return _snapshot(pipe)


def _save(tmp_path: Path, tensors: dict[str, torch.Tensor], name: str = "lora") -> Path:
    path = tmp_path / f"{name}.safetensors"
    save_file({k: v.clone().contiguous() for k, v in tensors.items()}, str(path))
    return path


def _apply(pipe: Any, path: Path, unet: float, text: float = 1.0) -> tuple[LoraPatcher, list[str]]:
    patcher = LoraPatcher(pipe, cache_budget_bytes=0)
    warnings = patcher.apply([LoraApplication(load_network(path), unet, text, path.stem)])
    return patcher, warnings


def _check_merged(
    before: dict[str, torch.Tensor],
    after: dict[str, torch.Tensor],
    expected: dict[str, torch.Tensor],
    weight: float,
) -> None:
    wanted = {f"transformer.{path}.weight": delta for path, delta in expected.items()}
    for name, original in before.items():
        if name in wanted:
            torch.testing.assert_close(after[name], original + weight * wanted[name], rtol=0, atol=2e-6)
        else:
            assert torch.equal(after[name], original), f"{name} changed"


@pytest.mark.parametrize("dialect", list(DIALECTS))
@pytest.mark.parametrize("family", FAMILIES)
def test_each_dialect_merges_the_rows_of_the_fused_delta(
    pipes: dict[str, Any], family: str, dialect: str, tmp_path: Path
) -> None:
    pipe = pipes[family]
    make, write = DIALECTS[dialect]
    layers = make(files.LAYERS[family]())
    path = _save(tmp_path, write(layers))
    before = _snapshot(pipe)
    patcher, warnings = _apply(pipe, path, 0.7)
    try:
        assert warnings == []
        _check_merged(before, _current(pipe), files.expected_deltas(layers), 0.7)
    finally:
        patcher.restore()
    assert all(torch.equal(before[k], v) for k, v in _current(pipe).items())


@pytest.mark.parametrize(
    ("family", "writer"),
    [("flux", files.xlabs), ("flux", files.fal_kontext), ("chroma", files.fal_kontext)],
)
def test_flux_only_dialects(pipes: dict[str, Any], family: str, writer: Writer, tmp_path: Path) -> None:
    """XLabs (attention processors of double blocks) and fal's raw PEFT over BFL names."""
    pipe = pipes[family]
    layers = files.with_lora(files.LAYERS[family]())
    tensors = writer(layers)
    kept = (
        [layer for layer in layers if layer.original in files.XLABS_NAMES]
        if writer is files.xlabs
        else layers
    )
    before = _snapshot(pipe)
    patcher, warnings = _apply(pipe, _save(tmp_path, tensors), 1.0)
    try:
        assert warnings == []
        _check_merged(before, _current(pipe), files.expected_deltas(kept), 1.0)
    finally:
        patcher.restore()


@pytest.mark.parametrize("family", ["flux", "sd3", "zimage"])
def test_lokr_whose_bands_straddle_the_split_merges_as_full_rows(
    pipes: dict[str, Any], family: str, tmp_path: Path
) -> None:
    """A LoKr of 3-row bands on a 3·32-row qkv: q/k/v are not whole bands, so each gets its rows of
    the full delta."""
    pipe = pipes[family]
    layers = files.with_lokr([layer for layer in files.LAYERS[family]() if len(layer.targets) == 3], band=3)
    assert layers
    before = _snapshot(pipe)
    patcher, warnings = _apply(pipe, _save(tmp_path, files.kohya(layers)), 0.5)
    try:
        assert warnings == []
        _check_merged(before, _current(pipe), files.expected_deltas(layers), 0.5)
    finally:
        patcher.restore()


@pytest.mark.parametrize("family", FAMILIES)
def test_the_same_lora_in_two_dialects_gives_the_same_weights(
    pipes: dict[str, Any], family: str, tmp_path: Path
) -> None:
    pipe = pipes[family]
    layers = files.with_lora(files.LAYERS[family]())
    results = []
    for name, writer in (("kohya", files.kohya), ("diffusers", files.diffusers_peft), ("comfy", files.comfy)):
        patcher, _ = _apply(pipe, _save(tmp_path, writer(layers), name), 1.0)
        results.append(_current(pipe))
        patcher.restore()
    for other in results[1:]:
        for key, value in results[0].items():
            torch.testing.assert_close(other[key], value, rtol=0, atol=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
def test_weight_zero_off_and_weight_changes_without_reloading(
    pipes: dict[str, Any], family: str, tmp_path: Path
) -> None:
    pipe = pipes[family]
    layers = files.with_lora(files.LAYERS[family]())
    network = load_network(_save(tmp_path, files.kohya(layers)))
    before = _snapshot(pipe)
    expected = files.expected_deltas(layers)
    patcher = LoraPatcher(pipe)
    try:
        for weight in (1.0, 0.25, -0.5):
            patcher.apply([LoraApplication(network, weight, 1.0, "x")])
            _check_merged(before, _current(pipe), expected, weight)
        patcher.apply([LoraApplication(network, 0.0, 0.0, "x")])
        assert all(torch.equal(before[k], v) for k, v in _current(pipe).items())
        patcher.apply([LoraApplication(network, 1.0, 1.0, "x")])
        patcher.apply([])
        assert all(torch.equal(before[k], v) for k, v in _current(pipe).items())
    finally:
        patcher.restore()


def test_flux_text_encoders_take_the_text_encoder_weight(pipes: dict[str, Any], tmp_path: Path) -> None:
    """sd-scripts names Flux's CLIP-L ``lora_te1_`` and T5 ``lora_te3_``; they follow the text-encoder
    multiplier while the transformer follows the model multiplier."""
    pipe = pipes["flux"]
    layers = files.with_lora(files.flux_layers()[:2])
    tensors = files.kohya(layers)
    generator = torch.Generator().manual_seed(5)
    te = {
        "lora_te1_text_model_encoder_layers_0_self_attn_q_proj": (
            "text_encoder",
            "encoder.layers.0.self_attn.q_proj",
            32,
        ),
        "lora_te3_encoder_block_1_layer_0_SelfAttention_q": (
            "text_encoder_2",
            "encoder.block.1.layer.0.SelfAttention.q",
            32,
        ),
    }
    te_deltas = {}
    for name, (component, path, width) in te.items():
        down, up = torch.randn(2, width, generator=generator), torch.randn(width, 2, generator=generator)
        tensors |= {f"{name}.lora_down.weight": down, f"{name}.lora_up.weight": up}
        te_deltas[f"{component}.{path}.weight"] = up @ down
    before = _snapshot(pipe)
    patcher, warnings = _apply(pipe, _save(tmp_path, tensors), 0.5, text=2.0)
    try:
        assert warnings == []
        after = _current(pipe)
        for key, delta in te_deltas.items():
            torch.testing.assert_close(after[key], before[key] + 2.0 * delta, rtol=0, atol=2e-6)
        for path, delta in files.expected_deltas(layers).items():
            key = f"transformer.{path}.weight"
            torch.testing.assert_close(after[key], before[key] + 0.5 * delta, rtol=0, atol=2e-6)
    finally:
        patcher.restore()


def test_sd3_names_its_three_text_encoders_as_kohya_and_comfyui_do(pipes: dict[str, Any]) -> None:
    table = target_modules(pipes["sd3"])
    q = "encoder.layers.0.self_attn.q_proj"
    assert table[f"lora_te1_text_model_{q.replace('.', '_')}"].component == "text_encoder"
    assert table[f"lora_te2_text_model_{q.replace('.', '_')}"].component == "text_encoder_2"
    assert table["lora_te3_encoder_block_0_layer_0_SelfAttention_q"].component == "text_encoder_3"
    assert table[f"text_encoders.clip_g.transformer.text_model.{q}"].component == "text_encoder_2"
    assert (
        table["text_encoders.t5xxl.transformer.encoder.block.0.layer.0.SelfAttention.q"].component
        == "text_encoder_3"
    )


LABELS = {"flux": "Flux.1", "chroma": "Chroma", "sd3": "SD3/SD3.5", "qwen": "Qwen-Image", "zimage": "Z-Image"}
# At these tiny widths only the names speak, and Qwen-Image 2 and Lumina 2 LoRAs carry the same names as
# Qwen-Image's and Z-Image's (core.identify.lora_base.named_architectures): the message names both.
NAMED = {**LABELS, "qwen": "Qwen-Image 2 or Qwen-Image", "zimage": "Z-Image or Lumina Image 2.0"}


@pytest.mark.parametrize(
    ("lora_family", "pipe_family"),
    [
        ("flux", "sd3"),
        ("qwen", "flux"),
        ("sd3", "zimage"),
        ("zimage", "qwen"),
        ("chroma", "qwen"),
        ("sd3", "chroma"),
    ],
)
@pytest.mark.parametrize("writer", [files.kohya, files.diffusers_peft])
def test_a_lora_of_another_family_is_refused_with_both_families_named(
    pipes: dict[str, Any], lora_family: str, pipe_family: str, writer: Writer, tmp_path: Path
) -> None:
    pipe = pipes[pipe_family]
    before = _snapshot(pipe)
    path = _save(tmp_path, writer(files.with_lora(files.LAYERS[lora_family]())))
    wanted = f"made for {NAMED[lora_family]}, and this checkpoint is {LABELS[pipe_family]}"
    with pytest.raises(LoraMismatchError, match=re.escape(wanted)):
        _apply(pipe, path, 1.0)
    assert all(torch.equal(before[k], v) for k, v in _current(pipe).items())


RELEASED = {  # names, a width only that family's released models have, the checkpoint it is put on
    "Qwen-Image": (("transformer_blocks.0.img_mod.1", "transformer_blocks.0.attn.to_q"), 3072, "flux"),
    "Z-Image": (("layers.0.feed_forward.w1", "layers.0.attention.out"), 3840, "qwen"),
}


@pytest.mark.parametrize("made_for", sorted(RELEASED))
def test_a_lora_of_a_released_width_is_refused_naming_the_one_family_the_catalog_identifies(
    pipes: dict[str, Any], made_for: str, tmp_path: Path
) -> None:
    """Names and width together name one family, as the library's scanner does (Qwen-Image 2 reads 4096,
    Lumina 2 2304), so the refusal names only it."""
    names, width, pipe_family = RELEASED[made_for]
    tensors: dict[str, torch.Tensor] = {}
    for name in names:
        tensors[f"diffusion_model.{name}.lora_A.weight"] = torch.zeros(1, width)
        tensors[f"diffusion_model.{name}.lora_B.weight"] = torch.zeros(8, 1)
    wanted = f"made for {made_for}, and this checkpoint is {LABELS[pipe_family]}."
    with pytest.raises(LoraMismatchError, match=re.escape(wanted)):
        _apply(pipes[pipe_family], _save(tmp_path, tensors), 1.0)


def test_sd_and_dit_loras_are_refused_on_each_other(
    pipes: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    sd1 = tiny_sd1_pipeline(tmp_path_factory.mktemp("tokenizers"))
    flux_lora = _save(tmp_path, files.kohya(files.with_lora(files.flux_layers())), "flux")
    with pytest.raises(
        LoraMismatchError, match=re.escape("made for Flux.1, and this checkpoint is Stable Diffusion")
    ):
        _apply(sd1, flux_lora, 1.0)
    sd_name = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    sd_lora = _save(
        tmp_path,
        {f"{sd_name}.lora_down.weight": torch.zeros(2, 32), f"{sd_name}.lora_up.weight": torch.zeros(32, 2)},
        "sd",
    )
    with pytest.raises(
        LoraMismatchError, match=re.escape("made for Stable Diffusion (SD1/SD2/SDXL), and this")
    ):
        _apply(pipes["flux"], sd_lora, 1.0)


def test_flux_and_chroma_loras_go_on_each_other_with_the_missing_layers_named(
    pipes: dict[str, Any], tmp_path: Path
) -> None:
    """Chroma is Flux.1's blocks without the modulation linears: ComfyUI and Forge apply either's
    LoRAs to the other, and so does Atelier, saying which layers it skipped."""
    path = _save(tmp_path, files.kohya(files.with_lora(files.flux_layers())))
    patcher, warnings = _apply(pipes["chroma"], path, 1.0)
    patcher.restore()
    assert len(warnings) == 1
    assert "4 of 20 layers do not exist in this checkpoint" in warnings[0]


def test_unknown_layers_beside_known_ones_are_named_in_a_warning(
    pipes: dict[str, Any], tmp_path: Path
) -> None:
    layers = files.with_lora(files.flux_layers()[:1])
    tensors = files.kohya(layers)
    tensors |= {
        "lora_unet_double_blocks_7_img_attn_proj.lora_down.weight": torch.zeros(2, 32),
        "lora_unet_double_blocks_7_img_attn_proj.lora_up.weight": torch.zeros(32, 2),
    }
    patcher, warnings = _apply(pipes["flux"], _save(tmp_path, tensors), 1.0)
    patcher.restore()
    assert len(warnings) == 1
    assert "1 of 4 layers do not exist" in warnings[0]
    assert "transformer_blocks.7.attn.to_out.0" in warnings[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_loras_run_beside_the_transformer_layers_as_they_merge(
    pipes: dict[str, Any], family: str, tmp_path: Path
) -> None:
    """With LoRAs run unfused (a forward hook per layer instead of a merge), every split module's output
    equals its layer with the fused rows merged; the weights themselves stay untouched."""
    pipe = pipes[family]
    layers = files.with_lora(files.LAYERS[family]())
    network = load_network(_save(tmp_path, files.kohya(layers)))
    before = _snapshot(pipe)
    patcher = LoraPatcher(pipe, unfused=True)
    try:
        patcher.apply([LoraApplication(network, 0.6, 1.0, "x")])
        assert patcher.unfused_layers == sum(len(layer.targets) for layer in layers)
        assert all(torch.equal(before[k], v) for k, v in _current(pipe).items())
        generator = torch.Generator().manual_seed(9)
        for path, delta in files.expected_deltas(layers).items():
            module = pipe.transformer.get_submodule(path)
            x = torch.randn(3, module.in_features, generator=generator)
            wanted = torch.nn.functional.linear(x, module.weight + 0.6 * delta, module.bias)
            torch.testing.assert_close(module(x), wanted, rtol=0, atol=1e-5)
    finally:
        patcher.restore()


def test_a_flux_control_lora_says_which_layer_does_not_fit(pipes: dict[str, Any], tmp_path: Path) -> None:
    """BFL's Canny/Depth LoRAs widen ``img_in`` for the control image (and replace the qk-norm scales):
    on a plain Flux.1 checkpoint the message names the layer, not a wrong family."""
    layers = files.with_lora(files.flux_layers()[:1])
    tensors = {key.removeprefix("diffusion_model."): value for key, value in files.comfy(layers).items()}
    tensors |= {
        "img_in.lora_A.weight": torch.zeros(2, 8),  # 2 × the checkpoint's 4 latent channels
        "img_in.lora_B.weight": torch.zeros(32, 2),
        "double_blocks.0.img_attn.norm.query_norm.scale": torch.ones(16),
    }
    with pytest.raises(LoraMismatchError) as error:
        _apply(pipes["flux"], _save(tmp_path, tensors), 1.0)
    message = str(error.value)
    assert "Layer 'transformer.x_embedder' is (32, 4) here" in message
    assert "made for" not in message
    assert "unknown" not in message


def test_dora_splits_by_rows_when_its_magnitude_is_per_row(pipes: dict[str, Any], tmp_path: Path) -> None:
    """A per-output-row DoRA magnitude (PEFT ``lora_magnitude_vector``, LyCORIS ``wd_on_out``) on a
    fused qkv is row by row, so q, k and v each get (W + ΔW)·m/‖W + ΔW‖ of their rows; a per-input
    one (kohya ``dora_scale`` (1, in)) normalises across the fused rows, so that layer is skipped and
    said so."""
    pipe = pipes["flux"]
    qkv, proj = files.with_lora(files.flux_layers()[:1] + files.flux_layers()[2:3])
    generator = torch.Generator().manual_seed(4)
    magnitude = torch.rand(3 * files.H, generator=generator) + 0.5
    tensors = files.comfy([qkv]) | {
        "diffusion_model.double_blocks.0.img_attn.qkv.lora_magnitude_vector": magnitude
    }
    before = _snapshot(pipe)
    patcher, warnings = _apply(pipe, _save(tmp_path, tensors, "row"), 1.0)
    try:
        assert warnings == []
        after = _current(pipe)
        delta = files.fused_delta(qkv)
        for target in qkv.targets:
            assert target.rows is not None
            start, end = target.rows
            key = f"transformer.{target.path}.weight"
            merged = before[key] + delta[start:end]
            wanted = merged * (magnitude[start:end] / merged.norm(dim=1))[:, None]
            torch.testing.assert_close(after[key], wanted, rtol=0, atol=2e-6)
    finally:
        patcher.restore()

    column = files.kohya([qkv, proj])
    column |= {
        "lora_unet_double_blocks_0_img_attn_qkv.dora_scale": torch.rand(1, files.H, generator=generator)
        + 0.5,
        "lora_unet_double_blocks_0_img_attn_proj.dora_scale": torch.rand(1, files.H, generator=generator)
        + 0.5,
    }
    patcher, warnings = _apply(pipe, _save(tmp_path, column, "column"), 1.0)
    patcher.restore()
    assert len(warnings) == 1
    assert "1 of 2 layers do not exist" in warnings[0]
    assert "double_blocks_0_img_attn_qkv" in warnings[0]
