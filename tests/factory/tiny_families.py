"""Tiny Flux.1 / Chroma / SD3.5 models with seeded random weights, written in the layouts users store.

Each family's parts (transformer, text encoders, VAE) are real diffusers/transformers classes at widths
of 32-64 (diffusers' own tiny test configs as a guide), so a 64x64 render with 2 steps takes a fraction
of a second on a CPU. ``write_*`` functions save them as a user has them:

- ``full``: one checkpoint, ``model.diffusion_model.*``, ``text_encoders.<slot>.transformer.*``, ``vae.*``;
- ``split``: a diffusion-model-only file, one file per text encoder (``clip_l``...) and ``ae.safetensors``;
- a diffusers folder (``save_pretrained`` with the tokenizers).

The transformer is written with diffusers' tensor names: diffusers' BFL converters assume Flux's real
3072 width, so the BFL layout is checked at real size on meta tensors instead (test_family_keyspaces).
The T5 tokenizer is generated (a small unigram vocabulary) and served by the loopback Hub.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.render.families import QWEN_IMAGE_TOKENIZER, T5_TOKENIZER, Z_IMAGE_TOKENIZER
from core.render.recipe import Recipe
from tests.fakes.hub_api import HubState

T5_VOCAB = 64


def _seeded(module: Any, seed: int) -> Any:
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.2)
    return module.eval()


def tiny_clip(seed: int, hidden: int = 32, projection: bool = False) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=2,
        num_attention_heads=1,
        vocab_size=49408,
        max_position_embeddings=77,
        projection_dim=hidden,
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=1,
    )
    cls = CLIPTextModelWithProjection if projection else CLIPTextModel
    return _seeded(cls(config), seed)


def tiny_t5(seed: int, d_model: int = 32) -> Any:
    """A 2-layer T5 encoder; ``d_model`` 4096 is T5-XXL's width (what identification reads), still tiny:
    its attention and feed-forward stay 32-64 wide."""
    from transformers import T5Config, T5EncoderModel

    config = T5Config(
        d_model=d_model,
        d_ff=64,
        d_kv=16,
        num_layers=2,
        num_heads=2,
        vocab_size=T5_VOCAB,
        feed_forward_proj="gated-gelu",
        relative_attention_num_buckets=32,
        is_encoder_decoder=False,
    )
    return _seeded(T5EncoderModel(config), seed)


def tiny_vae(seed: int) -> Any:
    from diffusers import AutoencoderKL

    vae = AutoencoderKL(
        block_out_channels=(32, 32),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=16,
        layers_per_block=1,
        norm_num_groups=32,
        use_quant_conv=False,
        use_post_quant_conv=False,
        scaling_factor=0.3611,
        shift_factor=0.1159,
    )
    return _seeded(vae, seed)


TEXT_WIDTH = 4096  # T5-XXL's width: the text input width identification recognises Flux.1 and Chroma by


def tiny_flux_transformer(seed: int, *, guidance: bool = True) -> Any:
    from diffusers import FluxTransformer2DModel

    model = FluxTransformer2DModel(
        patch_size=1,
        in_channels=64,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=32,
        num_attention_heads=2,
        joint_attention_dim=TEXT_WIDTH,
        pooled_projection_dim=32,
        guidance_embeds=guidance,
        axes_dims_rope=[4, 14, 14],
    )
    return _seeded(model, seed)


def t5_tokenizer_files() -> dict[str, bytes]:
    """A small T5 (unigram) tokenizer's files, as the Hub folder ``tokenizer_2/`` holds them."""
    import tempfile

    from transformers import T5TokenizerFast

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    words = [
        "a",
        "cat",
        "dog",
        "red",
        "blue",
        "photo",
        "of",
        "the",
        "on",
        "in",
        "tree",
        "house",
        "sky",
        "sun",
        "night",
        "big",
        "small",
    ]
    pieces += [(f"▁{word}", -1.0 - i / 10) for i, word in enumerate(words)]
    pieces += [(chr(c), -5.0) for c in range(ord("a"), ord("z") + 1)]
    pieces += [("▁", -4.0)]
    pieces = pieces[:T5_VOCAB]
    tokenizer = T5TokenizerFast(vocab=pieces, extra_ids=0)
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        return {
            f"{T5_TOKENIZER.subfolder}/{path.name}": path.read_bytes()
            for path in Path(folder).iterdir()
            if path.is_file()
        }


def add_tokenizer_repo(state: HubState) -> None:
    """Serve the tiny T5 and Qwen tokenizers as the repositories the renderer fetches them from."""
    state.add({"id": T5_TOKENIZER.repo, "sha": "1" * 40, "siblings": []}, t5_tokenizer_files())
    state.add({"id": Z_IMAGE_TOKENIZER.repo, "sha": "2" * 40, "siblings": []}, qwen_tokenizer_files())
    state.add({"id": QWEN_IMAGE_TOKENIZER.repo, "sha": "3" * 40, "siblings": []}, qwen_tokenizer_files())


QWEN_VOCAB = 320
# Qwen3's chat template, reduced to what ZImagePipeline uses (one user turn, generation prompt).
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def qwen_tokenizer_files() -> dict[str, bytes]:
    """A small byte-level BPE tokenizer with Qwen's chat tokens and template, as ``tokenizer/`` on the Hub."""
    import tempfile

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=QWEN_VOCAB,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator(["a red cat on a blue house", "a photo of the sky at night"] * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        return {
            f"{Z_IMAGE_TOKENIZER.subfolder}/{path.name}": path.read_bytes()
            for path in Path(folder).iterdir()
            if path.is_file()
        }


def _save(path: Path, tensors: dict[str, Any]) -> Path:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({name: tensor.contiguous() for name, tensor in tensors.items()}, str(path))
    return path


def _prefixed(prefix: str, state: dict[str, Any]) -> dict[str, Any]:
    return {prefix + name: tensor for name, tensor in state.items()}


def _clip_file_state(model: Any) -> dict[str, Any]:
    """A CLIP state dict as ComfyUI's clip_l files name it (``text_model.`` kept or added)."""
    state = model.state_dict()
    return {name if name.startswith(("text_model.", "text_projection")) else f"text_model.{name}": t
            for name, t in state.items()}  # fmt: skip


@dataclass(frozen=True)
class FluxParts:
    transformer: Any
    clip_l: Any
    t5: Any
    vae: Any


def flux_parts(seed: int = 0, *, guidance: bool = True) -> FluxParts:
    transformer = tiny_flux_transformer(seed, guidance=guidance)
    return FluxParts(transformer, tiny_clip(seed + 1), tiny_t5(seed + 2, TEXT_WIDTH), tiny_vae(seed + 3))


def write_flux_full(path: Path, parts: FluxParts) -> Path:
    """One Flux checkpoint with everything inside (ComfyUI's ``flux1-dev-fp8.safetensors`` layout)."""
    tensors = _prefixed("model.diffusion_model.", parts.transformer.state_dict())
    tensors |= _prefixed("text_encoders.clip_l.transformer.", _clip_file_state(parts.clip_l))
    tensors |= _prefixed("text_encoders.t5xxl.transformer.", parts.t5.state_dict())
    tensors |= _prefixed("vae.", parts.vae.state_dict())
    tensors.pop("text_encoders.t5xxl.transformer.encoder.embed_tokens.weight", None)
    return _save(path, tensors)


@dataclass(frozen=True)
class SplitFiles:
    checkpoint: Path
    text_encoders: tuple[Path, ...]
    vae: Path


def write_flux_split(folder: Path, parts: FluxParts, *, fp8: bool = False) -> SplitFiles:
    """A diffusion-model-only file, ``clip_l``/``t5xxl`` files and ``ae.safetensors``.

    ``fp8`` stores the transformer in float8_e4m3fn, as ComfyUI's ``*-fp8`` files do.
    """
    import torch

    transformer = parts.transformer.state_dict()
    if fp8:
        transformer = {name: tensor.to(torch.float8_e4m3fn) for name, tensor in transformer.items()}
    t5 = dict(parts.t5.state_dict())
    t5.pop("encoder.embed_tokens.weight", None)
    return SplitFiles(
        _save(folder / "flux-tiny-transformer.safetensors", transformer),
        (
            _save(folder / "t5xxl_tiny.safetensors", t5),
            _save(folder / "clip_l_tiny.safetensors", _clip_file_state(parts.clip_l)),
        ),
        _save(folder / "ae_tiny.safetensors", parts.vae.state_dict()),
    )


def write_flux_folder(folder: Path, parts: FluxParts, cache_dir: Path) -> Path:
    """The same model as a diffusers folder (tokenizers included, as on the Hub)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline
    from transformers import CLIPTokenizer, T5TokenizerFast

    from core.render.configs import RESOURCES_CONFIG_ROOT
    from core.render.tokenizer import ensure_tokenizers

    root = ensure_tokenizers(RESOURCES_CONFIG_ROOT, cache_dir)
    config = "flux1" if parts.transformer.config.guidance_embeds else "flux1_schnell"
    scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(str(root / config / "scheduler"))
    with_t5 = Path(folder.parent / f".{folder.name}-t5")
    for name, data in t5_tokenizer_files().items():
        target = with_t5 / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    pipe = FluxPipeline(
        scheduler=scheduler,
        vae=parts.vae,
        text_encoder=parts.clip_l,
        tokenizer=CLIPTokenizer.from_pretrained(str(root / config / "tokenizer")),
        text_encoder_2=parts.t5,
        tokenizer_2=T5TokenizerFast.from_pretrained(str(with_t5 / T5_TOKENIZER.subfolder)),
        transformer=parts.transformer,
    )
    pipe.save_pretrained(str(folder))
    return folder


def json_bytes(value: Any) -> bytes:
    buffer = io.StringIO()
    json.dump(value, buffer)
    return buffer.getvalue().encode()


def tiny_chroma_transformer(seed: int) -> Any:
    from diffusers import ChromaTransformer2DModel

    model = ChromaTransformer2DModel(
        patch_size=1,
        in_channels=64,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=32,
        num_attention_heads=2,
        joint_attention_dim=32,
        axes_dims_rope=[4, 14, 14],
        approximator_num_channels=8,
        approximator_hidden_dim=32,
        approximator_layers=1,
    )
    return _seeded(model, seed)


def tiny_sd3_transformer(seed: int) -> Any:
    from diffusers import SD3Transformer2DModel

    model = SD3Transformer2DModel(
        sample_size=32,
        patch_size=1,
        in_channels=16,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_projection_dim=32,
        joint_attention_dim=32,
        pooled_projection_dim=80,  # CLIP-L 32 + CLIP-G 48, pooled and concatenated
        out_channels=16,
        pos_embed_max_size=64,
        qk_norm="rms_norm",
        dual_attention_layers=(0,),
    )
    return _seeded(model, seed)


@dataclass(frozen=True)
class FamilyModel:
    """A tiny model of one family: its transformer, VAE and text encoders by slot name."""

    transformer: Any
    vae: Any
    encoders: dict[str, Any]


def chroma_model(seed: int = 0) -> FamilyModel:
    return FamilyModel(tiny_chroma_transformer(seed), tiny_vae(seed + 3), {"t5xxl": tiny_t5(seed + 2)})


def sd3_model(seed: int = 0) -> FamilyModel:
    encoders = {
        "clip_l": tiny_clip(seed + 1, 32, projection=True),
        "clip_g": tiny_clip(seed + 4, 48, projection=True),
        "t5xxl": tiny_t5(seed + 2),
    }
    return FamilyModel(tiny_sd3_transformer(seed), tiny_vae(seed + 3), encoders)


# ComfyUI's name for an encoder inside a full checkpoint, where it differs from its file's stem.
_CHECKPOINT_NAMES = {"qwen_3_4b": "qwen3_4b", "qwen_2.5_vl_7b": "qwen25_7b"}


def _encoder_state(name: str, model: Any) -> dict[str, Any]:
    if name.startswith("clip"):
        return _clip_file_state(model)
    if name.startswith("qwen_2.5"):  # ComfyUI's qwen_2.5_vl_7b: ``model.layers.*``, ``visual.*``
        return qwen_vl_comfyui_names(model.state_dict())
    if name.startswith("qwen"):  # ComfyUI's qwen_3_4b files keep Qwen3ForCausalLM's ``model.`` prefix
        return _prefixed("model.", model.state_dict())
    state = dict(model.state_dict())
    state.pop("encoder.embed_tokens.weight", None)
    return state


def write_full(path: Path, model: FamilyModel, *, original_names: bool = False) -> Path:
    """A full checkpoint of any family (ComfyUI's prefixes); ``original_names`` writes a Z-Image
    transformer in its original names, as ComfyUI saves it."""
    transformer = dict(model.transformer.state_dict())
    if original_names:
        transformer = z_image_original_names(transformer)
    tensors = _prefixed("model.diffusion_model.", transformer)
    for name, encoder in model.encoders.items():
        stored = _CHECKPOINT_NAMES.get(name, name)
        tensors |= _prefixed(f"text_encoders.{stored}.transformer.", _encoder_state(name, encoder))
    tensors |= _prefixed("vae.", model.vae.state_dict())
    return _save(path, tensors)


def _vae_file_state(vae: Any) -> dict[str, Any]:
    """A separate VAE file as users have it: Qwen-Image's in the Wan 2.1 names of ComfyUI's file."""
    if type(vae).__name__ == "AutoencoderKLQwenImage":
        return qwen_image_vae_wan_names(vae.state_dict())
    return dict(vae.state_dict())


def write_split(folder: Path, model: FamilyModel) -> SplitFiles:
    """A diffusion-model-only file, one file per text encoder (named for its slot) and a VAE file."""
    encoders = tuple(
        _save(folder / f"{name}_tiny.safetensors", _encoder_state(name, encoder))
        for name, encoder in reversed(model.encoders.items())
    )
    return SplitFiles(
        _save(folder / "transformer-tiny.safetensors", model.transformer.state_dict()),
        encoders,
        _save(folder / "vae-tiny.safetensors", _vae_file_state(model.vae)),
    )


def tiny_qwen3(seed: int, hidden: int = 32) -> Any:
    """A 2-layer Qwen3 (Z-Image's text encoder class) with per-head q/k norms, 16-wide heads."""
    from transformers import Qwen3Config, Qwen3Model

    config = Qwen3Config(
        vocab_size=QWEN_VOCAB,
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=1024,
        max_window_layers=2,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},  # Qwen3-4B's, as bundled
    )
    return _seeded(Qwen3Model(config), seed)


def tiny_z_image_transformer(seed: int, caption_width: int = 32) -> Any:
    from diffusers import ZImageTransformer2DModel

    model = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=16,
        dim=32,
        n_layers=1,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        cap_feat_dim=caption_width,
        axes_dims=[4, 6, 6],
        axes_lens=[256, 64, 64],
    )
    return _seeded(model, seed)


def z_image_model(seed: int = 0) -> FamilyModel:
    return FamilyModel(
        tiny_z_image_transformer(seed), tiny_vae(seed + 3), {"qwen_3_4b": tiny_qwen3(seed + 2)}
    )


def z_image_original_names(state: dict[str, Any]) -> dict[str, Any]:
    """A diffusers Z-Image transformer state in the original (ComfyUI) names: fused ``qkv``,
    ``x_embedder``/``final_layer``, ``q_norm``/``k_norm``, ``attention.out`` (what users download)."""
    import torch

    renames = {
        "all_x_embedder.2-1.": "x_embedder.",
        "all_final_layer.2-1.": "final_layer.",
        ".attention.to_out.0.": ".attention.out.",
        ".attention.norm_q.": ".attention.q_norm.",
        ".attention.norm_k.": ".attention.k_norm.",
    }
    original: dict[str, Any] = {}
    for name, tensor in state.items():
        if ".attention.to_k." in name or ".attention.to_v." in name:
            continue
        if ".attention.to_q.weight" in name:
            parts = [state[name.replace("to_q", part)] for part in ("to_q", "to_k", "to_v")]
            original[name.replace("to_q.weight", "qkv.weight")] = torch.cat(parts, dim=0)
            continue
        renamed = name
        for old, new in renames.items():
            renamed = renamed.replace(old, new)
        original[renamed] = tensor
    return original


def write_z_image_folder(folder: Path, model: FamilyModel, cache_dir: Path) -> Path:
    """The same Z-Image model as a diffusers folder (tokenizer included, as on the Hub)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, ZImagePipeline
    from transformers import AutoTokenizer

    from core.render.configs import RESOURCES_CONFIG_ROOT

    scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(
        str(RESOURCES_CONFIG_ROOT / "z_image" / "scheduler")
    )
    tokenizer_dir = cache_dir / "qwen-tokenizer"
    for name, data in qwen_tokenizer_files().items():
        target = tokenizer_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    pipe = ZImagePipeline(
        scheduler=scheduler,
        vae=model.vae,
        text_encoder=model.encoders["qwen_3_4b"],
        tokenizer=AutoTokenizer.from_pretrained(str(tokenizer_dir / Z_IMAGE_TOKENIZER.subfolder)),
        transformer=model.transformer,
    )
    pipe.save_pretrained(str(folder))
    return folder


def tiny_qwen_vl(seed: int, hidden: int = 256) -> Any:
    """A 2-layer Qwen2.5-VL (Qwen-Image's encoder class) with 128-wide heads, as every Qwen2.5 has, and a
    1-block 160-wide vision tower (two 80-wide heads, as the released tower's)."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": QWEN_VOCAB,
            "hidden_size": hidden,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": hidden // 128,
            "num_key_value_heads": 1,
            "max_window_layers": 2,
            "rms_norm_eps": 1e-6,  # Qwen2.5-VL-7B's, as bundled
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1000000.0,
                "mrope_section": [16, 24, 24],
            },
            "bos_token_id": 0,
            "eos_token_id": 2,
        },
        vision_config={
            "depth": 1,
            "hidden_size": 160,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": hidden,
            "fullatt_block_indexes": [0],
        },
        image_token_id=QWEN_VOCAB - 1,
        video_token_id=QWEN_VOCAB - 2,
        vision_start_token_id=QWEN_VOCAB - 3,
        vision_end_token_id=QWEN_VOCAB - 4,
        tie_word_embeddings=False,
    )
    return _seeded(Qwen2_5_VLForConditionalGeneration(config), seed)


def qwen_vl_comfyui_names(state: dict[str, Any]) -> dict[str, Any]:
    """A transformers 5 Qwen2.5-VL state in ComfyUI's names (``model.layers.*``, ``visual.*``)."""
    return {
        name.replace("model.language_model.", "model.", 1).replace("model.visual.", "visual.", 1): tensor
        for name, tensor in state.items()
    }


def tiny_qwen_image_transformer(seed: int, text_width: int = 256) -> Any:
    from diffusers import QwenImageTransformer2DModel

    model = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=64,
        out_channels=16,
        num_layers=1,
        attention_head_dim=32,
        num_attention_heads=2,
        joint_attention_dim=text_width,
        axes_dims_rope=(4, 14, 14),
    )
    return _seeded(model, seed)


def tiny_qwen_image_vae(seed: int) -> Any:
    """Qwen-Image's VAE 8 channels wide (the real one is 96) with the released latents, levels and
    residual blocks (the Wan 2.1 names ComfyUI uses only exist for 2 blocks per level)."""
    from diffusers import AutoencoderKLQwenImage

    from core.render.configs import RESOURCES_CONFIG_ROOT

    config = json.loads((RESOURCES_CONFIG_ROOT / "qwen_image" / "vae" / "config.json").read_text())
    config.update(base_dim=8)
    return _seeded(AutoencoderKLQwenImage.from_config(config), seed)


def qwen_image_model(seed: int = 0) -> FamilyModel:
    return FamilyModel(
        tiny_qwen_image_transformer(seed),
        tiny_qwen_image_vae(seed + 3),
        {"qwen_2.5_vl_7b": tiny_qwen_vl(seed + 2)},
    )


def write_qwen_image_folder(folder: Path, model: FamilyModel, cache_dir: Path) -> Path:
    """The same Qwen-Image model as a diffusers folder (tokenizer included, as on the Hub)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, QwenImagePipeline
    from transformers import AutoTokenizer

    from core.render.configs import RESOURCES_CONFIG_ROOT

    scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(
        str(RESOURCES_CONFIG_ROOT / "qwen_image" / "scheduler")
    )
    tokenizer_dir = cache_dir / "qwen-image-tokenizer"
    for name, data in qwen_tokenizer_files().items():
        target = tokenizer_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    pipe = QwenImagePipeline(
        scheduler=scheduler,
        vae=model.vae,
        text_encoder=model.encoders["qwen_2.5_vl_7b"],
        tokenizer=AutoTokenizer.from_pretrained(str(tokenizer_dir / QWEN_IMAGE_TOKENIZER.subfolder)),
        transformer=model.transformer,
    )
    pipe.save_pretrained(str(folder))
    return folder


_WAN_RESIDUAL = {
    "norm1.": "residual.0.",
    "conv1.": "residual.2.",
    "norm2.": "residual.3.",
    "conv2.": "residual.6.",
}


def _wan_residual(name: str) -> str:
    for new, old in _WAN_RESIDUAL.items():
        if name.startswith(new):
            return old + name[len(new) :]
    return name.replace("conv_shortcut.", "shortcut.", 1)


def qwen_image_vae_wan_names(state: dict[str, Any]) -> dict[str, Any]:
    """A diffusers ``AutoencoderKLQwenImage`` state (2 residual blocks per level, as released) in the
    original Wan 2.1 names ComfyUI's ``qwen_image_vae.safetensors`` uses (``downsamples``, ``middle``,
    ``head``, ``upsamples`` with 3 residual blocks and one resample per level)."""
    import re

    renamed: dict[str, Any] = {}
    for name, tensor in state.items():
        side, _, rest = name.partition(".")
        if side not in ("encoder", "decoder"):
            renamed[{"quant_conv": "conv1", "post_quant_conv": "conv2"}[side] + "." + rest] = tensor
            continue
        if rest.startswith("conv_in."):
            new = "conv1." + rest[len("conv_in.") :]
        elif rest.startswith("norm_out."):
            new = "head.0." + rest[len("norm_out.") :]
        elif rest.startswith("conv_out."):
            new = "head.2." + rest[len("conv_out.") :]
        elif match := re.match(r"mid_block\.resnets\.(\d)\.(.*)", rest):
            new = f"middle.{2 * int(match.group(1))}." + _wan_residual(match.group(2))
        elif match := re.match(r"mid_block\.attentions\.0\.(.*)", rest):
            new = "middle.1." + match.group(1)
        elif match := re.match(r"down_blocks\.(\d+)\.(.*)", rest):
            new = f"downsamples.{match.group(1)}." + _wan_residual(match.group(2))
        elif match := re.match(r"up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", rest):
            new = f"upsamples.{4 * int(match.group(1)) + int(match.group(2))}." + _wan_residual(
                match.group(3)
            )
        elif match := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.(.*)", rest):
            new = f"upsamples.{4 * int(match.group(1)) + 3}." + match.group(2)
        else:
            raise ValueError(f"no Wan name for {name}")
        renamed[f"{side}.{new}"] = tensor
    return renamed


def flow_pixels(engine: Any, cfg: float, **changes: Any) -> Any:
    """The first image of a 2-step 64 px render of a fixed prompt (seed 3, Euler) with ``changes``, as
    int16 pixels, so tests compare layouts and LoRAs of a tiny family on the same recipe."""
    import numpy as np

    recipe = Recipe(
        prompt="a red cat",
        negative_prompt="blue",
        seed=3,
        steps=2,
        width=64,
        height=64,
        cfg=cfg,
        sampler="Euler",
    )
    return np.asarray(engine.render(recipe.replace(**changes)).images[0], dtype=np.int16)
