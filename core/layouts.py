"""Where the Stable Diffusion tools keep their models: A1111, Forge, ComfyUI, InvokeAI, Stability Matrix.

Atelier never moves a user's files into a private store: a library root is an existing tool's install (or
a plain folder), and new downloads go where that tool looks for them, so they keep working there. This
module is that knowledge, as pure functions over paths: no Qt, no database.

A root may be given at three depths and every function accepts all of them: the install itself
(``~/stable-diffusion-webui``), its models folder (``.../models``; ``Data`` or ``Data/Models`` for
Stability Matrix), or the folder a portable package unpacks to (``ComfyUI_windows_portable`` holding
``ComfyUI/``, A1111/Forge's ``sd.webui`` holding ``webui/``). Folder names are compared case-insensitively
because Windows and macOS users see ``models/lora`` and ``models/Lora`` as the same folder.

Sources and certainty: A1111 (``modules/paths_internal.py``, ``modules/shared_cmd_options.py``), ComfyUI
(``folder_paths.py``), Stability Matrix (``SharedFolderType``; old and new folder names both listed) and
InvokeAI 4-5 (``models/<base>/<type>/<name>``, from ``model_install_default.py``) are from their sources.
Newer InvokeAI installs into ``models/<model key>/`` folders, which carry no kind: those files get no kind
hint and are identified from their tensors. Less certain: where Forge keeps CLIP-vision files
(``models/ControlNetPreprocessor/clip_vision``) and A1111's controlnet extension's download folders.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from core.identify.vocabulary import INVOKEAI_BASE_OF
from core.taxonomy import Architecture, AssetKind, LibraryLayout

MODEL_FILE_SUFFIXES: frozenset[str] = frozenset(
    {".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft"}
)

# Suffixes of files still being written by a browser, a download manager or an editor.
PARTIAL_DOWNLOAD_SUFFIXES: frozenset[str] = frozenset(
    {
        ".part",
        ".partial",
        ".crdownload",
        ".download",
        ".downloading",
        ".tmp",
        ".temp",
        ".aria2",
        ".incomplete",
        ".filepart",
        ".opdownload",
        ".!qb",
    }
)

# Folders no scan should enter: version control, caches, Python environments, OS litter. Hidden folders
# (a leading dot, which includes InvokeAI's ``.cache`` and ``.download_cache``) are skipped as well.
IGNORED_DIR_NAMES: frozenset[str] = frozenset(
    name.casefold()
    for name in (
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".cache",
        "node_modules",
        "venv",
        ".venv",
        "site-packages",
        "python_embeded",  # sic: ComfyUI's portable Python
        "python_embedded",
        ".ipynb_checkpoints",
        "$recycle.bin",
        "system volume information",
        ".trash",
        ".trashes",
        "lost+found",
    )
)
# A Hugging Face hub cache (``models--org--name/blobs``) holds the same bytes as its ``snapshots``
# under hash names; scanning both would count every file twice.
_HUB_CACHE_PREFIXES = ("models--", "datasets--", "spaces--")
# InvokeAI stages installs in ``tmpinstall_*`` folders that vanish when the install ends.
_TEMP_DIR_PREFIXES = ("tmpinstall_",)

# The path from an install's root down to its models folder, and the folders a portable package wraps
# the install in.
_MODELS_CHAIN: Mapping[LibraryLayout, tuple[str, ...]] = MappingProxyType(
    {
        LibraryLayout.A1111: ("models",),
        LibraryLayout.FORGE: ("models",),
        LibraryLayout.COMFYUI: ("models",),
        LibraryLayout.INVOKEAI: ("models",),
        LibraryLayout.STABILITY_MATRIX: ("Data", "Models"),
        LibraryLayout.FLAT: (),
    }
)
_WRAPPERS: Mapping[LibraryLayout, tuple[str, ...]] = MappingProxyType(
    {
        LibraryLayout.A1111: ("webui",),
        LibraryLayout.FORGE: ("webui",),
        LibraryLayout.COMFYUI: ("ComfyUI",),
    }
)

_A1111_FOLDERS: dict[AssetKind, tuple[str, ...]] = {
    AssetKind.CHECKPOINT: ("models/Stable-diffusion",),
    AssetKind.LORA: ("models/Lora", "models/LyCORIS"),
    AssetKind.EMBEDDING: ("embeddings",),
    AssetKind.HYPERNETWORK: ("models/hypernetworks",),
    AssetKind.VAE: ("models/VAE",),
    AssetKind.CONTROLNET: ("models/ControlNet", "extensions/sd-webui-controlnet/models"),
    # The controlnet extension loads IP-Adapters from the ControlNet folder.
    AssetKind.IP_ADAPTER: ("models/ControlNet",),
    AssetKind.UPSCALER: (
        "models/ESRGAN",
        "models/RealESRGAN",
        "models/SwinIR",
        "models/ScuNET",
        "models/DAT",
        "models/LDSR",
    ),
    AssetKind.CLIP_VISION: ("extensions/sd-webui-controlnet/annotator/downloads/clip_vision",),
}

_FORGE_FOLDERS: dict[AssetKind, tuple[str, ...]] = {
    **_A1111_FOLDERS,
    AssetKind.CONTROLNET: ("models/ControlNet",),
    AssetKind.CLIP_VISION: ("models/ControlNetPreprocessor/clip_vision",),
    AssetKind.TEXT_ENCODER: ("models/text_encoder",),
}

_COMFYUI_FOLDERS: dict[AssetKind, tuple[str, ...]] = {
    # UNet/transformer-only files (Flux, SD3 ...) are checkpoints to Atelier; ComfyUI keeps them apart.
    AssetKind.CHECKPOINT: ("models/checkpoints", "models/diffusion_models", "models/unet"),
    AssetKind.LORA: ("models/loras",),
    AssetKind.EMBEDDING: ("models/embeddings",),
    AssetKind.HYPERNETWORK: ("models/hypernetworks",),
    AssetKind.VAE: ("models/vae",),
    AssetKind.CONTROLNET: ("models/controlnet", "models/t2i_adapter"),
    AssetKind.IP_ADAPTER: ("models/ipadapter",),
    AssetKind.UPSCALER: ("models/upscale_models",),
    AssetKind.CLIP_VISION: ("models/clip_vision",),
    AssetKind.TEXT_ENCODER: ("models/text_encoders", "models/clip"),
}

# InvokeAI 4-5: models/<base>/<type>/<name>. Bases are InvokeAI's BaseModelType values.
INVOKEAI_BASES: tuple[str, ...] = (
    "any",
    "sd-1",
    "sd-2",
    "sdxl",
    "sdxl-refiner",
    "sd-3",
    "flux",
    "flux2",
    "cogview4",
    "z-image",
    "qwen-image",
)
# InvokeAI ModelType value -> kind. Hypernetworks do not exist in InvokeAI.
INVOKEAI_TYPES: Mapping[str, AssetKind] = MappingProxyType(
    {
        "main": AssetKind.CHECKPOINT,
        "lora": AssetKind.LORA,
        "embedding": AssetKind.EMBEDDING,
        "vae": AssetKind.VAE,
        "controlnet": AssetKind.CONTROLNET,
        "t2i_adapter": AssetKind.CONTROLNET,
        "control_lora": AssetKind.CONTROLNET,
        "ip_adapter": AssetKind.IP_ADAPTER,
        "clip_vision": AssetKind.CLIP_VISION,
        "spandrel_image_to_image": AssetKind.UPSCALER,
        "t5_encoder": AssetKind.TEXT_ENCODER,
        "clip_embed": AssetKind.TEXT_ENCODER,
        "qwen3_encoder": AssetKind.TEXT_ENCODER,
    }
)
# The InvokeAI base folder of each family (one row per family in the vocabulary table).
_INVOKEAI_BASE_OF: Mapping[Architecture, str] = INVOKEAI_BASE_OF


def _invokeai_folders() -> dict[AssetKind, tuple[str, ...]]:
    folders: dict[AssetKind, list[str]] = {}
    for type_name, kind in INVOKEAI_TYPES.items():
        folders.setdefault(kind, []).extend(f"models/{base}/{type_name}" for base in INVOKEAI_BASES)
    return {kind: tuple(paths) for kind, paths in folders.items()}


# Stability Matrix: Data/Models/<SharedFolderType>; renamed types keep their old folder as a fallback.
_STABILITY_MATRIX_FOLDERS: dict[AssetKind, tuple[str, ...]] = {
    AssetKind.CHECKPOINT: ("Data/Models/StableDiffusion", "Data/Models/DiffusionModels", "Data/Models/Unet"),
    AssetKind.LORA: ("Data/Models/Lora", "Data/Models/LyCORIS"),
    AssetKind.EMBEDDING: ("Data/Models/Embeddings", "Data/Models/TextualInversion"),
    AssetKind.HYPERNETWORK: ("Data/Models/Hypernetwork",),
    AssetKind.VAE: ("Data/Models/VAE",),
    AssetKind.CONTROLNET: ("Data/Models/ControlNet", "Data/Models/T2IAdapter"),
    AssetKind.IP_ADAPTER: (
        "Data/Models/IpAdapter",
        "Data/Models/IpAdapters15",
        "Data/Models/IpAdaptersXl",
        "Data/Models/InvokeIpAdapters15",
        "Data/Models/InvokeIpAdaptersXl",
    ),
    AssetKind.UPSCALER: (
        "Data/Models/ESRGAN",
        "Data/Models/RealESRGAN",
        "Data/Models/SwinIR",
        "Data/Models/ScuNET",
        "Data/Models/LDSR",
    ),
    AssetKind.CLIP_VISION: ("Data/Models/ClipVision", "Data/Models/InvokeClipVision"),
    AssetKind.TEXT_ENCODER: ("Data/Models/TextEncoders", "Data/Models/CLIP"),
}

KIND_FOLDERS: Mapping[LibraryLayout, Mapping[AssetKind, tuple[str, ...]]] = MappingProxyType(
    {
        LibraryLayout.A1111: MappingProxyType(_A1111_FOLDERS),
        LibraryLayout.FORGE: MappingProxyType(_FORGE_FOLDERS),
        LibraryLayout.COMFYUI: MappingProxyType(_COMFYUI_FOLDERS),
        LibraryLayout.INVOKEAI: MappingProxyType(_invokeai_folders()),
        LibraryLayout.STABILITY_MATRIX: MappingProxyType(_STABILITY_MATRIX_FOLDERS),
        LibraryLayout.FLAT: MappingProxyType({}),
    }
)
"""Relative folders (``/``-separated, from the install root) where each kind lives in each layout.

The first folder of a kind is where a new download goes when none of them exists yet; a FLAT library
has no kind folders, everything lives in its root.
"""


# -- files and folders a scan skips -------------------------------------------------------------------


def is_ignored_file(path: Path, names: Collection[str] | None = None) -> bool:
    """True for files a library scan must skip: anything that is not (yet) a model file.

    Partial downloads must never be hashed or cataloged: their hashes would be wrong forever and the
    file is renamed when it completes. aria2 preallocates the final name, so a file is also partial
    while ``<name>.aria2`` lies beside it. Hidden files, editor locks, images, sidecars and every other
    suffix that cannot hold weights are skipped too.

    ``names`` is the folder's listing when the caller has it (a walk does): the ``.aria2`` check is then
    a set lookup. Without it the check asks the file system, and a name too long to have an ``.aria2``
    beside it (a 255-byte model name) simply has none: this never raises.
    """
    name = path.name
    if names is not None:
        return is_ignored_name(name, names)
    if not name or name.startswith((".", "~$")):
        return True
    suffix = path.suffix.casefold()
    if suffix in PARTIAL_DOWNLOAD_SUFFIXES or suffix not in MODEL_FILE_SUFFIXES:
        return True
    try:
        return os.path.lexists(path.with_name(name + ".aria2"))
    except (OSError, ValueError):  # ENAMETOOLONG, or a NUL that no real name has
        return False


def is_ignored_name(name: str, names: Collection[str]) -> bool:
    """:func:`is_ignored_file` for the entry ``name`` of a folder whose listing is ``names``.

    A walk's form of the check: plain string work on the listing it already holds (no ``Path``, no
    ``stat``), since an unchanged rescan asks it of every file in the library.
    """
    if not name or name.startswith((".", "~$")):
        return True
    dot = name.rfind(".")
    suffix = name[dot:].casefold() if 0 < dot < len(name) - 1 else ""  # what ``Path.suffix`` gives
    if suffix in PARTIAL_DOWNLOAD_SUFFIXES or suffix not in MODEL_FILE_SUFFIXES:
        return True
    return name + ".aria2" in names


def is_ignored_dir(path: Path) -> bool:
    """True for folders a scan must not enter: caches, environments, VCS data, hub blob stores, trash."""
    name = path.name
    if name.startswith("."):
        return True
    folded = name.casefold()
    if folded in IGNORED_DIR_NAMES or folded.startswith(_TEMP_DIR_PREFIXES):
        return True
    return folded == "blobs" and path.parent.name.casefold().startswith(_HUB_CACHE_PREFIXES)


# -- detecting a layout ---------------------------------------------------------------------------------


def _child_names(directory: Path) -> dict[str, str]:
    """Casefolded name -> real name of the sub-folders of ``directory`` (empty when unreadable)."""
    names: dict[str, str] = {}
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    if entry.is_dir():
                        names[entry.name.casefold()] = entry.name
                except OSError:
                    continue
    except OSError:
        return {}
    return names


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _install_layout(directory: Path) -> LibraryLayout | None:
    """The tool installed in ``directory``: from its marker files, else from its folder structure.

    The order matters: Forge is an A1111 fork with the same files plus ``modules_forge``; a Stability
    Matrix library holds whole A1111/ComfyUI installs under ``Packages`` but none at its own top. An
    A1111/Forge tree copied or synced without its code (``models/Stable-diffusion``, ``models/Lora``,
    ``embeddings`` ...) is recognised by those folders, after every tool's markers had their say.
    """
    if _is_file(directory / "invokeai.yaml") or _is_file(directory / "databases" / "invokeai.db"):
        return LibraryLayout.INVOKEAI
    # webui.py alone is not enough: Fooocus has one too, with ComfyUI's folder names. With it, any of
    # A1111's own model folders will do (an install whose Stable-diffusion folder was moved away or never
    # made still has models/Lora), as long as no other tool's folder name says otherwise.
    webui = _is_file(directory / "webui.py") or _is_dir(directory / "modules")
    models = _child_names(directory / "models").keys()
    checkpoints = "stable-diffusion" in models
    a1111_folders = bool(models & _A1111_ONLY_FOLDERS) and not models & _OTHER_TOOLS_FOLDERS
    if _is_dir(directory / "modules_forge") and (webui or checkpoints):
        return LibraryLayout.FORGE
    if webui and (checkpoints or a1111_folders):
        return LibraryLayout.A1111
    # ComfyUI's code lives in comfy/ beside its main.py; ComfyUI Desktop's base folder has models but no
    # code. Its main.py (or folder_paths.py) with any of its own model folders will do as well.
    comfyui_code = _is_file(directory / "main.py") or _is_file(directory / "folder_paths.py")
    if (
        _is_dir(directory / "comfy")
        or "checkpoints" in models
        or (comfyui_code and bool(models & _COMFYUI_ONLY_FOLDERS))
    ):
        return LibraryLayout.COMFYUI
    if _is_stability_matrix_library(directory / "Data") or _is_stability_matrix_library(directory):
        return LibraryLayout.STABILITY_MATRIX
    return _a1111_tree_layout(directory)


# Model folders only A1111 and its forks create (ComfyUI says ``loras``, Stability Matrix keeps its
# models under ``Data/Models`` with names of its own), and the ones they share with other tools.
_A1111_ONLY_FOLDERS = frozenset(
    {
        "stable-diffusion",
        "lora",
        "lycoris",
        "esrgan",
        "realesrgan",
        "swinir",
        "scunet",
        "ldsr",
        "codeformer",
        "gfpgan",
        "deepbooru",
        "vae-approx",
        "karlo",
    }
)
_A1111_SHARED_FOLDERS = frozenset({"vae", "hypernetworks", "controlnet"})
# Names that make a models folder Stability Matrix's (or ComfyUI's), whatever else it holds.
_OTHER_TOOLS_FOLDERS = frozenset(
    {"stablediffusion", "textualinversion", "diffusionmodels", "hypernetwork", "ipadapter", "clipvision"}
    | {"checkpoints", "loras", "diffusion_models", "upscale_models", "text_encoders", "clip_vision"}
)
# Model folders only ComfyUI (and Fooocus, which takes its names) creates.
_COMFYUI_ONLY_FOLDERS = frozenset(
    {"checkpoints", "loras", "diffusion_models", "unet", "upscale_models", "text_encoders", "clip_vision"}
    | {"clip", "style_models", "gligen", "photomaker"}
)
# What Forge adds to A1111's tree (its code in modules_forge; these folders in models/).
_FORGE_MODEL_FOLDERS = frozenset({"controlnetpreprocessor", "text_encoder"})


def _a1111_tree_layout(directory: Path) -> LibraryLayout | None:
    """A1111 or Forge, from ``models/...`` and ``embeddings`` alone (None when the tree is not theirs).

    ``models/Stable-diffusion`` decides by itself; otherwise two of A1111's folders are needed, one of
    them A1111's own (``models/Lora``, ``models/ESRGAN``, or ``embeddings`` beside ``models``), so that a
    folder that merely has ``models/vae`` is not taken for an install.
    """
    top = _child_names(directory)
    if "models" not in top:
        return None
    names = _child_names(directory / top["models"]).keys()
    if names & _OTHER_TOOLS_FOLDERS or ("embeddings" in names and "stable-diffusion" not in names):
        return None
    own = names & _A1111_ONLY_FOLDERS
    evidence = len(own) + len(names & _A1111_SHARED_FOLDERS) + ("embeddings" in top)
    if "stable-diffusion" not in names and not ((own or "embeddings" in top) and evidence >= 2):
        return None
    forge = "modules_forge" in top or bool(names & _FORGE_MODEL_FOLDERS)
    return LibraryLayout.FORGE if forge else LibraryLayout.A1111


def _is_stability_matrix_library(directory: Path) -> bool:
    """A Stability Matrix library folder: ``Models/`` beside its settings, database or packages."""
    if not _is_dir(directory / "Models"):
        return False
    markers = ("settings.json", "StabilityMatrix.db", "Packages")
    return any((directory / m).exists() for m in markers) or _is_dir(directory / "Models" / "StableDiffusion")


def _models_folder_layout(directory: Path) -> LibraryLayout | None:
    """The layout of a models folder given directly, from the names of its sub-folders."""
    names = _child_names(directory)
    forge = bool(names.keys() & _FORGE_MODEL_FOLDERS)
    if "stable-diffusion" in names:
        return LibraryLayout.FORGE if forge else LibraryLayout.A1111
    if names.keys() & {"checkpoints", "diffusion_models", "loras", "upscale_models"}:
        return LibraryLayout.COMFYUI
    if names.keys() & {"stablediffusion", "textualinversion", "diffusionmodels"}:
        return LibraryLayout.STABILITY_MATRIX
    own = names.keys() & _A1111_ONLY_FOLDERS
    shared = names.keys() & _A1111_SHARED_FOLDERS
    # Embeddings inside the models folder are Stability Matrix's or ComfyUI's habit, not A1111's.
    if own and len(own) + len(shared) >= 2 and "embeddings" not in names:
        return LibraryLayout.FORGE if forge else LibraryLayout.A1111
    for base in INVOKEAI_BASES:
        if base in names and _child_names(directory / names[base]).keys() & INVOKEAI_TYPES.keys():
            return LibraryLayout.INVOKEAI
    return None


def detect_layout(root: Path) -> LibraryLayout:
    """How the folder the user chose is organised; FLAT when it is no known tool's.

    Marker files of the install win; then a portable package's inner install; then, when the user chose
    a models folder, its parent's markers or its sub-folder names.
    """
    if not _is_dir(root):
        return LibraryLayout.FLAT
    found = _install_or_package_layout(root)
    if found is not None:
        return found
    if root.name.casefold() in {"models", "data"}:
        parent_layout = _install_layout(root.parent)
        if parent_layout is not None:
            return parent_layout
    return _models_folder_layout(root) or LibraryLayout.FLAT


# -- where kinds live -----------------------------------------------------------------------------------


def _parts(relative: str) -> tuple[str, ...]:
    return tuple(p for p in relative.split("/") if p)


def _resolve(base: Path, layout: LibraryLayout, relative: str, depth: int) -> Path:
    """Where ``relative`` (from the install root) is when ``base`` lies ``depth`` steps down the models
    chain (0: the install, 1: its ``models`` folder ...)."""
    parts = _parts(relative)
    if depth == 0:
        return base.joinpath(*parts)
    chain = _MODELS_CHAIN[layout]
    if tuple(p.casefold() for p in parts[:depth]) == tuple(c.casefold() for c in chain[:depth]):
        return base.joinpath(*parts[depth:])
    # Outside the models folder (A1111's ``embeddings``): up to the install when it is there.
    if len(base.parents) >= depth:
        outside = base.parents[depth - 1].joinpath(*parts)
        if _is_dir(outside):
            return outside
    return base.joinpath(*parts)


def _placement(root: Path, layout: LibraryLayout) -> tuple[Path, int]:
    """Which install root and chain depth make most of the layout's kind folders exist under ``root``.

    An empty or missing root is taken as the install itself, unless its name says it is the models
    folder (``models``; ``Data``/``Models`` for Stability Matrix).
    """
    chain = _MODELS_CHAIN[layout]
    if not chain:
        return root, 0
    candidates = [(root, 0)]
    candidates += [(root, depth) for depth in range(1, len(chain) + 1)]
    candidates += [(root / wrapper, 0) for wrapper in _WRAPPERS.get(layout, ())]
    folders = {f for fs in KIND_FOLDERS[layout].values() for f in fs}
    best, best_score = candidates[0], 0
    for base, depth in candidates:
        score = sum(_is_dir(_resolve(base, layout, f, depth)) for f in folders)
        if score == 0 and depth < len(chain) and _is_dir(base.joinpath(*chain[depth:])):
            score = 1  # the models folder exists, still empty of kind folders
        if score > best_score:
            best, best_score = (base, depth), score
    if best_score:
        return best
    for depth in range(len(chain), 0, -1):
        if root.name.casefold() == chain[depth - 1].casefold():
            return root, depth
    return root, 0


def models_dir(root: Path, layout: LibraryLayout) -> Path:
    """The folder that holds all of a layout's model folders (the root itself for FLAT)."""
    base, depth = _placement(root, layout)
    return base.joinpath(*_MODELS_CHAIN[layout][depth:])


def folder_for(
    root: Path, layout: LibraryLayout, kind: AssetKind, *, architecture: Architecture | None = None
) -> Path:
    """The folder where a new file of ``kind`` goes so that the tool of ``layout`` finds it.

    An existing folder of the kind is preferred over the default so that a library keeps the names its
    tool version uses (Stability Matrix's old ``TextualInversion`` against the new ``Embeddings``).
    InvokeAI sorts by base model, given by ``architecture`` (``any`` when unknown). A kind the layout has
    no folder for (a hypernetwork in InvokeAI, UNKNOWN) goes to the models folder; the folder is not
    created here.
    """
    folders = KIND_FOLDERS[layout].get(kind, ())
    if not folders:
        return models_dir(root, layout)
    base, depth = _placement(root, layout)
    if layout is LibraryLayout.INVOKEAI:
        invoke_base = _INVOKEAI_BASE_OF.get(architecture, "any") if architecture else "any"
        chosen = next((f for f in folders if _parts(f)[1] == invoke_base), folders[0])
        return _resolve(base, layout, chosen, depth)
    resolved = [_resolve(base, layout, f, depth) for f in folders]
    return next((p for p in resolved if _is_dir(p)), resolved[0])


def scan_roots(root: Path, layout: LibraryLayout) -> list[Path]:
    """The existing folders a scan of this library should walk: the models folder plus any kind folder
    outside it (A1111's ``embeddings``). Walking only these keeps a scan out of code and outputs."""
    return [path for path in scanned_folders(root, layout) if _is_dir(path)]


def scanned_folders(root: Path, layout: LibraryLayout) -> list[Path]:
    """The folders a scan of this library walks once they exist (:func:`scan_roots` before the existence
    check): a move or organize refuses a target outside all of them, which would leave the library."""
    base, depth = _placement(root, layout)
    chain = _MODELS_CHAIN[layout]
    found = [base.joinpath(*chain[depth:])]
    chain_folded = tuple(c.casefold() for c in chain)
    for folders in KIND_FOLDERS[layout].values():
        for folder in folders:
            parts = _parts(folder)
            if tuple(p.casefold() for p in parts[: len(chain)]) != chain_folded:
                found.append(_resolve(base, layout, folder, depth))
    return list(dict.fromkeys(found))


def own_folders(root: Path, layout: LibraryLayout) -> frozenset[Path]:
    """The layout's own folders under ``root``: every kind folder, the models folder, and the folders
    between them and ``root``. They make the install what it is (:func:`detect_layout` looks for them), so
    a cleanup of emptied folders keeps them even when a move left them empty."""
    base, depth = _placement(root, layout)
    ends = [models_dir(root, layout)]
    ends += [_resolve(base, layout, f, depth) for fs in KIND_FOLDERS[layout].values() for f in fs]
    own: set[Path] = set()
    for end in ends:
        if not end.is_relative_to(root):
            continue
        own.add(end)
        own.update(parent for parent in end.parents if parent.is_relative_to(root) and parent != root)
    return frozenset(own)


TOOL_NAMES: Mapping[LibraryLayout, str] = MappingProxyType(
    {
        LibraryLayout.A1111: "AUTOMATIC1111",
        LibraryLayout.FORGE: "Forge",
        LibraryLayout.COMFYUI: "ComfyUI",
        LibraryLayout.INVOKEAI: "InvokeAI",
        LibraryLayout.STABILITY_MATRIX: "Stability Matrix",
        LibraryLayout.FLAT: "Plain folder",
    }
)
"""What the window and the messages call each layout's tool ("not scanned in an AUTOMATIC1111 folder",
the folder lists' "— AUTOMATIC1111"): one table for both."""


@dataclass(frozen=True, slots=True)
class _KindPattern:
    parts: tuple[str, ...]  # casefolded, relative to the root as given
    kind: AssetKind
    primary: bool  # the kind's first folder: wins a folder two kinds share (ControlNet vs IP-Adapter)
    order: int


def _kind_patterns(layout: LibraryLayout) -> list[_KindPattern]:
    chain = tuple(c.casefold() for c in _MODELS_CHAIN[layout])
    wrappers = tuple(w.casefold() for w in _WRAPPERS.get(layout, ()))
    patterns: list[_KindPattern] = []
    for order, kind in enumerate(AssetKind):
        for index, folder in enumerate(KIND_FOLDERS[layout].get(kind, ())):
            parts = tuple(p.casefold() for p in _parts(folder))
            variants = {parts, *((w, *parts) for w in wrappers)}
            for depth in range(1, len(chain) + 1):
                if parts[:depth] == chain[:depth]:
                    variants.add(parts[depth:])
            patterns.extend(_KindPattern(v, kind, index == 0, order) for v in variants if v)
    return patterns


_PATTERNS: Mapping[LibraryLayout, list[_KindPattern]] = MappingProxyType(
    {layout: _kind_patterns(layout) for layout in LibraryLayout}
)


def kind_hint_for(root: Path, layout: LibraryLayout, path: Path) -> AssetKind | None:
    """The kind whose folder ``path`` lies in, or None: a hint for identification, never the verdict.

    Pure path arithmetic, no file system access, because a scan asks this for every file. Users misfile
    models (a LoRA in ``Stable-diffusion``), so identification from the tensors has the last word.
    """
    try:
        relative = path.relative_to(root)
    except ValueError:
        return None
    parts = tuple(p.casefold() for p in relative.parts[:-1])  # the folders the file lies in
    best: _KindPattern | None = None
    for pattern in _PATTERNS[layout]:
        if parts[: len(pattern.parts)] != pattern.parts:
            continue
        if best is None or (len(pattern.parts), pattern.primary, -pattern.order) > (
            len(best.parts),
            best.primary,
            -best.order,
        ):
            best = pattern
    if best is not None:
        return best.kind
    if layout is LibraryLayout.INVOKEAI:
        return _invokeai_kind(parts)
    return None


def _invokeai_kind(parts: tuple[str, ...]) -> AssetKind | None:
    """``<base>/<type>`` anywhere under the root, for bases newer than INVOKEAI_BASES."""
    for index in range(len(parts) - 1):
        if index > 0 and parts[index - 1] != "models":
            continue
        kind = INVOKEAI_TYPES.get(parts[index + 1])
        if kind is not None:
            return kind
    return None


# -- discovering installs on this machine ---------------------------------------------------------------

# Searching stops after the first budget, counting files after the second, so that counting always
# gets some time and the whole discovery stays under half a second.
DISCOVERY_SEARCH_BUDGET_S = 0.3
DISCOVERY_TIME_BUDGET_S = 0.45
DISCOVERY_COUNT_CAP = 1000
_COUNT_MAX_DEPTH = 6

# Install folder names, relative to the home folder, where the tools' installers and guides put them.
_HOME_INSTALLS: tuple[str, ...] = (
    "stable-diffusion-webui",
    "stable-diffusion-webui-forge",
    "stable-diffusion-webui-reForge",
    "sd-webui-forge",
    "automatic",
    "ComfyUI",
    "comfyui",
    "invokeai",
    "InvokeAI",
    "StabilityMatrix",
    "StabilityMatrix/Data",
    ".local/share/StabilityMatrix",
    ".config/StabilityMatrix",
    "AppData/Roaming/StabilityMatrix",
    "AppData/Local/StabilityMatrix",
    "Documents/ComfyUI",
    "Documents/StabilityMatrix",
    "Documents/invokeai",
    "Library/Application Support/StabilityMatrix",
)
# Folders searched a few levels down for installs under other names (``~/AI/sd/ComfyUI``).
_HOME_CONTAINERS: tuple[tuple[str, int], ...] = (
    ("", 2),
    ("AI", 3),
    ("ai", 3),
    ("Documents", 2),
    ("Desktop", 2),
    ("pinokio/api", 3),  # Pinokio: ~/pinokio/api/<app>.git/app
)
# Top-level folders of a Windows drive that never hold an install and are slow to list.
_SYSTEM_DIR_NAMES = frozenset(
    n.casefold()
    for n in (
        "Windows",
        "Program Files",
        "Program Files (x86)",
        "ProgramData",
        "Users",
        "PerfLogs",
        "Recovery",
        "$Recycle.Bin",
        "System Volume Information",
        "$WinREAgent",
    )
)


@dataclass(frozen=True, slots=True)
class DiscoveredFolder:
    """A tool install (or a plain folder of models) found on this machine, offered as a library root.

    ``model_files`` is a rough count for the user to recognise the folder, not an inventory:
    ``count_complete`` is False when counting stopped at DISCOVERY_COUNT_CAP or ran out of time.
    """

    path: Path
    layout: LibraryLayout
    model_files: int
    count_complete: bool


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self._end


def discover_model_folders(home: Path | None = None, extra: Sequence[Path] = ()) -> list[DiscoveredFolder]:
    """Find the tools' installs in the usual places so that first run can offer them as library roots.

    Looks at the default install folders under ``home``, then a few levels into likely containers
    (``home`` itself, ``~/AI``, ``~/Documents``, Pinokio), then into each of ``extra``; with ``home``
    left None it also looks at machine-wide places (Windows drive roots, ``%APPDATA%``). It never enters
    a symlinked folder while searching (no loops), never enters an install it has found, and stops
    after DISCOVERY_TIME_BUDGET_S in all so that a first-run dialog opens at once. An ``extra`` folder
    that holds no install but model files is reported with its detected layout (FLAT for a plain
    folder). The same models folder reached by two paths is reported once.
    """
    deadline = _Deadline(DISCOVERY_SEARCH_BUDGET_S)
    count_deadline = _Deadline(DISCOVERY_TIME_BUDGET_S)
    system_wide = home is None
    home = Path.home() if home is None else home
    found: dict[Path, LibraryLayout] = {}  # install path -> layout, in discovery order
    seen_models: set[Path] = set()
    checked: dict[Path, bool] = {}

    def consider(directory: Path) -> bool:
        """Record ``directory`` when it is an install; True when it is one (then it is not entered)."""
        if directory in checked:
            return checked[directory]
        layout = _install_or_package_layout(directory)
        checked[directory] = layout is not None
        if layout is None:
            return False
        key = _real(models_dir(directory, layout))
        if key not in seen_models:
            seen_models.add(key)
            found[directory] = layout
        return True

    places = [home / relative for relative in _HOME_INSTALLS]
    searches = [(home / rel if rel else home, depth) for rel, depth in _HOME_CONTAINERS]
    if system_wide:
        system_places, system_searches = _system_locations()
        places += system_places
        searches += system_searches
    extras = [Path(p) for p in extra]
    for place in places:
        if deadline.passed:
            break
        if _is_dir(place):
            consider(place)
    for base in extras:
        if _is_dir(base) and not consider(base):
            searches.append((base, 2))
    for base, depth in searches:
        if deadline.passed:
            break
        _search(base, depth, consider, deadline)
    for base in extras:
        if _is_dir(base) and not any(_is_within(base, p) or _is_within(p, base) for p in found):
            found[base] = detect_layout(base)

    results: list[DiscoveredFolder] = []
    for path, layout in found.items():
        count, complete = _count_model_files(scan_roots(path, layout), count_deadline)
        if layout is LibraryLayout.FLAT and count == 0:
            continue
        results.append(DiscoveredFolder(path, layout, count, complete))
    return results


def _install_or_package_layout(directory: Path) -> LibraryLayout | None:
    """An install's layout, looking inside a portable package (``ComfyUI_windows_portable``) too."""
    layout = _install_layout(directory)
    if layout is not None:
        return layout
    for wrapper_layout, wrappers in _WRAPPERS.items():
        for wrapper in wrappers:
            if _is_dir(directory / wrapper) and _install_layout(directory / wrapper) == wrapper_layout:
                return wrapper_layout
    return None


def _real(path: Path) -> Path:
    try:
        return Path(os.path.realpath(path))
    except OSError:
        return path


def _is_within(path: Path, other: Path) -> bool:
    try:
        path.relative_to(other)
    except ValueError:
        return False
    return True


def _search(base: Path, max_depth: int, visit: Callable[[Path], bool], deadline: _Deadline) -> None:
    """Visit the sub-folders of ``base`` down to ``max_depth``, breadth first, never through a symlink.

    ``visit`` returns True for an install: its sub-folders belong to it and are not entered.
    """
    level = [base]
    for _ in range(max_depth):
        next_level: list[Path] = []
        for directory in level:
            if deadline.passed:
                return
            try:
                with os.scandir(directory) as entries:
                    children = [Path(e.path) for e in entries if _searchable(e)]
            except OSError:
                continue
            for child in children:
                if deadline.passed:
                    return
                if not visit(child):
                    next_level.append(child)
        level = next_level


def _searchable(entry: os.DirEntry[str]) -> bool:
    if not _plain_dir(entry) or entry.name.casefold() in _SYSTEM_DIR_NAMES:
        return False
    return not is_ignored_dir(Path(entry.path))


def _plain_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _count_model_files(folders: Sequence[Path], deadline: _Deadline) -> tuple[int, bool]:
    """Count model files under ``folders`` up to the cap; symlinks are followed, each folder once.

    Stability Matrix links each package's model folders to its shared ones, and users link model
    folders across drives, so links are followed, but a (device, inode) set stops every loop.
    """
    count = 0
    visited: set[tuple[int, int]] = set()
    stack = [(folder, 0) for folder in folders]
    while stack:
        if count >= DISCOVERY_COUNT_CAP or deadline.passed:
            return min(count, DISCOVERY_COUNT_CAP), False
        directory, depth = stack.pop()
        try:
            st = directory.stat()
        except OSError:
            continue
        key = (st.st_dev, st.st_ino)
        if key in visited:
            continue
        visited.add(key)
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        continue
                    path = Path(entry.path)
                    if is_dir:
                        if depth < _COUNT_MAX_DEPTH and not is_ignored_dir(path):
                            stack.append((path, depth + 1))
                    elif not is_ignored_file(path):
                        count += 1
        except OSError:
            continue
    return min(count, DISCOVERY_COUNT_CAP), count < DISCOVERY_COUNT_CAP


def _system_locations() -> tuple[list[Path], list[tuple[Path, int]]]:
    """Machine-wide install folders and folders to search, outside the home folder."""
    places: list[Path] = []
    searches: list[tuple[Path, int]] = []
    if sys.platform == "win32":
        for variable in ("APPDATA", "LOCALAPPDATA"):
            value = os.environ.get(variable)
            if value:
                places.append(Path(value) / "StabilityMatrix")
        searches += [(drive, 2) for drive in _fixed_drives()]
    return places, searches


def _fixed_drives() -> list[Path]:
    """Local fixed drives only: probing a disconnected network drive can hang for seconds."""
    if sys.platform != "win32":
        return []
    import ctypes

    kernel32 = ctypes.windll.kernel32
    mask = kernel32.GetLogicalDrives()
    drives: list[Path] = []
    for index in range(26):
        if mask & (1 << index):
            root = f"{chr(ord('A') + index)}:\\"
            if kernel32.GetDriveTypeW(root) == 3:  # DRIVE_FIXED
                drives.append(Path(root))
    return drives
