"""The files that belong to a model and travel with it: sidecars other tools wrote, previews, configs.

A model moved without its ``.civitai.info`` or ``.preview.png`` loses its notes and cover in every tool
that reads them, so a move, rename or delete takes them along. The set is the sidecars
:func:`core.formats.sidecars.sidecar_names` reads (A1111 ``<stem>.json``, Civitai Helper
``<stem>.civitai.info``, Stability Matrix ``<stem>.cm-info.json``, LoRA Manager ``<stem>.metadata.json``,
``<stem>.preview.<png|jpg|jpeg|webp>`` and ``<stem>.<png|jpg|jpeg|webp>``) plus A1111's per-checkpoint
config ``<stem>.yaml`` (and ``.yml``), which a checkpoint needs to load. Free-form ``<stem>.txt`` files are
left alone: tools do not agree on what they are, and a user's unrelated note must not follow a model.

When another model in the same folder has the same stem (``x.safetensors`` beside ``x.ckpt``), the
sidecars belong to both and stay where they are.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from core.formats.reader import MODEL_EXTENSIONS
from core.formats.sidecars import sidecar_names, sidecar_stem

CONFIG_SUFFIXES = (".yaml", ".yml")


def companion_names(model_path: Path) -> list[str]:
    """Every name a companion of ``model_path`` may have, in the order they are handled."""
    stem = sidecar_stem(model_path)
    return [*sidecar_names(model_path), *(f"{stem}{suffix}" for suffix in CONFIG_SUFFIXES)]


def companions_among(model_path: Path, siblings: Collection[str]) -> list[Path]:
    """The companions of ``model_path`` among ``siblings`` (the names in its folder), in handling order.

    Costs a few set lookups whatever the size of the folder (a plan of thousands of files in one folder
    calls it for each of them)."""
    stem = sidecar_stem(model_path)
    twins = (f"{stem}{suffix}" for ext in MODEL_EXTENSIONS for suffix in (ext, ext.upper()))
    if any(name != model_path.name and name in siblings for name in twins):
        return []  # another model of the same stem: the sidecars are shared and stay
    return [
        model_path.parent / name
        for name in companion_names(model_path)
        if name in siblings and name != model_path.name
    ]


def companion_files(model_path: Path) -> list[Path]:
    """The companions of ``model_path`` that exist now (one listing of its folder; none if unreadable)."""
    try:
        siblings = {entry.name for entry in model_path.parent.iterdir()}
    except OSError:
        return []
    return companions_among(model_path, siblings)


def companion_target(companion: Path, model_source: Path, model_target: Path) -> Path:
    """Where ``companion`` goes when ``model_source`` becomes ``model_target``: the model's new stem, the
    companion's own ending (``.preview.png``, ``.civitai.info``), in the model's new folder."""
    old_stem = sidecar_stem(model_source)
    new_stem = sidecar_stem(model_target)
    ending = companion.name[len(old_stem) :] if companion.name.startswith(old_stem) else companion.name
    return model_target.parent / f"{new_stem}{ending}"
