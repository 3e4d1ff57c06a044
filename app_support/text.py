"""Safe Markdown rendering of untrusted letter text (no HTML is ever passed through).

Every character Markdown, Streamlit's directives (``:orange[...]``), emoji shortcodes, LaTeX (``$``)
or HTML could interpret is backslash-escaped, so a letter containing ``<script>``, ``**x**`` or
``[link](url)`` is shown literally. Highlights are added *after* escaping, with Streamlit's
``:orange-background[...]`` directive.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.markup import display_text

# CommonMark lets every ASCII punctuation character be backslash-escaped; escape all the ones that
# mean something to Markdown, GFM tables/strikethrough, remark-math, directives or HTML.
_SPECIAL = set("\\`*_{}[]()#+-.!|~$<>:=&^\"'@")
_ESCAPE_RE = re.compile("[" + re.escape("".join(sorted(_SPECIAL))) + "]")


def escape_markdown(text: str) -> str:
    """Escape `text` so st.markdown shows it literally; newlines become hard line breaks."""
    text = "" if text is None else str(text)
    text = _ESCAPE_RE.sub(lambda m: "\\" + m.group(0), text)
    text = text.replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n")
    first, *rest = text.split("\n")
    # leading spaces on a new line would start an indented code block; keep the words, drop the indent
    lines = [first.lstrip(" ") if len(first) - len(first.lstrip(" ")) >= 4 else first]
    lines += [line.lstrip(" ") for line in rest]
    return "  \n".join(lines)


def escape_inline(text: str) -> str:
    """Escape for a single-line context (captions, labels): newlines become spaces."""
    return escape_markdown(" ".join(("" if text is None else str(text)).split()))


@dataclass(frozen=True)
class Segment:
    text: str
    style: str  # "plain" | "quote" | "key"


_STYLE = {"quote": "blue-background", "key": "orange-background"}


def render_segments(segments: list[Segment]) -> str:
    """Markdown for consecutive segments; styled ones wrapped per line in a background directive."""
    out = []
    for seg in segments:
        if seg.style == "plain" or not seg.text.strip():
            out.append(escape_markdown(seg.text))
            continue
        pieces = []
        for line in seg.text.replace("\r\n", "\n").split("\n"):
            stripped = line.strip()
            if not stripped:
                pieces.append(escape_markdown(line))
                continue
            lead = line[: len(line) - len(line.lstrip())]
            trail = line[len(line.rstrip()):]
            pieces.append(" " * bool(lead) + f":{_STYLE[seg.style]}[{escape_markdown(stripped)}]"
                          + " " * bool(trail))
        out.append("  \n".join(pieces))
    return "".join(out)


def highlight_quote(quote: str, char_start: int, answer_start: int, answer_end: int) -> str:
    """The quoted sentence, markup removed (see index.markup), with its key span highlighted:
    exactly the display characters that show canonical [answer_start, answer_end)."""
    a = max(0, min(len(quote), answer_start - char_start))
    b = max(a, min(len(quote), answer_end - char_start))
    shown = display_text(quote)
    a, b = shown.span(a, b)
    text = shown.text
    return render_segments([Segment(text[:a], "plain"), Segment(text[a:b], "key"), Segment(text[b:], "plain")])


def _cut_before(text: str, start: int, radius: int) -> int:
    """Where context before `start` begins: `radius` characters back, moved to a word boundary."""
    begin = max(0, start - radius)
    if begin > 0:
        space = text.find(" ", begin, start)
        newline = text.find("\n", begin, start)
        cands = [c for c in (space, newline) if c >= 0]
        if cands:
            begin = min(cands) + 1
    return begin


def _cut_after(text: str, end: int, radius: int) -> int:
    stop = min(len(text), end + radius)
    if stop < len(text):
        space = text.rfind(" ", end, stop)
        if space > end:
            stop = space
    return stop


def passage_in_context(text: str, char_start: int, char_end: int, answer_start: int | None = None,
                       answer_end: int | None = None, radius: int = 400) -> str:
    """Markdown: `radius` characters before and after the cited passage, the passage highlighted
    (blue) and its key span (orange). `text` is canonical and the offsets are canonical; what is
    shown is its display text (markup removed), the highlights mapped onto it exactly."""
    char_start = max(0, min(len(text), char_start))
    char_end = max(char_start, min(len(text), char_end))
    shown = display_text(text)
    char_start, char_end = shown.span(char_start, char_end)
    if answer_start is not None and answer_end is not None:
        answer_start, answer_end = shown.span(answer_start, answer_end)
    text = shown.text
    begin = _cut_before(text, char_start, radius)
    stop = _cut_after(text, char_end, radius)
    segments = [Segment(text[begin:char_start], "plain")]
    if answer_start is not None and answer_end is not None and char_start <= answer_start <= answer_end <= char_end:
        segments += [Segment(text[char_start:answer_start], "quote"), Segment(text[answer_start:answer_end], "key"),
                     Segment(text[answer_end:char_end], "quote")]
    else:
        segments.append(Segment(text[char_start:char_end], "quote"))
    segments.append(Segment(text[char_end:stop], "plain"))
    prefix = "… " if begin > 0 else ""
    suffix = " …" if stop < len(text) else ""
    return prefix + render_segments(segments) + suffix


def paragraph_after(text: str, end: int, limit: int = 300) -> str:
    """The rest of the paragraph after a quote (up to `limit` characters), for a little context."""
    stop = text.find("\n\n", end)
    stop = len(text) if stop < 0 else stop
    line_end = text.find("\n", end)
    if 0 <= line_end < stop and text[end:line_end].strip() == "":
        return ""
    rest = text[end:stop].strip()
    if len(rest) > limit:
        cut = rest.rfind(" ", 0, limit)
        rest = rest[: cut if cut > 0 else limit] + " …"
    return rest
