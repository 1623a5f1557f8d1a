"""The settings a checkpoint renders with when the user leaves them open, for the CLI and the board alike.

A family names its own CFG (``Family.default_cfg``: 1 for Flux.1, steered by its distilled guidance);
a family whose released variants share one layout (Z-Image Turbo and Base) takes the CFG and steps of
the variant the checkpoint's base-model label names (``family_preset``), and says in one line which it
assumed when no label tells. ``render`` fills what its options left unset from here, and the compose
board fills the fields the user has not typed from here, so both front ends follow one rule.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.render.families import family_of, family_preset
from core.render.recipe import Recipe, Sampler
from core.render.samplers import FLOW_ARCHITECTURES
from core.taxonomy import Architecture

if TYPE_CHECKING:  # the board reads the defaults without loading the render service
    from app.render_service import RenderPlan

FLOW_DEFAULT_SAMPLER = Sampler.EULER  # Forge's and ComfyUI's for Flux; SD's Euler a does not run a flow model


@dataclass(frozen=True, slots=True)
class FamilyDefaults:
    """What a checkpoint renders with where the user chose nothing.

    ``sampler`` is None where A1111's default stands (SD); ``note`` says which variant was assumed when
    the checkpoint's base-model label names none (None when nothing was guessed)."""

    cfg: float
    steps: int
    sampler: str | None = None
    note: str | None = None

    def note_unless(self, *, cfg_given: bool, steps_given: bool) -> str | None:
        """The note, unless the user chose both values it would be about (then nothing was assumed)."""
        return None if cfg_given and steps_given else self.note


def family_defaults(architecture: Architecture | None, base_model_label: str | None) -> FamilyDefaults:
    """The defaults of a checkpoint of ``architecture`` whose Civitai (or user) base-model label is
    ``base_model_label``: A1111's 7 and 20 for SD and no checkpoint."""
    family = family_of(architecture)
    cfg, steps = Recipe().cfg, Recipe().steps
    if family is not None and family.default_cfg is not None:
        cfg = family.default_cfg
    preset, note = family_preset(family, base_model_label)
    if preset is not None:
        cfg, steps = preset.cfg, preset.steps
    sampler = FLOW_DEFAULT_SAMPLER.value if architecture in FLOW_ARCHITECTURES else None
    return FamilyDefaults(cfg=cfg, steps=steps, sampler=sampler, note=note)


def with_family_defaults(
    plan: RenderPlan, *, sampler_given: bool, cfg_given: bool, steps_given: bool
) -> RenderPlan:
    """``plan`` with its checkpoint's defaults for each of sampler, CFG and steps not given, and the
    note of what was assumed. A sampler the user named is kept (and refused by name if it cannot run)."""
    defaults = family_defaults(plan.architecture, plan.base_model_label)
    recipe = plan.recipe
    if not sampler_given and defaults.sampler is not None:
        recipe = recipe.replace(sampler=defaults.sampler)
    recipe = recipe.replace(
        cfg=recipe.cfg if cfg_given else defaults.cfg,
        steps=recipe.steps if steps_given else defaults.steps,
    )
    note = defaults.note_unless(cfg_given=cfg_given, steps_given=steps_given)
    return dataclasses.replace(plan, recipe=recipe, defaults_note=note)
