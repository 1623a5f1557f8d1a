"""The vocabulary of architectures, as data: one row per family, read by every rule that names one.

A row says how a family's files look from their header alone: the key signatures of its denoiser (in the
bare, ``model.diffusion_model.``, ``net.`` and diffusers spellings), the shapes that tell its sizes and
variants apart, its text encoders and VAE, the module names and widths its LoRAs carry, and the words
other tools use for it (Civitai ``baseModel`` labels, kohya/modelspec metadata, InvokeAI bases). The
matchers (``matchers/table.py`` for checkpoints, ``lora_base.py`` for LoRAs, ``matchers/others.py`` and
``matchers/vae.py`` for encoders and VAEs) are generic over these rows, so a new architecture is a new row
and a test, not new code.

SD1/SD2/SDXL/refiner, SD3 and Flux.1/Flux.2 share one layout per group (an SD UNet, an MMDiT, Flux blocks), so
no key signature tells them apart: one measurement does. Their rows carry those values as data
(:class:`MeasuredSpec`: the text-conditioning widths, vector-conditioning widths, token widths, LoRA hidden
widths and position-table sizes that name each family), and the shared rules that take the measurements
(``families.py`` for SD UNets, ``matchers/dit.py`` for Flux and SD3, ``lora_base.py`` for their LoRAs) read
them from here, so a new UNet or Flux-style family is a row too. Facts:
/work/shared/reference/ARCHITECTURES.md, diffusers 0.42 ``single_file_utils.py`` and
``lora_conversion_utils.py``, Civitai ``basemodel.constants``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from core.taxonomy import ARCHITECTURE_NAMES, Architecture

# Where a denoiser's own names may sit: bare (ComfyUI ``diffusion_models/``), under a full checkpoint's
# ``model.diffusion_model.``, NVIDIA's ``net.`` (Cosmos, Anima) or both.
DENOISER_PREFIXES = ("", "model.diffusion_model.", "net.", "model.diffusion_model.net.")

Measure = tuple[str, int]  # (bare tensor name, axis)


@dataclass(frozen=True, slots=True)
class VariantRule:
    """A named variant of a family: every condition given must hold (None = not checked)."""

    label: str
    width: int | None = None
    in_channels: int | None = None
    text_width: int | None = None
    present: str | None = None  # a bare tensor name that must exist
    absent: str | None = None  # a bare tensor name that must not exist


@dataclass(frozen=True, slots=True)
class CheckpointSpec:
    """How a family's denoiser is recognised: any one ``signatures`` set fully present, none of ``excludes``.

    ``width``/``in_channels``/``text_width`` list where each measurement may be read (original names
    first, diffusers names after); the first tensor present answers.
    """

    signatures: tuple[tuple[str, ...], ...]
    width: tuple[Measure, ...] = ()
    in_channels: tuple[Measure, ...] = ()
    text_width: tuple[Measure, ...] = ()
    widths: Mapping[int, str] = field(default_factory=dict)  # released hidden sizes -> size name
    variants: tuple[VariantRule, ...] = ()
    excludes: tuple[str, ...] = ()
    # What no header can tell about this family's files (variants trained to the same layout), and what
    # does: said among the reasons, so a file is never given a variant its header cannot show.
    not_in_header: str = ""


@dataclass(frozen=True, slots=True)
class MeasuredSpec:
    """The values that name a family whose layout it shares with others, read by one shared rule.

    ``rule`` names the layout (``sd_unet``: an SD-style UNet; ``flux``: Flux double/single blocks;
    ``mmdit``: SD3's joint blocks), and the widths are what that rule measures: ``context_widths`` the text
    conditioning the denoiser reads (an SD UNet's cross-attention ``to_k`` in-features, Flux's ``txt_in``),
    each with the size or variant it means ("" none); ``adm_widths`` an SD UNet's vector conditioning
    (``label_emb`` in-features); ``token_widths`` the width of a textual-inversion vector for it;
    ``text_encoder_widths`` the widths of a CLIP text encoder a LoRA adapts for it alone;
    ``lora_widths`` the hidden sizes its transformer LoRAs read; ``position_sizes`` the size of a
    position table (SD3's ``pos_embed``) with the model it means; ``depth`` its number of (double)
    transformer blocks, which a LoRA of more blocks contradicts; ``markers`` tensor names (relative to the
    denoiser, in any of its namings) whose presence names the family before any width is read: a layout
    built on another family's, with that family's widths (SVD's temporal layers in an SD 2-wide UNet,
    Kolors' ChatGLM projection in front of an SDXL UNet).
    """

    rule: str
    context_widths: Mapping[int, str] = field(default_factory=dict)
    adm_widths: tuple[int, ...] = ()
    token_widths: tuple[int, ...] = ()
    text_encoder_widths: tuple[int, ...] = ()
    lora_widths: Mapping[int, str] = field(default_factory=dict)
    position_sizes: Mapping[int, str] = field(default_factory=dict)
    depth: int | None = None  # how many (double) transformer blocks its denoiser has
    markers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LoraSpec:
    """How a family's LoRAs look once the dialect prefix is set aside.

    ``markers`` are module-name fragments in underscore form (kohya writes ``double_stream_blocks_0_``,
    diffusers ``double_stream_blocks.0.``: names are compared with dots turned into underscores); one
    present makes the family a candidate. ``widths`` are the hidden sizes its adapted layers read; a
    candidate is accepted only when the file's commonest input width is one of them, so block names and
    widths must agree (a LoRA never gets a family from one measurement alone).
    """

    markers: tuple[str, ...]
    widths: Mapping[int, str]
    note: str = ""
    excludes: tuple[str, ...] = ()  # fragments of other families that share a marker
    # A LoRA of attention layers only carries none of the markers, just ``transformer_blocks.N.attn.to_q``
    # or ``blocks.N.self_attn.q`` as many families name them: the block list's name (underscore form) and
    # how many blocks each released width has tell it then, the count and the width agreeing.
    blocks: str = ""
    depths: Mapping[int, int] = field(default_factory=dict)  # hidden width -> number of blocks


@dataclass(frozen=True, slots=True)
class ArchitectureRow:
    architecture: Architecture
    short_name: str  # in tight phrases: "SDXL LoRA — does not fit ..."
    video: bool = False
    checkpoint: CheckpointSpec | None = None
    measured: MeasuredSpec | None = None  # a family told from others of its layout by a measurement
    lora: LoraSpec | None = None
    text_encoders: tuple[str, ...] = ()  # ids of ENCODERS
    vae: str | None = None  # id of VAES
    civitai: tuple[tuple[str, str], ...] = ()  # (baseModel value, how the window shows it)
    modelspec: tuple[str, ...] = ()  # modelspec.architecture prefixes (lower case)
    kohya_bases: tuple[str, ...] = ()  # ss_base_model_version prefixes (lower case)
    # ss_network_module values of the kohya sd-scripts network written only for this family's training
    # script (``networks.lora_flux``): names the family when the file says no base model version.
    kohya_networks: tuple[str, ...] = ()
    invokeai_base: str | None = None
    diffusers: tuple[str, ...] = ()  # prefixes of its diffusers pipeline and model class names
    # Families whose LoRAs go on this family's checkpoints too (the same block names and widths: Chroma is
    # Flux.1's blocks without the modulation linears, and ComfyUI and Forge apply either's LoRAs to the
    # other). Read both ways by ``loras_shared``, for the board's fit marks and the renderer's refusal.
    shares_loras_with: tuple[Architecture, ...] = ()

    @property
    def name(self) -> str:
        """For people: "Qwen-Image" (``ARCHITECTURE_NAMES``, where every family's name lives)."""
        return ARCHITECTURE_NAMES[self.architecture]


def _sig(*keys: str) -> tuple[str, ...]:
    return keys


# -- the architectures ----------------------------------------------------------------------------------
# Order matters for checkpoints: the first row whose signature holds wins, so a family whose files also
# carry another's keys comes first (Chroma and Flux.2 carry Flux.1-style blocks; Z-Image a cap_embedder).

ROWS: tuple[ArchitectureRow, ...] = (
    ArchitectureRow(
        Architecture.SD1,
        "SD1",
        measured=MeasuredSpec(
            "sd_unet", context_widths={768: ""}, token_widths=(768,), text_encoder_widths=(768,)
        ),
        text_encoders=("clip_l",),
        vae="sd_vae",
        civitai=(
            ("SD 1.4", "SD 1.4"),
            ("SD 1.5", "SD 1.5"),
            ("SD 1.5 LCM", "SD 1.5 LCM"),
            ("SD 1.5 Hyper", "SD 1.5 Hyper"),
        ),
        modelspec=("stable-diffusion-v1",),
        kohya_bases=("sd_v1",),
        invokeai_base="sd-1",
    ),
    ArchitectureRow(
        Architecture.SD2,
        "SD2",
        measured=MeasuredSpec(
            "sd_unet", context_widths={1024: ""}, token_widths=(1024,), text_encoder_widths=(1024,)
        ),
        text_encoders=("openclip_h",),
        vae="sd_vae",
        civitai=(
            ("SD 2.0", "SD 2.0"),
            ("SD 2.1", "SD 2.1"),
            ("SD 2.0 768", "SD 2.0 768"),
            ("SD 2.1 768", "SD 2.1 768"),
            ("SD 2.1 Unclip", "SD 2.1 unCLIP"),
        ),
        modelspec=("stable-diffusion-v2",),
        kohya_bases=("sd_v2",),
        invokeai_base="sd-2",
    ),
    ArchitectureRow(
        Architecture.SDXL,
        "SDXL",
        # The second text encoder (bigG) alone holds its token vectors' second half: 1280 wide.
        measured=MeasuredSpec("sd_unet", context_widths={2048: ""}, adm_widths=(2816,), token_widths=(1280,)),
        text_encoders=("clip_l", "openclip_bigg"),
        vae="sdxl_vae",
        civitai=(
            ("SDXL 1.0", "SDXL 1.0"),
            ("SDXL 0.9", "SDXL 0.9"),
            ("SDXL Turbo", "SDXL Turbo"),
            ("SDXL Lightning", "SDXL Lightning"),
            ("SDXL Hyper", "SDXL Hyper"),
            ("SDXL 1.0 LCM", "SDXL 1.0 LCM"),
            ("SDXL Distilled", "SDXL Distilled"),
            ("Pony", "Pony Diffusion"),
            ("Illustrious", "Illustrious"),
            ("NoobAI", "NoobAI"),
            ("Playground v2", "Playground v2"),
        ),
        modelspec=("stable-diffusion-xl",),
        kohya_bases=("sdxl",),
        invokeai_base="sdxl",
    ),
    ArchitectureRow(
        Architecture.SDXL_REFINER,
        "SDXL refiner",
        measured=MeasuredSpec("sd_unet", context_widths={1280: ""}, adm_widths=(2560,)),
        text_encoders=("openclip_bigg",),
        vae="sdxl_vae",
        modelspec=("stable-diffusion-xl-v1-refiner",),
        invokeai_base="sdxl-refiner",
    ),
    ArchitectureRow(
        Architecture.KOLORS,
        "Kolors",
        # An SDXL UNet (cross-attention 2048 wide) reading ChatGLM3's 4096-wide states through
        # ``encoder_hid_proj``; its vector conditioning is ChatGLM's pooled 4096 + SDXL's 1536 of sizes.
        measured=MeasuredSpec("sd_unet", adm_widths=(5632,), markers=("encoder_hid_proj.weight",)),
        vae="sdxl_vae",
        civitai=(("Kolors", "Kolors"),),
        diffusers=("Kolors",),
    ),
    ArchitectureRow(
        Architecture.SVD,
        "SVD",
        video=True,
        # An SD-style UNet (cross-attention 1024 wide, on a CLIP ViT-H image embedding) with temporal
        # layers beside each block; 8 input channels: the noisy latent and the conditioning frame's.
        measured=MeasuredSpec(
            "sd_unet",
            markers=(
                "input_blocks.1.1.time_stack.0.attn1.to_q.weight",
                "input_blocks.1.0.time_stack.in_layers.2.weight",
                "input_blocks.1.1.time_mixer.mix_factor",
                "down_blocks.0.attentions.0.temporal_transformer_blocks.0.attn1.to_q.weight",
            ),
        ),
        civitai=(("SVD", "SVD"), ("SVD XT", "SVD XT")),
        modelspec=("stable-video-diffusion",),
        diffusers=("StableVideoDiffusion", "UNetSpatioTemporalConditionModel"),
    ),
    ArchitectureRow(
        Architecture.STABLE_CASCADE,
        "Stable Cascade",
        checkpoint=CheckpointSpec(
            signatures=(_sig("clip_txt_mapper.weight"), _sig("down_blocks.1.0.channelwise.0.weight")),
            width=(("clip_txt_mapper.weight", 0), ("down_blocks.1.0.channelwise.0.weight", -1)),
            variants=(
                VariantRule("stage-c", width=2048, present="clip_txt_mapper.weight"),
                VariantRule("stage-c-lite", width=1536, present="clip_txt_mapper.weight"),
                VariantRule("stage-b", width=640),
                VariantRule("stage-b-lite", width=576),
            ),
        ),
        text_encoders=("openclip_bigg",),
        civitai=(("Stable Cascade", "Stable Cascade"),),
        modelspec=("stable-cascade",),
        diffusers=("StableCascade",),
    ),
    ArchitectureRow(
        Architecture.SD3,
        "SD3",
        measured=MeasuredSpec(
            "mmdit",
            lora_widths={1536: "sd3-medium / sd3.5-medium", 2432: "sd3.5-large"},
            position_sizes={36864: "sd3-medium", 147456: "sd3.5-medium"},
        ),
        lora=None,  # decided in lora_base (joint_blocks, widths 1536/2432)
        text_encoders=("clip_l", "clip_g", "t5xxl"),
        vae="sd3_vae",
        civitai=(
            ("SD 3", "SD 3"),
            ("SD 3.5", "SD 3.5"),
            ("SD 3.5 Large", "SD 3.5 Large"),
            ("SD 3.5 Large Turbo", "SD 3.5 Large Turbo"),
            ("SD 3.5 Medium", "SD 3.5 Medium"),
        ),
        modelspec=("stable-diffusion-3",),
        kohya_bases=("sd3",),
        kohya_networks=("networks.lora_sd3",),
        invokeai_base="sd-3",
        diffusers=("SD3Transformer2DModel",),  # its pipelines are named in core.identify.diffusers
    ),
    ArchitectureRow(
        Architecture.CHROMA,
        "Chroma",
        checkpoint=CheckpointSpec(
            signatures=(_sig("distilled_guidance_layer.in_proj.bias"),),
            width=(("img_in.weight", 0), ("x_embedder.weight", 0)),
            in_channels=(("img_in.weight", 1), ("x_embedder.weight", 1)),
            text_width=(("txt_in.weight", 1), ("context_embedder.weight", 1)),
            widths={3072: "8.9B"},
        ),
        lora=LoraSpec(
            markers=("distilled_guidance_layer",),
            widths={3072: "", 5120: ""},
            note="Flux.1 block names with distilled_guidance_layer targets",
        ),
        text_encoders=("t5xxl",),
        vae="flux_vae",
        civitai=(("Chroma", "Chroma"),),
        modelspec=("chroma",),
        kohya_bases=("chroma",),
        diffusers=("Chroma",),
        shares_loras_with=(Architecture.FLUX1,),
    ),
    ArchitectureRow(
        Architecture.FLUX3,
        "FLUX.3",
        checkpoint=CheckpointSpec(
            signatures=(_sig("early_stream_modulations.image.lin.weight"),),
            width=(("single_blocks.0.linear2.weight", 0),),
            variants=(
                VariantRule("distilled", present="ref_time_in.in_layer.weight"),
                VariantRule("base"),
            ),
        ),
        lora=LoraSpec(markers=("content_mode_blocks",), widths={3072: ""}),
        text_encoders=("qwen3_vl",),
        vae="flux2_vae",
        modelspec=("flux-3", "flux.3"),
        kohya_bases=("flux3",),
        diffusers=("Flux3",),
    ),
    ArchitectureRow(
        Architecture.FLUX1,
        "FLUX.1",
        measured=MeasuredSpec("flux", context_widths={4096: ""}, lora_widths={3072: ""}, depth=19),
        text_encoders=("clip_l", "t5xxl"),
        vae="flux_vae",
        civitai=(
            ("Flux.1 D", "Flux.1 Dev"),
            ("Flux.1 S", "Flux.1 Schnell"),
            ("Flux.1 Krea", "Flux.1 Krea"),
            ("Flux.1 Kontext", "Flux.1 Kontext"),
        ),
        modelspec=("flux-1", "flux.1"),
        kohya_bases=("flux",),
        kohya_networks=("networks.lora_flux",),
        invokeai_base="flux",
        diffusers=("FluxTransformer2DModel",),  # its pipelines are named in core.identify.diffusers
    ),
    ArchitectureRow(
        Architecture.FLUX2,
        "FLUX.2",
        measured=MeasuredSpec(
            "flux",
            context_widths={7680: "klein-4b", 12288: "klein-9b", 15360: "dev"},
            lora_widths={4096: "klein-9b", 6144: "dev"},
        ),
        text_encoders=("mistral3_small", "qwen3_4b", "qwen3_8b"),
        vae="flux2_vae",
        civitai=(
            ("Flux.2 D", "Flux.2 Dev"),
            ("Flux.2 Klein 9B", "Flux.2 Klein 9B"),
            ("Flux.2 Klein 9B-base", "Flux.2 Klein 9B base"),
            ("Flux.2 Klein 4B", "Flux.2 Klein 4B"),
            ("Flux.2 Klein 4B-base", "Flux.2 Klein 4B base"),
        ),
        modelspec=("flux-2", "flux.2"),
        kohya_bases=("flux2",),
        invokeai_base="flux2",
        diffusers=("Flux2Transformer2DModel",),
    ),
    ArchitectureRow(
        Architecture.KREA2,
        "Krea 2",
        checkpoint=CheckpointSpec(
            signatures=(_sig("txtfusion.projector.weight"), _sig("text_fusion.projector.weight")),
            width=(("blocks.0.attn.wq.weight", 0), ("transformer_blocks.0.attn.to_q.weight", 0)),
            text_width=(("txtfusion.projector.weight", 1), ("text_fusion.projector.weight", 1)),
            widths={6144: ""},
        ),
        lora=LoraSpec(
            markers=("attn_wq", "attn_wk", "txtfusion", "text_fusion_", "attn_to_gate"), widths={6144: ""}
        ),
        text_encoders=("qwen3_vl_4b",),
        vae="qwen_image_vae",
        civitai=(("Krea 2", "Krea 2"),),
        modelspec=("krea-2", "krea2"),
        kohya_bases=("krea2",),
        diffusers=("Krea2",),
    ),
    ArchitectureRow(
        Architecture.QWEN_IMAGE_2,
        "Qwen-Image 2",
        checkpoint=CheckpointSpec(
            signatures=(_sig("txt_in.text_norm.weight"),),
            width=(("img_in.weight", 0),),
            in_channels=(("img_in.weight", 1),),
            text_width=(("txt_in.text_norm.weight", 0),),
            widths={4096: "2.1"},
        ),
        lora=LoraSpec(
            markers=(
                "img_mod_1",
                "txt_mod_1",
                "img_mlp_net",
                "txt_mlp_net",
                "img_mlp_gate_up",
                "img_mlp_gate_layer",
            ),
            widths={4096: "2.1"},
            blocks="transformer_blocks",
            depths={4096: 32},
        ),
        text_encoders=("qwen3_vl_8b",),
        vae="qwen_image_21_vae",
        civitai=(("Qwen 2", "Qwen 2"),),
        modelspec=("qwen-image-2",),
        kohya_bases=("qwen_image_2",),
        diffusers=("QwenImage21",),
    ),
    ArchitectureRow(
        Architecture.QWEN_IMAGE,
        "Qwen-Image",
        checkpoint=CheckpointSpec(
            signatures=(_sig("txt_norm.weight", "transformer_blocks.0.img_mod.1.weight"),),
            width=(("img_in.weight", 0),),
            in_channels=(("img_in.weight", 1),),
            text_width=(("txt_in.weight", 1),),
            widths={3072: "20B"},
        ),
        lora=LoraSpec(
            markers=(
                "img_mod_1",
                "txt_mod_1",
                "img_mlp_net",
                "txt_mlp_net",
                "img_mlp_gate_up",
                "img_mlp_gate_layer",
            ),
            widths={3072: ""},
            blocks="transformer_blocks",
            depths={3072: 60},
        ),
        text_encoders=("qwen25_vl_7b",),
        vae="qwen_image_vae",
        civitai=(("Qwen", "Qwen-Image"),),
        modelspec=("qwen-image",),
        kohya_bases=("qwen_image", "qwen-image"),
        invokeai_base="qwen-image",
        diffusers=("QwenImage",),
    ),
    ArchitectureRow(
        Architecture.Z_IMAGE,
        "Z-Image",
        checkpoint=CheckpointSpec(
            signatures=(_sig("layers.0.adaLN_modulation.0.weight"), _sig("all_x_embedder.2-1.weight")),
            width=(("x_embedder.weight", 0), ("all_x_embedder.2-1.weight", 0)),
            in_channels=(("x_embedder.weight", 1), ("all_x_embedder.2-1.weight", 1)),
            text_width=(("cap_embedder.1.weight", 1),),
            widths={3840: "6B"},
            # diffusers' model-type inference calls every such file "z-image-turbo"; it cannot know either.
            not_in_header=(
                "Base or Turbo is not in the header (both are this same layout): the Civitai base model "
                "(ZImageTurbo or ZImageBase) says which"
            ),
        ),
        lora=LoraSpec(
            markers=(
                "noise_refiner",
                "context_refiner",
                "attention_qkv",
                "feed_forward_w1",
                "attention_to_q",
            ),
            widths={3840: ""},
        ),
        text_encoders=("qwen3_4b",),
        vae="flux_vae",
        civitai=(("ZImageTurbo", "Z-Image Turbo"), ("ZImageBase", "Z-Image Base")),
        modelspec=("z-image",),
        kohya_bases=("z_image", "z-image", "zimage"),
        invokeai_base="z-image",
        diffusers=("ZImage",),
    ),
    ArchitectureRow(
        Architecture.LUMINA2,
        "Lumina 2",
        checkpoint=CheckpointSpec(
            signatures=(_sig("cap_embedder.0.weight"), _sig("time_caption_embed.caption_embedder.0.weight")),
            width=(("x_embedder.weight", 0),),
            in_channels=(("x_embedder.weight", 1),),
            text_width=(("cap_embedder.0.weight", 0), ("time_caption_embed.caption_embedder.0.weight", 0)),
            widths={2304: "2.6B"},
        ),
        lora=LoraSpec(
            markers=(
                "noise_refiner",
                "context_refiner",
                "attention_qkv",
                "feed_forward_w1",
                "attention_to_q",
            ),
            widths={2304: ""},
        ),
        text_encoders=("gemma2_2b",),
        vae="flux_vae",
        civitai=(("Lumina", "Lumina"),),
        modelspec=("lumina-2", "lumina2"),
        kohya_bases=("lumina",),
        kohya_networks=("networks.lora_lumina",),
        diffusers=("Lumina2",),
    ),
    ArchitectureRow(
        Architecture.SANA,
        "Sana",
        checkpoint=CheckpointSpec(
            signatures=(_sig("blocks.0.cross_attn.q_linear.weight"), _sig("caption_norm.weight")),
            # PixArt's blocks share the names; its position table or its plain MLP (Sana's is a conv GLU)
            excludes=("pos_embed", "blocks.0.mlp.fc1.weight"),
            width=(("x_embedder.proj.weight", 0), ("patch_embed.proj.weight", 0)),
            in_channels=(("x_embedder.proj.weight", 1), ("patch_embed.proj.weight", 1)),
            text_width=(("y_embedder.y_proj.fc1.weight", 1), ("caption_projection.linear_1.weight", 1)),
            widths={2240: "1.6B", 1152: "600M", 2048: "4.8B"},
            variants=(VariantRule("pixart-layout", in_channels=4),),
        ),
        lora=LoraSpec(
            markers=("inverted_conv", "conv_inverted", "attn1_to_q"),
            widths={2240: "1.6B"},  # 600M (1152) shares PixArt's width: such LoRAs stay other
        ),
        text_encoders=("gemma2_2b",),
        vae="dc_ae",
        modelspec=("sana",),
        diffusers=("SanaPipeline", "SanaPAG", "SanaSprint", "SanaControlNet", "SanaTransformer2DModel"),
    ),
    ArchitectureRow(
        Architecture.AURAFLOW,
        "AuraFlow",
        checkpoint=CheckpointSpec(
            signatures=(
                _sig(
                    "double_layers.0.attn.w2q.weight",
                    "double_layers.0.attn.w1q.weight",
                    "cond_seq_linear.weight",
                    "t_embedder.mlp.0.weight",
                ),
                _sig("register_tokens", "joint_transformer_blocks.0.attn.to_q.weight"),
            ),
            width=(("cond_seq_linear.weight", 0), ("context_embedder.weight", 0)),
            text_width=(("cond_seq_linear.weight", 1), ("context_embedder.weight", 1)),
            widths={3072: "6.8B"},
        ),
        lora=LoraSpec(
            markers=("double_layers", "single_layers", "joint_transformer_blocks"), widths={3072: ""}
        ),
        text_encoders=("umt5_xl",),
        vae="sdxl_vae",
        civitai=(("AuraFlow", "AuraFlow"), ("Pony V7", "Pony V7")),
        modelspec=("auraflow",),
        diffusers=("AuraFlow",),
    ),
    ArchitectureRow(
        Architecture.HIDREAM,
        "HiDream",
        checkpoint=CheckpointSpec(
            signatures=(_sig("double_stream_blocks.0.block.adaLN_modulation.1.bias"),),
            width=(("double_stream_blocks.0.block.adaLN_modulation.1.weight", 1),),
            widths={2560: "17B"},
        ),
        lora=LoraSpec(markers=("double_stream_blocks", "single_stream_blocks"), widths={2560: ""}),
        text_encoders=("clip_l", "clip_g", "t5xxl", "llama31_8b"),
        vae="flux_vae",
        civitai=(("HiDream", "HiDream"),),
        modelspec=("hidream",),
        kohya_bases=("hidream",),
        diffusers=("HiDreamImage",),
    ),
    ArchitectureRow(
        Architecture.ANIMA,
        "Anima",
        checkpoint=CheckpointSpec(
            signatures=(
                _sig("llm_adapter.embed.weight"),
                _sig("llm_adapter.blocks.0.cross_attn.q_proj.weight"),
            ),
            width=(("x_embedder.proj.1.weight", 0),),
            in_channels=(("x_embedder.proj.1.weight", 1),),
            text_width=(("blocks.0.cross_attn.k_proj.weight", 1),),
            widths={2048: "2B"},
        ),
        lora=LoraSpec(
            markers=(
                "llm_adapter",
                "mlp_layer1",
                "self_attn_output_proj",
                "adaln_modulation_self_attn",
                "norm1_linear_1",
            ),
            widths={2048: "2B"},
            note="Cosmos-Predict2 2B layout; Anima is the 2B fine-tune LoRAs are trained for",
        ),
        text_encoders=("qwen3_06b",),
        vae="qwen_image_vae",
        civitai=(("Anima", "Anima"),),
        modelspec=("anima",),
        kohya_bases=("anima",),
        diffusers=("AnimaModularPipeline", "AnimaPipeline"),
    ),
    ArchitectureRow(
        Architecture.COSMOS,
        "Cosmos",
        video=True,
        checkpoint=CheckpointSpec(
            signatures=(
                _sig(
                    "x_embedder.proj.1.weight",
                    "blocks.0.self_attn.q_proj.weight",
                    "pos_embedder.dim_spatial_range",
                ),
                _sig(
                    "x_embedder.proj.1.weight",
                    "blocks.block1.blocks.0.block.attn.to_q.0.weight",
                    "extra_pos_embedder.pos_emb_h",
                ),
                _sig("time_embed.t_embedder.linear_1.weight", "patch_embed.proj.weight"),
            ),
            width=(("x_embedder.proj.1.weight", 0), ("patch_embed.proj.weight", 0)),
            in_channels=(("x_embedder.proj.1.weight", 1), ("patch_embed.proj.weight", 1)),
            widths={2048: "2B", 4096: "7B", 5120: "14B"},
            variants=(
                VariantRule("predict2-t2i", in_channels=68, present="blocks.0.self_attn.q_proj.weight"),
                VariantRule("predict2-v2w", in_channels=72, present="blocks.0.self_attn.q_proj.weight"),
                VariantRule("1.0-t2w", in_channels=68, present="extra_pos_embedder.pos_emb_h"),
                VariantRule("1.0-v2w", in_channels=72, present="extra_pos_embedder.pos_emb_h"),
                VariantRule("1.0-t2w", in_channels=68, present="learnable_pos_embed.pos_emb_h"),
                VariantRule("1.0-v2w", in_channels=72, present="learnable_pos_embed.pos_emb_h"),
            ),
        ),
        lora=LoraSpec(
            markers=("mlp_layer1", "self_attn_output_proj", "adaln_modulation_self_attn", "norm1_linear_1"),
            widths={5120: "14B", 4096: "7B"},
        ),
        text_encoders=("t5_11b",),
        vae="wan_vae",
        modelspec=("cosmos",),
        diffusers=(
            "CosmosTextToWorld",
            "CosmosVideoToWorld",
            "Cosmos2TextToImage",
            "Cosmos2VideoToWorld",
            "CosmosTransformer3DModel",
        ),
    ),
    ArchitectureRow(
        Architecture.WAN,
        "Wan",
        video=True,
        checkpoint=CheckpointSpec(
            signatures=(
                _sig("head.modulation"),
                _sig("condition_embedder.time_proj.weight", "patch_embedding.weight"),
            ),
            width=(("patch_embedding.weight", 0),),
            in_channels=(("patch_embedding.weight", 1),),
            text_width=(
                ("text_embedding.0.weight", 1),
                ("condition_embedder.text_embedder.linear_1.weight", 1),
            ),
            widths={1536: "1.3B", 5120: "14B", 3072: "5B"},
            variants=(
                VariantRule("vace", present="vace_blocks.0.after_proj.bias"),
                VariantRule("animate", present="motion_encoder.dec.direction.weight"),
                VariantRule("2.2-ti2v-5b", width=3072, in_channels=48),
                VariantRule("2.1-i2v", in_channels=36, present="img_emb.proj.0.weight"),
                VariantRule("2.2-i2v", in_channels=36),
                VariantRule("t2v", in_channels=16),
            ),
        ),
        lora=LoraSpec(
            markers=("_ffn_", "cross_attn_k_img"),
            widths={1536: "1.3B", 5120: "14B", 3072: "5B"},
            blocks="blocks",
            depths={1536: 30, 5120: 40, 3072: 30},
        ),
        text_encoders=("umt5_xxl",),
        vae="wan_vae",
        civitai=(
            ("Wan Video", "Wan Video"),
            ("Wan Video 1.3B t2v", "Wan Video 1.3B t2v"),
            ("Wan Video 14B t2v", "Wan Video 14B t2v"),
            ("Wan Video 14B i2v 480p", "Wan Video 14B i2v 480p"),
            ("Wan Video 14B i2v 720p", "Wan Video 14B i2v 720p"),
            ("Wan Video 2.2 TI2V-5B", "Wan Video 2.2 TI2V-5B"),
            ("Wan Video 2.2 I2V-A14B", "Wan Video 2.2 I2V-A14B"),
            ("Wan Video 2.2 T2V-A14B", "Wan Video 2.2 T2V-A14B"),
            ("Wan Video 2.5 T2V", "Wan Video 2.5 T2V"),
            ("Wan Video 2.5 I2V", "Wan Video 2.5 I2V"),
            ("Wan Image 2.7", "Wan Image 2.7"),
            ("Wan Video 2.7", "Wan Video 2.7"),
        ),
        modelspec=("wan",),
        kohya_bases=("wan",),
        diffusers=(
            "WanPipeline",
            "WanImageToVideo",
            "WanVACE",
            "WanAnimate",
            "WanVideoToVideo",
            "WanTransformer3DModel",
            "Wan22",
        ),
    ),
    ArchitectureRow(
        Architecture.HUNYUAN_VIDEO,
        "Hunyuan Video",
        video=True,
        checkpoint=CheckpointSpec(
            signatures=(
                _sig("txt_in.individual_token_refiner.blocks.0.adaLN_modulation.1.bias"),
                _sig(
                    "context_embedder.token_refiner.refiner_blocks.0.norm1.weight", "x_embedder.proj.weight"
                ),
            ),
            width=(("img_in.proj.weight", 0), ("x_embedder.proj.weight", 0)),
            in_channels=(("img_in.proj.weight", 1), ("x_embedder.proj.weight", 1)),
            text_width=(("txt_in.input_embedder.weight", 1), ("context_embedder.proj_in.weight", 1)),
            widths={3072: "13B"},
            variants=(VariantRule("t2v", in_channels=16), VariantRule("i2v", in_channels=33)),
        ),
        lora=LoraSpec(
            markers=(
                "individual_token_refiner",
                "token_refiner_refiner_blocks",
                "img_mod_linear",
                "img_mlp_fc1",
                "double_blocks_19_",
                "single_blocks_39_",
                "single_transformer_blocks_39_",
            ),
            widths={3072: ""},
            # diffusers' double-stream blocks: 20 of 3072, named and shaped as Flux.1's and Qwen-Image's
            blocks="transformer_blocks",
            depths={3072: 20},
        ),
        text_encoders=("llava_llama3_8b", "clip_l"),
        vae="hunyuan_video_vae",
        civitai=(("Hunyuan Video", "Hunyuan Video"),),
        modelspec=("hunyuan-video",),
        kohya_bases=("hunyuan_video", "hunyuan-video"),
        diffusers=(
            "HunyuanVideoPipeline",
            "HunyuanVideoImageToVideo",
            "HunyuanVideoFramepack",
            "HunyuanVideoTransformer3DModel",
        ),
    ),
    ArchitectureRow(
        Architecture.LTX2,
        "LTX-2",
        video=True,
        checkpoint=CheckpointSpec(
            signatures=(
                _sig("av_ca_a2v_gate_adaln_single.emb.timestep_embedder.linear_1.weight"),
                _sig("audio_patchify_proj.weight"),
                _sig("audio_proj_in.weight", "proj_in.weight"),
            ),
            width=(("patchify_proj.weight", 0), ("proj_in.weight", 0)),
            in_channels=(("patchify_proj.weight", 1), ("proj_in.weight", 1)),
            widths={4096: "19B"},
        ),
        lora=LoraSpec(
            markers=("audio_attn", "audio_ff", "audio_to_video", "video_to_audio"),
            widths={4096: "", 2048: ""},
        ),
        text_encoders=("gemma3_12b",),
        vae="ltx2_vae",
        civitai=(("LTXV2", "LTX-2"), ("LTXV 2.3", "LTX-2.3")),
        modelspec=("ltx-2", "ltx2"),
        kohya_bases=("ltx2", "ltx-2"),
        diffusers=("LTX2",),
    ),
    ArchitectureRow(
        Architecture.LTX_VIDEO,
        "LTX-Video",
        video=True,
        checkpoint=CheckpointSpec(
            signatures=(
                _sig("patchify_proj.weight"),
                _sig("proj_in.weight", "caption_projection.linear_1.weight"),
            ),
            width=(("patchify_proj.weight", 0), ("proj_in.weight", 0)),
            in_channels=(("patchify_proj.weight", 1), ("proj_in.weight", 1)),
            text_width=(("caption_projection.linear_1.weight", 1),),
            widths={2048: "2B", 4096: "13B"},
        ),
        lora=LoraSpec(
            markers=("transformer_blocks_0_attn1",),
            widths={2048: "2B", 4096: "13B"},
            excludes=("norm1_linear_1", "conv_inverted", "add_q_proj"),
        ),
        text_encoders=("t5xxl",),
        vae="ltx_video_vae",
        civitai=(("LTXV", "LTX-Video"),),
        modelspec=("ltx-video", "ltxv"),
        kohya_bases=("ltx_video", "ltxv"),
        diffusers=("LTXPipeline", "LTXCondition", "LTXImageToVideo", "LTXI2V", "LTXVideoTransformer3DModel"),
    ),
    ArchitectureRow(
        Architecture.MOCHI,
        "Mochi",
        video=True,
        checkpoint=CheckpointSpec(
            signatures=(
                _sig("blocks.0.attn.qkv_x.weight"),
                _sig("pos_frequencies", "transformer_blocks.0.attn1.to_q.weight"),
            ),
            width=(("blocks.0.attn.qkv_x.weight", 1), ("transformer_blocks.0.attn1.to_q.weight", 1)),
            in_channels=(("x_embedder.proj.weight", 1), ("patch_embed.proj.weight", 1)),
            widths={3072: "10B"},
        ),
        lora=LoraSpec(
            markers=("qkv_x", "mlp_x", "mlp_y", "proj_x", "attn1_add_q_proj", "norm1_context_linear_1"),
            widths={3072: ""},
        ),
        text_encoders=("t5xxl",),
        vae="mochi_vae",
        civitai=(("Mochi", "Mochi"),),
        modelspec=("mochi",),
        diffusers=("Mochi",),
    ),
    ArchitectureRow(
        Architecture.ERNIE_IMAGE,
        "ERNIE-Image",
        checkpoint=CheckpointSpec(
            signatures=(_sig("layers.0.self_attention.to_q.weight", "text_proj.weight"),),
            width=(("text_proj.weight", 0),),
            in_channels=(("x_embedder.proj.weight", 1),),
            text_width=(("text_proj.weight", 1),),
            widths={3072: "8B"},
        ),
        lora=LoraSpec(
            markers=("self_attention_to_q", "adaLN_sa_ln", "self_attention_to_k"), widths={3072: ""}
        ),
        text_encoders=("mistral3_3b",),
        vae="flux2_vae",
        civitai=(("Ernie", "ERNIE-Image"),),
        modelspec=("ernie",),
        diffusers=("ErnieImage",),
    ),
    ArchitectureRow(
        Architecture.MINIMAX_H3,
        "MiniMax-H3",
        video=True,
        checkpoint=CheckpointSpec(
            signatures=(_sig("token_refiner.blocks.0.attn.qkv_proj.weight"),),
            width=(("token_refiner.blocks.0.attn.qkv_proj.weight", 1),),
        ),
        diffusers=("MiniMaxH3",),
    ),
    ArchitectureRow(
        Architecture.HUNYUAN_DIT,
        "Hunyuan-DiT",
        checkpoint=CheckpointSpec(
            # The learned padding of its two text encoders' states, with the mT5 projection (Tencent's
            # names) or diffusers' text embedder (``HunyuanDiT2DModel``).
            signatures=(
                _sig("text_embedding_padding", "mlp_t5.0.weight"),
                _sig("text_embedding_padding", "text_embedder.linear_1.weight"),
            ),
            width=(("x_embedder.proj.weight", 0), ("pos_embed.proj.weight", 0)),
            in_channels=(("x_embedder.proj.weight", 1), ("pos_embed.proj.weight", 1)),
            text_width=(("mlp_t5.0.weight", 1), ("text_embedder.linear_1.weight", 1)),
            widths={1408: "1.5B"},
        ),
        vae="sdxl_vae",
        civitai=(("Hunyuan 1", "Hunyuan-DiT"),),
        modelspec=("hunyuan-dit",),
        diffusers=("HunyuanDiT",),
    ),
    ArchitectureRow(
        Architecture.PIXART,
        "PixArt",
        checkpoint=CheckpointSpec(
            # PixArt-Σ 1024 files need not carry the (fixed) position table: the plain MLP tells them too.
            signatures=(
                _sig("blocks.0.cross_attn.q_linear.weight", "pos_embed"),
                _sig("blocks.0.cross_attn.q_linear.weight", "blocks.0.mlp.fc1.weight"),
            ),
            width=(("x_embedder.proj.weight", 0),),
            in_channels=(("x_embedder.proj.weight", 1),),
            text_width=(("y_embedder.y_proj.fc1.weight", 1),),
            widths={1152: "600M"},
        ),
        text_encoders=("t5xxl",),
        vae="sdxl_vae",
        civitai=(("PixArt a", "PixArt α"), ("PixArt E", "PixArt Σ")),
        modelspec=("pixart",),
        diffusers=("PixArt",),
    ),
)

ROW_OF: Mapping[Architecture, ArchitectureRow] = MappingProxyType({row.architecture: row for row in ROWS})
CHECKPOINT_ROWS: tuple[ArchitectureRow, ...] = tuple(row for row in ROWS if row.checkpoint is not None)
LORA_ROWS: tuple[ArchitectureRow, ...] = tuple(row for row in ROWS if row.lora is not None)
MEASURED_ROWS: tuple[ArchitectureRow, ...] = tuple(row for row in ROWS if row.measured is not None)


def measured_rows(rule: str) -> tuple[tuple[ArchitectureRow, MeasuredSpec], ...]:
    """The rows a shared rule (``sd_unet``, ``flux``, ``mmdit``) tells apart, each with its values."""
    return tuple(
        (row, row.measured) for row in MEASURED_ROWS if row.measured is not None and row.measured.rule == rule
    )


def measured_spec(arch: Architecture) -> MeasuredSpec:
    """The measured values of ``arch``'s row (for the shared rules that read one family's values)."""
    spec = ROW_OF[arch].measured
    if spec is None:
        raise KeyError(f"the {arch.value} row has no measured values")
    return spec


def width_families(rule: str, attribute: str) -> Mapping[int, Architecture]:
    """Each width a rule's rows list under ``attribute`` (``context_widths``, ``adm_widths``...) -> its
    family; a width two rows claim is a mistake in the table (checked at import)."""
    found: dict[int, Architecture] = {}
    for row, spec in measured_rows(rule):
        for width in getattr(spec, attribute):
            assert width not in found, f"{attribute} {width} listed for two {rule} families"
            found[width] = row.architecture
    return MappingProxyType(found)


# -- text encoders and VAEs -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncoderRow:
    """A text encoder as it is stored alone: which kind of network, at which width."""

    id: str
    name: str
    family: str  # "clip", "openclip", "t5", "umt5", "qwen2", "qwen3", "gemma", "llama", "mistral"
    width: int


ENCODERS: tuple[EncoderRow, ...] = (
    EncoderRow("clip_l", "CLIP-L", "clip", 768),
    EncoderRow("clip_g", "CLIP-G (OpenCLIP bigG)", "openclip", 1280),
    EncoderRow("openclip_bigg", "OpenCLIP bigG", "openclip", 1280),
    EncoderRow("openclip_h", "OpenCLIP ViT-H", "openclip", 1024),
    EncoderRow("t5xxl", "T5-XXL", "t5", 4096),
    EncoderRow("t5_11b", "T5 11B", "t5", 1024),
    EncoderRow("umt5_xxl", "UMT5-XXL", "umt5", 4096),
    EncoderRow("umt5_xl", "UMT5-XL (Pile-T5)", "umt5", 2048),
    EncoderRow("qwen25_vl_7b", "Qwen2.5-VL 7B", "qwen2", 3584),
    EncoderRow("qwen3_06b", "Qwen3 0.6B", "qwen3", 1024),
    EncoderRow("qwen3_4b", "Qwen3 4B", "qwen3", 2560),
    EncoderRow("qwen3_8b", "Qwen3 8B", "qwen3", 4096),
    EncoderRow("qwen3_vl_4b", "Qwen3-VL 4B", "qwen3_vl", 2560),
    EncoderRow("qwen3_vl_8b", "Qwen3-VL 8B", "qwen3_vl", 4096),
    EncoderRow("qwen3_vl", "Qwen3-VL", "qwen3_vl", 0),
    EncoderRow("gemma2_2b", "Gemma 2 2B", "gemma", 2304),
    EncoderRow("gemma3_12b", "Gemma 3 12B", "gemma", 3840),
    EncoderRow("llama31_8b", "Llama 3.1 8B", "llama", 4096),
    EncoderRow("llava_llama3_8b", "LLaVA Llama 3 8B", "llama", 4096),
    EncoderRow("mistral3_small", "Mistral Small 3", "mistral", 5120),
    EncoderRow("mistral3_3b", "Ministral 3B", "mistral", 3072),
)
ENCODER_OF: Mapping[str, EncoderRow] = MappingProxyType({row.id: row for row in ENCODERS})


@dataclass(frozen=True, slots=True)
class VaeRow:
    """An autoencoder layout: its latent channels, and for the non-SD layouts the key that marks them and
    the tensor whose input width is the latent channel count (``marker``/``latent``, bare names)."""

    id: str
    name: str
    latent_channels: int
    marker: str | None = None  # None = the SD-style encoder/decoder (``vae.py`` decides those)
    latent: Measure | None = None
    also_for: tuple[Architecture, ...] = ()  # families using it beyond their row's main ``vae``


_WAN_MARK = "decoder.middle.0.residual.0.gamma"
_CAUSAL_MARK = "decoder.conv_in.conv.weight"
_CAUSAL_LATENT = ("decoder.conv_in.conv.weight", 1)

VAES: tuple[VaeRow, ...] = (
    VaeRow("sd_vae", "SD VAE", 4),
    VaeRow("sdxl_vae", "SDXL VAE", 4),
    VaeRow("sd3_vae", "SD3 VAE", 16),
    VaeRow("flux_vae", "FLUX.1 AE", 16),
    VaeRow("flux2_vae", "FLUX.2 AE", 32),
    VaeRow(
        "dc_ae",
        "DC-AE (deep compression)",
        32,
        marker="decoder.stages.1.op_list.0.main.conv.conv.bias",
        latent=("decoder.project_in.main.conv.weight", 1),
    ),
    VaeRow("wan_vae", "Wan 2.1 VAE", 16, marker=_WAN_MARK, latent=("decoder.conv1.weight", 1)),
    VaeRow(
        "wan22_vae",
        "Wan 2.2 VAE",
        48,
        marker=_WAN_MARK,
        latent=("decoder.conv1.weight", 1),
        also_for=(Architecture.WAN,),  # Wan 2.2 TI2V-5B
    ),
    VaeRow("qwen_image_vae", "Qwen-Image VAE", 16, marker=_WAN_MARK, latent=("decoder.conv1.weight", 1)),
    VaeRow("qwen_image_21_vae", "Qwen-Image 2.1 VAE", 0),
    VaeRow("hunyuan_video_vae", "Hunyuan Video VAE", 16, marker=_CAUSAL_MARK, latent=_CAUSAL_LATENT),
    VaeRow("ltx_video_vae", "LTX-Video VAE", 128, marker=_CAUSAL_MARK, latent=_CAUSAL_LATENT),
    VaeRow("ltx2_vae", "LTX-2 VAE", 128, marker=_CAUSAL_MARK, latent=_CAUSAL_LATENT),
    VaeRow("mochi_vae", "Mochi VAE", 12),
)
VAE_OF: Mapping[str, VaeRow] = MappingProxyType({row.id: row for row in VAES})
VAE_MARKERS: tuple[str, ...] = tuple(dict.fromkeys(row.marker for row in VAES if row.marker))


def users_of_encoder(encoder_id: str) -> tuple[Architecture, ...]:
    """The families whose rows list ``encoder_id``, or an encoder a header cannot tell from it (same kind
    of network, same width: Llama 3.1 8B and LLaVA-Llama-3 8B), in table order."""
    row = ENCODER_OF.get(encoder_id)
    twins = [e.id for e in ENCODERS if row and (e.family, e.width) == (row.family, row.width)] or [encoder_id]
    found = {arch for twin in twins for arch in _ENCODER_USERS.get(twin, ())}
    return tuple(arch for arch in _ROW_ORDER if arch in found)


def loras_shared(lora: Architecture, checkpoint: Architecture) -> bool:
    """Whether a LoRA made for ``lora`` goes on a ``checkpoint`` of that family: the same family, or rows
    that say they share LoRAs (``ArchitectureRow.shares_loras_with``, either way round)."""
    if lora is checkpoint:
        return True
    mine, theirs = ROW_OF.get(lora), ROW_OF.get(checkpoint)
    return bool(
        (mine is not None and checkpoint in mine.shares_loras_with)
        or (theirs is not None and lora in theirs.shares_loras_with)
    )


def users_of_vae(vae_id: str) -> tuple[Architecture, ...]:
    """The families that decode with ``vae_id``, in table order."""
    row = VAE_OF.get(vae_id)
    found = {*_VAE_USERS.get(vae_id, ()), *(row.also_for if row else ())}
    return tuple(arch for arch in _ROW_ORDER if arch in found)


def _users(attribute: str) -> dict[str, tuple[Architecture, ...]]:
    found: dict[str, list[Architecture]] = {}
    for row in ROWS:
        value = getattr(row, attribute)
        for item in (value,) if isinstance(value, str) else value or ():
            found.setdefault(item, []).append(row.architecture)
    return {key: tuple(archs) for key, archs in found.items()}


_ENCODER_USERS = _users("text_encoders")
_ROW_ORDER = tuple(row.architecture for row in ROWS)
_VAE_USERS = _users("vae")


# -- words other tools use ------------------------------------------------------------------------------


def _normalised(label: str) -> str:
    # "Flux .1 D", "Aura Flow", "flux.1 d": clients spell labels loosely; compare without spaces or case.
    return "".join(label.split()).casefold()


CIVITAI_LABELS: Mapping[str, str] = MappingProxyType(
    {value: shown for row in ROWS for value, shown in row.civitai}
)
"""Civitai ``baseModel`` value -> how the window shows it, for every label a row claims."""

_CIVITAI_ARCHITECTURE = {_normalised(value): row.architecture for row in ROWS for value, _ in row.civitai}


def architecture_of_base_model(label: str | None) -> Architecture | None:
    """The family a Civitai ``baseModel`` label names ("Pony" -> SDXL, "Flux.1 Krea" -> Flux.1), or None."""
    if not label:
        return None
    return _CIVITAI_ARCHITECTURE.get(_normalised(label))


def _prefix_table(attribute: str) -> tuple[tuple[str, Architecture], ...]:
    # Longest first, so "stable-diffusion-xl-v1-refiner" wins over "stable-diffusion-xl", "flux2" over "flux".
    pairs = [(prefix, row.architecture) for row in ROWS for prefix in getattr(row, attribute)]
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


MODELSPEC_PREFIXES: tuple[tuple[str, Architecture], ...] = _prefix_table("modelspec")
KOHYA_BASE_PREFIXES: tuple[tuple[str, Architecture], ...] = _prefix_table("kohya_bases")
KOHYA_NETWORK_MODULES: Mapping[str, Architecture] = MappingProxyType(
    {module: row.architecture for row in ROWS for module in row.kohya_networks}
)
INVOKEAI_BASE_OF: Mapping[Architecture, str] = MappingProxyType(
    {row.architecture: row.invokeai_base for row in ROWS if row.invokeai_base}
)
_DIFFUSERS_PREFIXES = sorted(
    ((prefix, row.architecture) for row in ROWS for prefix in row.diffusers), key=lambda pair: -len(pair[0])
)


def architecture_of_diffusers_class(class_name: str) -> Architecture | None:
    """The family of a diffusers pipeline or model class ("QwenImageEditPlusPipeline" -> Qwen-Image),
    by the longest class-name prefix a row claims; None for a class no row claims."""
    return next((arch for prefix, arch in _DIFFUSERS_PREFIXES if class_name.startswith(prefix)), None)


SHORT_NAMES: Mapping[Architecture, str] = MappingProxyType({row.architecture: row.short_name for row in ROWS})
