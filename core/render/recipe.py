"""What to render, as plain data: a checkpoint, its add-ons and the generation settings.

A :class:`Recipe` is what the preview panel edits, what infotext parses into and what the renderer
consumes. It holds no torch objects and knows nothing of the catalog, so it can be built, compared,
stored and round-tripped through A1111 infotext without loading anything heavy.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:  # hires.py imports this module's limits; a recipe only holds the value
    from core.render.hires import HiresFix

MAX_STEPS = 150
MAX_SIZE = 4096
MAX_CLIP_SKIP = 12
MAX_BATCH = 16
MAX_SEED = 2**64 - 1  # torch.Generator.manual_seed accepts 64-bit seeds; Civitai shows such seeds too
MAX_GUIDANCE = 100.0  # Forge's Distilled CFG Scale slider stops at 30; ComfyUI's FluxGuidance at 100
MAX_SHIFT = 100.0  # ComfyUI's ModelSamplingSD3 / AuraFlow shift inputs stop at 100


AUTOMATIC = "Automatic"

# A1111 1.10 sd_schedulers.py labels, in its order (the value written after "Schedule type:").
SCHEDULE_TYPES: tuple[str, ...] = (
    AUTOMATIC,
    "Uniform",
    "Karras",
    "Exponential",
    "Polyexponential",
    "SGM Uniform",
    "KL Optimal",
    "Align Your Steps",
    "Simple",
    "Normal",
    "DDIM",
    "Beta",
)
# Spellings A1111 also accepts for a schedule (its Scheduler.name and aliases).
_SCHEDULE_ALIASES = {
    "automatic": AUTOMATIC,
    "uniform": "Uniform",
    "karras": "Karras",
    "exponential": "Exponential",
    "polyexponential": "Polyexponential",
    "sgm_uniform": "SGM Uniform",
    "sgmuniform": "SGM Uniform",
    "kl_optimal": "KL Optimal",
    "align_your_steps": "Align Your Steps",
    "simple": "Simple",
    "normal": "Normal",
    "ddim": "DDIM",
    "ddim_uniform": "DDIM",
    "beta": "Beta",
}


def canonical_schedule(text: str) -> str | None:
    """A1111's label for ``text`` ("karras", "sgm_uniform", "SGM Uniform" -> "SGM Uniform"), or None."""
    stripped = text.strip()
    if stripped in SCHEDULE_TYPES:
        return stripped
    key = stripped.casefold()
    for label in SCHEDULE_TYPES:
        if label.casefold() == key:
            return label
    return _SCHEDULE_ALIASES.get(key.replace(" ", "_")) or _SCHEDULE_ALIASES.get(key.replace(" ", ""))


def _folded(text: str) -> str:
    """Fold the spellings tools use for one name ("DPM++ 2M", "dpmpp_2m", "k_dpmpp_2m") together."""
    folded = text.strip().casefold().replace("dpmpp", "dpm++").replace("ancestral", "a")
    folded = re.sub(r"[\s_\-]+", "", folded).removesuffix("gpu")  # ComfyUI's dpmpp_2m_sde_gpu
    return folded[1:] if folded.startswith("k") and not folded.startswith("kl") else folded


class Sampler(StrEnum):
    """The samplers of A1111 1.10 and Forge, named exactly as their infotext writes them.

    A recipe's sampler is plain text, so a name missing here is kept as written; this list is what
    the board offers and what spellings are folded to. Since A1111 1.9 the schedule is a separate
    field ("Schedule type"); older names such as "DPM++ 2M Karras" are read as sampler + schedule.
    """

    DPMPP_2M = "DPM++ 2M"
    DPMPP_SDE = "DPM++ SDE"
    DPMPP_2M_SDE = "DPM++ 2M SDE"
    DPMPP_2M_SDE_HEUN = "DPM++ 2M SDE Heun"
    DPMPP_2S_A = "DPM++ 2S a"
    DPMPP_3M_SDE = "DPM++ 3M SDE"
    EULER_A = "Euler a"
    EULER = "Euler"
    LMS = "LMS"
    HEUN = "Heun"
    DPM2 = "DPM2"
    DPM2_A = "DPM2 a"
    DPM_FAST = "DPM fast"
    DPM_ADAPTIVE = "DPM adaptive"
    RESTART = "Restart"
    DDIM = "DDIM"
    DDIM_CFGPP = "DDIM CFG++"
    PLMS = "PLMS"
    UNIPC = "UniPC"
    LCM = "LCM"
    # Forge additions
    DDPM = "DDPM"
    DEIS = "DEIS"
    HEUNPP2 = "HeunPP2"
    IPNDM = "IPNDM"
    IPNDM_V = "IPNDM_V"
    EULER_CFGPP = "Euler CFG++"
    EULER_A_CFGPP = "Euler a CFG++"
    # Forge's Flux samplers (an add-on Forge loads at start; offered for Flux)
    FLUX_REALISTIC = "[Forge] Flux Realistic"
    FLUX_REALISTIC_SLOW = "[Forge] Flux Realistic (Slow)"

    @classmethod
    def known(cls, text: str) -> str | None:
        """A1111's spelling of the sampler ``text`` names, or None when it is not one of these."""
        key = _folded(text)
        for member in cls:
            if _folded(member.value) == key:
                return member.value
        return None


def split_sampler(sampler: str, schedule_type: str | None = None) -> tuple[str, str]:
    """(sampler, schedule type) as A1111 1.10 reads them from infotext.

    "DPM++ 2M Karras" (A1111 before 1.9) is sampler "DPM++ 2M" with schedule "Karras"; a schedule
    suffix wins over the ``Schedule type`` field, as in A1111's ``get_sampler_and_scheduler``. Known
    names are spelled A1111's way; an unknown sampler or schedule is kept exactly as written (so it
    can be refused by name and written back), never replaced by a default.
    """
    text = sampler.strip()
    schedule = (schedule_type or "").strip()
    schedule = (canonical_schedule(schedule) or schedule) if schedule else AUTOMATIC
    known = Sampler.known(text)
    if known is not None:
        return known, schedule
    suffixes = sorted({*SCHEDULE_TYPES[1:], *_SCHEDULE_ALIASES}, key=len, reverse=True)
    for suffix in suffixes:
        for sep in (" ", "_"):
            if text.casefold().endswith(sep + suffix.casefold()):
                prefix = Sampler.known(text[: -len(suffix) - 1])
                if prefix is not None:
                    return prefix, canonical_schedule(suffix) or suffix
    return text, schedule


_HASH = re.compile(r"[0-9a-fA-F]+")


@dataclass(frozen=True, slots=True)
class AssetRef:
    """How a recipe names an asset: by name (file stem, display name or alias), path and/or hash.

    Parsed infotext gives only a name and maybe a short hash (AutoV2, or A1111's 12-character short
    hashes); resolution against the library fills ``asset_id`` and ``path``. The hash is kept in lower
    case, as A1111 writes it.
    """

    name: str
    path: str | None = None
    hash: str | None = None
    asset_id: int | None = None

    def __post_init__(self) -> None:
        name = self.name.strip()
        object.__setattr__(self, "name", name)
        if self.hash is not None:
            value = self.hash.strip().lower()
            if not _HASH.fullmatch(value):
                raise ValueError(f"asset hash {self.hash!r} of {name!r} is not hexadecimal")
            object.__setattr__(self, "hash", value)
        if not name and not self.path and not self.hash:
            raise ValueError("an asset reference needs a name, a path or a hash")

    @property
    def resolved(self) -> bool:
        """Whether the reference points to a file in the library."""
        return self.asset_id is not None and self.path is not None

    def describe(self) -> str:
        """``'add_detail' (hash 7c6bd7b7a2)`` for messages."""
        label = repr(self.name or self.path or "")
        return f"{label} (hash {self.hash})" if self.hash else label


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class LoraUse:
    """A LoRA (or LyCORIS) applied with a UNet weight and optionally a different text-encoder weight.

    ``text_encoder_weight`` None means "same as ``weight``", which is A1111's ``<lora:name:w>``.
    """

    ref: AssetRef
    weight: float = 1.0
    enabled: bool = True
    text_encoder_weight: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _finite(self.weight, f"LoRA {self.ref.name!r} weight"))
        if self.text_encoder_weight is not None:
            value = _finite(self.text_encoder_weight, f"LoRA {self.ref.name!r} text-encoder weight")
            object.__setattr__(self, "text_encoder_weight", value)

    @property
    def effective_text_encoder_weight(self) -> float:
        return self.weight if self.text_encoder_weight is None else self.text_encoder_weight


@dataclass(frozen=True, slots=True)
class EmbeddingUse:
    """A textual-inversion embedding; its token is the file name, as in A1111."""

    ref: AssetRef
    negative: bool = False


@dataclass(frozen=True, slots=True)
class HypernetworkUse:
    """A hypernetwork applied with a strength (A1111's ``<hypernet:name:strength>``)."""

    ref: AssetRef
    strength: float = 1.0

    def __post_init__(self) -> None:
        value = _finite(self.strength, f"hypernetwork {self.ref.name!r} strength")
        object.__setattr__(self, "strength", value)


@dataclass(frozen=True, slots=True)
class Recipe:
    """Everything needed to render one preview, validated on construction.

    ``prompt`` and ``negative_prompt`` are the texts without ``<lora:…>``/``<hypernet:…>`` tags (those
    live in ``loras`` and ``hypernetworks``); embedding tokens stay in the text, since that is where they
    act. ``seed`` -1 means "pick one at render time", as in A1111. ``width``/``height`` are the first
    pass's size; ``hires`` (A1111's hires fix) upscales and denoises a second time, to its target size.
    ``extra`` keeps infotext parameters the renderer does not use (ADetailer...) so they survive a round
    trip.
    ``sampler`` and ``schedule`` are the names A1111 writes ("DPM++ 2M", "Karras"); a name Atelier
    cannot render is kept as written and refused by name when rendering. ``guidance`` and ``shift`` are
    the flow-matching families' settings (Forge's "Distilled CFG Scale" and "Shift"); None means the
    model's default, and SD checkpoints ignore them. ``source_infotext`` is the
    text the recipe was read from, if any: writing infotext keeps its bytes for every value the recipe
    still means the same way.
    """

    checkpoint: AssetRef | None = None
    vae: AssetRef | None = None
    # Separate text-encoder files (ComfyUI's clip_l / t5xxl / qwen files) for a diffusion-model-only
    # checkpoint of a family that reads them; empty when the checkpoint carries its own encoders.
    text_encoders: tuple[AssetRef, ...] = ()
    loras: tuple[LoraUse, ...] = ()
    embeddings: tuple[EmbeddingUse, ...] = ()
    hypernetworks: tuple[HypernetworkUse, ...] = ()
    prompt: str = ""
    negative_prompt: str = ""
    seed: int = -1
    steps: int = 20
    cfg: float = 7.0
    width: int = 512
    height: int = 512
    clip_skip: int = 1
    batch: int = 1
    sampler: str = Sampler.EULER_A.value
    schedule: str = "Automatic"
    # Flux.1 dev's guidance embedding (Forge's "Distilled CFG Scale"); None: the family's default (3.5),
    # and nothing for a model without one. ``cfg`` stays the true classifier-free guidance scale.
    guidance: float | None = None
    # The flow-matching time shift (Forge's "Shift", ComfyUI's ModelSamplingSD3 shift); None: the
    # model's own (its scheduler config's shift, or its resolution-dependent dynamic shift).
    shift: float | None = None
    hires: HiresFix | None = None
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)
    source_infotext: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("text_encoders", "loras", "embeddings", "hypernetworks"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))
        for what in ("sampler", "schedule"):
            value = str(getattr(self, what)).strip()
            if not value:
                raise ValueError(f"{what} must be named")
            object.__setattr__(self, what, value)
        if not 1 <= self.steps <= MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {MAX_STEPS}, not {self.steps}")
        object.__setattr__(self, "cfg", _finite(self.cfg, "CFG scale"))
        if self.cfg < 0:
            raise ValueError(f"CFG scale must not be negative, not {self.cfg}")
        if self.guidance is not None:
            object.__setattr__(self, "guidance", _finite(self.guidance, "Distilled CFG Scale"))
            if not 0 <= self.guidance <= MAX_GUIDANCE:
                raise ValueError(
                    f"Distilled CFG Scale must be between 0 and {MAX_GUIDANCE:g}, not {self.guidance}"
                )
        if self.shift is not None:
            object.__setattr__(self, "shift", _finite(self.shift, "Shift"))
            if not 0 < self.shift <= MAX_SHIFT:
                raise ValueError(f"Shift must be above 0 and at most {MAX_SHIFT:g}, not {self.shift}")
        for what, size in (("width", self.width), ("height", self.height)):
            if not 64 <= size <= MAX_SIZE or size % 8:
                raise ValueError(f"{what} must be a multiple of 8 between 64 and {MAX_SIZE}, not {size}")
        if not -1 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be -1 (random) or between 0 and {MAX_SEED}, not {self.seed}")
        if not 1 <= self.clip_skip <= MAX_CLIP_SKIP:
            raise ValueError(f"clip skip must be between 1 and {MAX_CLIP_SKIP}, not {self.clip_skip}")
        if not 1 <= self.batch <= MAX_BATCH:
            raise ValueError(f"batch must be between 1 and {MAX_BATCH}, not {self.batch}")
        if self.hires is not None:
            from core.render.hires import target_size

            target = target_size(self.hires, self.width, self.height)
            if min(target.width, target.height) < 64 or max(target.width, target.height) > MAX_SIZE:
                raise ValueError(
                    f"the hires pass's size must be between 64 and {MAX_SIZE}, "
                    f"not {target.width}x{target.height}"
                )

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied (and validated again)."""
        return dataclasses.replace(self, **changes)

    def with_lora(self, use: LoraUse) -> Self:
        """A copy with ``use`` added, or replacing the LoRA of the same name."""
        loras = [lora for lora in self.loras if lora.ref.name != use.ref.name]
        return self.replace(loras=(*loras, use))

    def without_lora(self, name: str) -> Self:
        return self.replace(loras=tuple(lora for lora in self.loras if lora.ref.name != name))

    def with_embedding(self, use: EmbeddingUse) -> Self:
        """A copy with ``use`` added, or replacing the embedding of the same name and side."""
        kept = [e for e in self.embeddings if (e.ref.name, e.negative) != (use.ref.name, use.negative)]
        return self.replace(embeddings=(*kept, use))

    def without_embedding(self, name: str) -> Self:
        return self.replace(embeddings=tuple(e for e in self.embeddings if e.ref.name != name))

    def with_hypernetwork(self, use: HypernetworkUse) -> Self:
        """A copy with ``use`` added, or replacing the hypernetwork of the same name."""
        kept = [h for h in self.hypernetworks if h.ref.name != use.ref.name]
        return self.replace(hypernetworks=(*kept, use))

    def without_hypernetwork(self, name: str) -> Self:
        return self.replace(hypernetworks=tuple(h for h in self.hypernetworks if h.ref.name != name))

    def with_extra(self, values: Mapping[str, str] | Iterable[tuple[str, str]]) -> Self:
        """A copy with ``values`` merged into ``extra``."""
        merged = dict(self.extra)
        merged.update(dict(values))
        return self.replace(extra=merged)

    def refs(self) -> tuple[AssetRef, ...]:
        """Every asset the recipe names, checkpoint first."""
        found: list[AssetRef] = [ref for ref in (self.checkpoint, self.vae) if ref is not None]
        found += self.text_encoders
        found += [lora.ref for lora in self.loras]
        found += [e.ref for e in self.embeddings]
        found += [h.ref for h in self.hypernetworks]
        return tuple(found)
