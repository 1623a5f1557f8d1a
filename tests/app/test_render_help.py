"""``render --help`` and ``grid --help`` name what the commands take: Qwen-Image's text encoder among
the separate encoder files, and every grid axis (Distilled CFG, shift, VAE and text-encoder swaps)."""

from __future__ import annotations

import pytest

from app.cli import main


def _help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines: compare words


def test_render_help_names_every_family_s_encoders(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help("render", capsys)
    assert "(clip_l, clip_g, t5xxl, qwen_3_4b, qwen_2.5_vl_7b)" in text
    assert "Z-Image or Qwen-Image model stored without its own" in text


def test_grid_help_lists_every_axis(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help("grid", capsys)
    for axis in ("lora:NAME=", "guidance=", "shift=", "vae=", "text-encoder:", "clip-skip=", "sampler="):
        assert axis in text.replace("- ", "-")  # argparse may break "clip-skip" at its hyphen
