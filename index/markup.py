"""Display text: a letter's canonical text with its markup removed, mapped back to canonical offsets.

Letters arrive as Markdown-ish text (``**Dear Home Secretary**``, ``4<sup>th</sup> May``,
``[site](https://…)``, ``* Act 2015 *``). Readers should see the words, not the marks, while every
citation keeps pointing at the canonical text. `display_text` drops the marks (or replaces a bullet
mark with "•") and keeps, for every display character, the canonical offset it came from, so a
canonical span (a quote, an answer) maps to exactly the display characters that show it.

Pure: text in, `DisplayText` out. The app shows it (escaping and highlighting in `app_support.text`);
the named-entity model reads it (`index.entities`), so its spans map back to canonical offsets.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>\n]*)?/?>")
_LINK = re.compile(r"\[(?P<label>[^\]\n]*)\]\((?P<target>(?:[^()\s]|\([^()\s]*\))*)\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)((?:(?!\n[ \t]*\n).)+?)(?<=\S)\1", re.S)  # not across paragraphs
# single-star emphasis, also the loose "* Counter Terrorism Act 2015 *" form, within one line
_STAR = re.compile(r"(?<![*\w])\*(?=[^*\n]*\w)([^*\n]+?)\*(?![*\w])")
_UNDERSCORE = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.M)
_BULLET = re.compile(r"^[ \t]*([*+-])[ \t]+", re.M)
_LEFTOVER = re.compile(r"\*\*+|(?<!\w)__+|__+(?!\w)")  # marks whose partner lies outside the slice


@dataclass(frozen=True)
class DisplayText:
    """`text` as shown; `offsets[i]` is the canonical offset of display character i, and
    `offsets[len(text)]` is the canonical length (so spans ending at the end map too)."""

    text: str
    offsets: tuple[int, ...]

    def position(self, canonical: int) -> int:
        """The display index of the first shown character at or after canonical offset `canonical`."""
        return bisect_left(self.offsets, canonical, 0, len(self.text))

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The display span showing canonical [start, end)."""
        a = self.position(start)
        return a, max(a, self.position(end))

    def canonical_span(self, start: int, end: int) -> tuple[int, int]:
        """The canonical span behind display [start, end) (inverse of `span` on shown characters)."""
        if start >= end:
            point = self.offsets[min(start, len(self.text))]
            return point, point
        return self.offsets[start], self.offsets[end - 1] + 1


def _edits(text: str) -> tuple[set[int], dict[int, str]]:
    """Canonical positions to drop, and positions whose character is shown as another."""
    drop: set[int] = set()
    replace: dict[int, str] = {}

    def drop_range(a: int, b: int) -> None:
        drop.update(range(a, b))

    for m in _HTML_TAG.finditer(text):
        drop_range(m.start(), m.end())
    for m in _LINK.finditer(text):
        drop_range(m.start(), m.start("label"))  # "["
        drop_range(m.end("label"), m.end())  # "](target)"
        label = m.group("label")
        if label.startswith("/"):
            drop.add(m.start("label"))
    for m in _HEADING.finditer(text):
        drop_range(m.start(), m.end())
    for m in _BULLET.finditer(text):
        replace[m.start(1)] = "•"
    for pattern in (_STRONG, _STAR, _UNDERSCORE):
        for m in pattern.finditer(text):
            first, last = m.start(), m.end()
            mark = len(m.group(1)) if pattern is _STRONG else 1
            marks = [*range(first, first + mark), *range(last - mark, last)]
            if any(p in drop or p in replace for p in marks):
                continue
            drop_range(first, first + mark)
            drop_range(last - mark, last)
            if pattern is _STAR:  # the loose "* words *" form: its inner spaces go with the marks
                inner = m.group(1)
                drop_range(first + 1, first + 1 + len(inner) - len(inner.lstrip(" ")))
                drop_range(last - 1 - (len(inner) - len(inner.rstrip(" "))), last - 1)
    for m in _LEFTOVER.finditer(text):
        if not any(p in drop for p in range(m.start(), m.end())):
            drop_range(m.start(), m.end())
    return drop, replace


@lru_cache(maxsize=128)
def display_text(canonical: str) -> DisplayText:
    """The canonical text with markup removed, and the canonical offset of every shown character."""
    drop, replace = _edits(canonical)
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(canonical):
        if i in drop:
            continue
        chars.append(replace.get(i, ch))
        offsets.append(i)
    offsets.append(len(canonical))
    return DisplayText("".join(chars), tuple(offsets))


def display_span(canonical: str, start: int, end: int) -> str:
    """The display text of canonical[start:end] (its markup removed)."""
    shown = display_text(canonical)
    a, b = shown.span(start, end)
    return shown.text[a:b]


def plain(text: str) -> str:
    """A short text (a quote, an answer, a title) with its markup removed, as one line."""
    return " ".join(display_text(text or "").text.split())
