"""X/Y grids: axis parsing and validation, the cell recipes, render order and the composed image."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from PIL import Image

from core.render.grid import (
    MAX_AXIS_VALUES,
    AxisKind,
    GridAxis,
    GridAxisError,
    compose_grid,
    grid_infotext_extra,
    grid_layout_of,
    grid_recipes,
    parse_axis,
    render_order,
    with_fixed_seeds,
)
from core.render.infotext import format_infotext, recipe_from_infotext
from core.render.recipe import AssetRef, LoraUse, Recipe

BASE = Recipe(
    checkpoint=AssetRef(name="base_model"),
    loras=(LoraUse(AssetRef(name="style"), 0.8), LoraUse(AssetRef(name="add_detail"), 0.3, enabled=False)),
    prompt="a lighthouse",
    seed=1234,
    steps=20,
    cfg=7.0,
)


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "values", "target"),
    [
        ("lora:add_detail=0,0.5,1", AxisKind.LORA_WEIGHT, (0.0, 0.5, 1.0), "add_detail"),
        ("LoRA: my lora =-1, 1", AxisKind.LORA_WEIGHT, (-1.0, 1.0), "my lora"),
        ("seed=1,2,3", AxisKind.SEED, (1, 2, 3), None),
        ("seed=-1", AxisKind.SEED, (-1,), None),
        ("cfg=4,7,10", AxisKind.CFG, (4.0, 7.0, 10.0), None),
        ("CFG Scale = 4.5, 6", AxisKind.CFG, (4.5, 6.0), None),
        ("steps=10,20,30", AxisKind.STEPS, (10, 20, 30), None),
        (
            "checkpoint=dreamshaper_8,realisticVision",
            AxisKind.CHECKPOINT,
            ("dreamshaper_8", "realisticVision"),
            None,
        ),
        ('model="a, b",c', AxisKind.CHECKPOINT, ("a, b", "c"), None),
        ("sampler=euler a,dpmpp_2m_karras", AxisKind.SAMPLER, ("Euler a", "DPM++ 2M Karras"), None),
        ("clip_skip=1,2", AxisKind.CLIP_SKIP, (1, 2), None),
        # A1111 ranges
        ("cfg=4-10 (+2)", AxisKind.CFG, (4.0, 6.0, 8.0, 10.0), None),
        ("steps=10-30 [3]", AxisKind.STEPS, (10, 20, 30), None),
        ("seed=1-4", AxisKind.SEED, (1, 2, 3, 4), None),
        ("steps=30-10 (-10)", AxisKind.STEPS, (30, 20, 10), None),
        ("lora:x=0-1 [5]", AxisKind.LORA_WEIGHT, (0.0, 0.25, 0.5, 0.75, 1.0), "x"),
        ("cfg=0.1-0.3 (+0.1)", AxisKind.CFG, (0.1, 0.2, 0.3), None),
        ("steps=5, 10-20 (+5), 40", AxisKind.STEPS, (5, 10, 15, 20, 40), None),
        ("steps=10-20 [4]", AxisKind.STEPS, (10, 13, 17, 20), None),
    ],
)
def test_parse_axis_forms(text: str, kind: AxisKind, values: tuple[object, ...], target: str | None) -> None:
    axis = parse_axis(text)
    assert axis.kind is kind
    assert axis.values == pytest.approx(values) if kind in (AxisKind.CFG, AxisKind.LORA_WEIGHT) else values
    assert axis.target == target


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cfg 4,7", "no '='"),
        ("colour=1,2", "unknown grid axis 'colour'"),
        ("cfg=4,high", "neither a number nor a range"),
        ("cfg=-3", "must not be negative"),
        ("steps=0,10", "between 1 and 150"),
        ("steps=7.5", "whole numbers"),
        ("seed=-2", "-1 (random)"),
        ("lora=0,1", "needs the LoRA's name"),
        ("lora:=0,1", "names no LoRA"),
        ("seed:x=1,2", "only 'lora:NAME=' and 'text-encoder:NAME=' take a name"),
        ("guidance=-1", "guidance values must be between 0 and 100, not -1"),
        ("shift=0", "shift values must be above 0 and at most 100, not 0"),
        ("text-encoder=t5xxl_fp16", "needs the text encoder it swaps"),
        ("cfg=", "empty value"),
        ("cfg=4,,7", "empty value"),
        ("seed=1-100", "at most 16"),
        ("seed=1-1000000000", "at most 16"),
        ("steps=10-30 [40]", "between 1 and 16"),
        ("cfg=4-10 (-1)", "never goes from the start to the end"),
        ("cfg=4-10 (0)", "never goes"),
        ("sampler=Turbo Magic", "cannot render with sampler 'Turbo Magic'"),
        ("clip-skip=13", "between 1 and 12"),
    ],
)
def test_parse_axis_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(GridAxisError, match=re.escape(message)):
        parse_axis(text)


def test_parse_errors_name_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match=r"lora:NAME=0,0\.5,1 \| seed=1,2,3") as caught:
        parse_axis("weight=1,2")
    assert "10-30 [3]" in str(caught.value)


def test_axis_validation_on_construction() -> None:
    with pytest.raises(GridAxisError, match="at least one value"):
        GridAxis(AxisKind.SEED, ())
    with pytest.raises(GridAxisError, match="at most 16"):
        GridAxis(AxisKind.SEED, tuple(range(MAX_AXIS_VALUES + 1)))
    with pytest.raises(GridAxisError, match="cfg values must be numbers, not 'abc'"):
        GridAxis(AxisKind.CFG, ("abc",))
    with pytest.raises(GridAxisError, match="finite"):
        GridAxis(AxisKind.LORA_WEIGHT, (float("nan"),), "x")
    with pytest.raises(GridAxisError, match="only LoRA weight and text-encoder axes name a target"):
        GridAxis(AxisKind.CFG, (7,), "x")
    with pytest.raises(GridAxisError, match="numbers"):
        GridAxis(AxisKind.STEPS, (True,))
    assert GridAxis(AxisKind.CFG, ("7", 8)) == GridAxis(AxisKind.CFG, (7.0, 8.0))
    assert len(GridAxis(AxisKind.SEED, tuple(range(MAX_AXIS_VALUES))).values) == MAX_AXIS_VALUES


def test_labels() -> None:
    assert [parse_axis("lora:add_detail=0,0.5,1").label(v) for v in (0.0, 0.5, 1.0)] == [
        "add_detail 0",
        "add_detail 0.5",
        "add_detail 1",
    ]
    assert parse_axis("seed=42").label(42) == "seed 42"
    assert parse_axis("cfg=7").label(7.0) == "CFG 7"
    assert parse_axis("cfg=7.5").label(7.5) == "CFG 7.5"
    assert parse_axis("steps=20").label(20) == "20 steps"
    assert parse_axis("clip-skip=2").label(2) == "clip skip 2"
    assert parse_axis("sampler=dpmpp_2m").label("DPM++ 2M") == "DPM++ 2M"
    checkpoints = parse_axis(
        "checkpoint=dreamshaper_8,realisticVision [879db523c3],/models/sd/juggernaut.safetensors"
    )
    assert [checkpoints.label(v) for v in checkpoints.values] == [
        "dreamshaper_8",
        "realisticVision",
        "juggernaut",
    ]


# --- apply -----------------------------------------------------------------------------------------


def test_lora_weight_replaces_in_place_and_leaves_the_rest() -> None:
    axis = parse_axis("lora:style=0.25")
    changed = axis.apply(BASE, 0.25)
    assert [(use.ref.name, use.weight) for use in changed.loras] == [("style", 0.25), ("add_detail", 0.3)]
    assert changed.replace(loras=BASE.loras) == BASE


def test_lora_weight_enables_a_disabled_lora_and_keeps_an_explicit_text_encoder_weight() -> None:
    base = BASE.with_lora(LoraUse(AssetRef(name="add_detail"), 0.3, enabled=False, text_encoder_weight=0.1))
    changed = parse_axis("lora:ADD_DETAIL=1").apply(base, 1.0)
    detail = next(use for use in changed.loras if use.ref.name == "add_detail")
    assert (detail.weight, detail.enabled, detail.text_encoder_weight) == (1.0, True, 0.1)
    assert len(changed.loras) == len(base.loras)


def test_lora_weight_adds_a_missing_lora() -> None:
    changed = parse_axis("lora:new_one=0.7").apply(BASE, 0.7)
    assert changed.loras[:2] == BASE.loras
    assert changed.loras[2] == LoraUse(AssetRef(name="new_one"), 0.7)


def test_lora_weight_varies_a_lora_tagged_in_the_prompt_and_prompt_sr_swaps_tags() -> None:
    """The grid's cells start from the prompt as typed (A1111's Prompt S/R sees the tags): a weight axis
    on a tagged LoRA takes the tag into the stack first, so the tag's 0.5 does not override the axis."""
    base = Recipe(prompt="a fox <lora:detail:0.5>, snow")
    changed = parse_axis("lora:detail=1").apply(base, 1.0)
    assert [(use.ref.name, use.weight) for use in changed.loras] == [("detail", 1.0)]
    assert "<lora" not in changed.prompt
    swapped = parse_axis("prompt-sr=<lora:detail:0.5>,<lora:detail:1>").apply(base, "<lora:detail:1>")
    assert swapped.prompt == "a fox <lora:detail:1>, snow"


def test_checkpoint_apply_names_paths_and_hashes() -> None:
    axis = parse_axis(
        "checkpoint=dreamshaper_8,realisticVision [879db523c3],/models/sd/juggernaut.safetensors"
    )
    refs = [axis.apply(BASE, value).checkpoint for value in axis.values]
    assert refs == [
        AssetRef(name="dreamshaper_8"),
        AssetRef(name="realisticVision", hash="879db523c3"),
        AssetRef(name="juggernaut", path="/models/sd/juggernaut.safetensors"),
    ]
    # A subfolder name as A1111 writes it is a name, not a path.
    assert axis.apply(BASE, "SDXL/juggernaut").checkpoint == AssetRef(name="SDXL/juggernaut")


@pytest.mark.parametrize(
    ("text", "value", "field", "expected"),
    [
        ("seed=99", 99, "seed", 99),
        ("cfg=4.5", 4.5, "cfg", 4.5),
        ("steps=30", 30, "steps", 30),
        ("clip-skip=2", 2, "clip_skip", 2),
        ("sampler=DPM++ 2M Karras", "DPM++ 2M Karras", "sampler", "DPM++ 2M"),
        ("guidance=2.5", 2.5, "guidance", 2.5),
        ("distilled-cfg-scale=4", 4, "guidance", 4.0),
        ("shift=3", 3, "shift", 3.0),
        ("vae=ae", "ae", "vae", AssetRef("ae")),
    ],
)
def test_other_axes_replace_only_their_field(text: str, value: object, field: str, expected: object) -> None:
    changed = parse_axis(text).apply(BASE, value)  # type: ignore[arg-type]
    assert getattr(changed, field) == expected
    restored = changed.replace(**{field: getattr(BASE, field)})
    assert restored.replace(schedule=BASE.schedule) == BASE


# --- grid_recipes / render_order ---------------------------------------------------------------------


def test_grid_recipes_shape_rows_are_y_and_cells_are_x() -> None:
    x, y = parse_axis("cfg=4,7,10"), parse_axis("steps=10,20")
    cells = grid_recipes(BASE, x, y)
    assert len(cells) == 2
    assert all(len(row) == 3 for row in cells)
    assert [[(r.steps, r.cfg) for r in row] for row in cells] == [
        [(10, 4.0), (10, 7.0), (10, 10.0)],
        [(20, 4.0), (20, 7.0), (20, 10.0)],
    ]
    assert {r.seed for row in cells for r in row} == {1234}
    only_x = grid_recipes(BASE, x)
    assert [[r.cfg for r in row] for row in only_x] == [[4.0, 7.0, 10.0]]


def test_random_seed_is_filled_with_one_shared_seed() -> None:
    base = BASE.replace(seed=-1)
    cells = grid_recipes(base, parse_axis("cfg=4,7"), parse_axis("lora:style=0,1"), seed=777)
    assert {r.seed for row in cells for r in row} == {777}
    # Without a given seed one is drawn, still shared by every cell and concrete.
    drawn = {r.seed for row in grid_recipes(base, parse_axis("cfg=4,7")) for r in row}
    assert len(drawn) == 1
    assert drawn.pop() >= 0


def test_seed_axis_wins_and_its_random_values_are_fixed_reproducibly() -> None:
    base = BASE.replace(seed=-1)
    cells = grid_recipes(base, parse_axis("seed=5,-1,-1"), parse_axis("cfg=4,7"), seed=777)
    first_row = [r.seed for r in cells[0]]
    assert first_row[0] == 5
    assert -1 not in first_row
    assert first_row[1] != first_row[2]
    assert [r.seed for r in cells[1]] == first_row
    again = grid_recipes(base, parse_axis("seed=5,-1,-1"), parse_axis("cfg=4,7"), seed=777)
    assert [r.seed for r in again[0]] == first_row
    assert with_fixed_seeds(parse_axis("seed=5,-1,-1"), 777).values == tuple(first_row)


def test_both_axes_on_one_setting_is_refused() -> None:
    with pytest.raises(GridAxisError, match="both grid axes vary the cfg"):
        grid_recipes(BASE, parse_axis("cfg=4,7"), parse_axis("cfg=5,6"))
    with pytest.raises(GridAxisError, match="both grid axes"):
        grid_recipes(BASE, parse_axis("lora:a=0,1"), parse_axis("lora:A=0.5"))
    assert len(grid_recipes(BASE, parse_axis("lora:a=0,1"), parse_axis("lora:b=0.5"))) == 1


def test_render_order_groups_checkpoints() -> None:
    x = parse_axis("checkpoint=alpha,beta,gamma")
    cells = grid_recipes(BASE, x, parse_axis("cfg=4,7"))
    order = render_order(cells)
    assert sorted(order) == [(r, c) for r in range(2) for c in range(3)]
    names = [cells[r][c].checkpoint.name for r, c in order]  # type: ignore[union-attr]
    assert names == ["alpha", "alpha", "beta", "beta", "gamma", "gamma"]
    assert order[:2] == [(0, 0), (1, 0)]
    # Without a checkpoint axis the order stays row-major.
    plain = grid_recipes(BASE, parse_axis("cfg=4,7"), parse_axis("steps=10,20"))
    assert render_order(plain) == [(0, 0), (0, 1), (1, 0), (1, 1)]


# --- infotext ------------------------------------------------------------------------------------------


def test_grid_infotext_extra_uses_a1111_keys_and_round_trips() -> None:
    x, y = parse_axis("cfg=4,7.5"), parse_axis("checkpoint=a,b")
    extra = grid_infotext_extra(x, y)
    assert extra == {
        "X Type": "CFG Scale",
        "X Values": "4, 7.5",
        "Y Type": "Checkpoint name",
        "Y Values": "a, b",
    }
    assert grid_infotext_extra(parse_axis("lora:add_detail=0,1")) == {
        "X Type": "Prompt S/R",
        "X Values": "<lora:add_detail:0>, <lora:add_detail:1>",
    }
    seeds = parse_axis("seed=-1,3")
    fixed = with_fixed_seeds(seeds, 1)
    seeded = grid_infotext_extra(seeds, fixed_x=fixed)
    assert seeded["X Values"] == "-1, 3"
    assert seeded["Fixed X Values"] == f"{fixed.values[0]}, 3"
    # Through the real infotext writer and reader, commas inside values survive (quoted).
    parsed = recipe_from_infotext(format_infotext(BASE.with_extra(extra)))
    assert parsed.recipe.extra["X Values"] == "4, 7.5"
    assert parsed.recipe.extra["Y Type"] == "Checkpoint name"


# --- compose_grid ---------------------------------------------------------------------------------------


def _solid(size: tuple[int, int], colour: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", size, colour)


def _non_background(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    band = image.crop(box).convert("L")
    return sum(band.histogram()[:200])


@pytest.mark.parametrize("cell", [64, 256])
def test_compose_grid_size_and_labels(cell: int) -> None:
    x, y = parse_axis("cfg=4,7,10"), parse_axis("lora:add_detail=0,0.5")
    colours = [[(255, 0, 0), (0, 255, 0), (0, 0, 255)], [(255, 255, 0), (0, 255, 255), (255, 0, 255)]]
    images = [[_solid((cell, cell), colour) for colour in row] for row in colours]
    grid = compose_grid(images, x, y)
    layout = grid_layout_of(grid, x, y, (cell, cell))
    assert grid.mode == "RGB"
    assert layout.left == max(cell * 3 // 4, 48)
    assert layout.top > 0
    assert grid.size == (layout.left + 3 * cell, layout.top + 2 * cell)
    # Each cell is pasted where the layout says.
    for r, row in enumerate(colours):
        for c, colour in enumerate(row):
            x0, y0, x1, y1 = layout.cell_box(r, c)
            assert grid.getpixel(((x0 + x1) // 2, (y0 + y1) // 2)) == colour
    # Every column label and every row label put ink in its band.
    for c in range(3):
        x0, _, x1, _ = layout.cell_box(0, c)
        assert _non_background(grid, (x0, 0, x1, layout.top)) > 10
    for r in range(2):
        _, y0, _, y1 = layout.cell_box(r, 0)
        assert _non_background(grid, (0, y0, layout.left, y1)) > 10
    assert layout.cell_at(layout.left + 1, layout.top + cell + 1) == (1, 0)
    assert layout.cell_at(0, 0) is None


def test_font_scales_with_cell_size() -> None:
    x = parse_axis("steps=20")
    small = compose_grid([[_solid((64, 64), (0, 0, 0))]], x)
    large = compose_grid([[_solid((512, 512), (0, 0, 0))]], x)
    small_top, large_top = small.height - 64, large.height - 512
    assert large_top > 2 * small_top
    assert small.width == 64  # no Y axis: no row-label band
    assert large.width == 512


def test_long_labels_wrap_and_title_adds_a_band() -> None:
    x = parse_axis("checkpoint=a_very_long_checkpoint_name_that_cannot_fit_on_one_line_v1,b")
    cells = [[_solid((64, 64), (0, 0, 0)), _solid((64, 64), (0, 0, 0))]]
    short = compose_grid(cells, parse_axis("checkpoint=a,b"))
    wrapped = compose_grid(cells, x)
    titled = compose_grid(cells, x, title="LoRA comparison")
    assert wrapped.width == short.width == 128
    assert wrapped.height > short.height  # more label lines, not a wider column
    assert titled.height > wrapped.height


def test_cells_of_different_sizes_are_centred_and_failed_cells_are_grey() -> None:
    x = parse_axis("seed=1,2,3")
    images = [[_solid((64, 64), (255, 0, 0)), _solid((32, 48), (0, 0, 255)), None]]
    grid = compose_grid(images, x)
    layout = grid_layout_of(grid, x, None, (64, 64))
    x0, y0, _, _ = layout.cell_box(0, 1)
    assert grid.getpixel((x0 + 32, y0 + 32)) == (0, 0, 255)  # centre of the small cell
    assert grid.getpixel((x0 + 2, y0 + 2)) == (255, 255, 255)  # margin around it
    assert grid.getpixel((x0 + 17, y0 + 9)) == (0, 0, 255)  # its top-left corner, centred
    assert grid.getpixel((x0 + 15, y0 + 32)) == (255, 255, 255)
    fx0, fy0, fx1, fy1 = layout.cell_box(0, 2)
    assert grid.getpixel((fx0 + 4, fy0 + 4)) == (160, 160, 160)
    failed_text = grid.crop((fx0, fy0, fx1, fy1)).convert("L")
    assert sum(failed_text.histogram()[:100]) > 0  # "failed" is written in the box


def test_all_failed_grid_still_renders() -> None:
    grid = compose_grid([[None, None]], parse_axis("cfg=4,7"))
    assert grid.width == 512


def test_compose_grid_checks_the_shape() -> None:
    with pytest.raises(ValueError, match="needs 2 rows of 2 images"):
        compose_grid([[None, None]], parse_axis("cfg=4,7"), parse_axis("steps=10,20"))


def test_grid_module_does_not_import_torch() -> None:
    code = "import sys, core.render.grid; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --- flow-matching families -----------------------------------------------------------------------------

FLUX = Recipe(
    checkpoint=AssetRef("flux1-dev-fp8"),
    vae=AssetRef("ae"),
    text_encoders=(AssetRef("clip_l"), AssetRef("t5xxl_fp16")),
    sampler="Euler",
    schedule="Simple",
    cfg=1.0,
    guidance=3.5,
    seed=5,
)


def test_guidance_and_shift_axes_vary_flux_settings_and_label_them_as_forge() -> None:
    x, y = parse_axis("guidance=2-4 [3]"), parse_axis("shift=1,3.16")
    cells = grid_recipes(FLUX, x, y)
    assert [[(c.guidance, c.shift) for c in row] for row in cells] == [
        [(2.0, 1.0), (3.0, 1.0), (4.0, 1.0)],
        [(2.0, 3.16), (3.0, 3.16), (4.0, 3.16)],
    ]
    assert all(c.replace(guidance=3.5, shift=None) == FLUX for row in cells for c in row)
    assert [x.label(v) for v in x.values] == ["Distilled CFG 2", "Distilled CFG 3", "Distilled CFG 4"]
    assert y.label(3.16) == "shift 3.16"
    assert grid_infotext_extra(x, y) == {
        "X Type": "Distilled CFG Scale",
        "X Values": "2, 3, 4",
        "Y Type": "Shift",
        "Y Values": "1, 3.16",
    }


def test_vae_axis_swaps_the_file_or_goes_back_to_the_checkpoints_own() -> None:
    axis = parse_axis("vae=ae,/models/vae/flux_vae_alt.safetensors,None")
    cells = grid_recipes(FLUX, axis)[0]
    assert [c.vae for c in cells] == [
        AssetRef("ae"),
        AssetRef("flux_vae_alt", path="/models/vae/flux_vae_alt.safetensors"),
        None,
    ]
    assert [axis.label(v) for v in axis.values] == ["ae", "flux_vae_alt", "own VAE"]


def test_text_encoder_axis_swaps_one_encoder_and_keeps_the_others() -> None:
    axis = parse_axis("text-encoder:t5xxl_fp16=t5xxl_fp16,t5xxl_fp8_e4m3fn")
    assert axis.target == "t5xxl_fp16"
    cells = grid_recipes(FLUX, axis)[0]
    assert [[e.name for e in c.text_encoders] for c in cells] == [
        ["clip_l", "t5xxl_fp16"],
        ["clip_l", "t5xxl_fp8_e4m3fn"],
    ]
    added = parse_axis("te:clip_g=clip_g").apply(FLUX, "clip_g")
    assert [e.name for e in added.text_encoders] == ["clip_l", "t5xxl_fp16", "clip_g"]
    assert grid_infotext_extra(axis)["X Type"] == "Text encoder"
    with pytest.raises(GridAxisError, match="both grid axes vary the text-encoder"):
        grid_recipes(FLUX, axis, parse_axis("text-encoder:T5XXL_FP16=a,b"))
    assert grid_recipes(FLUX, axis, parse_axis("text-encoder:clip_l=clip_l,clip_l_alt"))


def test_render_order_loads_each_text_encoder_file_once_per_checkpoint() -> None:
    x = parse_axis("text-encoder:t5xxl_fp16=t5xxl_fp16,t5xxl_fp8_e4m3fn")
    y = parse_axis("seed=1,2")
    cells = grid_recipes(FLUX, x, y)
    order = render_order(cells)
    encoders = [cells[r][c].text_encoders[1].name for r, c in order]
    assert encoders == ["t5xxl_fp16", "t5xxl_fp16", "t5xxl_fp8_e4m3fn", "t5xxl_fp8_e4m3fn"]
    # checkpoints stay adjacent even when their encoders differ between cells
    mixed = grid_recipes(FLUX, parse_axis("checkpoint=a,b"), parse_axis("text-encoder:clip_l=clip_l,clip_x"))
    names = [mixed[r][c].checkpoint.name for r, c in render_order(mixed)]  # type: ignore[union-attr]
    assert names == ["a", "a", "b", "b"]


def test_flow_settings_in_a_grid_cell_survive_infotext() -> None:
    cell = grid_recipes(FLUX, parse_axis("guidance=2.5"))[0][0]
    text = format_infotext(cell.with_extra(grid_infotext_extra(parse_axis("guidance=2.5"))))
    back = recipe_from_infotext(text).recipe
    assert (back.guidance, back.vae, back.text_encoders) == (2.5, FLUX.vae, FLUX.text_encoders)
    assert back.extra["X Type"] == "Distilled CFG Scale"
