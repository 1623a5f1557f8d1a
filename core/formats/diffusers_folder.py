"""Recognise and read diffusers-format folders (a whole pipeline, or one component such as a VAE).

A diffusers model is a folder, not a file: ``model_index.json`` names the components, each in its own
subfolder with a ``config.json`` (``scheduler_config.json`` for the scheduler) and weights. The configs
decide the architecture (``cross_attention_dim``, ``in_channels``, ``prediction_type``), so they are
read in full; the weights are only listed, except for a single-component folder whose safetensors
header is read as well, since identification can use its tensors like any single file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from core.formats.model_file import CorruptFileError, DiffusersInfo, ModelHeader, TensorInfo
from core.formats.safetensors_header import read_safetensors_header
from core.taxonomy import FileFormat

MODEL_INDEX = "model_index.json"
COMPONENT_CONFIGS = (
    "config.json",
    "scheduler_config.json",
    "preprocessor_config.json",
    "tokenizer_config.json",
)
WEIGHT_EXTENSIONS = (".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".gguf", ".sft")
SINGLE_COMPONENT_WEIGHTS = ("diffusion_pytorch_model", "model", "pytorch_model")
# A pipeline folder holds a few dozen files; a walk that meets thousands is not looking at one.
MAX_FILES = 10_000
MAX_JSON_BYTES = 16 * 1024 * 1024


def is_diffusers_folder(path: Path) -> bool:
    """True for a folder with ``model_index.json``, or a component's ``config.json``.

    A component folder is a ``config.json`` next to component weights (``diffusion_pytorch_model.*``,
    ``model.safetensors``), or one that names a model class (``_class_name`` for diffusers,
    ``architectures`` for transformers) even before its weights are there, so that it is identified
    from its config rather than called "not a model".
    """
    if not path.is_dir():
        return False
    if (path / MODEL_INDEX).is_file():
        return True
    config = path / "config.json"
    if not config.is_file():
        return False
    if _single_component_weights(path):
        return True
    try:
        return names_model_class(_read_json(config, "config.json"))
    except CorruptFileError:
        return True  # a broken config.json in a model folder: read_diffusers_folder says what is wrong


def looks_like_diffusers(names: Collection[str]) -> bool:
    """The same test from a folder's file names alone (the scanner lists folders once, opens nothing)."""
    if MODEL_INDEX in names:
        return True
    return "config.json" in names and any(_is_component_weights_name(name) for name in names)


def names_model_class(config: Mapping[str, Any]) -> bool:
    """Whether a ``config.json`` names the model class it configures."""
    class_name = config.get("_class_name")
    architectures = config.get("architectures")
    return (isinstance(class_name, str) and bool(class_name)) or (
        isinstance(architectures, list) and bool(architectures)
    )


def _is_component_weights_name(name: str) -> bool:
    lower = name.lower()
    stems = tuple(f"{stem}{sep}" for stem in SINGLE_COMPONENT_WEIGHTS for sep in (".", "-"))
    return lower.startswith(stems) and lower.endswith((*WEIGHT_EXTENSIONS, ".index.json"))


def read_diffusers_folder(path: Path) -> ModelHeader:
    """Read ``model_index.json`` and every component config; raises ``CorruptFileError`` on bad JSON."""
    files = _list_files(path)
    weight_files = tuple(sorted(name for name in files if name.lower().endswith(WEIGHT_EXTENSIONS)))
    size = sum(files.values())
    tensors: dict[str, TensorInfo] = {}
    if (path / MODEL_INDEX).is_file():
        model_index = _read_json(path / MODEL_INDEX, MODEL_INDEX)
        configs = _component_configs(path, model_index)
    else:
        model_index = {}
        configs = {"": _read_json(path / "config.json", "config.json")}
        tensors = _single_component_tensors(path)
    return ModelHeader(
        path=path,
        format=FileFormat.DIFFUSERS,
        size=size,
        tensors=tensors,
        diffusers=DiffusersInfo(model_index=model_index, configs=configs, weight_files=weight_files),
    )


def _component_configs(root: Path, model_index: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    configs: dict[str, Mapping[str, Any]] = {}
    for name, spec in model_index.items():
        # Components are ``"unet": ["diffusers", "UNet2DConditionModel"]``; ``[null, null]`` means absent.
        if name.startswith("_") or not _is_component_spec(spec):
            continue
        folder = root / name
        for config_name in COMPONENT_CONFIGS:
            config_path = folder / config_name
            if config_path.is_file():
                configs[name] = _read_json(config_path, f"{name}/{config_name}")
                break
    return configs


def _is_component_spec(spec: object) -> bool:
    return isinstance(spec, list) and len(spec) == 2 and all(isinstance(part, str) for part in spec)


def _read_json(path: Path, label: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise CorruptFileError(f"{label} cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_JSON_BYTES:
        raise CorruptFileError(f"{label} is larger than {MAX_JSON_BYTES // (1024 * 1024)} MiB")
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CorruptFileError(f"{label} is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise CorruptFileError(f"{label} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise CorruptFileError(f"{label} is nested too deeply") from None
    if not isinstance(value, dict):
        raise CorruptFileError(f"{label} is a JSON {type(value).__name__}, not an object")
    return value


def _list_files(root: Path) -> dict[str, int]:
    """Relative POSIX path -> size of each file under ``root``; symlinks (as in the HF cache) are followed."""
    files: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            full = Path(dirpath, name)
            try:
                size = full.stat().st_size
            except OSError:
                continue  # a dangling link: nothing to count
            files[full.relative_to(root).as_posix()] = size
            if len(files) > MAX_FILES:
                raise CorruptFileError(
                    f"the folder holds more than {MAX_FILES:,} files: not a diffusers model"
                )
    return files


def _single_component_weights(folder: Path) -> list[Path]:
    found: list[Path] = []
    for stem in SINGLE_COMPONENT_WEIGHTS:
        for variant in ("", ".fp16"):
            for ext in (".safetensors", ".bin"):
                candidate = folder / f"{stem}{variant}{ext}"
                if candidate.is_file():
                    found.append(candidate)
        index = folder / f"{stem}.safetensors.index.json"
        if index.is_file():
            found.append(index)
    return found


def _single_component_tensors(folder: Path) -> dict[str, TensorInfo]:
    """The tensors of the first safetensors weights file, preferring full precision over ``.fp16``."""
    for weights in _single_component_weights(folder):
        if weights.name.endswith(".safetensors"):
            return dict(read_safetensors_header(weights).tensors)
    return {}
