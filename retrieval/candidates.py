"""Candidate answer spans: pure functions, sentences and their entities in, candidates out.

Every answer — a named entity of a sentence, a window of clauses, a whole sentence, the long form
of an acronym, or a part of the letter itself (its sender, date, reference, ...) — is a `Candidate`
with the same feature vector (`retrieval.features`), so one fitted ranker (`retrieval.answer_model`)
ranks them all and one calibrated function gives the confidence.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from index.entities import Entity

MAX_ANSWER_WORDS = 60
CLAUSE_WINDOW = 3  # clauses joined into one candidate at most
# the parts of a letter (index/structure.py) that answer "who wrote / to whom / when / which reference"
FIELD_KINDS = ("sender", "role", "organisation", "recipient", "date", "reference", "subject")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a retrieved passage (or the line holding a letter field). Offsets are the letter's."""

    key: int  # sentence row in the index (negative for a line that is not a stored sentence)
    doc_ordinal: int
    start: int
    end: int
    text: str
    similarity: float  # cosine of its embedding and the question's
    passage_rank: int  # rank of the best passage holding it (1 = top)
    passage_score: float
    boilerplate: bool
    previous: str = ""  # the sentence before (for "This is to ensure...")
    following: str = ""  # the sentence after
    expansion: str = ""  # long forms of the acronyms it uses
    entities: tuple[Entity, ...] = ()  # offsets relative to the sentence
    letter_chars: int = 1  # length of its letter, for the relative position


@dataclass(frozen=True)
class Candidate:
    """A span that could be the answer: `sentence.text[start:end]`, of kind `kind` with entity `label`."""

    sentence: Sentence
    start: int
    end: int
    kind: str  # an entity kind (person, date, ...), "clause", "sentence", "acronym" or "field:<name>"
    label: str = ""  # the entity model's label (PERSON, ORG, ...) or the pattern's name

    @property
    def text(self) -> str:
        return self.sentence.text[self.start:self.end]

    @property
    def doc_start(self) -> int:
        return self.sentence.start + self.start

    @property
    def doc_end(self) -> int:
        return self.sentence.start + self.end


def clauses(text: str) -> list[tuple[int, int]]:
    cuts = [0] + [m.end() for m in re.finditer(r"[,;:–—]\s+|\s+-\s+|\(\s*|\s*\)\s*|\s*[|\t\n]\s*|\s{3,}", text)] \
        + [len(text)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if text[a:b].strip()]


def trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without surrounding white space, markup and punctuation; None if nothing is left."""
    while start < end and (text[start].isspace() or text[start] in "*_,;:–—-(\"“‘'"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "*_,;:–—-(.\"”’'"):
        end -= 1
    return (start, end) if end > start else None


def clip_words(text: str, start: int, end: int, limit: int = MAX_ANSWER_WORDS) -> tuple[int, int]:
    if end - start < 2 * limit:  # too short to hold more than `limit` words
        return start, end
    found = list(re.finditer(r"\S+", text[start:end]))
    if len(found) <= limit:
        return start, end
    return start, start + found[limit - 1].end()


def sentence_candidates(sentence: Sentence) -> list[Candidate]:
    """Its entities, its windows of up to CLAUSE_WINDOW clauses, and the sentence itself."""
    text = sentence.text
    out: dict[tuple[int, int], Candidate] = {}
    for e in sentence.entities:
        span = trimmed(text, e.start, e.end)
        if span and span not in out:
            out[span] = Candidate(sentence, span[0], span[1], e.kind, e.label)
    whole = trimmed(text, 0, len(text))
    parts = clauses(text)
    if len(parts) > 1:
        for i in range(len(parts)):
            for j in range(i, min(len(parts), i + CLAUSE_WINDOW)):
                span = trimmed(text, parts[i][0], parts[j][1])
                if span and span not in out and span != whole:
                    span = clip_words(text, *span)
                    out.setdefault(span, Candidate(sentence, span[0], span[1], "clause"))
    if whole:
        whole = clip_words(text, *whole)
        out.setdefault(whole, Candidate(sentence, whole[0], whole[1], "sentence"))
    return list(out.values())


def same_answer(a: Candidate, b: Candidate) -> bool:
    """Two candidates that give the same answer: overlapping spans of one letter, or the same words."""
    if a.sentence.doc_ordinal == b.sentence.doc_ordinal and a.doc_start < b.doc_end and b.doc_start < a.doc_end:
        return True
    return " ".join(a.text.lower().split()) == " ".join(b.text.lower().split())


def relative(entities: list[Entity], start: int, end: int, starts: list[int] | None = None) -> tuple[Entity, ...]:
    """The entities inside [start, end) of a letter, with offsets relative to `start`. With `starts`
    (the entities' start offsets, entities sorted by start) only the ones starting inside are looked at."""
    if starts is not None:
        entities = entities[bisect_left(starts, start):bisect_left(starts, end)]
    return tuple(Entity(e.start - start, e.end - start, e.kind, e.label) for e in entities
                 if start <= e.start and e.end <= end)
