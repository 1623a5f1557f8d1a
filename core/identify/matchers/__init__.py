"""The default matcher registry, in priority order (most specific evidence first).

Why this order: a diffusers folder is decided by its configs; LoRA keys name the layers they patch, so
they would otherwise look like parts of a UNet or transformer; IP-Adapters and ControlNets carry UNet-like
blocks; a checkpoint bundles a VAE and text encoders, so it must be recognised before them; the
single-tensor embedding form is the weakest evidence and comes late; a transformer of no family in the
table is only called ``other`` (with its nearest family) after every kind has declined it.
"""

from __future__ import annotations

from core.identify.diffusers import match_diffusers
from core.identify.matchers.checkpoint import match_checkpoint
from core.identify.matchers.embedding import match_embedding
from core.identify.matchers.hypernetwork import match_hypernetwork
from core.identify.matchers.lora import match_lora
from core.identify.matchers.others import (
    match_clip_vision,
    match_controlnet,
    match_ip_adapter,
    match_text_encoder,
    match_upscaler,
)
from core.identify.matchers.table import match_unlisted_denoiser
from core.identify.matchers.vae import match_vae
from core.identify.registry import MatcherRegistry


def default_registry() -> MatcherRegistry:
    registry = MatcherRegistry()
    registry.register("diffusers", 100, match_diffusers)
    registry.register("lora", 90, match_lora)
    registry.register("ip_adapter", 85, match_ip_adapter)
    registry.register("controlnet", 80, match_controlnet)
    registry.register("checkpoint", 70, match_checkpoint)
    registry.register("vae", 60, match_vae)
    registry.register("hypernetwork", 50, match_hypernetwork)
    registry.register("embedding", 40, match_embedding)
    registry.register("upscaler", 30, match_upscaler)
    registry.register("clip_vision", 20, match_clip_vision)
    registry.register("text_encoder", 10, match_text_encoder)
    registry.register("unlisted_denoiser", 5, match_unlisted_denoiser)
    return registry


DEFAULT_REGISTRY = default_registry()
