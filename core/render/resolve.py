"""Match a recipe's references (names, aliases, short hashes) to files in the library.

The catalog is reached through the small :class:`AssetIndex` protocol so this module stays in core
(core never imports catalog); the catalog provides the adapter. Hashes win over names because names
collide ("detail_tweaker" exists in a dozen versions) while an AutoV2 hash names one file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Protocol

from core.render.recipe import AssetRef, Recipe
from core.taxonomy import Architecture, AssetKind

_MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft", ".gguf")
_LABELS = {
    AssetKind.CHECKPOINT: "Checkpoint",
    AssetKind.VAE: "VAE",
    AssetKind.LORA: "LoRA",
    AssetKind.EMBEDDING: "Embedding",
    AssetKind.HYPERNETWORK: "Hypernetwork",
    AssetKind.TEXT_ENCODER: "Text encoder",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A library file that may be what a reference means."""

    asset_id: int
    path: str
    kind: AssetKind
    architecture: Architecture
    display_name: str
    file_stem: str
    aliases: tuple[str, ...] = ()  # e.g. kohya's ss_output_name


class AssetIndex(Protocol):
    """What resolution needs from the library."""

    def by_name(self, kind: AssetKind, name: str) -> Sequence[Candidate]:
        """Assets of ``kind`` whose file stem, display name or an alias equals ``name`` ignoring case."""
        ...

    def by_hash(self, value: str) -> Sequence[Candidate]:
        """Assets one of whose hashes is ``value`` (any case; a short hash matches as a prefix)."""
        ...


@dataclass(frozen=True, slots=True)
class Resolution:
    """How one reference was resolved; ``candidate`` None when it was not found."""

    kind: AssetKind
    ref: AssetRef
    candidate: Candidate | None
    how: str = ""  # "hash", "file name", "display name", "alias", "name ignoring case"
    note: str | None = None


@dataclass(frozen=True, slots=True)
class MissingAsset:
    """A reference with no file in the library; ``hash`` lets the app offer a download by hash."""

    kind: AssetKind
    name: str
    hash: str | None
    message: str
    # The Civitai model version that names it (a Civitai generator image names its checkpoint by it).
    civitai_version: int | None = None


@dataclass(frozen=True, slots=True)
class ResolvedRecipe:
    """The recipe with every found reference filled (``asset_id``/``path``), and what is missing."""

    recipe: Recipe
    resolutions: tuple[Resolution, ...]
    missing: tuple[MissingAsset, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def missing_lines(self) -> tuple[str, ...]:
        return tuple(item.message for item in self.missing)

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(r.note for r in self.resolutions if r.note)


def _bare_name(name: str) -> str:
    """``models/Lora/add_detail.safetensors`` -> ``add_detail``."""
    base = PureWindowsPath(PurePosixPath(name).name).name
    lowered = base.lower()
    for suffix in _MODEL_SUFFIXES:
        if lowered.endswith(suffix):
            return base[: -len(suffix)]
    return base


_RULES: tuple[tuple[str, Callable[[Candidate, str], bool]], ...] = (
    ("file name", lambda c, n: c.file_stem == n),
    ("display name", lambda c, n: c.display_name == n),
    ("alias", lambda c, n: n in c.aliases),
    (
        "name ignoring case",
        lambda c, n: (
            n.casefold()
            in {c.file_stem.casefold(), c.display_name.casefold(), *(a.casefold() for a in c.aliases)}
        ),
    ),
)


def _named(candidates: Sequence[Candidate], names: Sequence[str]) -> Sequence[Candidate]:
    """Among files found by hash (identical copies), those the reference's name also names: infotext
    that says ``VAE: ae`` means ae.safetensors, not an identical zimage_vae.safetensors beside it."""
    for name in names:
        for _how, rule in _RULES:
            found = [c for c in candidates if rule(c, name)]
            if found:
                return found
    return candidates


def _pick(
    candidates: Sequence[Candidate], architecture: Architecture | None, names: Sequence[str] = ()
) -> tuple[Candidate, str | None]:
    """The candidate to use among equals: the one the reference names, else the one made for the
    checkpoint's architecture, else the first (saying how many matched)."""
    candidates = _named(candidates, names) if len(candidates) > 1 else candidates
    if len(candidates) == 1:
        return candidates[0], None
    matching = [c for c in candidates if architecture is not None and c.architecture is architecture]
    chosen = (matching or list(candidates))[0]
    if len(matching) == 1:
        return chosen, None
    return chosen, f"{len(candidates)} files match; using {chosen.path}"


def _resolve_one(
    kind: AssetKind, ref: AssetRef, index: AssetIndex, architecture: Architecture | None
) -> Resolution:
    if ref.asset_id is not None and ref.path is not None:
        return Resolution(kind, ref, None, "already resolved")
    hash_note = None
    names = [n for n in dict.fromkeys((ref.name, _bare_name(ref.name))) if n]
    if ref.path:
        names.append(_bare_name(ref.path))
    if ref.hash:
        found = [c for c in index.by_hash(ref.hash) if c.kind is kind]
        if found:
            chosen, note = _pick(found, architecture, names)
            return Resolution(kind, ref, chosen, "hash", note)
        hash_note = f"no {_noun(kind)} has hash {ref.hash}"
    for name in names:
        candidates = list(index.by_name(kind, name))
        for how, rule in _RULES:
            found = [c for c in candidates if rule(c, name)]
            if found:
                chosen, note = _pick(found, architecture)
                if hash_note:
                    note = f"{hash_note}; matched by {how}" + (f" ({note})" if note else "")
                return Resolution(kind, ref, chosen, how, note)
    return Resolution(kind, ref, None)


def _noun(kind: AssetKind) -> str:
    """``checkpoint``, ``LoRA``, ``VAE``: the kind as a word inside a sentence."""
    label = _LABELS.get(kind, kind.value)
    return label if label.isupper() or label == "LoRA" else label.lower()


def _looks_like_path(name: str) -> bool:
    """Whether the user gave a file's path (not a library name): absolute, ``~``, ``./`` or ``C:\\``."""
    return name.startswith(("/", "~", "./", "../", ".\\", "\\")) or bool(re.match(r"^[A-Za-z]:[\\/]", name))


def _missing(resolution: Resolution) -> MissingAsset:
    ref = resolution.ref
    label = _LABELS.get(resolution.kind, resolution.kind.value)
    if not ref.hash and _looks_like_path(ref.name):
        return MissingAsset(resolution.kind, ref.name, None, f"{label} {ref.name}: no such file")
    return MissingAsset(
        resolution.kind, ref.name, ref.hash, f"{label} {ref.describe()} is not in the library"
    )


def _filled(resolution: Resolution) -> AssetRef:
    if resolution.candidate is None:
        return resolution.ref
    return dataclasses.replace(
        resolution.ref, asset_id=resolution.candidate.asset_id, path=resolution.candidate.path
    )


def resolve_recipe(recipe: Recipe, index: AssetIndex) -> ResolvedRecipe:
    """Resolve every reference of ``recipe``: by hash first, then file stem, display name, alias, then
    ignoring case; among several, the file made for the checkpoint's architecture wins."""
    resolutions: list[Resolution] = []

    def resolve(kind: AssetKind, ref: AssetRef, architecture: Architecture | None) -> AssetRef:
        resolution = _resolve_one(kind, ref, index, architecture)
        resolutions.append(resolution)
        return _filled(resolution)

    checkpoint = vae = None
    architecture: Architecture | None = None
    if recipe.checkpoint is not None:
        checkpoint = resolve(AssetKind.CHECKPOINT, recipe.checkpoint, None)
        chosen = resolutions[-1].candidate
        architecture = chosen.architecture if chosen else None
    if recipe.vae is not None:
        vae = resolve(AssetKind.VAE, recipe.vae, architecture)
    text_encoders = tuple(resolve(AssetKind.TEXT_ENCODER, ref, None) for ref in recipe.text_encoders)
    loras = tuple(
        dataclasses.replace(use, ref=resolve(AssetKind.LORA, use.ref, architecture)) for use in recipe.loras
    )
    embeddings = tuple(
        dataclasses.replace(use, ref=resolve(AssetKind.EMBEDDING, use.ref, architecture))
        for use in recipe.embeddings
    )
    hypernetworks = tuple(
        dataclasses.replace(use, ref=resolve(AssetKind.HYPERNETWORK, use.ref, architecture))
        for use in recipe.hypernetworks
    )
    resolved = recipe.replace(
        checkpoint=checkpoint,
        vae=vae,
        text_encoders=text_encoders,
        loras=loras,
        embeddings=embeddings,
        hypernetworks=hypernetworks,
    )
    missing = tuple(_missing(r) for r in resolutions if r.candidate is None and r.how != "already resolved")
    return ResolvedRecipe(resolved, tuple(resolutions), missing)
