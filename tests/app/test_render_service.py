"""The render service on a real library and a tiny real diffusers checkpoint (64x64, 2 steps, CPU)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from app.render_service import RenderError, RenderService
from catalog.library import Library
from catalog.records import RenderKind, RenderRole, ScannedFile
from core.file_hashes import FileHashes
from core.identify.result import Identification
from core.jobs import Progress
from core.render.grid import parse_axis
from core.render.infotext import recipe_from_infotext
from core.render.png import read_infotext
from core.render.recipe import AssetRef, LoraUse, Recipe
from core.render.recipe_codec import recipe_from_dict
from core.taxonomy import Architecture, AssetKind, FileFormat, FileStatus, LibraryLayout, Prediction
from tests.factory.safetensors_writer import write_safetensors
from tests.factory.tiny_pipeline import SD1_CONTEXT

pytestmark = pytest.mark.slow

SD1_LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (
        "F16",
        (4, 768),
    ),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", (320, 4)),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": ("F16", ()),
}
CHECKPOINT_HASHES = FileHashes(
    sha256="A" * 64, blake3="B" * 64, crc32="C" * 8, autov1=None, autov2="AAAAAAAAAA", autov3=None
)


def catalog_file(
    library: Library, root_id: int, path: Path, kind: AssetKind, architecture: Architecture, *, inode: int
) -> int:
    """Catalog ``path`` as the scanner would, with the identification the test needs."""
    file_format = FileFormat.DIFFUSERS if path.is_dir() else FileFormat.SAFETENSORS
    identification = Identification(
        kind=kind,
        architecture=architecture,
        format=file_format,
        prediction=Prediction.EPS if kind is AssetKind.CHECKPOINT else None,
    )
    (asset_id,) = library.apply_scan_batch(
        root_id,
        [
            ScannedFile(
                path=str(path),
                size=1,
                mtime_ns=1,
                inode=inode,
                format=file_format,
                status=FileStatus.OK,
                identification=identification,
            )
        ],
    )
    return asset_id


def shared_tiny_sd1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny SD1 diffusers folder, built once per test session (the render and CLI tests share it)."""
    from tests.factory.tiny_pipeline import tiny_sd1_folder

    base = tmp_path_factory.getbasetemp() / "shared-tiny-sd1"
    folder = base / "models" / "tiny-sd1"
    if not (folder / "model_index.json").exists():
        tiny_sd1_folder(folder, base / "cache")
    return folder


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    """No network for this module (restored afterwards: other modules test against local mock sites)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def checkpoint_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_tiny_sd1(tmp_path_factory)


@pytest.fixture(scope="module")
def engine(checkpoint_folder: Path) -> Any:
    """One engine for the module: the tiny checkpoint is loaded once, as the app keeps it loaded."""
    from core.render.engine import RenderEngine

    return RenderEngine(checkpoint_folder.parent.parent / "cache")


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "data" / "catalog.sqlite3") as library:
        yield library


@pytest.fixture
def checkpoint_id(library: Library, checkpoint_folder: Path) -> int:
    # Cataloged directly (as the scanner would: a StableDiffusionPipeline folder is SD 1.x) so the
    # test can give it the hashes infotext needs; test_render_cli scans it for real.
    root = library.add_root(checkpoint_folder.parent, LibraryLayout.FLAT)
    asset_id = catalog_file(
        library, root.id, checkpoint_folder, AssetKind.CHECKPOINT, Architecture.SD1, inode=1
    )
    library.set_hashes(asset_id, CHECKPOINT_HASHES)
    return asset_id


@pytest.fixture
def service(library: Library, engine: Any, checkpoint_id: int) -> RenderService:
    return RenderService(library, lambda: engine, library.renders_dir)


def base_recipe(**changes: Any) -> Recipe:
    recipe = Recipe(
        checkpoint=AssetRef("tiny-sd1"),
        prompt="a red fox in the snow",
        negative_prompt="blurry",
        seed=11,
        steps=2,
        cfg=5.0,
        width=64,
        height=64,
    )
    return recipe.replace(**changes)


def without_locations(recipe: Recipe) -> Recipe:
    """The recipe as infotext can say it: names and hashes, no paths or asset ids."""

    def strip(ref: AssetRef) -> AssetRef:
        return dataclasses.replace(ref, path=None, asset_id=None)

    return recipe.replace(
        checkpoint=strip(recipe.checkpoint) if recipe.checkpoint else None,
        loras=tuple(dataclasses.replace(u, ref=strip(u.ref)) for u in recipe.loras),
    )


def test_prepare_resolves_warns_and_never_starts_the_engine(
    library: Library, checkpoint_id: int, checkpoint_folder: Path, tmp_path: Path
) -> None:
    started: list[bool] = []

    def factory() -> Any:
        started.append(True)
        raise AssertionError("prepare must not create the engine")

    service = RenderService(library, factory, library.renders_dir)
    root = library.roots()[0]
    catalog_file(
        library, root.id, tmp_path / "xl_style.safetensors", AssetKind.LORA, Architecture.SDXL, inode=2
    )
    outside = write_safetensors(tmp_path / "elsewhere" / "my_lora.safetensors", SD1_LORA, seed=1)
    recipe = base_recipe(
        loras=(
            LoraUse(AssetRef("XL_Style"), 0.8),
            LoraUse(AssetRef("my_lora", path=str(outside)), 0.5),
            LoraUse(AssetRef("nowhere", hash="0123456789ab"), 1.0),
        )
    )

    plan = service.prepare(recipe)

    assert plan.recipe.checkpoint is not None
    assert plan.recipe.checkpoint.asset_id == checkpoint_id
    assert plan.recipe.checkpoint.path == str(checkpoint_folder)
    assert (plan.architecture, plan.prediction) == (Architecture.SD1, Prediction.EPS)
    assert plan.lora_problem == (  # the catalog's family, for a file the renderer could not read
        "LoRA 'XL_Style' does not fit this checkpoint: it was made for SDXL, and this checkpoint is SD 1.x"
    )
    direct = plan.recipe.loras[1].ref
    assert (direct.path, direct.asset_id) == (str(outside.resolve()), None), (
        "a file given by path is used as is"
    )
    assert [m.name for m in plan.missing] == ["nowhere"]
    assert not plan.ready
    with pytest.raises(RenderError, match="'XL_Style' does not fit") as raised:  # the refusal first
        service.render(plan)
    assert [m.hash for m in raised.value.missing] == ["0123456789ab"]
    assert started == []
    assert not service.engine_started


def test_a_plan_without_a_known_checkpoint_is_not_ready(service: RenderService) -> None:
    assert service.prepare(base_recipe(checkpoint=None)).problem == "no checkpoint chosen"
    plan = service.prepare(base_recipe(checkpoint=AssetRef("does-not-exist")))
    assert not plan.ready
    assert plan.missing[0].message == "Checkpoint 'does-not-exist' is not in the library"


def test_render_stores_each_image_with_infotext_rows_and_links(
    service: RenderService, library: Library, checkpoint_id: int
) -> None:
    reports: list[Progress] = []
    plan = service.prepare(base_recipe(batch=2))
    assert plan.ready, plan.problem

    stored = service.render(plan, progress=reports.append)

    assert [item.seed for item in stored] == [11, 12]
    assert reports
    assert reports[-1].done == reports[-1].total
    paths = [item.path for item in stored]
    assert len(set(paths)) == 2
    for item in stored:
        assert item.path.parent == library.renders_dir
        with Image.open(item.path) as image:
            assert image.size == (64, 64)
        assert read_infotext(item.path) == item.infotext
        assert "Model hash: aaaaaaaaaa" in item.infotext
        parsed = recipe_from_infotext(item.infotext).recipe
        assert parsed == without_locations(item.recipe)
        assert item.recipe.batch == 1
        assert recipe_from_dict(item.render.recipe) == item.recipe
        assert item.render.kind is RenderKind.IMAGE
        assert [(link.asset_id, link.role) for link in item.render.assets] == [
            (checkpoint_id, RenderRole.CHECKPOINT)
        ]
    assert {r.id for r in service.renders(asset_id=checkpoint_id)} == {item.render.id for item in stored}

    # Replaying the second image's PNG renders the same picture from the library's files.
    replay = service.plan_from_infotext(stored[1].path)
    assert replay.ready, replay.problem
    assert replay.recipe.checkpoint is not None
    assert replay.recipe.checkpoint.asset_id == checkpoint_id
    (again,) = service.render(replay)
    assert again.path not in paths, "a render never overwrites another"
    with (
        Image.open(again.path) as replayed,
        Image.open(stored[1].path) as second,
        Image.open(paths[0]) as first,
    ):
        # Batched matmuls round differently from single ones: equal up to a few levels, not bit for bit.
        assert _mean_difference(replayed, second) < 0.05
        assert _mean_difference(replayed, first) > 1.0, "another seed is another picture"


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    difference = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).convert("L")
    return float(ImageStat.Stat(difference).mean[0])


def test_infotext_naming_absent_assets_lists_them_with_their_hashes(service: RenderService) -> None:
    text = (
        "a fox <lora:add_detail:0.5>\n"
        "Steps: 2, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 64x64, Model hash: aaaaaaaaaa, "
        'Model: renamed, Lora hashes: "add_detail: 7c6bd7b7a2ff"'
    )
    plan = service.plan_from_infotext(text)

    assert plan.recipe.checkpoint is not None
    assert plan.recipe.checkpoint.path is not None, "the checkpoint is found by its hash despite the name"
    (missing,) = plan.missing
    assert (missing.kind, missing.name, missing.hash) == (AssetKind.LORA, "add_detail", "7c6bd7b7a2ff")
    assert "Civitai" in missing.message
    assert "7c6bd7b7a2ff" in missing.message
    assert not plan.ready


def test_an_image_without_infotext_is_refused(service: RenderService, tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    with pytest.raises(RenderError, match="no generation parameters"):
        service.plan_from_infotext(plain)


def test_a_grid_is_one_image_linked_to_every_asset(
    service: RenderService, library: Library, checkpoint_id: int
) -> None:
    reports: list[Progress] = []
    x, y = parse_axis("seed=3,4"), parse_axis("cfg=1,6")

    grid = service.render_grid(base_recipe(), x, y, progress=reports.append)

    assert grid.render.kind is RenderKind.GRID
    with Image.open(grid.path) as image:
        assert image.width >= 128
        assert image.height >= 128
    assert grid.render.grid_axes == {
        "x": {"kind": "seed", "target": None, "values": [3, 4]},
        "y": {"kind": "cfg", "target": None, "values": [1.0, 6.0]},
    }
    assert "X Type: Seed" in grid.infotext
    assert "Y Values: " in grid.infotext
    assert [(link.asset_id, link.role) for link in grid.render.assets] == [
        (checkpoint_id, RenderRole.CHECKPOINT)
    ]
    assert [p.done for p in reports] == sorted(p.done for p in reports)
    assert reports[-1].done == reports[-1].total == 8  # 4 cells of 2 steps
    assert library.renders(asset_id=checkpoint_id)[0].id == grid.render.id


def test_a_render_becomes_the_checkpoint_cover(
    service: RenderService, library: Library, checkpoint_id: int
) -> None:
    (stored,) = service.render(service.prepare(base_recipe(seed=5, steps=1)))
    service.use_as_preview(stored.render.id, checkpoint_id)
    record = library.get(checkpoint_id)
    assert record is not None
    assert record.cover_path == str(stored.path)
    with pytest.raises(RenderError, match="No render"):
        service.use_as_preview(12345, checkpoint_id)
    assert service.delete_render(stored.render.id) is False, "a cover's image stays"
    assert stored.path.exists()
    assert service.renders() == []


def test_an_add_on_that_does_not_fit_is_a_render_error(service: RenderService, tmp_path: Path) -> None:
    """An SDXL-sized LoRA on the SD1 checkpoint: a clear error naming both, nothing stored."""
    import torch
    from safetensors.torch import save_file

    name = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    wide = {
        f"{name}.lora_down.weight": torch.ones(4, 2048),
        f"{name}.lora_up.weight": torch.ones(32, 4),
        f"{name}.alpha": torch.tensor(4.0),
    }
    path = tmp_path / "xl_only.safetensors"
    save_file(wide, str(path))
    plan = service.prepare(base_recipe(loras=(LoraUse(AssetRef("xl_only", path=str(path)), 1.0),)))
    before = len(service.renders())
    with pytest.raises(RenderError, match="xl_only"):
        service.render(plan)
    assert len(service.renders()) == before
    # The engine is fine afterwards: the same checkpoint renders without the LoRA.
    assert len(service.render(service.prepare(base_recipe()))) == 1


def test_a_render_reports_loading_the_checkpoint_before_any_step(
    library: Library, checkpoint_id: int, tmp_path: Path
) -> None:
    """A fresh engine: the first reports say "Loading checkpoint…" (what the compose tab and the CLI
    bar show during a long load), each with a count once the parts are known; the steps come after."""
    from core.render.devices import DeviceChoice
    from core.render.engine import RenderEngine

    cpu = DeviceChoice(device="cpu", dtype_name="float32", reason="tests run on the CPU")
    service = RenderService(
        library, lambda: RenderEngine(tmp_path / "cache", device=cpu), library.renders_dir
    )
    reports: list[Progress] = []

    service.render(service.prepare(base_recipe(steps=2)), progress=reports.append)

    first_step = next(i for i, report in enumerate(reports) if report.message.startswith("Step "))
    loading = reports[:first_step]
    assert loading[0].message == "Loading checkpoint…"
    assert all(report.message.startswith("Loading checkpoint…") for report in loading)
    assert any(report.message == "Loading checkpoint… UNet" for report in loading)
    assert loading[-1].done == loading[-1].total
    assert [(report.done, report.total, report.message) for report in reports[first_step:]] == [
        (0, 2, "Step 0 of 2"),  # sampling starts: no longer loading, before the first step ends
        (1, 2, "Step 1 of 2"),
        (2, 2, "Step 2 of 2"),
    ]


def test_a_library_file_moved_since_the_board_named_it_renders_from_where_it_is_now(
    service: RenderService, library: Library, tmp_path: Path
) -> None:
    """The board keeps the path a LoRA had when it was dropped; another program (``main.py move``) or
    the window moved it since: the render uses the catalog's path, not the old one."""
    root = library.roots()[0]
    attention = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"  # fits tiny-sd1
    old = write_safetensors(
        Path(root.path) / "pixel.safetensors",
        {
            f"{attention}.lora_down.weight": ("F32", (4, SD1_CONTEXT)),
            f"{attention}.lora_up.weight": ("F32", (SD1_CONTEXT, 4)),
            f"{attention}.alpha": ("F32", ()),
        },
        seed=3,
    )
    lora_id = catalog_file(library, root.id, old, AssetKind.LORA, Architecture.SD1, inode=old.stat().st_ino)
    recipe = base_recipe(loras=(LoraUse(AssetRef("pixel", path=str(old), asset_id=lora_id), 0.8),))
    new = Path(root.path) / "styles" / "pixel.safetensors"
    new.parent.mkdir()
    old.rename(new)
    moved = new.stat()
    library.relocate(lora_id, str(new), size=moved.st_size, mtime_ns=moved.st_mtime_ns, inode=moved.st_ino)

    plan = service.prepare(recipe)

    (use,) = plan.recipe.loras
    assert (use.ref.path, use.ref.asset_id) == (str(new), lora_id)
    assert plan.ready, plan.problem or plan.missing
    assert not [w for w in plan.warnings if "pixel" in w]
    (stored,) = service.render(plan)
    (rendered,) = stored.recipe.loras
    assert rendered.ref.path == str(new)
    assert "pixel" in stored.infotext
