"""ComfyUI's ``extra_model_paths.yaml``: write an entry that shows a library folder to ComfyUI, and read
an existing file to offer its folders as library folders.

The file is a YAML mapping of named sections; each has an optional ``base_path`` (relative paths are
taken from the file's own folder, ``~`` is expanded) and one key per ComfyUI folder kind (``checkpoints``,
``loras``, ``vae``, ``embeddings``, ``hypernetworks``, ...) whose value is one folder, or several on
separate lines, relative to ``base_path``.

Writing never loses what the user had: the old file is copied to ``.bak`` first, the new one is written
to a temporary name and renamed; the other sections keep their exact text (comments too), because only
the block of Atelier's own section is replaced or appended; and the result is read back to check that
every other section still says what it said (Stability Matrix once overwrote users' sections).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.layouts import KIND_FOLDERS, detect_layout
from core.organize.errors import OrganizeError
from core.taxonomy import AssetKind, LibraryLayout

SECTION = "atelier"
MARKER = "# Written by Atelier for the library folder"
# ComfyUI's folder names (folder_paths.py) for each kind Atelier knows.
COMFYUI_KEYS: Mapping[AssetKind, str] = {
    AssetKind.CHECKPOINT: "checkpoints",
    AssetKind.LORA: "loras",
    AssetKind.VAE: "vae",
    AssetKind.EMBEDDING: "embeddings",
    AssetKind.HYPERNETWORK: "hypernetworks",
    AssetKind.CONTROLNET: "controlnet",
    AssetKind.UPSCALER: "upscale_models",
    AssetKind.CLIP_VISION: "clip_vision",
    AssetKind.TEXT_ENCODER: "text_encoders",
    AssetKind.IP_ADAPTER: "ipadapter",
}
_TOP_KEY = re.compile(r"^([^\s#][^:]*):")


class ComfyYamlError(OrganizeError):
    """The yaml file cannot be read or written as asked (one line saying why)."""


@dataclass(frozen=True, slots=True)
class YamlFolder:
    """A folder a section of the file points ComfyUI at."""

    section: str
    key: str  # the ComfyUI folder kind, or "base_path"
    path: Path
    exists: bool


# -- writing ---------------------------------------------------------------------------------------------


def section_for_root(root: Path, layout: LibraryLayout) -> dict[str, str]:
    """The section that shows ``root`` to ComfyUI: its install as ``base_path`` and, per kind, the
    existing folders of its layout relative to it (several on separate lines)."""
    if layout is LibraryLayout.FLAT:
        layout = detect_layout(root)
    if layout is LibraryLayout.FLAT:
        raise ComfyYamlError(
            f"{root} is a plain folder without kind folders: ComfyUI would list every file as every kind. "
            "Share it with `atelier mirror --ui comfyui DEST` instead"
        )
    base = _install_root(root, layout)
    section: dict[str, str] = {"base_path": str(base)}
    for kind, key in COMFYUI_KEYS.items():
        folders = [f for f in KIND_FOLDERS[layout].get(kind, ()) if (base / f).is_dir()]
        if kind is AssetKind.CHECKPOINT and layout is LibraryLayout.COMFYUI:
            folders = folders[:1]  # ComfyUI keeps diffusion_models/unet apart from checkpoints
        if folders:
            section[key] = "\n".join(dict.fromkeys(folders))
    if len(section) == 1:
        raise ComfyYamlError(f"no model folders of the {layout.value} layout under {root}")
    return section


def _install_root(root: Path, layout: LibraryLayout) -> Path:
    """The folder the layout's relative folders start from: the root, or the install above it when the
    root is its models folder (``.../models``)."""
    folders = {f for fs in KIND_FOLDERS[layout].values() for f in fs}
    best, best_count = root, 0
    for base in (root, root.parent, root.parent.parent):
        count = sum((base / folder).is_dir() for folder in folders)
        if count > best_count:  # the root itself wins a tie
            best, best_count = base, count
    return best


def write_section(yaml_path: Path, root: Path, layout: LibraryLayout) -> str:
    """Add or replace Atelier's section for ``root`` in ``yaml_path``; returns the section's name.

    An Atelier section with the same ``base_path`` is replaced; otherwise a new one is appended
    (``atelier``, ``atelier_2``...). The user's sections keep their text, comments included.
    """
    section = section_for_root(root, layout)
    old_text = yaml_path.read_text(encoding="utf-8") if yaml_path.exists() else ""
    old = _load(old_text, yaml_path)
    name = _section_name(old, section["base_path"])
    block = f"{MARKER} {root}\n" + yaml.safe_dump(
        {name: section}, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    new_text = _replace_block(old_text, name, block)
    new = _load(new_text, yaml_path)
    kept = {key: value for key, value in old.items() if key != name}
    if {key: value for key, value in new.items() if key != name} != kept or new.get(name) != section:
        raise ComfyYamlError(f"{yaml_path}: could not add Atelier's section without changing the others")
    if yaml_path.exists():
        shutil.copy2(yaml_path, yaml_path.with_name(yaml_path.name + ".bak"))
    temporary = yaml_path.with_name(f".{yaml_path.name}.atelier-part")
    yaml_path.parent.mkdir(parents=True, exist_ok=True)
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(new_text)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(yaml_path)
    return name


def _section_name(existing: Mapping[str, Any], base_path: str) -> str:
    for key, value in existing.items():
        if (
            str(key).startswith(SECTION)
            and isinstance(value, Mapping)
            and value.get("base_path") == base_path
        ):
            return str(key)
    name, number = SECTION, 2
    while name in existing:
        name, number = f"{SECTION}_{number}", number + 1
    return name


def _replace_block(text: str, name: str, block: str) -> str:
    """``text`` with the top-level block ``name:`` (and Atelier's marker line above it) replaced by
    ``block``, or ``block`` appended; every other line stays as it was."""
    lines = text.splitlines(keepends=True)
    start = next(
        (i for i, line in enumerate(lines) if (m := _TOP_KEY.match(line)) and m.group(1) == name), None
    )
    if start is None:
        prefix = text if not text or text.endswith("\n") else text + "\n"
        return prefix + ("\n" if prefix.strip() else "") + block
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # blank lines after the block stay
    if start > 0 and lines[start - 1].startswith(MARKER):
        start -= 1
    return "".join(lines[:start]) + block + "".join(lines[end:])


def _load(text: str, path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ComfyYamlError(f"{path} is not valid YAML ({_first_line(exc)}): fix or move it first") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ComfyYamlError(f"{path} is not an extra_model_paths.yaml (no named sections)")
    return data


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# -- reading ---------------------------------------------------------------------------------------------


def read_folders(yaml_path: Path) -> list[YamlFolder]:
    """Every folder the file points ComfyUI at, section by section (``base_path`` first)."""
    try:
        text = yaml_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ComfyYamlError(f"{yaml_path}: {exc.strerror or exc}") from exc
    found: list[YamlFolder] = []
    for section, values in _load(text, yaml_path).items():
        if not isinstance(values, Mapping):
            continue
        base_text = values.get("base_path")
        base = yaml_path.parent
        if isinstance(base_text, str) and base_text.strip():
            base = _absolute(Path(os.path.expandvars(base_text.strip())).expanduser(), yaml_path.parent)
            found.append(YamlFolder(str(section), "base_path", base, base.is_dir()))
        for key, value in values.items():
            if key in ("base_path", "is_default") or not isinstance(value, str):
                continue
            for line in value.splitlines():
                if line.strip():
                    path = _absolute(Path(os.path.expandvars(line.strip())).expanduser(), base)
                    found.append(YamlFolder(str(section), str(key), path, path.is_dir()))
    return found


def _absolute(path: Path, base: Path) -> Path:
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def offered_roots(folders: list[YamlFolder], library_roots: list[Path]) -> list[Path]:
    """The folders to offer as library folders: each section's ``base_path`` where it exists (its layout
    is detected when added), else its kind folders; never one inside another or inside a library folder."""
    chosen: list[Path] = []
    sections = dict.fromkeys(f.section for f in folders)
    for section in sections:
        mine = [f for f in folders if f.section == section and f.exists]
        bases = [f.path for f in mine if f.key == "base_path"]
        for path in bases or [f.path for f in mine]:
            if path not in chosen:
                chosen.append(path)
    resolved = [Path(os.path.realpath(p)) for p in library_roots]

    def covered(path: Path, others: list[Path]) -> bool:
        real = Path(os.path.realpath(path))
        return any(real == o or real.is_relative_to(o) for o in others)

    outer = [p for p in chosen if not any(p != o and p.is_relative_to(o) for o in chosen)]
    return [p for p in outer if not covered(p, resolved)]
