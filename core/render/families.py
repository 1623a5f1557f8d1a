"""The model families the renderer runs on diffusion transformers, as data.

SD1/SD2/SDXL render through :mod:`core.render.configs` (a UNet pipeline from one file). Flux.1, Chroma,
SD3.5, ... are stored by users as one full checkpoint *or* as a "diffusion model only" file plus
separate text-encoder files (ComfyUI's ``clip_l``/``t5xxl``...) and a VAE. A :class:`Family` row says
what a family is made of — its pipeline and transformer classes, its text-encoder slots, where each part
sits inside a full checkpoint, which tokenizer each encoder needs — and how a recipe's settings become
the pipeline's arguments. :mod:`core.render.family_loader` builds the pipeline from any of those layouts
with one code path, so adding a family is a row here, a bundled config folder and a test.

Pure data: importing this module imports neither torch nor diffusers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.taxonomy import Architecture, article


@dataclass(frozen=True, slots=True)
class HubTokenizer:
    """A tokenizer no installed package ships: fetched once from a Hub repository's subfolder."""

    repo: str
    subfolder: str
    tokenizer_class: str


@dataclass(frozen=True, slots=True)
class EncoderSlot:
    """One text encoder of a family: what users call its file, and where it goes in the pipeline.

    ``name`` is ComfyUI's file stem for it (``clip_l``, ``t5xxl``); ``kind`` says how a separate file
    is recognised (``clip`` or ``t5``); several CLIP slots are told apart by width, narrowest first
    (CLIP-L before CLIP-G). ``prefixes`` are where the encoder's tensors sit inside a full checkpoint.
    ``tokenizer`` is None when the bundled config folder holds the tokenizer (CLIP's, derived offline).
    ``width`` is the released encoder's hidden width (CLIP-L 768, CLIP-G 1280): a lone separate file
    of a kind with several slots goes to the slot of its width, so a clip_g file replaces CLIP-G.
    """

    name: str
    kind: str
    component: str
    model_class: str
    tokenizer_component: str
    prefixes: tuple[str, ...]
    tokenizer: HubTokenizer | None = None
    width: int = 0


T5_TOKENIZER = HubTokenizer("black-forest-labs/FLUX.1-schnell", "tokenizer_2", "T5TokenizerFast")
# Z-Image's Qwen3 tokenizer with its chat template (the pipeline wraps the prompt as a chat turn).
Z_IMAGE_TOKENIZER = HubTokenizer("Tongyi-MAI/Z-Image-Turbo", "tokenizer", "AutoTokenizer")
# Qwen-Image's Qwen2 tokenizer (the pipeline writes its own prompt template around the prompt).
QWEN_IMAGE_TOKENIZER = HubTokenizer("Qwen/Qwen-Image", "tokenizer", "AutoTokenizer")

_CLIP_L = EncoderSlot(
    "clip_l",
    "clip",
    "text_encoder",
    "CLIPTextModel",
    "tokenizer",
    ("text_encoders.clip_l.transformer.", "text_encoders.clip_l."),
    width=768,
)
_T5 = EncoderSlot(
    "t5xxl",
    "t5",
    "text_encoder_2",
    "T5EncoderModel",
    "tokenizer_2",
    ("text_encoders.t5xxl.transformer.", "text_encoders.t5xxl."),
    T5_TOKENIZER,
    width=4096,
)


def _flux_arguments(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Flux.1 is guidance-distilled: the distilled guidance is ``guidance_scale``; A1111/Forge's CFG
    scale above 1 (with a negative prompt) is the real CFG diffusers calls ``true_cfg_scale``."""
    arguments: dict[str, Any] = {"guidance_scale": settings["guidance"]}
    if settings["cfg"] > 1 and settings["negative_prompt"]:
        arguments["true_cfg_scale"] = settings["cfg"]
        arguments["negative_prompt"] = settings["negative_prompt"]
    return arguments


def _cfg_arguments(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Families trained with classifier-free guidance: CFG scale and negative prompt as for SD."""
    return {"guidance_scale": settings["cfg"], "negative_prompt": settings["negative_prompt"] or None}


def _true_cfg_arguments(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Qwen-Image guides with ``true_cfg_scale`` and runs the negative pass only when given a negative
    prompt: above CFG 1 an empty negative prompt is a blank one, as ComfyUI's empty negative is."""
    if settings["cfg"] <= 1:
        return {"true_cfg_scale": 1.0}
    return {"true_cfg_scale": settings["cfg"], "negative_prompt": settings["negative_prompt"] or " "}


@dataclass(frozen=True, slots=True)
class Preset:
    """The settings one released variant of a family renders best with, when the header cannot tell the
    variants apart (Z-Image Turbo and Base have the same tensors): ``labels`` are the Civitai base-model
    labels naming it; ``cfg`` and ``steps`` are its model card's."""

    name: str
    labels: tuple[str, ...]
    cfg: float
    steps: int


@dataclass(frozen=True, slots=True)
class Family:
    """One renderable transformer family (see the module docstring).

    ``folders`` maps a variant to its bundled config folder; ``variant`` picks it from the checkpoint's
    tensor names (Flux.1 dev carries ``guidance_in``, schnell does not). ``default_guidance`` is the
    distilled guidance a recipe without one renders with (None: the family has no such input).
    ``vae_class`` is the diffusers autoencoder the family decodes with.
    """

    architecture: Architecture
    label: str
    pipeline_class: str
    transformer_class: str
    folders: Mapping[str, str]
    variant: Callable[[frozenset[str]], str]
    encoders: tuple[EncoderSlot, ...]
    arguments: Callable[[Mapping[str, Any]], dict[str, Any]]
    transformer_prefixes: tuple[str, ...] = ("model.diffusion_model.",)
    vae_prefixes: tuple[str, ...] = ("vae.", "first_stage_model.")
    vae_class: str = "AutoencoderKL"
    default_guidance: float | None = None
    default_cfg: float | None = None  # the CFG scale a render without one uses (None: A1111's 7)
    embeddings: bool = False
    hypernetworks: bool = False
    notes: tuple[str, ...] = field(default=())
    # Variants only a Civitai base-model label tells apart; the first is assumed without a label.
    presets: tuple[Preset, ...] = ()

    @property
    def a_label(self) -> str:
        """The label with its article, for sentences: "a Flux.1", "an SD 3.5"."""
        return f"{article(self.label)} {self.label}"

    def folder_for(self, tensor_names: frozenset[str]) -> str:
        """The bundled config folder for a checkpoint holding ``tensor_names``."""
        return self.folders[self.variant(tensor_names)]

    @property
    def default_folder(self) -> str:
        return next(iter(self.folders.values()))


def _flux_variant(names: frozenset[str]) -> str:
    guided = any("guidance_in." in name or "guidance_embedder." in name for name in names)
    return "dev" if guided or not names else "schnell"


def _only(names: frozenset[str]) -> str:
    return "default"


FAMILIES: dict[Architecture, Family] = {
    Architecture.FLUX1: Family(
        architecture=Architecture.FLUX1,
        label="Flux.1",
        pipeline_class="FluxPipeline",
        transformer_class="FluxTransformer2DModel",
        folders={"dev": "flux1", "schnell": "flux1_schnell"},
        variant=_flux_variant,
        encoders=(_CLIP_L, _T5),
        arguments=_flux_arguments,
        default_guidance=3.5,
        default_cfg=1.0,  # Forge's Flux preset: its distilled guidance steers, not CFG
    ),
    Architecture.CHROMA: Family(
        architecture=Architecture.CHROMA,
        label="Chroma",
        pipeline_class="ChromaPipeline",
        transformer_class="ChromaTransformer2DModel",
        folders={"default": "chroma"},
        variant=_only,
        encoders=(
            EncoderSlot(
                "t5xxl",
                "t5",
                "text_encoder",
                "T5EncoderModel",
                "tokenizer",
                _T5.prefixes,
                T5_TOKENIZER,
            ),
        ),
        arguments=_cfg_arguments,
    ),
    Architecture.SD3: Family(
        architecture=Architecture.SD3,
        label="SD 3.5",
        pipeline_class="StableDiffusion3Pipeline",
        transformer_class="SD3Transformer2DModel",
        folders={"default": "sd3"},
        variant=_only,
        encoders=(
            EncoderSlot(
                "clip_l",
                "clip",
                "text_encoder",
                "CLIPTextModelWithProjection",
                "tokenizer",
                _CLIP_L.prefixes,
                width=768,
            ),
            EncoderSlot(
                "clip_g",
                "clip",
                "text_encoder_2",
                "CLIPTextModelWithProjection",
                "tokenizer_2",
                ("text_encoders.clip_g.transformer.", "text_encoders.clip_g."),
                width=1280,
            ),
            EncoderSlot(
                "t5xxl", "t5", "text_encoder_3", "T5EncoderModel", "tokenizer_3", _T5.prefixes, T5_TOKENIZER
            ),
        ),
        arguments=_cfg_arguments,
    ),
    Architecture.Z_IMAGE: Family(
        architecture=Architecture.Z_IMAGE,
        label="Z-Image",
        pipeline_class="ZImagePipeline",
        transformer_class="ZImageTransformer2DModel",
        folders={"default": "z_image"},
        variant=_only,
        encoders=(
            EncoderSlot(
                "qwen_3_4b",
                "qwen3",
                "text_encoder",
                "Qwen3Model",
                "tokenizer",
                ("text_encoders.qwen3_4b.transformer.", "text_encoders.qwen3_4b."),
                Z_IMAGE_TOKENIZER,
                width=2560,
            ),
        ),
        arguments=_cfg_arguments,
        default_cfg=1.0,  # Z-Image Turbo (the released model, Civitai's "ZImageTurbo") is distilled: no CFG
        presets=(
            # Distilled: 8 steps without CFG (its model card: 9 scheduler steps, 8 model calls, CFG 0).
            Preset("Z-Image Turbo", ("ZImageTurbo",), cfg=1.0, steps=8),
            # The undistilled model: CFG 3-5 and 28-50 steps on its model card; the low end for previews.
            Preset("Z-Image Base", ("ZImageBase",), cfg=4.0, steps=28),
        ),
    ),
    Architecture.QWEN_IMAGE: Family(
        architecture=Architecture.QWEN_IMAGE,
        label="Qwen-Image",
        pipeline_class="QwenImagePipeline",
        transformer_class="QwenImageTransformer2DModel",
        folders={"default": "qwen_image"},
        variant=_only,
        encoders=(
            EncoderSlot(
                "qwen_2.5_vl_7b",
                "qwen2_5_vl",
                "text_encoder",
                "Qwen2_5_VLForConditionalGeneration",
                "tokenizer",
                ("text_encoders.qwen25_7b.transformer.", "text_encoders.qwen25_7b."),
                QWEN_IMAGE_TOKENIZER,
                width=3584,
            ),
        ),
        arguments=_true_cfg_arguments,
        vae_class="AutoencoderKLQwenImage",
        default_cfg=4.0,  # Qwen-Image's own (its model card's and diffusers' true_cfg_scale)
    ),
}


def family_of(architecture: Architecture | None) -> Family | None:
    """The transformer family rendering ``architecture``, or None (UNet families and the rest)."""
    return FAMILIES.get(architecture) if architecture is not None else None


def family_preset(family: Family | None, base_model_label: str | None) -> tuple[Preset | None, str | None]:
    """The preset of the variant ``base_model_label`` (a Civitai base-model label) names, and a line
    saying which was assumed when the label names none of them (None for a family without presets)."""
    if family is None or not family.presets:
        return None, None
    # Civitai clients spell labels loosely ("Z Image Turbo", "ZImageTurbo"): compared without spaces or case.
    wanted = "".join((base_model_label or "").split()).casefold()
    for preset in family.presets:
        if wanted in ("".join(label.split()).casefold() for label in preset.labels):
            return preset, None
    assumed = family.presets[0]
    labels = " or ".join(label for variant in family.presets for label in variant.labels)
    said = f"base model {base_model_label!r}" if base_model_label else "no Civitai base model"
    return assumed, (
        f"{family.label} variant not known ({said}; {labels} says which): "
        f"{assumed.name}'s defaults, CFG {assumed.cfg:g} and {assumed.steps} steps"
    )


def encoder_slot_names(architecture: Architecture | None) -> tuple[str, ...]:
    """``('clip_l', 't5xxl')``: the text-encoder files a diffusion-model-only checkpoint needs."""
    family = family_of(architecture)
    return tuple(slot.name for slot in family.encoders) if family else ()
