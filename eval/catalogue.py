"""The benchmark's letters: the catalogue ``eval/letters.jsonl`` (one letter per line, with its split and
gold metadata) and the canonical text of each letter under ``eval/letters/``.

Pure core: parsing and validation of entries; reading files is a thin shell. Schema in eval/README.md:

    {"source": "northshire-pcc-2021-10-peel-response.pdf", "split": "test", "writer": "w1",
     "sender_kind": "police_and_crime_commissioner", "layout": ["letterhead", "ref_table"],
     "format": "pdf", "pages": 3,
     "metadata": {"sender": ["Cllr Dr Amara Okafor OBE", "Amara Okafor"], "role": [...],
                  "organisation": [...], "recipient": [...], "date": "2021-10-12",
                  "reference": ["NPCC/22/114"], "subject": [...]}}
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from eval.questions import check_record

ROOT = Path(__file__).resolve().parent
LETTERS_DIR = ROOT / "letters"
SOURCES_DIR = ROOT / "letters_src"
DRAFTS_DIR = ROOT / "drafts"
CATALOGUE_FILE = ROOT / "letters.jsonl"

SPLITS: tuple[str, ...] = ("train", "dev", "test")
META_FIELDS: tuple[str, ...] = ("sender", "role", "organisation", "recipient", "date", "reference", "subject")
FORMATS: dict[str, str] = {".txt": "txt", ".md": "md", ".docx": "docx", ".pdf": "pdf"}
SENDER_KINDS: frozenset[str] = frozenset("""
police_and_crime_commissioner chief_constable mayor_combined_authority county_council district_council
parish_town_council fire_rescue police_crime_panel probation coroner minister government_department mp
select_committee regulator inspectorate foi_response subject_access_response environment_agency
charity_regulator nhs_trust integrated_care_board ambulance_service university school academy_trust
housing_association charity healthwatch ombudsman court tribunal planning_authority planning_inspectorate
utility trade_union transport_operator licensing resilience_forum complaints_reply
""".split())
LAYOUT_TAGS: frozenset[str] = frozenset("""
letterhead address_block ref_table dear_sir_madam dear_named memo email_printout multi_page_headers
numbered_paragraphs bullets table cc_list enclosures pp_signature post_nominals honorifics no_date
no_signature response_sections headings
""".split())
ENTRY_FIELDS: tuple[str, ...] = ("source", "split", "writer", "sender_kind", "layout", "format", "pages", "metadata")


@dataclass(frozen=True)
class Metadata:
    """Gold letter metadata: each field None (the letter does not say) or acceptable strings, the first
    exactly as printed; `date` is ISO YYYY-MM-DD or None."""

    sender: tuple[str, ...] | None = None
    role: tuple[str, ...] | None = None
    organisation: tuple[str, ...] | None = None
    recipient: tuple[str, ...] | None = None
    date: str | None = None
    reference: tuple[str, ...] | None = None
    subject: tuple[str, ...] | None = None

    def to_json(self) -> dict:
        return {f: (getattr(self, f) if f == "date" or getattr(self, f) is None else list(getattr(self, f)))
                for f in META_FIELDS}


@dataclass(frozen=True)
class Letter:
    source: str
    split: str
    writer: str
    sender_kind: str
    layout: tuple[str, ...]
    format: str
    pages: int
    metadata: Metadata

    def to_json(self) -> dict:
        return {"source": self.source, "split": self.split, "writer": self.writer, "sender_kind": self.sender_kind,
                "layout": list(self.layout), "format": self.format, "pages": self.pages,
                "metadata": self.metadata.to_json()}


def format_of(source: str) -> str | None:
    return FORMATS.get(Path(source).suffix.lower())


def is_iso_date(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def metadata_problems(meta: object) -> list[str]:
    """Problems of one gold metadata object (empty: valid)."""
    if not isinstance(meta, dict):
        return ["metadata must be an object"]
    problems = []
    missing = [f for f in META_FIELDS if f not in meta]
    if missing:
        problems.append(f"metadata field(s) missing: {', '.join(missing)}")
    extra = sorted(set(meta) - set(META_FIELDS))
    if extra:
        problems.append(f"unknown metadata field(s): {', '.join(extra)}")
    for name in META_FIELDS:
        value = meta.get(name)
        if value is None:
            continue
        if name == "date":
            if not is_iso_date(value):
                problems.append(f"metadata date {value!r} is not an ISO date YYYY-MM-DD (or null)")
        elif not (isinstance(value, list) and 1 <= len(value) <= 4
                  and all(isinstance(v, str) and v.strip() for v in value)):
            problems.append(f"metadata {name} must be null or a list of 1-4 non-empty strings")
    return problems


def parse_metadata(meta: dict) -> Metadata:
    return Metadata(**{f: (meta.get(f) if f == "date" or meta.get(f) is None else tuple(meta[f]))
                       for f in META_FIELDS})


def parse_letter(obj: object, where: str) -> Letter:
    """One catalogue entry; raises ValueError("where: reason") naming the first problem."""
    check_record(obj, where, ENTRY_FIELDS, ("source", "split", "writer", "sender_kind", "format"))
    if not isinstance(obj["layout"], list) or not all(isinstance(t, str) for t in obj["layout"]):
        raise ValueError(f"{where}: 'layout' must be a list of strings")
    if not isinstance(obj["pages"], int) or isinstance(obj["pages"], bool):
        raise ValueError(f"{where}: 'pages' must be an integer")
    problems = metadata_problems(obj["metadata"])
    if problems:
        raise ValueError(f"{where}: {problems[0]}")
    return Letter(obj["source"], obj["split"], obj["writer"], obj["sender_kind"], tuple(obj["layout"]),
                  obj["format"], obj["pages"], parse_metadata(obj["metadata"]))


def read_jsonl(path: Path) -> list[tuple[int, object]]:
    """(line number, decoded object) of every non-blank line; ValueError("path:line: invalid JSON ...")."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), 1):
        if line.strip():
            try:
                out.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: invalid JSON: {exc.msg} (column {exc.colno})") from None
    return out


def load_catalogue(path: Path = CATALOGUE_FILE) -> list[Letter]:
    return [parse_letter(obj, f"{path}:{n}") for n, obj in read_jsonl(path)]


def write_jsonl(path: Path, objects: Iterable[dict]) -> None:
    Path(path).write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects), encoding="utf-8")


def validate_catalogue(letters: Iterable[Letter], letters_dir: Path | None = None) -> list[str]:
    """Problems with the catalogue itself (and, given letters_dir, with the files it names)."""
    letters = list(letters)
    problems = []
    splits_of: dict[str, set[str]] = {}
    for letter in letters:
        splits_of.setdefault(letter.source, set()).add(letter.split)
    for source, n in sorted(Counter(letter.source for letter in letters).items()):
        if n > 1:
            problems.append(f"{source}: catalogued {n} times"
                            + (f" in splits {', '.join(sorted(splits_of[source]))}" if len(splits_of[source]) > 1
                               else ""))
    for letter in letters:
        p = f"{letter.source}:"
        if letter.split not in SPLITS:
            problems.append(f"{p} bad split {letter.split!r} (expected one of {', '.join(SPLITS)})")
        if letter.sender_kind not in SENDER_KINDS:
            problems.append(f"{p} unknown sender_kind {letter.sender_kind!r}")
        unknown = [t for t in letter.layout if t not in LAYOUT_TAGS]
        if unknown:
            problems.append(f"{p} unknown layout tag(s): {', '.join(unknown)}")
        if letter.format != format_of(letter.source):
            problems.append(f"{p} format {letter.format!r} does not match the file name")
        if not 1 <= letter.pages <= 20:
            problems.append(f"{p} pages must be between 1 and 20, got {letter.pages}")
        problems += [f"{p} {m}" for m in metadata_problems(letter.metadata.to_json())]
        if letters_dir is not None:
            if Path(letter.source).is_absolute() or ".." in Path(letter.source).parts:
                problems.append(f"{p} source must be a file name inside {letters_dir}")
            elif not (Path(letters_dir) / letter.source).is_file():
                problems.append(f"{p} letter file not found in {letters_dir}")
    if letters_dir is not None and Path(letters_dir).is_dir():
        known = {letter.source for letter in letters}
        for path in sorted(Path(letters_dir).iterdir()):
            if path.is_file() and format_of(path.name) and path.name not in known:
                problems.append(f"{path.name}: letter file is not in the catalogue")
    return problems


def canonical_text(letters_dir: Path, source: str) -> str:
    """What offsets refer to: ``read_text(encoding="utf-8-sig")`` for .txt/.md (CONTRACT.md), else the
    text the index's loader reads from the Word/PDF file (what ``python -m index text`` prints)."""
    path = Path(letters_dir, source)
    fmt = format_of(source)
    if fmt in ("txt", "md"):
        return path.read_text(encoding="utf-8-sig")
    if fmt is None:
        raise ValueError(f"no reader for {source!r} (expected .txt, .md, .docx or .pdf)")
    from index.loading import CorpusFile, Unreadable, load_document

    try:
        return load_document(CorpusFile(path, source, fmt, path.stat().st_size, 0)).text
    except Unreadable as exc:
        raise ValueError(f"{source}: {exc}") from None


def text_reader(letters_dir: Path):
    """canonical_text for one folder, cached by source."""
    cache: dict[str, str] = {}

    def read(source: str) -> str:
        if source not in cache:
            cache[source] = canonical_text(letters_dir, source)
        return cache[source]

    return read
