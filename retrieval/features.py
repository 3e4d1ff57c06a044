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
    # how well the question describes the candidate's letter (its sender, addressee, subject, ...), and
    # how far that is below the best-described letter: "the headteacher's letter to families"
    "letter_match", "letter_match_gap",
    # the question asks what was done with a letter (written, sent, signed, dated, addressed), and a letter
    # field whose name the question uses ("What date is on ...", "What reference ...")
    "letter_act", "field_named",
    # answerability: does the candidate's sentence (and letter) hold what the question asks for, or only its topic
    "focus_in_sentence", "rare_coverage", "letter_coverage", "letter_missing_idf",
)
# the ranker reads the features before these: the answerability ones tell whether the letter states the
# asked thing at all, not which candidate states it (on dev, giving them to the ranker lowered top-1 0.436 -> 0.408)
RANKED = FEATURES[:FEATURES.index("focus_in_sentence")]
_RELATIVE = (("similarity_gap", "sentence_similarity"), ("lexical_idf_gap", "lexical_idf"),
             ("context_idf_gap", "context_idf"), ("proximity_gap", "proximity"), ("letter_match_gap", "letter_match"))
_KIND_ID = {kind: i for i, kind in enumerate(KINDS)}
_LABEL_ID = {label: i for i, label in enumerate(LABELS, start=1)}
_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[A-Za-z0-9£'’-]+")
_FOCUS = re.compile(r"\b(?:how many|how much|which|what|whose)\s+((?:[A-Za-z'’-]+\s*){1,3})", re.I)
# the verbs of what is done with a letter: a closed class, as the document nouns above
_LETTER_ACT = re.compile(r"\b(?:write|wrote|written|writing|writes|send|sent|sends|sign|signs|signed|signing|signatory|"
                         r"dated|addressed|issued)\b", re.I)
_FIELD_TOKEN = {f"field:{name}": tokens(name)[0] for name in FIELD_KINDS}
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
    letter_match: Mapping[int, float] = field(default_factory=dict)  # letter ordinal -> letter_card_match
    letter_tokens: Mapping[int, frozenset[str]] = field(default_factory=dict)  # each candidate letter's tokens


def letter_card(values) -> str:
    """What a question may call a letter by: its metadata (sender, role, organisation, addressee,
    subject, title), as one text."""
    return " ".join(v for v in values if v)


def letter_card_match(question: str, card: str, idf: Mapping[str, float]) -> float:
    """Share of the question's token rarity (idf over all its tokens, naming words included) that the
    letter's card covers."""
    asked = {t: idf.get(t, 0.0) for t in set(tokens(question))}
    return weighted_overlap(asked, card)


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
    return _covered(idf, sum(idf.values()), _token_set(text))


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


@functools.lru_cache(maxsize=8192)  # a sentence and its context, ~2 KB each: 4,600 at the 46-letter benchmark
def _token_set(text: str) -> frozenset[str]:
    return frozenset(tokens(text))


def _anchors(text: str, asked: set[str]) -> list[int]:
    """Offsets of the sentence's words that the question also uses."""
    return [at for at, token in _word_tokens(text) if token in asked]


@dataclass(frozen=True)
class _SpanFacts:
    """What the features read from a candidate span whatever the question (cached per sentence text,
    span and kind)."""

    kind: float  # id in KINDS
    label: float  # id in LABELS (0: none)
    length: int  # characters
    tokens: tuple[str, ...]
    log_words: float  # log(1 + number of words)
    has_digit: float
    capitalised_share: float  # share of its words that start with a capital
    near_anchors: bool  # an entity or clause: how close it sits to the question's words counts


@functools.lru_cache(maxsize=65536)
def _span_facts(text: str, start: int, end: int, kind: str, label: str) -> _SpanFacts:
    span = text[start:end]
    words = span.split()
    return _SpanFacts(_KIND_ID.get(kind, -1), _LABEL_ID.get(label, 0), len(span), tuple(tokens(span)),
                      math.log1p(len(words)), float(_DIGIT.search(span) is not None),
                      sum(map(str.isupper, [w[0] for w in words])) / max(1, len(words)),
                      kind != "sentence" and not kind.startswith("field:"))


def _covered(idf: Mapping[str, float], total: float, present: frozenset[str]) -> float:
    """`weighted_overlap` with the question's total rarity and the text's token set at hand."""
    return sum(w for t, w in idf.items() if t in present) / total if total else 0.0


_COLUMN = {name: i for i, name in enumerate(FEATURES)}
# filled per sentence, then copied to its candidates' rows
_SENTENCE_COLUMNS = [_COLUMN[name] for name in (
    "sentence_similarity", "similarity_rank", "passage_rank", "passage_score", "lexical", "lexical_idf",
    "context_idf", "boilerplate", "letter_named", "letter_top", "sentence_entities",
    "focus_in_sentence", "rare_coverage", "letter_coverage", "letter_missing_idf")]
_CANDIDATE_COLUMNS = [_COLUMN[name] for name in (
    "kind", "label", "novelty", "span_words", "proximity", "has_digit", "capitalised_share", "same_kind_entities",
    "focus_in_span", "focus_after_span")]


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
    """One row of FEATURES per candidate (float64, shape (len(candidates), len(FEATURES))).

    What depends only on a sentence is computed once per sentence (a letter-field holder may share its
    row with a retrieved sentence) and what depends only on a span once per span (cached across
    questions); the rest is columns of numpy arithmetic. Same values as row-by-row Python: each column
    is the same IEEE operations on the same operands."""
    if not candidates:
        return np.zeros((0, len(FEATURES)))
    asked = set(question.tokens)
    focus = set(question.focus)
    similarity = {c.sentence.key: c.sentence.similarity for c in candidates}
    ranks = {key: rank for rank, key in enumerate(sorted(similarity, key=lambda k: -similarity[k]), start=1)}
    idf_total = sum(question.idf.values())

    sentence_at: dict[int, int] = {}
    sentences: list = []
    sentence_rows: list[list[float]] = []
    sentence_facts: list[tuple] = []  # (anchors, entity kinds) per sentence
    of_sentence: list[int] = []
    position: list[tuple] = []  # start, span length, doc_start, doc_end
    values: list[tuple] = []
    question_words = set(tokens(question.text))
    rare = set(rarest(question.idf))
    by_letter = {o: letter_coverage(question.idf, question.letter_tokens.get(o))
                 for o in {c.sentence.doc_ordinal for c in candidates}}
    for c in candidates:
        s = c.sentence
        j = sentence_at.get(id(s))
        if j is None:
            j = sentence_at[id(s)] = len(sentences)
            sentences.append(s)
            body = f"{s.text} {s.expansion}"
            present = _token_set(body)
            kinds: dict[str, int] = {}
            for e in s.entities:
                kinds[e.kind] = kinds.get(e.kind, 0) + 1
            sentence_rows.append([
                s.similarity, 1.0 / ranks[s.key], 1.0 / s.passage_rank, s.passage_score,
                sum(1 for t in asked if t in present) / len(asked) if asked else 0.0,
                _covered(question.idf, idf_total, present),
                _covered(question.idf, idf_total, _token_set(f"{s.previous} {body} {s.following}")),
                float(s.boilerplate), question.named_letters.get(s.doc_ordinal, 0.0),
                float(s.doc_ordinal == question.top_letter), len(s.entities),
                *_answerability(question, focus, rare, f"{s.previous} {body} {s.following}", by_letter[s.doc_ordinal])])
            sentence_facts.append((_anchors(s.text, asked) if asked else [], kinds))
        of_sentence.append(j)
        anchors, kinds = sentence_facts[j]
        start, end = c.start, c.end
        facts = _span_facts(s.text, start, end, c.kind, c.label)
        position.append((start, facts.length, s.start + start, s.start + end))
        span_tokens = facts.tokens
        proximity = 0.0
        if anchors and facts.near_anchors:
            left = bisect_left(anchors, start)  # anchors before the span, and from its end on
            right = bisect_left(anchors, end)
            distance = min(start - anchors[left - 1] if left else math.inf,
                           anchors[right] - end if right < len(anchors) else math.inf)
            if distance < math.inf:
                proximity = 1.0 / (1.0 + distance / 25.0)
        values.append((
            facts.kind, facts.label,
            (len(span_tokens) - sum(map(asked.__contains__, span_tokens))) / max(1, len(span_tokens)),
            facts.log_words, proximity, facts.has_digit, facts.capitalised_share, kinds.get(c.kind, 0),
            float(bool(focus) and not focus.isdisjoint(span_tokens)),
            float(bool(focus) and not focus.isdisjoint(tokens(s.text[end:end + 60])[:4]))))

    of_sentence = np.asarray(of_sentence, np.intp)
    position = np.asarray(position, float)
    rows = np.zeros((len(candidates), len(FEATURES)))
    rows[:, _SENTENCE_COLUMNS] = np.asarray(sentence_rows, float)[of_sentence]
    rows[:, _CANDIDATE_COLUMNS] = np.asarray(values, float)
    length = np.asarray([max(1, len(s.text)) for s in sentences], float)[of_sentence]
    letter_chars = np.asarray([max(1, s.letter_chars) for s in sentences], float)[of_sentence]
    rows[:, _COLUMN["span_share"]] = position[:, 1] / length
    rows[:, _COLUMN["span_position"]] = position[:, 0] / length
    rows[:, _COLUMN["letter_position"]] = position[:, 2] / letter_chars
    rows[:, _COLUMN["part"]] = _parts(sentences, of_sentence, position, structures)
    rows[:, _COLUMN["other_subject"]] = question.other_subject
    rows[:, _COLUMN["mentions_letter"]] = float(bool(_LETTER_ITSELF.search(question.text)))
    rows[:, _COLUMN["question_tokens"]] = len(question.tokens)
    letter = np.asarray([s.doc_ordinal for s in sentences])[of_sentence]
    rows[:, _COLUMN["letter_match"]] = [question.letter_match.get(int(o), 0.0) for o in letter]
    rows[:, _COLUMN["letter_act"]] = float(bool(_LETTER_ACT.search(question.text)))
    rows[:, _COLUMN["field_named"]] = [float(_FIELD_TOKEN.get(c.kind) in question_words) for c in candidates]
    for gap, of in _RELATIVE:
        column = rows[:, _COLUMN[of]]
        rows[:, _COLUMN[gap]] = column.max() - column
    return rows


def _parts(sentences: list, of_sentence: np.ndarray, position: np.ndarray,
           structures: Mapping[int, LetterStructure]) -> np.ndarray:
    """`part_of` for every candidate: the first (most specific) part of its letter holding the span."""
    letter = np.asarray([s.doc_ordinal for s in sentences])[of_sentence]
    out = np.zeros(len(of_sentence))
    for ordinal, structure in structures.items():
        parts = parts_of(structure)
        mine = np.flatnonzero(letter == ordinal)
        if not parts or not len(mine):
            continue
        first, last, ids = (np.asarray(column) for column in zip(*parts))
        holds = (first <= position[mine, 2, None]) & (position[mine, 3, None] <= last)
        out[mine] = np.where(holds.any(axis=1), ids[holds.argmax(axis=1)], 0)
    return out
