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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.render.embeddings import PLACEHOLDER_PREFIX
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
from core.render.variation import HONOURED_KEYS, SEED_RESIZE, NoiseSettings, noise_settings
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
        self._cache: dict[tuple[str, int], tuple[list[tuple[Any, list[float]]], Any]] = {}

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
            for group in self._token_groups(fragment, tokenizer):
                token = group[0]
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
                if len(chunk.tokens) + len(group) > CHUNK_LENGTH:
                    next_chunk()  # A1111: an embedding's vectors do not straddle a chunk boundary
                chunk.tokens.extend(group)
                chunk.multipliers.extend([weight] * len(group))
        if chunk.tokens or not chunks:
            next_chunk()
        return chunks

    def _token_groups(self, fragment: str, tokenizer: Any) -> list[list[int]]:
        """The fragment's token ids without BOS/EOS, one group per token except an embedding's vectors,
        which form one group (A1111 moves them whole to the next chunk rather than split them).

        Embedding names become their placeholder tokens through the pipeline's ``maybe_convert_prompt``
        (which :mod:`core.render.embeddings` hooks). Where the fragment holds one, it is converted word
        by word (CLIP's tokenizer never joins across whitespace, so the ids are the same): each run of
        placeholder tokens within a word is one embedding.
        """
        convert = getattr(self.pipe, "maybe_convert_prompt", None)
        if not callable(convert) or convert(fragment, tokenizer) == fragment:
            return [[token] for token in self._token_ids(fragment, tokenizer)]
        groups: list[list[int]] = []
        for word in re.split(r"(\s+)", fragment):
            if not word or word.isspace():
                continue
            ids = self._token_ids(convert(word, tokenizer), tokenizer)
            names = tokenizer.convert_ids_to_tokens(ids)
            previous = False
            for token, name in zip(ids, names, strict=True):
                placeholder = str(name).startswith(PLACEHOLDER_PREFIX)
                if placeholder and previous and len(groups[-1]) < CHUNK_LENGTH:
                    groups[-1].append(token)
                else:
                    groups.append([token])
                previous = placeholder
        return groups

    @staticmethod
    def _token_ids(text: str, tokenizer: Any) -> list[int]:
        ids: list[int] = tokenizer(text, truncation=False, add_special_tokens=False)["input_ids"]
        return ids

    # --- encoding -----------------------------------------------------------------------------------

    def encode(self, text: str) -> tuple[Any, Any]:
        """``(embeds, pooled)`` for ``text`` alone: embeds (1, 77 x chunks, width), pooled (1, width) for
        SDXL (None otherwise)."""
        return self.encode_group([text])[0]

    def encode_group(self, texts: Sequence[str]) -> list[tuple[Any, Any]]:
        """``(embeds, pooled)`` of each text, encoded as A1111 encodes the texts of one prompt's schedule:
        as one batch (``get_learned_conditioning`` per prompt).

        The batch's texts get the same number of chunks (the shorter padded with empty chunks, which the
        rescale below reaches too), and Emphasis Original restores the mean of chunk ``k`` over the whole
        batch, so a weighted text's vectors depend on the texts beside it (``[(cat:1.5):dog:10]``). The
        encoder's unweighted output per text is kept for the render: no text is run twice.
        """
        import torch

        per_encoder = [self._encode_group(texts, encoder) for encoder in self.encoders]
        chunk_count = max(len(chunks[0]) for chunks, _ in per_encoder)
        for (per_text, _), encoder in zip(per_encoder, self.encoders, strict=True):
            # SDXL's two tokenizers may cut a text differently (an embedding of other lengths per
            # encoder): the shorter side is padded with its empty chunk rather than the longer cut.
            missing = chunk_count - len(per_text[0])
            if missing > 0:
                empty = self._raw("", encoder)[0][0][0].to(dtype=encoder.text_encoder.dtype)
                for chunks in per_text:
                    chunks.extend([empty] * missing)
        encoded: list[tuple[Any, Any]] = []
        for index in range(len(texts)):
            joined = [
                torch.cat([per[0][index][k] for per in per_encoder], dim=-1) for k in range(chunk_count)
            ]
            encoded.append((torch.cat(joined, dim=1), per_encoder[-1][1][index]))
        return encoded

    def padded(self, encoded: tuple[Any, Any], chunk_count: int, pad: Any = None) -> tuple[Any, Any]:
        """``encoded`` with chunks appended up to ``chunk_count``: the encoded empty prompt (A1111's
        pad_cond_uncond pads with ``cond_stage_model_empty_prompt``), or ``pad`` when given."""
        import torch

        embeds, pooled = encoded
        missing = chunk_count - _chunks(embeds)
        if missing > 0:
            empty = pad if pad is not None else self.encode("")[0]
            embeds = torch.cat([embeds, *([empty] * missing)], dim=1)
        return embeds, pooled

    def _encode_group(self, texts: Sequence[str], encoder: _Encoder) -> tuple[list[list[Any]], list[Any]]:
        """Each text's chunks through one encoder, emphasis applied per chunk index over the batch."""
        raws = [self._raw(text, encoder) for text in texts]
        empty = self._raw("", encoder)[0][0]
        per_text: list[list[Any]] = [[] for _ in texts]
        for k in range(max(len(chunks) for chunks, _ in raws)):
            batch = [chunks[k] if k < len(chunks) else empty for chunks, _ in raws]
            weighted = self._emphasis([hidden for hidden, _ in batch], [weights for _, weights in batch])
            for chunks, hidden in zip(per_text, weighted, strict=True):
                chunks.append(hidden.to(dtype=encoder.text_encoder.dtype))
        return per_text, [pooled for _, pooled in raws]

    def _raw(self, text: str, encoder: _Encoder) -> tuple[list[tuple[Any, list[float]]], Any]:
        """``text``'s chunks through ``encoder`` before emphasis, each with its weights, and the pooled
        vector of its first chunk (A1111's sdxl path). Cached: a render encodes each text once."""
        import torch

        key = (text, self.encoders.index(encoder))
        if key not in self._cache:
            device = self.pipe._execution_device
            chunks: list[tuple[Any, list[float]]] = []
            pooled: Any = None
            for chunk in self.chunks(text, encoder):
                tokens = list(chunk.tokens)
                first_eos = tokens.index(encoder.eos)
                if encoder.pad != encoder.eos:  # SD2 / SDXL-G: pad after the first EOS (A1111 process_tokens)
                    tokens[first_eos + 1 :] = [encoder.pad] * (len(tokens) - first_eos - 1)
                ids = torch.tensor([tokens], dtype=torch.long, device=device)
                with torch.no_grad():
                    hidden, chunk_pooled = self._run(encoder, ids, first_eos)
                if pooled is None:
                    pooled = chunk_pooled
                chunks.append((hidden, chunk.multipliers))
            self._cache[key] = (chunks, pooled)
        return self._cache[key]

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

    def _emphasis(self, hidden: list[Any], multipliers: list[list[float]]) -> list[Any]:
        """A1111's EmphasisOriginal (or "No norm") over a batch of one chunk index: weight each token's
        vector, then restore the batch's mean ("Ignore" and "None": unweighted)."""
        import torch

        if self.emphasis in ("None", "Ignore") or all(weight == 1.0 for row in multipliers for weight in row):
            return hidden
        z = torch.cat(hidden, dim=0)
        weights = torch.tensor(multipliers, dtype=z.dtype, device=z.device).reshape(len(hidden), -1, 1)
        original_mean = z.mean()
        weighted = z * weights.expand(z.shape)
        new_mean = weighted.mean()
        if self.emphasis != "No norm" and new_mean != 0:  # a zero mean would make A1111's image NaN
            weighted = weighted * (original_mean / new_mean)
        return [weighted[index : index + 1] for index in range(len(hidden))]


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
        encoded_positive = encoder.encode_group([text for _, text in positive])
        encoded_negative = encoder.encode_group([text for _, text in negatives])
        zeroed = zero_empty_negative and negative == ""
        if zeroed:
            # SDXL's force_zeros_for_empty_prompt (A1111: force_zero_embeddings for an empty negative).
            encoded_negative = [
                (embeds.new_zeros(embeds.shape), _zeros(pooled)) for embeds, pooled in encoded_negative
            ]
        self.chunk_counts = (_chunks(encoded_positive[0][0]), _chunks(encoded_negative[0][0]))
        chunk_count = max(self.chunk_counts)
        # Without Pad conds A1111 denoises a negative of other length on its own. For a zeroed one, zero
        # chunks pad it exactly (every key and value of the cross-attention alike, as alone); with Pad
        # conds A1111 pads with the encoded empty prompt, as for any other negative.
        negative_pad = None
        self.exact_padding = zeroed and not pad_conds
        if self.exact_padding:
            negative_pad = encoded_negative[0][0].new_zeros(
                encoded_negative[0][0][:, : CHUNK_LENGTH + 2].shape
            )
        self.positive = [
            _Step(end, *encoder.padded(encoded, chunk_count))
            for (end, _), encoded in zip(positive, encoded_positive, strict=True)
        ]
        self.negative = [
            _Step(end, *encoder.padded(encoded, chunk_count, negative_pad))
            for (end, _), encoded in zip(negatives, encoded_negative, strict=True)
        ]
        self.texts = (positive, negatives)
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
        if positive != negative and not self.pad_conds and not self.exact_padding:
            lines.append(
                f"the prompt has {positive} chunk(s) of 75 tokens and the negative prompt {negative}: the "
                "shorter is padded with empty chunks (A1111's 'Pad conds'; without it A1111 denoises "
                "them separately, which may differ slightly)"
            )
        return tuple(lines)


def _chunks(embeds: Any) -> int:
    """How many chunks of 77 tokens ``embeds`` (1, 77 x chunks, width) holds."""
    return int(embeds.shape[1]) // (CHUNK_LENGTH + 2)


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


def _hires_noise_warning(recipe: Recipe, noise: NoiseSettings) -> tuple[str, ...]:
    """The hires pass's noise: A1111 draws it afresh (``ImageRNG`` again: the seed's noise blended towards
    the variation seed, then the ENSD generators); Atelier's img2img pass continues the first pass's
    generators, so with these keys its second pass is not A1111's."""
    if recipe.hires is None or recipe.hires.denoising <= 0 or not noise.changes_noise:
        return ()
    keys = [key for key in HONOURED_KEYS if key in recipe.extra]
    return (
        f"{', '.join(keys)}: applied to the first pass only; A1111 draws the hires pass's noise afresh with "
        "them, Atelier continues the first pass's noise there (the hires pass will differ)",
    )


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
            *_hires_noise_warning(recipe, noise),
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
