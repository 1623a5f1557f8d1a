"""X/Y comparison grids: A1111's "X/Y plot" as recipes to render and one labelled image.

A grid answers "what does this LoRA weight / checkpoint / seed / CFG change?" by rendering one recipe
per cell, every cell identical except for the values of one or two axes. This module derives the cell
recipes, orders them so the engine reloads checkpoints as rarely as possible, and composes the rendered
images into one picture with legible labels. It is pure Python + Pillow: nothing here needs torch, so
the GUI and CLI can parse and validate axes without loading the renderer.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath, PureWindowsPath

from PIL import Image, ImageDraw, ImageFont

from core.render.prompt_syntax import parse_prompt, with_prompt_networks
from core.render.recipe import (
    MAX_CLIP_SKIP,
    MAX_GUIDANCE,
    MAX_SEED,
    MAX_SHIFT,
    MAX_STEPS,
    AssetRef,
    LoraUse,
    Recipe,
    split_sampler,
)

MAX_AXIS_VALUES = 16
# A1111 draws random seeds below 2**32 - 1 so they stay reusable in every UI.
_RANDOM_SEED_LIMIT = 4294967294
_DEFAULT_CELL = (256, 256)
_BACKGROUND = (255, 255, 255)
_TEXT = (0, 0, 0)
_FAILED_FILL = (160, 160, 160)
_FAILED_TEXT = (60, 60, 60)

ACCEPTED_FORMS = (
    "lora:NAME=0,0.5,1 | seed=1,2,3 (or -1 for random) | cfg=4,7,10 | steps=10,20,30 | "
    "checkpoint=dreamshaper_8,realisticVision | sampler=Euler a,DPM++ 2M Karras | clip-skip=1,2 | "
    "guidance=2.5,3.5 (Distilled CFG Scale) | shift=1,3,6 | vae=ae,None | "
    "text-encoder:t5xxl_fp16=t5xxl_fp16,t5xxl_fp8_e4m3fn (swaps that encoder) | "
    'prompt-sr=red fox,blue bird,"cat, sleeping" (A1111\'s Prompt S/R: the first value is replaced in the '
    "prompt by each value; quote a value holding a comma); "
    "numbers may also be ranges: 4-10 (every 1), 4-10 (+2) (step 2), 10-30 [3] (3 evenly spaced values)"
)

AxisValue = str | int | float


class AxisKind(StrEnum):
    """What a grid axis varies."""

    LORA_WEIGHT = "lora"
    CHECKPOINT = "checkpoint"
    SEED = "seed"
    CFG = "cfg"
    STEPS = "steps"
    SAMPLER = "sampler"
    CLIP_SKIP = "clip-skip"
    GUIDANCE = "guidance"
    SHIFT = "shift"
    VAE = "vae"
    TEXT_ENCODER = "text-encoder"
    PROMPT_SR = "prompt-sr"  # A1111's Prompt S/R: the first value, found in the prompt, replaced by each


class GridAxisError(ValueError):
    """An axis that cannot be built: unknown kind, bad or too many values."""


# Spellings accepted by parse_axis for each kind (compared after folding case, spaces, '_' and '-').
_KIND_ALIASES: dict[str, AxisKind] = {
    "lora": AxisKind.LORA_WEIGHT,
    "loraweight": AxisKind.LORA_WEIGHT,
    "checkpoint": AxisKind.CHECKPOINT,
    "checkpointname": AxisKind.CHECKPOINT,
    "ckpt": AxisKind.CHECKPOINT,
    "model": AxisKind.CHECKPOINT,
    "seed": AxisKind.SEED,
    "seeds": AxisKind.SEED,
    "cfg": AxisKind.CFG,
    "cfgscale": AxisKind.CFG,
    "steps": AxisKind.STEPS,
    "sampler": AxisKind.SAMPLER,
    "clipskip": AxisKind.CLIP_SKIP,
    "guidance": AxisKind.GUIDANCE,
    "distilledcfg": AxisKind.GUIDANCE,
    "distilledcfgscale": AxisKind.GUIDANCE,
    "shift": AxisKind.SHIFT,
    "vae": AxisKind.VAE,
    "textencoder": AxisKind.TEXT_ENCODER,
    "te": AxisKind.TEXT_ENCODER,
    "clip": AxisKind.TEXT_ENCODER,
    "promptsr": AxisKind.PROMPT_SR,
    "prompts/r": AxisKind.PROMPT_SR,
    "sr": AxisKind.PROMPT_SR,
    "prompt": AxisKind.PROMPT_SR,
}

# The names A1111's X/Y/Z plot script gives its axis types, written into the grid's infotext.
# A LoRA weight has no axis of its own there: users vary it with "Prompt S/R" over <lora:...> tags,
# which is what the infotext says too (the first cell's prompt holds the first tag).
_A1111_TYPES: dict[AxisKind, str] = {
    AxisKind.LORA_WEIGHT: "Prompt S/R",
    AxisKind.CHECKPOINT: "Checkpoint name",
    AxisKind.SEED: "Seed",
    AxisKind.CFG: "CFG Scale",
    AxisKind.STEPS: "Steps",
    AxisKind.SAMPLER: "Sampler",
    AxisKind.CLIP_SKIP: "Clip skip",
    AxisKind.GUIDANCE: "Distilled CFG Scale",  # Forge's axis
    AxisKind.SHIFT: "Shift",
    AxisKind.VAE: "VAE",
    AxisKind.TEXT_ENCODER: "Text encoder",
    AxisKind.PROMPT_SR: "Prompt S/R",
}
# Axes that name which item of the recipe they vary (lora:NAME=, text-encoder:NAME=).
_TARGETED = frozenset({AxisKind.LORA_WEIGHT, AxisKind.TEXT_ENCODER})
# A VAE axis value meaning "the checkpoint's own VAE" (A1111's VAE axis says "None" too).
_OWN_VAE = "None"

_INTEGER_KINDS = frozenset({AxisKind.SEED, AxisKind.STEPS, AxisKind.CLIP_SKIP})
_FLOAT_KINDS = frozenset({AxisKind.CFG, AxisKind.LORA_WEIGHT, AxisKind.GUIDANCE, AxisKind.SHIFT})
_CHECKPOINT_HASH = re.compile(r"^(?P<name>.*?)\s*\[(?P<hash>[0-9a-fA-F]{8,64})\]$")


def format_number(value: float) -> str:
    """``7`` for 7.0, ``0.5`` for 0.5: numbers as a person would type them in a label."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _looks_like_path(value: str) -> bool:
    """Absolute or explicitly relative paths; ``SDXL/juggernaut`` stays a name (A1111 names subfolders)."""
    return (
        value.startswith(("~", "./", "../", ".\\", "..\\"))
        or PurePosixPath(value).is_absolute()
        or PureWindowsPath(value).is_absolute()
    )


def _checkpoint_ref(value: str) -> AssetRef:
    """An AssetRef for a checkpoint value: a path, or a name with an optional A1111 ``[hash]`` suffix."""
    if _looks_like_path(value):
        return AssetRef(name=_path_stem(value), path=value)
    match = _CHECKPOINT_HASH.match(value)
    if match and match.group("name"):
        return AssetRef(name=match.group("name"), hash=match.group("hash"))
    return AssetRef(name=value)


def _path_stem(value: str) -> str:
    return PureWindowsPath(value).stem if "\\" in value else PurePosixPath(value).stem


def _number(value: AxisValue, kind: AxisKind) -> float:
    if isinstance(value, bool):
        raise GridAxisError(f"{kind.value} values must be numbers, not {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise GridAxisError(f"{kind.value} values must be numbers, not {value!r}") from None
    if not math.isfinite(number):
        raise GridAxisError(f"{kind.value} values must be finite numbers, not {value!r}")
    return number


def _integer(value: AxisValue, kind: AxisKind) -> int:
    """A whole-number value; one typed as digits is read exactly (a float would make 99999999999999999999
    into 100000000000000000000), one like ``1e3`` or ``10.0`` through :func:`_number`."""
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _number(value, kind)
    if not number.is_integer():
        raise GridAxisError(f"{kind.value} values must be whole numbers, not {value!r}")
    return int(number)


def _typed(value: AxisValue) -> str:
    """The value as the user typed it, for a message (not the number it was read as)."""
    if isinstance(value, str):
        return value.strip()
    return format_number(value) if isinstance(value, float) else str(value)


def _normalized_value(kind: AxisKind, value: AxisValue) -> AxisValue:
    """The canonical value (int, float or str) for ``kind``, or GridAxisError saying what is wrong."""
    if kind is AxisKind.SEED:
        seed = _integer(value, kind)
        if not -1 <= seed <= MAX_SEED:
            raise GridAxisError(
                f"seed values must be -1 (random) or between 0 and {MAX_SEED}, not {_typed(value)}"
            )
        return seed
    if kind is AxisKind.STEPS:
        steps = _integer(value, kind)
        if not 1 <= steps <= MAX_STEPS:
            raise GridAxisError(f"steps values must be between 1 and {MAX_STEPS}, not {_typed(value)}")
        return steps
    if kind is AxisKind.CLIP_SKIP:
        skip = _integer(value, kind)
        if not 1 <= skip <= MAX_CLIP_SKIP:
            raise GridAxisError(
                f"clip-skip values must be between 1 and {MAX_CLIP_SKIP}, not {_typed(value)}"
            )
        return skip
    if kind is AxisKind.CFG:
        cfg = _number(value, kind)
        if cfg < 0:
            raise GridAxisError(f"cfg values must not be negative, not {format_number(cfg)}")
        return cfg
    if kind is AxisKind.LORA_WEIGHT:
        return _number(value, kind)
    if kind is AxisKind.GUIDANCE:
        guidance = _number(value, kind)
        if not 0 <= guidance <= MAX_GUIDANCE:
            raise GridAxisError(
                f"guidance values must be between 0 and {MAX_GUIDANCE:g}, not {format_number(guidance)}"
            )
        return guidance
    if kind is AxisKind.SHIFT:
        shift = _number(value, kind)
        if not 0 < shift <= MAX_SHIFT:
            raise GridAxisError(
                f"shift values must be above 0 and at most {MAX_SHIFT:g}, not {format_number(shift)}"
            )
        return shift
    text = str(value).strip()
    if not text:
        raise GridAxisError(f"{kind.value} values must not be empty")
    if kind is AxisKind.SAMPLER:
        from core.render.samplers import refusal

        sampler, schedule = split_sampler(text)
        problem = refusal(sampler, schedule)
        if problem:
            raise GridAxisError(problem)
        return sampler if schedule == "Automatic" else f"{sampler} {schedule}"
    return text


@dataclass(frozen=True, slots=True)
class GridAxis:
    """One axis of a grid: what it varies (``kind``), its values and, for a LoRA weight, which LoRA.

    Values are normalized on construction (ints for seed/steps/clip skip, floats for CFG and weights,
    A1111 sampler names), so two axes built from different spellings compare equal.
    """

    kind: AxisKind
    values: tuple[AxisValue, ...]
    target: str | None = None

    def __post_init__(self) -> None:
        kind = AxisKind(self.kind)
        object.__setattr__(self, "kind", kind)
        values = tuple(self.values)
        if not values:
            raise GridAxisError(f"the {kind.value} axis needs at least one value")
        if len(values) > MAX_AXIS_VALUES:
            raise GridAxisError(
                f"the {kind.value} axis has {len(values)} values; a grid axis takes at most {MAX_AXIS_VALUES}"
            )
        object.__setattr__(self, "values", tuple(_normalized_value(kind, value) for value in values))
        target = self.target.strip() if self.target is not None else None
        if kind is AxisKind.LORA_WEIGHT:
            if not target:
                raise GridAxisError("a LoRA weight axis needs the LoRA's name, as in lora:add_detail=0,0.5,1")
        elif kind is AxisKind.TEXT_ENCODER:
            if not target:
                raise GridAxisError(
                    "a text-encoder axis needs the encoder it swaps, as in "
                    "text-encoder:t5xxl_fp16=t5xxl_fp16,t5xxl_fp8_e4m3fn"
                )
        elif target is not None:
            raise GridAxisError(
                f"only LoRA weight and text-encoder axes name a target; the {kind.value} axis got {target!r}"
            )
        object.__setattr__(self, "target", target)

    def label(self, value: AxisValue) -> str:
        """The text drawn beside a row or above a column: ``add_detail 0.5``, ``seed 42``, ``CFG 7``."""
        value = _normalized_value(self.kind, value)
        if self.kind is AxisKind.LORA_WEIGHT:
            return f"{self.target} {format_number(float(value))}"
        if self.kind is AxisKind.SEED:
            return "seed (random)" if value == -1 else f"seed {value}"
        if self.kind is AxisKind.CFG:
            return f"CFG {format_number(float(value))}"
        if self.kind is AxisKind.STEPS:
            return f"{value} steps"
        if self.kind is AxisKind.CLIP_SKIP:
            return f"clip skip {value}"
        if self.kind is AxisKind.CHECKPOINT:
            return _checkpoint_ref(str(value)).name
        if self.kind is AxisKind.GUIDANCE:
            return f"Distilled CFG {format_number(float(value))}"
        if self.kind is AxisKind.SHIFT:
            return f"shift {format_number(float(value))}"
        if self.kind is AxisKind.VAE:
            return "own VAE" if value == _OWN_VAE else _checkpoint_ref(str(value)).name
        if self.kind is AxisKind.TEXT_ENCODER:
            return _checkpoint_ref(str(value)).name
        return str(value)

    def apply(self, recipe: Recipe, value: AxisValue) -> Recipe:
        """``recipe`` with this axis set to ``value``; every other setting is left as it was."""
        value = _normalized_value(self.kind, value)
        if self.kind is AxisKind.LORA_WEIGHT:
            assert self.target is not None  # enforced in __post_init__
            return _with_lora_weight(recipe, self.target, float(value))
        if self.kind is AxisKind.CHECKPOINT:
            return recipe.replace(checkpoint=_checkpoint_ref(str(value)))
        if self.kind is AxisKind.SEED:
            return recipe.replace(seed=int(value))
        if self.kind is AxisKind.CFG:
            return recipe.replace(cfg=float(value))
        if self.kind is AxisKind.STEPS:
            return recipe.replace(steps=int(value))
        if self.kind is AxisKind.CLIP_SKIP:
            return recipe.replace(clip_skip=int(value))
        if self.kind is AxisKind.GUIDANCE:
            return recipe.replace(guidance=float(value))
        if self.kind is AxisKind.SHIFT:
            return recipe.replace(shift=float(value))
        if self.kind is AxisKind.VAE:
            return recipe.replace(vae=None if value == _OWN_VAE else _checkpoint_ref(str(value)))
        if self.kind is AxisKind.TEXT_ENCODER:
            assert self.target is not None  # enforced in __post_init__
            return _with_text_encoder(recipe, self.target, _checkpoint_ref(str(value)))
        if self.kind is AxisKind.PROMPT_SR:
            return _search_replace(recipe, str(self.values[0]), str(value))
        sampler, schedule = split_sampler(str(value))
        return recipe.replace(sampler=sampler, schedule=schedule)

    def same_setting(self, other: GridAxis) -> bool:
        """Whether both axes vary the same thing (a grid with both would overwrite one with the other)."""
        if self.kind is not other.kind:
            return False
        if self.kind in _TARGETED:
            return (self.target or "").casefold() == (other.target or "").casefold()
        return True


def _search_replace(recipe: Recipe, search: str, replacement: str) -> Recipe:
    """A1111's Prompt S/R: every ``search`` in the prompt and the negative prompt replaced by
    ``replacement`` (its <lora:…> tags included: the render reads tags from the prompt). As in A1111, a
    search found in neither is an error, not a grid of identical cells."""
    if search not in recipe.prompt and search not in recipe.negative_prompt:
        raise GridAxisError(f"Prompt S/R did not find {search!r} in the prompt or the negative prompt")
    return recipe.replace(
        prompt=recipe.prompt.replace(search, replacement),
        negative_prompt=recipe.negative_prompt.replace(search, replacement),
    )


def _with_lora_weight(recipe: Recipe, target: str, weight: float) -> Recipe:
    """Set the weight of LoRA ``target`` in place (order kept, re-enabled), or add it with that weight.

    A separate text-encoder weight the recipe set on purpose is kept: the axis varies the main weight. A
    LoRA tagged in the prompt is taken into the stack first (as the render would take it), so the tag's
    weight is the one varied.
    """
    folded = target.casefold()
    if any(use.ref.name.casefold() == folded for use in parse_prompt(recipe.prompt).loras):
        recipe = with_prompt_networks(recipe, ()).recipe
    loras = list(recipe.loras)
    index = next((i for i, use in enumerate(loras) if use.ref.name == target), None)
    if index is None:
        index = next((i for i, use in enumerate(loras) if use.ref.name.casefold() == folded), None)
    if index is None:
        return recipe.replace(loras=(*loras, LoraUse(AssetRef(name=target), weight=weight)))
    loras[index] = dataclasses.replace(loras[index], weight=weight, enabled=True)
    return recipe.replace(loras=tuple(loras))


def _with_text_encoder(recipe: Recipe, target: str, ref: AssetRef) -> Recipe:
    """Swap the recipe's text encoder named ``target`` for ``ref`` (order kept), or add ``ref``.

    A diffusion-model-only checkpoint reads each encoder from its own file; the axis compares files for
    one encoder (t5xxl in fp16 or fp8, say) and leaves the others as they are.
    """
    encoders = list(recipe.text_encoders)
    folded = target.casefold()
    index = next((i for i, enc in enumerate(encoders) if enc.name.casefold() == folded), None)
    if index is None:
        return recipe.replace(text_encoders=(*encoders, ref))
    encoders[index] = ref
    return recipe.replace(text_encoders=tuple(encoders))


# --- parsing --------------------------------------------------------------------------------------

_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_RANGE = re.compile(
    rf"(?P<start>{_NUM})\s*-\s*(?P<end>{_NUM})\s*"
    rf"(?:\(\s*(?P<step>{_NUM})\s*\)|\[\s*(?P<count>\d+)\s*\])?"
)


def _expand_range(item: str, kind: AxisKind) -> list[float] | None:
    """The numbers of an A1111 range item (``4-10``, ``4-10 (+2)``, ``10-30 [3]``), or None if not one.

    Unlike A1111, ranges count down too (``10-4 (-2)``) and always include the end when a step lands
    on it.
    """
    match = _RANGE.fullmatch(item.replace(" ", ""))
    if match is None:
        return None
    start, end = float(match.group("start")), float(match.group("end"))
    if match.group("count") is not None:
        count = int(match.group("count"))
        if not 1 <= count <= MAX_AXIS_VALUES:
            raise GridAxisError(
                f"{item!r}: a range takes between 1 and {MAX_AXIS_VALUES} values, not {count}"
            )
        if count == 1:
            return [start]
        gap = (end - start) / (count - 1)
        values = [start + gap * i for i in range(count)]
        if kind in _INTEGER_KINDS:
            return [float(round(value)) for value in values]
        return [round(value, 6) for value in values]
    step = float(match.group("step")) if match.group("step") is not None else (1.0 if end >= start else -1.0)
    if step == 0 or (end - start) * step < 0:
        raise GridAxisError(f"{item!r}: the step {format_number(step)} never goes from the start to the end")
    count = math.floor((end - start) / step + 1e-9) + 1
    if count > MAX_AXIS_VALUES:
        raise GridAxisError(f"{item!r} gives {count} values; a grid axis takes at most {MAX_AXIS_VALUES}")
    return [round(start + step * i, 6) for i in range(count)]


def _split_values(text: str) -> list[str]:
    """Comma-separated values, with double quotes for values holding commas (as A1111's csv reading)."""
    rows = list(csv.reader([text], skipinitialspace=True))
    return [item.strip() for item in (rows[0] if rows else [])]


def parse_axis(text: str) -> GridAxis:
    """An axis from its one-line form, as typed in the CLI or the grid dialog.

    Forms: ``lora:NAME=0,0.5,1``, ``seed=1,2,3``, ``cfg=4,7,10``, ``steps=10,20,30``,
    ``checkpoint=a,b``, ``sampler=Euler a,DPM++ 2M``, ``clip-skip=1,2``, and for the flow-matching
    families ``guidance=2.5,3.5`` (Forge's Distilled CFG Scale), ``shift=1,3``, ``vae=ae,None`` (None:
    the checkpoint's own) and ``text-encoder:NAME=file1,file2`` (swaps the encoder NAME); numeric values
    may be A1111 ranges (``4-10 (+2)``, ``10-30 [3]``). Raises GridAxisError (a ValueError) naming these
    forms.
    """
    key, sep, rest = text.partition("=")
    if not sep:
        raise GridAxisError(f"grid axis {text!r} has no '='; accepted forms: {ACCEPTED_FORMS}")
    key = key.strip()
    target: str | None = None
    head, colon, name = key.partition(":")
    if colon:
        target = name.strip()
        if not target:
            raise GridAxisError(
                f"grid axis {text!r} names no LoRA after 'lora:'; accepted forms: {ACCEPTED_FORMS}"
            )
        key = head
    kind = _KIND_ALIASES.get(re.sub(r"[\s_\-]+", "", key.casefold()))
    if kind is None:
        raise GridAxisError(
            f"unknown grid axis {key.strip()!r} in {text!r}; accepted forms: {ACCEPTED_FORMS}"
        )
    if kind is AxisKind.LORA_WEIGHT and target is None:
        raise GridAxisError(
            f"grid axis {text!r} needs the LoRA's name, as in lora:add_detail=0,0.5,1; "
            f"accepted forms: {ACCEPTED_FORMS}"
        )
    if kind is AxisKind.TEXT_ENCODER and target is None:
        raise GridAxisError(
            f"grid axis {text!r} needs the text encoder it swaps, as in "
            f"text-encoder:t5xxl_fp16=t5xxl_fp16,t5xxl_fp8_e4m3fn; accepted forms: {ACCEPTED_FORMS}"
        )
    if kind not in _TARGETED and target is not None:
        raise GridAxisError(
            f"grid axis {text!r}: only 'lora:NAME=' and 'text-encoder:NAME=' take a name; "
            f"accepted forms: {ACCEPTED_FORMS}"
        )
    items = _split_values(rest)
    if not items or any(not item for item in items):
        raise GridAxisError(f"grid axis {text!r} has an empty value; accepted forms: {ACCEPTED_FORMS}")
    values: list[AxisValue] = []
    for item in items:
        expanded = None
        if kind in _INTEGER_KINDS or kind in _FLOAT_KINDS:
            try:
                float(item)
            except ValueError:
                expanded = _expand_range(item, kind)
                if expanded is None:
                    raise GridAxisError(
                        f"{kind.value} value {item!r} in {text!r} is neither a number nor a range; "
                        f"accepted forms: {ACCEPTED_FORMS}"
                    ) from None
        if expanded is None:
            values.append(item)
        else:
            values.extend(expanded)
    return GridAxis(kind, tuple(values), target)


# --- recipes ----------------------------------------------------------------------------------------


def with_fixed_seeds(axis: GridAxis, seed: int) -> GridAxis:
    """``axis`` with each -1 of a seed axis replaced by a concrete seed drawn from ``seed``.

    A1111 fixes random seeds before rendering so the grid shows (and its infotext records) seeds that
    can be reused; drawing them from ``seed`` keeps a grid reproducible from its base seed.
    """
    if axis.kind is not AxisKind.SEED or -1 not in axis.values:
        return axis
    draw = random.Random(seed)
    values = tuple(draw.randrange(_RANDOM_SEED_LIMIT) if value == -1 else value for value in axis.values)
    return GridAxis(axis.kind, values)


def grid_recipes(
    base: Recipe, x: GridAxis, y: GridAxis | None = None, *, seed: int | None = None
) -> list[list[Recipe]]:
    """The cell recipes, one row per ``y`` value (a single row without ``y``), one cell per ``x`` value.

    When ``base`` asks for a random seed and no axis varies the seed, every cell gets the same concrete
    seed (``seed``, or a random one if None), as in A1111: otherwise cells would differ by noise, not by
    the setting being compared. A seed axis's -1 values are fixed the same way: X's with
    ``with_fixed_seeds(x, seed)``, Y's with ``with_fixed_seeds(y, seed + 1)`` (pass the same axes to
    grid_infotext_extra to record them).
    """
    if y is not None and x.same_setting(y):
        raise GridAxisError(
            f"both grid axes vary the {x.kind.value}; pick a different setting for one of them"
        )
    fill = seed if seed is not None else random.randrange(_RANDOM_SEED_LIMIT)
    x = with_fixed_seeds(x, fill)
    y = with_fixed_seeds(y, fill + 1) if y is not None else None
    varies_seed = x.kind is AxisKind.SEED or (y is not None and y.kind is AxisKind.SEED)
    if base.seed == -1 and not varies_seed:
        base = base.replace(seed=fill)
    rows: list[list[Recipe]] = []
    row_bases = [y.apply(base, y_value) for y_value in y.values] if y is not None else [base]
    for row_base in row_bases:
        rows.append([x.apply(row_base, x_value) for x_value in x.values])
    return rows


def render_order(cells: Sequence[Sequence[Recipe]]) -> list[tuple[int, int]]:
    """(row, column) of every cell, cells sharing a checkpoint adjacent, row-major within a checkpoint.

    The engine reloads the whole pipeline when the checkpoint changes (seconds to tens of seconds), so a
    checkpoint axis on Y must not become one reload per cell. Separate text-encoder files (billions of
    parameters for a T5 or a Qwen encoder) are grouped the same way, within a checkpoint. Checkpoints
    keep their first-seen order.
    """
    groups: dict[object, dict[object, list[tuple[int, int]]]] = {}
    for row_index, row in enumerate(cells):
        for column_index, recipe in enumerate(row):
            ref = recipe.checkpoint
            checkpoint = (ref.name, ref.path, ref.hash) if ref is not None else None
            encoders = tuple((enc.name, enc.path, enc.hash) for enc in recipe.text_encoders)
            groups.setdefault(checkpoint, {}).setdefault(encoders, []).append((row_index, column_index))
    return [cell for by_encoders in groups.values() for group in by_encoders.values() for cell in group]


def grid_infotext_extra(
    x: GridAxis,
    y: GridAxis | None = None,
    *,
    fixed_x: GridAxis | None = None,
    fixed_y: GridAxis | None = None,
) -> dict[str, str]:
    """A1111's X/Y plot infotext keys, so the grid PNG says how it was made.

    ``fixed_x``/``fixed_y`` are the axes with random seeds fixed (with_fixed_seeds); when they differ
    from ``x``/``y`` they are written as "Fixed X Values"/"Fixed Y Values", as A1111 does. Values are
    raw text; format_infotext quotes them.
    """
    extra: dict[str, str] = {}
    for letter, axis, fixed in (("X", x, fixed_x), ("Y", y, fixed_y)):
        if axis is None:
            continue
        extra[f"{letter} Type"] = _A1111_TYPES[axis.kind]
        extra[f"{letter} Values"] = _values_text(axis)
        if fixed is not None and fixed.values != axis.values:
            extra[f"Fixed {letter} Values"] = _values_text(fixed)
    return extra


def _csv_quoted(value: str) -> str:
    """A value as CSV writes it: quoted (inner quotes doubled) when it holds a comma or a quote."""
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def _values_text(axis: GridAxis) -> str:
    if axis.kind is AxisKind.LORA_WEIGHT:
        return ", ".join(f"<lora:{axis.target}:{format_number(float(value))}>" for value in axis.values)
    if axis.kind in _FLOAT_KINDS:
        return ", ".join(format_number(float(value)) for value in axis.values)
    if axis.kind is AxisKind.PROMPT_SR:  # as A1111 reads them back: CSV, a value with a comma quoted
        return ", ".join(_csv_quoted(str(value)) for value in axis.values)
    return ", ".join(str(value) for value in axis.values)


# --- composition ------------------------------------------------------------------------------------

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True, slots=True)
class GridLayout:
    """Where everything goes in a grid image: label bands, then ``rows`` x ``columns`` cells.

    Exposed so the GUI can map a click on the grid back to its cell (cell_at).
    """

    columns: int
    rows: int
    cell_width: int
    cell_height: int
    left: int  # width of the row-label band (0 without a Y axis)
    top: int  # height of the title and column-label bands

    @property
    def size(self) -> tuple[int, int]:
        return (self.left + self.columns * self.cell_width, self.top + self.rows * self.cell_height)

    def cell_box(self, row: int, column: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of a cell in the grid image."""
        x0 = self.left + column * self.cell_width
        y0 = self.top + row * self.cell_height
        return (x0, y0, x0 + self.cell_width, y0 + self.cell_height)

    def cell_at(self, x: int, y: int) -> tuple[int, int] | None:
        """(row, column) of the cell under image point (x, y), or None over a label band or outside."""
        if x < self.left or y < self.top:
            return None
        row, column = (y - self.top) // self.cell_height, (x - self.left) // self.cell_width
        return (row, column) if row < self.rows and column < self.columns else None


def _font(size: int) -> Font:
    """Pillow's bundled scalable font (Pillow >= 10.1 with FreeType); a fixed bitmap font otherwise."""
    return ImageFont.load_default(size=size)


def _text_width(font: Font, text: str) -> float:
    return float(font.getlength(text))


def _line_height(font: Font) -> int:
    _, top, _, bottom = font.getbbox("Ag")
    return math.ceil(bottom - top) + max(2, int(getattr(font, "size", 10)) // 5)


def wrap_text(text: str, font: Font, width: float) -> list[str]:
    """Greedy word wrap to ``width`` pixels; words longer than a line are cut between characters."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if _text_width(font, candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for char in word:
                if line and _text_width(font, line + char) > width:
                    lines.append(line)
                    line = ""
                line += char
        lines.append(line)
    return lines


def _draw_centered(
    draw: ImageDraw.ImageDraw,
    lines: Sequence[str],
    font: Font,
    box: tuple[int, int, int, int],
    fill: tuple[int, ...],
) -> None:
    line_height = _line_height(font)
    x0, y0, x1, y1 = box
    y = y0 + ((y1 - y0) - line_height * len(lines)) / 2
    for line in lines:
        x = x0 + ((x1 - x0) - _text_width(font, line)) / 2
        draw.text((x, y), line, font=font, fill=fill)
        y += line_height


def _cell_size(images: Sequence[Sequence[Image.Image | None]]) -> tuple[int, int]:
    present = [image for row in images for image in row if image is not None]
    if not present:
        return _DEFAULT_CELL
    return (max(image.width for image in present), max(image.height for image in present))


def compose_grid(
    images: Sequence[Sequence[Image.Image | None]], x: GridAxis, y: GridAxis | None = None, *, title: str = ""
) -> Image.Image:
    """One RGB image: optional title, X labels above the columns, Y labels left of the rows, the cells.

    ``images`` is rows of cells as grid_recipes returned the recipes. Cells smaller than the largest are
    centred in it; a None cell (a render that failed) is a grey box reading "failed". Fonts scale with
    the cell size so labels stay legible from 64 px thumbnails to 1024 px renders.
    """
    rows, columns = (len(y.values) if y is not None else 1), len(x.values)
    if len(images) != rows or any(len(row) != columns for row in images):
        shape = [len(row) for row in images]
        raise ValueError(
            f"compose_grid needs {rows} rows of {columns} images for these axes, got rows of {shape}"
        )
    cell_width, cell_height = _cell_size(images)
    font = _font(max(10, (cell_width + cell_height) // 28))
    line_height = _line_height(font)
    padding = max(4, line_height // 3)

    column_lines = [wrap_text(x.label(value), font, cell_width - 2 * padding) for value in x.values]
    left = 0
    row_lines: list[list[str]] = []
    if y is not None:
        left = max(cell_width * 3 // 4, 48)
        row_lines = [wrap_text(y.label(value), font, left - 2 * padding) for value in y.values]
    total_width = left + columns * cell_width
    title_lines = wrap_text(title, font, total_width - 2 * padding) if title else []
    title_height = len(title_lines) * line_height + 2 * padding if title else 0
    labels_height = max(len(lines) for lines in column_lines) * line_height + 2 * padding
    layout = GridLayout(columns, rows, cell_width, cell_height, left, title_height + labels_height)

    grid = Image.new("RGB", layout.size, _BACKGROUND)
    draw = ImageDraw.Draw(grid)
    if title_lines:
        _draw_centered(draw, title_lines, font, (0, 0, total_width, title_height), _TEXT)
    for column, lines in enumerate(column_lines):
        x0 = left + column * cell_width
        _draw_centered(draw, lines, font, (x0, title_height, x0 + cell_width, layout.top), _TEXT)
    for row, lines in enumerate(row_lines):
        y0 = layout.top + row * cell_height
        _draw_centered(draw, lines, font, (0, y0, left, y0 + cell_height), _TEXT)
    failed_lines = wrap_text("failed", font, cell_width - 2 * padding)
    for row_index, row_images in enumerate(images):
        for column_index, image in enumerate(row_images):
            box = layout.cell_box(row_index, column_index)
            if image is None:
                inset = (box[0] + 1, box[1] + 1, box[2] - 2, box[3] - 2)
                draw.rectangle(inset, fill=_FAILED_FILL)
                _draw_centered(draw, failed_lines, font, box, _FAILED_TEXT)
                continue
            offset = (box[0] + (cell_width - image.width) // 2, box[1] + (cell_height - image.height) // 2)
            grid.paste(image.convert("RGB"), offset)
    return grid


def grid_layout_of(image: Image.Image, x: GridAxis, y: GridAxis | None, cell: tuple[int, int]) -> GridLayout:
    """The layout of a grid image compose_grid made from cells of size ``cell`` (for click mapping)."""
    rows, columns = (len(y.values) if y is not None else 1), len(x.values)
    left = image.width - columns * cell[0]
    top = image.height - rows * cell[1]
    if left < 0 or top < 0:
        raise ValueError(f"a {image.width}x{image.height} image cannot hold {columns}x{rows} cells of {cell}")
    return GridLayout(columns, rows, cell[0], cell[1], left, top)
