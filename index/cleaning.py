"""Cleaning that never moves an offset: the canonical text is kept as it is, and this module only
(a) derives a markup-free copy of a span for embedding and BM25, and (b) finds letterhead and footer
lines so that they do not crowd real content out of search results."""
from __future__ import annotations

import re

_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(?=\S)(.+?)(?<=\S)\1", re.S)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.M)
_BULLET = re.compile(r"^\s*(?:[-*•▪◦]|\d{1,2}[.)])\s+", re.M)
_SPACE = re.compile(r"\s+")

_CONTACT_LINE = re.compile(
    r"^\s*(?:tel(?:ephone)?\b|phone\b|fax\b|e-?mail\b|web(?:site)?\b|www\.|https?://|\[[^\]]*\]\(https?://|@\w+\s*$)",
    re.I,
)


def strip_markup(text: str) -> str:
    """The words of a span without HTML tags, markdown emphasis, link targets or bullet marks."""
    text = _HTML_TAG.sub("", text)
    text = _MD_LINK.sub(lambda m: m.group(1).lstrip("/"), text)
    for _ in range(2):  # nested emphasis such as ***x***
        text = _MD_EMPHASIS.sub(r"\2", text)
    text = _MD_HEADING.sub("", text)
    text = _BULLET.sub("", text)
    return _SPACE.sub(" ", text).strip()


def normalise_line(line: str) -> str:
    return strip_markup(line).lower()


def line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line, without surrounding white space."""
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        raw = match.group(0)
        stripped = raw.strip()
        if stripped:
            start = match.start() + (len(raw) - len(raw.lstrip()))
            spans.append((start, start + len(stripped)))
    return spans


def boilerplate_lines(text: str) -> set[tuple[int, int]]:
    """Spans of lines that are letterhead or footer rather than content.

    A line is boilerplate when it repeats within the letter (page headers/footers), when its words are
    a subset of such a repeated line (a footer printed with one name fewer), or when it is a contact
    line (telephone, e-mail, web address, social-media handle).
    """
    spans = line_spans(text)
    keyed = [(span, normalise_line(text[span[0]:span[1]])) for span in spans]
    counts: dict[str, int] = {}
    for _, key in keyed:
        if len(key) >= 3:
            counts[key] = counts.get(key, 0) + 1
    repeated = {key for key, n in counts.items() if n >= 2}
    repeated_words = [set(key.split()) for key in repeated]
    result = set()
    for span, key in keyed:
        words = set(key.split())
        if key in repeated or _CONTACT_LINE.match(text[span[0]:span[1]]):
            result.add(span)
        elif words and len(words) <= 12 and any(len(words) >= 2 and words <= r for r in repeated_words):
            result.add(span)
    return result
