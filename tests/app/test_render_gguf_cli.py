"""``main.py render`` takes a GGUF transformer (ComfyUI-GGUF's ``flux1-dev-Q8_0.gguf``) in the model slot,
as a user has it: scanned into the library beside its clip_l, t5xxl and VAE files, identified as Flux.1,
rendered by its library name with a LoRA, the image's infotext naming the GGUF model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.in_process import run_in_process
from tests.app.main_process import run_main


@pytest.mark.slow
def test_scan_then_render_a_q8_0_gguf_flux_with_a_lora(tmp_path: Path) -> None:
    import torch
    from PIL import Image
    from safetensors.torch import save_file

    from tests.factory.gguf_files import write_gguf
    from tests.factory.tiny_families import add_tokenizer_repo, flux_parts, write_flux_split
    from tests.fakes.hub_api import HubHandler, HubState
    from tests.fakes.server import serve

    models = tmp_path / "models"
    parts = flux_parts(0)
    write_flux_split(models, parts).checkpoint.unlink()  # the GGUF file is the diffusion model
    write_gguf(models / "flux1-tiny-Q8_0.gguf", parts.transformer.state_dict(), arch="flux", quantize=True)
    generator = torch.Generator().manual_seed(1)
    save_file(
        {
            "transformer.transformer_blocks.0.attn.to_q.lora_A.weight": torch.randn(
                4, 64, generator=generator
            ),
            "transformer.transformer_blocks.0.attn.to_q.lora_B.weight": torch.randn(
                64, 4, generator=generator
            ),
        },
        str(models / "tiny-flux-lora.safetensors"),
    )
    data = tmp_path / "data"
    offline = {"ATELIER_CIVITAI_URL": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "1"}
    run_in_process("scan", str(models), data_dir=data, env=offline, check=True)
    listed = run_in_process("search", "", data_dir=data, env=offline, check=True).stdout
    assert any("flux1" in line and "flux1-tiny-Q8_0.gguf" in line for line in listed.splitlines())
    state = HubState()
    add_tokenizer_repo(state)
    with serve(HubHandler, state) as hub:
        hub_env = {"HF_ENDPOINT": hub.base_url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": None}
        result = run_main(
            "render", "--checkpoint", "flux1-tiny-Q8_0", "--text-encoder", "clip_l_tiny",
            "--text-encoder", "t5xxl_tiny", "--vae", "ae_tiny", "--lora", "tiny-flux-lora:0.8",
            "--steps", "2", "--size", "64x64", "--seed", "5", "--prompt", "a red cat", "--json",
            data_dir=data, env=hub_env,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    stored = json.loads(result.stdout)
    assert stored["warnings"] == []
    image = Image.open(Path(stored["path"]))
    assert image.size == (64, 64)
    infotext = str(image.info["parameters"])
    assert "Model: flux1-tiny-Q8_0," in infotext
    assert "<lora:tiny-flux-lora:0.8>" in infotext
