"""The shared vocabulary of Atelier.

Every layer (identification, catalog, CLI JSON, GUI) speaks these enums; their values are the ids that
appear in JSON output and in the database, so they must never be renamed once released.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


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
    CHROMA = "chroma"
    QWEN_IMAGE = "qwen_image"
    Z_IMAGE = "z_image"
    STABLE_CASCADE = "stable_cascade"
    FLUX3 = "flux3"
    KREA2 = "krea2"
    QWEN_IMAGE_2 = "qwen_image_2"
    LUMINA2 = "lumina2"
    SANA = "sana"
    PIXART = "pixart"
    AURAFLOW = "auraflow"
    HIDREAM = "hidream"
    COSMOS = "cosmos"
    ANIMA = "anima"
    ERNIE_IMAGE = "ernie_image"
    WAN = "wan"
    HUNYUAN_VIDEO = "hunyuan_video"
    LTX_VIDEO = "ltx_video"
    LTX2 = "ltx2"
    MOCHI = "mochi"
    MINIMAX_H3 = "minimax_h3"
    KOLORS = "kolors"
    HUNYUAN_DIT = "hunyuan_dit"
    SVD = "svd"
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
    """The dominant floating point type of a file's weights, or the 4-bit bitsandbytes format its linear
    layers are packed in (``nf4``/``fp4``: Forge's ``flux1-dev-bnb-nf4``), which no float type names."""

    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    FP8 = "fp8"
    NF4 = "nf4"
    FP4 = "fp4"


class FileStatus(StrEnum):
    """Health of a cataloged file. Anything but OK carries a human-readable reason."""

    OK = "ok"
    CORRUPT = "corrupt"
    UNSAFE = "unsafe"
    MISSING = "missing"
    # There, but never opened: no permission, a named pipe/socket/device with a model's name, a link loop
    # or a link to nothing. Opening a FIFO for reading would hang; calling it "corrupt" would be untrue.
    UNREADABLE = "unreadable"


class LibraryLayout(StrEnum):
    """How a library root is organised; decides where each kind of file lives in it."""

    A1111 = "a1111"
    FORGE = "forge"
    COMFYUI = "comfyui"
    INVOKEAI = "invokeai"
    STABILITY_MATRIX = "stability_matrix"
    FLAT = "flat"


# -- words for people -------------------------------------------------------------------------------------
# The values above are ids for JSON and the database; messages say these instead ("an SDXL checkpoint",
# not "a sdxl checkpoint"; never "a other model").

ARCHITECTURE_NAMES: dict[Architecture, str] = {
    Architecture.SD1: "SD 1.x",
    Architecture.SD2: "SD 2.x",
    Architecture.SDXL: "SDXL",
    Architecture.SDXL_REFINER: "SDXL Refiner",
    Architecture.SD3: "SD 3",
    Architecture.FLUX1: "FLUX.1",
    Architecture.FLUX2: "FLUX.2",
    Architecture.CHROMA: "Chroma",
    Architecture.QWEN_IMAGE: "Qwen-Image",
    Architecture.Z_IMAGE: "Z-Image",
    Architecture.STABLE_CASCADE: "Stable Cascade",
    Architecture.FLUX3: "FLUX.3",
    Architecture.KREA2: "Krea 2",
    Architecture.QWEN_IMAGE_2: "Qwen-Image 2",
    Architecture.LUMINA2: "Lumina Image 2.0",
    Architecture.SANA: "Sana",
    Architecture.PIXART: "PixArt",
    Architecture.AURAFLOW: "AuraFlow",
    Architecture.HIDREAM: "HiDream-I1",
    Architecture.COSMOS: "Cosmos",
    Architecture.ANIMA: "Anima",
    Architecture.ERNIE_IMAGE: "ERNIE-Image",
    Architecture.WAN: "Wan",
    Architecture.HUNYUAN_VIDEO: "Hunyuan Video",
    Architecture.LTX_VIDEO: "LTX-Video",
    Architecture.LTX2: "LTX-2",
    Architecture.MOCHI: "Mochi 1",
    Architecture.MINIMAX_H3: "MiniMax-H3",
    Architecture.KOLORS: "Kolors",
    Architecture.HUNYUAN_DIT: "Hunyuan-DiT",
    Architecture.SVD: "Stable Video Diffusion",
    Architecture.OTHER: "Other",
    Architecture.UNKNOWN: "Unknown",
}

KIND_NOUNS: dict[AssetKind, str] = {
    AssetKind.CHECKPOINT: "checkpoint",
    AssetKind.LORA: "LoRA",
    AssetKind.EMBEDDING: "embedding",
    AssetKind.HYPERNETWORK: "hypernetwork",
    AssetKind.VAE: "VAE",
    AssetKind.CONTROLNET: "ControlNet",
    AssetKind.IP_ADAPTER: "IP-Adapter",
    AssetKind.UPSCALER: "upscaler",
    AssetKind.CLIP_VISION: "CLIP Vision encoder",
    AssetKind.TEXT_ENCODER: "text encoder",
    AssetKind.UNKNOWN: "model",
}


def describe_model(kind: AssetKind, architecture: Architecture | None) -> str:
    """The phrase a sentence needs: "an SDXL checkpoint", "an SD 1.x LoRA", "a FLUX.1 VAE",
    "a checkpoint of unknown architecture", "a model of unknown architecture"."""
    noun = KIND_NOUNS[kind]
    if architecture is None or architecture in (Architecture.OTHER, Architecture.UNKNOWN):
        return f"{article(noun)} {noun} of unknown architecture"
    name = ARCHITECTURE_NAMES[architecture]
    return f"{article(name)} {name} {noun}"


def describe_kind(kind: AssetKind) -> str:
    """ "a VAE", "an embedding", "a model": the kind alone, with its article."""
    noun = KIND_NOUNS[kind]
    return f"{article(noun)} {noun}"


def article(word: str) -> str:
    """ "a" or "an" before ``word`` as it is read aloud: "an SD 3.5", "a FLUX.1", "an embedding"."""
    # Acronyms read letter by letter take "an" when their first letter sounds like a vowel (an SD, an
    # IP-Adapter); words take it when they start with a vowel (an embedding, an upscaler).
    if word[:2].isupper() and not word.startswith(("FLUX", "VAE")):
        return "an" if word[0] in "AEFHILMNORSX" else "a"
    return "an" if word[0].lower() in "aeiou" else "a"


# How people write each kind (Civitai's singular type names): folder names, labels in the window.
KIND_WORDS: Mapping[AssetKind, str] = MappingProxyType(
    {
        AssetKind.CHECKPOINT: "Checkpoint",
        AssetKind.LORA: "LoRA",
        AssetKind.EMBEDDING: "Embedding",
        AssetKind.HYPERNETWORK: "Hypernetwork",
        AssetKind.VAE: "VAE",
        AssetKind.CONTROLNET: "ControlNet",
        AssetKind.IP_ADAPTER: "IP-Adapter",
        AssetKind.UPSCALER: "Upscaler",
        AssetKind.CLIP_VISION: "CLIP Vision",
        AssetKind.TEXT_ENCODER: "Text encoder",
        AssetKind.UNKNOWN: "Unknown",
    }
)
