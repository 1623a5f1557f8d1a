"""One rule for what a prompt asks for: its ``<lora:…>``/``<hypernet:…>`` tags and embedding names are
resolved against the library and shown in the plan, whichever front end typed them (``render --prompt``,
``--infotext``, the board, a grid cell), and infotext writes back what was used. Through ``main`` with
``--plan --json``: nothing renders and torch is never imported here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.render_service import RenderService
from catalog.library import Library
from core.taxonomy import Architecture, AssetKind, LibraryLayout
from tests.app.test_render_plan import SD1_LORA
from tests.app.test_render_service import catalog_file
from tests.factory.diffusers_configs import write_pipeline
from tests.factory.safetensors_writer import write_safetensors

EMBEDDING = {"emb_params": ("F32", (1, 768))}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A checkpoint ``v1-5``, a LoRA ``detail`` and a negative embedding ``easyneg`` in the library."""
    data = tmp_path / "data"
    models = tmp_path / "models"
    folder = write_pipeline(models / "v1-5", "StableDiffusionPipeline", unet={"cross_attention_dim": 768})
    lora = write_safetensors(models / "detail.safetensors", SD1_LORA)
    embedding = write_safetensors(models / "easyneg.safetensors", EMBEDDING)
    with Library.open(data / "catalog.sqlite3") as library:
        root = library.add_root(models, LibraryLayout.FLAT)
        catalog_file(library, root.id, folder, AssetKind.CHECKPOINT, Architecture.SD1, inode=1)
        catalog_file(library, root.id, lora, AssetKind.LORA, Architecture.SD1, inode=2)
        catalog_file(library, root.id, embedding, AssetKind.EMBEDDING, Architecture.SD1, inode=3)
    return data


def plan(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["render", "--data-dir", str(data_dir), *args, "--plan", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_tags_and_embedding_names_typed_in_the_prompt_are_in_the_plan(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = plan(
        capsys, data_dir, "--checkpoint", "v1-5", "--prompt", "a red fox <lora:detail:0.8>",
        "--negative", "easyneg, blurry",
    )  # fmt: skip
    assert code == 0, doc
    assert [(lora["name"], lora["unet_weight"]) for lora in doc["loras"]] == [("detail", 0.8)]
    assert doc["loras"][0]["path"].endswith("detail.safetensors")
    assert [(e["name"], e["negative"]) for e in doc["embeddings"]] == [("easyneg", True)]
    assert "<lora" not in doc["prompt"]  # the text CLIP encodes, as A1111 removes the tag


def test_a_typed_tag_naming_no_file_is_missing_exit_3(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = plan(capsys, data_dir, "--checkpoint", "v1-5", "--prompt", "a fox <hypernet:nowhere:0.5>")
    assert code == 3
    assert [m["name"] for m in doc["missing"]] == ["nowhere"]


def test_the_same_lora_in_the_stack_and_a_tag_is_applied_once(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = plan(
        capsys, data_dir, "--checkpoint", "v1-5", "--lora", "detail:0.3", "--prompt", "fox <lora:detail:0.8>"
    )
    assert code == 0
    assert [(lora["name"], lora["unet_weight"]) for lora in doc["loras"]] == [("detail", 0.3)]
    # Which weight renders, that the tag's is not used, and where to change it: said, not just "once".
    assert (
        "<lora:detail:0.8> is ignored: LoRA detail is already in the LoRA list at 0.3, so it is applied "
        "once, at 0.3, not 0.8. To render at 0.8, set that weight in the list (the board's LoRA slider, "
        "or --lora) and delete the tag"
    ) in doc["warnings"]


def test_a_tag_repeating_the_stack_at_the_same_weight_needs_no_warning(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The render is exactly what both ask for: nothing is lost, so nothing to confirm before Render."""
    code, doc = plan(
        capsys, data_dir, "--checkpoint", "v1-5", "--lora", "detail:0.8", "--prompt", "fox <lora:detail:0.8>"
    )
    assert code == 0
    assert [(lora["name"], lora["unet_weight"]) for lora in doc["loras"]] == [("detail", 0.8)]
    assert not [warning for warning in doc["warnings"] if "detail" in warning], doc["warnings"]


def test_a_tag_with_other_text_encoder_and_unet_weights_names_both(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = plan(
        capsys, data_dir, "--checkpoint", "v1-5", "--lora", "detail", "--prompt", "fox <lora:detail:0.5:0.9>"
    )
    assert code == 0
    assert any(
        "applied once, at 1, not text encoder 0.5, UNet 0.9" in warning for warning in doc["warnings"]
    ), doc["warnings"]


def test_a_lora_path_that_does_not_exist_says_so(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nope = tmp_path / "nope.safetensors"
    code = main(["render", "--data-dir", str(data_dir), "--checkpoint", "v1-5", "--lora", str(nope)])
    assert code == 3
    assert f"LoRA {nope}: no such file" in capsys.readouterr().err


CIVITAI_GENERATOR = (
    "cinematic photo of a lighthouse\nNegative prompt: cartoon\n"
    "Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 31, Size: 512x768, Clip skip: 2, "
    'Civitai resources: [{"type":"checkpoint","modelVersionId":128713,"modelName":"DreamShaper",'
    '"modelVersionName":"8"}], Civitai metadata: {}'
)


def test_a_civitai_generator_checkpoint_named_by_version_id_is_missing_with_its_download(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = plan(capsys, data_dir, "--infotext", CIVITAI_GENERATOR)
    assert code == 3
    (missing,) = doc["missing"]
    assert missing["name"] == "DreamShaper 8"
    assert "(Civitai version 128713)" in missing["message"]
    assert "download civitai:128713" in missing["message"]
    assert main(["render", "--data-dir", str(data_dir), "--infotext", CIVITAI_GENERATOR]) == 3
    assert "python main.py download civitai:128713" in capsys.readouterr().err


def test_a_plan_names_the_settings_atelier_does_not_apply(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Variation seeds and ENSD are applied on SD checkpoints (core.render.variation); Seed resize is not."""
    text = (
        "a fox\nSteps: 2, Sampler: Euler, CFG scale: 5, Seed: 3, Size: 64x64, Model: v1-5, "
        "Variation seed: 99, Variation seed strength: 0.3, Seed resize from: 64x96, ENSD: 31337"
    )
    code, doc = plan(capsys, data_dir, "--infotext", text)
    assert code == 0
    unapplied = [w.split(":")[0] for w in doc["warnings"] if "is not applied by Atelier" in w]
    assert unapplied == ["Seed resize from"]


def test_a_hash_found_on_another_kind_names_the_kind_it_looked_for(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Library.open(data_dir / "catalog.sqlite3") as library:
        service = RenderService(library, lambda: None, library.renders_dir)  # type: ignore[arg-type,return-value]
        found = service.plan_from_infotext(
            "a fox\nSteps: 2, Sampler: Euler, Seed: 3, Size: 64x64, Model: v1-5, Model hash: bbff947393"
        )
    assert "no checkpoint has hash bbff947393; matched by file name" in found.warnings


def test_a_grid_prompt_search_and_replace_swaps_a_lora_tag(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A1111 applies Prompt S/R to the prompt as typed, tags included, then reads each cell's networks:
    the swapped tag names a LoRA the library lacks, so the grid stops before rendering with exit 3 and,
    with --json, the error object every command prints (not "did not find", exit 2)."""
    code = main([
        "grid", "--data-dir", str(data_dir), "--checkpoint", "v1-5",
        "--prompt", "a red fox <lora:detail:0.5>",
        "--x", "prompt-sr=<lora:detail:0.5>,<lora:nothere:1>", "--json",
    ])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 3, captured.err
    error = json.loads(captured.out)
    assert error["exit_code"] == 3
    assert "LoRA 'nothere'" in error["error"]
    assert "LoRA 'nothere'" in captured.err
    assert "did not find" not in captured.err


def test_render_errors_with_json_are_a_json_object(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["render", "--data-dir", str(data_dir), "--prompt", "a fox", "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert json.loads(captured.out) == {
        "error": "give --checkpoint (or --infotext to replay an image)",
        "exit_code": 2,
    }
    assert captured.err == "atelier render: give --checkpoint (or --infotext to replay an image)\n"
    code = main(["render", "--data-dir", str(data_dir), "--checkpoint", "gone", "--json"])
    captured = capsys.readouterr()
    assert code == 3
    assert json.loads(captured.out)["exit_code"] == 3


def test_grid_help_names_the_prompt_search_and_replace_axis(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["grid", "--help"])
    assert "prompt-sr=" in capsys.readouterr().out


def test_a_long_list_of_missing_files_is_printed_whole(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An image made with a dozen LoRAs the library lacks: each is named on its own line, whole, before
    the command's one failure line (which a long list is cut in)."""
    names = [f"a_rather_long_lora_name_from_civitai_number_{n:02d}_v2" for n in range(12)]
    tags = " ".join(f"<lora:{name}:0.5>" for name in names)
    code = main(["render", "--data-dir", str(data_dir), "--checkpoint", "v1-5", "--prompt", f"a fox {tags}"])
    assert code == 3
    err = capsys.readouterr().err
    assert all(name in err for name in names), err
    assert (
        err.strip().splitlines()[-1].startswith("atelier render: missing from the library, nothing rendered:")
    )
