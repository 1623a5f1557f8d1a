"""``main.py render`` on a Flux.1 model the way a user types it, without ``--sampler`` or ``--cfg``: the
family's defaults (Euler + Simple, CFG 1, distilled guidance 3.5), as Forge and the board choose them;
what the user names is kept (an unsupported sampler refused by name). And the plan's memory estimate
counts fp8 weights by the dtype the header says, not by the file's name.

The files are header-true Flux.1 layouts (sparse: only headers are read), so nothing renders here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from tests.factory.flux_part_files import write_flux_parts
from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import write_safetensors

# The tokenizer a family's render fetches once must be fetchable for its plan to be ready.
pytestmark = pytest.mark.usefixtures("hub_up")


@pytest.fixture(scope="module")
def flux_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("flux-defaults")
    diffuser = keyspace("flux-flux", components=("diffuser",), dtype="BF16")
    # fp8 as ComfyUI stores it: the big matrices in F8_E4M3, the norms and biases in BF16.
    fp8 = {
        name: ("F8_E4M3" if len(shape) == 2 else dtype, shape) for name, (dtype, shape) in diffuser.items()
    }
    files = {
        "bf16": write_safetensors(root / "flux1-dev.safetensors", diffuser),
        "fp8": write_safetensors(root / "flux1-dev-e4m3.safetensors", fp8),
        # Named fp8 by its uploader, but it holds bf16: the name must not double its size.
        "bf16_named_fp8": write_safetensors(root / "flux1-dev-fp8.safetensors", diffuser),
        # A full fp8 checkpoint (its own T5 in fp8 too, CLIP and VAE in BF16), as Comfy-Org ships one.
        "full_fp8": write_safetensors(
            root / "flux1-dev-fp8-full.safetensors",
            {
                name: ("F8_E4M3" if len(shape) == 2 and not name.startswith("vae.") else dtype, shape)
                for name, (dtype, shape) in keyspace("flux-flux", dtype="BF16").items()
                if not name.startswith("text_encoders.clip_l.")
            }
            | keyspace("flux-flux", components=("clip_l",), dtype="BF16"),
        ),
    }
    files |= write_flux_parts(root)
    return files


def _plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path], model: str, *extra: str
) -> tuple[int, dict[str, object], str]:
    code = main(
        [
            "--data-dir", str(tmp_path / "data"), "render", "--plan", "--json",
            "--checkpoint", str(files[model]),
            "--text-encoder", str(files["clip_l"]), "--text-encoder", str(files["t5xxl"]),
            "--vae", str(files["vae"]), "--size", "1024x1024", *extra,
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_a_flux_model_without_sampler_or_cfg_gets_the_family_defaults(
    flux_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, _ = _plan(capsys, tmp_path, flux_files, "bf16")

    assert document["problem"] is None, document["problem"]
    assert (document["sampler"], document["schedule_used"], document["cfg"]) == ("Euler", "Simple", 1.0)
    assert code in (0, 1)  # 1 only when this machine cannot hold the model (memory says why)


def test_an_sd_checkpoint_keeps_a1111s_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = write_safetensors(tmp_path / "sd15.safetensors", keyspace("sd1-ldm"))

    main(
        ["--data-dir", str(tmp_path / "data"), "render", "--plan", "--json", "--checkpoint", str(checkpoint)]
    )
    document = json.loads(capsys.readouterr().out)

    assert document["model"]["architecture"] == "sd1"
    assert (document["sampler"], document["cfg"], document["problem"]) == ("Euler a", 7.0, None)


def test_a_chosen_sampler_and_cfg_are_kept_and_an_unsupported_sampler_refused_by_name(
    flux_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, _ = _plan(capsys, tmp_path, flux_files, "bf16", "--sampler", "DPM++ 2M", "--cfg", "3.5")
    assert (document["sampler"], document["cfg"], document["problem"]) == ("DPM++ 2M", 3.5, None)

    code, document, _ = _plan(capsys, tmp_path, flux_files, "bf16", "--sampler", "Euler a")
    assert code == 2
    assert document["sampler"] == "Euler a"
    assert "flow-matching model with sampler 'Euler a'" in str(document["problem"])

    # Rendering (not only planning) refuses it the same way, before anything loads.
    code = main(
        [
            "--data-dir", str(tmp_path / "data"), "render", "--checkpoint", str(flux_files["bf16"]),
            "--text-encoder", str(flux_files["clip_l"]), "--text-encoder", str(flux_files["t5xxl"]),
            "--vae", str(flux_files["vae"]), "--sampler", "Euler a",
        ]
    )  # fmt: skip
    assert code == 2
    assert "with sampler 'Euler a'" in capsys.readouterr().err


def _weights(*components: str) -> int:
    """How many weights the keyspace's ``components`` of Flux hold."""
    return sum(_numel(shape) for _, shape in keyspace("flux-flux", components=components).values())


def test_the_cpu_plans_every_weight_at_fp32_whatever_the_file_holds_or_is_named(
    flux_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CPU renders in fp32: a bf16 or fp8 file takes 4 bytes per weight there (the tester's SD3.5 plan
    said 14.7 GB fits where ~29 GB were needed), judged by the header's tensors, not the name."""
    parts, transformer = _weights("clip_l", "t5xxl", "vae"), _weights("diffuser")

    _, named, _ = _plan(capsys, tmp_path, flux_files, "bf16_named_fp8")
    _, real, _ = _plan(capsys, tmp_path, flux_files, "fp8")

    for document in (named, real):
        memory = document["memory"]
        assert isinstance(memory, dict)
        assert memory["weights_bytes"] == 4 * (transformer + parts)
        assert memory["largest_component_bytes"] == 4 * transformer


def test_on_a_16_bit_device_fp8_weights_count_twice_by_their_dtype_not_the_file_name(
    flux_files: dict[str, Path],
) -> None:
    from app.render_service import _weights_size

    transformer = _weights("diffuser")
    # Each F8_E4M3 weight becomes two bytes once upcast to 16 bits; a bf16 file named fp8 stays its size.
    assert _weights_size(flux_files["fp8"], bytes_per_weight=2) == 2 * transformer
    assert _weights_size(flux_files["bf16_named_fp8"], bytes_per_weight=2) == 2 * transformer
    assert flux_files["fp8"].stat().st_size < 2 * transformer


def test_a_full_checkpoints_own_encoders_and_vae_do_not_count_when_separate_files_replace_them(
    flux_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document, _ = _plan(capsys, tmp_path, flux_files, "full_fp8")

    memory = document["memory"]
    assert isinstance(memory, dict)
    # flux1-dev-fp8 + clip_l + t5xxl_fp16 + ae: its transformer and the separate files, not its own
    # T5/CLIP/VAE as well.
    assert memory["weights_bytes"] == 4 * (_weights("diffuser") + _weights("clip_l", "t5xxl", "vae"))


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def test_distilled_cfg_and_shift_are_options_of_render_and_grid(
    flux_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document, _ = _plan(capsys, tmp_path, flux_files, "bf16", "--distilled-cfg", "2.5", "--shift", "3")
    assert (document["distilled_cfg"], document["shift"], document["problem"]) == (2.5, 3.0, None)

    _, document, _ = _plan(capsys, tmp_path, flux_files, "bf16")
    assert (document["distilled_cfg"], document["shift"]) == (None, None)  # the model's own
    assert document["distilled_cfg_used"] == 3.5  # Flux.1 dev's, which the plan says it will use

    main(["--data-dir", str(tmp_path / "data"), "render", "--plan", "--checkpoint", str(flux_files["bf16"]),
          "--text-encoder", str(flux_files["clip_l"]), "--text-encoder", str(flux_files["t5xxl"]),
          "--vae", str(flux_files["vae"])])  # fmt: skip
    assert "Distilled CFG 3.5 (the model's default)" in capsys.readouterr().out

    # A value out of range is one line, exit 2, before anything loads.
    code = main(
        [
            "--data-dir", str(tmp_path / "data"), "grid", "--checkpoint", str(flux_files["bf16"]),
            "--x", "seed=1,2", "--shift", "0",
        ]
    )  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.strip() == ("atelier grid: Shift must be above 0 and at most 100, not 0.0")
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--distilled-cfg X Forge's Distilled CFG Scale" in help_text
    assert "used by Flux.1 dev (default 3.5)" in help_text
    assert "--shift X Forge's Shift" in help_text


def test_z_image_renders_at_cfg_1_by_default_and_keeps_a_chosen_cfg(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Z-Image Turbo (the released model, Civitai's "ZImageTurbo") is distilled: CFG 1, as the board."""
    checkpoint = write_safetensors(
        tmp_path / "z_image_turbo.safetensors", keyspace("z_image-comfyui", dtype="BF16")
    )
    command = [
        "--data-dir",
        str(tmp_path / "data"),
        "render",
        "--plan",
        "--json",
        "--checkpoint",
        str(checkpoint),
    ]

    main(command)
    document = json.loads(capsys.readouterr().out)
    assert document["model"]["architecture"] == "z_image"
    assert (document["sampler"], document["cfg"]) == ("Euler", 1.0)

    main([*command, "--cfg", "4"])
    assert json.loads(capsys.readouterr().out)["cfg"] == 4.0
