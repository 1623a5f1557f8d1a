"""The shared vocabulary of Atelier.

Every layer (identification, catalog, CLI JSON, GUI) speaks these enums; their values are the ids that
appear in JSON output and in the database, so they must never be renamed once released.
"""

from __future__ import annotations

from enum import StrEnum


class AssetKind(StrEnum):
    """What a model file is for."""

    CHECKPOINT = "checkpoint"
    LORA = "lora"
    EMBEDDING = "embedding"
    HYPERNETWORK = "hypernetwork"
    VAE = "vae"
    CONTROLNET = "controlnet"
    IP_ADAPTER = "ip_adapter"
    UPSCALER = "upscaler"
    CLIP_VISION = "clip_vision"
    TEXT_ENCODER = "text_encoder"
    UNKNOWN = "unknown"


class Architecture(StrEnum):
    """The network family a file was made for, decided from its tensors (never from its name)."""

    SD1 = "sd1"
    SD2 = "sd2"
    SDXL = "sdxl"
    SDXL_REFINER = "sdxl_refiner"
    SD3 = "sd3"
    FLUX1 = "flux1"
    FLUX2 = "flux2"
    OTHER = "other"
    UNKNOWN = "unknown"


class NetworkType(StrEnum):
    """The LoRA family member (kohya LoRA, the LyCORIS algorithms, DoRA...)."""

    LORA = "lora"
    LOCON = "locon"
    LOHA = "loha"
    LOKR = "lokr"
    DORA = "dora"
    IA3 = "ia3"
    FULL = "full"
    GLORA = "glora"
    OFT = "oft"


class Variant(StrEnum):
    """Checkpoint variant, read from the UNet's input channels."""

    NORMAL = "normal"
    INPAINT = "inpaint"
    PIX2PIX = "pix2pix"
    DEPTH = "depth"


class Prediction(StrEnum):
    """What the denoiser predicts; only set where the file makes it decidable."""

    EPS = "eps"
    V = "v"


class FileFormat(StrEnum):
    """The container a model is stored in."""

    SAFETENSORS = "safetensors"
    CKPT = "ckpt"
    PT = "pt"
    BIN = "bin"
    DIFFUSERS = "diffusers"
    GGUF = "gguf"


class Precision(StrEnum):
    """The dominant floating point type of a file's weights."""

    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    FP8 = "fp8"


class FileStatus(StrEnum):
    """Health of a cataloged file. Anything but OK carries a human-readable reason."""

    OK = "ok"
    CORRUPT = "corrupt"
    UNSAFE = "unsafe"
    MISSING = "missing"


class LibraryLayout(StrEnum):
    """How a library root is organised; decides where each kind of file lives in it."""

    A1111 = "a1111"
    FORGE = "forge"
    COMFYUI = "comfyui"
    INVOKEAI = "invokeai"
    STABILITY_MATRIX = "stability_matrix"
    FLAT = "flat"
