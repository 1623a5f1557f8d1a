"""Recognise and read diffusers-format folders (a whole pipeline, or one component such as a VAE).

A diffusers model is a folder, not a file: ``model_index.json`` names the components, each in its own
subfolder with a ``config.json`` (``scheduler_config.json`` for the scheduler) and weights. The configs
decide the architecture (``cross_attention_dim``, ``in_channels``, ``prediction_type``), so they are
read in full, through the strict JSON loader and only as regular files (a named pipe called
``config.json`` cannot hang a scan).

Every weight file in the folder is checked as a file of its own would be: a safetensors header is read
(cheap), a ``.bin`` / ``.ckpt`` / ``.pt`` pickle is scanned like any checkpoint, since diffusers and
transformers load ``unet/diffusion_pytorch_model.bin`` or ``text_encoder/pytorch_model.bin`` with
``torch.load`` and would run whatever it holds. The folder is ``unsafe`` when any weight file is, and
``corrupt`` (or ``unreadable``) when one is damaged, with that file named in the reason. A
single-component folder also lends its safetensors tensors to identification, like a single file.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from core.formats.model_file import (
    CorruptFileError,
    DiffusersInfo,
    FormatError,
    ModelHeader,
    TensorInfo,
    UnreadableFileError,
    UnsafeFileError,
)
from core.formats.safe_open import check_regular, read_regular, unreadable_reason
from core.formats.safetensors_header import read_safetensors_header
from core.formats.strict_json import JsonRefusedError, load_json
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
    if _present(path / MODEL_INDEX):
        return True
    config = path / "config.json"
    if not _present(config):
        return False
    if _single_component_weights(path):
        return True
    try:
        return names_model_class(_read_json(config, "config.json"))
    except FormatError:
        return True  # a broken config.json in a model folder: read_diffusers_folder says what is wrong


def _present(path: Path) -> bool:
    """Whether anything has this name: a named pipe called ``config.json`` is reported, not overlooked."""
    return os.path.lexists(path)


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
    """Read ``model_index.json``, every component config and every weight file's container.

    Raises ``UnsafeFileError`` when a weight file would run code (or exhaust memory) if loaded,
    ``CorruptFileError`` for a damaged config or weight file, ``UnreadableFileError`` for one that is a
    special file or a broken link; each reason starts with the file's path inside the folder.
    """
    files = _list_files(path)
    weight_files = tuple(sorted(name for name in files if name.lower().endswith(WEIGHT_EXTENSIONS)))
    size = sum(files.values())
    check_weight_files(path, weight_files)
    tensors: dict[str, TensorInfo] = {}
    if _present(path / MODEL_INDEX):
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
            if _present(config_path):
                configs[name] = _read_json(config_path, f"{name}/{config_name}")
                break
    return configs


def components_without_weights(root: Path) -> list[str]:
    """The model components of a pipeline folder whose subfolder has a ``config.json`` but no weight file.

    Such a folder (configs downloaded without their weights, or a download cut short) is cataloged as
    what its configs say, but cannot be loaded: the renderer names the components before diffusers
    tries, instead of failing inside it with its own message. Tokenizers and schedulers carry no weights
    and have no ``config.json``, so they are never listed.
    """
    try:
        model_index = _read_json(root / MODEL_INDEX, MODEL_INDEX)
    except FormatError:
        return []
    missing: list[str] = []
    for name, spec in model_index.items():
        folder = root / name
        if name.startswith("_") or not _is_component_spec(spec) or not (folder / "config.json").is_file():
            continue
        names = (entry.name.lower() for entry in folder.iterdir() if entry.is_file())
        if not any(entry.endswith(WEIGHT_EXTENSIONS) for entry in names):
            missing.append(name)
    return sorted(missing)


def _is_component_spec(spec: object) -> bool:
    return isinstance(spec, list) and len(spec) == 2 and all(isinstance(part, str) for part in spec)


def check_weight_files(root: Path, weight_files: Collection[str]) -> None:
    """Check the container of every weight file; the worst finding is raised, naming its file.

    Unsafe beats unreadable beats corrupt: one file that would run code makes the whole folder unsafe,
    whatever else is wrong with it. Safetensors files cost a header read; pickles are scanned.
    """
    from core.formats.reader import read_header  # reader dispatches folders here: imported on use

    unreadable: FormatError | None = None
    corrupt: FormatError | None = None
    for name in weight_files:
        try:
            check_regular(root / name)  # a named pipe among the weights is reported, never opened
            read_header(root / name)
        except UnsafeFileError as exc:
            raise _named(exc, name) from None
        except UnreadableFileError as exc:
            unreadable = unreadable or _named(exc, name)
        except FormatError as exc:
            corrupt = corrupt or _named(exc, name)
        except FileNotFoundError:
            continue  # removed since the folder was listed
        except OSError as exc:
            unreadable = unreadable or UnreadableFileError(f"{name}: {unreadable_reason(root / name, exc)}")
    if unreadable is not None:
        raise unreadable
    if corrupt is not None:
        raise corrupt


def _named(exc: FormatError, name: str) -> FormatError:
    """The same error (type and details kept) with the component file's path in front of its reason."""
    exc.reason = exc.message = f"{name}: {exc.reason}"
    exc.args = (exc.reason,)
    return exc


def _read_json(path: Path, label: str) -> dict[str, Any]:
    try:
        raw = read_regular(path, MAX_JSON_BYTES)
    except UnreadableFileError as exc:
        raise UnreadableFileError(f"{label}: {exc.reason}") from None
    except ValueError:
        raise CorruptFileError(f"{label} is larger than {MAX_JSON_BYTES // (1024 * 1024)} MiB") from None
    except OSError as exc:
        raise CorruptFileError(f"{label} cannot be read: {exc.strerror or exc}") from None
    try:
        # transformers writes a tokenizer's "no limit" ``model_max_length`` as an integer past 64 bits
        # (T5's is 1000000000000000019884624838656): kept as text, it does not make a sound folder
        # corrupt. Model configs keep refusing such numbers: identification reads them as sizes.
        value = load_json(raw, large_integers_as_text=path.name == "tokenizer_config.json")
    except JsonRefusedError as exc:
        raise CorruptFileError(f"{label} {exc.reason}") from None
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
