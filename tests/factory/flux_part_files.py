"""Flux.1's separate parts as ComfyUI users keep them (``clip_l``, ``t5xxl_fp16``, ``ae``), written from the
real key list (``keyspace("flux-flux")``) with each part's checkpoint prefix taken off: zero-filled, real
names and shapes, for the render plan's tests of split files."""

from __future__ import annotations

from pathlib import Path

from tests.factory.keyspaces import keyspace
from tests.factory.safetensors_writer import TensorSpec, write_safetensors

# Each part: its component in the key list, the prefix a full checkpoint stores it under, its file name.
PARTS = (
    ("clip_l", "text_encoders.clip_l.transformer.", "clip_l.safetensors"),
    ("t5xxl", "text_encoders.t5xxl.transformer.", "t5xxl_fp16.safetensors"),
    ("vae", "vae.", "ae.safetensors"),
)


def part_specs(component: str) -> dict[str, TensorSpec]:
    """One part's tensors (F16) under the names its own file uses."""
    prefix = next(prefix for name, prefix, _ in PARTS if name == component)
    specs = keyspace("flux-flux", components=(component,), dtype="F16")
    return {key.removeprefix(prefix): spec for key, spec in specs.items()}


def write_flux_parts(root: Path) -> dict[str, Path]:
    """The three part files in ``root``, by component."""
    return {component: write_safetensors(root / name, part_specs(component)) for component, _, name in PARTS}
