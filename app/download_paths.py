"""Where a download lands: the kind of a remote file, and its folder under the download root.

Pure functions (no Qt, no network) so the rule is tested on its own: a Civitai model type or Hugging Face
hints give an ``AssetKind``; ``core.layouts.folder_for`` gives that kind's folder in the root's layout
(A1111 ``models/Lora``, ComfyUI ``models/loras``...), so the file keeps working in the user's tool; the
optional subfolder template of the settings (``{base_model}``, ``{model_name}``, ``{type}``) goes below it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from catalog.records import RootRecord
from core.errors import AtelierError
from core.layouts import folder_for
from core.organize.template import sanitize_name
from core.taxonomy import AssetKind

CIVITAI_TYPES: tuple[str, ...] = (
    "Checkpoint",
    "LORA",
    "LoCon",
    "DoRA",
    "TextualInversion",
    "Hypernetwork",
    "VAE",
    "Controlnet",
    "Upscaler",
    "MotionModule",
    "Poses",
    "Wildcards",
    "Workflows",
    "Other",
)
CIVITAI_BASE_MODELS: tuple[str, ...] = (
    "SD 1.5",
    "SD 2.1",
    "SDXL 1.0",
    "Pony",
    "Illustrious",
    "NoobAI",
    "SD 3.5",
    "Flux.1 D",
    "Flux.1 S",
    "Other",
)
CIVITAI_SORTS: tuple[str, ...] = ("Highest Rated", "Most Downloaded", "Newest")
CIVITAI_PERIODS: tuple[str, ...] = ("AllTime", "Year", "Month", "Week", "Day")

_CIVITAI_KINDS: dict[str, AssetKind] = {
    "checkpoint": AssetKind.CHECKPOINT,
    "lora": AssetKind.LORA,
    "locon": AssetKind.LORA,
    "dora": AssetKind.LORA,
    "lycoris": AssetKind.LORA,
    "textualinversion": AssetKind.EMBEDDING,
    "hypernetwork": AssetKind.HYPERNETWORK,
    "vae": AssetKind.VAE,
    "controlnet": AssetKind.CONTROLNET,
    "upscaler": AssetKind.UPSCALER,
}
NO_ROOT_MESSAGE = (
    "No library folder to download into yet: add one first (File › Add library folder… in the window; "
    "`scan FOLDER` or `download … --to FOLDER` on the command line)."
)


class NoDownloadRootError(AtelierError):
    """There is no library folder to download into; the message tells the user what to do."""


def kind_for_civitai(model_type: str | None, file_type: str | None = None) -> AssetKind:
    """The library kind of a Civitai file: a "VAE" file of a checkpoint is a VAE, else the model's type."""
    if file_type and file_type.strip().lower() == "vae":
        return AssetKind.VAE
    return _CIVITAI_KINDS.get((model_type or "").strip().lower(), AssetKind.UNKNOWN)


def kind_for_hf(repo_id: str, tags: Iterable[str], path: str) -> AssetKind:
    """A best guess from the file's own name first, then the repository's tags and names; the scanner
    identifies the file later. The file's name comes first: a repository of LoRAs ("someone/loras") that
    also holds a VAE must not send ``slow_vae.safetensors`` to the LoRA folder."""
    name = path.lower().rsplit("/", 1)[-1]
    for words, kind in _NAME_KINDS:
        if any(word in name for word in words):
            return kind
    tag_set = {t.lower() for t in tags}
    lowered = f"{repo_id}/{path}".lower()
    if "lora" in tag_set or "lora" in lowered:
        return AssetKind.LORA
    if "textual_inversion" in tag_set or "embedding" in lowered:
        return AssetKind.EMBEDDING
    if "controlnet" in tag_set or "controlnet" in lowered:
        return AssetKind.CONTROLNET
    if path.lower().startswith("vae/"):
        return AssetKind.VAE
    return AssetKind.CHECKPOINT


# Words of a file's own name that say its kind, most specific first ("lora" before "vae": a LoRA trained
# on a VAE-decoded style is still a LoRA).
_NAME_KINDS: tuple[tuple[tuple[str, ...], AssetKind], ...] = (
    (("lora", "locon", "lycoris"), AssetKind.LORA),
    (("controlnet", "control_"), AssetKind.CONTROLNET),
    (("vae",), AssetKind.VAE),
    (("embedding",), AssetKind.EMBEDDING),
)


def _first_added(roots: Sequence[RootRecord]) -> RootRecord:
    return min(roots, key=lambda root: (root.added_at, root.id))


def configured_root(roots: Sequence[RootRecord], preferred: str) -> RootRecord | None:
    """The library folder the ``download_root`` setting names, if it is still a library folder."""
    wanted = preferred.strip()
    if not wanted:
        return None
    return next((root for root in roots if Path(root.path) == Path(wanted)), None)


def choose_root(roots: Sequence[RootRecord], preferred: str) -> RootRecord:
    """Where downloads go: the download folder of the settings, else the first library folder added.

    "First added" rather than the first in the list: roots are listed by path, so adding a folder whose
    path sorts first must not silently move every later download there.
    """
    if not roots:
        raise NoDownloadRootError(NO_ROOT_MESSAGE)
    return configured_root(roots, preferred) or _first_added(roots)


def describe_default_root(roots: Sequence[RootRecord], preferred: str) -> str:
    """Why :func:`choose_root` picks its folder, in the words the Downloads tab and the CLI show."""
    if not roots:
        return NO_ROOT_MESSAGE
    if configured_root(roots, preferred) is not None:
        return "the download folder set in Settings › Sites"
    if preferred.strip():
        return "the first library folder added (the download folder in Settings › Sites is gone)"
    return "the first library folder added (choose another in Settings › Sites)"


def _clean(part: str) -> str:
    """One folder name every file system takes (no reserved name like ``CON``, at most 255 bytes), as an
    organize template makes it; never hidden (a leading dot), never empty."""
    return sanitize_name(part.lstrip(" .")) or "_"


def expand_subfolder(template: str, values: dict[str, str | None]) -> Path | None:
    """``{base_model}/{model_name}`` with the file's values, each made a safe single folder name.

    An unknown placeholder or a malformed template is ignored rather than failing the download.
    """
    if not template.strip():
        return None
    safe = {key: _clean(value or "unknown") for key, value in values.items()}
    try:
        expanded = template.format(**safe)
    except (KeyError, IndexError, ValueError):
        return None
    parts = [_clean(p) for p in re.split(r"[/\\]+", expanded) if p.strip() and p.strip() not in (".", "..")]
    return Path(*parts) if parts else None


def target_folder(
    root: RootRecord, kind: AssetKind, template: str = "", values: dict[str, str | None] | None = None
) -> Path:
    """The folder for ``kind`` under ``root``'s layout, plus the expanded subfolder template."""
    folder = folder_for(Path(root.path), root.layout, kind)
    sub = expand_subfolder(template, values or {})
    return folder / sub if sub is not None else folder
