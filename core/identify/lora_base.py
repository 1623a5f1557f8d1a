"""Which model a LoRA-family file was trained for.

The tensors decide; embedded metadata (``ss_base_model_version``, ``ss_v2``, ``modelspec.architecture``)
only fills the gap when the tensors cannot, and a disagreement is recorded, because metadata survives
conversions and merges that change what a file is.

Rules, strongest first:
- the vocabulary table's LoRA fingerprints (``vocabulary.LORA_ROWS``): a family's module names AND its
  hidden width must agree; names of a family with a width none of its models has give ``other`` with the
  nearest family in the reasons, never a wrong family. SD UNet LoRAs skip this (their names say UNet);
- transformer names: ``double_blocks``/``single_blocks``/``single_transformer_blocks`` => Flux, split
  Flux.1/Flux.2 by width (``dit.py`` explains why the text width matters); ``joint_blocks`` => SD3;
- a generic block list (``transformer_blocks.N``, ``blocks.N``) with no family's own layer names: the
  family whose list of that name and width has exactly that many blocks; else every family whose list is
  at least as deep as the deepest block adapted (Flux.1's 19 double blocks, Qwen-Image's 60: blocks 20-59
  are Qwen-Image's alone, blocks 0-18 either's, left to the metadata or a site's label);
- UNet cross-attention ``to_k``/``to_v`` in-features (InvokeAI ``lora_token_vector_length``): 768 SD1,
  1024 SD2, 2048 SDXL, 1280 SDXL refiner;
- text-encoder widths (only for CLIP text encoders, and only when the rest of the file is an SD UNet or
  absent: an LLM encoder of 1024 beside a transformer is not SD2): a second encoder
  (``lora_te2_``/``text_encoder_2.``) => SDXL (768 + 1280 = 2048);
  a single one 768 => SD1, 1024 => SD2; but kohya's ``lora_te1_`` (the first of two or three encoders:
  SDXL, Flux.1, SD3; SD1 writes ``lora_te_``) alone is never SD1: SDXL, unless the metadata names Flux.1
  or SD3 (``metadata_choices``);
- names alone: kohya UNet names in SGM paths (``input_blocks``...) are only written for SDXL, and a
  ``transformer_blocks`` index >= 2 exists only in SDXL (InvokeAI ``_state_dict_looks_like_sdxl_unet_lora``).
"""

from __future__ import annotations

import itertools
import operator
import re
from collections import Counter
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

from core.identify.families import CONTEXT_DIM_FAMILIES, TEXT_ENCODER_FAMILIES
from core.identify.lora_scan import TEXT_ENCODER_PREFIXES, LoraScan, lokr_in_dim
from core.identify.view import HeaderView
from core.identify.vocabulary import LORA_ROWS, ArchitectureRow, measured_spec
from core.taxonomy import Architecture

_FLUX_NAMES = ("double_blocks", "single_blocks", "single_transformer_blocks")
_FLUX2_NAMES = ("double_stream_modulation", "single_stream_modulation", "to_qkv_mlp_proj")


# The hidden sizes each family's LoRAs read are its row's data (``vocabulary.MeasuredSpec.lora_widths``).
_FLUX1_HIDDEN = next(iter(measured_spec(Architecture.FLUX1).lora_widths))
_FLUX2_HIDDEN = measured_spec(Architecture.FLUX2).lora_widths
# Fused single-block input layer out-features (3 x hidden + MLP): Flux.1 GELU MLP vs Flux.2 SwiGLU MLP.
_FLUX1_LINEAR1 = 21504
_FLUX2_LINEAR1 = 27648
_SD3_HIDDEN = measured_spec(Architecture.SD3).lora_widths
_FLUX1_DEPTH = measured_spec(Architecture.FLUX1).depth or 0
_FLUX1_BLOCKS = "transformer_blocks"  # Flux.1's double blocks in diffusers naming
# Layer names of Flux.1's double blocks that no other family's ``transformer_blocks`` carry.
_FLUX1_DOUBLE_NAMES = ("ff_context", "norm1_context")
# Flux.1's double blocks and the table's ``transformer_blocks`` lists (Qwen-Image's) name their attention
# ``attn``; ``attn1``/``attn2`` in that list is another family's (Mochi's, LTX-Video's), whose depth says
# nothing about theirs.
_NUMBERED_ATTENTION = re.compile(r"transformer_blocks[._]\d+[._]attn[12][._]")
# A generic block list right after the dialect prefix: ``transformer_blocks.N.`` / ``blocks_N_`` (never
# ``single_transformer_blocks`` or ``double_blocks``, whose own names say the family).
_GENERIC_BLOCK = re.compile(
    # ``transformer_`` is a prefix only when no ``blocks`` list follows it: a bare diffusers name
    # (``transformer_blocks.0.attn.to_q``, no ``transformer.`` before it) is the block list itself.
    r"^(?:lora_unet_|lora_transformer_|lycoris_|diffusion_model[._]|transformer\.|transformer_(?!blocks[._]\d)"
    r"|base_model[._]model[._])?"
    r"(transformer_blocks|blocks)[._](\d+)[._]",
    re.MULTILINE,
)
_SGM_UNET = re.compile(r"lora_unet_(?:input_blocks|output_blocks|middle_block)_")
_DEEP_TRANSFORMER = re.compile(
    r"(?:down|up|mid)_?blocks?[._]\d*[._]?attentions[._]\d+[._]transformer_blocks[._](?:[2-9]|\d\d)"
)
# SD3 by names alone: SAI's joint blocks, or in diffusers naming MMDiT-X's second attention (SD3.5 medium)
# inside transformer blocks and the positional embedding projection no other family adapts.
_SD3_NAMES = ("joint_blocks", "pos_embed_proj")
_MMDIT_X = re.compile(r"transformer_blocks_\d+_attn2_")
UNET_FAMILIES = (Architecture.SD1, Architecture.SD2, Architecture.SDXL, Architecture.SDXL_REFINER)
# Module names only an SD UNet has (kohya underscores or diffusers dots, compared with dots as underscores).
_UNET_NAMES = ("down_blocks", "up_blocks", "mid_block", "input_blocks", "output_blocks", "middle_block")
_CLIP_NAMES = ("text_model", "encoder_layers")
# Names that start a diffusion transformer's modules: diffusers' ``transformer.`` prefix (or OneTrainer's),
# or a PEFT file saved from the transformer itself, whose names start at its block list.
# kohya's and musubi's ``lora_unet_transformer_blocks_`` too: an SD UNet's kohya names start at its own block
# lists (``lora_unet_down_blocks_``, ``lora_unet_input_blocks_``...), never at ``transformer_blocks``.
_DIT_STARTS = ("transformer.", "lora_transformer_", "transformer_blocks.", "lora_unet_transformer_blocks_")
_TEXT_PREFIXES = tuple(prefix for _, prefixes in TEXT_ENCODER_PREFIXES for prefix in prefixes)
_WIDTH_SAMPLE = 256
_SELF_ATTENTION = "self_attn"  # kohya's ``self_attn_q`` and diffusers' ``self_attn.q`` alike
_ADAPTER = "adapter"
_MODULE = itemgetter(0)
# kohya sd-scripts name the first of several text encoders (CLIP-L, 768 wide) ``lora_te1_``: its SDXL, Flux.1
# and SD3 networks do (``sdxl_train_network``, ``lora_flux``, ``lora_sd3``); SD1/SD2 LoRAs say ``lora_te_``. A
# LoRA of that encoder alone fits each of them: SDXL, the commonest, unless its metadata names another.
KOHYA_TE1 = "lora_te1_"
KOHYA_TE1_FAMILIES = (Architecture.SDXL, Architecture.FLUX1, Architecture.SD3)
_CLIP_L_WIDTH = 768
_ROUTING_SAMPLE = 32


def tensor_architecture(scan: LoraScan) -> tuple[Architecture, tuple[str, ...]]:
    """The family the tensors alone say, with the evidence: a pure function of the tensor table."""
    # Routing by block names needs only a sample: a transformer LoRA's modules are nearly all blocks.
    sample = "\n".join(scan.sample(_ROUTING_SAMPLE))
    # UNet names hold no dots, so the raw sample answers for an SD LoRA without building the full list.
    # The table's markers are looked for in the sample first (a family's block names fill its LoRAs), and in
    # every module name only when the sample shows none (a rare marker: Chroma's distilled_guidance_layer).
    unet = any(name in sample for name in _UNET_NAMES)
    names = ""
    found, nearest = (None, None) if unet else _table_family(scan, sample.replace(".", "_"))
    if found is None and not unet:
        names = scan.module_blob().replace(".", "_")
        unet = any(name in names for name in _UNET_NAMES)
        if not unet:
            found, nearest_in_all = _table_family(scan, names)
            nearest = nearest or nearest_in_all
    if found is not None:
        return found[0], tuple(found[1])
    arch, reasons = _older_rules(scan, sample, names, unet)
    if nearest is not None and arch in (Architecture.OTHER, Architecture.UNKNOWN):
        return Architecture.OTHER, (*reasons, nearest)
    return arch, tuple(reasons)


def named_architectures(scan: LoraScan) -> tuple[Architecture, ...]:
    """The families whose LoRA module names the file carries, its widths unchecked, in table order.

    ``tensor_architecture`` names a family only when names and width agree; this is its name half, for a
    reader that measures the widths itself: the renderer holds the loaded model, whose layers check every
    width of the LoRA, and needs only to know whose names a LoRA of an unreleased width (a tiny or pruned
    model) carries. Several families share names (Qwen-Image and Qwen-Image 2, Z-Image and Lumina 2: only
    the width tells them apart), so all of them are returned; an SD UNet's names give the UNet families.
    """
    names = scan.module_blob().replace(".", "_")
    if any(name in names for name in _UNET_NAMES):
        return UNET_FAMILIES
    table = tuple(row.architecture for row in _named_rows(names))
    if table:
        return table
    shared = _partial_block_families(scan)
    if shared:
        return shared
    if any(name in names for name in _FLUX_NAMES):
        flux2 = any(name in names for name in _FLUX2_NAMES)
        return (Architecture.FLUX2,) if flux2 else (Architecture.FLUX1,)
    if any(name in names for name in _SD3_NAMES) or _MMDIT_X.search(names):
        return (Architecture.SD3,)
    return ()


def _older_rules(scan: LoraScan, sample: str, names: str, unet: bool) -> tuple[Architecture, list[str]]:
    """Flux.1/Flux.2, SD3 and the SD UNet families, by their own measurements."""
    by_depth = None if unet else _family_by_depth(scan)
    if any(name in sample for name in _FLUX_NAMES):
        arch, reasons = _flux_family(scan, scan.module_blob())
    elif "joint_blocks" in sample:
        arch, reasons = Architecture.SD3, ["joint_blocks modules => sd3 (MMDiT)"]
    elif by_depth is not None:
        arch, reasons = by_depth
    elif sample.startswith(_DIT_STARTS) or any(f"\n{start}" in sample for start in _DIT_STARTS):
        arch, reasons = _dit_by_width(scan)
    else:
        arch, reasons = _sd_family(scan, names, unet)
    return arch, reasons


def _denoiser_width(scan: LoraScan) -> int | None:
    """The hidden width: the commonest input width of the adapted self-attention layers, which read the
    hidden state; the commonest of all layers outside the text encoders when none is self-attention.

    Self-attention first because a LoRA may adapt more layers that read other widths than its own blocks:
    an Anima LoRA's cross-attention keys read the 1024-wide text and its LLM adapter is 1024 wide, beside
    2048-wide self-attention (an adapter's own self-attention does not count).
    """
    text = _TEXT_PREFIXES
    down = scan.down[:: max(1, len(scan.down) // _WIDTH_SAMPLE)]  # an even sample: widths repeat per block
    # The self-attention entries are filtered in C: most transformer LoRAs (Flux, Qwen-Image) have none.
    own = [
        entry
        for entry in itertools.compress(
            down, map(operator.contains, map(_MODULE, down), repeat(_SELF_ATTENTION))
        )
        if _ADAPTER not in entry[0] and not entry[0].startswith(text)
    ]
    widths = Counter(shape[1] for _, _, name in own if len(shape := scan.shape(name)) >= 2)
    if not widths:
        widths = Counter(
            shape[1]
            for module, _, name in down
            if not module.startswith(text) and len(shape := scan.shape(name)) >= 2
        )
    if not widths:  # LoKr has no down-projection: its Kronecker factors' widths multiply
        found = (
            lokr_in_dim(scan.tensors, module) for module in scan.lokr_modules() if not module.startswith(text)
        )
        widths = Counter(width for width in found if width)
    return widths.most_common(1)[0][0] if widths else None


def _named_rows(names: str) -> list[ArchitectureRow]:
    """The table rows whose LoRA markers are in ``names`` (underscore form) and none of their excludes."""
    return [
        row
        for row in LORA_ROWS
        if row.lora is not None
        and any(marker in names for marker in row.lora.markers)
        and not any(exclude in names for exclude in row.lora.excludes)
    ]


def _table_family(scan: LoraScan, names: str) -> tuple[tuple[Architecture, list[str]] | None, str | None]:
    """The first table row whose module names and hidden width both fit, with the evidence; else None and,
    when some row's names were there but no width fit, the reason naming the nearest row (the older
    rules may still know the file: Flux.2 dev shares Hunyuan Video's single-block count)."""
    candidates = _named_rows(names)
    if not candidates:
        return None, None
    width = _denoiser_width(scan)
    for row in candidates:
        assert row.lora is not None
        if width is not None and width in row.lora.widths:
            markers = [marker for marker in row.lora.markers if marker in names]
            reasons = [f"{', '.join(markers)} modules => {row.name} names"]
            size = row.lora.widths[width]
            reasons.append(f"hidden size {width}{f' ({size})' if size else ''} => {row.architecture.value}")
            if row.lora.note:
                reasons.append(row.lora.note)
            return (row.architecture, reasons), None
    nearest = candidates[0]
    assert nearest.lora is not None
    known = ", ".join(str(w) for w in nearest.lora.widths)
    seen = ", ".join(m for m in nearest.lora.markers if m in names)
    return None, (
        f"module names like {nearest.name} ({seen}), but hidden size {width} is none of its models' "
        f"({known}): nearest match {nearest.architecture.value}"
    )


def metadata_choices(scan: LoraScan, arch: Architecture) -> tuple[Architecture, ...]:
    """The families the tensors leave open when they said ``arch``, for the metadata to choose among;
    () when the tensors decide alone. Two cases: a kohya LoRA of the ``lora_te1_`` encoder only, and
    attention layers of no deeper a block than several families sharing their names and width have
    (:func:`_partial_block_families`)."""
    if arch is Architecture.OTHER:
        families = _partial_block_families(scan)
        return families if len(families) > 1 else ()
    if arch is not Architecture.SDXL or scan.context_dim is not None or set(scan.text_widths) != {"te1"}:
        return ()
    return KOHYA_TE1_FAMILIES if _kohya_te1_only(scan) else ()


def _kohya_te1_only(scan: LoraScan) -> bool:
    """Every module is kohya's first text encoder (``lora_te1_``): no UNet, transformer or other encoder."""
    blob = scan.module_blob()
    return blob.startswith(KOHYA_TE1) and blob.count("\n") + 1 == blob.count(KOHYA_TE1)


def with_metadata_hint(
    view: HeaderView, arch: Architecture, reasons: list[str], choices: tuple[Architecture, ...] = ()
) -> tuple[Architecture, list[str]]:
    """``arch`` from the tensors, completed or contradicted by the file's embedded metadata (per file).

    ``choices`` are the families the tensors allow when they cannot tell them apart (``metadata_choices``):
    metadata naming one of them decides."""
    hint = view.embedded.architecture_hint()
    if hint is not None:
        claimed, source = hint
        if arch is Architecture.UNKNOWN:
            reasons.append(f"metadata {source} => {claimed.value} (the tensors cannot tell)")
            arch = claimed
        elif claimed is not arch and claimed in choices:
            allowed = ", ".join(choice.value for choice in choices)
            reasons.append(f"metadata {source} => {claimed.value} (the tensors allow {allowed})")
            arch = claimed
        elif claimed is arch:
            reasons.append(f"metadata agrees ({source})")
        else:
            reasons.append(f"metadata {source} says {claimed.value}; the tensors decide {arch.value}")
    return arch, reasons


def _flux_family(scan: LoraScan, blob: str) -> tuple[Architecture, list[str]]:
    reasons = ["double/single transformer block modules => Flux"]
    if any(name in blob for name in _FLUX2_NAMES):
        reasons.append("Flux.2-only layer names (shared stream modulation / fused qkv+mlp) => flux2")
        return Architecture.FLUX2, reasons
    hidden = scan.hidden()
    if hidden is not None and hidden in _FLUX2_HIDDEN:
        reasons.append(f"hidden size {hidden} => flux2 ({_FLUX2_HIDDEN[hidden]})")
        return Architecture.FLUX2, reasons
    fused = scan.out_features("linear1")
    if _FLUX2_LINEAR1 in fused:
        reasons.append(f"single-block linear1 out-features {_FLUX2_LINEAR1} (SwiGLU MLP) => flux2 (klein-4b)")
        return Architecture.FLUX2, reasons
    if hidden == _FLUX1_HIDDEN:
        reasons.append(f"hidden size {hidden} => flux1")
        if _FLUX1_LINEAR1 in fused:
            reasons.append(f"single-block linear1 out-features {_FLUX1_LINEAR1} confirms flux1")
        return Architecture.FLUX1, reasons
    if hidden is None:
        reasons.append("no measurable layer width; Flux.1 block naming => flux1")
        return Architecture.FLUX1, reasons
    reasons.append(f"hidden size {hidden} matches neither Flux.1 ({_FLUX1_HIDDEN}) nor Flux.2")
    return Architecture.OTHER, reasons


class _BlockList(NamedTuple):
    """The generic block list a LoRA's modules sit in: its name, the lowest block index adapted, and the
    blocks the model must have at least (the highest index + 1)."""

    kind: str
    first: int
    depth: int

    def span(self) -> str:
        """The blocks adapted as the reasons say them: ``transformer_blocks 40-45``."""
        return f"{self.kind} {self.first}-{self.depth - 1}"


def _block_depth(blob: str) -> _BlockList | None:
    """The one generic block list the modules sit in, with its lowest and deepest index; None when there
    is none, or two."""
    lowest: dict[str, int] = {}
    deepest: dict[str, int] = {}
    for match in _GENERIC_BLOCK.finditer(blob):
        kind, index = match.group(1), int(match.group(2))
        lowest[kind] = min(lowest.get(kind, index), index)
        deepest[kind] = max(deepest.get(kind, 0), index + 1)
    if len(deepest) != 1:
        return None
    kind, depth = next(iter(deepest.items()))
    return _BlockList(kind, lowest[kind], depth)


def _family_by_depth(scan: LoraScan) -> tuple[Architecture, list[str]] | None:
    """A LoRA of generically named blocks only (attention layers: ``transformer_blocks.N.attn.to_q``), told
    by the table's block counts: the family whose block list, block count and hidden width all agree,
    unless a family with a deeper list of the same name and width fits too (all 20 of Hunyuan Video's
    double blocks read as the first 20 of Qwen-Image's 60): then ``_dit_by_width`` names both."""
    found = _block_depth(scan.module_blob())
    if found is None or len(_partial_block_families(scan)) > 1:
        return None
    kind, _, depth = found
    width = _denoiser_width(scan)
    if width is None:
        return None
    for row in LORA_ROWS:
        spec = row.lora
        if spec is not None and spec.blocks == kind and spec.depths.get(width) == depth:
            size = spec.widths.get(width) or ""
            return row.architecture, [
                f"{found.span()} modules, no family's own layer names",
                f"{depth} blocks of hidden size {width}{f' ({size})' if size else ''} => "
                f"{row.architecture.value} (block count and width agree)",
            ]
    return None


def _partial_block_families(scan: LoraScan) -> tuple[Architecture, ...]:
    """The families a LoRA of some generically named blocks may be for: every family whose block list of
    that name and hidden width is at least as deep as the deepest block adapted. Flux.1's double blocks
    (diffusers' ``transformer_blocks``, 19 of 3072) and the table's lists (Qwen-Image's 60 of 3072...).

    An attention LoRA of Flux.1's double blocks and one of Qwen-Image's first 19 blocks have the same
    names and shapes: both are returned, for the metadata or a site's label to choose; one of blocks 20-59
    fits Qwen-Image alone. A Flux.1-only layer name (``ff_context``) leaves Flux.1 alone; () when no
    family's list is that deep (or there is no single generic block list)."""
    blob = scan.module_blob()
    found = _block_depth(blob)
    if found is None:
        return ()
    if found.kind == _FLUX1_BLOCKS and _NUMBERED_ATTENTION.search(blob):
        return ()
    width = scan.hidden()
    flux1 = found.kind == _FLUX1_BLOCKS and width == _FLUX1_HIDDEN and found.depth <= _FLUX1_DEPTH
    if any(name in blob for name in _FLUX1_DOUBLE_NAMES):
        return (Architecture.FLUX1,) if flux1 else ()
    deep_enough = tuple(
        row.architecture
        for row in LORA_ROWS
        if row.lora is not None
        and row.lora.blocks == found.kind
        and width is not None
        and found.depth <= row.lora.depths.get(width, 0)
    )
    return (Architecture.FLUX1, *deep_enough) if flux1 else deep_enough


def _dit_by_width(scan: LoraScan) -> tuple[Architecture, list[str]]:
    hidden = scan.hidden()
    reasons = ["diffusion-transformer modules (transformer_blocks) without UNet names"]
    blob = scan.module_blob()
    found = _block_depth(blob)
    families = _partial_block_families(scan) if found is not None else ()
    if found is not None and len(families) == 1 and families != (Architecture.FLUX1,):
        family = families[0].value
        reasons.append(
            f"hidden size {hidden}, {found.span()} and no family's own layer names: only {family} has "
            f"{found.depth} or more {found.kind} of that width => {family} (a LoRA of some of its blocks)"
        )
        return families[0], reasons
    if found is not None and len(families) > 1:
        values = [family.value for family in families]
        named = f"{', '.join(values[:-1])} and {values[-1]}"
        reasons.append(
            f"hidden size {hidden}, {found.span()} and no family's own layer names: fits "
            f"{named} alike (a LoRA of some blocks); the metadata or a site's label decides"
        )
        return Architecture.OTHER, reasons
    if hidden == _FLUX1_HIDDEN and _NUMBERED_ATTENTION.search(blob):
        reasons.append(
            f"hidden size {hidden} as Flux.1's, but attention named attn1/attn2 in transformer_blocks "
            "(Flux.1's is attn): the names and the width disagree"
        )
        return Architecture.OTHER, reasons
    if hidden == _FLUX1_HIDDEN and found is not None and found.depth > _FLUX1_DEPTH:
        reasons.append(
            f"hidden size {hidden} as Flux.1's, but {found.span()}: Flux.1 has {_FLUX1_DEPTH} and no "
            "family of that width has that many; the two measurements disagree"
        )
        return Architecture.OTHER, reasons
    if hidden == _FLUX1_HIDDEN:
        reasons.append(f"hidden size {hidden} => flux1")
        return Architecture.FLUX1, reasons
    if hidden is not None and hidden in _SD3_HIDDEN:
        reasons.append(f"hidden size {hidden} => sd3 ({_SD3_HIDDEN[hidden]})")
        return Architecture.SD3, reasons
    reasons.append(f"hidden size {hidden} matches no known transformer family")
    return Architecture.OTHER, reasons


def _sd_family(scan: LoraScan, names: str, unet: bool) -> tuple[Architecture, list[str]]:
    reasons: list[str] = []
    arch: Architecture | None = None
    if scan.context_dim is not None:
        width = scan.context_dim[0]
        arch = CONTEXT_DIM_FAMILIES.get(width)
        reasons.append(f"attn2.to_k in-features {width} => {arch.value if arch else 'no SD family'}")
        if arch is None:
            return Architecture.OTHER, reasons
    text_arch, text_reason = _text_family(scan)
    if text_arch is not None and arch is None and not _clip_decides(scan, names or scan.module_blob(), unet):
        reasons.append(
            f"{text_reason.replace(' =>', ' would say', 1)}, but the text encoder is not CLIP or the other "
            "modules are not an SD UNet: one width alone decides nothing"
        )
        return Architecture.OTHER, reasons
    if text_arch is not None and arch is None:
        arch = text_arch
        reasons.append(text_reason)
    elif text_arch is not None and text_arch is not arch:
        reasons.append(f"{text_reason}, but the UNet decides")
    elif text_arch is not None:
        reasons.append(text_reason.replace(" =>", ", confirming", 1))
    blob = scan.module_blob() if arch is None else ""
    if arch is None and _SGM_UNET.search(blob):
        arch = Architecture.SDXL
        reasons.append("kohya UNet names in SGM paths (input_blocks/output_blocks), written only for SDXL")
    if arch is None and _DEEP_TRANSFORMER.search(blob):
        arch = Architecture.SDXL
        reasons.append("transformer_blocks index >= 2 inside a UNet attention => sdxl")
    if arch is None:
        reasons.append("no cross-attention or text-encoder module to measure")
        return Architecture.UNKNOWN, reasons
    return arch, reasons


def _clip_decides(scan: LoraScan, names: str, unet: bool) -> bool:
    """A text-encoder width may name an SD family only for a CLIP encoder beside an SD UNet (or alone)."""
    if not any(name in names for name in _CLIP_NAMES):
        return False
    if unet:
        return True
    return all(module.startswith(_TEXT_PREFIXES) for module, _, _ in scan.primary)


def _text_family(scan: LoraScan) -> tuple[Architecture | None, str]:
    widths = scan.text_widths
    if set(widths) == {"te1"} and _kohya_te1_only(scan):
        if widths["te1"] != _CLIP_L_WIDTH:
            return None, ""
        allowed = ", ".join(family.value for family in KOHYA_TE1_FAMILIES)
        return Architecture.SDXL, (
            f"only kohya's lora_te1_ text encoder (CLIP-L, width {widths['te1']}): the first of two or three "
            f"encoders ({allowed}; SD1 LoRAs write lora_te_) => sdxl, unless the metadata names another"
        )
    if "te2" in widths:
        first = widths.get("te1") or widths.get("te") or 0
        total = first + widths["te2"]
        if first:
            return Architecture.SDXL, f"text encoder widths {first} + {widths['te2']} = {total} => sdxl"
        return Architecture.SDXL, f"second text encoder (OpenCLIP bigG, width {widths['te2']}) => sdxl"
    width = widths.get("te") or widths.get("te1")
    family = TEXT_ENCODER_FAMILIES.get(width or 0)
    if family is None:
        return None, ""
    return family, f"text encoder width {width} => {family.value}"
