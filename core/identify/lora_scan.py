"""One pass over a LoRA-family file's names: module types, then the few shapes the rules need.

Every LoRA dialect stores per-module tensors whose *last* name components say what they are
(``.lora_down.weight``, ``.hada_w1_a``, ``.lora_A.weight``, ``.processor.to_q_lora.down.weight``...), so the
name alone classifies a tensor. Scans run on every LoRA of a library (an SDXL LoRA has ~3000 names), so
no Python code runs per name in the common case: a few probe names say which endings the file uses, and
counting each ending in the newline-joined names (C string search) proves that no other kind of name is
there; the module list is then one C-level filter over the names. Trainers write the same tensors for
every module, so the names usually repeat their endings with a fixed period: then one count over each
position's slice proves it, a single pass over the names instead of one per ending. Files that defeat
this (mixed module types, legacy attention-processor names, names outside the known endings) take the
name-by-name loop, which gives the same scan. Shapes are looked up afterwards, only for the
down-projections, and the searches for the measuring layers (InvokeAI ``lora_token_vector_length``:
cross-attention ``to_k``/``to_v``, text-encoder attention) stop early. Large files that are not LoRAs
(checkpoints) are turned away by ``may_be_lora`` without a full scan.
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter, itemgetter

from core.formats.model_file import TensorInfo

# Tokens that end a name (``module.hada_w1_a``) and tokens followed by ``.weight`` (``module.lora_A.weight``).
TAIL_TOKENS = frozenset(
    {
        *("alpha", "dora_scale", "lora_magnitude_vector", "on_input", "w_norm", "b_norm"),
        *("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2"),
        *("lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2"),
        *("diff", "diff_b", "oft_blocks", "oft_diag", "rescale", "set_weight"),
    }
)
WEIGHT_TOKENS = frozenset(
    {"lora_down", "lora_up", "lora_mid", "lora_A", "lora_B", "a1", "a2", "b1", "b2", "lora_magnitude_vector"}
)
# One token per adapted module, whatever its algorithm; its module name joins the name index.
PRIMARY_TOKENS = frozenset(
    {
        "lora_down",
        "lora_A",
        "hada_w1_a",
        "lokr_w1",
        "lokr_w1_a",
        "diff",
        "on_input",
        "a1",
        "oft_blocks",
        "oft_diag",
        "set_weight",
    }
)
# Matrices whose shape[1] is the module's input width (shape[0] is the rank for the low-rank ones; GLoRA's
# a1 is (in, rank) in the new LyCORIS layout: ``glora_in_dim``).
DOWN_TOKENS = frozenset({"lora_down", "lora_A", "hada_w1_b", "diff", "a1", "set_weight"})
RANK_TOKENS = frozenset({"lora_down", "lora_A", "hada_w1_b"})
_LEGACY_OWNERS = ("lora", "lora_linear_layer")
_LEGACY_TOKENS = frozenset({"down", "up"})
UP_TOKENS = frozenset({"lora_up", "lora_B"})
_RANK_SAMPLE = 64
_PRECHECK_RUN = 16
_PEFT_SUFFIXES = {".lora_A.weight": "lora_A", ".lora_B.weight": "lora_B"}
_PEFT_SUFFIX_LENGTH = 14
# Suffix -> token for names whose module part has no dots (kohya, LyCORIS, OneTrainer).
_KOHYA_SUFFIXES = {
    **{f"{token}.weight": token for token in WEIGHT_TOKENS},
    **{token: token for token in TAIL_TOKENS},
}

# Module name prefixes of each text encoder: ``te`` (the only one), ``te1`` (CLIP-L), ``te2`` (bigG), in
# kohya, diffusers, ComfyUI (``text_encoders.clip_*.``) and PEFT (``base_model.model.text_model.``) names.
# No prefix of one encoder starts a name of another ("text_encoder." needs its dot), so each module has one.
TEXT_ENCODER_PREFIXES = (
    ("te2", ("lora_te2_", "text_encoder_2.", "text_encoders.clip_g.")),
    ("te1", ("lora_te1_", "text_encoders.clip_l.")),
    ("te", ("lora_te_", "text_encoder.", "text_encoders.clip_h.", "base_model.model.text_model.")),
)

Entry = tuple[str, str, str]  # module, token, tensor name
_MODULE = itemgetter(0)
_TOKEN = itemgetter(1)
_NAME = itemgetter(2)
_SHAPE = attrgetter("shape")


@dataclass
class LoraScan:
    """What the scan found; no primary entries means "not a LoRA-family file"."""

    tensors: Mapping[str, TensorInfo]
    counts: Counter[str] = field(default_factory=Counter)
    legacy: bool = False  # diffusers attention-processor naming (``to_q_lora.down.weight``)
    primary: list[Entry] = field(default_factory=list)
    down: list[Entry] = field(default_factory=list)

    def module_blob(self) -> str:
        """All module names, newline separated: one C-speed substring search instead of a Python loop."""
        return "\n".join(module for module, _, _ in self.primary)

    def shape(self, name: str) -> tuple[int, ...]:
        info = self.tensors.get(name)
        return info.shape if info is not None else ()

    def sample(self, count: int) -> list[str]:
        """About ``count`` module names spread evenly over the file."""
        return [module for module, _, _ in self.primary[:: max(1, len(self.primary) // count)]]

    def rank(self) -> int | None:
        """The commonest rank among (a sample of) the low-rank modules."""
        ranked = self._ranked
        step = max(1, len(ranked) // _RANK_SAMPLE)
        ranks = Counter(shape[0] for _, _, name in ranked[::step] if (shape := self.shape(name)))
        return ranks.most_common(1)[0][0] if ranks else None

    def conv3x3(self) -> int:
        """Low-rank down matrices of convolutions with kernels larger than 1x1 (LoCon layers)."""
        shapes = list(map(_SHAPE, map(self.tensors.__getitem__, map(_NAME, self._ranked))))
        convolutions = itertools.compress(
            shapes, map((4).__eq__, map(len, shapes))
        )  # few: no Python per layer
        return sum(1 for shape in convolutions if shape[2] > 1 or shape[3] > 1)

    @cached_property
    def _ranked(self) -> list[Entry]:
        """The low-rank down-projections (``lora_down``, ``lora_A``, ``hada_w1_b``), in name order."""
        down = self.down
        return list(itertools.compress(down, map(RANK_TOKENS.__contains__, map(_TOKEN, down))))

    def hidden(self) -> int | None:
        """The commonest input width: most adapted layers of a transformer read its hidden state."""
        widths = Counter(shape[1] for _, _, name in self.down if len(shape := self.shape(name)) >= 2)
        return widths.most_common(1)[0][0] if widths else None

    def out_features(self, fragment: str) -> set[int]:
        """Output widths of the up-projections of the modules whose name contains ``fragment``."""
        widths: set[int] = set()
        for module, _, _ in self.primary:
            if fragment in module:
                shape = self.shape(module + ".lora_up.weight") or self.shape(module + ".lora_B.weight")
                if shape:
                    widths.add(shape[0])
        return widths

    @cached_property
    def context_dim(self) -> tuple[int, str] | None:
        """In-features of the first cross-attention to_k/to_v: the text conditioning width.

        The cross-attention modules are filtered in C first: in an SDXL LoRA hundreds of text-encoder
        modules come before the first UNet one.
        """
        down = self.down
        cross = itertools.compress(
            down, map(operator.contains, map(_MODULE, down), itertools.repeat("attn2"))
        )
        for module, token, name in cross:
            if "to_k" in module or "to_v" in module:
                width = glora_in_dim(self.tensors, module) if token == "a1" else _dim(self.shape(name), 1)
                if width is not None:
                    return width, module
        for module in self._lokr_modules():
            if "attn2" in module and ("to_k" in module or "to_v" in module):
                width = lokr_in_dim(self.tensors, module)
                if width is not None:
                    return width, module
        return None

    @cached_property
    def text_widths(self) -> dict[str, int]:
        """Width of each adapted text encoder: ``te`` (the only one), ``te1`` (CLIP-L), ``te2`` (bigG).

        Each encoder's width comes from its first q/k/v projection (in name order) that has one. The
        candidates are filtered in C (text-encoder attention, then each encoder's prefixes), so the Python
        loop stops at the first projection of each encoder instead of visiting every attention module.
        """
        widths: dict[str, int] = {}
        modules = map(_MODULE, self.primary)
        attention = list(
            itertools.compress(self.primary, map(operator.contains, modules, itertools.repeat("self_attn")))
        )
        attention_modules = list(map(_MODULE, attention))
        for bucket, prefixes in TEXT_ENCODER_PREFIXES:
            members = map(operator.methodcaller("startswith", prefixes), attention_modules)
            for module, token, name in itertools.compress(attention, members):
                if not ("q_proj" in module or "k_proj" in module or "v_proj" in module):
                    continue
                width = self._text_width(module, token, name)
                if width:
                    widths[bucket] = width
                    break
        return widths

    def _text_width(self, module: str, token: str, name: str) -> int | None:
        if token in ("lokr_w1", "lokr_w1_a"):
            return lokr_in_dim(self.tensors, module)
        if token == "hada_w1_a":
            return _dim(self.shape(module + ".hada_w1_b"), 1)
        if token == "on_input":  # IA3 scales q/k/v outputs; a q/k/v projection outputs the encoder width
            return _dim(self.shape(module + ".weight"), 0)
        if token in ("oft_blocks", "oft_diag"):  # [blocks, size, size] rotates the output width
            shape = self.shape(name)
            if len(shape) == 4:  # BOFT: [stages, blocks, size, size]
                return shape[1] * shape[2]
            return shape[0] * shape[1] if len(shape) == 3 else None
        if token == "a1":
            return glora_in_dim(self.tensors, module)
        return _dim(self.shape(name), 1)

    def lokr_modules(self) -> list[str]:
        """The modules adapted by LoKr (``lokr_w1`` or its factored ``lokr_w1_a``)."""
        return self._lokr_modules()

    def _lokr_modules(self) -> list[str]:
        return [module for module, token, _ in self.primary if token in ("lokr_w1", "lokr_w1_a")]


def may_be_lora(tensors: Mapping[str, TensorInfo]) -> bool:
    """A cheap pre-check on three runs of consecutive names, so large non-LoRA files skip the full scan.

    In every LoRA-family layout each module's tensors sit next to each other and at least every other
    name carries a module token, so a run of 16 consecutive names cannot miss them. Runs rather than an
    even stride: a stride can alias with the per-module period (every 3rd name is an ``alpha``...).
    """
    if len(tensors) <= _PRECHECK_RUN * 8:
        return True
    names = list(tensors)
    middle = len(names) // 2
    runs = (names[:_PRECHECK_RUN], names[middle : middle + _PRECHECK_RUN], names[-_PRECHECK_RUN:])
    return any(_split(name) is not None for run in runs for name in run)


def _split(name: str) -> tuple[str, str, bool] | None:
    """(module, token, legacy naming) for any dialect, or None for a name that is not a module tensor."""
    module, _, token = name.rpartition(".")
    if token == "weight":
        module, _, token = module.rpartition(".")
        if token == "default":  # PEFT's adapter name: ``module.lora_A.default.weight``
            module, _, token = module.rpartition(".")
            return (module, token, False) if token in WEIGHT_TOKENS else None
        if token in WEIGHT_TOKENS:
            return module, token, False
        if token in _LEGACY_TOKENS:
            owner = module.rpartition(".")[2]
            if owner in _LEGACY_OWNERS or "_lora" in owner:
                return module, "lora_" + token, True
        return None
    return (module, token, False) if token in TAIL_TOKENS else None


def scan_lora(tensors: Mapping[str, TensorInfo]) -> LoraScan:
    """Classify every name by its trailing token: by suffix counts where the file allows, else name by name.

    Both give the same ``LoraScan``; the suffix counts touch each name only inside C string methods.
    """
    return _scan_by_suffixes(tensors) or scan_every_name(tensors)


def _probe_names(names: list[str]) -> list[str]:
    """The names ``may_be_lora`` looks at: three runs (start, middle, end), or all of a small file."""
    if len(names) <= _PRECHECK_RUN * 8:
        return names
    middle = len(names) // 2
    return [*names[:_PRECHECK_RUN], *names[middle : middle + _PRECHECK_RUN], *names[-_PRECHECK_RUN:]]


def _scan_by_suffixes(tensors: Mapping[str, TensorInfo]) -> LoraScan | None:
    """The scan from module prefixes and a few probe names, or None when the file needs ``scan_every_name``.

    The probe names say which name endings (``.lora_down.weight``, ``.alpha``...) the file uses. Counting
    each ending in the newline-joined names proves, when the counts add up to every name, that each name
    ends in one of them: no other kind of name exists, so every count, and the module list of the one
    primary (and one down-projection) ending, is exactly what the name-by-name scan would find. Files that
    mix primary endings, use legacy attention-processor names or hold names outside these endings (IA3's
    ``.weight``, a stray ``text_projection``) take the name-by-name scan.
    """
    names = list(tensors)
    endings: dict[str, str] = {}
    for name in _probe_names(names):
        found = _split(name)
        if found is None or found[2]:
            return None
        module, token, _ = found
        endings[name[len(module) :]] = token
    if "\n" in "".join(names):
        return None  # a name holding a newline: the counts below would not be per name
    # No ending is a suffix of another (each is "." + token [+ ".weight"], tokens hold no dot and none ends
    # in "weight"), so a name is counted at most once, and counts summing to all names mean exactly once.
    periodic = _periodic_columns(names, endings)
    if periodic is not None:
        counts = {ending: len(periodic[ending][0]) for ending in endings}
    else:
        blob = "\n".join(names) + "\n"
        counts = {ending: blob.count(ending + "\n") for ending in endings}
        if sum(counts.values()) != len(names):
            return None
    present = [ending for ending, count in counts.items() if count]
    primary = [ending for ending in present if endings[ending] in PRIMARY_TOKENS]
    down = [ending for ending in present if endings[ending] in DOWN_TOKENS]
    if len(primary) > 1 or len(down) > 1:
        return None  # entries of two kinds interleave in name order: only the full scan keeps that order
    scan = LoraScan(tensors)
    if primary:
        ending = primary[0]
        scan.primary = (
            _split_column(*periodic[ending], ending, endings[ending])
            if periodic is not None
            else _entries(names, ending, endings[ending], counts[ending])
        )
        scan.counts[endings[ending]] = counts[ending]
    if down:
        ending = down[0]
        if down == primary:
            scan.down = list(scan.primary)
        elif periodic is not None:
            scan.down = _split_column(*periodic[ending], ending, endings[ending])
        else:
            scan.down = _entries(names, ending, endings[ending], counts[ending])
    for ending in present:
        token = endings[ending]
        if token != "alpha" and token not in PRIMARY_TOKENS | DOWN_TOKENS | UP_TOKENS:
            scan.counts[token] += counts[ending]
    return scan


def _periodic_columns(names: list[str], endings: dict[str, str]) -> dict[str, tuple[list[str], str]] | None:
    """For a file whose names repeat one ending per position with a fixed period (every trainer writes
    the same tensors for every module, e.g. ``alpha``, ``lora_down``, ``lora_up``): each ending's names
    in order and newline-joined (each ending with a newline); None for any other file.

    The period is the number of endings the probe names use, and the first names must show each of them
    once. Checking that every name of each position's slice ends with that position's ending, one count
    over each slice, proves the same as counting every ending over all names (``_scan_by_suffixes``) in
    one pass over the names instead of one per ending. The caller has checked no name holds a newline.
    """
    period = len(endings)
    if period == 0 or len(names) % period or len(names) < period:
        return None
    columns: dict[str, tuple[list[str], str]] = {}
    for position in range(period):
        ending = next((ending for ending in endings if names[position].endswith(ending)), None)
        if ending is None or ending in columns:
            return None
        chosen = names[position::period]
        joined = "\n".join(chosen) + "\n"
        if joined.count(ending + "\n") != len(chosen):
            return None
        columns[ending] = (chosen, joined)
    return columns


def _split_column(chosen: list[str], joined: str, ending: str, token: str) -> list[Entry]:
    """(module, token, name) of ``chosen``, every one ending with ``ending`` (``_periodic_columns``)."""
    modules = joined.split(ending + "\n")[:-1]
    return list(zip(modules, itertools.repeat(token), chosen))


def _entries(names: list[str], ending: str, token: str, count: int) -> list[Entry]:
    """(module, token, name) of the ``count`` names with ``ending``, in name order.

    Trainers write the same tensors for every module, so these names usually recur with a fixed period
    (every 3rd name: ``alpha``, ``lora_down``, ``lora_up``): that slice is taken and checked in C. Other
    files are filtered name by name.
    """
    period, remainder = divmod(len(names), count)
    first = next(index for index, name in enumerate(names) if name.endswith(ending))
    chosen = names[first::period] if not remainder else []
    joined = "\n".join(chosen) + "\n"
    if len(chosen) != count or joined.count(ending + "\n") != count:
        chosen = [name for name in names if name.endswith(ending)]
        joined = "\n".join(chosen) + "\n"
    # Every chosen name ends with the ending and holds no newline: splitting there leaves the modules.
    modules = joined.split(ending + "\n")[:-1]
    return list(zip(modules, itertools.repeat(token), chosen))


def scan_every_name(tensors: Mapping[str, TensorInfo]) -> LoraScan:
    """Classify every name by its trailing token, one by one; the loop is kept minimal (module docstring)."""
    scan = LoraScan(tensors)
    others: dict[str, int] = {}
    primary, down = scan.primary, scan.down
    primary_tokens, down_tokens, up_tokens = PRIMARY_TOKENS, DOWN_TOKENS, UP_TOKENS
    kohya_suffix = _KOHYA_SUFFIXES.get
    # Fast path for kohya/LyCORIS names (no dots in the module part): one partition and one dict lookup.
    fast = kohya_suffix(next(iter(tensors), "").partition(".")[2]) is not None
    for key in tensors:
        if fast:
            module, _, suffix = key.partition(".")
            token = kohya_suffix(suffix)
        else:  # PEFT's two suffixes have the same length: one slice and one lookup
            token = _PEFT_SUFFIXES.get(key[-_PEFT_SUFFIX_LENGTH:])
            module = key[:-_PEFT_SUFFIX_LENGTH]
        if token is None:
            found = _split(key)
            if found is None:
                continue
            module, token, legacy = found
            scan.legacy = scan.legacy or legacy
        if token == "alpha":
            continue
        if token in primary_tokens:
            primary.append((module, token, key))
            if token in down_tokens:
                down.append((module, token, key))
        elif token in down_tokens:
            down.append((module, token, key))
        elif token not in up_tokens:  # up-projections are looked up by module name when a rule needs them
            others[token] = others.get(token, 0) + 1
    scan.counts.update(map(itemgetter(1), primary))
    scan.counts.update(others)
    return scan


def lokr_in_dim(tensors: Mapping[str, TensorInfo], module: str) -> int | None:
    """Input width of a LoKr module: the Kronecker factors' widths multiply (w1 x w2)."""
    widths: list[int] = []
    for factor in ("lokr_w1", "lokr_w2"):
        info = tensors.get(f"{module}.{factor}") or tensors.get(f"{module}.{factor}_b")
        if info is None or len(info.shape) < 2:
            return None
        widths.append(info.shape[1])
    return widths[0] * widths[1]


def glora_in_dim(tensors: Mapping[str, TensorInfo], module: str) -> int | None:
    """Input width of a GLoRA module: a1 is (rank, in) in the old LyCORIS layout, (in, rank) in the new.

    The layouts are told apart as the renderer does (``core.render.lora_dialects.glora_old_layout``):
    where both readings fit, a2 taller than wide is the old one.
    """
    shapes = [tensors.get(f"{module}.{part}.weight") for part in ("a1", "a2", "b1", "b2")]
    if any(info is None or len(info.shape) < 2 for info in shapes):
        return None
    a1, a2, b1, b2 = (info.shape for info in shapes if info is not None)
    old = b2[1] == b1[0] == a1[0] == a2[1]
    new = b2[0] == b1[1] == a1[1] == a2[0]
    if old and new:
        old = a2[0] >= a2[1]
    return a1[1] if old else a1[0]


def _dim(shape: tuple[int, ...], axis: int) -> int | None:
    return shape[axis] if len(shape) > axis else None
