"""The parts of a letter, read from its layout: a pure function, text (and its entities) in, spans out.

Letters from any sender share a small grammar: a letterhead and address blocks at the top, labelled
lines ("Our ref:", "Date:", "Subject:", memo and e-mail headers, or the same pairs as table rows), a
date line, a salutation ("Dear ..."), often a subject line, the body, a complimentary close ("Yours
sincerely") followed by the signature block (name, role, organisation, sometimes "pp"), then cc and
enclosure lists. Each part found is a `Part` with offsets into the canonical text; a part the letter
does not have is None. People and organisations are recognised by the named-entity model's spans
(`index.entities`), not by lists of job titles.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .cleaning import boilerplate_lines
from .entities import Entity

MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})
MONTHS["sept"] = 9
_MONTH = (r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_SUP = r"(?:\s*<sup>\s*|\^)?(?:st|nd|rd|th)?(?:\s*</sup>)?"
DATE_PATTERNS = [
    re.compile(rf"\b(?P<day>\d{{1,2}}){_SUP}\s+(?:of\s+)?{_MONTH},?\s+(?P<year>(?:19|20)\d\d)\b", re.I),
    re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d\d)\b", re.I),
    re.compile(r"\b(?P<day>\d{1,2})[/.](?P<monthnum>\d{1,2})[/.](?P<year>(?:19|20)\d\d)\b"),
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<monthnum>\d\d)-(?P<day>\d\d)\b"),
    re.compile(r"\b(?P<day>\d{1,2})[/.](?P<monthnum>\d{1,2})[/.](?P<year2>\d\d)\b"),
]

# Labels of the labelled lines letters, memos and printed e-mails use; the label names the part.
_LABELS: list[tuple[str, re.Pattern]] = [
    ("their_reference", re.compile(r"your\s+ref(?:erence)?\b\.?", re.I)),
    ("reference", re.compile(r"(?:our|my)\s+ref(?:erence)?\b\.?|ref(?:erence)?(?:\s+(?:no|number))?\b\.?|"
                             r"(?:case|claim|file|appeal|application|complaint|account|permit|licence|inquiry|"
                             r"customer|tribunal|request)\s+(?:ref(?:erence)?|no|number|id)\b\.?", re.I)),
    ("date", re.compile(r"date(?:d)?|sent|date\s+of\s+(?:letter|issue)", re.I)),
    ("subject", re.compile(r"subject|re|regarding|title", re.I)),
    ("recipient", re.compile(r"to|addressee|for\s+the\s+attention\s+of|f\.?a\.?o\.?", re.I)),
    ("from", re.compile(r"from", re.I)),
    ("cc", re.compile(r"cc|copy\s+to|copies\s+to|copied\s+to", re.I)),
    ("enclosures", re.compile(r"enc(?:s|l)?\.?|enclosures?|attachments?", re.I)),
]
_LABELLED = re.compile(r"^[\s|*#>]*(?P<label>[A-Za-z][A-Za-z .]{0,40}?)[\s*]*(?::|\t|\s*\|)[\s*|]*(?P<value>.*?)[\s|*]*$")
_CLOSE = re.compile(r"^[\s*_>]*(?:yours\s+(?:sincerely|faithfully|truly|ever|respectfully)|(?:with\s+)?(?:kind(?:est)?|best|warm(?:est)?)\s+"
                    r"(?:regards|wishes)|regards|sincerely|many\s+thanks|with\s+thanks)\b[\s,.!*_]*$", re.I)
_SALUTATION = re.compile(r"^[\s*_>]*dear\s+(?P<who>[^\n]+?)[\s,:*_]*$", re.I)
_PP = re.compile(r"^\s*(?:pp\.?|p\.p\.?|per\s+pro\.?)\s*[:,]?\s*", re.I)
_ON_BEHALF = re.compile(r"^\s*(?:(?:signed\s+)?(?:for\s+and\s+)?on\s+behalf\s+of|for)\s+(?:the\s+)?", re.I)
_FOOTER_LINE = re.compile(r"\bpage\s+\d+\b|\s\|\s|^[-=_*]{5,}", re.I)
_HONORIFIC = re.compile(r"^(?:(?:the\s+)?rt\.?\s+hon\.?|the\s+hon\.?|mr|mrs|ms|miss|mx|dr|prof(?:essor)?|sir|dame|lord|lady|"
                        r"baroness|baron|cllr|councillor|rev(?:erend)?|his\s+honour|her\s+honour|judge)\.?\s+", re.I)
_NOT_A_NAME_LINE = re.compile(r"[@:;/\d]|https?|www\.")
_GENERIC_ADDRESSEE = re.compile(r"^(?:sir|madam|sirs|sir\s*(?:or|/)\s*madam|colleagues?|all|everyone|friends?|parents?(?:\s+and\s+carers?)?|"
                                r"resident|customer|applicant|partners?|members?|[a-z]+\s+(?:and|&)\s+[a-z]+)$", re.I)


@dataclass(frozen=True)
class Part:
    start: int
    end: int

    def of(self, text: str) -> str:
        return text[self.start:self.end]


@dataclass(frozen=True)
class LetterStructure:
    """Where each part of a letter is; None when the letter does not have it."""

    date: Part | None = None
    date_iso: str | None = None
    recipient: Part | None = None
    salutation: Part | None = None
    subject: Part | None = None
    reference: Part | None = None
    their_reference: Part | None = None
    sender: Part | None = None
    role: Part | None = None
    organisation: Part | None = None
    close: Part | None = None
    signature: Part | None = None  # the whole signature block
    letterhead: Part | None = None
    cc: Part | None = None
    enclosures: Part | None = None
    labelled: dict[str, Part] = field(default_factory=dict)


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str  # the line without surrounding white space

    @property
    def part(self) -> Part:
        return Part(self.start, self.end)


def parse_date(text: str) -> str | None:
    """The first full date in `text` as an ISO string (UK day-first for numeric dates)."""
    found = date_matches(text)
    for match in found:
        iso = _to_iso(match)
        if iso:
            return iso
    return None


def date_matches(text: str) -> list[re.Match]:
    return sorted((m for pattern in DATE_PATTERNS for m in pattern.finditer(text)), key=lambda m: m.start())


def _to_iso(match: re.Match) -> str | None:
    groups = match.groupdict()
    try:
        if groups.get("monthnum"):
            month = int(groups["monthnum"])
        else:
            name = groups["month"].lower().rstrip(".")
            month = MONTHS.get(name) or MONTHS[name[:3]]
        year = int(groups["year"]) if groups.get("year") else 2000 + int(groups["year2"])
        return dt.date(year, month, int(groups["day"])).isoformat()
    except (KeyError, ValueError, TypeError):
        return None


def _lines(text: str) -> list[_Line]:
    out = []
    for match in re.finditer(r"[^\n]+", text):
        raw = match.group(0)
        stripped = raw.strip()
        if stripped:
            start = match.start() + len(raw) - len(raw.lstrip())
            out.append(_Line(start, start + len(stripped), stripped))
    return out


def _trim(text: str, start: int, end: int) -> Part | None:
    """The span without surrounding white space, markup marks or separators."""
    while start < end and (text[start].isspace() or text[start] in "*_|>#,;:-–•"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "*_|,;:-–"):
        end -= 1
    return Part(start, end) if end > start else None


def _label_of(line: _Line) -> tuple[str, Part | None] | None:
    match = _LABELLED.match(line.text)
    if not match:
        return None
    label = " ".join(match.group("label").split()).rstrip(".").strip()
    for name, pattern in _LABELS:
        if pattern.fullmatch(label) or pattern.fullmatch(label + "."):
            value_start = line.start + match.start("value")
            return name, _trim_value(line, value_start, line.start + match.end("value"))
    return None


def _trim_value(line: _Line, start: int, end: int) -> Part | None:
    text = line.text
    offset = line.start
    part = _trim(text, start - offset, end - offset)
    return Part(part.start + offset, part.end + offset) if part else None


def _entity_cover(line: _Line, entities: list[Entity], kinds: tuple[str, ...]) -> Entity | None:
    """An entity of one of the kinds that makes up most of the line."""
    letters = sum(c.isalpha() for c in line.text)
    best = None
    for e in entities:
        if e.kind in kinds and line.start <= e.start and e.end <= line.end + 2:
            share = (min(e.end, line.end) - e.start) / max(1, len(line.text))
            covered = sum(c.isalpha() for c in line.text[e.start - line.start:e.end - line.start])
            if covered >= 0.6 * letters and share >= 0.5 and (best is None or e.end - e.start > best.end - best.start):
                best = e
    return best


def _looks_like_name(line: _Line, entities: list[Entity]) -> bool:
    text = line.text.strip("*_ ")
    if _NOT_A_NAME_LINE.search(text) or len(text.split()) > 8 or text.endswith("."):
        return False
    if _entity_cover(line, entities, ("person",)):
        return True
    bare = _HONORIFIC.sub("", text)
    words = bare.split()
    return bool(_HONORIFIC.match(text)) and 1 <= len(words) <= 5 and all(w[:1].isupper() for w in words)


def _looks_like_organisation(line: _Line, entities: list[Entity]) -> bool:
    return bool(_entity_cover(line, entities, ("organisation",))) and not _entity_cover(line, entities, ("person",))


def _name_part(text: str, line: _Line) -> Part | None:
    """The name on a signature or address line: without 'pp', and without a role after a comma."""
    start, end = line.start, line.end
    pp = _PP.match(text[start:end])
    if pp:
        start += pp.end()
    value = text[start:end]
    comma = value.find(",")
    if comma > 0:
        tail = value[comma + 1:].strip()
        # "Jane Smith, Director of ..." keeps the name; "Jane Smith, OBE" keeps the post-nominal
        if tail and not re.fullmatch(r"[A-Z]{2,5}(?:\s+[A-Z]{2,5})*", tail):
            end = start + comma
    return _trim(text, start, end)


def read_structure(text: str, entities: list[Entity] = ()) -> LetterStructure:
    lines = _lines(text)
    boiler = boilerplate_lines(text)
    is_boiler = {i for i, line in enumerate(lines) if (line.start, line.end) in boiler}
    entities = list(entities)

    labelled: dict[str, Part] = {}
    for i, line in enumerate(lines[:60]):
        found = _label_of(line)
        if found and found[1] is not None and found[0] not in labelled:
            labelled[found[0]] = found[1]
        elif found and found[1] is None and i + 1 < len(lines) and found[0] not in labelled:
            # "Our ref" on one line (or table cell) and its value on the next
            follow = lines[i + 1]
            if not _label_of(follow) and len(follow.text) <= 60:
                labelled[found[0]] = follow.part

    salutation_index = next((i for i, line in enumerate(lines) if _SALUTATION.match(line.text)), None)
    close_index = next((i for i in range(len(lines) - 1, -1, -1) if _CLOSE.match(lines[i].text)), None)
    if close_index is not None and salutation_index is not None and close_index < salutation_index:
        close_index = None
    head_end = salutation_index if salutation_index is not None else min(len(lines), 25)
    head = lines[:head_end]

    date, date_iso = _date(text, lines, head, labelled)
    recipient = _recipient(text, lines, head, salutation_index, labelled, entities, is_boiler)
    subject = _subject(text, lines, salutation_index, labelled)
    sender = role = organisation = signature = None
    if close_index is not None:
        signature, sender, role, organisation = _signature(text, lines, close_index, entities, is_boiler)
    if sender is None and "from" in labelled:
        sender, role, organisation = _from_header(text, labelled["from"], entities)
    if organisation is None:
        organisation = _letterhead_organisation(text, lines, head, entities, is_boiler)
    letterhead = None
    if head:
        letterhead = Part(head[0].start, head[min(len(head), 6) - 1].end)
    cc = labelled.get("cc") or _tail_list(text, lines, close_index, "cc")
    enclosures = labelled.get("enclosures") or _tail_list(text, lines, close_index, "enclosures")
    return LetterStructure(
        date=date, date_iso=date_iso, recipient=recipient,
        salutation=lines[salutation_index].part if salutation_index is not None else None,
        subject=subject, reference=labelled.get("reference"), their_reference=labelled.get("their_reference"),
        sender=sender, role=role, organisation=organisation,
        close=lines[close_index].part if close_index is not None else None, signature=signature,
        letterhead=letterhead, cc=cc, enclosures=enclosures, labelled=labelled)


def _date(text: str, lines: list[_Line], head: list[_Line], labelled: dict[str, Part]) -> tuple[Part | None, str | None]:
    """A labelled date, else a line near the top that is a date, else the first date before the salutation."""
    candidates: list[Part] = []
    if "date" in labelled:
        candidates.append(labelled["date"])
    for line in head:
        for match in date_matches(line.text):
            if len(match.group(0)) >= 0.5 * len(line.text.strip("*_>| ")):
                candidates.append(Part(line.start, line.end))
    if head:
        candidates.append(Part(head[0].start, head[-1].end))
    for part in candidates:
        found = [m for m in date_matches(part.of(text)) if _to_iso(m)]
        if found:
            match = found[0]
            return Part(part.start + match.start(), part.start + match.end()), _to_iso(match)
    return None, None


def _recipient(text: str, lines: list[_Line], head: list[_Line], salutation_index: int | None,
               labelled: dict[str, Part], entities: list[Entity], is_boiler: set[int]) -> Part | None:
    """The person (or body) addressed: a memo/e-mail "To:", else the first line of the address block
    when it names a person, else the salutation's addressee, else the address block's first line."""
    if "recipient" in labelled:
        part = labelled["recipient"]
        line = _Line(part.start, part.end, part.of(text))
        return _name_part(text, line) or part
    address_first = None
    if salutation_index is not None:
        # the address block: the last block of short lines above the salutation that is not the date
        block: list[int] = []
        for i in range(salutation_index - 1, -1, -1):
            line = lines[i]
            gap = text[line.end:lines[i + 1].start].count("\n") >= 2 if i + 1 < len(lines) else False
            if block and gap:
                break
            if i in is_boiler or date_matches(line.text) or _label_of(line):
                if block:
                    break
                continue
            block.insert(0, i)
        for i in block[:1]:
            line = lines[i]
            if _looks_like_name(line, entities):
                return _name_part(text, line)
            address_first = line
        salutation = _SALUTATION.match(lines[salutation_index].text)
        who = salutation.group("who").strip(" *_,")
        surname = who.split()[-1] if len(who.split()) > 1 else None
        if surname and len(surname) > 1:
            # "Dear Mr Asante" and, above it, "Mr Kwame Asante": the fuller form from the address
            for line in lines[max(0, salutation_index - 15):salutation_index]:
                if re.search(rf"\b{re.escape(surname)}\b", line.text) and len(line.text.split()) <= 6 \
                        and not re.search(r"\d|\|", line.text) and line.text.split()[0][:1].isupper() \
                        and len(_name_part(text, line).of(text).split()) > len(who.split()):
                    return _name_part(text, line)
        if who and not _GENERIC_ADDRESSEE.match(who) and len(who.split()) <= 8:
            start = lines[salutation_index].start + salutation.start("who")
            return _trim(text, start, start + len(salutation.group("who")))
    if address_first is not None and len(address_first.text.split()) <= 12 and "|" not in address_first.text:
        return _name_part(text, address_first)
    return None


def _subject(text: str, lines: list[_Line], salutation_index: int | None, labelled: dict[str, Part]) -> Part | None:
    """A labelled subject ("Subject:", "Re:"), else a heading line right after (or just before) the salutation."""
    if "subject" in labelled:
        return labelled["subject"]
    if salutation_index is None:
        return None
    for i in (salutation_index + 1, salutation_index - 1):
        if not 0 <= i < len(lines):
            continue
        line = lines[i].text
        marked = line.startswith(("**", "#", "__")) or (line.isupper() and len(line) > 8)
        if marked or (i > salutation_index and len(line.split()) <= 25 and not re.search(r"[.!?]\s*\S", line.rstrip(".")) and
                      not re.match(r"(?:i|we|thank|thanks|following|further|as|my|our|in|on|with|please|it|you|"
                                   r"this|the|a|an)\b", line, re.I)):
            if i < salutation_index and not marked:
                continue
            return _trim(text, lines[i].start, lines[i].end)
    return None


def _signature(text: str, lines: list[_Line], close_index: int, entities: list[Entity],
               is_boiler: set[int]) -> tuple[Part | None, Part | None, Part | None, Part | None]:
    """Name, role and organisation from the block under the complimentary close. Letters set it out
    the same way whoever sends them: the signer's name, then their role, then their organisation."""
    block: list[_Line] = []
    for i in range(close_index + 1, min(len(lines), close_index + 10)):
        line = lines[i]
        footer = i in is_boiler and (re.search(r"\d|@|www\.", line.text) or len(line.text.split()) > 10)
        label = _label_of(line)
        if footer or _FOOTER_LINE.search(line.text) or label and label[0] in ("cc", "enclosures"):
            break
        if re.match(r"^[\[(]?(?:signed|signature)\b", line.text, re.I) and len(line.text) < 40:
            continue
        if block and text[block[-1].end:line.start].count("\n") >= 3:
            break
        block.append(line)
    if not block:
        return None, None, None, None
    signature = Part(block[0].start, block[-1].end)
    name_at = next((i for i, line in enumerate(block) if _PP.match(line.text) and _PP.sub("", line.text).strip()), None)
    if name_at is None:
        bare_pp = next((i for i, line in enumerate(block) if _PP.fullmatch(line.text + " ")), None)
        if bare_pp is not None and bare_pp + 1 < len(block):
            name_at = bare_pp + 1
    if name_at is None:
        name_at = next((i for i, line in enumerate(block[:3]) if _looks_like_name(line, entities)), None)
    if name_at is None and _plain_name(block[0], entities):
        name_at = 0
    if name_at is None:
        # no person: a team or office signs ("Revenues and Benefits Service")
        first = block[0]
        organisation = _trim(text, first.start, first.end) if _title_case(first.text) else None
        return signature, None, None, organisation
    name_line = block[name_at]
    sender = _name_part(text, name_line)
    role = organisation = None
    rest: list[_Line] = []
    if sender and sender.end < name_line.end and name_line.text.find(",") > 0:
        tail = text[sender.end + 1:name_line.end]
        rest.append(_Line(name_line.end - len(tail.lstrip()), name_line.end, tail.strip()))
    rest += [line for line in block[name_at + 1:] if not _PP.match(line.text)]
    for line in rest[:3]:
        if re.search(r"@|www\.|https?:|\b(?:tel|telephone|phone|mobile|e-?mail)\b|\d{4,}", line.text, re.I):
            break
        behalf = _ON_BEHALF.match(line.text)
        if behalf and len(line.text) > behalf.end() + 3:
            organisation = organisation or _trim(text, line.start + behalf.end(), line.end)
            continue
        part = _trim(text, line.start, line.end)
        if part is None:
            continue
        if role is None and not (_looks_like_organisation(line, entities) and organisation is None and rest.index(line) > 0):
            comma = line.text.rfind(",")
            if comma > 0:
                # "Head of Repairs, Northshire Homes": the role, then the organisation
                tail_text = line.text[comma + 1:].strip()
                tail = _Line(line.end - len(tail_text), line.end, tail_text)
                named_elsewhere = len(tail_text) > 3 and text.count(tail_text) >= 2
                if (_looks_like_organisation(tail, entities) or named_elsewhere) and not re.search(r"\band\b|&", tail_text):
                    role = _trim(text, line.start, line.start + comma)
                    organisation = organisation or _trim(text, tail.start, tail.end)
                    continue
            role = part
        elif organisation is None:
            organisation = part
    return signature, sender, role, organisation


def _plain_name(line: _Line, entities: list[Entity]) -> bool:
    """A line that reads as a person's name: two to six capitalised words (post-nominals allowed), no
    digits, not an organisation the model recognises."""
    words = _HONORIFIC.sub("", line.text.strip("*_ ")).split()
    return 2 <= len(words) <= 6 and not re.search(r"[\d@:/|]", line.text) and \
        all(w[0].isupper() for w in words) and not _looks_like_organisation(line, entities) and \
        not re.search(r"\b(?:of|and|for|the)\b", line.text, re.I)


def _from_header(text: str, part: Part, entities: list[Entity]) -> tuple[Part | None, Part | None, Part | None]:
    """ "From: Jane Smith, Director of Public Health" or "From: Jane Smith <j.smith@x.gov.uk>"."""
    value = part.of(text)
    bracket = value.find("<")
    end = part.start + (bracket if bracket > 0 else len(value))
    line = _Line(part.start, end, text[part.start:end].strip())
    if not line.text:
        return None, None, None
    comma = line.text.find(",")
    head = _Line(line.start, line.start + comma, line.text[:comma].strip()) if comma > 0 else line
    if _looks_like_name(head, entities):
        sender = _name_part(text, head)
        role = _trim(text, head.end, end) if head.end < end else None
        return sender, role, None
    person = next((e for e in entities if part.start <= e.start and e.end <= end and e.kind == "person"), None)
    if person:
        honorific = re.search(r"(?:\b(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sir|Dame|Cllr|Councillor|Lord|Lady|Baroness|Rt\.? Hon\.?)\.?\s+)+$",
                              text[part.start:person.start])
        start = part.start + honorific.start() if honorific else person.start
        return Part(start, person.end), _trim(text, person.end, end), None
    organisation = _trim(text, part.start, end) if _looks_like_organisation(line, entities) else None
    return None, None, organisation


def _letterhead_organisation(text: str, lines: list[_Line], head: list[_Line], entities: list[Entity],
                             is_boiler: set[int]) -> Part | None:
    """The body the letter is from, named in its letterhead: the first organisation line at the top, or
    an "Office of the ..." block, or the organisation a repeated footer names."""
    for i, line in enumerate(head[:8]):
        if re.match(r"^[\s*]*(?:the\s+)?office\s+of\s+the\b", line.text, re.I):
            end = line
            for follow in head[i + 1:i + 4]:
                if text[end.end:follow.start].count("\n") >= 2 or date_matches(follow.text) or _label_of(follow) \
                        or _looks_like_name(follow, entities) or re.search(r"\d", follow.text) or len(follow.text.split()) > 5:
                    break
                end = follow
            return _trim(text, line.start, end.end)
    for line in head[:6]:
        if _looks_like_organisation(line, entities) and not date_matches(line.text) and not _label_of(line) \
                and not re.search(r"\d|:", line.text):
            return _first_segment(text, line)
    first = head[0] if head else None
    if first is not None and _title_case(first.text) and not _looks_like_name(first, entities) \
            and not date_matches(first.text) and not _label_of(first) and not _SALUTATION.match(first.text):
        return _first_segment(text, first)  # letterheads open with the sender's name
    for i, line in enumerate(lines):
        if i in is_boiler:
            org = next((e for e in entities if line.start <= e.start and e.end <= line.end and e.kind == "organisation"), None)
            if org is not None:
                return Part(org.start, org.end)
    return None


def _first_segment(text: str, line: _Line) -> Part | None:
    """A letterhead line up to its first " | " separator ("Tewkesbury Borough Council | Development Management")."""
    cut = line.text.find(" | ")
    return _trim(text, line.start, line.start + cut if cut > 0 else line.end)


def _title_case(line: str) -> bool:
    words = re.findall(r"[A-Za-z][\w'’-]*", line.strip("*_# "))
    small = {"of", "and", "the", "for", "in", "on", "at", "&"}
    return 1 <= len(words) <= 10 and not re.search(r"\d|[.:;!?]$", line.strip("*_ ")) and \
        all(w[0].isupper() or w.lower() in small for w in words)


def _tail_list(text: str, lines: list[_Line], close_index: int | None, name: str) -> Part | None:
    for line in lines[(close_index or 0):]:
        found = _label_of(line)
        if found and found[0] == name:
            return found[1] or line.part
    return None
