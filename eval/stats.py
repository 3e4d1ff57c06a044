"""Counts of the benchmark: ``python -m eval stats [--json]``."""
from __future__ import annotations

from collections import Counter
from typing import Sequence

from eval.catalogue import SPLITS, Letter
from eval.questions import Question


def benchmark_stats(letters: Sequence[Letter], questions: Sequence[Question]) -> dict:
    """{"letters": {split: n}, "questions": {split: {"total", "answerable", "unanswerable"}, "total": ...},
    "sender_kinds": n, "formats": {format: n}, "categories": {...}, "layouts": {...}, "writers": {...}}"""
    def counts(rows: Sequence[Question]) -> dict:
        answerable = sum(1 for q in rows if q.answerable)
        return {"total": len(rows), "answerable": answerable, "unanswerable": len(rows) - answerable}

    return {
        "letters": {s: sum(1 for x in letters if x.split == s) for s in SPLITS},
        "questions": {**{s: counts([q for q in questions if q.split == s]) for s in SPLITS},
                      "total": counts(questions)},
        "sender_kinds": len({x.sender_kind for x in letters}),
        "formats": dict(sorted(Counter(x.format for x in letters).items())),
        "formats_by_split": {s: dict(sorted(Counter(x.format for x in letters if x.split == s).items()))
                             for s in SPLITS},
        "categories": dict(sorted(Counter(q.category for q in questions).items())),
        "layouts": dict(sorted(Counter(t for x in letters for t in x.layout).items())),
        "writers": dict(sorted(Counter(x.writer for x in letters).items())),
        "questions_per_letter_min": min(Counter(q.source for q in questions if q.source).values(), default=0),
    }


def format_stats(stats: dict) -> str:
    q = stats["questions"]
    lines = [f"letters: {sum(stats['letters'].values())} (" + ", ".join(f"{s} {n}" for s, n in stats["letters"].items())
             + f"); {stats['sender_kinds']} kinds of sender; formats "
             + ", ".join(f"{f} {n}" for f, n in stats["formats"].items()),
             f"questions: {q['total']['total']} ({q['total']['answerable']} answerable, "
             f"{q['total']['unanswerable']} unanswerable); "
             + ", ".join(f"{s} {q[s]['total']} ({q[s]['unanswerable']} unanswerable)" for s in SPLITS),
             "categories: " + ", ".join(f"{c} {n}" for c, n in stats["categories"].items()),
             "layout tags: " + ", ".join(f"{t} {n}" for t, n in stats["layouts"].items())]
    return "\n".join(lines)
