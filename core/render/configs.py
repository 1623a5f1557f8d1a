"""Offline diffusers configs for single-file checkpoints, and the loader that uses them.

``from_single_file`` without ``config=`` downloads the pipeline configs and tokenizer files from the Hub
(and with ``local_files_only=True`` but no cache it silently flips back to downloading). We ship the
configs of the reference repositories in ``resources/diffusers/<folder>`` and derive the tokenizer
files locally (``core.render.tokenizer``), so loading never touches the network.

torch and diffusers are imported inside functions only: importing this module must stay cheap and must
not import torch (the library part of the app works without the renderer stack).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from core.render.tokenizer import ensure_tokenizers
from core.taxonomy import Architecture, Prediction

log = logging.getLogger(__name__)

RESOURCES_CONFIG_ROOT = Path(__file__).resolve().parents[2] / "resources" / "diffusers"

# Folder name -> reference repository whose configs it reproduces.
CONFIG_FOLDERS: dict[str, str] = {
    "sd1": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "sd2": "stabilityai/stable-diffusion-2-1-base",
    "sd2_v": "stabilityai/stable-diffusion-2-1",
    "sdxl": "stabilityai/stable-diffusion-xl-base-1.0",
    "sdxl_refiner": "stabilityai/stable-diffusion-xl-refiner-1.0",
}

# Pipeline class per folder (the class named in each model_index.json).
PIPELINE_CLASSES: dict[str, str] = {
    "sd1": "StableDiffusionPipeline",
    "sd2": "StableDiffusionPipeline",
    "sd2_v": "StableDiffusionPipeline",
    "sdxl": "StableDiffusionXLPipeline",
    "sdxl_refiner": "StableDiffusionXLImg2ImgPipeline",
}


class UnsupportedArchitectureError(ValueError):
    """No bundled config fits this architecture/prediction pair."""


def config_folder_name(architecture: Architecture, prediction: Prediction | None) -> str:
    """The ``resources/diffusers`` folder for a checkpoint of this architecture and prediction type.

    SD2 defaults to v-prediction when the prediction is unknown, like InvokeAI (most SD2 files are the
    768-v model); SDXL v-prediction models keep the SDXL network, so only the scheduler differs and that
    is the caller's to override (``prediction_type`` on the scheduler config).
    """
    if architecture is Architecture.SD1:
        return "sd1"
    if architecture is Architecture.SD2:
        return "sd2" if prediction is Prediction.EPS else "sd2_v"
    if architecture is Architecture.SDXL:
        return "sdxl"
    if architecture is Architecture.SDXL_REFINER:
        return "sdxl_refiner"
    raise UnsupportedArchitectureError(f"no offline diffusers config for architecture {architecture.value!r}")


def config_dir_for(
    architecture: Architecture,
    prediction: Prediction | None,
    cache_dir: Path,
    *,
    config_root: Path = RESOURCES_CONFIG_ROOT,
) -> Path:
    """A complete diffusers config folder (tokenizer files included) for ``from_single_file(config=...)``.

    The bundled configs are copied to ``cache_dir`` with the derived tokenizer files (the installed
    resources may be read-only); the copy is reused on later calls.
    """
    folder = config_folder_name(architecture, prediction)
    return ensure_tokenizers(config_root, cache_dir) / folder


def _pipeline_class(folder: str) -> Any:
    import diffusers  # heavy: imported only when actually loading

    return getattr(diffusers, PIPELINE_CLASSES[folder])


def load_single_file_pipeline(
    path: Path,
    architecture: Architecture,
    prediction: Prediction | None,
    *,
    cache_dir: Path,
    dtype: Any = None,
    device: str | None = None,
    config_root: Path = RESOURCES_CONFIG_ROOT,
    **components: Any,
) -> Any:
    """Load a single-file SD1/SD2/SDXL checkpoint as a diffusers pipeline without any network access.

    ``dtype`` is a ``torch.dtype`` (``None`` keeps float32); ``components`` override pipeline components
    (e.g. ``vae=``). The safety checker is never loaded: single files do not carry one and the app shows
    users their own local renders. ``local_files_only=True`` and the local ``config=``
    folder keep the load offline (``HF_HUB_OFFLINE`` is left alone: a tokenizer no package ships is
    fetched once from the Hub, see :func:`core.render.tokenizer.hub_tokenizer_dir`).
    """
    folder = config_folder_name(architecture, prediction)
    config_dir = config_dir_for(architecture, prediction, cache_dir, config_root=config_root)
    pipeline_cls = _pipeline_class(folder)
    kwargs: dict[str, Any] = {
        "config": str(config_dir),
        "local_files_only": True,
        "torch_dtype": dtype,
    }
    if folder.startswith("sd") and not folder.startswith("sdxl"):
        kwargs["safety_checker"] = None
        kwargs["feature_extractor"] = None
    kwargs.update(components)
    pipe = pipeline_cls.from_single_file(str(path), **kwargs)
    missing = materialize_missing_tensors(pipe)
    if missing:
        log.warning(
            "%s lacks %d tensors, zero-filled: %s",
            path.name,
            sum(len(names) for names in missing.values()),
            {component: names[:5] for component, names in missing.items()},
        )
    if device is not None:
        pipe = pipe.to(device)
    return pipe


def materialize_missing_tensors(pipe: Any) -> dict[str, list[str]]:
    """Zero-fill parameters/buffers that the checkpoint did not provide; return their names by component.

    diffusers builds each component on the meta device and copies the file's tensors in, silently leaving
    absent ones on meta, where the first forward pass fails with an obscure error. Real SDXL files
    sometimes omit text-encoder parts SDXL does not use for conditioning (CLIP-L's last layer and final
    norm; sd-mecha marks them optional), so we zero-fill instead of refusing the file, and report.
    """
    import torch  # heavy: imported only when actually loading

    missing: dict[str, list[str]] = {}
    for component, module in pipe.components.items():
        if not isinstance(module, torch.nn.Module):
            continue
        names: list[str] = []
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            if not tensor.is_meta:
                continue
            owner_name, _, attr = name.rpartition(".")
            owner = module.get_submodule(owner_name) if owner_name else module
            zeros = torch.zeros(tensor.shape, dtype=tensor.dtype)
            if isinstance(tensor, torch.nn.Parameter):
                setattr(owner, attr, torch.nn.Parameter(zeros, requires_grad=tensor.requires_grad))
            else:
                owner._buffers[attr] = zeros
            names.append(name)
        if names:
            missing[component] = names
    return missing
