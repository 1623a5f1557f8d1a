"""``main.py render --plan`` on Flux.1 files in their real layouts (header-true, sparse: nothing is read
but the header): a diffusion-model-only file is refused until its text encoders are named, separate
clip_l/t5xxl/VAE files are shown, and the memory placement says what this machine can do with them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.in_process import run_in_process
from tests.app.main_process import run_main
from tests.factory.flux_part_files import write_flux_parts
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors


@pytest.fixture(scope="module")
def flux_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("flux-real")
    files = {
        "transformer": write_safetensors(
            root / "flux1-dev.safetensors", keyspace("flux-flux", components=("diffuser",), dtype="BF16")
        )
    }
    files |= write_flux_parts(root)
    return files


def test_a_diffusion_model_alone_is_refused_naming_the_encoder_slots(
    flux_files: dict[str, Path], tmp_path: Path
) -> None:
    result = run_in_process(
        "render", "--plan", "--checkpoint", str(flux_files["transformer"]), "--sampler", "Euler",
        data_dir=tmp_path / "data", env={"HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert "a FLUX.1 checkpoint" in result.stdout
    assert "Text encoders (clip_l, t5xxl): needed, none chosen" in result.stdout
    assert "VAE: needed, none chosen" in result.stdout  # the file holds no VAE: never "the checkpoint's own"
    assert (
        "Would not render: flux1-dev is a Flux.1 diffusion model without its text encoders: choose its "
        "text encoders (clip_l, t5xxl) with --text-encoder NAME, once for each"
    ) in result.stdout
    assert result.returncode != 0

    # Encoders given, no VAE: the CLI names --vae.
    result = run_in_process(
        "render", "--checkpoint", str(flux_files["transformer"]), "--sampler", "Euler",
        "--text-encoder", str(flux_files["clip_l"]), "--text-encoder", str(flux_files["t5xxl"]),
        data_dir=tmp_path / "data", env={"HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert result.stderr.strip().splitlines()[-1] == (
        "atelier render: cannot render: flux1-dev is a Flux.1 diffusion model without a VAE: "
        "choose a VAE file (ae.safetensors) with --vae NAME"
    )
    assert result.returncode == 1


def test_separate_files_are_planned_with_their_memory_placement(
    flux_files: dict[str, Path], tmp_path: Path, hub_up: str
) -> None:
    result = run_in_process(
        "render", "--plan", "--json", "--checkpoint", str(flux_files["transformer"]),
        "--text-encoder", str(flux_files["clip_l"]), "--text-encoder", str(flux_files["t5xxl"]),
        "--vae", str(flux_files["vae"]), "--sampler", "Euler", "--size", "1024x1024",
        data_dir=tmp_path / "data",  # the loopback Hub answers: the T5 tokenizer can be fetched once
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert document["problem"] is None
    assert [entry["name"] for entry in document["text_encoders"]] == ["clip_l", "t5xxl_fp16"]
    assert document["text_encoder_slots"] == ["clip_l", "t5xxl"]
    memory = document["memory"]
    # The CPU renders in fp32: 4 bytes per weight of the 16-bit files (about twice their size).
    weights = {
        part: sum(_numel(shape) for _, shape in keyspace("flux-flux", components=(part,)).values())
        for part in ("diffuser", "clip_l", "t5xxl", "vae")
    }
    assert memory["weights_bytes"] == 4 * sum(weights.values())
    assert memory["largest_component_bytes"] == 4 * weights["diffuser"]
    assert memory["mode"] in {"cpu", "cannot_run", "gpu", "model_offload", "sequential_offload"}
    assert memory["reason"]
    assert result.returncode == (0 if memory["runnable"] else 1)


@pytest.mark.slow
def test_scan_then_render_a_tiny_flux_from_its_split_files(tmp_path: Path) -> None:
    """As a user would: scan a folder of a diffusion-model-only Flux file, clip_l, t5xxl and ae files,
    then ``render`` by their library names; the T5 tokenizer comes once from the (loopback) Hub."""
    from PIL import Image

    from tests.factory.tiny_families import add_tokenizer_repo, flux_parts, write_flux_split
    from tests.fakes.hub_api import HubHandler, HubState
    from tests.fakes.server import serve

    models = tmp_path / "models"
    write_flux_split(models, flux_parts(0))
    data = tmp_path / "data"
    offline = {"ATELIER_CIVITAI_URL": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "1"}
    run_in_process("scan", str(models), data_dir=data, env=offline, check=True)
    listed = run_in_process("search", "", data_dir=data, env=offline, check=True).stdout
    assert any("flux1" in line and "flux-tiny-transformer" in line for line in listed.splitlines())
    state = HubState()
    add_tokenizer_repo(state)
    with serve(HubHandler, state) as hub:
        hub_env = {"HF_ENDPOINT": hub.base_url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": None}
        result = run_main(
            "render", "--checkpoint", "flux-tiny-transformer", "--text-encoder", "clip_l_tiny",
            "--text-encoder", "t5xxl_tiny", "--vae", "ae_tiny", "--sampler", "Euler", "--steps", "2",
            "--size", "64x64", "--seed", "5", "--cfg", "1", "--prompt", "a red cat", "--json",
            data_dir=data, env=hub_env,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # The one-time fetch is said on the command line, even with no progress bar drawn.
    assert (
        "atelier render: Fetching the tokenizer black-forest-labs/FLUX.1-schnell/tokenizer_2 from "
        f"{hub.base_url} (once, a few MB)…"
    ) in result.stderr
    stored = json.loads(result.stdout)
    path = Path(stored["path"] if "path" in stored else stored["images"][0]["path"])
    image = Image.open(path)
    assert image.size == (64, 64)
    infotext = str(image.info["parameters"])
    assert "Sampler: Euler" in infotext
    assert "Model: flux-tiny-transformer" in infotext
    assert "t5xxl_tiny" in infotext
    # Flux.1 dev at the default: the infotext says what steered it, as the board's render writes it.
    assert "Distilled CFG Scale: 3.5" in infotext
    from catalog.library import Library
    from catalog.records import RenderRole

    with Library.open(data / "catalog.sqlite3") as library:
        (render,) = library.renders()
        encoders = [link.asset_id for link in render.assets if link.role is RenderRole.TEXT_ENCODER]
        names = {record.file_name for record in library.get_many(encoders)}
    assert names == {"clip_l_tiny.safetensors", "t5xxl_tiny.safetensors"}


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count
