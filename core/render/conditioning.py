"""A prompt turned into SD1/SD2/SDXL text conditioning the way A1111 does it ("Emphasis: Original").

diffusers' pipelines encode a prompt as one 77-token window: longer prompts are cut, ``(word:1.3)``
reaches CLIP as the characters ``(word:1.3)``, and nothing switches prompts during sampling. A1111
(``modules/sd_hijack_clip.py``) instead:

- parses attention (:func:`core.render.prompt_attention.parse_prompt_attention`) and tokenizes each
  fragment without BOS/EOS, every token carrying its fragment's weight;
- cuts the tokens into chunks of 75, moving the text after the last comma to the next chunk when that
  comma is within 20 tokens of the end (``comma_padding_backtrack``), and starting a chunk at ``BREAK``;
- encodes each chunk as BOS + 75 tokens + EOS (padding after the first EOS with the tokenizer's pad
  token, SD2/SDXL-G's 0) with the model's text encoder(s) at the recipe's clip skip;
- multiplies each token's vector by its weight and rescales the chunk to its old mean (Original; "No
  norm" skips the rescale, "Ignore" drops the weights, "None" parses no attention), then concatenates
  the chunks;
- for SDXL, does this with both encoders and takes the pooled vector from the first chunk of the second.

:class:`PromptEncoder` does that; :class:`ScheduledConditioning` adds ``[from:to:when]`` editing and
``[a|b]`` alternation (A1111's schedules, switched per step through ``callback_on_step_end``) and pads the
positive and negative to the same number of chunks with empty chunks (what A1111 does with its "Pad
conds" option; diffusers needs equal lengths to batch them). A prompt without syntax that fits one chunk
encodes to exactly the tensors diffusers' own ``encode_prompt`` gives (the same image as before).

torch is imported inside functions only: importing this module must not import torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.render.infotext import parse_parameters
from core.render.prompt_attention import (
    BREAK,
    BREAK_WEIGHT,
    has_and,
    has_attention_syntax,
    parse_prompt_attention,
    prompt_schedule,
    text_at,
)
from core.render.recipe import Recipe
from core.render.variation import HONOURED_KEYS, SEED_RESIZE, noise_settings
from core.taxonomy import Architecture

CHUNK_LENGTH = 75  # tokens of a chunk between its BOS and EOS
COMMA_PADDING_BACKTRACK = 20  # A1111's default opts.comma_padding_backtrack
EMPHASIS_KEY = "Emphasis"  # A1111 1.8+ infotext key; absent means Original
# A1111's modules/emphasis.py: Original and No norm weight the token vectors (No norm without restoring
# the chunk's mean); Ignore parses the prompt (BREAK and escapes kept) but drops its weights; None parses
# nothing, so "(word:1.3)" reaches CLIP as characters.
EMPHASIS_MODES = ("Original", "No norm", "Ignore", "None")
PAD_CONDS_KEY = "Pad conds"  # A1111 writes "Pad conds: True" when its pad_cond_uncond option padded them


@dataclass(slots=True)
class PromptChunk:
    """77 token ids (BOS, 75, EOS) and the weight of each."""

    tokens: list[int]
    multipliers: list[float]


@dataclass(frozen=True, slots=True)
class _Encoder:
    tokenizer: Any
    text_encoder: Any
    sdxl: bool
    comma: int | None  # the ",</w>" token, read once (get_vocab copies the whole vocabulary)

    @property
    def bos(self) -> int:
        return int(self.tokenizer.bos_token_id)

    @property
    def eos(self) -> int:
        return int(self.tokenizer.eos_token_id)

    @property
    def pad(self) -> int:
        pad = self.tokenizer.pad_token_id
        return int(pad) if pad is not None else self.eos


def diffusers_clip_skip(clip_skip: int) -> int | None:
    """A1111 counts clip skip from 1 (= last layer); diffusers counts skipped layers (None = none)."""
    return None if clip_skip <= 1 else clip_skip - 1


def written_by_forge(recipe: Recipe) -> bool:
    """Whether the recipe's infotext was written by Forge (its Version is "f2.0.1v1.10.1-…"; A1111's is
    "v1.10.1"): the two read clip skip differently on SD2 and SDXL."""
    version = parse_parameters(recipe.source_infotext)[2].get("Version", "") if recipe.source_infotext else ""
    return len(version) > 1 and version[0] == "f" and version[1].isdigit()


@dataclass(frozen=True, slots=True)
class ClipSkip:
    """The layer the text encoders read, in diffusers' count (None: the pipeline's own), and a line for
    the plan when the recipe's clip skip is not applied as written."""

    layers: int | None
    note: str | None = None


def text_encoder_clip_skip(recipe: Recipe, architecture: Architecture | None) -> ClipSkip:
    """The recipe's clip skip as the tool that wrote it applied it (A1111 unless its Version says Forge).

    A1111 applies clip skip to SD1's CLIP only (``sd_hijack_clip.FrozenCLIPEmbedderWithCustomWords``):
    its OpenCLIP encoders (SD2, SDXL's bigG) always read their penultimate layer, and SDXL's CLIP-L reads
    its penultimate layer too unless the ``sdxl_clip_l_skip`` option is on (off by default, and no
    infotext says it). Forge's ``ClassicTextProcessingEngine`` applies it to every encoder: on SDXL as
    layer ``-max(clip skip, 2)`` without the final norm (so 1 and 2 are both the penultimate layer), on
    SD2 as on SD1. Pony and Illustrious images nearly all say "Clip skip: 2", which on SDXL changes nothing
    in either tool; read as SD1's rule it would read a layer deeper than both.
    """
    skip = recipe.clip_skip
    if architecture not in (Architecture.SD2, Architecture.SDXL):
        return ClipSkip(diffusers_clip_skip(skip))
    forge = written_by_forge(recipe)
    if architecture is Architecture.SDXL:
        if forge:
            return ClipSkip(None if skip <= 2 else skip - 2)
        why = "both text encoders read their penultimate layer, as at Clip skip 1"
    else:
        if forge:
            return ClipSkip(diffusers_clip_skip(skip))
        why = "its OpenCLIP text encoder always reads its penultimate layer"
    if skip <= 1:
        return ClipSkip(None)
    label = "SDXL" if architecture is Architecture.SDXL else "SD 2.x"
    return ClipSkip(None, f"Clip skip: {skip} is not applied on {label}: A1111 ignores it there ({why})")


def emphasis_mode(extra: Mapping[str, str]) -> str:
    """The recipe's A1111 emphasis mode (Original when the infotext has none, as before A1111 1.8)."""
    value = extra.get(EMPHASIS_KEY, "Original").strip()
    return value if value in EMPHASIS_MODES else "Original"


def pads_conds(extra: Mapping[str, str]) -> bool:
    """Whether A1111 padded the shorter of prompt and negative with empty chunks (as Atelier always does)."""
    return extra.get(PAD_CONDS_KEY, "").strip() == "True"


def emphasis_warning(extra: Mapping[str, str]) -> str | None:
    """A line naming an emphasis mode Atelier does not know (it renders with Original then)."""
    value = extra.get(EMPHASIS_KEY)
    if value is None or value.strip() in EMPHASIS_MODES:
        return None
    return f"Emphasis: {value} is not applied (rendered with Original)"


class PromptEncoder:
    """Encodes prompt texts with a pipeline's tokenizer(s) and text encoder(s), A1111's way.

    ``clip_skip`` is in diffusers' count (:func:`text_encoder_clip_skip`), the one rule the engine uses
    for every pass; unlike diffusers it applies to the negative prompt too, as in A1111.
    """

    def __init__(self, pipe: Any, *, sdxl: bool, clip_skip: int | None, emphasis: str = "Original") -> None:
        self.pipe = pipe
        self.sdxl = sdxl
        self.clip_skip = clip_skip
        self.emphasis = emphasis
        pairs = [(pipe.tokenizer, pipe.text_encoder)]
        if sdxl:
            pairs = [pair for pair in pairs if pair[0] is not None]
            pairs.append((pipe.tokenizer_2, pipe.text_encoder_2))
        self.encoders = [
            _Encoder(tokenizer, encoder, sdxl, tokenizer.get_vocab().get(",</w>"))
            for tokenizer, encoder in pairs
        ]
        self._cache: dict[str, tuple[list[Any], Any]] = {}

    # --- tokens -------------------------------------------------------------------------------------

    def chunks(self, text: str, encoder: _Encoder | None = None) -> list[PromptChunk]:
        """A1111's ``tokenize_line``: the prompt as chunks of 77 tokens with their weights."""
        encoder = encoder or self.encoders[0]
        tokenizer = encoder.tokenizer
        parsed = parse_prompt_attention(text) if self.emphasis != "None" else [(text, 1.0)]
        comma = encoder.comma
        chunks: list[PromptChunk] = []
        chunk = PromptChunk([], [])
        last_comma = -1

        def next_chunk() -> None:
            nonlocal chunk, last_comma
            missing = CHUNK_LENGTH - len(chunk.tokens)
            tokens = chunk.tokens + [encoder.eos] * missing
            multipliers = chunk.multipliers + [1.0] * missing
            chunks.append(PromptChunk([encoder.bos, *tokens, encoder.eos], [1.0, *multipliers, 1.0]))
            last_comma = -1
            chunk = PromptChunk([], [])

        for fragment, weight in parsed:
            if fragment == BREAK and weight == BREAK_WEIGHT:
                next_chunk()
                continue
            for token in self._token_ids(fragment, tokenizer):
                if token == comma:
                    last_comma = len(chunk.tokens)
                elif (
                    len(chunk.tokens) == CHUNK_LENGTH
                    and last_comma != -1
                    and len(chunk.tokens) - last_comma <= COMMA_PADDING_BACKTRACK
                ):
                    cut = last_comma + 1
                    moved = PromptChunk(chunk.tokens[cut:], chunk.multipliers[cut:])
                    chunk = PromptChunk(chunk.tokens[:cut], chunk.multipliers[:cut])
                    next_chunk()
                    chunk = moved
                if len(chunk.tokens) == CHUNK_LENGTH:
                    next_chunk()
                chunk.tokens.append(token)
                chunk.multipliers.append(weight)
        if chunk.tokens or not chunks:
            next_chunk()
        return chunks

    def _token_ids(self, fragment: str, tokenizer: Any) -> list[int]:
        """The fragment's token ids without BOS/EOS, embedding names replaced by their placeholder tokens
        (the pipeline's ``maybe_convert_prompt``, which :mod:`core.render.embeddings` hooks)."""
        convert = getattr(self.pipe, "maybe_convert_prompt", None)
        text = convert(fragment, tokenizer) if callable(convert) else fragment
        ids: list[int] = tokenizer(text, truncation=False, add_special_tokens=False)["input_ids"]
        return ids

    # --- encoding -----------------------------------------------------------------------------------

    def encode(self, text: str) -> tuple[Any, Any]:
        """``(embeds, pooled)`` for ``text``: embeds (1, 77 x chunks, width), pooled (1, width) for SDXL
        (None otherwise). Texts already encoded in this render are not encoded again."""
        import torch

        if text not in self._cache:
            per_encoder = [
                self._encode_chunks(self.chunks(text, encoder), encoder) for encoder in self.encoders
            ]
            chunk_count = max(len(chunks) for chunks, _ in per_encoder)
            for (chunks, _), encoder in zip(per_encoder, self.encoders, strict=True):
                # SDXL's two tokenizers may cut a text differently (an embedding of other lengths per
                # encoder): the shorter is padded with its empty chunk rather than the longer cut.
                if len(chunks) < chunk_count:
                    empty = self._encode_chunks(self.chunks("", encoder), encoder)[0][0]
                    chunks.extend([empty] * (chunk_count - len(chunks)))
            joined = [torch.cat([chunks[k] for chunks, _ in per_encoder], dim=-1) for k in range(chunk_count)]
            self._cache[text] = (joined, per_encoder[-1][1])
        chunks, pooled = self._cache[text]
        return torch.cat(chunks, dim=1), pooled

    def chunk_count(self, text: str) -> int:
        self.encode(text)
        return len(self._cache[text][0])

    def padded(self, text: str, chunk_count: int) -> tuple[Any, Any]:
        """``encode(text)`` with empty chunks appended up to ``chunk_count`` (A1111's pad_cond_uncond)."""
        import torch

        embeds, pooled = self.encode(text)
        missing = chunk_count - self.chunk_count(text)
        if missing > 0:
            empty, _ = self.encode("")
            embeds = torch.cat([embeds, *([empty] * missing)], dim=1)
        return embeds, pooled

    def _encode_chunks(self, chunks: list[PromptChunk], encoder: _Encoder) -> tuple[list[Any], Any]:
        import torch

        device = self.pipe._execution_device
        outputs: list[Any] = []
        pooled: Any = None
        for chunk in chunks:
            tokens = list(chunk.tokens)
            first_eos = tokens.index(encoder.eos)
            if encoder.pad != encoder.eos:  # SD2 / SDXL-G: pad after the first EOS (A1111 process_tokens)
                tokens[first_eos + 1 :] = [encoder.pad] * (len(tokens) - first_eos - 1)
            ids = torch.tensor([tokens], dtype=torch.long, device=device)
            with torch.no_grad():
                hidden, chunk_pooled = self._run(encoder, ids, first_eos)
                hidden = self._emphasis(hidden, chunk.multipliers)
            if pooled is None:
                pooled = chunk_pooled  # A1111's sdxl path: the first chunk's pooled output
            outputs.append(hidden.to(dtype=encoder.text_encoder.dtype))
        return outputs, pooled

    def _run(self, encoder: _Encoder, ids: Any, first_eos: int) -> tuple[Any, Any]:
        """One chunk through one text encoder, reading the layer diffusers' ``encode_prompt`` reads."""
        import torch

        model = encoder.text_encoder
        if encoder.sdxl:
            output = model(ids, output_hidden_states=True)
            pooled = output[0] if output[0].ndim == 2 else None
            skip = self.clip_skip
            return output.hidden_states[-2 if skip is None else -(skip + 2)], pooled
        mask = None
        if getattr(model.config, "use_attention_mask", False):
            mask = torch.zeros_like(ids)
            mask[:, : first_eos + 1] = 1
        if self.clip_skip is None:
            return model(ids, attention_mask=mask)[0], None
        output = model(ids, attention_mask=mask, output_hidden_states=True)
        norm = getattr(model, "final_layer_norm", None) or model.text_model.final_layer_norm
        return norm(output[-1][-(self.clip_skip + 1)]), None

    def _emphasis(self, hidden: Any, multipliers: list[float]) -> Any:
        """A1111's EmphasisOriginal (or "No norm"): weight each token's vector, keep the chunk's mean
        ("Ignore" and "None": unweighted)."""
        import torch

        if self.emphasis in ("None", "Ignore") or all(weight == 1.0 for weight in multipliers):
            return hidden
        weights = torch.tensor(multipliers, dtype=hidden.dtype, device=hidden.device).reshape(1, -1, 1)
        original_mean = hidden.mean()
        weighted = hidden * weights.expand(hidden.shape)
        new_mean = weighted.mean()
        if self.emphasis == "No norm" or new_mean == 0:  # a zero mean would make A1111's image NaN
            return weighted
        return weighted * (original_mean / new_mean)


@dataclass(frozen=True, slots=True)
class _Step:
    end_at_step: int
    embeds: Any
    pooled: Any


class ScheduledConditioning:
    """The positive and negative conditioning of one pass, with A1111's per-step schedules.

    :meth:`arguments` are the pipeline arguments for the first step; :meth:`on_step_end` (called from
    the pass's ``callback_on_step_end``) swaps the conditioning in place when the next step's text
    differs. Every entry has the same number of chunks, so swapping never changes a tensor's shape.
    """

    def __init__(
        self,
        encoder: PromptEncoder,
        prompt: str,
        negative: str,
        *,
        steps: int,
        hires_steps: int | None = None,
        zero_empty_negative: bool = False,
        pad_conds: bool = False,
    ) -> None:
        self.sdxl = encoder.sdxl
        self.pad_conds = pad_conds
        positive = prompt_schedule(prompt, steps, hires_steps)
        negatives = prompt_schedule(negative, steps, hires_steps)
        texts = [text for _, text in positive + negatives]
        chunk_count = max(encoder.chunk_count(text) for text in texts)
        self.chunk_counts = (
            max(encoder.chunk_count(text) for _, text in positive),
            max(encoder.chunk_count(text) for _, text in negatives),
        )
        self.positive = [_Step(end, *encoder.padded(text, chunk_count)) for end, text in positive]
        self.negative = [_Step(end, *encoder.padded(text, chunk_count)) for end, text in negatives]
        self.texts = (positive, negatives)
        if zero_empty_negative and negative == "":
            # SDXL's force_zeros_for_empty_prompt (A1111: force_zero_embeddings for an empty negative).
            self.negative = [
                _Step(end, step.embeds.new_zeros(self.positive[0].embeds.shape), _zeros(step.pooled))
                for end, step in zip((end for end, _ in negatives), self.negative, strict=True)
            ]
        self._current = (0, 0)

    @property
    def switches(self) -> bool:
        """Whether the conditioning changes during the pass (prompt editing or alternation)."""
        return len(self.positive) > 1 or len(self.negative) > 1

    @property
    def tensor_inputs(self) -> list[str]:
        """What the pass's callback must receive to swap the conditioning."""
        if not self.switches:
            return []
        return ["prompt_embeds", "add_text_embeds"] if self.sdxl else ["prompt_embeds"]

    def arguments(self) -> dict[str, Any]:
        positive, negative = self.positive[0], self.negative[0]
        self._current = (0, 0)
        arguments = {"prompt_embeds": positive.embeds, "negative_prompt_embeds": negative.embeds}
        if self.sdxl:
            arguments["pooled_prompt_embeds"] = positive.pooled
            arguments["negative_pooled_prompt_embeds"] = negative.pooled
        return arguments

    def on_step_end(self, pipeline: Any, step: int, callback_kwargs: dict[str, Any]) -> None:
        """Put the conditioning of step ``step + 1`` into ``callback_kwargs`` when it changes."""
        if not self.switches:
            return
        upcoming = step + 1
        wanted = (
            text_at([(s.end_at_step, "") for s in self.positive], upcoming),
            text_at([(s.end_at_step, "") for s in self.negative], upcoming),
        )
        if wanted == self._current:
            return
        self._current = wanted
        positive, negative = self.positive[wanted[0]], self.negative[wanted[1]]
        cfg = bool(getattr(pipeline, "do_classifier_free_guidance", False))
        callback_kwargs["prompt_embeds"] = _batched(
            callback_kwargs["prompt_embeds"], positive.embeds, negative.embeds, cfg
        )
        if self.sdxl and "add_text_embeds" in callback_kwargs:
            callback_kwargs["add_text_embeds"] = _batched(
                callback_kwargs["add_text_embeds"], positive.pooled, negative.pooled, cfg
            )

    def warnings(self) -> tuple[str, ...]:
        """What of A1111's conditioning this pass renders differently, by name."""
        lines: list[str] = []
        positive, negative = self.chunk_counts
        if positive != negative and not self.pad_conds:
            lines.append(
                f"the prompt has {positive} chunk(s) of 75 tokens and the negative prompt {negative}: the "
                "shorter is padded with empty chunks (A1111's 'Pad conds'; without it A1111 denoises "
                "them separately, which may differ slightly)"
            )
        return tuple(lines)


def _zeros(tensor: Any) -> Any:
    return None if tensor is None else tensor.new_zeros(tensor.shape)


def _batched(current: Any, positive: Any, negative: Any, cfg: bool) -> Any:
    """``positive`` (and ``negative`` before it, with CFG) repeated to ``current``'s batch, as the
    pipeline concatenated them (``torch.cat([negative, positive])``)."""
    import torch

    halves = 2 if cfg else 1
    per_half = current.shape[0] // halves
    repeat = (per_half, *([1] * (positive.dim() - 1)))
    parts = [negative.repeat(*repeat), positive.repeat(*repeat)] if cfg else [positive.repeat(*repeat)]
    return torch.cat(parts).to(dtype=current.dtype, device=current.device)


def prompt_warnings(prompt: str, negative: str) -> tuple[str, ...]:
    """A1111 prompt syntax the SD/SDXL path does not render as A1111 does, by name."""
    return tuple(
        f"{what} uses AND (A1111's composable diffusion), which is not applied: 'AND' is encoded as a word"
        for what, text in (("the prompt", prompt), ("the negative prompt", negative))
        if has_and(text)
    )


# A1111's second-order samplers (SamplerData.total_steps): their schedules count two model calls a step.
_SECOND_ORDER = frozenset({"Heun", "DPM2", "DPM2 a", "DPM++ 2S a", "DPM++ SDE"})


def schedule_steps(sampler: str, steps: int) -> int:
    """The step count A1111 computes prompt schedules against (``total_steps`` of the sampler)."""
    return steps * 2 if sampler in _SECOND_ORDER else steps


def conditioning_warnings(
    recipe: Recipe, family: str | None, architecture: Architecture | None = None
) -> tuple[str, ...]:
    """What of the recipe's prompt syntax, clip skip and noise keys a render will not honour, by name,
    for the plan.

    ``family`` is the transformer family's name (Flux...) or None for SD1/SD2/SDXL, where A1111's
    attention, BREAK, chunking, schedules, variation seed and ENSD are all applied; ``architecture``
    (when known) says whether the recipe's clip skip is (:func:`text_encoder_clip_skip`).
    """
    noise = noise_settings(recipe.extra)
    if family is None:
        unknown = emphasis_warning(recipe.extra)
        clip_skip = text_encoder_clip_skip(recipe, architecture).note
        return (
            *prompt_warnings(recipe.prompt, recipe.negative_prompt),
            *((unknown,) if unknown else ()),
            *((clip_skip,) if clip_skip else ()),
            *noise.warnings,
        )
    lines: list[str] = []
    for what, text in (("the prompt", recipe.prompt), ("the negative prompt", recipe.negative_prompt)):
        schedule = prompt_schedule(text, max(1, recipe.steps))
        if len(schedule) > 1:
            lines.append(
                f"{what}'s prompt editing/alternation is not applied on {family}: its text encoder "
                f"reads {text!r} as written"
            )
        elif has_attention_syntax(text):
            lines.append(
                f"{what}'s A1111 weights/BREAK are not applied on {family}: "
                "its text encoder reads them as written"
            )
    lines += [
        f"{key}: {recipe.extra[key]} is not applied on {family}"
        for key in HONOURED_KEYS
        if key in recipe.extra and noise.changes_noise
    ]
    return (*lines, *(line for line in noise.warnings if line.startswith(SEED_RESIZE)))
