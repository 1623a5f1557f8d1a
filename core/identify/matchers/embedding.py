"""Textual-inversion embeddings: a handful of vectors in a text encoder's token space.

Formats (reference C.5): A1111 ``.pt`` (``string_to_param.*`` after flattening, plus ``name``/``step``
extras), ``emb_params`` safetensors, SDXL pairs ``clip_l`` + ``clip_g``, and diffusers ``learned_embeds``
(a single tensor named after its token). The family is the vectors' width (768 CLIP-L -> SD1, 1024
OpenCLIP-H -> SD2, 1280 bigG -> SDXL). The bare single-tensor form is accepted only with a known width
and a plausible vector count, because "one small tensor" alone says little.
"""

from __future__ import annotations

from core.identify.families import TOKEN_DIM_FAMILIES
from core.identify.registry import Match, Refusal
from core.identify.view import HeaderView
from core.taxonomy import Architecture, AssetKind

# A prompt holds 75 tokens; an embedding longer than that cannot be used whole.
_MAX_VECTORS = 75
_EXTRA_DETAILS = {"name": "embedding_name", "step": "trained_steps", "sd_checkpoint_name": "trained_on"}


def match_embedding(view: HeaderView) -> Match | Refusal:
    found = _locate(view)
    if isinstance(found, Refusal):
        return found
    key, form = found
    shape = view.shape(key) or ()
    vectors = shape[0] if len(shape) == 2 else 1
    width = shape[-1] if shape else 0
    reasons = [f"{form}: {key} holds {vectors} vector(s) of width {width}"]
    details: dict[str, object] = {"vectors": vectors, "embedding_format": form}
    if form == "sdxl":
        arch = Architecture.SDXL
        reasons.append("clip_l + clip_g vectors (CLIP-L 768 + bigG 1280) => sdxl")
    else:
        family = TOKEN_DIM_FAMILIES.get(width)
        arch = family or Architecture.UNKNOWN
        verdict = family.value if family else "no known text encoder"
        reasons.append(f"token width {width} => {verdict}")
    if form == "diffusers":
        details["token"] = key
    tokens = view.extras.get("string_to_token")
    if isinstance(tokens, dict) and tokens:
        details["tokens"] = sorted(str(token) for token in tokens)
    for extra, detail in _EXTRA_DETAILS.items():
        value = view.extras.get(extra)
        if isinstance(value, str | int) and not isinstance(value, bool):
            details[detail] = value
    return Match(AssetKind.EMBEDDING, arch, tuple(reasons), details=details)


def _locate(view: HeaderView) -> tuple[str, str] | Refusal:
    """The tensor holding the vectors and the format's name."""
    if "string_to_param" in view.first_parts:
        params = view.with_prefix("string_to_param.")
        if params:
            return params[0], "a1111"
    if view.has("emb_params"):
        return "emb_params", "emb_params"
    if view.has("clip_g"):
        return ("clip_l", "sdxl") if view.has("clip_l") else ("clip_g", "clip_g")
    if len(view) == 1:
        (key,) = view.tensors
        shape = view.shape(key) or ()
        count = shape[0] if len(shape) == 2 else 1
        if len(shape) in (1, 2) and shape[-1] in TOKEN_DIM_FAMILIES and count <= _MAX_VECTORS:
            return key, "diffusers"
        return Refusal(f"single tensor {key} {list(shape)} is not a vector of a known token width")
    return Refusal("no string_to_param/emb_params/clip_g tensor and more than one tensor")
