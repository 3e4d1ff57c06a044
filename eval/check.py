"""Validating the whole benchmark: ``python -m eval check``.

Letters (every catalogued file exists and reads; every letter file is catalogued), the catalogue
(fields, sender kinds, layout tags, ISO dates, each letter once and in one split; the first gold
string of each metadata field printed in the letter), the questions (schema, categories, offsets,
answers inside their gold span) and the splits (each question in its letter's split).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from eval.catalogue import META_FIELDS, Letter, canonical_text, validate_catalogue
from eval.compile import locate
from eval.questions import Question, validate_questions, validate_splits


def printed_problems(letter: Letter, text: str, source_markup: str | None) -> list[str]:
    """A gold metadata value whose printed form (its first string) is not in the letter. Word headers
    and footers are not in the canonical text, so for .docx the source markup is searched too."""
    problems = []
    for field in META_FIELDS:
        value = getattr(letter.metadata, field)
        if field == "date" or value is None:
            continue
        if locate(text, value[0]) is None and (source_markup is None or locate(source_markup, value[0]) is None):
            problems.append(f"{letter.source}: metadata {field} {value[0]!r} is not printed in the letter")
    return problems


def check_benchmark(letters: Sequence[Letter], questions: Sequence[Question], letters_dir: Path,
                    sources_dir: Path | None = None) -> list[str]:
    problems = validate_catalogue(letters, letters_dir)
    texts: dict[str, str] = {}
    for letter in letters:
        try:
            texts[letter.source] = canonical_text(letters_dir, letter.source)
        except FileNotFoundError:
            continue  # reported by validate_catalogue
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            problems.append(f"{letter.source}: cannot read: {exc}")
            continue
        markup = None
        if sources_dir is not None and (sources_dir / f"{letter.source}.md").is_file():
            markup = (sources_dir / f"{letter.source}.md").read_text(encoding="utf-8")
        problems += printed_problems(letter, texts[letter.source], markup)

    def text_for_source(source: str) -> str:
        return texts[source] if source in texts else canonical_text(letters_dir, source)

    problems += validate_questions(questions, letters_dir, text_for_source)
    problems += validate_splits(questions, {x.source: x.split for x in letters})
    return problems
