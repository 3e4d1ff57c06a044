"""The feature vector of a candidate answer: pure functions, a question view and candidates in, rows out.

The ranker is a tree ensemble, so features are raw (ids for kinds, labels and letter parts, shares,
counts) and the trees learn how they interact with the question's category (appended to every row
by `retrieval.answer_model`): a PERSON entity in the signature block answers "who signed" but not
"who chairs the panel".
"""
from __future__ import annotations

import functools
import math
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from index.lexical import tokens
from index.structure import LetterStructure

from .candidates import FIELD_KINDS, Candidate

KINDS = ("person", "organisation", "place", "date", "money", "number", "legislation", "event", "thing",
         "postcode", "email", "phone", "website", "reference", "acronym", "clause", "sentence",
         *(f"field:{name}" for name in FIELD_KINDS))
LABELS = ("PERSON", "ORG", "NORP", "GPE", "LOC", "FAC", "DATE", "TIME", "MONEY", "PERCENT", "CARDINAL", "QUANTITY",
          "ORDINAL", "LAW", "EVENT", "PRODUCT", "WORK_OF_ART", "LANGUAGE", "postcode", "email", "phone", "website",
          "reference")
# the parts of a letter a candidate can sit in (index/structure.py), most specific first
PARTS = ("date", "reference", "their_reference", "recipient", "salutation", "subject", "sender", "role",
         "organisation", "close", "cc", "enclosures", "signature", "letterhead")
FEATURES = (
    "kind", "label", "part", "sentence_similarity", "similarity_rank", "passage_rank", "passage_score",
    "lexical", "lexical_idf", "context_idf", "novelty", "span_words", "span_share", "proximity", "span_position",
    "boilerplate", "letter_position", "letter_named", "letter_top", "has_digit", "capitalised_share",
    "sentence_entities", "same_kind_entities", "focus_in_span", "focus_after_span", "other_subject",
    "mentions_letter", "question_tokens",
    # the same signals relative to the question's best candidate: trees see one row at a time
    "similarity_gap", "lexical_idf_gap", "context_idf_gap", "proximity_gap",
    # answerability: does the candidate's sentence (and letter) hold what the question asks for, or only its topic
    "focus_in_sentence", "rare_coverage", "letter_coverage", "letter_missing_idf",
)
# the ranker reads the features before these: the answerability ones tell whether the letter states the
# asked thing at all, not which candidate states it (on dev, giving them to the ranker lowered top-1 0.436 -> 0.408)
RANKED = FEATURES[:FEATURES.index("focus_in_sentence")]
_RELATIVE = (("similarity_gap", "sentence_similarity"), ("lexical_idf_gap", "lexical_idf"),
             ("context_idf_gap", "context_idf"), ("proximity_gap", "proximity"))
_KIND_ID = {kind: i for i, kind in enumerate(KINDS)}
_LABEL_ID = {label: i for i, label in enumerate(LABELS, start=1)}
_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[A-Za-z0-9£'’-]+")
_FOCUS = re.compile(r"\b(?:how many|how much|which|what|whose)\s+((?:[A-Za-z'’-]+\s*){1,3})", re.I)
_LETTER_ITSELF = re.compile(r"\b(letter|correspondence|reply|response|memo|e-?mail|notice|you|your|this)\b", re.I)


@dataclass(frozen=True)
class QuestionView:
    """What the features need to know about the question."""

    text: str
    tokens: tuple[str, ...]  # content tokens, without the words that only name a letter
    idf: Mapping[str, float]  # rarity of each question token in the corpus (log N/df)
    named_letters: Mapping[int, float]  # letters the question names, with their weight
    top_letter: int  # the letter of the best passage
    other_subject: float  # share of the question's proper names that name no letter
    focus: tuple[str, ...] = ()  # what a which/what/how-many question asks about ("officers")
    letter_tokens: Mapping[int, frozenset[str]] = field(default_factory=dict)  # each candidate letter's tokens


RAREST = 2  # the question's rarest words whose presence near a span is checked (a "what/who + noun" asks ~2)


def rarest(idf: Mapping[str, float], n: int = RAREST) -> tuple[str, ...]:
    """The question's `n` rarest content tokens (highest idf; ties by the token, so the choice is stable)."""
    return tuple(sorted(idf, key=lambda t: (-idf[t], t))[:n])


def letter_coverage(idf: Mapping[str, float], letter: frozenset[str] | None) -> tuple[float, float]:
    """(idf share of the question's tokens its letter uses anywhere, the idf of the rarest token it never
    uses): a letter can be about the topic and still never mention the asked thing ("managing director")."""
    if letter is None or not idf:
        return 1.0, 0.0
    total = sum(idf.values()) or 1.0
    missing = [w for t, w in idf.items() if t not in letter]
    return 1.0 - sum(missing) / total, max(missing, default=0.0)


def focus_tokens(question: str) -> tuple[str, ...]:
    """The content words after "how many / which / what": the thing the question counts or names."""
    match = _FOCUS.search(question)
    return tuple(tokens(match.group(1))[:2]) if match else ()


def other_subject(question: str, naming_tokens: set[str]) -> float:
    """Share of the question's proper names (capitalised words after the first, acronyms) that do not
    name a letter: "Who wrote the HMICFRS report?" asks about someone other than the letter's writer."""
    found = re.findall(r"(?<!^)(?<![.?!]\s)\b[A-Z][A-Za-z'’-]+", question.strip())
    proper = [t for w in found for t in tokens(w)]
    if not proper:
        return 0.0
    return sum(1 for t in proper if t not in naming_tokens) / len(proper)


def weighted_overlap(idf: Mapping[str, float], text: str) -> float:
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


def parts_of(structure: LetterStructure | None) -> list[tuple[int, int, int]]:
    """(start, end, 1 + index in PARTS) of each part the letter has, in PARTS order."""
    if structure is None:
        return []
    return [(part.start, part.end, i) for i, name in enumerate(PARTS, start=1)
            if (part := getattr(structure, name)) is not None]


def part_of(parts: list[tuple[int, int, int]], start: int, end: int) -> int:
    """The id of the first (most specific) letter part holding [start, end), 0 for the body."""
    for a, b, i in parts:
        if a <= start and end <= b:
            return i
    return 0


@functools.lru_cache(maxsize=65536)
def _word_tokens(text: str) -> tuple[tuple[int, str], ...]:
    """(offset, first content token) of each word of a sentence (cached: sentences recur across questions)."""
    out = []
    for m in _WORD.finditer(text):
        found = tokens(m.group(0))
        if found:
            out.append((m.start(), found[0]))
    return tuple(out)


def _anchors(text: str, asked: set[str]) -> list[int]:
    """Offsets of the sentence's words that the question also uses."""
    return [at for at, token in _word_tokens(text) if token in asked]


def _answerability(question: QuestionView, focus: set[str], rare: set[str], around: str,
                   letter: tuple[float, float]) -> list[float]:
    """focus_in_sentence, rare_coverage, letter_coverage, letter_missing_idf of one sentence (with its
    neighbours): a question with nothing to look for counts as covered (1.0)."""
    present = set(tokens(around))
    return [sum(1 for t in focus if t in present) / len(focus) if focus else 1.0,
            sum(1 for t in rare if t in present) / len(rare) if rare else 1.0,
            *letter]


def features(question: QuestionView, candidates: Sequence[Candidate],
             structures: Mapping[int, LetterStructure]) -> np.ndarray:
    """One row of FEATURES per candidate (float64, shape (len(candidates), len(FEATURES)))."""
    if not candidates:
        return np.zeros((0, len(FEATURES)))
    asked = set(question.tokens)
    focus = set(question.focus)
    similarity = {c.sentence.key: c.sentence.similarity for c in candidates}
    ranks = {key: rank for rank, key in enumerate(sorted(similarity, key=lambda k: -similarity[k]), start=1)}
    per_sentence: dict[int, tuple] = {}
    mentions_letter = float(bool(_LETTER_ITSELF.search(question.text)))
    parts = {ordinal: parts_of(structure) for ordinal, structure in structures.items()}
    rare = set(rarest(question.idf))
    by_letter = {o: letter_coverage(question.idf, question.letter_tokens.get(o))
                 for o in {c.sentence.doc_ordinal for c in candidates}}
    out = []
    for c in candidates:
        s = c.sentence
        known = per_sentence.get(id(s))  # a letter-field holder may share its row with a retrieved sentence
        if known is None:
            body = f"{s.text} {s.expansion}"
            kinds: dict[str, int] = {}
            for e in s.entities:
                kinds[e.kind] = kinds.get(e.kind, 0) + 1
            lexical_idf = weighted_overlap(question.idf, body)
            known = per_sentence[id(s)] = (
                [s.similarity, 1.0 / ranks[s.key], 1.0 / s.passage_rank, s.passage_score,
                 overlap(question.tokens, body), lexical_idf,
                 weighted_overlap(question.idf, f"{s.previous} {body} {s.following}")],
                _anchors(s.text, asked), kinds, parts.get(s.doc_ordinal, []), max(1, len(s.text)),
                [float(s.boilerplate)], [question.named_letters.get(s.doc_ordinal, 0.0),
                                         float(s.doc_ordinal == question.top_letter)],
                _answerability(question, focus, rare, f"{s.previous} {body} {s.following}", by_letter[s.doc_ordinal]))
        sentence_values, anchors, kinds, letter_parts, length, boilerplate, letter_values, answerability = known
        span = c.text
        span_tokens = tokens(span)
        novelty = (len(span_tokens) - sum(map(asked.__contains__, span_tokens))) / max(1, len(span_tokens))
        proximity = 0.0
        if anchors and c.kind != "sentence" and not c.kind.startswith("field:"):
            left = bisect_left(anchors, c.start)  # anchors before the span, and from its end on
            right = bisect_left(anchors, c.end)
            distance = min(c.start - anchors[left - 1] if left else math.inf,
                           anchors[right] - c.end if right < len(anchors) else math.inf)
            if distance < math.inf:
                proximity = 1.0 / (1.0 + distance / 25.0)
        span_words = span.split()
        after = tokens(s.text[c.end:c.end + 60])[:4]
        out.append([
            _KIND_ID.get(c.kind, -1), _LABEL_ID.get(c.label, 0), part_of(letter_parts, c.doc_start, c.doc_end),
            *sentence_values,
            novelty,
            math.log1p(len(span_words)),
            len(span) / length,
            proximity,
            c.start / length,
            *boilerplate,
            c.doc_start / max(1, s.letter_chars),
            *letter_values,
            float(_DIGIT.search(span) is not None),
            sum(map(str.isupper, [w[0] for w in span_words])) / max(1, len(span_words)),
            len(s.entities),
            kinds.get(c.kind, 0),
            float(not focus.isdisjoint(span_tokens)),
            float(not focus.isdisjoint(after)),
            question.other_subject,
            mentions_letter,
            len(question.tokens),
            0.0, 0.0, 0.0, 0.0,
            *answerability,
        ])
    rows = np.asarray(out, float)
    for gap, of in _RELATIVE:
        column = rows[:, FEATURES.index(of)]
        rows[:, FEATURES.index(gap)] = column.max() - column
    return rows
