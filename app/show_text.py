"""``show`` as text: one asset's catalog facts, the user's own data, and what Civitai says about it.

Printed from the same JSON object ``show --json`` prints (``app.serialize.asset_to_json``), so the two
never disagree. Descriptions are text, never HTML, wrapped to the terminal; Civitai's trigger words are
printed apart from the user's; each example image gets its prompt and settings on a few lines.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from core.sources.site_words import base_model_word
from core.text import html_to_text

LABEL_WIDTH = 18
MAX_WIDTH = 100
MAX_EXAMPLES = 3
MAX_PROMPT_CHARS = 300
MAX_NEGATIVE_CHARS = 160
# Printed in their own way below (or not at all: bulky or internal).
_SPECIAL = frozenset(
    {
        "embedded_metadata", "previews", "remote_links", "refusals", "civitai", "hashes", "description",
        "trigger_words", "remote_trigger_words", "sidecar_problems",
    }
)  # fmt: skip


def print_asset(data: Mapping[str, Any], out: TextIO) -> None:
    """The text form of ``show`` for one ``asset_to_json`` object."""
    width = _width()
    for key, value in data.items():
        if key in _SPECIAL or value in (None, "", [], {}):
            continue
        # The base model in the user's words ("Flux.1 Dev"), as the window says it; JSON keeps Civitai's.
        shown = base_model_word(value) if key == "base_model_label" else value
        _field(out, key.replace("_", " "), ", ".join(map(str, shown)) if isinstance(shown, list) else shown)
    if data.get("trigger_words"):
        _field(out, "trigger words", ", ".join(data["trigger_words"]) + "   (yours)")
    description = html_to_text(data.get("description"))
    if description:
        _paragraphs(out, "description", description, width)
    for name, digest in (data.get("hashes") or {}).items():
        _field(out, name, digest or "-")
    for preview in data.get("previews") or ():
        _field(out, "preview", preview["path"])
    for problem in data.get("sidecar_problems") or ():
        _field(out, "sidecar problem", problem)
    civitai = data.get("civitai")
    if civitai:
        print_civitai(civitai, out, width)


def print_civitai(civitai: Mapping[str, Any], out: TextIO, width: int | None = None) -> None:
    """The Civitai block of ``show``: names, creator, label, page, tags, trigger words, description,
    examples."""
    width = width or _width()
    print("", file=out)
    print("Civitai", file=out)
    rows = (
        ("model", civitai.get("model_name")),
        ("version", civitai.get("version_name")),
        ("creator", civitai.get("creator")),
        ("base model", base_model_word(civitai.get("base_model"))),
        ("page", civitai.get("url")),
        ("tags", ", ".join(civitai.get("tags") or ())),
        ("trigger words", ", ".join(civitai.get("trigger_words") or ())),
    )
    for label, value in rows:
        if value:
            _field(out, label, value, indent="  ")
    if civitai.get("nsfw"):
        _field(out, "nsfw", f"yes (level {civitai.get('nsfw_level') or '?'})", indent="  ")
    if civitai.get("description"):
        _paragraphs(out, "description", civitai["description"], width, indent="  ")
    examples: Sequence[Mapping[str, Any]] = civitai.get("examples") or ()
    if examples:
        _examples(out, examples, width)


def _examples(out: TextIO, examples: Sequence[Mapping[str, Any]], width: int) -> None:
    shown = [example for example in examples if example.get("prompt")][:MAX_EXAMPLES]
    without = len(examples) - len([e for e in examples if e.get("prompt")])
    _field(out, "examples", _examples_count(len(examples), without), indent="  ")
    body = " " * (LABEL_WIDTH + 3)
    for number, example in enumerate(shown, start=1):
        print(f"  {'#' + str(number):<{LABEL_WIDTH}} {example.get('url', '')}", file=out)
        _wrapped(out, "prompt: " + _clip(example["prompt"]), width, body)
        if example.get("negative_prompt"):
            _wrapped(out, "negative: " + _clip(example["negative_prompt"], MAX_NEGATIVE_CHARS), width, body)
        settings = _settings(example)
        if settings:
            _wrapped(out, settings, width, body)
    more = len([e for e in examples if e.get("prompt")]) - len(shown)
    if more > 0:
        print(f"  {'':<{LABEL_WIDTH}} {more} more with prompts in `show --json`", file=out)


def _examples_count(count: int, without: int) -> str:
    """ "1 example image (without parameters)", "3 example images (1 without parameters)"."""
    text = f"{count} example image{'' if count == 1 else 's'}"
    if without == 0:
        return text
    if without == count:
        return text + (" (without parameters)" if count == 1 else " (none with parameters)")
    return f"{text} ({without} without parameters)"


def _settings(example: Mapping[str, Any]) -> str:
    parts = [
        f"{label} {example[key]}"
        for label, key in (
            ("Steps", "steps"),
            ("Sampler", "sampler"),
            ("CFG", "cfg_scale"),
            ("Seed", "seed"),
            ("Size", "size"),
            ("Model", "model"),
            ("Model hash", "model_hash"),
            ("Clip skip", "clip_skip"),
        )
        if example.get(key) not in (None, "")
    ]
    return " · ".join(parts)


def _field(out: TextIO, label: str, value: object, *, indent: str = "") -> None:
    print(f"{indent}{label + ':':<{LABEL_WIDTH}} {value}", file=out)


def _paragraphs(out: TextIO, label: str, text: str, width: int, *, indent: str = "") -> None:
    """``label:`` then the text wrapped under the value column, paragraphs kept."""
    body = " " * (len(indent) + LABEL_WIDTH + 1)
    print(f"{indent}{label + ':'}", file=out)
    for paragraph in text.split("\n"):
        if not paragraph.strip():
            print("", file=out)
            continue
        _wrapped(out, paragraph, width, body)


def _wrapped(out: TextIO, text: str, width: int, indent: str) -> None:
    lines = textwrap.wrap(text, width=max(40, width - len(indent)), break_long_words=True) or [""]
    for line in lines:
        print(indent + line, file=out)


def _clip(text: str, limit: int = MAX_PROMPT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _width() -> int:
    return min(MAX_WIDTH, shutil.get_terminal_size((MAX_WIDTH, 24)).columns)
