"""Question benchmark records: parsing, loading and validation against the letters.

Pure core: no printing, no sys.exit. One question per JSONL line, schema in eval/README.md.
Character offsets refer to the canonical text of a letter (eval.catalogue.canonical_text):
``read_text(encoding="utf-8-sig")`` for .txt/.md files, the index loader's text for .docx/.pdf.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

# the kind of answer asked for; unanswerable questions have one too (what they ask for)
CATEGORIES: tuple[str, ...] = (
    "date", "amount", "number", "person", "role", "organisation", "place", "legislation", "reason",
    "description", "acronym", "letter_field", "which_letter",
)
SPLITS: tuple[str, ...] = ("train", "dev", "test")
FIELDS: tuple[str, ...] = (
    "id",
    "question",
    "category",
    "answerable",
    "answers",
    "source",
    "char_start",
    "char_end",
    "split",
)


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    category: str
    answerable: bool
    answers: tuple[str, ...]
    source: str | None
    char_start: int | None
    char_end: int | None
    split: str


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_record(obj: object, where: str, fields: Iterable[str], strings: Iterable[str]) -> None:
    """A JSONL record is an object with exactly `fields`, the `strings` among them non-empty text;
    raises ValueError("where: reason") naming the first problem."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    fields = tuple(fields)
    missing = [f for f in fields if f not in obj]
    if missing:
        raise ValueError(f"{where}: missing field(s): {', '.join(missing)}")
    extra = sorted(set(obj) - set(fields))
    if extra:
        raise ValueError(f"{where}: unknown field(s): {', '.join(extra)}")
    for name in strings:
        if not isinstance(obj[name], str) or not obj[name].strip():
            raise ValueError(f"{where}: {name!r} must be a non-empty string")


def parse_question(obj: dict, line_no: int) -> Question:
    """Build a Question from one decoded JSON object.

    Checks types and field presence only (raising ValueError with a one-line
    message); semantic checks against the corpus are in validate_questions, so
    that a file with several mistakes reports all of them at once.
    """
    where = f"line {line_no}"
    check_record(obj, where, FIELDS, ("id", "question", "category", "split"))
    if not isinstance(obj["answerable"], bool):
        raise ValueError(f"{where}: 'answerable' must be true or false")
    answers = obj["answers"]
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise ValueError(f"{where}: 'answers' must be a list of strings")
    if obj["source"] is not None and not isinstance(obj["source"], str):
        raise ValueError(f"{where}: 'source' must be a string or null")
    for name in ("char_start", "char_end"):
        if obj[name] is not None and not _is_int(obj[name]):
            raise ValueError(f"{where}: {name!r} must be an integer or null")
    return Question(
        id=obj["id"],
        question=obj["question"],
        category=obj["category"],
        answerable=obj["answerable"],
        answers=tuple(answers),
        source=obj["source"],
        char_start=obj["char_start"],
        char_end=obj["char_end"],
        split=obj["split"],
    )


def load_questions(path: str | Path) -> list[Question]:
    """Read a JSONL question file. Blank lines are skipped.

    Raises ValueError("path:line: reason") on bad JSON or a bad record, and
    OSError if the file cannot be read.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    questions: list[Question] = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{line_no}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        try:
            questions.append(parse_question(obj, line_no))
        except ValueError as exc:
            reason = str(exc).removeprefix(f"line {line_no}: ")
            raise ValueError(f"{path}:{line_no}: {reason}") from None
    return questions


def read_canonical_text(corpus_dir: str | Path, source: str) -> str:
    """Canonical text of a letter (see eval.catalogue.canonical_text)."""
    from eval.catalogue import canonical_text

    return canonical_text(Path(corpus_dir), source)


def validate_questions(
    questions: Iterable[Question],
    corpus_dir: str | Path,
    text_for_source: Callable[[str], str] | None = None,
) -> list[str]:
    """Return human-readable problems (empty list: the set is valid).

    ``text_for_source(source)`` returns the canonical text of a source; by default
    .txt/.md files under ``corpus_dir`` are read with encoding utf-8-sig.
    """
    questions = list(questions)
    corpus_dir = Path(corpus_dir)
    if text_for_source is None:
        def text_for_source(source: str) -> str:
            return read_canonical_text(corpus_dir, source)

    problems: list[str] = []
    for qid, n in sorted(Counter(q.id for q in questions).items()):
        if n > 1:
            problems.append(f"{qid}: duplicate id ({n} questions)")

    texts: dict[str, str | None] = {}

    def text_of(q: Question) -> str | None:
        source = q.source
        assert source is not None
        if source not in texts:
            path = corpus_dir / source
            try:
                if Path(source).is_absolute() or ".." in Path(source).parts:
                    raise ValueError("source must be relative to the corpus directory")
                texts[source] = text_for_source(source)
            except FileNotFoundError:
                problems.append(f"{q.id}: source file not found: {path}")
                texts[source] = None
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                problems.append(f"{q.id}: cannot read source {source!r}: {exc}")
                texts[source] = None
        return texts[source]

    for q in questions:
        p = f"{q.id}:"
        if q.category not in CATEGORIES:
            problems.append(f"{p} unknown category {q.category!r} (expected one of {', '.join(CATEGORIES)})")
        if q.split not in SPLITS:
            problems.append(f"{p} bad split {q.split!r} (expected one of {', '.join(SPLITS)})")

        if not q.answerable:
            if q.answers:
                problems.append(f"{p} unanswerable question has answers")
            if q.char_start is not None or q.char_end is not None:
                problems.append(f"{p} unanswerable question has a span (must be null)")
            if q.source is not None:
                text_of(q)  # the letter it is about must exist
            continue

        if not q.answers:
            problems.append(f"{p} answerable question has no answers")
        if any(not a.strip() for a in q.answers):
            problems.append(f"{p} empty answer string")
        if not q.source:
            problems.append(f"{p} answerable question has no source")
        if q.char_start is None or q.char_end is None:
            problems.append(f"{p} answerable question has no gold span")
        if not q.source or q.char_start is None or q.char_end is None:
            continue

        text = text_of(q)
        if text is None:
            continue
        start, end = q.char_start, q.char_end
        if not (0 <= start < end <= len(text)):
            problems.append(
                f"{p} span [{start}, {end}) outside {q.source} (need 0 <= start < end <= {len(text)})"
            )
            continue
        gold = text[start:end]
        for answer in q.answers:
            if answer and answer not in gold:
                problems.append(f"{p} answer {answer!r} not inside gold span [{start}, {end}) of {q.source}")
    return problems


def validate_splits(questions: Iterable[Question], split_of: dict[str, str]) -> list[str]:
    """Each question about a letter is in that letter's split (``split_of``: source -> split from the
    catalogue), so no letter's text is seen in two splits."""
    problems = []
    for q in questions:
        if q.source is None:
            continue
        if q.source not in split_of:
            problems.append(f"{q.id}: letter {q.source} is not in the catalogue")
        elif q.split != split_of[q.source]:
            problems.append(f"{q.id}: split {q.split!r} but its letter {q.source} is in {split_of[q.source]!r}")
    return problems


def summarize(questions: Iterable[Question]) -> dict[str, int]:
    """Counts used by the `check` summary line."""
    questions = list(questions)
    return {
        "total": len(questions),
        "answerable": sum(q.answerable for q in questions),
        "unanswerable": sum(not q.answerable for q in questions),
        **{split: sum(q.split == split for q in questions) for split in SPLITS},
    }
