"""Textual-inversion embeddings: read every common file layout and make their tokens known to a pipeline.

An embedding is a handful of learned vectors that stand in for a word of the prompt. Users add and remove
them between renders, so :class:`EmbeddingManager` changes only the tokenizer and the token-embedding
matrix of the loaded pipeline, never the checkpoint, and can put both back exactly.

Why not diffusers' ``load_textual_inversion``: it registers the file name itself as a tokenizer token.
When that name is already a CLIP token (an embedding file called ``cat``) diffusers refuses it, and the
tokenizer would hand back the *existing* id, so writing the vector there would change every prompt that
uses that sub-word. A1111 lets the embedding win: it matches embedding names in the prompt before the
words reach the text encoder. We do the same: each embedding vector gets a private placeholder token
(``<atelier-ti-7>``) with a fresh id, and the pipeline's own prompt-conversion hook
(``maybe_convert_prompt``, which diffusers calls for the positive and the negative prompt of every text
encoder) replaces whole-token occurrences of the names with their placeholders. The name is matched with
the rule of :func:`core.render.prompt_syntax.find_embedding_tokens` (case-sensitive; word characters and
dashes continue a token), so what the recipe lists as used is what the render uses.

torch/safetensors are imported inside functions only: importing this module must not import torch.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.render.tensor_files import (
    UnreadableTensorFileError,
    UnsafePickleError,
    load_pickle,
    read_safetensors,
)

CLIP_L = "clip_l"  # the first (SD1/SD2: the only) text encoder
CLIP_G = "clip_g"  # SDXL's second text encoder (OpenCLIP bigG)

PICKLE_SUFFIXES = frozenset({".pt", ".bin", ".pth", ".ckpt"})
SAFETENSORS_SUFFIX = ".safetensors"
EMBEDDING_SUFFIXES = frozenset({*PICKLE_SUFFIXES, SAFETENSORS_SUFFIX})

PLACEHOLDER_PREFIX = "<atelier-ti-"
# A prompt chunk holds 77 tokens, two of them BOS/EOS; diffusers truncates (it does not chunk) beyond.
PROMPT_TOKENS = 75

_FAMILY_BY_WIDTH = {768: "SD1", 1024: "SD2"}


class EmbeddingError(ValueError):
    """An embedding cannot be used; the message says which file and why, for the user."""


class EmbeddingFormatError(EmbeddingError):
    """The file is not a textual-inversion embedding we can read (unknown layout, corrupt, refused)."""


class EmbeddingMismatchError(EmbeddingError):
    """The embedding was trained for other text encoders than the loaded checkpoint's."""


@dataclass(frozen=True, slots=True, eq=False)
class EmbeddingFile:
    """The vectors of one embedding file, per text encoder (``clip_l``; SDXL files also ``clip_g``).

    ``name`` is the file name without extension: the word that triggers it in a prompt, as in A1111 (the
    name stored inside the file is ignored, since users rename files to avoid clashes). Each tensor is
    float32 on the CPU with shape ``[vectors, width]``; ``layout`` names the format it was read from.
    """

    name: str
    path: Path
    vectors: Mapping[str, Any]
    layout: str

    @property
    def vector_count(self) -> int:
        return int(next(iter(self.vectors.values())).shape[0])

    @property
    def widths(self) -> dict[str, int]:
        return {key: int(tensor.shape[1]) for key, tensor in self.vectors.items()}

    @property
    def family(self) -> str:
        """What the widths say it was trained for: ``SD1`` (768), ``SD2`` (1024), ``SDXL`` (two sets)."""
        return _describe_widths(self.widths)

    def same_vectors(self, other: EmbeddingFile) -> bool:
        """True when ``other`` holds exactly the same vectors (so a loaded token can stay as it is)."""
        import torch

        if self is other:
            return True
        if self.vectors.keys() != other.vectors.keys():
            return False
        return all(
            self.vectors[key].shape == other.vectors[key].shape
            and bool(torch.equal(self.vectors[key], other.vectors[key]))
            for key in self.vectors
        )


def _describe_widths(widths: Mapping[str, int]) -> str:
    if set(widths) == {CLIP_L, CLIP_G}:
        return "SDXL" if (widths[CLIP_L], widths[CLIP_G]) == (768, 1280) else "two text encoders"
    (width,) = widths.values()
    return _FAMILY_BY_WIDTH.get(width, "a single text encoder")


def _width_text(widths: Mapping[str, int]) -> str:
    if len(widths) == 1:
        return f"{next(iter(widths.values()))}-wide"
    return " + ".join(f"{key} {width}" for key, width in widths.items()) + " wide"


# --------------------------------------------------------------------------------------------- reading


def load_embedding(path: Path) -> EmbeddingFile:
    """Read a textual-inversion embedding in any of the layouts people share.

    Layouts: A1111 ``.pt``/``.bin`` (``string_to_param`` {"*": [n, d]}, also the old ``ParameterDict``
    form), ``.safetensors`` with ``emb_params`` [n, d], diffusers ``learned_embeds`` ({token: [d] or
    [n, d]}), SDXL ``clip_l`` [n, 768] + ``clip_g`` [n, 1280]. Pickles are read with
    ``torch.load(weights_only=True)``: a file that would run code is refused, never executed.
    Raises :class:`EmbeddingFormatError` for anything else, naming the file and the reason.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EMBEDDING_SUFFIXES:
        known = ", ".join(sorted(EMBEDDING_SUFFIXES))
        raise EmbeddingFormatError(
            f"{path.name}: {suffix or 'no extension'} is not an embedding file type we read ({known}); "
            "embeddings hidden inside PNG/WebP images are not supported"
        )
    if not path.is_file():
        raise EmbeddingFormatError(f"{path.name}: no such file ({path})")
    data = _read_safetensors(path) if suffix == SAFETENSORS_SUFFIX else _read_pickle(path)
    layout, vectors = _vectors_from(path, data)
    return EmbeddingFile(name=path.stem, path=path, vectors=vectors, layout=layout)


def _read_safetensors(path: Path) -> dict[str, Any]:
    try:
        return read_safetensors(path)[0]
    except UnreadableTensorFileError as error:
        raise EmbeddingFormatError(f"{path.name}: not a readable safetensors file ({error})") from error


def _read_pickle(path: Path) -> Any:
    import torch

    try:
        # Old A1111 files keep the vectors in a ParameterDict; allowing that one class lets weights_only
        # read them (its state is plain tensors) while everything else that is not data stays refused.
        return load_pickle(path, allowed=[torch.nn.ParameterDict])
    except UnsafePickleError as error:
        raise EmbeddingFormatError(
            f"{path.name}: refused: the file asks to run or build {error.global_name}, which is not "
            "plain tensor data; pickled code is never executed (convert the file to .safetensors with "
            "a tool you trust)"
        ) from error
    except (UnreadableTensorFileError, OSError) as error:
        raise EmbeddingFormatError(f"{path.name}: not a readable torch file ({error})") from error


def _first_parameter(path: Path, container: Any) -> Any:
    """The tensor of A1111's ``string_to_param`` (a dict, a ParameterDict, or a legacy ``_parameters``)."""
    params = getattr(container, "_parameters", container)
    if not isinstance(params, Mapping) or not params:
        raise EmbeddingFormatError(f"{path.name}: 'string_to_param' holds no vectors")
    if len(params) > 1:
        raise EmbeddingFormatError(
            f"{path.name}: 'string_to_param' holds {len(params)} terms; one term per file is supported"
        )
    return next(iter(params.values()))


def _vectors_from(path: Path, data: Any) -> tuple[str, dict[str, Any]]:
    """Recognise the layout of the loaded mapping; return (layout name, vectors per text encoder)."""
    if not isinstance(data, Mapping):
        raise EmbeddingFormatError(
            f"{path.name}: holds a {type(data).__name__}, not the dictionary an embedding file is"
        )
    if "string_to_param" in data:
        return "a1111", {
            CLIP_L: _matrix(path, "string_to_param", _first_parameter(path, data["string_to_param"]))
        }
    if "string_to_param.*" in data:  # an A1111 embedding flattened into a safetensors file
        return "a1111", {CLIP_L: _matrix(path, "string_to_param.*", data["string_to_param.*"])}
    if CLIP_L in data or CLIP_G in data:
        if CLIP_L not in data or CLIP_G not in data:
            present = CLIP_L if CLIP_L in data else CLIP_G
            raise EmbeddingFormatError(
                f"{path.name}: has {present!r} but not its partner; an SDXL embedding needs both "
                f"{CLIP_L!r} and {CLIP_G!r}"
            )
        vectors = {key: _matrix(path, key, data[key]) for key in (CLIP_L, CLIP_G)}
        counts = {key: int(tensor.shape[0]) for key, tensor in vectors.items()}
        if counts[CLIP_L] != counts[CLIP_G]:
            raise EmbeddingFormatError(
                f"{path.name}: {CLIP_L!r} has {counts[CLIP_L]} vectors but {CLIP_G!r} has {counts[CLIP_G]}; "
                "they must pair up"
            )
        return "sdxl", vectors
    if "emb_params" in data:
        return "emb_params", {CLIP_L: _matrix(path, "emb_params", data["emb_params"])}
    tensors = {key: value for key, value in data.items() if _is_tensor(value)}
    if len(data) == 1 and len(tensors) == 1:  # diffusers learned_embeds: {token: [d] or [n, d]}
        ((key, value),) = tensors.items()
        return "diffusers", {CLIP_L: _matrix(path, str(key), value)}
    keys = ", ".join(repr(str(key)) for key in list(data)[:8])
    raise EmbeddingFormatError(
        f"{path.name}: not a textual-inversion layout we know (keys: {keys or 'none'}); expected "
        "'string_to_param', 'emb_params', 'clip_l' + 'clip_g', or a single {token: tensor}"
    )


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _matrix(path: Path, key: str, value: Any) -> Any:
    """``value`` as a float32 CPU [vectors, width] tensor, or a clear error for anything else."""
    import torch

    if not isinstance(value, torch.Tensor):
        raise EmbeddingFormatError(f"{path.name}: {key!r} is a {type(value).__name__}, not a tensor")
    if not value.is_floating_point():
        raise EmbeddingFormatError(f"{path.name}: {key!r} holds {value.dtype} values, not floating point")
    if value.dim() == 1:
        value = value.unsqueeze(0)
    if value.dim() != 2 or value.shape[0] == 0 or value.shape[1] == 0:
        raise EmbeddingFormatError(
            f"{path.name}: {key!r} has shape {list(value.shape)}; expected [vectors, width]"
        )
    matrix = value.detach().to(device="cpu", dtype=torch.float32).contiguous()
    if not bool(torch.isfinite(matrix).all()):
        raise EmbeddingFormatError(f"{path.name}: {key!r} contains NaN or infinite values")
    return matrix


# ------------------------------------------------------------------------------------------- applying


@dataclass(slots=True)
class _Encoder:
    """One text encoder of the pipeline, with its pristine parts and our working copies."""

    key: str
    tokenizer_attr: str
    encoder_attr: str
    original_tokenizer: Any
    original_embedding: Any
    width: int
    work_tokenizer: Any = None
    work_embedding: Any = None
    eos_patches: list[tuple[Any, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Active:
    file: EmbeddingFile
    slots: tuple[int, ...]


@dataclass(slots=True)
class _PromptHook:
    """Installed as the pipeline's ``maybe_convert_prompt``; diffusers' own conversion runs afterwards."""

    expand: Callable[[str], str]
    original: Callable[[Any, Any], Any]

    def __call__(self, prompt: Any, tokenizer: Any) -> Any:
        if isinstance(prompt, str):
            converted: Any = self.expand(prompt)
        else:
            converted = [self.expand(text) for text in prompt]
        return self.original(converted, tokenizer)


def _placeholder(slot: int) -> str:
    return f"{PLACEHOLDER_PREFIX}{slot}>"


class EmbeddingManager:
    """Makes a set of embeddings usable by name in the prompts of one loaded pipeline.

    Create one per loaded pipeline (SD1/SD2 ``StableDiffusionPipeline`` or ``StableDiffusionXLPipeline``).
    :meth:`apply` changes the active set in place (no reload); :meth:`clear` returns the tokenizers,
    the token-embedding modules and the pipeline's prompt conversion to the very objects it started with.
    Slots of removed embeddings are reused by later ones, so the vocabulary grows only to the largest
    set used at once; ids of a removed embedding are never produced again (its name reads as plain text).
    """

    def __init__(self, pipe: Any) -> None:
        if not callable(getattr(type(pipe), "maybe_convert_prompt", None)):
            raise EmbeddingError(
                f"{type(pipe).__name__} has no textual-inversion prompt hook; embeddings cannot be used"
            )
        self._pipe = pipe
        self._encoders: list[_Encoder] = []
        for key, tokenizer_attr, encoder_attr in (
            (CLIP_L, "tokenizer", "text_encoder"),
            (CLIP_G, "tokenizer_2", "text_encoder_2"),
        ):
            tokenizer = getattr(pipe, tokenizer_attr, None)
            encoder = getattr(pipe, encoder_attr, None)
            if tokenizer is None or encoder is None:
                continue
            embedding = encoder.get_input_embeddings()
            self._encoders.append(
                _Encoder(
                    key, tokenizer_attr, encoder_attr, tokenizer, embedding, int(embedding.weight.shape[1])
                )
            )
        if not self._encoders:
            raise EmbeddingError(f"{type(pipe).__name__} has no text encoder with a tokenizer")
        self._slot_count = 0
        self._free: list[int] = []
        self._active: dict[str, _Active] = {}
        self._expansions: dict[str, str] = {}
        self._folded: dict[str, str] = {}  # the expansions by casefolded name (see _refresh_pattern)
        self._pattern: re.Pattern[str] | None = None
        self._hook: _PromptHook | None = None

    # --- state ---------------------------------------------------------------------------------------

    @property
    def pipeline(self) -> Any:
        """The pipeline whose prompts this manager serves."""
        return self._pipe

    @property
    def active(self) -> tuple[str, ...]:
        """The names usable in prompts right now, in the order they were applied."""
        return tuple(self._active)

    @property
    def widths(self) -> dict[str, int]:
        """The pipeline's text-encoder widths by key (``clip_l``; SDXL also ``clip_g``)."""
        return {encoder.key: encoder.width for encoder in self._encoders}

    # --- public operations ---------------------------------------------------------------------------

    def check(self, name: str, embedding: EmbeddingFile) -> None:
        """Raise :class:`EmbeddingMismatchError` unless ``embedding`` fits this pipeline's text encoders."""
        mine, theirs = self.widths, embedding.widths
        if mine == theirs:
            return
        family = _describe_widths(theirs)
        raise EmbeddingMismatchError(
            f"embedding {name!r} is for {family} ({_width_text(theirs)}); this checkpoint's text "
            f"encoder{'s are' if len(mine) > 1 else ' is'} {_width_text(mine)}"
        )

    def apply(self, embeddings: Sequence[tuple[str, EmbeddingFile]]) -> list[str]:
        """Make exactly these ``(name, embedding)`` pairs usable in prompts; return warnings for the user.

        Names already active with the same vectors are left as they are; names no longer wanted stop
        being recognised. Every embedding is checked before anything changes, so a mismatch
        (:class:`EmbeddingMismatchError`) leaves the previous set intact. An empty list is :meth:`clear`.
        """
        warnings: list[str] = []
        wanted: dict[str, EmbeddingFile] = {}
        for name, embedding in embeddings:
            if not name.strip():
                raise EmbeddingFormatError(f"{embedding.path.name}: an embedding needs a non-empty name")
            previous = wanted.get(name)
            if previous is not None and not previous.same_vectors(embedding):
                warnings.append(
                    f"two embeddings are named {name!r} ({previous.path.name}, {embedding.path.name}); "
                    f"{embedding.path.name} is used"
                )
            wanted[name] = embedding
        for name, embedding in wanted.items():
            self.check(name, embedding)
        if not wanted:
            self.clear()
            return warnings

        for name in list(self._active):
            if name not in wanted or not self._active[name].file.same_vectors(wanted[name]):
                self._release(name)
        added = [name for name in wanted if name not in self._active]
        self._grow(sum(wanted[name].vector_count for name in added) - len(self._free))
        for name in added:
            self._add(name, wanted[name])
            warnings += self._notes(name, wanted[name])
        self._refresh_pattern()
        return warnings

    def clear(self) -> None:
        """Forget every embedding: the original tokenizers, embedding modules and prompt hook return."""
        for encoder in self._encoders:
            setattr(self._pipe, encoder.tokenizer_attr, encoder.original_tokenizer)
            getattr(self._pipe, encoder.encoder_attr).set_input_embeddings(encoder.original_embedding)
            for module, eos_token_id in encoder.eos_patches:
                module.eos_token_id = eos_token_id
            encoder.work_tokenizer = None
            encoder.work_embedding = None
            encoder.eos_patches = []
        if self._hook is not None and self._pipe.__dict__.get("maybe_convert_prompt") is self._hook:
            del self._pipe.__dict__["maybe_convert_prompt"]
        self._hook = None
        self._slot_count = 0
        self._free = []
        self._active = {}
        self._expansions = {}
        self._folded = {}
        self._pattern = None

    def expand_prompt(self, text: str) -> str:
        """``text`` with each active embedding name (as a whole token) replaced by its vector tokens.

        The pipeline calls this itself through its prompt hook; a caller that tokenizes prompts on its
        own (long-prompt chunking, prompt weighting) calls it before tokenizing.
        """
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: self._folded[match.group(0).casefold()], text)

    # --- internals -----------------------------------------------------------------------------------

    def _grow(self, extra: int) -> None:
        """Add ``extra`` new slots: placeholder tokens in each working tokenizer, rows in each matrix."""
        import torch
        from transformers import AddedToken

        if extra <= 0:
            return
        new_slots = range(self._slot_count, self._slot_count + extra)
        tokens = [AddedToken(_placeholder(slot), single_word=False, normalized=False) for slot in new_slots]
        for encoder in self._encoders:
            if encoder.work_tokenizer is None:
                encoder.work_tokenizer = copy.deepcopy(encoder.original_tokenizer)
                setattr(self._pipe, encoder.tokenizer_attr, encoder.work_tokenizer)
                self._pool_at_eos(encoder)
            before = len(encoder.work_tokenizer)
            encoder.work_tokenizer.add_tokens(tokens)
            if len(encoder.work_tokenizer) != before + extra:
                raise RuntimeError(f"the {encoder.key} tokenizer did not take the placeholder tokens")
            base = (
                encoder.work_embedding if encoder.work_embedding is not None else encoder.original_embedding
            )
            weight = base.weight
            # Built from a ready tensor: the constructor would first fill 38M random numbers (0.5 s).
            with torch.no_grad():
                rows = torch.empty(
                    (weight.shape[0] + extra, weight.shape[1]), device=weight.device, dtype=weight.dtype
                )
                rows[: weight.shape[0]].copy_(weight)
                rows[weight.shape[0] :].zero_()
            grown = torch.nn.Embedding(
                rows.shape[0], rows.shape[1], padding_idx=base.padding_idx, _weight=rows, _freeze=True
            )
            grown.weight.requires_grad_(weight.requires_grad)
            encoder.work_embedding = grown
            getattr(self._pipe, encoder.encoder_attr).set_input_embeddings(grown)
        self._free.extend(new_slots)
        self._slot_count += extra

    def _pool_at_eos(self, encoder: _Encoder) -> None:
        """Make the text encoder pool at the first EOS token rather than at the largest token id.

        Real SD/SDXL text-encoder configs carry the legacy ``eos_token_id`` 2, for which transformers'
        CLIP pools the hidden state at ``argmax(input_ids)``: right for the original vocabulary (EOS has
        the largest id) but wrong once placeholder ids above it are in the prompt. SDXL uses that pooled
        vector for conditioning, so we point the model at the real EOS id while embeddings are active;
        without placeholders both rules pick the same position (argmax returns the first maximum).
        """
        eos = encoder.original_tokenizer.eos_token_id
        if not isinstance(eos, int):
            return
        for module in getattr(self._pipe, encoder.encoder_attr).modules():
            current = module.__dict__.get("eos_token_id")
            if isinstance(current, int) and current != eos:
                encoder.eos_patches.append((module, current))
                module.eos_token_id = eos

    def _row(self, encoder: _Encoder, slot: int) -> int:
        return int(encoder.original_embedding.weight.shape[0]) + slot

    def _add(self, name: str, embedding: EmbeddingFile) -> None:
        import torch

        self._free.sort()
        slots = tuple(self._free[: embedding.vector_count])
        del self._free[: embedding.vector_count]
        with torch.no_grad():
            for encoder in self._encoders:
                weight = encoder.work_embedding.weight
                vectors = embedding.vectors[encoder.key].to(device=weight.device, dtype=weight.dtype)
                for index, slot in enumerate(slots):
                    weight[self._row(encoder, slot)].copy_(vectors[index])
        self._active[name] = _Active(embedding, slots)
        self._expansions[name] = " ".join(_placeholder(slot) for slot in slots)

    def _release(self, name: str) -> None:
        import torch

        active = self._active.pop(name)
        self._expansions.pop(name, None)
        with torch.no_grad():
            for encoder in self._encoders:
                for slot in active.slots:
                    encoder.work_embedding.weight[self._row(encoder, slot)].zero_()
        self._free.extend(active.slots)

    def _notes(self, name: str, embedding: EmbeddingFile) -> list[str]:
        notes: list[str] = []
        if embedding.vector_count > PROMPT_TOKENS:
            notes.append(
                f"embedding {name!r} has {embedding.vector_count} vectors, more than the {PROMPT_TOKENS} "
                "tokens a prompt holds; prompts using it are cut short"
            )
        if len(self._encoders[0].original_tokenizer.tokenize(name)) == 1:
            notes.append(
                f"embedding {name!r} has the name of a word CLIP knows; as in A1111, the embedding replaces "
                f"that word wherever {name!r} stands alone in a prompt"
            )
        return notes

    def _refresh_pattern(self) -> None:
        """One regex for all active names, with the whole-token rule of ``find_embedding_tokens``, in any
        case: A1111 finds an embedding by its CLIP token ids, and CLIP lowercases the prompt, so
        ``EasyNegative`` in a prompt is the file ``easynegative.pt`` there (two names that differ only in
        case are one embedding to A1111 too: the first in name order is kept)."""
        names = sorted(self._expansions, key=lambda name: (-len(name), name))
        self._folded = {}
        for name in names:
            self._folded.setdefault(name.casefold(), self._expansions[name])
        alternatives = "|".join(re.escape(name) for name in names)
        self._pattern = re.compile(r"(?<![\w\-])(?:" + alternatives + r")(?![\w\-])", re.IGNORECASE)
        if self._hook is None:
            original = type(self._pipe).maybe_convert_prompt.__get__(self._pipe)
            self._hook = _PromptHook(self.expand_prompt, original)
            # An instance attribute shadows the class's method; clear() deletes it again.
            self._pipe.__dict__["maybe_convert_prompt"] = self._hook
