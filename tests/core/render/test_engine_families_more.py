"""Chroma and SD3.5 render through the same family loader as Flux.1: a full checkpoint and the split
files (diffusion model, one file per text encoder given in any order, a VAE) give the same image for the
same seed, and another seed another image. Loading Chroma prints none of diffusers' own deprecation
noise (its transformer builds ``FluxPosEmbed`` from a deprecated module)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.render.devices import DeviceChoice
from core.render.engine import RenderEngine
from core.taxonomy import Architecture
from tests.factory.tiny_families import (
    FamilyModel,
    chroma_model,
    flow_pixels,
    sd3_model,
    write_full,
    write_split,
)

CPU = DeviceChoice("cpu", "float32", "tests")


pytestmark = pytest.mark.usefixtures("family_hub_env")


def _pixels(engine: RenderEngine, **changes: object) -> np.ndarray:
    return flow_pixels(engine, 4.0, **changes)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("architecture", "build"), [(Architecture.CHROMA, chroma_model), (Architecture.SD3, sd3_model)]
)
def test_full_and_split_files_render_the_same_image(
    architecture: Architecture, build: Callable[[], FamilyModel], tmp_path: Path
) -> None:
    model = build()
    full = write_full(tmp_path / "full.safetensors", model)
    split = write_split(tmp_path / "split", model)
    engine = RenderEngine(tmp_path / "cache", CPU)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        engine.load(full, architecture, None)
    assert not [w for w in caught if "FluxPosEmbed" in str(w.message)]
    from_full = _pixels(engine)
    assert np.array_equal(from_full, _pixels(engine))
    engine.load(split.checkpoint, architecture, None, text_encoders=split.text_encoders, vae=split.vae)
    assert np.array_equal(from_full, _pixels(engine))
    assert from_full.std() > 5
    assert not np.array_equal(from_full, _pixels(engine, seed=4))
