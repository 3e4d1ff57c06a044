"""What answering reads of one letter, read once and kept in a bounded cache (`LetterCache`).

A question touches a handful of letters; each needs its text, its entities (sorted, with their
starts for bisecting), its stored sentence rows, the acronyms it defines and its structure (sender,
date, ... read from the layout: the slowest part, ~40 ms a letter). Reading them per question cost
more than answering, and keeping them without bound grows with the corpus; the cache holds the
`settings.letter_cache_size` most recently used letters of one build.
"""
from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Callable

from index.entities import Entity
from index.lexical import tokens
from index.store import IndexReader, SentenceRow
from index.structure import LetterStructure, read_structure

from .acronyms import acronym_definitions, expand_acronyms
from .candidates import Sentence, relative, sentence_candidates


@dataclass(frozen=True)
class Letter:
    ordinal: int
    text: str
    entities: tuple[Entity, ...]  # sorted by (start, end)
    entity_starts: tuple[int, ...]
    sentences: tuple[SentenceRow, ...]  # its stored sentences, by row
    sentence_rows: tuple[int, ...]
    acronyms: dict[str, tuple[int, int]]  # acronym -> offsets of the long form it defines
    long_forms: dict[str, str]  # acronym -> the long form's text
    structure: LetterStructure
    tokens: frozenset[str]  # the content tokens it uses anywhere
    _parts: dict[int, "SentenceParts"] = field(default_factory=dict, compare=False, repr=False)

    def sentences_between(self, first: int, last: int) -> tuple[SentenceRow, ...]:
        """Its stored sentences with rows first..last."""
        return self.sentences[bisect_left(self.sentence_rows, first):bisect_right(self.sentence_rows, last)]

    def sentence_holding(self, start: int, end: int) -> SentenceRow | None:
        """The first stored sentence that holds [start, end)."""
        return next((s for s in self.sentences if s.start <= start and end <= s.end), None)

    def parts(self, row: SentenceRow) -> "SentenceParts":
        """What a question does not change about one of its stored sentences (found on first use)."""
        found = self._parts.get(row.row)
        if found is None:
            found = self._parts[row.row] = SentenceParts.of(self, row)
        return found


@dataclass(frozen=True)
class SentenceParts:
    text: str
    previous: str  # the sentence before in the letter ("" for the first)
    following: str
    expansion: str  # long forms of the acronyms it uses
    entities: tuple[Entity, ...]  # offsets relative to the sentence
    spans: tuple[tuple[int, int, str, str], ...]  # (start, end, kind, label) of its candidates

    @classmethod
    def of(cls, letter: Letter, row: SentenceRow) -> "SentenceParts":
        def text_of(number: int) -> str:
            found = letter.sentences_between(number, number)
            return letter.text[found[0].start:found[0].end] if found else ""

        text = letter.text[row.start:row.end]
        entities = relative(letter.entities, row.start, row.end, letter.entity_starts)
        return cls(text, text_of(row.row - 1), text_of(row.row + 1), expand_acronyms(text, letter.long_forms),
                   entities, candidate_spans(text, entities))


def candidate_spans(text: str, entities: tuple[Entity, ...]) -> tuple[tuple[int, int, str, str], ...]:
    """(start, end, kind, label) of a sentence's candidates (`sentence_candidates` reads only the
    sentence's text and entities)."""
    sentence = Sentence(0, 0, 0, len(text), text, 0.0, 0, 0.0, False, entities=entities)
    return tuple((c.start, c.end, c.kind, c.label) for c in sentence_candidates(sentence))


def read_letter(reader: IndexReader, ordinal: int) -> Letter:
    text = reader.text(reader.documents[ordinal].doc_id)
    entities = tuple(sorted(reader.entities(ordinal), key=lambda e: (e.start, e.end)))
    sentences = tuple(reader.document_sentences(ordinal))
    acronyms = acronym_definitions(text)
    return Letter(ordinal, text, entities, tuple(e.start for e in entities), sentences,
                  tuple(s.row for s in sentences), acronyms, {k: text[a:b] for k, (a, b) in acronyms.items()},
                  read_structure(text, list(entities)), frozenset(tokens(text)))


class LetterCache:
    """`cache[ordinal]`: the Letter, read on first use; the `size` most recently used are kept.
    Safe across threads (two threads may read the same letter once each, harmlessly)."""

    def __init__(self, reader: IndexReader, size: int, read: Callable[[IndexReader, int], Letter] = read_letter):
        self._get = functools.lru_cache(maxsize=size)(functools.partial(read, reader))

    def __getitem__(self, ordinal: int) -> Letter:
        return self._get(ordinal)

    def info(self):
        return self._get.cache_info()

    def clear(self) -> None:
        self._get.cache_clear()
