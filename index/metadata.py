"""Letter metadata from the canonical text: text (and its entities) in, `LetterMetadata` out.

The fields come from the letter's structure (`index.structure`): the date line or labelled date, the
addressee, the subject line, the sender's own reference (else a case reference in the subject heading,
else the reference it replies to), and the signature block (or memo/e-mail "From:" header, or
letterhead) for sender, role and organisation. A field the letter does not state stays None rather
than being guessed.
"""
from __future__ import annotations

import re

from .cleaning import strip_markup
from .entities import Entity, extract_entities
from .records import LetterMetadata
from .structure import DATE_PATTERNS, LetterStructure, Part, parse_date, read_structure, spelt_out

__all__ = ["DATE_PATTERNS", "ROLE_WORDS", "extract_metadata", "metadata_from_structure", "parse_date"]

# Used by the answer layer to tell a role title from a holder's name; retired with it (issue 10).
ROLE_WORDS = re.compile(
    r"\b(?:commissioner|mayor|chief\s+constable|constable|chair(?:man|woman|person)?|director|secretary|"
    r"minister|chief\s+executive|officer|leader|inspector|head\s+of|lead\s+for|president)\b", re.I)


def _value(text: str, part: Part | None, limit: int = 200) -> str | None:
    if part is None:
        return None
    value = strip_markup(part.of(text)).strip(" ,;:-")
    return value[:limit] if value else None


def organisation_value(text: str, part: Part | None) -> str | None:
    """The organisation as metadata shows it: markup removed, an acronym spelt out when the letter does."""
    value = _value(text, part)
    return (spelt_out(value, text) or value) if value else None


def metadata_from_structure(text: str, structure: LetterStructure, fallback_title: str | None = None) -> LetterMetadata:
    sender = _value(text, structure.sender, 120)
    role = _value(text, structure.role)
    organisation = organisation_value(text, structure.organisation)
    subject = _value(text, structure.subject, 300)
    if subject:
        subject = re.sub(r"^(?:subject|re|regarding)\s*[:.-]\s*", "", subject, flags=re.I) or None
    date = structure.date_iso
    who = organisation or role or sender
    title = None
    if who or subject:
        title = " — ".join(part for part in (who, _short(subject)) if part)
        if date:
            title += f" ({date})"
    return LetterMetadata(sender=sender, role=role, organisation=organisation, date=date,
                          recipient=_value(text, structure.recipient, 120), subject=subject,
                          reference=_value(text, structure.reference or structure.their_reference, 80),
                          title=title or fallback_title)


def extract_metadata(text: str, fallback_title: str | None = None,
                     entities: list[Entity] | None = None) -> LetterMetadata:
    if entities is None:
        entities = extract_entities([text])[0]
    return metadata_from_structure(text, read_structure(text, entities), fallback_title)


def _short(subject: str | None, limit: int = 90) -> str | None:
    if not subject or len(subject) <= limit:
        return subject
    return subject[: limit].rsplit(" ", 1)[0] + "…"
