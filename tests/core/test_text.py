"""HTML to text for Civitai descriptions: readable text, no markup, no entities, nothing loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.text import html_to_text, looks_like_html

DATA = Path(__file__).resolve().parents[1] / "data" / "civitai"


def test_paragraphs_lists_links_and_entities() -> None:
    html = (
        "<p>Hello <b>world</b> &amp; co&nbsp;!</p>"
        "<ul><li>one</li><li>two <a href='https://x.org/a'>docs</a></li></ul>"
        "<h3>Usage</h3><p>line one<br>line two</p>"
    )

    assert html_to_text(html) == (
        "Hello world & co !\n\n• one\n• two docs (https://x.org/a)\n\nUsage\n\nline one\nline two"
    )


def test_images_scripts_and_styles_leave_nothing_behind() -> None:
    html = (
        '<p><img src="https://evil.example/x.png" onerror="alert(1)">Text</p>'
        "<script>alert(2)</script><style>p{}</style>"
    )

    assert html_to_text(html) == "Text"


def test_a_link_whose_text_is_its_address_is_not_repeated() -> None:
    assert html_to_text('<a href="https://civitai.com/models/1">https://civitai.com/models/1</a>') == (
        "https://civitai.com/models/1"
    )


def test_broken_markup_never_raises() -> None:
    assert html_to_text("<p>unclosed <b>bold <i>both</p><div") == "unclosed bold both"


@pytest.mark.parametrize(
    ("text", "expected"), [(None, ""), ("", ""), ("  ", ""), ("plain\n\n\n\ntext", "plain\n\ntext")]
)
def test_plain_text_passes_through(text: str | None, expected: str) -> None:
    assert html_to_text(text) == expected


def test_a_real_civitai_description() -> None:
    model = json.loads((DATA / "04_models_modelId.json").read_text("utf-8"))

    text = html_to_text(model["description"])

    assert text.startswith("This is a 50/50 Merge of Synthwave (https://civitai.com/models/1061) and InkPunk")
    assert "<" not in text
    assert "&" not in text.replace("& ", "")


def test_looks_like_html() -> None:
    assert looks_like_html("<p>x</p>")
    assert looks_like_html("a &amp; b")
    assert not looks_like_html("a < b and c > d")
    assert not looks_like_html("plain text")
