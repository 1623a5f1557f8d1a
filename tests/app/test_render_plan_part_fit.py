"""``render --plan`` says "Ready to render." only when the render will not refuse for a reason the headers
and the catalog already tell: a VAE of another latent space (a Qwen-Image/Wan VAE on Flux.1, Flux.1's
16-channel AE on SDXL), a LoRA of another family on an SD checkpoint (refused by the renderer, so by the
plan) and a LoRA the library calls ``other`` judged as the renderer judges it, a T5 of the wrong width, a
UMT5 in Flux.1's T5 slot (refused like a Qwen3 there), and a diffusers folder without the components its
``model_index.json`` lists. Each refusal is worded as the render words it.

Real-layout files: header-true sparse files (nothing but the header is read) and tiny real ones where the
identification reads the tensors' layout (the Qwen-Image VAE, a tiny Flux.1 LoRA, a 32-wide T5).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from tests.factory.flux_part_files import part_specs, write_flux_parts
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors

# The tokenizer a family's render fetches once must be fetchable for its plan to be ready.
pytestmark = pytest.mark.usefixtures("hub_up")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.factory.dit_lora_files import flux_layers, kohya, with_lora
    from tests.factory.tiny_families import _save, qwen_image_vae_wan_names, tiny_qwen_image_vae, tiny_t5

    root = tmp_path_factory.mktemp("part-fit")
    found = {
        "transformer": write_safetensors(
            root / "flux1-dev.safetensors", keyspace("flux-flux", components=("diffuser",), dtype="BF16")
        ),
        "full": write_safetensors(root / "flux1-dev-full.safetensors", keyspace("flux-flux", dtype="BF16")),
        "sdxl": write_safetensors(root / "sdxl_base.safetensors", keyspace("sdxl-sgm", dtype="F16")),
    }
    found |= write_flux_parts(root)
    t5 = part_specs("t5xxl")
    # UMT5 (Wan's encoder): T5's layout with a position bias in every layer.
    bias = t5["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
    umt5 = {**t5, "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight": bias}
    found["umt5"] = write_safetensors(root / "umt5_xxl_fp16.safetensors", umt5)
    vae = tiny_qwen_image_vae(0)
    found["qwen_vae"] = _save(root / "qwen_image_vae.safetensors", qwen_image_vae_wan_names(vae.state_dict()))
    t5_tiny = {k: v.clone() for k, v in tiny_t5(0, d_model=32).state_dict().items() if k != "shared.weight"}
    found["t5_32"] = _save(root / "t5_tiny.safetensors", t5_tiny)  # stored as ComfyUI does: untied
    found["flux_lora"] = _save(root / "flux_tiny_lora.safetensors", kohya(with_lora(flux_layers())))
    folder = root / "Qwen-Image"
    (folder / "transformer").mkdir(parents=True)
    index = {
        "_class_name": "QwenImagePipeline",
        "transformer": ["diffusers", "QwenImageTransformer2DModel"],
        "vae": ["diffusers", "AutoencoderKLQwenImage"],
        "text_encoder": ["transformers", "Qwen2_5_VLForConditionalGeneration"],
        "tokenizer": ["transformers", "Qwen2Tokenizer"],
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
    }
    (folder / "model_index.json").write_text(json.dumps(index), encoding="utf-8")
    config = {"_class_name": "QwenImageTransformer2DModel", "num_layers": 1}
    (folder / "transformer" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    found["qwen_folder"] = folder
    return found


# A full-size Flux.1 may not fit this machine's memory: that line is the memory check's, not a refusal.
READY = ("Ready to render.", "Would not render on this machine.")


def _plan(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["--data-dir", str(tmp_path / "data"), "render", "--plan", "--sampler", "Euler", *args])
    return code, capsys.readouterr().out.splitlines()


def _flux(files: dict[str, Path], *, t5: str = "t5xxl", vae: str = "vae") -> list[str]:
    return [
        "--checkpoint", str(files["transformer"]),
        "--text-encoder", str(files["clip_l"]), "--text-encoder", str(files[t5]), "--vae", str(files[vae]),
    ]  # fmt: skip


def test_a_vae_of_another_latent_space_is_refused_naming_both(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _plan(tmp_path, capsys, *_flux(files))
    assert lines[-1] in READY  # Flux.1's own AE fits

    code, lines = _plan(tmp_path, capsys, *_flux(files, vae="qwen_vae"))
    assert lines[-1] == (
        "Would not render: VAE 'qwen_image_vae' is a Wan 2.1 VAE / Qwen-Image VAE (16 latent channels); "
        "a FLUX.1 checkpoint decodes with a FLUX.1 AE (16 latent channels): choose a FLUX.1 AE"
    )
    assert code != 0

    # Flux.1's 16-channel AE on SDXL (4 latent channels): refused, never blamed on the checkpoint.
    code, lines = _plan(tmp_path, capsys, "--checkpoint", str(files["sdxl"]), "--vae", str(files["vae"]))
    assert lines[-1] == (
        "Would not render: VAE 'ae' is an SD3 VAE / FLUX.1 AE (16 latent channels); an SDXL checkpoint "
        "decodes with an SDXL VAE (4 latent channels): choose an SDXL VAE"
    )
    assert code != 0


def test_a_flux_lora_on_sdxl_and_an_other_lora_are_refused_as_the_renderer_refuses_them(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The library calls this tiny Flux.1 LoRA "other" (32 wide); the renderer reads Flux.1 from its
    # block names and refuses it on SDXL: the plan calls the same rule and names the checkpoint's family.
    code, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files["sdxl"]), "--lora", f"{files['flux_lora']}:1"
    )
    assert lines[-1] == (
        "Would not render: LoRA 'flux_tiny_lora' does not fit this checkpoint: it was made for Flux.1, "
        "and this checkpoint is SDXL"  # the checkpoint's own family, not the renderer's "SD1/SD2/SDXL"
    )
    assert code != 0

    code, lines = _plan(tmp_path, capsys, *_flux(files), "--lora", f"{files['flux_lora']}:1")
    assert lines[-1] in READY  # on Flux.1 it fits


def test_text_encoders_of_another_family_or_width_are_refused(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _plan(tmp_path, capsys, *_flux(files, t5="umt5"))
    assert lines[-1] == (
        "Would not render: Flux.1 takes no UMT5-XXL text encoder; given umt5_xxl_fp16.safetensors"
    )
    assert code != 0

    code, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files["full"]), "--text-encoder", str(files["t5_32"])
    )
    assert lines[-1] == (
        "Would not render: t5_tiny.safetensors is a 32-wide T5 text encoder; this Flux.1 model reads "
        "4096-wide text: choose the T5 it was trained with (t5xxl)"
    )
    assert code != 0


def test_a_diffusers_folder_without_its_components_is_refused_naming_them(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _plan(tmp_path, capsys, "--checkpoint", str(files["qwen_folder"]))
    assert lines[-1] == (
        "Would not render: Qwen-Image is a diffusers folder without vae/, text_encoder/, tokenizer/, "
        "scheduler/ (its model_index.json lists them): download the missing folders into "
        f"{files['qwen_folder']}"
    )
    assert code != 0

    # Given as separate files, a VAE is no longer needed from the folder.
    code, lines = _plan(
        tmp_path, capsys, "--checkpoint", str(files["qwen_folder"]), "--vae", str(files["qwen_vae"])
    )
    assert "without text_encoder/, tokenizer/, scheduler/ (" in lines[-1]
