"""HTML to plain text, for descriptions written on Civitai (and copied into sidecars by other tools).

Civitai model and version descriptions are user-written HTML. The window and the CLI show them as text:
never as rich text (a description must not load remote images, run links or break a layout) and never as
raw tags. Built on the standard library's ``html.parser`` (tolerant of broken markup, entities decoded).

Rules: block elements (paragraphs, headings, list items, table rows...) start a new line, ``<br>`` breaks
a line, list items get a bullet, a link keeps its target in brackets when that adds something
(``Civitai Helper (https://...)``), images are dropped (a text rendering loads nothing), ``script`` and
``style`` contents are dropped, whitespace is collapsed and at most one blank line separates blocks.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "blockquote", "pre", "table", "tr",
        "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "figure", "details",
    }
)  # fmt: skip
_DROPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})
_SPACES = re.compile(r"[ \t\f\v\r\n\u00a0]+")
_TAG_HINT = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


class _TextBuilder(HTMLParser):
    """Collects text runs and line breaks; ``text()`` joins them into tidy lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._lines: list[str] = []
        self._current: list[str] = []
        self._dropping = 0
        self._links: list[tuple[str | None, int]] = []  # (href, length of the text before the link)
        self._pre = 0

    # -- structure -----------------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self._dropping += 1
        elif tag == "br":
            self._break()
        elif tag == "li":
            if self._current:
                self._break()
            self._current.append("• ")
        elif tag in _BLOCKS:
            self._paragraph()
            if tag == "pre":
                self._pre += 1
        elif tag == "a":
            href = dict(attrs).get("href")
            self._links.append((href, len(self._joined())))
        elif tag in ("td", "th") and self._current:
            self._current.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._break()
        elif tag == "hr":
            self._paragraph()

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self._dropping = max(0, self._dropping - 1)
        elif tag == "li":
            if self._current:
                self._break()
        elif tag in _BLOCKS:
            if tag == "pre":
                self._pre = max(0, self._pre - 1)
            self._paragraph()
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            label = self._joined()[start:].strip()
            if href and href.startswith(("http://", "https://")) and href.rstrip("/") not in label:
                self._current.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self._dropping:
            return
        if self._pre:
            lines = data.split("\n")
            for index, line in enumerate(lines):
                if index:
                    self._break()
                self._current.append(line)
            return
        self._current.append(_SPACES.sub(" ", data))

    # -- output --------------------------------------------------------------------------------------
    def _joined(self) -> str:
        return "".join(self._current)

    def _break(self) -> None:
        self._lines.append(self._joined())
        self._current = []

    def _paragraph(self) -> None:
        if self._current:
            self._break()
        if self._lines and self._lines[-1].strip():
            self._lines.append("")

    def text(self) -> str:
        if self._current:
            self._break()
        out: list[str] = []
        for raw in self._lines:
            line = " ".join(raw.split()) if not raw.startswith("    ") else raw.rstrip()
            if line == "•":
                continue
            if not line and (not out or not out[-1]):
                continue  # at most one blank line, none at the start
            out.append(line)
        while out and not out[-1]:
            out.pop()
        return "\n".join(out)


def html_to_text(html: str | None) -> str:
    """The readable text of an HTML fragment (plain text passes through with its line breaks kept)."""
    if not html or not html.strip():
        return ""
    if not looks_like_html(html):
        lines = [" ".join(line.split()) for line in html.strip().splitlines()]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    if html.rfind("<") > html.rfind(">"):
        html = html[: html.rfind("<")]  # a tag cut off at the end is not text
    builder = _TextBuilder()
    builder.feed(html)
    builder.close()
    return builder.text()


def looks_like_html(text: str) -> bool:
    """Whether ``text`` holds markup or entities (a tag such as ``<p>`` or ``&amp;``)."""
    return bool(_TAG_HINT.search(text))
