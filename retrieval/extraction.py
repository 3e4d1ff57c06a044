"""Extractive answers: which sentence answers, and which span of it.

Pure functions over strings and numbers: the question's expected answer type, the typed entities a
sentence holds (dates, money, numbers, people/organisations, places, legislation), sentence scoring,
span tightening and the confidence features. Nothing here generates text: every span is an
(start, end) pair into a sentence of a letter.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from index.cleaning import boilerplate_lines
from index.lexical import tokens
from index.metadata import ROLE_WORDS, DATE_PATTERNS
from index.records import LetterMetadata

# --- answer types -------------------------------------------------------------------------------
_TYPE_RULES: list[tuple[str, re.Pattern]] = [
    ("money", re.compile(r"\bhow much\b|\b(what|which)\s+(?:size of\s+)?(grants?|funding|awards?|money)\b|\bhow (big|large)\b|\bwhat (amount|sum|value|level of funding)\b|"
                         r"\b(maximum|max|largest|biggest|size of)\b.*\b(grant|award|funding|amount)s?\b|"
                         r"\bworth\b|\bcost\b|\bbudget\b|\bvalue\b|"
                         r"\b(the most|maximum|up to|largest|biggest)\b.{0,60}\b(get|receive|award|give|grant|claim|fund|pay)", re.I)),
    ("number", re.compile(r"\bhow many\b|\bnumber of\b|\bhow often\b|\bwhat number\b", re.I)),
    ("date", re.compile(r"\bwhen\b|\b(what|which) (date|day|year|month|time|period|session|season)\b|"
                        r"\bdated\b|\bin what (year|month)\b|\bwhat time of\b", re.I)),
    ("legislation", re.compile(r"\b(which|what) (act|law|legislation|statute|legal)\b|\bunder what\b|"
                               r"\b(act|legislation|law) (creates|sets|places|requires|makes|gives)\b", re.I)),
    ("place", re.compile(r"\bwhere\b|\b(what|which)(?:'s|’s| is| was)?\s+(?:the\s+)?(address|location|venue|place|city|town|"
                         r"building|site|facility)\b", re.I)),
    ("person", re.compile(r"\bwho\b|\bwhom\b|\bwhose\b|\b(which|what)\s+(?:(?!(?:do|does|did|is|are|was|were|has|have|had)\b)"
                          r"[a-z-]+\s+){0,2}?(person|people|official|officer|officers|"
                          r"organisation|organisations|organization|body|bodies|group|force|forces|council|authority|"
                          r"authorities|agency|partner|partners|university|universities|team|board|unit|individual|"
                          r"partnership|commission|inspectorate|region|charity|organisation's|panel|service)\b|"
                          r"\bname of\b|\bnamed\b", re.I)),
    ("reason", re.compile(r"\bwhy\b|\bwhat(?:'s|’s| is| was) the (point|purpose|aim|goal|reason|idea)\b|\bfor what (reason|purpose)\b|\b(purpose|aim|reason|rationale) (of|for|behind)\b|"
                          r"\bwhat for\b", re.I)),
]
LETTER_FIELDS: list[tuple[str, re.Pattern]] = [
    ("recipient", re.compile(r"\bletter\b.{0,40}\b(addressed|written|sent)( to)?\W*$|\b(addressed|written|sent) to\b.{0,30}\bletter\b|"
                             r"\brecipient\b|\bto whom\b.{0,40}\bletter\b|\baddressee\b", re.I)),
    ("sender", re.compile(r"\bwho\b.{0,60}\b(wrote|write|writes|written|signed|signs|sign|sent|sends|authored)\b|"
                          r"\b(author|sender|signatory|signed by|written by|sent by)\b|"
                          r"\bwho\b.{0,40}\bletter\b.{0,20}\bfrom\b|\bwhose (letter|signature)\b", re.I)),
    ("phone", re.compile(r"\b(phone|telephone|tel)\b|\bcall\b.{0,30}\bnumber\b", re.I)),
    ("email", re.compile(r"\be-?mail\b", re.I)),
    ("website", re.compile(r"\bwebsite\b|\bweb (site|address|page)\b|\burl\b", re.I)),
    ("address", re.compile(r"\b(postal|office|correspondence|full|street|their|its|his|her)\s+address\b|\baddress (of|for)\b|"
                           r"\b(what|which)(?:'s|’s| is| was)?\s+(?:the\s+)?(?:\w+\s+)?address\b|"
                           r"\bwhere is\b.{0,40}\b(office|based|headquarters|located)\b|\bpostcode\b", re.I)),
    ("reference", re.compile(r"\breference (number|code)?\b|\bref\b", re.I)),
    ("date", re.compile(r"\b(when|what date|which date|date)\b.{0,60}\bletter\b.{0,40}\b(written|sent|dated|signed|issued)\b|"
                        r"\b(what|which) (date|day)\b.{0,50}\bletter\b|\bletter\b.{0,50}\b(dated|date)\b|"
                        r"\b(date of|dated)\b.{0,20}\bletter\b|"
                        r"\bwhen\b.{0,30}\b(write|wrote|send|sent|reply|replied|respond|responded)\b", re.I)),
]


def question_type(question: str) -> str:
    for name, pattern in _TYPE_RULES:
        if pattern.search(question):
            return name
    return "description"


def letter_field(question: str) -> str | None:
    """The letter-level field a question asks for ("who wrote…", "when was the letter sent…"), if any."""
    for name, pattern in LETTER_FIELDS:
        if pattern.search(question):
            return name
    return None


# --- typed entities -----------------------------------------------------------------------------
_MONTHS = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|" \
          r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
_ORD = r"(?:\s*<sup>\s*|\^)?(?:st|nd|rd|th)?(?:\s*</sup>)?"
_DATE = re.compile(
    rf"\b\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MONTHS}\.?,?\s+(?:19|20)\d\d\b|"
    rf"\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d\b|"
    rf"\b{_MONTHS}\s+(?:19|20)\d\d\b|"
    r"\b\d{1,2}/\d{1,2}/(?:19|20)\d\d\b|"
    r"\b(?:19|20)\d\d\s*[-/–]\s*\d\d(?:\d\d)?\b|\b\d\d/\d\d\b(?!/)|"
    r"\b(?:19|20)\d\d\b|"
    rf"\b(?:this|next|last) (?:year|month|spring|summer|autumn|winter)\b|\b{_MONTHS}\b(?= session| meeting)"
)
_MONEY = re.compile(r"[£$€]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:k|m|bn|million|billion|thousand)\b)?|"
                    r"\b\d[\d,]*(?:\.\d+)?\s?(?:per cent|percent|%)|\b\d[\d,]*(?:\.\d+)?\s(?:pounds|million pounds)\b")
_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                 r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|hundred|dozen|several|"
                 r"first|second|third|fourth|fifth|tenth|fourteenth")
_NUMBER = re.compile(rf"\b(?:\d[\d,]*(?:\.\d+)?|{_NUMBER_WORDS})\b(?:\s+(?!(?:who|which|that|from|with|at|in|on|to|"
                     rf"for|and|or|by|is|are|was|were|have|has|had|been|will|would|can|could|should|the|a|an)\b)"
                     rf"[A-Za-z'‘’-]+){{0,4}}", re.I)
_CAPITALISED = re.compile(
    r"(?:\b[A-Z][\w'’&.-]*|\b[A-Z]{2,}\b)(?:(?:\s+|\s*&\s*)(?:(?:of|and|the|for|on|in|de|du|von)\s+)*(?:[A-Z][\w'’&.-]*|\(?[A-Z]{2,}\)?))*")
_LEGISLATION = re.compile(r"\b(?:[A-Z][\w'’-]*\s+(?:(?:and|of|the|for|on)\s+)?)+(?:Act|Bill|Regulations|Order|Code|Directive)"
                          r"(?:\s+(?:19|20)\d\d)?\b")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")
_ADDRESS = re.compile(r"\b\d{1,4}\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\s+(?:Street|St|Road|Rd|Lane|Avenue|Square|Place|Way|"
                      r"Row|Park|Court|Gardens|Drive|Hill|Terrace|Walk)\b")


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    kind: str


def _spans(pattern: re.Pattern, text: str, kind: str) -> list[Entity]:
    return [Entity(m.start(), m.start() + len(m.group(0).rstrip()), kind) for m in pattern.finditer(text)
            if m.group(0).strip()]


def _drop_contained(entities: list[Entity]) -> list[Entity]:
    out: list[Entity] = []
    for e in sorted(entities, key=lambda e: (e.start, -(e.end - e.start))):
        if out and e.start >= out[-1].start and e.end <= out[-1].end:
            continue
        out.append(e)
    return out


def _names(text: str) -> list[Entity]:
    found = []
    for m in _CAPITALISED.finditer(text):
        value = m.group(0).rstrip(".'’ ")
        start, end = m.start(), m.start() + len(value)
        for connector in (" and", " of", " the", " for", " &"):
            while value.endswith(connector):
                value = value[: -len(connector)]
                end = start + len(value)
        words = value.split()
        at_sentence_start = not text[:start].strip(" -*•\t\"'‘“(")
        if not words or (len(words) == 1 and (at_sentence_start or len(value) < 3) and not value.isupper()):
            continue
        if len(words) == 1 and value.lower() in {"i", "we", "my", "our", "this", "these", "the"}:
            continue
        # a name followed by what it is: "West Yorkshire CONTEST board", "Carr Gate training facility"
        tail = re.match(r"(?:\s+[a-z][a-z-]+){1,2}", text[end:])
        if tail:
            words_after = tail.group(0).split()
            for n in range(len(words_after), 0, -1):
                if tokens(words_after[n - 1])[:1] and tokens(words_after[n - 1])[0] in _HEAD_NOUNS:
                    end += len(" ".join(words_after[:n])) + (len(tail.group(0)) - len(tail.group(0).lstrip()))
                    break
        found.append(Entity(start, end, "person"))
    return found


def entities(text: str, kind: str) -> list[Entity]:
    """Spans of `text` of the given answer type, left to right, without nested duplicates."""
    if kind == "date":
        found = _spans(_DATE, text, kind)
    elif kind == "money":
        found = _spans(_MONEY, text, kind)
    elif kind == "number":
        dates = _spans(_DATE, text, "date")
        found = [e for e in _spans(_NUMBER, text, kind)
                 if not any(d.start <= e.start < d.end for d in dates) and not text[e.start:e.end].lower().startswith("one of")]
    elif kind == "legislation":
        found = _spans(_LEGISLATION, text, kind)
    elif kind == "place":
        found = _spans(_ADDRESS, text, kind) + _spans(_POSTCODE, text, kind)
        for m in re.finditer(r"\b(?:at|in|from|to|near)\s+(?:the\s+)?", text):
            follow = _CAPITALISED.match(text, m.end())
            if follow and follow.group(0).strip():
                found.append(Entity(follow.start(), follow.start() + len(follow.group(0).rstrip(". ")), kind))
        found += [e for e in _names(text) if _POSTCODE.search(text[e.start:e.end])]
    elif kind == "person":
        found = _names(text)
    else:
        found = []
    return _drop_contained(found)


# --- acronyms -----------------------------------------------------------------------------------
_DEFINITION = re.compile(r"((?:[A-Z][\w'’-]*\s+(?:(?:of|and|the|for|on|&)\s+)*){1,8}?[A-Z][\w'’-]*)\s*\(([A-Z][A-Za-z]{1,9})\)")


def acronym_definitions(text: str) -> dict[str, tuple[int, int]]:
    """{"SCF": (start, end) of "Safer Communities Fund"} for every "Long Name (ACR)" in a letter whose
    initials spell the acronym."""
    found: dict[str, tuple[int, int]] = {}
    for match in _DEFINITION.finditer(text):
        acronym, words = match.group(2), match.group(1).split()
        capitals = [w for w in words if w[:1].isupper()]
        for n in range(len(capitals), 1, -1):
            initials = "".join(w[0] for w in capitals[-n:]).upper()
            if initials in (acronym.upper(), acronym.upper()[:-1] if acronym.endswith("s") else None):
                start = match.start(1) + _nth_from_end(match.group(1), n)
                found.setdefault(acronym, (start, match.end(1)))
                break
    return found


def _nth_from_end(phrase: str, n: int) -> int:
    """Offset in `phrase` of the n-th capitalised word counted from the end."""
    positions = [m.start() for m in re.finditer(r"\b[A-Z][\w'’-]*", phrase)]
    return positions[-n] if len(positions) >= n else 0


def expand_acronyms(text: str, definitions: dict[str, str]) -> str:
    """The long names of the acronyms a sentence uses, for lexical matching."""
    return " ".join(long for short, long in definitions.items() if re.search(rf"\b{re.escape(short)}\b", text))


# --- sentence scoring ---------------------------------------------------------------------------
def overlap(question_tokens: Sequence[str], text: str) -> float:
    """Fraction of the question's content tokens that occur in `text`."""
    if not question_tokens:
        return 0.0
    present = set(tokens(text))
    return sum(1 for t in set(question_tokens) if t in present) / len(set(question_tokens))


def novel_entities(text: str, kind: str, question_tokens: Sequence[str]) -> list[Entity]:
    """Entities of the kind that say something the question does not already say."""
    asked = set(question_tokens)
    out = []
    for e in entities(text, kind):
        words = tokens(text[e.start:e.end])
        if words and all(w in asked for w in words):
            continue
        out.append(e)
    return out


_ASKS_FOR_HOLDER = re.compile(r"^\s*who(?:'s|’s| is| was| are| were)\s+(?:the\s+|a\s+)?(.+)", re.I)


def answer_entities(text: str, kind: str, question: str, question_tokens: Sequence[str]) -> list[Entity]:
    """The entities that could answer: new information of the asked-for type. "Who is the Chief
    Constable of X?" asks for the holder of a role, so another role title is not an answer."""
    found = novel_entities(text, kind, question_tokens)
    holder = _ASKS_FOR_HOLDER.match(question) if kind == "person" else None
    if holder and ROLE_WORDS.search(holder.group(1)):
        found = [e for e in found if not ROLE_WORDS.search(text[e.start:e.end])]
    return found


@dataclass(frozen=True)
class SentenceEvidence:
    """One candidate sentence with what is known of it. `start`/`end` are document offsets."""

    key: int
    doc_ordinal: int
    start: int
    end: int
    text: str
    similarity: float
    passage_rank: int
    boilerplate: bool
    previous: str = ""  # the sentence before, for sentences that refer back ("This is to ensure…")
    expansion: str = ""  # long forms of the acronyms the sentence uses


@dataclass(frozen=True)
class ScoredSentence:
    evidence: SentenceEvidence
    score: float
    lexical: float
    typed: bool


_REFERS_BACK = re.compile(r"^\W*(this|these|that|those|it|they|such|the group|the scheme|the fund|the pilot|"
                          r"as a result|alongside this|with this)\b", re.I)
_PURPOSE = re.compile(r"\b(in order to|so that|because|so as to|due to|as a result of|depending on|depends on|dependent on|this will|will help|aims? to|designed to|intended to|"
                      r"to (?:ensure|promote|improve|support|provide|enable|help|make sure|allow|reduce|increase|"
                      r"strengthen|embed|build|develop|deliver|tackle|prevent|protect|consider|encourage|share))\b", re.I)


def answers_type(text: str, kind: str, question: str, question_tokens: Sequence[str]) -> bool:
    """Whether a sentence holds an entity of the asked-for type (for how-many questions: a number
    of the thing asked about)."""
    found = answer_entities(text, kind, question, question_tokens)
    if kind == "number":
        focus = focus_noun(question)
        if focus:
            return any(focus in tokens(text[e.start:e.end]) for e in found)
    return bool(found)


def score_sentences(question: str, kind: str, candidates: Sequence[SentenceEvidence],
                    use_types: bool = True, ignore: Sequence[str] = ()) -> list[ScoredSentence]:
    """Candidates ranked best first by semantic similarity, lexical overlap, passage rank and
    (for typed questions) whether the sentence holds an entity of the expected type. Question
    tokens in `ignore` (words that only name the letter) do not count as overlap."""
    ignored = set(ignore)
    q_tokens = [t for t in tokens(question) if t not in ignored] or tokens(question)
    typed_question = use_types and kind not in ("description", "reason")
    focus = focus_noun(question) if typed_question else None
    # names the question uses ("Safer Communities Fund"): a sentence naming the same thing is about it
    names = [question[e.start:e.end].lower() for e in _names(question) if " " in question[e.start:e.end]]
    names = [n for n in names if not set(tokens(n)) <= ignored]
    scored = []
    for c in candidates:
        lexical = overlap(q_tokens, c.text + " " + c.expansion)
        if c.previous and _REFERS_BACK.match(c.text):
            lexical = max(lexical, 0.8 * overlap(q_tokens, c.previous + " " + c.text))
        has_type = typed_question and answers_type(c.text, kind, question, q_tokens)
        if has_type and focus and any(focus in tokens(c.text[e.start:e.end]) for e in entities(c.text, kind)):
            has_type_bonus = 0.1
        else:
            has_type_bonus = 0.0
        n_words = len(c.text.split())
        score = (1.0 * c.similarity + 0.45 * lexical + 0.12 / c.passage_rank
                 + (0.18 + has_type_bonus if has_type else (-0.12 if typed_question else 0.0))
                 - (0.15 if c.boilerplate else 0.0) - (0.1 if n_words < 4 else 0.0))
        context = f"{c.text} {c.expansion} {c.previous if _REFERS_BACK.match(c.text) else ''}".lower()
        if any(name in context for name in names):
            score += 0.15
        if use_types and kind == "reason" and _PURPOSE.search(c.text):
            score += 0.15 if _REFERS_BACK.match(c.text) else 0.1
        scored.append(ScoredSentence(c, score, lexical, has_type))
    return sorted(scored, key=lambda s: (-s.score, s.evidence.start))


# --- span tightening ----------------------------------------------------------------------------
MAX_ANSWER_WORDS = 60
CLAUSE_WORDS = 40


def _anchor_positions(text: str, question_tokens: set[str]) -> list[int]:
    return [m.start() for m in re.finditer(r"[A-Za-z0-9£'’-]+", text)
            if tokens(m.group(0)) and tokens(m.group(0))[0] in question_tokens]


_AUXILIARIES = frozenset("is are was were be been does did do has have had will would can could should may might "
                         "of in on at for to from by with about".split())
_HEAD_NOUNS = frozenset(tokens("person people official officer organisation body group force council authority agency "
                               "partner university team board unit partnership commission inspectorate region charity "
                               "panel service act law fund grant programme pilot scheme meeting conference facility "
                               "strategy centre hall house office plan network forum committee lead leads chair "
                               "sergeant commander advisor adviser coordinator manager"))


def focus_noun(question: str) -> str | None:
    """The noun a which/what/how-many question asks about ("which university" -> "university",
    "what national board does" -> "board")."""
    match = re.search(r"\b(?:how many|which|what)\s+((?:[A-Za-z'-]+\s*){1,3})", question, re.I)
    if not match:
        return None
    following = []
    for word in match.group(1).split():
        if word.lower() in _AUXILIARIES:
            break
        following.append(word)
    folded = [t for w in following for t in tokens(w)]
    if not folded:
        return None
    heads = [t for t in folded if t in _HEAD_NOUNS]
    return heads[0] if heads else folded[-1]


def best_entity(text: str, kind: str, question: str) -> Entity | None:
    """The typed entity in a sentence that best answers: new information, naming the thing the
    question asks about, close to the words the question and sentence share."""
    q_tokens = tokens(question)
    every = entities(text, kind)
    found = answer_entities(text, kind, question, q_tokens)
    if not found:
        return None
    asked = set(q_tokens)
    focus = focus_noun(question)
    # anchor on the question's relation words ("chairs", "attends") rather than the names it mentions
    named = _names(question)
    relation_text = "".join(" " if any(e.start <= i < e.end for e in named) else ch for i, ch in enumerate(question))
    outside = [p for p in _anchor_positions(text, asked) if not any(e.start <= p < e.end for e in every)]
    relation = set(tokens(relation_text))
    anchors = [p for p in outside if tokens(text[p:p + 40])[:1] and tokens(text[p:p + 40])[0] in relation] or outside

    def score(e: Entity) -> float:
        words = tokens(text[e.start:e.end])
        novelty = sum(1 for w in words if w not in asked) / max(1, len(words))
        if anchors:
            distance = min(min(abs(p - e.start), abs(p - e.end)) for p in anchors)
            proximity = 1.0 / (1.0 + distance / 25.0)
        else:
            proximity = 0.0
        named = 0.8 if focus and focus in words else 0.0
        specific = 0.1 if kind == "date" and re.search(r"\d", text[e.start:e.end]) else 0.0
        return novelty * 0.8 + proximity + named + specific

    return max(found, key=lambda e: (score(e), -e.start))


def _clauses(text: str) -> list[tuple[int, int]]:
    cuts = [0] + [m.end() for m in re.finditer(r"[,;:–—]\s+|\s+-\s+", text)] + [len(text)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if text[a:b].strip()]


def tighten(text: str, kind: str, question: str, use_types: bool = True) -> tuple[int, int]:
    """(start, end) inside `text` of the answer: a typed entity when the question asks for one and
    the sentence has it, else the sentence, or for a long sentence the best window of clauses."""
    if use_types and kind not in ("description", "reason"):
        entity = best_entity(text, kind, question)
        if entity is not None:
            return entity.start, entity.end
    if use_types and kind == "reason":
        purpose = _PURPOSE.search(text)
        if purpose and len(text[purpose.start():].split()) >= 4:
            return purpose.start(), len(text.rstrip(". "))
    if len(text.split()) <= CLAUSE_WORDS:
        return 0, len(text)
    q_tokens = set(tokens(question))
    clauses = _clauses(text)
    best, best_score = (0, len(text)), -1.0
    for i in range(len(clauses)):
        for j in range(i, len(clauses)):
            start, end = clauses[i][0], clauses[j][1]
            n_words = len(text[start:end].split())
            if n_words > CLAUSE_WORDS:
                break
            present = set(tokens(text[start:end]))
            score = len(present & q_tokens) + 0.02 * n_words + (0.5 if len(present - q_tokens) >= 3 else 0.0)
            if score > best_score:
                best, best_score = (start, end), score
    start, end = best
    piece = text[start:end]
    trimmed = piece.strip().rstrip(",;:–—-").rstrip()
    start += len(piece) - len(piece.lstrip())
    return start, start + len(trimmed)


def clip_words(text: str, start: int, end: int, limit: int = MAX_ANSWER_WORDS) -> tuple[int, int]:
    words = list(re.finditer(r"\S+", text[start:end]))
    if len(words) <= limit:
        return start, end
    return start, start + words[limit - 1].end()


# --- confidence ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConfidenceFeatures:
    similarity: float  # best sentence's cosine similarity to the question
    sentence_overlap: float  # fraction of question tokens in the best sentence
    passage_overlap: float  # fraction of question tokens in the top passage
    typed: bool  # a typed question, and the answer sentence holds such an entity
    type_missing: bool  # a typed question, and no candidate holds such an entity
    unknown: float  # fraction of question tokens that occur nowhere in the corpus

    def as_dict(self) -> dict[str, float]:
        return dict(zip(FEATURE_NAMES, self.as_list()))

    def as_list(self) -> list[float]:
        return [self.similarity, self.sentence_overlap, self.passage_overlap, float(self.typed),
                float(self.type_missing), self.unknown]


FEATURE_NAMES = ("similarity", "sentence_overlap", "passage_overlap", "typed", "type_missing", "unknown")
DEFAULT_WEIGHTS = {"bias": -2.4, "similarity": 6.0, "sentence_overlap": 1.2, "passage_overlap": 1.6,
                   "typed": 0.6, "type_missing": -1.2, "unknown": -3.0}


def confidence(features: ConfidenceFeatures, weights: dict | None = None) -> float:
    """A logistic combination in [0, 1]; `eval calibrate` fits the weights and the abstention threshold."""
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    z = w["bias"] + sum(w[name] * value for name, value in zip(FEATURE_NAMES, features.as_list()))
    return 1.0 / (1.0 + math.exp(-z))


# --- letter-level fields ------------------------------------------------------------------------
_PHONE = re.compile(r"(?<![\w+])(?:\+44\s?|0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}\b")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_WEB = re.compile(r"\b(?:https?://)?www\.[\w-]+(?:\.[\w-]+)+(?:/[\w./-]*)?")
_ADDRESS_LINE = re.compile(r"\d|\b(House|Building|Centre|Center|Court|Hall|Street|Road|Lane|Square|Place|Way|Tower|"
                           r"Park|Chambers|Floor)\b")


def _address(text: str) -> tuple[int, int] | None:
    """The sender's postal address: the letterhead/footer line with a postcode (a repeated footer
    first, else the first postcode in the letter) and the address lines just above it."""
    postcodes = list(_POSTCODE.finditer(text))
    if not postcodes:
        return None
    boiler = boilerplate_lines(text)
    chosen = next((m for m in postcodes if any(s <= m.start() < e for s, e in boiler)), postcodes[0])
    line_start = text.rfind("\n", 0, chosen.start()) + 1
    start = line_start
    for _ in range(3):  # up to three address lines above the postcode line
        if start == 0:
            break
        previous_end = start - 1
        previous_start = text.rfind("\n", 0, previous_end) + 1
        line = text[previous_start:previous_end].strip()
        if not line or len(line) > 60 or not _ADDRESS_LINE.search(line):
            break
        start = previous_start
    while text[start].isspace():
        start += 1
    return start, chosen.end()


def locate_field(text: str, field: str, m: LetterMetadata) -> tuple[int, int] | None:
    """Where the letter itself states a letter-level field (the signature for the sender, the
    letterhead for contact details), as (start, end) in its text; None when it does not."""
    if field == "sender" and m.sender:
        at = text.rfind(m.sender)
        return (at, at + len(m.sender)) if at >= 0 else None
    if field == "role" and m.role:
        at = text.rfind(m.role)
        return (at, at + len(m.role)) if at >= 0 else None
    if field == "recipient" and m.recipient:
        salutation = re.search(r"dear\s+", text, re.I)
        start = salutation.end() if salutation else 0
        at = text.find(m.recipient, start)
        return (at, at + len(m.recipient)) if at >= 0 else None
    if field == "reference" and m.reference:
        at = text.find(m.reference)
        return (at, at + len(m.reference)) if at >= 0 else None
    if field == "date" and m.date:
        head = text[:3000]
        found = [match for pattern in DATE_PATTERNS for match in pattern.finditer(head)]
        if found:
            first = min(found, key=lambda match: match.start())
            return first.start(), first.end()
    if field in ("phone", "email", "website"):
        match = {"phone": _PHONE, "email": _EMAIL, "website": _WEB}[field].search(text)
        return (match.start(), match.end()) if match else None
    if field == "address":
        return _address(text)
    return None
