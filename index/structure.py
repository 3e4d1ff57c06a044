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
from .entities import Entity, pattern_entities
from .organisation import Candidate, choose_organisation

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
    # "Our ref", "Memo ref", "Claim reference", "Case no.": any label that names a reference
    ("reference", re.compile(r"(?:[a-z]+\s+){0,2}ref(?:erence)?\.?(?:\s+(?:no|number)\.?)?|"
                             r"(?:case|claim|file|appeal|application|complaint|account|permit|licence|inquiry|"
                             r"customer|tribunal|request)\s+(?:no|number|id)\b\.?", re.I)),
    ("date", re.compile(r"date(?:d)?|sent|date\s+of\s+(?:letter|issue)", re.I)),
    ("subject", re.compile(r"subject|re|regarding|title", re.I)),
    ("recipient", re.compile(r"to|addressee|for\s+the\s+attention\s+of|f\.?a\.?o\.?", re.I)),
    ("from", re.compile(r"from", re.I)),
    ("cc", re.compile(r"cc|copy\s+to|copies\s+to|copied\s+to", re.I)),
    ("enclosures", re.compile(r"enc(?:s|l)?\.?|enclosures?|attachments?", re.I)),
]
# "Re." and "RE -" set a subject off without a colon
_SUBJECT_DASH = re.compile(r"^[\s*_#]*(?:re|subject|regarding)(?:\.\s*|\s+[-–—]\s+)(?P<value>[A-Za-z0-9].*)$", re.I)
_LABELLED = re.compile(r"^[\s|*#>]*(?P<label>[A-Za-z][A-Za-z .]{0,40}?)[\s*]*(?::|\t|\s*\|)[\s*|]*(?P<value>.*?)[\s|*]*$")
# Complimentary closes, salutations, "pp" and honorifics are closed classes fixed by letter-writing
# convention, not by any sender: a short list covers them for every sender, where a fitted criterion would
# need many more letters to relearn the same words (and the named-entity model has no label for them).
_CLOSE = re.compile(r"^[\s*_>]*(?:yours\s+(?:sincerely|faithfully|truly|ever|respectfully)|(?:with\s+)?(?:kind(?:est)?|best|warm(?:est)?|"
                    r"many)\s+(?:regards|wishes|thanks)|regards|sincerely|respectfully|(?:many\s+|with\s+)?thanks(?:\s+again)?|"
                    r"thank\s+you|cheers|best|all\s+the\s+best)\b[\s,.!*_]*$", re.I)
_SALUTATION = re.compile(r"^[\s*_>]*(?:dear|hi|hello|good\s+(?:morning|afternoon))\s+(?P<who>[^\n]+?)[\s,:*_]*$", re.I)
_FAO = re.compile(r"^\s*(?:f\.?a\.?o\.?|for\s+the\s+attention\s+of)\s*[:,]?\s*", re.I)
# Words that open a letter's first sentence: a line after "Dear ..." that starts with one is the body,
# not a subject heading (a closed class of pronouns and openers, which a fitted criterion would only relearn).
_BODY_OPENER = re.compile(r"(?:i|we|he|she|they|there|thank|thanks|following|further|as|my|our|your|in|on|with|please|it|you|"
                          r"this|the|a|an)\b", re.I)
# Protective markings (the Government Security Classifications and "private and confidential") head a
# letter in capitals without being its subject; the vocabulary is fixed by policy, hence a list.
_PROTECTIVE_MARKING = re.compile(r"^(?:official(?:[\s-]+sensitive)?|secret|top\s+secret|restricted|confidential|"
                                 r"(?:private|personal)(?:\s+(?:and|&)\s+confidential)?|in\s+confidence)\W*$", re.I)
_PP = re.compile(r"^\s*(?:pp\.?|p\.p\.?|per\s+pro\.?)\s*[:,]?\s*", re.I)
_ON_BEHALF = re.compile(r"^\s*(?:(?:signed\s+)?(?:for\s+and\s+)?on\s+behalf\s+of|for)\s+(?:the\s+)?", re.I)
_FOOTER_LINE = re.compile(r"\bpage\s+\d+\b|\s\|\s|^[-=_*]{5,}", re.I)
_HONORIFIC = re.compile(r"^(?:(?:the\s+)?rt\.?\s+hon\.?|the\s+hon\.?|mr|mrs|ms|miss|mx|dr|prof(?:essor)?|sir|dame|lord|lady|"
                        r"baroness|baron|cllr|councillor|rev(?:erend)?|his\s+honour|her\s+honour|judge)\.?\s+", re.I)
_NOT_A_NAME_LINE = re.compile(r"[@:;/\d]|https?|www\.")
# Addressees that name a group rather than a person ("Dear colleagues", "Dear Parents and Carers").
_GENERIC_ADDRESSEE = re.compile(r"^(?:sir|madam|sirs|sir\s*(?:or|/)\s*madam|colleagues?|all|everyone|friends?|parents?(?:\s+and\s+carers?)?|"
                                r"resident|customer|applicant|partners?|members?|[a-z]+\s+(?:and|&)\s+[a-z]+)$", re.I)
# ... and those that name nobody at all.
_NOBODY = re.compile(r"^(?:sir|madam|sirs|sir\s*(?:or|/)\s*madam|madam\s*(?:or|/)\s*sir|all|everyone)$", re.I)


@dataclass(frozen=True)
class Part:
    start: int
    end: int

    def of(self, text: str) -> str:
        return text[self.start:self.end]


@dataclass(frozen=True)
class Response:
    """A "Response by the Commissioner:" section: its heading, who responds (as the heading names them),
    the response's text, and the numbered item (recommendation, question) it answers."""

    heading: Part
    who: Part | None
    text: Part | None
    item: Part | None


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
    sender_address: Part | None = None  # the postal address block in the letterhead
    recipient_address: Part | None = None  # the addressee's block: name, organisation, address
    signed_by: Part | None = None  # who signed for the sender ("Sam Price" above "pp David Lowe")
    on_behalf_of: Part | None = None  # the body a signature is "for and on behalf of"
    body: Part | None = None  # from under the salutation (and subject) to above the close
    responses: tuple[Response, ...] = ()


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
        if stripped.endswith("\\"):  # a markdown hard line break
            stripped = stripped[:-1].rstrip()
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
    if match:
        label = " ".join(match.group("label").split()).rstrip(".").strip()
        for name, pattern in _LABELS:
            if pattern.fullmatch(label) or pattern.fullmatch(label + "."):
                value_start = line.start + match.start("value")
                return name, _trim_value(line, value_start, line.start + match.end("value"))
    dashed = _SUBJECT_DASH.match(line.text)
    if dashed:  # "Re. Land at Hollow Farm", "RE - Application for flexible working"
        return "subject", _trim_value(line, line.start + dashed.start("value"), line.end)
    return _unmarked_label_of(line)


def _unmarked_label_of(line: _Line) -> tuple[str, Part | None] | None:
    """A label and its value with only a space between ("Our ref ENF-2023-017", "Date 1 August 2023"), as
    PDF text gives a reference table's cells. Without a separator only the value's shape tells a label from
    a sentence, so only references (one short token with a digit) and dates (the whole value) count."""
    words = list(re.finditer(r"\S+", line.text))
    for n in range(1, min(4, len(words))):
        label = " ".join(w.group(0) for w in words[:n]).rstrip(".")
        value = line.text[words[n].start():].strip(" *|")
        for name, pattern in _LABELS:
            if not pattern.fullmatch(label):
                continue
            if name in ("reference", "their_reference") and re.fullmatch(r"[A-Z0-9][\w/.-]*\d[\w/.-]*", value) \
                    and len(value) <= 30:
                pass
            elif name == "date" and any(len(m.group(0)) >= 0.8 * len(value) for m in date_matches(value)):
                pass
            else:
                break
            return name, _trim_value(line, line.start + words[n].start(), line.end)
    return None


def _cells(line: _Line) -> list[_Line]:
    """The cells of a table row (split at "|" or tabs); [] for a line that is not one."""
    out = []
    for match in re.finditer(r"[^|\t]+", line.text):
        value = match.group(0)
        if value.strip(" *-:"):
            start = line.start + match.start() + len(value) - len(value.lstrip())
            out.append(_Line(start, start + len(value.strip()), value.strip()))
    return out if len(out) >= 2 else []


def _address_cell(line: _Line) -> _Line:
    """A table row at the top that sets an address line beside the references ("| Mr J Hale | Our ref: X |",
    or in Word text "Mr J Hale<tab>Our ref: X"), or alone in its row, read as that address line."""
    if "|" not in line.text and "\t" not in line.text:
        return line
    cells = [_Line(m.start() + line.start, m.end() + line.start, m.group(0))
             for m in re.finditer(r"[^|\t\s](?:[^|\t]*[^|\t\s])?", line.text)]
    cells = [cell for cell in cells if cell.text.strip("*-: ")]
    if len(cells) == 1 and line.text.lstrip().startswith("|"):
        return cells[0]
    if len(cells) >= 2 and not _label_of(cells[0]) and any(_label_of(cell) for cell in cells[1:]):
        return cells[0]
    return line


def _own_reference(name: str, line: _Line, earlier: Part) -> bool:
    """ "Our ref" names the sender's own reference, which outranks an earlier "Claim reference" or "Case no"."""
    return name == "reference" and bool(re.match(r"^[\s|*#>]*(?:our|my)\s+ref", line.text, re.I)) and not earlier.start > line.start


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
    text = _FAO.sub("", line.text.strip("*_ "))
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
    for prefix in (_PP, _FAO):
        found = prefix.match(text[start:end])
        if found:
            start += found.end()
    value = text[start:end]
    comma = value.find(",")
    if comma > 0:
        tail = value[comma + 1:].strip()
        # "Jane Smith, Director of ..." keeps the name; "Jane Smith, OBE" keeps the post-nominal
        if tail and not re.fullmatch(r"[A-Z]{2,5}(?:\s+[A-Z]{2,5})*", tail):
            end = start + comma
    return _trim(text, start, end)


def read_structure(text: str, entities: list[Entity] = ()) -> LetterStructure:
    return _read(text, entities)[0]


def organisation_candidates(text: str, entities: list[Entity] = ()) -> list[Candidate]:
    """The lines that may name the letter's organisation, with their layout evidence (what the
    organisation model is fitted on)."""
    return _read(text, entities)[1]


def _read(text: str, entities: list[Entity] = ()) -> tuple[LetterStructure, list[Candidate]]:
    lines = _lines(text)
    boiler = boilerplate_lines(text)
    is_boiler = {i for i, line in enumerate(lines) if (line.start, line.end) in boiler}
    entities = list(entities)

    labelled: dict[str, Part] = {}
    for i, line in enumerate(lines[:60]):
        found = _label_of(line)
        if found is None:
            # a table row of other cells with a labelled one ("| Mr J Hale | Our ref: ODYA/22/31 |"), as
            # markdown tables and Word tables (cells joined by tabs) set out an address beside the references
            found = next(filter(None, (_label_of(cell) for cell in _cells(line))), None)
        if found and found[1] is not None and (found[0] not in labelled or _own_reference(found[0], line, labelled[found[0]])):
            labelled[found[0]] = found[1]
        elif found and found[1] is None and i + 1 < len(lines) and found[0] not in labelled:
            # "Our ref" on one line (or table cell) and its value on the next
            follow = lines[i + 1]
            if not _label_of(follow) and len(follow.text) <= 60:
                labelled[found[0]] = follow.part
    if "subject" in labelled:
        labelled["subject"] = _unwrapped(text, lines, labelled["subject"])

    salutation_index = next((i for i, line in enumerate(lines) if _SALUTATION.match(line.text)), None)
    close_index = next((i for i in range(len(lines) - 1, -1, -1) if _CLOSE.match(lines[i].text)), None)
    if close_index is not None and salutation_index is not None and close_index < salutation_index:
        close_index = None
    head_end = salutation_index if salutation_index is not None else min(len(lines), 25)
    lines = [_address_cell(line) if i < head_end else line for i, line in enumerate(lines)]
    head = lines[:head_end]

    date, date_iso = _date(text, lines, head, labelled)
    sender_address, recipient_address = _address_blocks(text, lines, len(head), entities, is_boiler)
    recipient = _recipient(text, lines, salutation_index, recipient_address, labelled, entities, is_boiler)
    runs = _head_runs(text, lines, len(head), is_boiler)
    subject = _subject(text, lines, salutation_index, len(head), runs[0][-1] + 1 if runs else 0, labelled, entities)
    sender = role = organisation = signature = None
    if close_index is not None:
        signature, sender, role, organisation = _signature(text, lines, close_index, entities, is_boiler)
    if sender is None and "from" in labelled:
        sender, role, organisation = _from_header(text, labelled["from"], entities)
    if sender is not None and role is None:
        role = _role_under_name_at_top(text, lines[:head_end], sender)
    from_organisation = _from_header(text, labelled["from"], entities)[2] if "from" in labelled else None
    candidates = _organisation_candidates(text, lines, head, recipient_address, signature, sender,
                                          (organisation, from_organisation), entities, is_boiler)
    chosen = choose_organisation(candidates)
    if chosen is not None:
        organisation = chosen
    elif organisation is None:
        organisation = _letterhead_organisation(text, lines, head, entities, is_boiler)
    letterhead = _letterhead(lines, len(head), recipient_address, subject, entities, is_boiler)
    signed_by, on_behalf_of = _signatory(text, lines, signature, sender, entities)
    cc = labelled.get("cc") or _tail_list(text, lines, close_index, "cc")
    enclosures = labelled.get("enclosures") or _tail_list(text, lines, close_index, "enclosures")
    structure = LetterStructure(
        date=date, date_iso=date_iso, recipient=recipient,
        salutation=lines[salutation_index].part if salutation_index is not None else None,
        subject=subject, reference=labelled.get("reference") or _subject_reference(text, subject),
        their_reference=labelled.get("their_reference"),
        sender=sender, role=role, organisation=organisation,
        close=lines[close_index].part if close_index is not None else None, signature=signature,
        letterhead=letterhead, cc=cc, enclosures=enclosures, labelled=labelled,
        sender_address=_block_part(lines, sender_address), recipient_address=_block_part(lines, recipient_address),
        signed_by=signed_by, on_behalf_of=on_behalf_of, body=_body(text, lines, salutation_index, subject, close_index),
        responses=_responses(text, lines, close_index, is_boiler))
    return structure, candidates


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


def _recipient(text: str, lines: list[_Line], salutation_index: int | None, address: list[int] | None,
               labelled: dict[str, Part], entities: list[Entity], is_boiler: set[int]) -> Part | None:
    """The person (or body) addressed: a memo/e-mail "To:", else the first line of the address block
    when it names a person, else the salutation's addressee, else the address block's first line."""
    if "recipient" in labelled:
        part = labelled["recipient"]
        # "To: Mr D Reid (Claimant) and Brindley Ltd (Respondent)": courts and tribunals list the parties,
        # each with its part in brackets; the first named is the addressee
        parties = re.match(r"(?P<first>[^()]+?)\s*\([A-Z][a-z]+\)\s*(?:and|&|;|,)\s+\S", part.of(text))
        if parties:
            part = Part(part.start, part.start + parties.end("first"))
        line = _Line(part.start, part.end, part.of(text))
        return _name_part(text, line) or part
    address_first = None
    block = list(address or ())
    if not block and salutation_index is not None:
        # no postal address: the last block of short lines above the salutation that is not the date
        for i in range(salutation_index - 1, -1, -1):
            line = lines[i]
            gap = text[line.end:lines[i + 1].start].count("\n") >= 2 if i + 1 < len(lines) else False
            if block and gap:
                break
            if i in is_boiler or date_matches(line.text) or _labelled_detail(line):
                if block:
                    break
                continue
            block.insert(0, i)
        if block and block[0] == 0:
            block = []  # the block the letter opens with is its letterhead
    for i in block[:2]:
        line = lines[i]
        comma = line.text.find(",")
        # "Rt Hon Alastair Penhaligon MP, Minister for ..., London SW1A 2BQ": an address on one line
        first = _Line(line.start, line.start + comma, line.text[:comma]) if comma > 0 else line
        if _looks_like_name(line, entities) or first is not line and _looks_like_name(first, entities):
            return _name_part(text, line)
        if address_first is None:
            address_first = line
    if salutation_index is not None:
        salutation = _SALUTATION.match(lines[salutation_index].text)
        who = salutation.group("who").strip(" *_,")
        surname = who.split()[-1] if len(who.split()) > 1 else None
        if surname and len(surname) > 1:
            # "Dear Mr Asante" and, above it, "Mr Kwame Asante": the fuller form from the address
            for line in lines[max(0, salutation_index - 15):salutation_index]:
                if re.search(rf"\b{re.escape(surname)}\b", line.text) and len(line.text.split()) <= 6 \
                        and not re.search(r"\d|\|", line.text) and line.text.split()[0][:1].isupper() \
                        and len(_name_part(text, line).of(text).split()) > len(_HONORIFIC.sub("", who).split()):
                    return _name_part(text, line)
        # "Dear Parents and Carers" names the audience when no address block names anyone;
        # "Dear Sir or Madam" never does
        audience = not block and not _NOBODY.match(who)
        if who and (audience or not _GENERIC_ADDRESSEE.match(who)) and len(who.split()) <= 8:
            start = lines[salutation_index].start + salutation.start("who")
            return _trim(text, start, start + len(salutation.group("who")))
    if address_first is not None and len(address_first.text.split()) <= 12 and "|" not in address_first.text:
        return _name_part(text, address_first)
    return None


def _letterhead(lines: list[_Line], head_end: int, recipient_address: list[int] | None, subject: Part | None,
                entities: list[Entity], is_boiler: set[int]) -> Part | None:
    """The sender's heading at the top: its lines (contact lines included) down to the addressee's block,
    the first labelled or dated line, a statute or subject heading, or the salutation (at most 10 lines)."""
    end = min(head_end, 10, recipient_address[0] if recipient_address else head_end)
    for i in range(1, end):
        line = lines[i]
        if i not in is_boiler and (_label_of(line) or any(len(m.group(0)) >= 0.5 * len(line.text) for m in date_matches(line.text))
                                   or _legislation(line, entities) or subject is not None and line.start >= subject.start):
            end = i
            break
    return Part(lines[0].start, lines[end - 1].end) if end > 0 else None


def _block_part(lines: list[_Line], block: list[int] | None) -> Part | None:
    return Part(lines[block[0]].start, lines[block[-1]].end) if block else None


def _head_runs(text: str, lines: list[_Line], head_end: int, is_boiler: set[int]) -> list[list[int]]:
    """The top of the letter cut into runs of consecutive lines. A blank line ends a run, and so do the
    lines that are not part of an address: dates, labelled lines, contact lines, table rows, page headers
    ("Ofwat | Enforcement case ...") — PDF text has no blank lines, so these are what separate its blocks."""
    runs: list[list[int]] = [[]]
    chained = False  # the current run is a chain of one-line paragraphs (markdown sets addresses out so)
    for i in range(head_end):
        line = lines[i]
        breaker = i in is_boiler and not _inside_run(lines, i, is_boiler) or _label_of(line) or "|" in line.text or re.match(r"^[+=_-]{3,}", line.text) \
            or any(len(m.group(0)) >= 0.5 * len(line.text) for m in date_matches(line.text))
        gap = i and text[lines[i - 1].end:line.start].count("\n") >= 2
        if gap:
            # one-line paragraphs continue a chain of one-line paragraphs, until a postcode ends the address
            previous = runs[-1]
            follows_gap_only = previous and previous[-1] == i - 1
            one_line = i + 1 >= head_end or text[line.end:lines[i + 1].start].count("\n") >= 2
            ended = previous and _has_postcode(lines[previous[-1]].text)
            chained = bool(follows_gap_only and one_line and not breaker and not ended
                           and (len(previous) == 1 or chained))
            if not chained:
                runs.append([])
        if breaker:
            runs.append([])
            chained = False
        else:
            runs[-1].append(i)
    return [run for run in runs if run]


def _inside_run(lines: list[_Line], i: int, is_boiler: set[int]) -> bool:
    """A line the letter repeats (a title also in the footer: "Minister for Civil Society and Youth")
    between two lines it does not, with no contact details: part of the block around it."""
    return 0 < i < len(lines) - 1 and i - 1 not in is_boiler and i + 1 not in is_boiler \
        and not re.search(r"[\d@|]|www\.", lines[i].text)


def _has_postcode(line: str) -> bool:
    return any(e.kind == "postcode" for e in pattern_entities(line))


def _address_blocks(text: str, lines: list[_Line], head_end: int, entities: list[Entity],
                    is_boiler: set[int]) -> tuple[list[int] | None, list[int] | None]:
    """The sender's and the recipient's postal addresses: runs of the top lines that end in a postcode.
    The run the letter opens with is the letterhead (the sender's); of the others, the recipient's is the
    first headed by a person's name, else the one nearest the salutation."""
    postcodes = [e for e in pattern_entities(text) if e.kind == "postcode"]
    runs = _head_runs(text, lines, head_end, is_boiler)

    def has_postcode(run: list[int]) -> bool:
        return any(lines[run[0]].start <= e.start and e.end <= lines[run[-1]].end for e in postcodes)

    # the letterhead is the first run of more than one line or with a postcode (a protective marking or
    # a page header line may stand above it on its own)
    first = next((k for k, run in enumerate(runs) if len(run) > 1 or has_postcode(run)), 0)
    postal = [(k, run) for k, run in enumerate(runs) if has_postcode(run)]
    sender = next((run for k, run in postal if k <= first), None)
    others = [run for k, run in postal if k > first]
    named = [run for run in others if any(_looks_like_name(lines[i], entities) for i in run[:2])]
    recipient = named[0] if named else (others[-1] if others else None)
    if sender is None and len(others) > 1 and recipient is not others[0]:
        sender = others[0]
    return sender, recipient


def _subject(text: str, lines: list[_Line], salutation_index: int | None, head_end: int, letterhead_end: int,
             labelled: dict[str, Part], entities: list[Entity]) -> Part | None:
    """A labelled subject ("Subject:", "Re:"); else the heading block right after the salutation; else a
    marked heading just before it; else a marked heading line at the top below the letterhead."""
    if "subject" in labelled:
        return labelled["subject"]
    if salutation_index is not None:
        block = _heading_block(text, lines, salutation_index + 1, entities)
        if block:
            # in "Town and Country Planning Act 1990 / Appeal by Mrs Lyle / Site address: ...", the
            # subject is the line that is neither the statute it comes under nor a labelled detail
            chosen = [line for line in block if not _legislation(line, entities) and not _labelled_detail(line)]
            return _trim(text, *_span(chosen[0] if chosen else block[0]))
        before = lines[salutation_index - 1] if salutation_index > 0 else None
        if before is not None and _marked(before.text) and not _label_of(before) and not _looks_like_name(before, entities):
            return _trim(text, before.start, before.end)
    headings = [line for line in _logical_lines(text, lines, letterhead_end, head_end)
                if _marked(line.text) and not _label_of(line) and not _legislation(line, entities)
                and not _PROTECTIVE_MARKING.match(line.text.strip("*_# ")) and not date_matches(line.text)
                and not _looks_like_name(line, entities) and not pattern_entities(line.text)]
    return _trim(text, *_span(headings[-1])) if headings else None


def _unwrapped(text: str, lines: list[_Line], part: Part) -> Part:
    """A value whose line wraps onto the next ones (PDF text, hard-wrapped plain text): a line filled to
    the letter's width without closing punctuation, or a next line starting in lower case, goes on."""
    widths = sorted(len(line.text) for line in lines)
    full = 0.8 * widths[int(0.9 * (len(widths) - 1))] if widths else 0
    at = next((i for i, line in enumerate(lines) if line.start <= part.end <= line.end), None)
    if at is None:
        return part
    end = part.end
    for k in range(at, min(len(lines) - 1, at + 3)):
        line, following = lines[k], lines[k + 1]
        if text[line.end:following.start].count("\n") >= 2 or re.search(r"[.!?:;]\W*$", line.text) \
                or _label_of(following) or _SALUTATION.match(following.text) or _CLOSE.match(following.text):
            break
        if not (len(line.text) >= full or following.text[:1].islower()):
            break
        end = following.end
    return Part(part.start, end)


def _subject_reference(text: str, subject: Part | None) -> Part | None:
    """With no reference line, the case reference a subject heading carries ("Planning application
    UTT/22/2147/OP - Land at ...")."""
    if subject is None:
        return None
    found = [e for e in pattern_entities(subject.of(text)) if e.kind == "reference"
             and not re.fullmatch(r"(?:19|20)\d\d[-/](?:\d\d|(?:19|20)\d\d)", subject.of(text)[e.start:e.end])  # "2024-25" is a year
             and not any(_to_iso(m) for m in date_matches(subject.of(text)[e.start:e.end]))]  # "DOB 01/02/1960" is a date
    return Part(subject.start + found[0].start, subject.start + found[0].end) if len(found) == 1 else None


def _span(line: _Line) -> tuple[int, int]:
    return line.start, line.end


def _marked(line: str) -> bool:
    """A line set out as a heading: bold, a markdown heading, or capitals."""
    return line.startswith(("**", "#", "__")) or (line.isupper() and len(line) > 8)


def _logical_lines(text: str, lines: list[_Line], start: int, stop: int) -> list[_Line]:
    """Lines from `start` to `stop`, with a PDF's wrapped continuation (a next line that starts in lower
    case under a line with no closing punctuation) joined to the line it continues."""
    out: list[_Line] = []
    for line in lines[start:stop]:
        if out and line.text[:1].islower() and not re.search(r"[.!?:;]$", out[-1].text) \
                and text[out[-1].end:line.start].count("\n") == 1:
            out[-1] = _Line(out[-1].start, line.end, text[out[-1].start:line.end])
        else:
            out.append(line)
    return out


def _heading_block(text: str, lines: list[_Line], start: int, entities: list[Entity]) -> list[_Line]:
    """The subject lines under a salutation: a first line that does not read as the body's first sentence,
    then up to three more heading lines (marked, capitalised words, statutes, labelled details) with no
    blank line between them."""
    block: list[_Line] = []
    for line in _logical_lines(text, lines, start, min(len(lines), start + 8)):
        if block and text[block[-1].end:line.start].count("\n") >= 2 or len(block) == 4:
            break
        words = line.text.strip("*_# ").split()
        capitals = sum(w[:1].isupper() or not w[:1].isalpha() for w in words) / max(1, len(words))
        if not block:
            sentence_like = re.search(r"[.!?]\s*\S", line.text.rstrip(".")) or len(words) > 25 or \
                (_BODY_OPENER.match(line.text) and not (capitals >= 0.6 and len(words) <= 12))
            if not _marked(line.text) and sentence_like:
                break
        elif not (_marked(line.text) or capitals >= 0.6 and len(words) <= 15 or _labelled_detail(line)
                  or _legislation(line, entities)):
            break
        block.append(line)
    return block


def _labelled_detail(line: _Line) -> bool:
    """Any "Label: value" line ("Site address: ...", "Our ref: ..."), known label or not."""
    return bool(_label_of(line) or re.match(r"^[\s*_]*[A-Z][A-Za-z ]{0,30}:[\s*_]+\S", line.text))


def _legislation(line: _Line, entities: list[Entity]) -> bool:
    """A statute's title ("Town and Country Planning Act 1990"). The model tags mixed-case titles; upper-case
    ones it misses, and UK legislation titles end "Act|Order|Regulations|Rules <year>" by convention."""
    if any(e.kind == "legislation" and e.end - e.start >= 0.6 * len(line.text) and line.start <= e.start < line.end
           for e in entities):
        return True
    return bool(re.search(r"\b(?:act|order|regulations?|rules)\s+(?:19|20)\d\d\)?\W*$", line.text, re.I))


def _signature(text: str, lines: list[_Line], close_index: int, entities: list[Entity],
               is_boiler: set[int]) -> tuple[Part | None, Part | None, Part | None, Part | None]:
    """Name, role and organisation from the block under the complimentary close. Letters set it out
    the same way whoever sends them: the signer's name, then their role, then their organisation."""
    block: list[_Line] = []
    for i in range(close_index + 1, min(len(lines), close_index + 10)):
        line = lines[i]
        footer = i in is_boiler and (re.search(r"\d|@|www\.", line.text) or len(line.text.split()) > 10)
        label = _label_of(line)
        signs_off = " | " in line.text and _signs_as_person(_signature_segments(line)[0], entities)
        if footer or _FOOTER_LINE.search(line.text) and not signs_off or label and label[0] in ("cc", "enclosures"):
            break
        if re.match(r"^[\[(]?(?:signed|signature)\b", line.text, re.I) and len(line.text) < 40:
            continue
        if block and text[block[-1].end:line.start].count("\n") >= 3:
            break
        block.append(line)
    if not block:
        return None, None, None, None
    signature = Part(block[0].start, block[-1].end)
    block = [segment for line in block for segment in _signature_segments(line)]
    name_at = next((i for i, line in enumerate(block) if _PP.match(line.text) and _PP.sub("", line.text).strip()), None)
    if name_at is None:
        bare_pp = next((i for i, line in enumerate(block) if _PP.fullmatch(line.text + " ")), None)
        if bare_pp is not None and bare_pp + 1 < len(block):
            name_at = bare_pp + 1
    # two signatories set out one under the other: the first block names the sender
    first_paragraph = [i for i in range(min(3, len(block)))
                       if i == 0 or text[block[i - 1].end:block[i].start].count("\n") < 2][-1] + 1
    if name_at is None:
        name_at = next((i for i in range(first_paragraph) if _signs_as_person(block[i], entities)), None)
    if name_at is None and _plain_name(block[0], entities):
        name_at = 0
    if name_at is None:
        name_at = next((i for i, line in enumerate(block[:3]) if _signs_as_person(line, entities)), None)
    if name_at is None and _proper_name_before_comma(text, block[0]):
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
        at = rest.index(line)
        if role is None and organisation is None and at + 1 < min(3, len(rest)) and _organisation_then_role(text, line, rest[at + 1], entities):
            organisation = part  # "Jane Okafor / Northshire County Council / Director of Public Health"
            continue
        if role is None and not (_looks_like_organisation(line, entities) and organisation is None and at > 0):
            # "Head of Repairs, Northshire Homes" is split; "Senior Director, Enforcement" above an
            # organisation line is one role
            organisation_follows = organisation is None and any(
                _looks_like_organisation(later, entities) or _title_case(later.text) for later in rest[rest.index(line) + 1:][:1])
            role, tail = _role_and_organisation(text, line, entities, split=not organisation_follows)
            organisation = organisation or tail
        elif organisation is None:
            organisation = part
    return signature, sender, role, organisation


def _organisation_then_role(text: str, line: _Line, following: _Line, entities: list[Entity]) -> bool:
    """Under the name, a line the letter names again (its letterhead), then one it does not and that is
    not an organisation: the organisation comes before the role in this signature."""
    return text.count(line.text) >= 2 and text.count(following.text) < 2 and "," not in line.text \
        and not _looks_like_organisation(following, entities) and _title_case(following.text) \
        and not re.search(r"@|www\.|\d", following.text)


def _proper_name_before_comma(text: str, line: _Line) -> bool:
    """ "Davina Lowther, Police, Fire and Crime Commissioner" when the model tags no person: two to four
    capitalised words before the comma that the letter never writes in lower case (proper names, where a
    role's words, "Chief Executive", also occur as ordinary words)."""
    head = line.text.split(",", 1)[0] if "," in line.text else ""
    words = _HONORIFIC.sub("", head.strip("*_ ")).split()
    lowered = set(re.findall(r"\b[a-z][a-z'’-]*\b", text))
    return 2 <= len(words) <= 4 and all(re.fullmatch(r"[A-Z][a-z'’-]+(?:-[A-Z][a-z]+)?", w) for w in words) \
        and not any(w.lower() in lowered for w in words)


def _role_under_name_at_top(text: str, head: list[_Line], sender: Part) -> Part | None:
    """A signature of the name alone, whose letterhead sets the same name over the title ("Rt Hon
    Geoffrey Marlow MP / Minister of State for Crime, Policing and Fire"): the line under it."""
    name = _HONORIFIC.sub("", sender.of(text).strip("*_ "))
    for i, line in enumerate(head[:12]):
        if line.start >= sender.start or i + 1 >= len(head) or name not in line.text or len(line.text) > 2 * len(name) + 20:
            continue
        below = head[i + 1]
        if text[line.end:below.start].count("\n") < 2 and _title_case(below.text.replace(",", "")) \
                and not _label_of(below) and not re.search(r"[\d@|]|www\.", below.text):
            return _trim(text, below.start, below.end)
    return None


def _signature_segments(line: _Line) -> list[_Line]:
    """An e-mail signature line "Priya Shah | Parking Services Manager | Westbridge Council" as the lines
    a letter would set one under the other."""
    if " | " not in line.text:
        return [line]
    out = []
    for match in re.finditer(r"[^|]+", line.text):
        value = match.group(0)
        if value.strip():
            start = line.start + match.start() + len(value) - len(value.lstrip())
            out.append(_Line(start, start + len(value.strip()), value.strip()))
    return out


def _signs_as_person(line: _Line, entities: list[Entity]) -> bool:
    """A signature line that starts with a person's name ("Davina Lowther, Police, Fire and Crime
    Commissioner for Cumbria" holds the role after the comma)."""
    if _looks_like_name(line, entities):
        return True
    comma = line.text.find(",")
    if comma <= 0:
        return False
    head = _Line(line.start, line.start + comma, line.text[:comma])
    return _looks_like_name(head, entities) or _plain_name(head, entities) and bool(_entity_cover(head, entities, ("person",)))


def _signatory(text: str, lines: list[_Line], signature: Part | None, sender: Part | None,
               entities: list[Entity]) -> tuple[Part | None, Part | None]:
    """Who signed for the sender (the name above a "pp" line) and the body the signature is on behalf of."""
    if signature is None:
        return None, None
    block = [line for line in lines if signature.start <= line.start and line.end <= signature.end]
    signed_by = on_behalf_of = None
    for k, line in enumerate(block):
        if _PP.match(line.text) and k > 0 and signed_by is None:
            above = block[k - 1]
            if _looks_like_name(above, entities) or _plain_name(above, entities):
                signed_by = _name_part(text, above)
        behalf = _ON_BEHALF.match(line.text) or re.search(r"\bon\s+behalf\s+of\s+", line.text, re.I)
        if behalf and on_behalf_of is None and len(line.text) > behalf.end() + 2 and (sender is None or line.start >= sender.start):
            on_behalf_of = _trim(text, line.start + behalf.end(), line.end)
    return signed_by, on_behalf_of


def _body(text: str, lines: list[_Line], salutation_index: int | None, subject: Part | None,
          close_index: int | None) -> Part | None:
    """The letter's own words: under the salutation (and a subject heading there) to above the close."""
    start = salutation_index + 1 if salutation_index is not None else 0
    while start < len(lines) and subject is not None and lines[start].start < subject.end:
        start += 1
    end = close_index if close_index is not None else len(lines)
    return Part(lines[start].start, lines[end - 1].end) if start < end else None


_RESPONSE_HEADING = re.compile(r"^[\s*_#>]*(?:(?:our|my)\s+)?(?:response|reply|answer)\s+(?:by|from|of)\s+(?P<who>[^:\n]+?)"
                               r"[\s*_]*:?[\s*_]*$", re.I)
_NUMBERED = re.compile(r"^[\s*_#]*(?:\(?\d{1,2}[.)]|recommendation\s+\d+\b)", re.I)


def _responses(text: str, lines: list[_Line], close_index: int | None, is_boiler: set[int]) -> tuple[Response, ...]:
    """ "Response by X:" headings, the text under each (to the next numbered item, heading or close) and
    the numbered item above each."""
    out = []
    stop = close_index if close_index is not None else len(lines)
    for i in range(stop):
        heading = _RESPONSE_HEADING.match(lines[i].text)
        if not heading or len(lines[i].text.split()) > 10:
            continue
        body: list[_Line] = []
        for j in range(i + 1, stop):
            line = lines[j]
            if j in is_boiler or _NUMBERED.match(line.text) or _RESPONSE_HEADING.match(line.text) or _FOOTER_LINE.search(line.text):
                break
            if body and text[body[-1].end:line.start].count("\n") >= 2 and not line.text[:1].islower():
                break
            body.append(line)
        item_at = next((j for j in range(i - 1, max(-1, i - 15), -1) if _NUMBERED.match(lines[j].text)), None)
        item = None
        if item_at is not None:
            item_lines = [lines[j] for j in range(item_at, i) if j not in is_boiler and not _FOOTER_LINE.search(lines[j].text)]
            item = Part(item_lines[0].start, item_lines[-1].end) if item_lines else None
        who_start = lines[i].start + heading.start("who")
        out.append(Response(heading=lines[i].part, who=_trim(text, who_start, lines[i].start + heading.end("who")),
                            text=Part(body[0].start, body[-1].end) if body else None, item=item))
    return tuple(out)


def _role_and_organisation(text: str, line: _Line, entities: list[Entity], split: bool,
                           third_part: bool = False) -> tuple[Part | None, Part | None]:
    """A role line, and the organisation after its last comma when the tail names one: the model tags it,
    the letter names it again elsewhere, or it is the third part of "name, role, organisation"."""
    comma = line.text.rfind(",")
    if split and comma > 0:
        tail_text = line.text[comma + 1:].strip()
        tail = _Line(line.end - len(tail_text), line.end, tail_text)
        named_elsewhere = len(tail_text) > 3 and text.count(tail_text) >= 2
        if (_looks_like_organisation(tail, entities) or named_elsewhere or third_part and _title_case(tail_text)) \
                and not re.search(r"\band\b|&", tail_text):
            return _trim(text, line.start, line.start + comma), _trim(text, tail.start, tail.end)
    return _trim(text, line.start, line.end), None


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
    if _looks_like_name(head, entities) or _plain_name(head, entities):
        sender = _name_part(text, head)
        rest = _trim(text, head.end, end) if head.end < end else None
        if rest is None:
            return sender, None, None
        # "From: Rachel Dunmore, LRF Manager, Cumbria LRF Secretariat": name, role, organisation
        role, organisation = _role_and_organisation(text, _Line(rest.start, rest.end, rest.of(text)), entities,
                                                    split=True, third_part=True)
        return sender, role, organisation
    person = next((e for e in entities if part.start <= e.start and e.end <= end and e.kind == "person"), None)
    if person:
        honorific = re.search(r"(?:\b(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sir|Dame|Cllr|Councillor|Lord|Lady|Baroness|Rt\.? Hon\.?)\.?\s+)+$",
                              text[part.start:person.start])
        start = part.start + honorific.start() if honorific else person.start
        return Part(start, person.end), _trim(text, person.end, end), None
    organisation = _trim(text, part.start, end) if _looks_like_organisation(line, entities) else None
    return None, None, organisation


# " | ", " - ", " – ", " — ", a tab or a wide gap: what separates the parts of a letterhead or footer line
_SEGMENT_BREAK = re.compile(r"\s+[|–—-]\s+|\t+|\s{3,}")


_COMMA = re.compile(r",\s*")


def _segments(text: str, line: _Line, breaks: re.Pattern = _SEGMENT_BREAK) -> list[Part]:
    out, start = [], line.start
    for gap in list(breaks.finditer(line.text)) + [None]:
        end = line.start + gap.start() if gap else line.end
        part = _trim(text, start, end)
        if part is not None:
            out.append(part)
        if gap:
            start = line.start + gap.end()
    return out


def _organisation_candidates(text: str, lines: list[_Line], head: list[_Line], recipient_address: list[int] | None,
                             signature: Part | None, sender: Part | None, rule_choices: tuple[Part | None, ...],
                             entities: list[Entity], is_boiler: set[int]) -> list[Candidate]:
    """Every place a letter may name the body it comes from, each with the layout evidence for it: the
    letterhead's lines (and their " | " parts), the signature block's lines under the name (and a role
    line's part after its comma, and "on behalf of ..."), the "From:" header's parts and the footer's."""
    found: dict[tuple[int, int], dict[str, float]] = {}
    recipient_lines = set(recipient_address or ())

    def add(part: Part | None, source: str, **extra: float) -> None:
        if part is None or part.end - part.start < 3:
            return
        label = re.match(r"[\s*_#]*[A-Z][A-Za-z ]{0,30}:[\s*_]*", part.of(text))
        if label:  # "Printed by: Lowri Pritchard-Evans": the value may name a body, the whole line does not
            extra["labelled_line"] = 1.0
            part = _trim(text, part.start + label.end(), part.end)
            if part is None:
                return
        value = part.of(text).strip("*_# ")
        if not re.search(r"[A-Za-z]{2}", value) or len(value.split()) > 14 or _PROTECTIVE_MARKING.match(value):
            return
        as_line = _Line(part.start, part.end, part.of(text))
        if _looks_like_name(as_line, entities):
            return  # a person, not the body they work for
        features = found.setdefault((part.start, part.end), {})
        features[source] = 1.0
        for name, weight in extra.items():
            features[name] = max(features.get(name, 0.0), weight)

    top = [i for i in range(min(len(head), 12)) if i not in recipient_lines and not _label_of(lines[i])
           and not date_matches(lines[i].text) and not _SALUTATION.match(lines[i].text)]
    def add_line(line: _Line, source: str, **extra: float) -> None:
        segments = _segments(text, line)
        if len(segments) >= 4:
            return  # a list ("BOLTON  BURY  MANCHESTER ..." partner councils in a footer) names no one sender
        for k, part in enumerate(segments):
            add(part, source, first_segment=float(k == 0), **extra)
            commas = _segments(text, _Line(part.start, part.end, part.of(text)), _COMMA)
            if len(commas) > 1 and k == 0:  # "GMCA, Churchgate House, 56 Oxford Street": the body, then its address
                add(commas[0], source, first_segment=1.0, before_comma=1.0, **extra)

    for rank, i in enumerate(top[:8]):
        if i > 0 and _looks_like_name(lines[i - 1], entities):
            # the line under a person's name is their title ("Rt Hon Simon Hoare MP / Minister for ...");
            # no train letter shows it, so the model could not learn it and the layout rule stays
            continue
        add_line(lines[i], "letterhead", letterhead_rank=1.0 / (1 + rank))
    if signature is not None:
        block = [line for line in lines if signature.start <= line.start and line.end <= signature.end]
        after_name = [line for line in block if sender is None or line.start > sender.start]
        for k, line in enumerate(after_name[:5]):
            behalf = _ON_BEHALF.search(line.text)
            if behalf and len(line.text) > behalf.end() + 3:
                add(_trim(text, line.start + behalf.end(), line.end), "signature", on_behalf=1.0, signature_rank=1.0 / (1 + k))
                continue
            add(_trim(text, line.start, line.end), "signature", signature_rank=1.0 / (1 + k))
            comma = line.text.rfind(",")
            if comma > 0:
                add(_trim(text, line.start + comma + 1, line.end), "signature", signature_rank=1.0 / (1 + k), after_comma=1.0)
    tail_start = next((i for i, line in enumerate(lines) if signature is not None and line.start >= signature.end), len(lines))
    footer = [line for i, line in enumerate(lines)
              if i in is_boiler and i >= len(head) or i >= tail_start and not _label_of(line)]
    for line in footer:
        if not re.search(r"@|www\.|\d{4,}", line.text):
            add_line(line, "footer")
    # the model's organisations inside those lines ("GMCA, Churchgate House, 56 Oxford Street")
    regions = [(lines[i].start, lines[i].end, "letterhead") for i in top[:8]]
    regions += [(line.start, line.end, "footer") for line in footer]
    if signature is not None:
        regions.append((signature.start, signature.end, "signature"))
    for e in entities:
        where = next((source for a, b, source in regions if a <= e.start and e.end <= b), None)
        if e.kind == "organisation" and "\n" not in text[e.start:e.end] and where:
            add(Part(e.start, e.end), "entity_span", **{where: 1.0})
    for part in rule_choices:
        if part is not None:
            add(part, "layout_rule")

    lowered = text.lower()
    out = []
    for (start, end), features in found.items():
        line = _Line(start, end, text[start:end])
        value = text[start:end].strip("*_# ")
        words = value.split()
        letters = max(1, sum(c.isalpha() for c in value))

        def cover(kind: str) -> float:
            """How well the model's best span of this kind fits the candidate (shared letters over the
            letters of either): a span running on into the next part of the line fits less."""
            best = 0.0
            for e in entities:
                if e.kind == kind and e.start < end and e.end > start:
                    shared = sum(c.isalpha() for c in text[max(e.start, start):min(e.end, end)])
                    union = letters + sum(c.isalpha() for c in text[e.start:e.end]) - shared
                    best = max(best, shared / max(1, union))
            return best

        features.update(
            organisation_entity=min(1.0, cover("organisation")), person_entity=min(1.0, cover("person")),
            place_entity=min(1.0, cover("place")), digits=float(bool(re.search(r"\d", value))),
            contact=float(bool(re.search(r"@|www\.|https?:|\b(?:tel|telephone|phone|e-?mail)\b", value, re.I))),
            capitalised=float(_title_case(value) or value.isupper()), words=min(1.0, len(words) / 10),
            named_again=float(lowered.count(value.lower()) >= 2),
            spelt_out=float(bool(spelt_out(value, text))),
            person_name=float(_plain_name(line, entities)))
        out.append(Candidate(Part(start, end), features))
    return out


def spelt_out(acronym: str, text: str) -> str | None:
    """'GMCA' -> 'Greater Manchester Combined Authority' when the letter spells the acronym out."""
    if not acronym.isupper() or not 2 <= len(acronym) <= 8 or not acronym.isalpha():
        return None
    words = r"\s+".join(rf"{letter}[a-z]+" for letter in acronym)
    match = re.search(rf"\b{words}\b", text)
    return match.group(0) if match else None


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
