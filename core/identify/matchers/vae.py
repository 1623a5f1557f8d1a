"""Autoencoders (VAE / AE) stored alone, bare or under a checkpoint prefix, LDM or diffusers naming.

SD1, SD2 and SDXL VAEs have identical shapes (4 latent channels), so their family is ``unknown`` unless
metadata names it (reference C.7). 16 latent channels is the SD3 / Flux.1 autoencoder, again with
identical shapes; the only header evidence is the prefix ComfyUI writes (``vae.`` for Flux,
``first_stage_model.`` for SD3, ``supported_models.py`` ``vae_key_prefix``), or metadata; a bare file
stays ``other``. 32 latent channels is Flux.2's autoencoder.

The video-era layouts (Wan/Qwen-Image causal 3-D VAE, DC-AE, Hunyuan/LTX causal-conv VAEs) are rows of
``vocabulary.VAES``: a marker key says the layout, a tensor's input width the latent channels, and the
families that decode with such a VAE are named; one family only => that family, several => ``unknown``
with all of them in the details (the Wan 2.1 and Qwen-Image VAEs share every shape).
"""

from __future__ import annotations

from core.formats.model_file import derived_from
from core.identify.registry import Match, Refusal
from core.identify.view import HeaderView
from core.identify.vocabulary import VAE_MARKERS, VAES, users_of_vae
from core.taxonomy import Architecture, AssetKind

_PREFIXES = ("", "first_stage_model.", "vae.")
_PARTS = ("encoder.", "decoder.", "quant_conv.", "post_quant_conv.")
# Lightning training leftovers that loaders drop (A1111 ``sd_vae.load_vae_dict`` skips ``loss*``).
_LEFTOVERS = ("loss.", "model_ema.")
# Tolerated share of names that belong to neither the autoencoder nor known leftovers.
_STRAY_SHARE = 0.05
# Top-level parts of the table's VAE layouts (Wan's conv1/conv2 sit beside encoder/decoder; LTX keeps
# per-channel latent statistics).
_TABLE_PARTS = (*_PARTS, "conv1.", "conv2.", "per_channel_statistics.")
_SD_FAMILIES = (Architecture.SD1, Architecture.SD2, Architecture.SDXL, Architecture.SDXL_REFINER)
_AE16_BY_PREFIX = {
    "vae.": (Architecture.FLUX1, "vae. prefix (how ComfyUI stores Flux's AE) => flux1"),
    "first_stage_model.": (
        Architecture.SD3,
        "first_stage_model. prefix (how SD3 files store their VAE) => sd3",
    ),
}


def match_vae(view: HeaderView) -> Match | Refusal:
    found = _table_vae(view)
    if found is not None:
        return found
    prefix = next(
        (
            p
            for p in _PREFIXES
            if view.has(p + "decoder.conv_in.weight") or view.has(p + "encoder.conv_in.weight")
        ),
        None,
    )
    if prefix is None:
        return Refusal("no encoder.conv_in/decoder.conv_in (optionally first_stage_model./vae. prefixed)")
    leftovers, stray = derived_from(view.tensors, ("vae_strays", prefix), lambda: _strays(view, prefix))
    if stray > _STRAY_SHARE * len(view):
        return Refusal(f"{stray} of {len(view)} tensors lie outside an autoencoder")
    reasons = [f"autoencoder keys ({prefix or 'bare '}encoder/decoder)"]
    if prefix:
        reasons.append(f"VAE-only file with the {prefix} prefix")
    if leftovers:
        reasons.append(f"ignoring {leftovers} training leftovers (loss.*, model_ema.*)")
    naming = "diffusers" if view.has_prefix(prefix + "decoder.up_blocks.") else "ldm"
    if naming == "diffusers":
        old = view.has(prefix + "decoder.mid_block.attentions.0.query.weight")
        reasons.append("diffusers naming (down_blocks/up_blocks" + (", old query/key/value)" if old else ")"))
    channels = _latent_channels(view, prefix)
    arch, why = _family(view, prefix, channels)
    reasons.extend(why)
    details: dict[str, object] = {"vae_naming": naming}
    if channels is not None:
        details["latent_channels"] = channels
    return Match(AssetKind.VAE, arch, tuple(reasons), details=details)


def _latent_channels(view: HeaderView, prefix: str) -> int | None:
    decoder_in = view.dim(prefix + "decoder.conv_in.weight", 1)
    if decoder_in is not None:
        return decoder_in
    encoder_out = view.dim(prefix + "encoder.conv_out.weight", 0)
    return encoder_out // 2 if encoder_out else None  # the encoder emits mean and log-variance


def _family(view: HeaderView, prefix: str, channels: int | None) -> tuple[Architecture, list[str]]:
    hint = view.embedded.architecture_hint()
    if channels == 4:
        reasons = ["4 latent channels: SD1, SD2 and SDXL VAEs have identical shapes"]
        if hint is not None and hint[0] in _SD_FAMILIES:
            reasons.append(f"metadata {hint[1]} => {hint[0].value}")
            return hint[0], reasons
        return Architecture.UNKNOWN, reasons
    if channels == 16:
        reasons = ["16 latent channels: SD3 or Flux.1 autoencoder (identical shapes)"]
        if hint is not None and hint[0] in (Architecture.SD3, Architecture.FLUX1):
            reasons.append(f"metadata {hint[1]} => {hint[0].value}")
            return hint[0], reasons
        if prefix in _AE16_BY_PREFIX:
            arch, why = _AE16_BY_PREFIX[prefix]
            reasons.append(why)
            return arch, reasons
        reasons.append("nothing in the header tells SD3 from Flux.1")
        return Architecture.OTHER, reasons
    if channels == 32:
        return Architecture.FLUX2, ["32 latent channels => flux2 autoencoder"]
    return Architecture.OTHER, [f"{channels} latent channels: no known family"]


def _strays(view: HeaderView, prefix: str) -> tuple[int, int]:
    """(training leftovers, names outside the autoencoder): a pass over every name, once per shared table."""
    parts = tuple(prefix + part for part in _PARTS)
    leftovers = sum(1 for name in view.tensors if name.startswith(_LEFTOVERS))
    stray = sum(1 for name in view.tensors if not name.startswith(parts) and not name.startswith(_LEFTOVERS))
    return leftovers, stray


def _table_vae(view: HeaderView) -> Match | None:
    """A VAE of a layout in the vocabulary table (marker key + latent width), else None."""
    prefix = next((p for p in _PREFIXES for marker in VAE_MARKERS if view.has(p + marker)), None)
    if prefix is None:
        return None
    marker = next(m for m in VAE_MARKERS if view.has(prefix + m))
    parts = tuple(prefix + part for part in _TABLE_PARTS)
    stray = sum(1 for name in view.tensors if not name.startswith(parts))
    if stray > _STRAY_SHARE * len(view):
        return None  # a model that carries such a VAE, not a VAE file
    rows = [row for row in VAES if row.marker == marker and row.latent is not None]
    latent_key, axis = rows[0].latent or ("", 0)
    channels = view.dim(prefix + latent_key, axis)
    fitting = [row for row in rows if row.latent_channels == channels]
    reasons = [f"{prefix}{marker} => {' / '.join(dict.fromkeys(row.name for row in rows))} layout"]
    reasons.append(f"{prefix}{latent_key}: {channels} latent channels")
    details: dict[str, object] = {"latent_channels": channels, "vae_naming": "original"}
    if not fitting:
        reasons.append(f"{channels} latent channels: none of these VAEs")
        return Match(AssetKind.VAE, Architecture.OTHER, tuple(reasons), details=details)
    users = sorted({arch for row in fitting for arch in users_of_vae(row.id)}, key=list(Architecture).index)
    details["vae"] = [row.id for row in fitting]
    details["used_by"] = [arch.value for arch in users]
    names = " or ".join(row.name for row in fitting)
    if len(users) == 1:
        reasons.append(f"{names}, used only by {users[0].value}")
        return Match(AssetKind.VAE, users[0], tuple(reasons), details=details)
    reasons.append(f"{names}: identical shapes, used by {', '.join(a.value for a in users)}")
    return Match(AssetKind.VAE, Architecture.UNKNOWN, tuple(reasons), details=details)
