"""Letter metadata from the canonical text: a pure function, text in, `LetterMetadata` out.

Each field is read from where letters put it (date line near the top, "Dear ..." salutation, a
subject line, "My Reference:", the signature block after "Yours sincerely", a letterhead that names
the office). A field the letter does not state stays None rather than being guessed.
"""
from __future__ import annotations

import datetime as dt
import re

from .cleaning import boilerplate_lines, strip_markup
from .records import LetterMetadata

MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})
MONTHS["sept"] = 9
_MONTH = r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_SUP = r"(?:\s*<sup>\s*|\^)?(?:st|nd|rd|th)?(?:\s*</sup>)?"
DATE_PATTERNS = [
    re.compile(rf"\b(?P<day>\d{{1,2}}){_SUP}\s+(?:of\s+)?{_MONTH},?\s+(?P<year>(?:19|20)\d\d)\b", re.I),
    re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d\d)\b", re.I),
    re.compile(r"\b(?P<day>\d{1,2})[/.](?P<monthnum>\d{1,2})[/.](?P<year>(?:19|20)\d\d)\b"),
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<monthnum>\d\d)-(?P<day>\d\d)\b"),
]
_CLOSINGS = re.compile(r"^\s*(?:\*\*)?(?:yours\s+(?:sincerely|faithfully|truly|ever)|kind(?:est)?\s+regards|best\s+wishes|with\s+best\s+wishes|regards)\b[^\n]*$", re.I | re.M)
_SALUTATION = re.compile(r"^\s*(?:\*\*)?dear\s+(?P<who>[^\n,]+?)\s*,?\s*(?:\*\*)?\s*,?\s*$", re.I | re.M)
_REFERENCE = re.compile(r"^\s*(?:\*\*)?(?:my|our)\s+ref(?:erence)?\.?\s*(?:\*\*)?\s*[:.]?\s*(?P<ref>[^\n]*)$", re.I | re.M)
_SUBJECT = re.compile(r"^\s*(?:\*\*)?(?:subject|re|ref)\s*[:.-]\s*(?:\*\*)?\s*(?P<subject>[^\n]+)$", re.I | re.M)
ROLE_WORDS = re.compile(
    r"\b(?:commissioner|mayor|chief\s+constable|constable|chair(?:man|woman|person)?|director|secretary|"
    r"minister|chief\s+executive|officer|leader|inspector|head\s+of|lead\s+for|president)\b", re.I)
_ORG_START = re.compile(r"^\s*(?:\*\*)?\s*(?:the\s+)?office\s+of\s+the\b", re.I)
_ACRONYM_ADDRESS = re.compile(r"^\s*(?P<org>[A-Z][A-Za-z&]*[A-Z](?:\s[A-Z][A-Za-z&]*)*),\s+\S")
_HONORIFICS = re.compile(r"\s+(?:OBE|MBE|CBE|KBE|DBE|QPM|KC|QC|MP|JP|DL|PhD)\b\.?", re.I)


def parse_date(text: str) -> str | None:
    """The first full date in `text` as an ISO string (UK day-first for numeric dates)."""
    found = []
    for pattern in DATE_PATTERNS:
        for match in pattern.finditer(text):
            found.append((match.start(), match))
            break
    for _, match in sorted(found, key=lambda item: item[0]):
        iso = _to_iso(match)
        if iso:
            return iso
    return None


def _to_iso(match: re.Match) -> str | None:
    groups = match.groupdict()
    try:
        if groups.get("monthnum"):
            month = int(groups["monthnum"])
        else:
            name = groups["month"].lower().rstrip(".")
            month = MONTHS.get(name) or MONTHS[name[:3]]
        return dt.date(int(groups["year"]), month, int(groups["day"])).isoformat()
    except (KeyError, ValueError):
        return None


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines()]


def _next_nonblank(lines: list[str], index: int) -> tuple[int, str] | None:
    for j in range(index, len(lines)):
        if lines[j].strip():
            return j, lines[j]
    return None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = strip_markup(value).strip(" ,;:-")
    return value or None


def _signature(text: str, boiler: set[str]) -> tuple[str | None, str | None]:
    closings = list(_CLOSINGS.finditer(text))
    if not closings:
        return None, None
    lines = _lines(text[closings[-1].end():])
    found = _next_nonblank(lines, 1 if lines and not lines[0].strip() else 0)
    if not found:
        return None, None
    index, name_line = found
    name = _clean(name_line)
    if not name or len(name.split()) > 8 or name.lower() in boiler:
        return None, None
    role_parts: list[str] = []
    following = _next_nonblank(lines, index + 1)
    if following:
        j, line = following
        while j < len(lines) and lines[j].strip():
            cleaned = _clean(lines[j])
            if not cleaned or cleaned.lower() in boiler or len(cleaned.split()) > 20:
                break
            role_parts.append(cleaned)
            j += 1
    role = " ".join(role_parts) or None
    if role and not ROLE_WORDS.search(role):
        role = None
    return name, role


def _letterhead_sender(text: str) -> tuple[str | None, str | None]:
    """Sender named in the letterhead: a person's name line directly followed by a role line."""
    head = _lines(text[:1500])
    for i, line in enumerate(head[:-1]):
        name, nxt = _clean(line), _clean(head[i + 1])
        if name and nxt and ROLE_WORDS.search(nxt) and 2 <= len(name.split()) <= 6 and not ROLE_WORDS.search(name) \
                and all(w[:1].isupper() for w in name.split()):
            return name, nxt
    return None, None


def _organisation(text: str, boiler: set[str]) -> str | None:
    blocks = re.split(r"\n\s*\n", text[:3000])
    for block in blocks:
        if _ORG_START.match(block):
            return _clean(" ".join(block.split()))
    for line in text.splitlines():
        if line.strip().lower() in boiler or strip_markup(line).lower() in boiler:
            match = _ACRONYM_ADDRESS.match(strip_markup(line))
            if match:
                return _expand_acronym(match.group("org"), text)
    return None


def _expand_acronym(acronym: str, text: str) -> str:
    """'GMCA' -> 'Greater Manchester Combined Authority' when the letter spells it out."""
    if not acronym.isupper() or not 2 <= len(acronym) <= 8:
        return acronym
    words = r"\s+".join(rf"{letter}[a-z]+" for letter in acronym)
    match = re.search(rf"\b{words}\b", text)
    return match.group(0) if match else acronym


def extract_metadata(text: str, fallback_title: str | None = None) -> LetterMetadata:
    boiler = {strip_markup(text[s:e]).lower() for s, e in boilerplate_lines(text)}
    salutation = _SALUTATION.search(text)
    head = text[: salutation.start()] if salutation else text[:1500]
    date = parse_date(head) or parse_date(text[:3000])
    recipient = _clean(salutation.group("who")) if salutation else None
    if recipient and len(recipient.split()) > 8:
        recipient = None

    reference = None
    ref_match = _REFERENCE.search(text[:3000])
    if ref_match:
        reference = _clean(ref_match.group("ref"))

    subject = None
    subject_match = _SUBJECT.search(text[:4000])
    if subject_match and not subject_match.group(0).lower().lstrip("* ").startswith(("my ref", "our ref")):
        subject = _clean(subject_match.group("subject"))
    elif salutation:
        after = _lines(text[salutation.end():])
        found = _next_nonblank(after, 0)
        if found:
            candidate = _clean(found[1])
            opener = re.match(r"(?:i|we|thank|following|further|as|my|our|in|on|with|please|it)\b", candidate or "", re.I)
            if candidate and len(candidate.split()) <= 40 and not opener:
                subject = candidate.rstrip(".")

    sender, role = _signature(text, boiler)
    head_sender, head_role = _letterhead_sender(text)
    if sender is None:
        sender, role = head_sender, head_role
    elif role is None and head_sender and _same_person(sender, head_sender):
        role = head_role
    if sender:
        sender = _HONORIFICS.sub("", sender).strip()

    organisation = _organisation(text, boiler)
    who = organisation or role or sender
    title = None
    if who or subject:
        title = " — ".join(part for part in (who, _short(subject)) if part)
        if date:
            title += f" ({date})"
    return LetterMetadata(sender=sender, role=role, organisation=organisation, date=date, recipient=recipient,
                          subject=subject, reference=reference, title=title or fallback_title)


def _same_person(a: str, b: str) -> bool:
    return _HONORIFICS.sub("", a).strip().lower() == _HONORIFICS.sub("", b).strip().lower()


def _short(subject: str | None, limit: int = 90) -> str | None:
    if not subject or len(subject) <= limit:
        return subject
    return subject[: limit].rsplit(" ", 1)[0] + "…"
