"""Recipes as JSON-safe dicts, for the catalog's ``renders.recipe`` column and for files.

Infotext is lossy (paths, asset ids, disabled LoRAs and separate text-encoder weights are not in it), so
stored renders keep this exact form instead. The dict carries a ``version``: a newer Atelier may add
fields, and an older one must refuse a version it does not know rather than silently drop them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.render.hires import HiresFix
from core.render.recipe import (
    AssetRef,
    EmbeddingUse,
    HypernetworkUse,
    LoraUse,
    Recipe,
    Sampler,
    split_sampler,
)

# 2: the schedule type is its own field and the infotext a recipe was read from is kept. Version 1
# ("sampler": "DPM++ 2M Karras") is still read: its sampler is split into sampler + schedule.
# 3: the hires fix. A recipe without one is still written as version 2, which the Atelier before
# hires fix reads; one with a hires fix is refused there rather than rendered without its second pass.
# 4: the flow-matching families' settings: separate text-encoder files, Distilled CFG Scale (guidance)
# and Shift. A recipe that uses none of them is still written as version 2 or 3, which older Ateliers
# read; one that does is refused there rather than rendered without its encoders, guidance or shift.
CODEC_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)


class RecipeCodecError(ValueError):
    """A stored recipe that cannot be read back; the message says which field and why."""


def _ref_to_dict(ref: AssetRef) -> dict[str, Any]:
    return {"name": ref.name, "path": ref.path, "hash": ref.hash, "asset_id": ref.asset_id}


def _hires_to_dict(hires: HiresFix | None) -> dict[str, Any] | None:
    if hires is None:
        return None
    return {
        "upscaler": hires.upscaler,
        "scale": hires.scale,
        "resize": list(hires.resize) if hires.resize is not None else None,
        "steps": hires.steps,
        "denoising": hires.denoising,
    }


def _hires_from(data: Mapping[str, Any] | None) -> HiresFix | None:
    """A stored hires fix; recipes stored before hires fix existed have none (the key is absent)."""
    if data is None:
        return None
    read = _Reader(data, "recipe.hires.")
    resize = data.get("resize")
    if resize is not None and (
        not isinstance(resize, list) or len(resize) != 2 or not all(type(v) is int for v in resize)
    ):
        raise read._fail("resize", "[width, height]")
    return HiresFix(
        upscaler=read.text("upscaler", "Latent"),
        scale=read.number("scale", 2.0),
        resize=(resize[0], resize[1]) if resize is not None else None,
        steps=read.integer("steps", 0),
        denoising=read.number("denoising", 0.7),
    )


def _version(recipe: Recipe) -> int:
    """The oldest version that holds every field ``recipe`` uses (so older Ateliers read what they can)."""
    if recipe.text_encoders or recipe.guidance is not None or recipe.shift is not None:
        return 4
    return 3 if recipe.hires is not None else 2


def recipe_to_dict(recipe: Recipe) -> dict[str, Any]:
    """Every field of ``recipe`` as JSON types (str, int, float, bool, None, list, dict)."""
    data: dict[str, Any] = {
        "version": _version(recipe),
        "checkpoint": _ref_to_dict(recipe.checkpoint) if recipe.checkpoint else None,
        "vae": _ref_to_dict(recipe.vae) if recipe.vae else None,
        "loras": [
            {
                "ref": _ref_to_dict(use.ref),
                "weight": use.weight,
                "enabled": use.enabled,
                "text_encoder_weight": use.text_encoder_weight,
            }
            for use in recipe.loras
        ],
        "embeddings": [{"ref": _ref_to_dict(use.ref), "negative": use.negative} for use in recipe.embeddings],
        "hypernetworks": [
            {"ref": _ref_to_dict(use.ref), "strength": use.strength} for use in recipe.hypernetworks
        ],
        "prompt": recipe.prompt,
        "negative_prompt": recipe.negative_prompt,
        "seed": recipe.seed,
        "steps": recipe.steps,
        "cfg": recipe.cfg,
        "width": recipe.width,
        "height": recipe.height,
        "clip_skip": recipe.clip_skip,
        "batch": recipe.batch,
        "sampler": recipe.sampler,
        "schedule": recipe.schedule,
        "hires": _hires_to_dict(recipe.hires),
        "extra": dict(recipe.extra),
        "source_infotext": recipe.source_infotext,
    }
    if data["version"] >= 4:
        data["text_encoders"] = [_ref_to_dict(ref) for ref in recipe.text_encoders]
        data["guidance"] = recipe.guidance
        data["shift"] = recipe.shift
    return data


class _Reader:
    """Typed access to one mapping; every failure names the field."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data, self.where = data, where

    def _fail(self, key: str, expected: str) -> RecipeCodecError:
        return RecipeCodecError(f"{self.where}{key} must be {expected}, not {self.data.get(key)!r}")

    def text(self, key: str, default: str | None = None, *, optional: bool = False) -> Any:
        value = self.data.get(key, default)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise self._fail(key, "text")
        return value

    def integer(self, key: str, default: int | None = None, *, optional: bool = False) -> Any:
        value = self.data.get(key, default)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "a whole number")
        return value

    def number(self, key: str, default: float | None = None, *, optional: bool = False) -> Any:
        value = self.data.get(key, default)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a number")
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def items(self, key: str) -> list[Mapping[str, Any]]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            raise self._fail(key, "a list of objects")
        return value

    def mapping(self, key: str, *, optional: bool = False) -> Mapping[str, Any] | None:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, Mapping):
            raise self._fail(key, "an object")
        return value


def _ref_from(data: Mapping[str, Any] | None, where: str) -> AssetRef | None:
    if data is None:
        return None
    read = _Reader(data, where)
    return AssetRef(
        name=read.text("name", ""),
        path=read.text("path", optional=True),
        hash=read.text("hash", optional=True),
        asset_id=read.integer("asset_id", optional=True),
    )


def _required_ref(data: Mapping[str, Any], where: str) -> AssetRef:
    ref = _ref_from(_Reader(data, where).mapping("ref"), f"{where}ref.")
    assert ref is not None  # mapping() without optional never returns None
    return ref


def recipe_from_dict(data: Mapping[str, Any]) -> Recipe:
    """The recipe :func:`recipe_to_dict` wrote (equal to the original).

    Raises RecipeCodecError for a missing or unknown ``version``, a field of the wrong type, or values the
    recipe refuses (out-of-range steps, an unknown sampler...).
    """
    if not isinstance(data, Mapping):
        raise RecipeCodecError(f"a stored recipe must be an object, not {type(data).__name__}")
    version = data.get("version")
    if version not in READABLE_VERSIONS:
        raise RecipeCodecError(
            f"stored recipe version {version!r} is not readable by this Atelier (it reads version "
            f"{CODEC_VERSION}); a newer Atelier wrote it, or it is not a recipe"
        )
    read = _Reader(data, "recipe.")
    try:
        loras = tuple(
            LoraUse(
                ref=_required_ref(item, f"recipe.loras[{i}]."),
                weight=_Reader(item, f"recipe.loras[{i}].").number("weight", 1.0),
                enabled=_Reader(item, f"recipe.loras[{i}].").flag("enabled", True),
                text_encoder_weight=_Reader(item, f"recipe.loras[{i}].").number(
                    "text_encoder_weight", optional=True
                ),
            )
            for i, item in enumerate(read.items("loras"))
        )
        embeddings = tuple(
            EmbeddingUse(
                ref=_required_ref(item, f"recipe.embeddings[{i}]."),
                negative=_Reader(item, f"recipe.embeddings[{i}].").flag("negative", False),
            )
            for i, item in enumerate(read.items("embeddings"))
        )
        hypernetworks = tuple(
            HypernetworkUse(
                ref=_required_ref(item, f"recipe.hypernetworks[{i}]."),
                strength=_Reader(item, f"recipe.hypernetworks[{i}].").number("strength", 1.0),
            )
            for i, item in enumerate(read.items("hypernetworks"))
        )
        extra = read.mapping("extra", optional=True) or {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
            raise RecipeCodecError("recipe.extra must map text to text")
        text_encoders = tuple(
            _ref_from(item, f"recipe.text_encoders[{i}].")
            for i, item in enumerate(read.items("text_encoders"))
        )
        sampler, schedule = split_sampler(
            read.text("sampler", Sampler.EULER_A.value), read.text("schedule", "", optional=True)
        )
        return Recipe(
            checkpoint=_ref_from(read.mapping("checkpoint", optional=True), "recipe.checkpoint."),
            vae=_ref_from(read.mapping("vae", optional=True), "recipe.vae."),
            text_encoders=tuple(ref for ref in text_encoders if ref is not None),
            loras=loras,
            embeddings=embeddings,
            hypernetworks=hypernetworks,
            prompt=read.text("prompt", ""),
            negative_prompt=read.text("negative_prompt", ""),
            seed=read.integer("seed", -1),
            steps=read.integer("steps", 20),
            cfg=read.number("cfg", 7.0),
            width=read.integer("width", 512),
            height=read.integer("height", 512),
            clip_skip=read.integer("clip_skip", 1),
            batch=read.integer("batch", 1),
            sampler=sampler,
            schedule=schedule,
            guidance=read.number("guidance", optional=True),
            shift=read.number("shift", optional=True),
            hires=_hires_from(read.mapping("hires", optional=True)),
            extra=dict(extra),
            source_infotext=read.text("source_infotext", ""),
        )
    except RecipeCodecError:
        raise
    except ValueError as error:
        raise RecipeCodecError(f"stored recipe is not valid: {error}") from error
