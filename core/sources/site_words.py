"""The sites' vocabulary in the user's words, for the window and the CLI alike.

Civitai's and Hugging Face's API values ("TextualInversion", "AllTime", "downloads") are what requests
send; users read "Embedding", "All time", "Most downloaded". A value without a label is shown as the site
sent it (new types appear). The CLI also accepts the user's words as option values (``--type embedding``)
and turns them back into the API's with :func:`site_value`.
"""

from __future__ import annotations

CIVITAI_TYPE_LABELS: dict[str, str] = {
    "Checkpoint": "Checkpoint",
    "LORA": "LoRA",
    "LoCon": "LoCon",
    "DoRA": "DoRA",
    "LyCORIS": "LyCORIS",
    "TextualInversion": "Embedding",
    "Hypernetwork": "Hypernetwork",
    "AestheticGradient": "Aesthetic gradient",
    "VAE": "VAE",
    "Controlnet": "ControlNet",
    "Upscaler": "Upscaler",
    "MotionModule": "Motion module",
    "Poses": "Poses",
    "Wildcards": "Wildcards",
    "Workflows": "Workflow",
    "Detection": "Detection model",
    "Other": "Other",
}

CIVITAI_BASE_MODEL_LABELS: dict[str, str] = {
    "SD 1.4": "SD 1.4",
    "SD 1.5": "SD 1.5",
    "SD 2.0": "SD 2.0",
    "SD 2.1": "SD 2.1",
    "SDXL 1.0": "SDXL 1.0",
    "SDXL Turbo": "SDXL Turbo",
    "SDXL Lightning": "SDXL Lightning",
    "Pony": "Pony Diffusion",
    "Illustrious": "Illustrious",
    "NoobAI": "NoobAI",
    "SD 3": "SD 3",
    "SD 3.5": "SD 3.5",
    "Flux.1 D": "Flux.1 Dev",
    "Flux.1 S": "Flux.1 Schnell",
    "Other": "Other",
}

CIVITAI_SORT_LABELS: dict[str, str] = {
    "Highest Rated": "Highest rated",
    "Most Downloaded": "Most downloaded",
    "Newest": "Newest",
}

CIVITAI_PERIOD_LABELS: dict[str, str] = {
    "AllTime": "All time",
    "Year": "Past year",
    "Month": "Past month",
    "Week": "Past week",
    "Day": "Past day",
}

CIVITAI_FORMAT_LABELS: dict[str, str] = {
    "SafeTensor": "SafeTensors",
    "PickleTensor": "Pickle",
    "Diffusers": "Diffusers",
    "GGUF": "GGUF",
    "Core ML": "Core ML",
    "ONNX": "ONNX",
    "Other": "Other",
}

HF_SORT_LABELS: dict[str, str] = {
    "downloads": "Most downloaded",
    "likes": "Most liked",
    "trending_score": "Trending",
    "last_modified": "Recently updated",
    "created_at": "Newest",
}


def site_label(labels: dict[str, str], value: str | None) -> str:
    """The user's word for a site's API value; the value itself when it has none (or "" for None)."""
    if not value:
        return ""
    return labels.get(value, value)


def site_value(labels: dict[str, str], text: str) -> str | None:
    """The API value ``text`` means, matched ignoring case against values and labels; None if none."""
    wanted = text.strip().casefold()
    for value, label in labels.items():
        if wanted in (value.casefold(), label.casefold()):
            return value
    return None
