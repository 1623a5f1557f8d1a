"""Checkpoints of every family in the vocabulary table, by their rows' signatures and shapes.

One generic rule over ``vocabulary.CHECKPOINT_ROWS``: the first row one of whose key signatures is fully
present (under a bare, ``model.diffusion_model.`` or ``net.`` prefix) names the family; the row's
measurements (hidden width, input channels, text width) go into the details and reasons, and its variant
rules name the variant. The signature keys of every row and prefix are spelled out once, at import, so a
header costs one dictionary lookup per key and nothing per tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.identify.families import components_reason
from core.identify.registry import Match, Refusal
from core.identify.view import HeaderView
from core.identify.vocabulary import CHECKPOINT_ROWS, DENOISER_PREFIXES, ArchitectureRow, Measure
from core.taxonomy import Architecture, AssetKind


@dataclass(frozen=True, slots=True)
class _Probe:
    """One row's signature spelled with one prefix: every key must be present, none of ``excludes``."""

    row: ArchitectureRow
    prefix: str
    keys: tuple[str, ...]
    excludes: tuple[str, ...]


def _probes() -> tuple[_Probe, ...]:
    probes: list[_Probe] = []
    for row in CHECKPOINT_ROWS:
        assert row.checkpoint is not None
        for signature in row.checkpoint.signatures:
            for prefix in DENOISER_PREFIXES:
                keys = tuple(prefix + key for key in signature)
                excludes = tuple(prefix + key for key in row.checkpoint.excludes)
                probes.append(_Probe(row, prefix, keys, excludes))
    return tuple(probes)


_PROBES = _probes()
# The first key of each probe, for a quick "could any row match" test: most headers hold none of them.
_FIRST_KEYS = frozenset(probe.keys[0] for probe in _PROBES)


def match_table(view: HeaderView, components: list[str]) -> Match | None:
    """The checkpoint match of the first table row whose signature the header carries, else None."""
    tensors = view.tensors
    # A C-level pass over the smaller of the two sets (an embedding's one name, not every first key).
    if tensors.keys().isdisjoint(_FIRST_KEYS):
        return None
    for probe in _PROBES:
        if all(key in tensors for key in probe.keys) and not any(key in tensors for key in probe.excludes):
            return _match(view, probe, components)
    return None


def _measure(view: HeaderView, prefix: str, measures: tuple[Measure, ...]) -> tuple[int | None, str]:
    for key, axis in measures:
        value = view.dim(prefix + key, axis)
        if value is not None:
            return value, prefix + key
    return None, ""


def _match(view: HeaderView, probe: _Probe, components: list[str]) -> Match:
    row, prefix = probe.row, probe.prefix
    spec = row.checkpoint
    assert spec is not None
    arch = row.architecture
    components = _bundled(view, prefix, components)
    reasons = [f"{' + '.join(probe.keys)} present => {arch.value} ({row.name})"]
    details: dict[str, object] = {"components": ["transformer", *components]}
    width, width_key = _measure(view, prefix, spec.width)
    in_channels, in_key = _measure(view, prefix, spec.in_channels)
    text_width, text_key = _measure(view, prefix, spec.text_width)
    if width is not None:
        details["hidden_size"] = width
        size = spec.widths.get(width)
        if size:
            details["model_size"] = size
            reasons.append(f"{width_key}: hidden size {width} => {size}")
        elif size is not None:
            reasons.append(f"{width_key}: hidden size {width}, as released")
        elif spec.widths:
            released = ", ".join(str(w) for w in spec.widths)
            reasons.append(f"{width_key}: hidden size {width}, not a released size ({released})")
        else:
            reasons.append(f"{width_key}: hidden size {width}")
    if in_channels is not None:
        details["in_channels"] = in_channels
        reasons.append(f"{in_key}: {in_channels} input channels")
    if text_width is not None:
        details["text_width"] = text_width
        reasons.append(f"{text_key}: text conditioning width {text_width}")
    for rule in spec.variants:
        if (
            (rule.width is None or rule.width == width)
            and (rule.in_channels is None or rule.in_channels == in_channels)
            and (rule.text_width is None or rule.text_width == text_width)
            and (rule.present is None or view.has(prefix + rule.present))
            and (rule.absent is None or not view.has(prefix + rule.absent))
        ):
            details["model_variant"] = rule.label
            reasons.append(f"variant {rule.label}")
            break
    if spec.not_in_header:
        reasons.append(spec.not_in_header)
    if row.text_encoders:
        details["text_encoders"] = list(row.text_encoders)
    if row.vae:
        details["vae"] = row.vae
    if prefix == "net.":
        reasons.append("net. prefix (NVIDIA's layout)")
    reasons.append(components_reason("transformer", components))
    return Match(AssetKind.CHECKPOINT, arch, tuple(reasons), details=details)


# ComfyUI's all-in-one checkpoints of these families keep each part under its own prefix, whatever the
# encoder (``text_encoders.qwen25_7b.``, ``text_encoders.umt5xxl.``) or VAE layout (``vae.decoder.conv1``).
_BUNDLED_PREFIXES = (
    ("vae", ("vae.", "first_stage_model.")),
    ("text encoder", ("text_encoders.", "conditioner.")),
)


def _bundled(view: HeaderView, prefix: str, components: list[str]) -> list[str]:
    """``components`` plus the parts found under the all-in-one prefixes (only for a prefixed denoiser)."""
    if not prefix:
        return components
    found = list(components)
    for part, prefixes in _BUNDLED_PREFIXES:
        if part not in found and any(view.has_prefix(p) for p in prefixes):
            found.append(part)
    return found


def row_architectures() -> tuple[Architecture, ...]:
    """The families this matcher can name (for tests and the docs)."""
    return tuple(row.architecture for row in CHECKPOINT_ROWS)


# -- a denoiser of no family in the table -----------------------------------------------------------------

_MIN_DENOISER_TENSORS = 100
_BLOCK_PARTS = frozenset(
    {"blocks", "layers", "transformer_blocks", "double_blocks", "single_blocks", "joint_blocks"}
)


def _row_parts() -> tuple[tuple[ArchitectureRow, frozenset[str]], ...]:
    """Each checkpoint row's top-level name parts (``txt_in``, ``transformer_blocks``...), from its keys."""
    rows = []
    for row in CHECKPOINT_ROWS:
        spec = row.checkpoint
        assert spec is not None
        keys = [key for signature in spec.signatures for key in signature]
        keys += [key for key, _ in (*spec.width, *spec.in_channels, *spec.text_width)]
        rows.append((row, frozenset(key.partition(".")[0] for key in keys)))
    return tuple(rows)


_ROW_PARTS = _row_parts()


def _top_level_parts(view: HeaderView) -> frozenset[str]:
    """The first name part of every tensor, past a full checkpoint's or NVIDIA's denoiser prefix."""
    prefix = next((p for p in DENOISER_PREFIXES[1:] if view.has_prefix(p)), "")
    return frozenset(
        name[len(prefix) :].partition(".")[0] for name in view.with_prefix(prefix) if name.startswith(prefix)
    )


def _is_block_part(part: str) -> bool:
    """``blocks``, ``transformer_blocks``... and made-up spellings of the same (``dit_layers``), for the
    reasons of an unknown file only."""
    return part in _BLOCK_PARTS or part.endswith(("_blocks", "_layers"))


# A row is offered as the nearest match only when it shares at least half of the names the two hold
# together: below that, the "nearest" family is whichever happens to share a generic name (``blocks``,
# ``x_embedder``, ``t_embedder``), which would point the user at an unrelated family.
NEAREST_MIN_SHARE = 0.5


def _nearest_row(parts: frozenset[str]) -> tuple[float, ArchitectureRow, frozenset[str]]:
    """The row sharing the largest share of top-level names with ``parts``, that share, and the names."""
    scored = [
        (len(parts & row_parts) / len(parts | row_parts), row, parts & row_parts)
        for row, row_parts in _ROW_PARTS
    ]
    return max(scored, key=lambda scored_row: scored_row[0])


def match_unlisted_denoiser(view: HeaderView) -> Match | Refusal:
    """A diffusion transformer the table has no row for: ``other``, with the row whose top-level names
    overlap its own the most as the nearest match (never that row's family: its signature is missing).

    Runs last, after every kind has declined, so it can only turn an ``unknown`` into an ``other``.
    """
    if len(view) < _MIN_DENOISER_TENSORS:
        return Refusal(f"fewer than {_MIN_DENOISER_TENSORS} tensors: not a denoiser")
    parts = _top_level_parts(view)
    # Only the block names real denoisers use: a made-up ``dit_layers`` is told in the unknown's reasons.
    blocks = sorted(parts & _BLOCK_PARTS)
    if not blocks:
        return Refusal("no transformer blocks (blocks.*, layers.*, transformer_blocks.*...)")
    score, nearest, _ = _nearest_row(parts)
    details: dict[str, object] = {"components": ["transformer"]}
    if score >= NEAREST_MIN_SHARE:
        closest = (
            f"nearest match {nearest.architecture.value} ({nearest.name}): {score:.0%} of the top-level names"
        )
        details["nearest_architecture"] = nearest.architecture.value
    else:
        closest = _no_near_family(score)
    reasons = (f"transformer blocks ({', '.join(blocks)}) but no family's signature keys", closest)
    return Match(AssetKind.CHECKPOINT, Architecture.OTHER, reasons, details=details)


def _no_near_family(score: float) -> str:
    return (
        "no family of the vocabulary table shares most of its top-level names "
        f"(the most any shares is {score:.0%}): an architecture Atelier does not know"
    )


def unknown_reasons(view: HeaderView, declined: int) -> tuple[str, ...]:
    """Why a file is ``unknown``: what was looked for, and the nearest family when any name is shared.

    Every kind's matcher declined (its line in ``refusals`` says what it looked for); the nearest row is
    reported for the user's orientation only, never as the family.
    """
    if len(view) == 0:
        return ("the file holds no tensors", f"none of Atelier's {declined} checks can match it")
    parts = _top_level_parts(view)
    reasons = [
        f"{len(view)} tensors under {len(parts)} top-level names ({', '.join(sorted(parts)[:6])}"
        f"{', ...' if len(parts) > 6 else ''}): none of Atelier's {declined} checks "
        "(LoRA, checkpoint, VAE, text encoder, ...) found its keys; each refusal says what it looked for"
    ]
    blocks = sorted(part for part in parts if _is_block_part(part))
    if blocks:
        reasons.append(f"transformer-like blocks ({', '.join(blocks)}) but no family's signature keys")
    score, nearest, shared = _nearest_row(parts)
    if score >= NEAREST_MIN_SHARE:
        reasons.append(
            f"nearest match {nearest.architecture.value} ({nearest.name}): shares "
            f"{', '.join(sorted(shared))} ({score:.0%} of the top-level names), too little to name the family"
        )
    elif score > 0:
        reasons.append(_no_near_family(score))
    else:
        reasons.append("no top-level name in common with any family of the vocabulary table")
    return tuple(reasons)
