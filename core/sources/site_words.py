"""The sites' vocabulary in the user's words, for the window and the CLI alike.

Civitai's and Hugging Face's API values ("TextualInversion", "AllTime", "downloads") are what requests
send; users read "Embedding", "All time", "Most downloaded". A value without a label is shown as the site
sent it (new types appear). The CLI also accepts the user's words as option values (``--type embedding``)
and turns them back into the API's with :func:`site_value`.
"""

from __future__ import annotations

from core.identify.vocabulary import CIVITAI_LABELS, architecture_of_base_model, loras_shared
from core.taxonomy import ARCHITECTURE_NAMES, Architecture

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

# Civitai baseModel values -> the window's words: every label a family of the vocabulary table claims.
CIVITAI_BASE_MODEL_LABELS: dict[str, str] = {**CIVITAI_LABELS, "Other": "Other"}

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


def base_model_word(label: str | None) -> str:
    """A base-model label as users read it, the same wherever it is shown (tiles, details, the table, the
    board, the Civitai filter, organize's folder names): Civitai's ``Pony`` and ``Flux.1 D`` read
    "Pony Diffusion" and "Flux.1 Dev"; the stored label stays Civitai's, which is what is sent to it."""
    return site_label(CIVITAI_BASE_MODEL_LABELS, label.strip()) if label else ""


def site_value(labels: dict[str, str], text: str) -> str | None:
    """The API value ``text`` means, matched ignoring case against values and labels; None if none."""
    wanted = text.strip().casefold()
    for value, label in labels.items():
        if wanted in (value.casefold(), label.casefold()):
            return value
    return None


def base_model_conflict(label: str | None, architecture: Architecture) -> str | None:
    """One line when a Civitai base-model ``label`` names another family than the file's own
    (``"Civitai says Flux.1 Dev; the file is SDXL"``, the label in the user's words), else None.

    Why: the label comes from whoever uploaded the file (or its ``.civitai.info``) and is shown beside the
    identification; a wrong one must not pass silently. Only two known, different families conflict: an
    unknown label ("Other", a new one), a file of no named family, or families whose LoRAs go on each
    other's checkpoints (Chroma and Flux.1) say nothing.
    """
    claimed = architecture_of_base_model(label)
    if (
        claimed is None
        or claimed is architecture
        or architecture in (Architecture.OTHER, Architecture.UNKNOWN)
    ):
        return None
    if loras_shared(claimed, architecture) or {claimed, architecture} == {
        Architecture.SDXL,
        Architecture.SDXL_REFINER,
    }:
        return None
    return f"Civitai says {base_model_word(label)}; the file is {ARCHITECTURE_NAMES[architecture]}"
