"""Candidate answer spans and their features: pure functions, sentences and entities in, rows out.

Every answer — a named entity in a sentence, a clause, a whole sentence, the long form of an
acronym, or a field of the letter itself (its sender, date, reference, ...) — is a `Candidate`
described by the same feature vector, so one fitted model (`retrieval.answer_model`) ranks them all
and one calibrated function gives the confidence.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from index.entities import Entity
from index.lexical import tokens

MAX_ANSWER_WORDS = 60
CLAUSE_WINDOW = 3  # clauses joined into one candidate at most
FIELD_KINDS = ("sender", "role", "organisation", "recipient", "date", "reference", "subject")
# What a span can be; the question model gives a probability for each (`kind_prior`).
KINDS = ("person", "organisation", "place", "date", "money", "number", "legislation", "event", "thing",
         "postcode", "email", "phone", "website", "reference", "acronym", "clause", "sentence",
         *(f"field:{name}" for name in FIELD_KINDS))
FEATURES = (
    "kind_prior", "sentence_similarity", "similarity_rank", "passage_rank", "passage_score", "lexical",
    "lexical_previous", "novelty", "span_words", "proximity", "boilerplate", "letter_named",
    "is_entity", "is_clause", "is_sentence", "is_field", "is_acronym", "field_other_subject",
    "contains_question_words", "first_in_sentence", "sentence_kind_max", "field_prior", "lexical_idf",
)
# Two stages share the row: which sentence (or letter field) holds the answer, then which span of it.
SENTENCE_FEATURES = ("sentence_similarity", "similarity_rank", "passage_rank", "passage_score", "lexical", "lexical_idf",
                     "lexical_previous", "boilerplate", "letter_named", "sentence_kind_max", "is_field",
                     "field_prior", "field_other_subject")
SPAN_FEATURES = ("kind_prior", "novelty", "span_words", "proximity", "is_entity", "is_clause", "is_sentence",
                 "is_field", "is_acronym", "contains_question_words", "first_in_sentence")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a retrieved passage. `start`/`end` are document offsets."""

    key: int  # sentence row in the index
    doc_ordinal: int
    start: int
    end: int
    text: str
    similarity: float
    passage_rank: int
    passage_score: float
    boilerplate: bool
    previous: str = ""
    expansion: str = ""  # long forms of the acronyms it uses
    entities: tuple[Entity, ...] = ()  # offsets relative to the sentence


def unit_of(candidate: "Candidate") -> tuple[int, str]:
    """The first-stage unit a candidate belongs to: its sentence, or for a letter field the field itself."""
    return candidate.sentence.key, candidate.kind if candidate.kind.startswith("field:") else ""


@dataclass(frozen=True)
class Candidate:
    """A span that could be the answer: `sentence.text[start:end]`, of kind `kind`."""

    sentence: Sentence
    start: int
    end: int
    kind: str

    @property
    def text(self) -> str:
        return self.sentence.text[self.start:self.end]

    @property
    def doc_start(self) -> int:
        return self.sentence.start + self.start

    @property
    def doc_end(self) -> int:
        return self.sentence.start + self.end


@dataclass(frozen=True)
class QuestionView:
    """What the features need to know about the question."""

    text: str
    tokens: tuple[str, ...]  # content tokens, without the words that only name a letter
    kind_prior: dict[str, float]
    named_letters: dict[int, float]  # letters the question names, with their weight
    other_subject: float  # share of the question's proper names that are not the letter's own
    idf: dict[str, float]  # rarity of each question token in the corpus (log N/df)


def weighted_overlap(idf: dict[str, float], text: str) -> float:
    """Share of the question's token rarity (idf) that `text` covers: rare shared words count most."""
    total = sum(idf.values())
    if not total:
        return 0.0
    present = set(tokens(text))
    return sum(w for t, w in idf.items() if t in present) / total


def overlap(question_tokens: Sequence[str], text: str) -> float:
    """Fraction of the question's content tokens that occur in `text`."""
    if not question_tokens:
        return 0.0
    present = set(tokens(text))
    asked = set(question_tokens)
    return sum(1 for t in asked if t in present) / len(asked)


def clauses(text: str) -> list[tuple[int, int]]:
    cuts = [0] + [m.end() for m in re.finditer(r"[,;:–—]\s+|\s+-\s+|\(\s*|\s*\)\s*|\s*[|\t\n]\s*|\s{3,}", text)] + [len(text)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if text[a:b].strip()]


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and (text[start].isspace() or text[start] in "*_,;:–—-(\"“‘'"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "*_,;:–—-(.\"”’'"):
        end -= 1
    return (start, end) if end > start else None


def clip_words(text: str, start: int, end: int, limit: int = MAX_ANSWER_WORDS) -> tuple[int, int]:
    found = list(re.finditer(r"\S+", text[start:end]))
    if len(found) <= limit:
        return start, end
    return start, start + found[limit - 1].end()


def sentence_candidates(sentence: Sentence) -> list[Candidate]:
    """Entities, windows of up to CLAUSE_WINDOW clauses, and the sentence itself."""
    text = sentence.text
    out: dict[tuple[int, int], Candidate] = {}
    for e in sentence.entities:
        span = _trimmed(text, e.start, e.end)
        if span and span not in out:
            out[span] = Candidate(sentence, span[0], span[1], e.kind)
    parts = clauses(text)
    if len(parts) > 1:
        for i in range(len(parts)):
            for j in range(i, min(len(parts), i + CLAUSE_WINDOW)):
                span = _trimmed(text, parts[i][0], parts[j][1])
                if span and span not in out and span != (0, len(text)):
                    span = clip_words(text, *span)
                    out.setdefault(span, Candidate(sentence, span[0], span[1], "clause"))
    whole = _trimmed(text, 0, len(text))
    if whole:
        whole = clip_words(text, *whole)
        out.setdefault(whole, Candidate(sentence, whole[0], whole[1], "sentence"))
    return list(out.values())


def _anchors(text: str, asked: set[str]) -> list[int]:
    return [m.start() for m in re.finditer(r"[A-Za-z0-9£'’-]+", text)
            if tokens(m.group(0)) and tokens(m.group(0))[0] in asked]


def features(question: QuestionView, candidates: Sequence[Candidate]) -> list[list[float]]:
    """One row of FEATURES per candidate."""
    asked = set(question.tokens)
    ranks: dict[int, int] = {}
    for rank, key in enumerate(sorted({c.sentence.key: c.sentence.similarity for c in candidates}.items(),
                                      key=lambda item: -item[1]), start=1):
        ranks[key[0]] = rank
    cache: dict[int, tuple[float, float, list[int], float]] = {}
    kind_max: dict[int, float] = {}
    for c in candidates:
        if not c.kind.startswith("field:"):
            kind_max[c.sentence.key] = max(kind_max.get(c.sentence.key, 0.0), question.kind_prior.get(c.kind, 0.0))
    field_prior = sum(p for kind, p in question.kind_prior.items() if kind.startswith("field:"))
    rows = []
    for c in candidates:
        s = c.sentence
        if s.key not in cache:
            cache[s.key] = (overlap(question.tokens, f"{s.text} {s.expansion}"),
                            overlap(question.tokens, s.previous) if s.previous else 0.0,
                            _anchors(s.text, asked), weighted_overlap(question.idf, f"{s.text} {s.expansion}"))
        lexical, lexical_previous, anchors, lexical_idf = cache[s.key]
        span_tokens = tokens(c.text)
        novelty = sum(1 for t in span_tokens if t not in asked) / max(1, len(span_tokens))
        n_words = len(c.text.split())
        whole = c.kind in ("sentence",) or c.kind.startswith("field:")
        outside = [p for p in anchors if not c.start <= p < c.end]
        if outside and not whole:
            distance = min(min(abs(p - c.start), abs(p - c.end)) for p in outside)
            proximity = 1.0 / (1.0 + distance / 25.0)
        else:
            proximity = 0.0
        is_field = c.kind.startswith("field:")
        rows.append([
            question.kind_prior.get(c.kind, 0.0),
            s.similarity,
            1.0 / ranks[s.key],
            1.0 / s.passage_rank,
            s.passage_score,
            lexical,
            lexical_previous,
            novelty,
            math.log1p(n_words),
            proximity,
            float(s.boilerplate),
            question.named_letters.get(s.doc_ordinal, 0.0),
            float(c.kind not in ("clause", "sentence", "acronym") and not is_field),
            float(c.kind == "clause"),
            float(c.kind == "sentence"),
            float(is_field),
            float(c.kind == "acronym"),
            question.other_subject if is_field else 0.0,
            float(bool(span_tokens) and novelty < 1.0),
            float(c.start == 0),
            question.kind_prior.get(c.kind, 0.0) if is_field else kind_max.get(s.key, 0.0),
            field_prior if is_field else 0.0,
            lexical_idf,
        ])
    return rows
