"""LoRAs of the vocabulary table's families, in each dialect trainers write, as header specs.

Each family is a handful of its real modules (original names and in/out widths of the released model,
from ARCHITECTURES.md section 4b and diffusers' LoRA converters); a dialect spells them: kohya/musubi
(``lora_unet_`` + underscores, ``lora_down``/``lora_up``/``alpha``), ai-toolkit/ComfyUI
(``diffusion_model.`` + ``lora_A``/``lora_B``), raw PEFT (``base_model.model.``), OneTrainer
(``lora_transformer_``) and LyCORIS LoKr (``lycoris_`` + ``lokr_w1``/``lokr_w2``).
"""

from __future__ import annotations

from tests.factory.models import ModelCase
from tests.factory.safetensors_writer import TensorSpec

Module = tuple[str, int, int]  # original name, in-features, out-features


def _blocks(template: tuple[tuple[str, int, int], ...], indices: tuple[int, ...]) -> tuple[Module, ...]:
    return tuple((name.format(i=i), fan_in, fan_out) for i in indices for name, fan_in, fan_out in template)


FAMILY_MODULES: dict[str, tuple[Module, ...]] = {
    "qwen_image": _blocks(
        (
            ("transformer_blocks.{i}.attn.to_q", 3072, 3072),
            ("transformer_blocks.{i}.attn.add_q_proj", 3072, 3072),
            ("transformer_blocks.{i}.img_mod.1", 3072, 18432),
            ("transformer_blocks.{i}.img_mlp.net.0.proj", 3072, 12288),
            ("transformer_blocks.{i}.txt_mlp.net.2", 12288, 3072),
        ),
        (0, 59),
    ),
    "qwen_image_2": _blocks(
        (
            ("transformer_blocks.{i}.attn.to_q", 4096, 4096),
            ("transformer_blocks.{i}.img_mod.1", 4096, 24576),
            ("transformer_blocks.{i}.img_mlp.net.0.proj", 4096, 16384),
        ),
        (0, 31),
    ),
    "z_image": (
        *_blocks(
            (
                ("layers.{i}.attention.qkv", 3840, 11520),
                ("layers.{i}.attention.out", 3840, 3840),
                ("layers.{i}.feed_forward.w1", 3840, 10240),
            ),
            (0, 29),
        ),
        ("noise_refiner.0.attention.qkv", 3840, 11520),
        ("context_refiner.1.attention.qkv", 3840, 11520),
    ),
    "lumina2": _blocks(
        (
            ("layers.{i}.attention.qkv", 2304, 6912),
            ("layers.{i}.attention.out", 2304, 2304),
            ("layers.{i}.feed_forward.w1", 2304, 6144),
        ),
        (0, 25),
    ),
    "krea2": _blocks(
        (
            ("blocks.{i}.attn.wq", 6144, 6144),
            ("blocks.{i}.attn.wk", 6144, 1536),
            ("blocks.{i}.attn.wo", 6144, 6144),
        ),
        (0, 27),
    ),
    "anima": _blocks(
        (
            ("blocks.{i}.self_attn.q_proj", 2048, 2048),
            ("blocks.{i}.self_attn.output_proj", 2048, 2048),
            ("blocks.{i}.cross_attn.q_proj", 2048, 2048),
            ("blocks.{i}.cross_attn.k_proj", 1024, 2048),
            ("blocks.{i}.mlp.layer1", 2048, 8192),
        ),
        (0, 27),
    ),
    "cosmos": _blocks(
        (
            ("blocks.{i}.self_attn.q_proj", 5120, 5120),
            ("blocks.{i}.self_attn.output_proj", 5120, 5120),
            ("blocks.{i}.mlp.layer1", 5120, 20480),
        ),
        (0, 35),
    ),
    "hidream": _blocks(
        (
            ("double_stream_blocks.{i}.block.attn1.to_q", 2560, 2560),
            ("double_stream_blocks.{i}.block.attn1.to_k", 2560, 2560),
            ("single_stream_blocks.{i}.block.attn1.to_q", 2560, 2560),
        ),
        (0, 15),
    ),
    "auraflow": _blocks(
        (
            ("double_layers.{i}.attn.w1q", 3072, 3072),
            ("double_layers.{i}.attn.w2q", 3072, 3072),
            ("single_layers.{i}.attn.w1q", 3072, 3072),
        ),
        (0, 3),
    ),
    "wan": _blocks(
        (
            ("blocks.{i}.self_attn.q", 5120, 5120),
            ("blocks.{i}.cross_attn.k", 5120, 5120),
            ("blocks.{i}.ffn.0", 5120, 13824),
            ("blocks.{i}.ffn.2", 13824, 5120),
        ),
        (0, 39),
    ),
    "hunyuan_video": _blocks(
        (
            ("double_blocks.{i}.img_attn_qkv", 3072, 9216),
            ("double_blocks.{i}.img_mod.linear", 3072, 18432),
            ("double_blocks.{i}.img_mlp.fc1", 3072, 12288),
        ),
        (0, 19),
    ),
    "chroma": (
        *_blocks(
            (
                ("double_blocks.{i}.img_attn.qkv", 3072, 9216),
                ("double_blocks.{i}.img_attn.proj", 3072, 3072),
                ("single_blocks.{i}.linear1", 3072, 21504),
            ),
            (0, 18),
        ),
        ("distilled_guidance_layer.layers.0.in_layer", 5120, 5120),
    ),
    "ltx_video": _blocks(
        (
            ("transformer_blocks.{i}.attn1.to_q", 2048, 2048),
            ("transformer_blocks.{i}.attn2.to_q", 2048, 2048),
            ("transformer_blocks.{i}.ff.net.0.proj", 2048, 8192),
        ),
        (0, 27),
    ),
    "mochi": _blocks(
        (("blocks.{i}.attn.qkv_x", 3072, 9216), ("blocks.{i}.attn.proj_x", 3072, 3072)),
        (0, 47),
    ),
    "ernie_image": _blocks(
        (
            ("layers.{i}.self_attention.to_q", 3072, 3072),
            ("layers.{i}.self_attention.to_k", 3072, 3072),
            ("layers.{i}.mlp.gate_proj", 3072, 8192),
        ),
        (0, 23),
    ),
    "sana": _blocks(
        (
            ("blocks.{i}.attn.qkv", 2240, 6720),
            ("blocks.{i}.cross_attn.q_linear", 2240, 2240),
            ("blocks.{i}.mlp.inverted_conv.conv", 2240, 11200),
        ),
        (0, 19),
    ),
    "flux3": _blocks(
        (
            ("content_mode_blocks.image.{i}.attn.qkv", 3072, 9216),
            ("single_blocks.{i}.linear1", 3072, 27648),
        ),
        (0, 4),
    ),
}

# Qwen3 0.6B as Anima's text encoder: kohya writes it under lora_te_ with its own (non-CLIP) names.
QWEN3_TEXT_MODULES: tuple[Module, ...] = _blocks(
    (
        ("model.layers.{i}.self_attn.q_proj", 1024, 2048),
        ("model.layers.{i}.self_attn.k_proj", 1024, 1024),
        ("model.layers.{i}.mlp.gate_proj", 1024, 3072),
    ),
    (0, 27),
)

DIALECTS = ("kohya", "ai_toolkit", "peft", "onetrainer", "lokr")


def family_lora(
    family: str,
    dialect: str,
    *,
    rank: int = 8,
    modules: tuple[Module, ...] | None = None,
    text_modules: tuple[Module, ...] = (),
) -> ModelCase:
    """A LoRA of ``family`` written in ``dialect`` (one of ``DIALECTS``)."""
    specs: dict[str, TensorSpec] = {}
    for name, fan_in, fan_out in modules if modules is not None else FAMILY_MODULES[family]:
        specs.update(_module(_spell(name, dialect), dialect, fan_in, fan_out, rank))
    for name, fan_in, fan_out in text_modules:
        te = "lora_te_" + name.replace(".", "_") if dialect == "kohya" else "text_encoder." + name
        specs.update(_module(te, dialect, fan_in, fan_out, rank))
    return ModelCase(f"{family}-{dialect}-lora", specs)


def _spell(name: str, dialect: str) -> str:
    underscored = name.replace(".", "_")
    return {
        "kohya": f"lora_unet_{underscored}",
        "ai_toolkit": f"diffusion_model.{name}",
        "peft": f"base_model.model.{name}",
        "onetrainer": f"lora_transformer_{underscored}",
        "lokr": f"lycoris_{underscored}",
    }[dialect]


def _module(module: str, dialect: str, fan_in: int, fan_out: int, rank: int) -> dict[str, TensorSpec]:
    if dialect == "lokr":
        # Kronecker factors: (out/a x in/b) (x) (a x b); the input width is their product of widths.
        return {
            f"{module}.lokr_w1": ("BF16", (4, 8)),
            f"{module}.lokr_w2": ("BF16", (fan_out // 4, fan_in // 8)),
            f"{module}.alpha": ("BF16", ()),
        }
    if dialect in ("kohya", "onetrainer"):
        return {
            f"{module}.alpha": ("BF16", ()),
            f"{module}.lora_down.weight": ("BF16", (rank, fan_in)),
            f"{module}.lora_up.weight": ("BF16", (fan_out, rank)),
        }
    return {
        f"{module}.lora_A.weight": ("BF16", (rank, fan_in)),
        f"{module}.lora_B.weight": ("BF16", (fan_out, rank)),
    }
