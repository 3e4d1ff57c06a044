"""Compiling the writers' drafts into the benchmark: ``python -m eval compile``.

Reads ``eval/drafts/wN.letters.jsonl`` and ``eval/drafts/wN.questions.jsonl`` (format:
BENCHMARK_SPEC.md), and writes

- ``eval/letters.jsonl``: one catalogue entry per letter with its split. A letter keeps the split it
  already has in an existing catalogue; a new letter is given one once, by a seeded, stratified deal
  (``assign_splits``). The two shipped letters are copied from ``corpus/`` and are dev.
- ``eval/questions.jsonl``: the 140 original questions (ids q001-q140, about the shipped letters,
  split dev), then every draft question with its gold span located in the letter's canonical text
  and its answers rewritten to the exact canonical characters.

Locating is whitespace-insensitive (a PDF's text breaks lines where the source had spaces, a Word
table's cells are tab-separated where the source had ``|``). A draft that cannot be located is
reported and left out.
"""
from __future__ import annotations

import random
import re
import shutil
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

from eval.catalogue import (CATALOGUE_FILE, DRAFTS_DIR, LETTERS_DIR, SPLITS, Letter, Metadata, format_of,
                            load_catalogue, metadata_problems, parse_metadata, read_jsonl, text_reader, write_jsonl)
from eval.questions import CATEGORIES, FIELDS

ROOT = Path(__file__).resolve().parent
QUESTIONS_FILE = ROOT / "questions.jsonl"
SHIPPED_CORPUS = ROOT.parent / "corpus"
# Shares of all letters per split (the issue: about 50% train, 25% dev, 25% test).
SPLIT_SHARES = {"train": 0.5, "dev": 0.25, "test": 0.25}
# Any fixed number would do; it is fixed so that the deal is reproducible.
SPLIT_SEED = 9
LEGACY_ID = re.compile(r"^q\d{3}$")
# Characters ignored when locating a draft's text: white space (line breaks in PDF text), table
# pipes (tabs or spaces in the rendered file) and bold markers (gone from rendered text).
IGNORED = "|*"

GMCA = "gmca-2020-05-04-prevent-response.txt"
WY = "west-yorkshire-pcc-2020-06-19-prevent-response.txt"
SHIPPED: tuple[Letter, ...] = (
    Letter(GMCA, "dev", "shipped", "mayor_combined_authority",
           ("address_block", "dear_named", "honorifics", "multi_page_headers", "headings"), "txt", 3,
           Metadata(sender=("Baroness Beverley Hughes", "Beverley Hughes"),
                    role=("Deputy Mayor of Greater Manchester Policing, Crime and Criminal Justice", "Deputy Mayor"),
                    organisation=("GMCA", "Greater Manchester Combined Authority"),
                    recipient=("Rt Hon Priti Patel", "Priti Patel", "Home Secretary"),
                    date="2020-05-04", reference=None,
                    subject=("Her Majesty's Inspectorate of Crime and Fire and Rescue Service (HMICFRS) Report "
                             "Counter-terrorism policing - An inspection of the police's contribution to the "
                             "government's Prevent programme",
                             "Counter-terrorism policing - An inspection of the police's contribution to the "
                             "government's Prevent programme"))),
    Letter(WY, "dev", "shipped", "police_and_crime_commissioner",
           ("letterhead", "address_block", "dear_named", "post_nominals", "headings"), "txt", 3,
           Metadata(sender=("Mark Burns-Williamson OBE", "Mark Burns-Williamson"),
                    role=("Police and Crime Commissioner for West Yorkshire",),
                    organisation=("Office of the Police & Crime Commissioner West Yorkshire",
                                  "Office of the Police and Crime Commissioner for West Yorkshire",
                                  "West Yorkshire OPCC"),
                    recipient=("Home Secretary",), date="2020-06-19", reference=("OPCC/MBW/NF",),
                    subject=("HMICFRS Inspection Report: Counter-terrorism policing - An inspection of the police's "
                             "contribution to the government's Prevent programme",
                             "Counter-terrorism policing - An inspection of the police's contribution to the "
                             "government's Prevent programme"))),
)
# The original 29 questions the letters cannot answer were all filed as "unanswerable"; each now has
# the category of what it asks for and, when it is about one letter, that letter (None: both/neither).
LEGACY_UNANSWERABLE: dict[str, tuple[str, str | None]] = {
    "q112": ("amount", GMCA), "q113": ("amount", GMCA), "q114": ("amount", WY), "q115": ("date", None),
    "q116": ("number", WY), "q117": ("description", None), "q118": ("person", WY), "q119": ("person", GMCA),
    "q120": ("number", GMCA), "q121": ("date", GMCA), "q122": ("description", None), "q123": ("number", WY),
    "q124": ("amount", GMCA), "q125": ("description", None), "q126": ("person", GMCA),
    "q127": ("description", GMCA), "q128": ("number", GMCA), "q129": ("organisation", GMCA),
    "q130": ("number", WY), "q131": ("person", WY), "q132": ("date", WY), "q133": ("person", None),
    "q134": ("number", GMCA), "q135": ("description", None), "q136": ("description", None),
    "q137": ("number", GMCA), "q138": ("description", None), "q139": ("description", None),
    "q140": ("organisation", None),
}
LEGACY_CATEGORIES = {"action": "description"}  # the old "action" questions ask what was done: descriptions


@dataclass(frozen=True)
class DraftQuestion:
    writer: str
    line: int
    letter: str
    question: str
    category: str
    answerable: bool
    answers: tuple[str, ...]
    evidence: str | None

    @property
    def where(self) -> str:
        return f"drafts/{self.writer}.questions.jsonl:{self.line}"


@dataclass(frozen=True)
class Compiled:
    letters: tuple[Letter, ...]
    questions: tuple[dict, ...]
    problems: tuple[str, ...]


# --- locating text (pure) -----------------------------------------------------------------------
def _squeeze(text: str, ignored: str, skip: Sequence[bool] | None = None) -> tuple[str, list[int]]:
    kept, where = [], []
    for i, ch in enumerate(text):
        if not ch.isspace() and ch not in ignored and not (skip and skip[i]):
            kept.append(ch)
            where.append(i)
    return "".join(kept), where


def repeated_lines(text: str) -> list[bool]:
    """Per character: is it on a line that repeats in the text (digits aside) — a page header or footer
    that a PDF's text puts between the last words of one page and the first of the next."""
    lines = list(re.finditer(r"[^\n]+", text))
    seen = Counter(re.sub(r"\d+", "#", m.group().strip()) for m in lines)
    skip = [False] * len(text)
    for m in lines:
        if len(m.group().strip()) >= 8 and seen[re.sub(r"\d+", "#", m.group().strip())] > 1:
            skip[m.start():m.end()] = [True] * (m.end() - m.start())
    return skip


def locate(text: str, needle: str, ignored: str = IGNORED, skip: Sequence[bool] | None = None) -> tuple[int, int] | None:
    """[start, end) of `needle` in `text`: an exact match if there is one, else the first match that
    ignores white space and the `ignored` characters (the span then starts and ends on real characters),
    and, given `skip`, the characters it marks (see repeated_lines)."""
    if not needle or not needle.strip():
        return None
    found = text.find(needle)
    if found >= 0:
        return found, found + len(needle)
    hay, where = _squeeze(text, ignored, skip)
    pin, _ = _squeeze(needle, ignored)
    if not pin:
        return None
    at = hay.find(pin)
    if at < 0:
        return None
    return where[at], where[at + len(pin) - 1] + 1


def short_names(sources: Sequence[str]) -> dict[str, str]:
    """A short unique id prefix per letter: the first three words of its slug, more if needed."""
    slugs = {s: re.sub(r"[^a-z0-9]+", "-", Path(s).stem.lower()).strip("-").split("-") for s in sources}
    out = {}
    for source, words in slugs.items():
        n = min(3, len(words))
        while n < len(words) and any(o != source and slugs[o][:n] == words[:n] for o in slugs):
            n += 1
        out[source] = "-".join(words[:n])
    return out


# --- splits (pure) ------------------------------------------------------------------------------
def _format_group(source: str) -> str:
    fmt = format_of(source) or "txt"
    return fmt if fmt in ("docx", "pdf") else "text"


def assign_splits(new: Sequence[Letter], existing: Sequence[Letter], seed: int = SPLIT_SEED) -> dict[str, str]:
    """A split for each new letter; existing letters keep theirs.

    Stratified and deterministic: new letters are grouped by format (docx, pdf, txt/md); each group is
    shuffled with the seed and then ordered so that consecutive letters come from different writers;
    the groups are dealt one after another, each letter to the split furthest below its share of all
    letters (SPLIT_SHARES). So every split gets Word and PDF letters, several writers and a mix of
    senders, in proportion.
    """
    rng = random.Random(seed)
    total = len(new) + len(existing)
    have = Counter(letter.split for letter in existing)
    wanted = {s: max(0.0, SPLIT_SHARES[s] * total - have[s]) for s in SPLITS}  # what the new letters must fill
    shares = {s: wanted[s] / (sum(wanted.values()) or 1.0) for s in SPLITS}
    order: list[Letter] = []
    for group in ("docx", "pdf", "text"):
        members = sorted((x for x in new if _format_group(x.source) == group), key=lambda x: x.source)
        rng.shuffle(members)
        seen: Counter = Counter()
        ranked = []
        for letter in members:  # k-th letter of its writer in the shuffled order
            ranked.append((seen[letter.writer], letter))
            seen[letter.writer] += 1
        order += [letter for _, letter in sorted(ranked, key=lambda pair: pair[0])]
    counts: Counter = Counter()
    out = {}
    for done, letter in enumerate(order, start=1):
        split = max(SPLITS, key=lambda s: (shares[s] * done - counts[s], -SPLITS.index(s)))
        counts[split] += 1
        out[letter.source] = split
    return out


# --- drafts -------------------------------------------------------------------------------------
def load_drafts(drafts_dir: Path) -> tuple[list[Letter], list[DraftQuestion], list[str]]:
    """Draft catalogue entries (split unset) and questions of every writer, with format problems."""
    letters: list[Letter] = []
    questions: list[DraftQuestion] = []
    problems: list[str] = []
    for writer, _, where, obj in _draft_rows(drafts_dir, "letters", problems):
        if not isinstance(obj, dict) or not isinstance(obj.get("source"), str):
            problems.append(f"{where}: not a catalogue entry with a source")
            continue
        meta_problems = metadata_problems(obj.get("metadata"))
        if meta_problems:
            problems.append(f"{where}: {obj['source']}: {meta_problems[0]}")
            continue
        layout = obj.get("layout") or []
        letters.append(Letter(obj["source"], "", writer, str(obj.get("sender_kind")),
                              tuple(layout) if isinstance(layout, list) else (), format_of(obj["source"]) or "",
                              obj.get("pages") if isinstance(obj.get("pages"), int) else 1,
                              parse_metadata(obj["metadata"])))
    for writer, line, where, obj in _draft_rows(drafts_dir, "questions", problems):
        try:
            questions.append(_draft_question(obj, writer, line))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    return letters, questions, problems


def _draft_rows(drafts_dir: Path, kind: str, problems: list[str]):
    """(writer, line, "drafts/<file>:<line>", object) for every row of every writer's <kind> drafts; a file
    that is not JSON lines is reported in `problems` and skipped."""
    for path in sorted(Path(drafts_dir).glob(f"*.{kind}.jsonl")):
        writer = path.name.split(".")[0]
        try:
            rows = read_jsonl(path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        for n, obj in rows:
            yield writer, n, f"drafts/{path.name}:{n}", obj


def _draft_question(obj: object, writer: str, line: int) -> DraftQuestion:
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    for name in ("letter", "question", "category"):
        if not isinstance(obj.get(name), str) or not obj[name].strip():
            raise ValueError(f"{name!r} must be a non-empty string")
    if obj["category"] not in CATEGORIES:
        raise ValueError(f"unknown category {obj['category']!r}")
    if not isinstance(obj.get("answerable"), bool):
        raise ValueError("'answerable' must be true or false")
    answers = obj.get("answers") or []
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise ValueError("'answers' must be a list of strings")
    evidence = obj.get("evidence")
    if obj["answerable"] and (not answers or not isinstance(evidence, str) or not evidence.strip()):
        raise ValueError("an answerable question needs answers and evidence")
    if not obj["answerable"] and (answers or evidence):
        raise ValueError("an unanswerable question has answers [] and evidence null")
    return DraftQuestion(writer, line, obj["letter"], " ".join(obj["question"].split()), obj["category"],
                         obj["answerable"], tuple(answers), evidence)


def resolve(draft: DraftQuestion, text: str) -> tuple[int | None, int | None, list[str], list[str]]:
    """(char_start, char_end, answers as canonical substrings, problems) of one draft question."""
    if not draft.answerable:
        return None, None, [], []
    span = locate(text, draft.evidence or "")
    if span is None:  # maybe across a page break, with the footer and next header in between
        span = locate(text, draft.evidence or "", skip=repeated_lines(text))
    if span is None:
        return None, None, [], [f"{draft.where}: evidence not found in {draft.letter}: {draft.evidence[:70]!r}"]
    start, end = span
    gold, skip = text[start:end], repeated_lines(text)[start:end]
    answers, problems = [], []
    for answer in draft.answers:
        inner = locate(gold, answer)
        if inner is None:
            problems.append(f"{draft.where}: answer {answer!r} not found unbroken inside the located evidence"
                            + (" (a page break splits it)" if locate(gold, answer, skip=skip) else ""))
        elif gold[inner[0]:inner[1]] not in answers:
            answers.append(gold[inner[0]:inner[1]])
    if answers and len(answers) < len(draft.answers):
        problems = []  # the other answers stand; only report a question that loses every answer
    return start, end, answers, problems


# --- legacy questions ---------------------------------------------------------------------------
def legacy_questions(rows: Iterable[dict]) -> list[dict]:
    """The original questions (ids qNNN) in the current schema: split dev, real categories for the
    former "unanswerable" ones, "action" renamed "description". Idempotent."""
    out = []
    for obj in rows:
        if not LEGACY_ID.match(str(obj.get("id", ""))):
            continue
        q = {name: obj.get(name) for name in FIELDS}
        q["split"] = "dev"
        q["category"] = LEGACY_CATEGORIES.get(q["category"], q["category"])
        if q["category"] == "unanswerable" or (not q["answerable"] and q["id"] in LEGACY_UNANSWERABLE):
            q["category"], q["source"] = LEGACY_UNANSWERABLE[q["id"]]
        out.append(q)
    return out


# --- the whole compile --------------------------------------------------------------------------
def compile_benchmark(drafts_dir: Path, letters_dir: Path, existing_letters: Sequence[Letter],
                      legacy_rows: Sequence[dict]) -> Compiled:
    draft_letters, drafts, problems = load_drafts(drafts_dir)
    read = text_reader(letters_dir)
    kept = {letter.source: letter for letter in existing_letters}
    catalogue: dict[str, Letter] = {letter.source: kept.get(letter.source, letter) for letter in SHIPPED}
    usable: list[Letter] = []
    for letter in draft_letters:
        if letter.source in catalogue:
            problems.append(f"{letter.source}: catalogued twice (writer {letter.writer})")
            continue
        if not (letters_dir / letter.source).is_file():
            hint = " (run python -m eval render)" if letter.format in ("docx", "pdf") else ""
            problems.append(f"{letter.source}: letter file not found in {letters_dir}{hint}")
            continue
        try:
            text = read(letter.source)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            problems.append(f"{letter.source}: cannot read: {exc}")
            continue
        if letter.format == "pdf":
            letter = replace(letter, pages=_pdf_pages(letters_dir, letter.source))  # as rendered
        usable.append(letter)
        catalogue[letter.source] = letter
    new = [x for x in usable if x.source not in kept]
    splits = assign_splits(new, [kept[x.source] for x in usable if x.source in kept] + list(SHIPPED))
    for letter in usable:
        split = kept[letter.source].split if letter.source in kept else splits[letter.source]
        catalogue[letter.source] = replace(letter, split=split)
    letters = [catalogue[x.source] for x in SHIPPED] + sorted(
        (x for s, x in catalogue.items() if s not in {y.source for y in SHIPPED}), key=lambda x: x.source)

    questions = legacy_questions(legacy_rows)
    names = short_names([x.source for x in letters])
    numbers: Counter = Counter()
    by_letter: dict[str, list[dict]] = {}
    for draft in drafts:
        letter = catalogue.get(draft.letter)
        if letter is None or draft.letter not in {x.source for x in letters}:
            problems.append(f"{draft.where}: letter {draft.letter} is not in any catalogue (or not readable)")
            continue
        start, end, answers, found = resolve(draft, read(draft.letter))
        problems += found
        if draft.answerable and not answers:
            continue
        numbers[draft.letter] += 1
        by_letter.setdefault(draft.letter, []).append({
            "id": f"{names[draft.letter]}-q{numbers[draft.letter]:02d}", "question": draft.question,
            "category": draft.category, "answerable": draft.answerable, "answers": answers,
            "source": draft.letter, "char_start": start, "char_end": end, "split": letter.split})
    for letter in letters:
        questions += by_letter.get(letter.source, [])
    return Compiled(tuple(letters), tuple(questions), tuple(problems))


def _pdf_pages(letters_dir: Path, source: str) -> int:
    from pypdf import PdfReader

    return len(PdfReader(str(letters_dir / source)).pages)


def copy_shipped(letters_dir: Path, corpus_dir: Path = SHIPPED_CORPUS) -> None:
    for letter in SHIPPED:
        target = letters_dir / letter.source
        source = corpus_dir / letter.source
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copyfile(source, target)


def compile_command(drafts_dir: Path = DRAFTS_DIR, letters_dir: Path = LETTERS_DIR,
                    catalogue_file: Path = CATALOGUE_FILE, questions_file: Path = QUESTIONS_FILE, out=None,
                    err=None) -> int:
    import sys

    out, err = out or sys.stdout, err or sys.stderr
    letters_dir.mkdir(parents=True, exist_ok=True)
    copy_shipped(letters_dir)
    try:
        existing = load_catalogue(catalogue_file) if catalogue_file.exists() else []
        legacy = [obj for _, obj in read_jsonl(questions_file)] if questions_file.exists() else []
    except ValueError as exc:
        print(f"compile: {exc}", file=err)
        return 2
    result = compile_benchmark(drafts_dir, letters_dir, existing, legacy)
    write_jsonl(catalogue_file, (x.to_json() for x in result.letters))
    write_jsonl(questions_file, result.questions)
    for problem in result.problems:
        print(problem, file=out)
    splits = Counter(x.split for x in result.letters)
    answerable = sum(1 for q in result.questions if q["answerable"])
    print(f"compile: {len(result.letters)} letters ({', '.join(f'{s} {splits[s]}' for s in SPLITS)}), "
          f"{len(result.questions)} questions ({answerable} answerable, {len(result.questions) - answerable} "
          f"unanswerable) -> {catalogue_file.name}, {questions_file.name}; "
          f"{len(result.problems)} draft problem(s)", file=out)
    return 1 if result.problems else 0

