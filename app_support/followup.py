"""Follow-up questions that lean on the previous one ("and what about West Yorkshire?").

Pure: the previous question is reused with the new subject. The phrase in the previous question
that names a letter is found by matching against the letters' own metadata (sender, role,
organisation and the place/organisation names inside them), never a hard-coded list; failing that
a trailing "in <Place>" is replaced, and failing that " in <X>" is appended.

A phrase names a letter only if it can single letters out: one of its words is rare in the corpus
(retrieval.vocabulary: used by at most half of the letters). So "Police and Crime" names nothing
in letters that all discuss police and crime, and "Planning Inspectorate" nothing in letters that
all come from it, whoever the senders are.
"""
from __future__ import annotations

import re
from typing import Iterable, Iterator

from retrieval.vocabulary import Vocabulary

MAX_FOLLOW_UP_WORDS = 8

_LEADS = [
    r"(?:and\s+|but\s+|ok(?:ay)?,?\s+|so\s+)?(?:what|how)\s+about\s+(?:for\s+|in\s+)?",
    r"(?:and\s+)?(?:the\s+)?same\s+(?:question\s+)?(?:for|in|about|with)\s+",
    r"(?:and\s+)?(?:what|how)\s+(?:of|for)\s+",
    r"and\s+(?:in|for|at|from|by|with)\s+",
    r"and\s+(?:for\s+)?",
]
_FOLLOW_UP = re.compile(r"^\s*(?:" + "|".join(_LEADS) + r")(?P<subject>.+?)\s*[?.!]*\s*$", re.I)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’&-]*")
_ALNUM = re.compile(r"[A-Za-z0-9]+")
_SMALL = {"of", "for", "and", "the", "&", "in", "on", "to"}
_TRAILING_PLACE = re.compile(r"\b(?P<prep>in|for|at|from|by)\s+(?:the\s+)?(?P<name>[A-Z][\w'’&-]*(?:\s+(?:of\s+|and\s+|&\s+)?"
                             r"[A-Z][\w'’&-]*)*)(?=\s*[?.!]*\s*$)")


def _phrases_from(value: str) -> set[str]:
    """The whole field plus every run of capitalised words in it and their parts ("West Yorkshire",
    "Greater Manchester Combined Authority", "Mark Burns-Williamson")."""
    out = {value.strip()}
    words = [m.group(0) for m in _WORD.finditer(value)]
    runs: list[list[str]] = []
    current: list[str] = []
    for w in words:
        if w[:1].isupper() or (current and w.lower() in _SMALL and w.lower() not in ("the",)):
            current.append(w)
        else:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    for run in runs:
        while run and run[-1].lower() in _SMALL:
            run = run[:-1]
        for i in range(len(run)):
            for j in range(i + 1, len(run) + 1):
                gram = run[i:j]
                if gram[0].lower() in _SMALL or gram[-1].lower() in _SMALL:
                    continue
                out.add(" ".join(gram))
    return {p for p in out if len(p) >= 3}


def letter_phrases(metadata: Iterable[object], vocabulary: Vocabulary) -> list[str]:
    """Letter-naming phrases from metadata objects/dicts (sender, role, organisation) that have a
    word rare in the corpus, longest first."""
    phrases: set[str] = set()
    for m in metadata:
        for name in ("sender", "role", "organisation"):
            value = m.get(name) if isinstance(m, dict) else getattr(m, name, None)
            if value:
                phrases |= _phrases_from(str(value))
    return sorted((p for p in phrases if vocabulary.names_something(p)), key=lambda p: (-len(p), p))


def split_follow_up(question: str) -> str | None:
    """The new subject of a short follow-up ("and what about Greater Manchester?" → "Greater Manchester")."""
    text = " ".join(question.split())
    if not text or len(text.split()) > MAX_FOLLOW_UP_WORDS:
        return None
    m = _FOLLOW_UP.match(text)
    if not m:
        return None
    subject = m.group("subject").strip(" ,;:")
    if not subject or not re.search(r"[A-Za-z]", subject):
        return None
    # "and who signed it?" is a new question, not a subject
    if re.match(r"(?i)(who|what|when|where|why|how|which|is|are|was|were|does|did|do|can|could|has|have)\b", subject):
        return None
    return subject


def _find(phrase: str, text: str) -> re.Match | None:
    """A whole-word match; several words match in any case, a single word only as capitalised."""
    flags = re.I if " " in phrase.strip() else 0
    return re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", text, flags)


def _named_in(text: str, names: Iterable[str]) -> Iterator[re.Match]:
    """Where each of `names` occurs in `text`; a name is only searched for when its first word is
    in the text (a corpus of thousands of letters has hundreds of thousands of names)."""
    present = {w.lower() for w in _ALNUM.findall(text)}
    for phrase in names:
        first = _ALNUM.search(phrase)
        if first is not None and first.group(0).lower() in present:
            found = _find(phrase, text)
            if found:
                yield found


def resolve_follow_up(question: str, previous_question: str | None, names: Iterable[str] = ()) -> str:
    """The question to ask: `question` itself unless it is a short follow-up of
    `previous_question`, in which case the previous question with the new subject.

    `names`: letter-naming phrases (see `letter_phrases`), matched in the previous question.
    """
    if not previous_question or not previous_question.strip():
        return question
    subject = split_follow_up(question)
    if subject is None:
        return question
    previous = " ".join(previous_question.split())
    article = re.match(r"(?i)the\s+(?=[A-Z])", subject)  # "and the Home Office?": the user's own "the"
    subject = subject[article.end():] if article else subject
    # 1. a phrase naming a letter (from the letters' metadata), longest first
    best = None
    for found in _named_in(previous, names):
        if best is None or (found.end() - found.start(), -found.start()) > (best.end() - best.start(), -best.start()):
            best = found
    if best is not None:
        # "the Police and Crime Commissioner for X" → "Y", or "the Y" when the user wrote "the Y"
        before = re.sub(r"(?i)\bthe\s+$", "", previous[:best.start()])
        return before + ("the " if article else "") + subject + previous[best.end():]
    # 2. a trailing "in <Place>"
    m = _TRAILING_PLACE.search(previous)
    if m:
        return previous[:m.start("name")] + subject + previous[m.end("name"):]
    # 3. append
    body = previous.rstrip(" ?.!")
    mark = previous[len(body):].strip() or "?"
    prep = "" if re.match(r"(?i)(in|for|at|from|by)\s", subject) else "in "
    return f"{body} {prep}{subject}{mark[:1]}"


# "it", "they", "the letter", "who signed it?": words that point back at the letter just discussed
_BACK_REFERENCE = re.compile(
    r"\b(?:it|its|it's|they|them|their|theirs|he|she|him|her|his|hers|"
    r"(?:the|this|that|same)\s+(?:same\s+)?(?:letter|sender|writer|author|signatory|document|response|reply))\b",
    re.I)


def refers_to_previous_letter(question: str, names: Iterable[str] = ()) -> bool:
    """True when the question points back at a letter ("who signed it?", "when was the letter
    sent?", "what did she ask for?") without naming one itself (any of `names`, see
    `letter_phrases`). A pronoun capitalised inside the question is part of a name ("Her
    Majesty's Inspectorate"), not a back-reference."""
    text = " ".join(question.split())
    pointers = [m for m in _BACK_REFERENCE.finditer(text)
                if not m.group(0)[:1].isupper() or not re.search(r"\w", text[:m.start()])]
    if not pointers:
        return False
    return next(_named_in(text, names), None) is None
