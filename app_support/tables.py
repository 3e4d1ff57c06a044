"""Compare-mode table rows, the CSV download, and the sidebar filters (pure)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Iterable, Sequence

COMPARE_COLUMNS = ("letter", "title", "answer", "confidence", "quote")
NOT_ANSWERED = "not answered"


def compare_rows(answers: Iterable[object], titles: dict[str, str] | None = None) -> list[dict]:
    """One row per letter from assistant.compare(): letter, title, answer (or "not answered"),
    confidence (2 decimals) and the quoted sentence."""
    titles = titles or {}
    rows = []
    for a in answers:
        letter = getattr(a, "letter", None) or (a.citations[0].source if a.citations else "")
        quote = a.citations[0].quote if (a.citations and not a.abstained) else ""
        rows.append({
            "letter": letter,
            "title": titles.get(letter, ""),
            "answer": NOT_ANSWERED if a.abstained or not a.answer else " ".join(a.answer.split()),
            "confidence": round(float(a.confidence), 2),
            "quote": " ".join(quote.split()),
        })
    return rows


def _cell(value: object) -> object:
    """Neutralise spreadsheet formulas (CSV injection): a text cell starting with = + - @ or a
    control character is prefixed with an apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def rows_to_csv(rows: Sequence[dict], columns: Sequence[str] = COMPARE_COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _cell(row.get(c, "")) for c in columns})
    return out.getvalue()


def make_filters(sources: Sequence[str] = (), sender: str | None = None, organisation: str | None = None,
                 date_range: Sequence[dt.date] | None = None):
    """retrieval.Filters from the sidebar's choices, or None when nothing restricts the search."""
    from retrieval import Filters

    date_from = date_to = None
    if date_range:
        dates = list(date_range)
        if dates:
            date_from = dates[0].isoformat()
            date_to = (dates[1] if len(dates) > 1 else dates[0]).isoformat()
    filters = Filters(sources=tuple(sources or ()), sender=sender or None, organisation=organisation or None,
                      date_from=date_from, date_to=date_to)
    return filters if filters.active else None
