"""``bench/bench_render_gpu.py``: its ``--tiny`` mode runs the GPU benchmark's whole path on the CPU (files
written, cataloged and named through the app layer, rendered by Atelier and by a bare diffusers pipeline
of the same files, clocked, compared), so the script a lent GPU runs at real size is known to work; and
without a GPU it says so in one line and does nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import bench_render_gpu
from tests.factory.safetensors_writer import DTYPE_SIZES


@pytest.mark.slow
def test_tiny_flux_renders_both_ways_from_split_files_and_reports_ratios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flux.1's path is the one with the most parts: a diffusion-model-only file, clip_l, t5xxl and ae
    files chosen by library name, the T5 tokenizer from the loopback Hub, a bare pipeline assembled from
    the same files. (SDXL's tiny run takes a diffusers folder, not the real run's single file; the
    bench's own ``--tiny`` run covers it.)"""
    # The bench clears HF_HUB_OFFLINE for its loopback Hub, but huggingface_hub reads it once, at import:
    # an earlier test in this process that imported it offline would leave it set (as the family render
    # tests' family_hub_env also undoes).
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    code = bench_render_gpu.main(
        [
            "--tiny",
            "--device",
            "cpu",
            "--family",
            "flux1",
            "--repeat",
            "1",
            "--json",
            "--work-dir",
            str(tmp_path),
        ]
    )
    assert code == 0
    rows = {row["family"]: row for row in json.loads(capsys.readouterr().out)["results"]}
    assert set(rows) == {"flux1"}
    for row in rows.values():
        assert (row["size"], row["steps"], row["tiny"], row["alternated"]) == (64, 2, True, True)
        assert row["device"] == "CPU, fp32"
        for side in (row["atelier"], row["bare"]):
            assert side["its_median"] > 0  # the denoiser ran and was clocked on both sides
            assert side["weights_bytes"] > 0
            assert side["peak_vram_bytes"] is None  # no GPU, no VRAM figure
        assert row["its_ratio"] == pytest.approx(row["atelier"]["its_median"] / row["bare"]["its_median"])
        assert row["its_target"] == 1.0
        # Both sides loaded the same weights: the bare pipeline really is the same model.
        assert row["atelier"]["weights_bytes"] == row["bare"]["weights_bytes"]
    assert rows["flux1"]["placement"]["mode"] == "cpu"
    # Atelier's renders went through the app: one PNG per render in the library's renders folder.
    assert len(list((tmp_path / "flux1" / "data").rglob("*.png"))) == 2
    # The human report carries the ratio lines the README quotes.
    lines = bench_render_gpu.report_lines(rows["flux1"])
    assert any(line.startswith("flux1 (tiny): it/s Atelier ") and "(target >= 1.0)" in line for line in lines)


def test_without_a_gpu_it_says_so_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_render_gpu.main(["--device", "cpu"]) == 0  # real size on the CPU: refused, not attempted
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("bench_render_gpu: no CUDA device here")
    assert "--device cpu --tiny" in out[0]


def test_real_size_layouts_are_the_released_files_sizes() -> None:
    """The zero-filled files the GPU run writes have the released files' tensors (header arithmetic only:
    nothing real-size is written here): SDXL 6.94 GB in fp16, Flux.1 dev's transformer 23.8 GB in bf16."""

    assert bench_render_gpu.specs_bytes(bench_render_gpu.sdxl_specs()) == pytest.approx(6.94e9, rel=0.005)
    flux = bench_render_gpu.flux_specs()
    assert bench_render_gpu.specs_bytes(flux["flux1-dev.safetensors"]) == pytest.approx(23.8e9, rel=0.005)
    assert bench_render_gpu.specs_bytes(flux["t5xxl_fp16.safetensors"]) == pytest.approx(9.52e9, rel=0.005)
    sdxl = bench_render_gpu.sdxl_specs()
    # No LDM scheduler buffers or v-prediction marker: the file stays an SDXL base checkpoint.
    assert not any(name in sdxl for name in ("v_pred", "alphas_cumprod", "ztsnr"))
    assert sdxl["conditioner.embedders.0.transformer.text_model.embeddings.position_ids"][0] == "I64"
    assert all(dtype in DTYPE_SIZES for dtype, _ in sdxl.values())
