"""Whether a UNet checkpoint predicts noise (eps) or velocity (v), where the file makes it decidable.

Nothing in a UNet's shapes says what it predicts, so the evidence is, strongest first:
1. marker keys written by tools that know (ComfyUI's ``v_pred``/``ztsnr``, ``edm_vpred.*``);
2. for SD2 only, ComfyUI's statistical test: the population std of one 320-float bias
   (``output_blocks.11.1.transformer_blocks.0.norm1.bias``) is > 0.09 in v-prediction models; this is the
   one place identification reads tensor values, through the caller's ``read_tensor``;
3. embedded metadata (``modelspec.prediction_type``, an architecture ending in ``-v``,
   ``ss_v_parameterization``);
4. for SD2 ``.ckpt`` files, the official checkpoints' ``global_step`` (110000 = 768-v, 220000 = 512-base).

A zero-filled copy of a file (how tests build real-size layouts) must identify exactly like the real file,
so a std of exactly 0 is "undecidable from the tensor", never "eps": the real file cannot have a constant
bias, and the zero copy must fall through to the same metadata the real file carries.
"""

from __future__ import annotations

import math

from core.identify.view import HeaderView
from core.taxonomy import Architecture, Prediction

SD2_PROBE = "output_blocks.11.1.transformer_blocks.0.norm1.bias"
V_STD_THRESHOLD = 0.09
_GLOBAL_STEPS = {110000: Prediction.V, 220000: Prediction.EPS}


def unet_prediction(view: HeaderView, prefix: str, arch: Architecture) -> tuple[Prediction | None, list[str]]:
    """The prediction type of a UNet under ``prefix``, with the evidence (None when undecidable)."""
    reasons: list[str] = []
    marker = _markers(view, reasons)
    if marker is not None:
        return marker, reasons
    tensor_says = _probe(view, prefix + SD2_PROBE, reasons) if arch is Architecture.SD2 else None
    metadata_says = _metadata(view)
    if tensor_says is not None:
        if metadata_says is not None and metadata_says[0] is not tensor_says:
            reasons.append(f"{metadata_says[1]} disagrees; the tensor decides")
        return tensor_says, reasons
    if metadata_says is not None:
        reasons.append(metadata_says[1])
        return metadata_says[0], reasons
    if arch is Architecture.SD2:
        step = view.extras.get("global_step")
        if isinstance(step, int) and step in _GLOBAL_STEPS:
            prediction = _GLOBAL_STEPS[step]
            reasons.append(f"global_step {step} (an official SD2 checkpoint) => {prediction.value}")
            return prediction, reasons
        reasons.append("prediction type undecidable: no marker, readable probe tensor or metadata")
    return None, reasons


def _markers(view: HeaderView, reasons: list[str]) -> Prediction | None:
    if view.has("v_pred"):
        reasons.append("v_pred marker key => v")
        if view.has("ztsnr"):
            reasons.append("ztsnr marker key: trained with zero terminal SNR")
        return Prediction.V
    if view.has("edm_vpred.sigma_max") or view.has("edm_vpred.sigma_min"):
        reasons.append("edm_vpred.* keys => v (EDM v-prediction)")
        return Prediction.V
    return None


def _probe(view: HeaderView, name: str, reasons: list[str]) -> Prediction | None:
    if view.read_tensor is None or not view.has(name):
        return None
    import numpy as np  # only here, where a tensor is read: reading headers never loads numpy

    try:
        values = np.asarray(view.read_tensor(name), dtype=np.float64)
    except Exception as error:  # the reader is the caller's; a failure must not lose the identification
        reasons.append(f"could not read {name} ({error.__class__.__name__}); prediction not probed")
        return None
    std = float(values.std()) if values.size else 0.0
    if not math.isfinite(std) or std == 0.0:
        reasons.append(f"{name} is constant (zero-filled?): prediction undecidable from the tensor")
        return None
    prediction = Prediction.V if std > V_STD_THRESHOLD else Prediction.EPS
    relation = ">" if prediction is Prediction.V else "<="
    reasons.append(f"std of {name} = {std:.4f} {relation} {V_STD_THRESHOLD} => {prediction.value}")
    return prediction


def _metadata(view: HeaderView) -> tuple[Prediction, str] | None:
    embedded = view.embedded
    if embedded.prediction is not None:
        return embedded.prediction, f"metadata {embedded.prediction_source} => {embedded.prediction.value}"
    if embedded.architecture and embedded.architecture.split("/", 1)[0].endswith("-v"):
        return Prediction.V, f"metadata modelspec.architecture={embedded.architecture} => v"
    return None
