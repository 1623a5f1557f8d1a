"""Which torch device and precision the renderer uses, decided once and described for the GUI.

CUDA renders in bf16 where the card supports it (no fp16 overflow to NaN in SD VAEs/attention) and in
fp16 otherwise; Apple's MPS stays in fp32 because fp16 on MPS still yields black images for some
models and operators; the CPU is always fp32 (half precision is slower there, or unsupported).

torch is imported inside functions only, so the library and catalog can import this module without the
renderer stack.
"""

from __future__ import annotations

from dataclasses import dataclass

_DTYPE_LABELS = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}


@dataclass(frozen=True, slots=True)
class DeviceChoice:
    """A torch device string, the dtype name to load weights in, and why they were picked.

    ``name`` and ``memory_gb`` describe the accelerator for people (empty/None on the CPU).
    """

    device: str
    dtype_name: str
    reason: str
    name: str = ""
    memory_gb: float | None = None

    def describe(self) -> str:
        """``'CPU, fp32'`` or ``'CUDA: NVIDIA H100, fp16, 80 GB'``, for the status bar."""
        precision = _DTYPE_LABELS.get(self.dtype_name, self.dtype_name)
        kind = self.device.split(":", 1)[0].upper()
        if kind == "CPU":
            return f"CPU, {precision}"
        parts = [f"{kind}: {self.name}" if self.name else kind, precision]
        if self.memory_gb is not None:
            parts.append(f"{self.memory_gb:.0f} GB")
        return ", ".join(parts)


def _cuda_choice(device: str, reason: str) -> DeviceChoice:
    import torch

    index = torch.device(device).index or 0
    props = torch.cuda.get_device_properties(index)
    bf16 = bool(torch.cuda.is_bf16_supported())
    return DeviceChoice(
        device=device,
        dtype_name="bfloat16" if bf16 else "float16",
        reason=reason + ("; bf16 supported" if bf16 else "; no bf16 support, using fp16"),
        name=str(props.name),
        memory_gb=props.total_memory / 1e9,
    )


def _cpu_choice(reason: str) -> DeviceChoice:
    return DeviceChoice(device="cpu", dtype_name="float32", reason=reason)


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def choose_device(prefer: str | None = None) -> DeviceChoice:
    """The device to render on: ``prefer`` when given and usable, else CUDA, then MPS, then the CPU.

    ``prefer`` is a torch device string (``'cpu'``, ``'cuda'``, ``'cuda:1'``, ``'mps'``) from the settings;
    an unusable preference falls back to automatic choice, and the reason says so instead of failing, so
    a settings file copied between machines never blocks rendering.
    """
    import torch

    note = ""
    if prefer:
        wanted = prefer.strip().lower()
        kind = wanted.split(":", 1)[0]
        if kind == "cpu":
            return _cpu_choice("CPU requested in the settings")
        if kind == "cuda" and torch.cuda.is_available():
            try:
                index = torch.device(wanted).index or 0
            except RuntimeError:
                index = -1
            if 0 <= index < torch.cuda.device_count():
                return _cuda_choice(f"cuda:{index}", f"{prefer} requested in the settings")
        if kind == "mps" and _mps_available():
            return DeviceChoice("mps", "float32", "MPS requested in the settings; fp32 avoids black images")
        note = f"{prefer!r} requested but not available; "
    if torch.cuda.is_available():
        return _cuda_choice("cuda:0", note + "CUDA available")
    if _mps_available():
        return DeviceChoice("mps", "float32", note + "Apple MPS available; fp32 avoids black images")
    return _cpu_choice(note + "no CUDA or MPS device found")


def describe(choice: DeviceChoice | None = None) -> str:
    """A one-line description of ``choice`` (of the automatic choice when None)."""
    return (choice or choose_device()).describe()


def free_memory_bytes(choice: DeviceChoice) -> int | None:
    """Free memory on the accelerator now (CUDA's own count); None on the CPU, MPS or when unknown."""
    if not choice.device.startswith("cuda"):
        return None
    import torch

    try:
        free, _total = torch.cuda.mem_get_info(torch.device(choice.device))
    except (RuntimeError, AssertionError):
        return None
    return int(free)
