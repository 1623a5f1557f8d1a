"""The words a render's progress reports carry, so every front end can say which phase it is in.

A render first loads the checkpoint (seconds to minutes for a 7 GB file on a slow disk), then the
add-ons that changed, then denoises. Each phase reports :class:`core.jobs.Progress` with its own
``total`` and a message that names it; the denoising steps say "Step k of n". The compose tab shows the
message as is; the CLI's bar uses it as its label; a grid tells steps from the rest with :func:`is_step`.
"""

from __future__ import annotations

from core.jobs import Progress

LOADING_CHECKPOINT = "Loading checkpoint…"
_STEP_PREFIX = "Step "

# Pipeline component folder names as users know the parts.
_COMPONENT_NAMES = {
    "unet": "UNet",
    "transformer": "transformer",
    "vae": "VAE",
    "text_encoder": "text encoder",
    "text_encoder_2": "second text encoder",
    "text_encoder_3": "third text encoder",
    "tokenizer": "tokenizer",
    "tokenizer_2": "second tokenizer",
    "tokenizer_3": "third tokenizer",
    "scheduler": "scheduler",
    "safety_checker": "safety checker",
    "feature_extractor": "feature extractor",
    "image_encoder": "image encoder",
}


def loading_checkpoint(detail: str = "") -> str:
    """ "Loading checkpoint…" or "Loading checkpoint… UNet"."""
    return f"{LOADING_CHECKPOINT} {detail}".rstrip()


def component_name(folder: str) -> str:
    """How a pipeline component is called in a message ("text_encoder_2" -> "second text encoder")."""
    return _COMPONENT_NAMES.get(folder, folder.replace("_", " "))


def step_message(done: int, total: int) -> str:
    return f"{_STEP_PREFIX}{done} of {total}"


def is_step(progress: Progress) -> bool:
    """Whether a report counts denoising steps (rather than loading something)."""
    return progress.message.startswith(_STEP_PREFIX)
