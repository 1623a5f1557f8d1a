"""Real-size LoRA layouts (tensor specs, no values) in the dialects other UIs apply, for identification.

The module names and shapes come from the real SD1/SDXL key spaces (``models.unet_modules`` /
``models.text_modules``); only the naming and the per-module tensors differ per dialect:
SimpleTuner ``lycoris_`` LoKr, PEFT ``base_model.model.`` (with ``.default``), ComfyUI
``text_encoders.clip_l/clip_g.transformer.``, ComfyUI ``set_weight``, LyCORIS BOFT (4-D ``oft_blocks``),
kohya OFT (``oft_unet_``), GLoRA in the new LyCORIS layout and ``diff_b`` beside LoRA factors.
The merge of each dialect is checked on a tiny pipeline by ``tests/core/render/test_lora_dialects.py``
(generators in ``lora_dialects.py``).
"""

from __future__ import annotations

from tests.factory.models import ModelCase, Specs, text_modules, unet_modules

_DTYPE = "F16"


def _flat(path: str) -> str:
    return path.replace(".", "_")


def _linear_unet(space: str = "sd1-kohya") -> list[tuple[str, tuple[int, ...]]]:
    return [(m, s) for m, s in unet_modules(space) if len(s) == 2]


def simpletuner_lycoris(rank: int = 8) -> ModelCase:
    """SimpleTuner LyCORIS LoKr over SD1's UNet: ``lycoris_<diffusers path>.lokr_w1/w2_a/w2_b``."""
    specs: Specs = {}
    for module, (out_dim, in_dim) in _linear_unet():
        name = f"lycoris_{_flat(module)}."
        specs[name + "lokr_w1"] = (_DTYPE, (8, 8))
        specs[name + "lokr_w2_a"] = (_DTYPE, (out_dim // 8, rank))
        specs[name + "lokr_w2_b"] = (_DTYPE, (rank, in_dim // 8))
        specs[name + "alpha"] = (_DTYPE, ())
    return ModelCase("simpletuner-lycoris", specs)


def peft_base_model(*, default: bool = True, rank: int = 8) -> ModelCase:
    """A PEFT-saved SD1 adapter: ``base_model.model.<unet path>.lora_A[.default].weight`` and the text
    encoder's ``base_model.model.text_model.…``."""
    tag = ".default" if default else ""
    specs: Specs = {}
    modules = [*_linear_unet(), *text_modules("sd1-kohya", "clip_l")]
    for module, (out_dim, in_dim) in modules:
        name = f"base_model.model.{module}."
        specs[f"{name}lora_A{tag}.weight"] = (_DTYPE, (rank, in_dim))
        specs[f"{name}lora_B{tag}.weight"] = (_DTYPE, (out_dim, rank))
    return ModelCase("peft-base-model", specs)


def comfy_text_encoders(arch: str = "sdxl", rank: int = 8) -> ModelCase:
    """ComfyUI's generic names: ``text_encoders.clip_l[/clip_g].transformer.<path>`` and, for the UNet,
    ``diffusion_model.<LDM/SGM path>`` (kohya tensors)."""
    space = "sdxl-kohya" if arch == "sdxl" else "sd1-kohya"
    encoders = ("clip_l", "clip_g") if arch == "sdxl" else ("clip_l",)
    specs: Specs = {}
    targets = [(f"text_encoders.{e}.transformer.{m}", s) for e in encoders for m, s in text_modules(space, e)]
    if arch == "sdxl":  # the sdxl-kohya space names the UNet in SGM paths
        targets += [(f"diffusion_model.{m}", s) for m, s in _linear_unet(space)]
    for name, (out_dim, in_dim) in targets:
        specs[f"{name}.lora_down.weight"] = (_DTYPE, (rank, in_dim))
        specs[f"{name}.lora_up.weight"] = (_DTYPE, (out_dim, rank))
        specs[f"{name}.alpha"] = (_DTYPE, ())
    return ModelCase(f"comfy-{arch}", specs)


def set_weight() -> ModelCase:
    """ComfyUI ``set_weight`` (whole weights replaced) on SD1's UNet attention linears."""
    specs: Specs = {f"lora_unet_{_flat(m)}.set_weight": (_DTYPE, s) for m, s in _linear_unet() if "attn" in m}
    return ModelCase("set-weight", specs)


def boft(blocks: int = 4, stages: int = 2) -> ModelCase:
    """LyCORIS BOFT over SD1's UNet linears and text encoder: ``oft_blocks`` (stages, n, b, b)."""
    specs: Specs = {}
    targets = [(f"lora_unet_{_flat(m)}", s) for m, s in _linear_unet()]
    targets += [(f"lora_te_{_flat(m)}", s) for m, s in text_modules("sd1-kohya", "clip_l")]
    for name, (out_dim, _) in targets:
        specs[f"{name}.oft_blocks"] = (_DTYPE, (stages, out_dim // blocks, blocks, blocks))
        specs[f"{name}.alpha"] = (_DTYPE, ())
    return ModelCase("boft", specs)


def kohya_oft(blocks: int = 4) -> ModelCase:
    """kohya OFT over SD1's UNet: ``oft_unet_<path>.oft_blocks`` (blocks, size, size) + ``alpha``."""
    specs: Specs = {}
    for module, (out_dim, _) in _linear_unet():
        name = f"oft_unet_{_flat(module)}"
        specs[f"{name}.oft_blocks"] = (_DTYPE, (blocks, out_dim // blocks, out_dim // blocks))
        specs[f"{name}.alpha"] = (_DTYPE, ())
    return ModelCase("kohya-oft", specs)


def glora_new_layout(rank: int = 8) -> ModelCase:
    """GLoRA in the new LyCORIS layout: a1 (in, r) a2 (r, in) b1 (out, r) b2 (r, in)."""
    specs: Specs = {}
    for module, (out_dim, in_dim) in _linear_unet():
        name = f"lora_unet_{_flat(module)}."
        specs[name + "a1.weight"] = (_DTYPE, (in_dim, rank))
        specs[name + "a2.weight"] = (_DTYPE, (rank, in_dim))
        specs[name + "b1.weight"] = (_DTYPE, (out_dim, rank))
        specs[name + "b2.weight"] = (_DTYPE, (rank, in_dim))
        specs[name + "alpha"] = (_DTYPE, ())
    return ModelCase("glora-new", specs)


def lora_with_diff_b(rank: int = 8) -> ModelCase:
    """A kohya LoRA whose layers also carry a ``diff_b`` bias delta (ComfyUI/LyCORIS ``train_norm``)."""
    specs: Specs = {}
    for module, (out_dim, in_dim) in _linear_unet():
        name = f"lora_unet_{_flat(module)}."
        specs[name + "lora_down.weight"] = (_DTYPE, (rank, in_dim))
        specs[name + "lora_up.weight"] = (_DTYPE, (out_dim, rank))
        specs[name + "alpha"] = (_DTYPE, ())
        specs[name + "diff_b"] = (_DTYPE, (out_dim,))
    return ModelCase("lora-diff-b", specs)
