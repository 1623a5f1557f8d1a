"""Text encoders stored as GGUF, in llama.cpp's names, as users download them next to GGUF transformers.

city96 publishes ``t5-v1_1-xxl-encoder-Q8_0.gguf`` and ``umt5-xxl-encoder-Q8_0.gguf`` (architecture
``t5encoder``: ``token_embd``, ``enc.blk.N.attn_q``..., ``enc.output_norm``; UMT5 has a position bias in
every block, T5 only in the first); the Qwen3 and Qwen2.5-VL GGUFs ComfyUI-GGUF loads as the encoders of
Z-Image and Qwen-Image are llama.cpp's decoder layouts (``blk.N.attn_q``, Qwen3 with ``attn_q_norm``,
Qwen2 with a query bias). Shapes are the released models' (torch order); data is zero and sparse
(``files.write_gguf``), so a 4B-parameter layout costs a few kilobytes on disk.
"""

from __future__ import annotations

from pathlib import Path

from tests.factory.files import write_gguf

GgufTensors = dict[str, tuple[str | int, tuple[int, ...]]]


def _matrix(rows: int, columns: int) -> tuple[str, tuple[int, ...]]:
    return ("Q8_0", (rows, columns))


def _vector(size: int) -> tuple[str, tuple[int, ...]]:
    return ("F32", (size,))


def t5_encoder_tensors(*, vocab: int = 32128, umt5: bool = False, blocks: int = 24) -> GgufTensors:
    """city96's T5-XXL (or UMT5-XXL) encoder: d_model 4096, 64 heads of 64, gated FFN of 10240."""
    width, ffn = 4096, 10240
    tensors: GgufTensors = {"token_embd.weight": _matrix(vocab, width)}
    for i in range(blocks):
        block = f"enc.blk.{i}."
        for part in ("attn_q", "attn_k", "attn_v", "attn_o"):
            tensors[f"{block}{part}.weight"] = _matrix(width, width)
        if i == 0 or umt5:
            tensors[f"{block}attn_rel_b.weight"] = ("F16", (32, 64))
        tensors[f"{block}attn_norm.weight"] = _vector(width)
        tensors[f"{block}ffn_gate.weight"] = _matrix(ffn, width)
        tensors[f"{block}ffn_up.weight"] = _matrix(ffn, width)
        tensors[f"{block}ffn_down.weight"] = _matrix(width, ffn)
        tensors[f"{block}ffn_norm.weight"] = _vector(width)
    tensors["enc.output_norm.weight"] = _vector(width)
    return tensors


def llm_tensors(
    *, width: int, blocks: int, vocab: int, ffn: int, heads: int, kv_heads: int, q_norm: bool, q_bias: bool
) -> GgufTensors:
    """A decoder-only LLM in llama.cpp's names (Qwen3: ``attn_q_norm``; Qwen2: a query bias)."""
    head = 128
    tensors: GgufTensors = {"token_embd.weight": _matrix(vocab, width)}
    for i in range(blocks):
        block = f"blk.{i}."
        tensors[f"{block}attn_q.weight"] = _matrix(heads * head, width)
        tensors[f"{block}attn_k.weight"] = _matrix(kv_heads * head, width)
        tensors[f"{block}attn_v.weight"] = _matrix(kv_heads * head, width)
        tensors[f"{block}attn_output.weight"] = _matrix(width, heads * head)
        if q_norm:
            tensors[f"{block}attn_q_norm.weight"] = _vector(head)
            tensors[f"{block}attn_k_norm.weight"] = _vector(head)
        if q_bias:
            tensors[f"{block}attn_q.bias"] = _vector(heads * head)
        tensors[f"{block}attn_norm.weight"] = _vector(width)
        tensors[f"{block}ffn_gate.weight"] = _matrix(ffn, width)
        tensors[f"{block}ffn_up.weight"] = _matrix(ffn, width)
        tensors[f"{block}ffn_down.weight"] = _matrix(width, ffn)
        tensors[f"{block}ffn_norm.weight"] = _vector(width)
    tensors["output_norm.weight"] = _vector(width)
    return tensors


def write_t5_xxl_gguf(directory: Path, name: str = "t5-v1_1-xxl-encoder-Q8_0.gguf") -> Path:
    meta = {"general.architecture": "t5encoder", "t5encoder.embedding_length": 4096}
    return write_gguf(directory / name, t5_encoder_tensors(), meta)


def write_umt5_xxl_gguf(directory: Path, name: str = "umt5-xxl-encoder-Q8_0.gguf") -> Path:
    meta = {"general.architecture": "t5encoder", "t5encoder.embedding_length": 4096}
    return write_gguf(directory / name, t5_encoder_tensors(vocab=256384, umt5=True), meta)


def write_qwen3_4b_gguf(directory: Path, name: str = "Qwen3-4B-Q8_0.gguf") -> Path:
    tensors = llm_tensors(
        width=2560, blocks=36, vocab=151936, ffn=9728, heads=32, kv_heads=8, q_norm=True, q_bias=False
    )
    return write_gguf(directory / name, tensors, {"general.architecture": "qwen3"})


def write_qwen25_vl_7b_gguf(directory: Path, name: str = "Qwen2.5-VL-7B-Instruct-Q8_0.gguf") -> Path:
    tensors = llm_tensors(
        width=3584, blocks=28, vocab=152064, ffn=18944, heads=28, kv_heads=4, q_norm=False, q_bias=True
    )
    return write_gguf(directory / name, tensors, {"general.architecture": "qwen2vl"})


def write_llama31_8b_gguf(directory: Path, name: str = "Llama-3.1-8B-Instruct-Q8_0.gguf") -> Path:
    tensors = llm_tensors(
        width=4096, blocks=32, vocab=128256, ffn=14336, heads=32, kv_heads=8, q_norm=False, q_bias=False
    )
    return write_gguf(directory / name, tensors, {"general.architecture": "llama"})
