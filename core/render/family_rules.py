"""What a recipe means on a transformer family: its distilled guidance, and what the family refuses.

Shared by the engine (before rendering) and the render service's plan (before anything loads), so the
board, ``render --plan`` and a render say the same thing. Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.render.families import Family
from core.render.recipe import AssetRef, Recipe


def _names(refs: Iterable[AssetRef]) -> str:
    return ", ".join(ref.name or Path(ref.path or "").stem for ref in refs)


def family_guidance(family: Family, recipe: Recipe) -> float | None:
    """The distilled guidance of a render (Forge's "Distilled CFG Scale"): the recipe's, else the
    family's default (3.5 for Flux.1 dev); None for families without such an input."""
    value = getattr(recipe, "guidance", None)  # Recipe.guidance arrives with the flow samplers
    if family.default_guidance is None:
        return None
    return float(value) if value is not None else family.default_guidance


def ignored_settings(family: Family, recipe: Recipe, *, takes_guidance: bool) -> tuple[str, ...]:
    """The settings of ``recipe`` a render of ``family`` does not use, one sentence each: clip skip
    (the transformer families' pipelines take none) and a distilled guidance typed for a model without
    that input (Flux.1 schnell has no ``guidance_in`` layers). The infotext leaves them out
    (:func:`effective_settings`), as Forge writes only what steered the image."""
    notes: list[str] = []
    if recipe.clip_skip > 1:
        notes.append(f"clip skip {recipe.clip_skip} is ignored: {family.label} renders without clip skip")
    guidance = getattr(recipe, "guidance", None)
    if guidance is not None and (family.default_guidance is None or not takes_guidance):
        notes.append(
            f"Distilled CFG {guidance:g} is ignored: this {family.label} model has no distilled-guidance "
            "input"
        )
    return tuple(notes)


def effective_settings(family: Family, recipe: Recipe, *, takes_guidance: bool) -> Recipe:
    """``recipe`` as a render of ``family`` uses it, for its infotext: no clip skip, and the distilled
    guidance only where the model takes one (the recipe's, else the family's default)."""
    guidance = family_guidance(family, recipe) if takes_guidance else None
    return recipe.replace(clip_skip=1, guidance=guidance)


def family_refusal(family: Family, recipe: Recipe) -> str | None:
    """Why ``recipe`` cannot render on ``family`` (add-ons it has no place for), or None."""
    if recipe.embeddings and not family.embeddings:
        names = _names(use.ref for use in recipe.embeddings)
        return f"{family.label} takes no textual-inversion embeddings (remove {names})"
    if recipe.hypernetworks and not family.hypernetworks:
        names = _names(use.ref for use in recipe.hypernetworks)
        return f"{family.label} takes no hypernetworks (remove {names})"
    if recipe.hires is not None:
        return f"the hires fix is not available for {family.label} yet: render without it"
    return None
