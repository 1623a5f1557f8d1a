"""LoRA and the LyCORIS family, in every dialect trainers write.

The network type is the dominant module type (InvokeAI ``patches/layers/utils.py`` detection order: DoRA,
LoRA, LoHa, LoKr, full diff, IA3, then GLoRA and OFT). LoCon is LoRA applied to 3x3 convolutions (or
CP-decomposed with ``lora_mid``): kohya's own SD1 LoRAs already hold 1x1 convolutions (``proj_in``), so
only larger kernels count. The dialect (kohya, PEFT, ...) is reported as a detail: it tells the user which
tools load the file, and explains the naming in the reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from core.formats.model_file import TensorInfo, derived_from
from core.identify.lora_base import (
    metadata_choices,
    named_architectures,
    tensor_architecture,
    with_metadata_hint,
)
from core.identify.lora_scan import LoraScan, may_be_lora, scan_lora
from core.identify.registry import Match, MatchFunction, Refusal
from core.identify.view import HeaderView
from core.taxonomy import Architecture, AssetKind, NetworkType

_KOHYA_PREFIXES = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_", "lora_te3_", "oft_unet_")
# Network types in detection order: ties go to the earlier one.
_ORDER = (
    NetworkType.LORA,
    NetworkType.LOHA,
    NetworkType.LOKR,
    NetworkType.FULL,
    NetworkType.IA3,
    NetworkType.GLORA,
    NetworkType.OFT,
)
_SAMPLES = 16
NAMED_FAMILIES = "families_named"  # detail key: see ``_tensor_findings``


def lora_matcher(scan: Callable[[Mapping[str, TensorInfo]], LoraScan]) -> MatchFunction:
    """The LoRA matcher over ``scan``: ``scan_lora`` in the registry, the name-by-name scan in the test that
    proves both identify every file the same way."""

    def match(view: HeaderView) -> Match | Refusal:
        return _match(view, scan)

    return match


@dataclass(frozen=True, slots=True)
class _TensorFindings:
    """What the tensors alone say about a LoRA: shared by every file with the same tensor table."""

    scan: LoraScan
    network: NetworkType
    reasons: tuple[str, ...]  # dialect, modules, network and architecture evidence
    architecture: Architecture
    details: Mapping[str, object]
    choices: tuple[Architecture, ...]  # families the metadata may choose among (``metadata_choices``)


def _match(view: HeaderView, scan_names: Callable[[Mapping[str, TensorInfo]], LoraScan]) -> Match | Refusal:
    tensors = view.tensors
    # Everything but the metadata hint is a pure function of the tensors: done once per (shared) table.
    findings = derived_from(tensors, (_match, scan_names), lambda: _tensor_findings(tensors, scan_names))
    if findings is None:
        return Refusal("no lora_down/lora_A/hada/lokr/diff/set_weight/oft module keys")
    arch, arch_reasons = with_metadata_hint(view, findings.architecture, [], findings.choices)
    return Match(
        AssetKind.LORA,
        arch,
        (*findings.reasons, *arch_reasons),
        network=findings.network,
        details=dict(findings.details),
    )


def _tensor_findings(
    tensors: Mapping[str, TensorInfo], scan_names: Callable[[Mapping[str, TensorInfo]], LoraScan]
) -> _TensorFindings | None:
    if not may_be_lora(tensors):
        return None
    scan = scan_names(tensors)
    modules = _module_counts(scan)
    total = sum(modules.values())
    if total == 0:
        return None
    network, reasons = _network(scan, modules, total)
    dialect, dialect_reason = _dialect(scan)
    reasons.insert(0, dialect_reason)
    arch, arch_reasons = tensor_architecture(scan)
    reasons.extend(arch_reasons)
    details: dict[str, object] = {"lora_format": dialect, "modules": total}
    if arch in (Architecture.OTHER, Architecture.UNKNOWN):
        # The families whose layer names it carries, widths unchecked: what a base-model label may
        # choose among (``core.identify.labels``) when the measurements named none.
        named = named_architectures(scan)
        if named:
            details[NAMED_FAMILIES] = [family.value for family in named]
    rank = scan.rank()
    if rank is not None:
        details["rank"] = rank
    return _TensorFindings(scan, network, tuple(reasons), arch, details, metadata_choices(scan, arch))


match_lora = lora_matcher(scan_lora)


def _module_counts(scan: LoraScan) -> dict[NetworkType, int]:
    counts = scan.counts
    return {
        NetworkType.LORA: counts["lora_down"] + counts["lora_A"],
        NetworkType.LOHA: counts["hada_w1_a"],
        NetworkType.LOKR: counts["lokr_w1"] + counts["lokr_w1_a"],
        NetworkType.FULL: counts["diff"] + counts["set_weight"],
        NetworkType.IA3: counts["on_input"],
        NetworkType.GLORA: counts["a1"] if counts["b1"] else 0,
        NetworkType.OFT: counts["oft_blocks"] + counts["oft_diag"],
    }


def _network(scan: LoraScan, modules: dict[NetworkType, int], total: int) -> tuple[NetworkType, list[str]]:
    dominant = max(_ORDER, key=lambda network: modules[network])  # max keeps the first of equals
    reasons = [f"{total} adapted modules, {modules[dominant]} of them {dominant.value}"]
    dora = scan.counts["dora_scale"] + scan.counts["lora_magnitude_vector"]
    if dora and dora * 2 >= total:
        reasons.append(f"{dora} modules carry a DoRA magnitude (dora_scale / lora_magnitude_vector) => dora")
        return NetworkType.DORA, reasons
    convs = scan.conv3x3() if dominant is NetworkType.LORA else 0
    if convs or (dominant is NetworkType.LORA and scan.counts["lora_mid"]):
        why = f"{convs} low-rank 3x3 convolutions" if convs else "lora_mid (CP) tensors"
        reasons.append(f"{why} => locon")
        return NetworkType.LOCON, reasons
    return dominant, reasons


def _dialect(scan: LoraScan) -> tuple[str, str]:
    sample = scan.sample(_SAMPLES)
    if any(".processor." in m and ("proj_lora" in m or "qkv_lora" in m) for m in sample):
        return "xlabs", "XLabs names (processor.qkv_lora/proj_lora)"
    if scan.legacy:
        return "diffusers_attn_procs", "legacy diffusers attention-processor names (to_q_lora.down)"
    if any(m.startswith("lora_transformer_") for m in sample):
        return "onetrainer", "OneTrainer names (lora_transformer_ + diffusers paths)"
    if any(m.startswith("lycoris_") for m in sample):
        return "simpletuner", "SimpleTuner LyCORIS names (lycoris_ + diffusers paths)"
    if any(m.startswith("text_encoders.") for m in sample):
        return "comfyui", "ComfyUI names (text_encoders.clip_*.transformer. / diffusion_model.)"
    if any(m.startswith("oft_unet_") for m in sample):
        return "kohya", "kohya OFT names (oft_unet_)"
    if any(m.startswith(_KOHYA_PREFIXES) for m in sample):
        return "kohya", "kohya names (lora_unet_/lora_te*_)"
    if any(m.startswith("diffusion_model.") for m in sample):
        return "ai_toolkit", "ai-toolkit names (diffusion_model. + original block paths)"
    if any(m.startswith(("base_model.model.", "unet.base_model.model.")) for m in sample):
        return "peft", "PEFT names (base_model.model. + lora_A/lora_B)"
    if scan.counts["lora_A"]:
        return "peft", "PEFT/diffusers names (lora_A/lora_B)"
    return "lycoris", "LyCORIS module keys without a trainer prefix"
