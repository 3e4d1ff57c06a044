"""Feedback from the app back into the benchmark.

The app records every answer it shows (👍/👎 when the reader gives one; abstentions always) in
SQLite beside the index (`<index dir>/feedback.sqlite`). `python -m eval feedback export` turns the
thumbs-down and unanswered questions into candidate gold questions in the benchmark's format
(eval/questions.jsonl): the question is filled in, the gold fields (category, answerable, answers,
source, char_start, char_end, split) are left null/empty for a person to complete.

Pure core: `candidate_questions(records)`; thin shell: `FeedbackStore` and `export_command`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

FEEDBACK_FILE = "feedback.sqlite"
QUESTION_FIELDS = ("id", "question", "category", "answerable", "answers", "source", "char_start", "char_end",
                   "split")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id   TEXT PRIMARY KEY,
    created     TEXT NOT NULL,
    question    TEXT NOT NULL,
    asked       TEXT NOT NULL,
    answer      TEXT,
    abstained   INTEGER NOT NULL,
    source      TEXT,
    rating      INTEGER
)"""


@dataclass(frozen=True)
class FeedbackRecord:
    answer_id: str
    created: str
    question: str  # as the reader typed it
    asked: str  # as the assistant answered it (follow-ups resolved)
    answer: str | None
    abstained: bool
    source: str | None
    rating: int | None  # +1 👍, -1 👎, None: no rating given


def feedback_path(index_dir: Path | str) -> Path:
    return Path(index_dir) / FEEDBACK_FILE


class FeedbackStore:
    """SQLite file of answers shown and their ratings; safe to use from several threads."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        db.execute(_SCHEMA)
        return db

    def record_answer(self, answer_id: str, question: str, asked: str, answer: str | None, abstained: bool,
                      source: str | None) -> None:
        created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._lock, self._connect() as db:
            db.execute("INSERT OR IGNORE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                       (answer_id, created, question, asked, answer, int(abstained), source))

    def rate(self, answer_id: str, rating: int | None) -> None:
        with self._lock, self._connect() as db:
            db.execute("UPDATE answers SET rating = ? WHERE answer_id = ?", (rating, answer_id))

    def records(self) -> list[FeedbackRecord]:
        if not self.path.is_file():
            return []
        with self._lock, self._connect() as db:
            rows = db.execute("SELECT answer_id, created, question, asked, answer, abstained, source, rating "
                              "FROM answers ORDER BY rowid").fetchall()
        return [FeedbackRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7]) for r in rows]


def candidate_questions(records: Iterable[FeedbackRecord]) -> list[dict]:
    """Thumbs-down and unanswered questions, once each (by the question as answered), as benchmark
    question records with the gold fields left for a person to fill in."""
    out: dict[str, dict] = {}
    for r in records:
        if not (r.rating == -1 or (r.abstained and r.rating != 1)):
            continue
        question = " ".join(r.asked.split())
        key = question.casefold()
        if key in out:
            continue
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
        out[key] = {"id": f"fb-{digest}", "question": question, "category": None, "answerable": None,
                    "answers": [], "source": None, "char_start": None, "char_end": None, "split": None}
    return list(out.values())


def export_command(index_dir: str | None, out: str | None) -> int:
    """Write the candidates as JSONL to `out` (default: standard output); exit 0, or 2 when unusable."""
    from index.settings import Settings

    settings = Settings.from_env(index_dir=index_dir)
    try:
        candidates = candidate_questions(FeedbackStore(feedback_path(settings.index_dir)).records())
    except sqlite3.Error as exc:
        print(f"feedback export: cannot read {feedback_path(settings.index_dir)}: {exc}", file=sys.stderr)
        return 2
    lines = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in candidates)
    if out:
        try:
            Path(out).write_text(lines, encoding="utf-8")
        except OSError as exc:
            print(f"feedback export: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"feedback export: {len(candidates)} candidate question(s) written to {out}; "
              f"fill in category, answerable, answers, source, char_start, char_end and split", file=sys.stderr)
    else:
        sys.stdout.write(lines)
    return 0
