"""Compare-mode rows, the CSV download, and the sidebar filters (pure)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Iterable, Sequence

from app_support.confidence import ConfidenceBands, confidence_words
from index.markup import plain

CSV_COLUMNS = ("question", "answer", "quote", "letter", "sender", "date", "confidence")
NOT_ANSWERED = "not answered"


def compare_rows(question: str, answers: Iterable[object], documents: Iterable[object],
                 bands: ConfidenceBands) -> list[dict]:
    """One row per letter from assistant.compare(), answer first: answer (or "not answered"), the
    letter's file name, sender and date, the quote (markup removed, shown on expand), confidence in
    words, and the canonical offsets to open the letter at."""
    by_source = {d.source: d for d in documents}
    rows = []
    for a in answers:
        letter = getattr(a, "letter", None) or (a.citations[0].source if a.citations else "")
        cited = a.citations[0] if (a.citations and not a.abstained) else None
        meta = getattr(by_source.get(letter), "metadata", None)
        rows.append({
            "question": question,
            "answer": NOT_ANSWERED if a.abstained or not a.answer else plain(a.answer),
            "quote": plain(cited.quote) if cited else "",
            "letter": letter,
            "title": plain(getattr(meta, "title", None) or ""),
            "sender": getattr(meta, "sender", None) or "",
            "date": getattr(meta, "date", None) or "",
            "confidence": confidence_words(a.abstained, a.confidence, bands),
            "open": (cited.char_start, cited.char_end, cited.answer_start, cited.answer_end) if cited else None,
        })
    return rows


def _cell(value: object) -> object:
    """Neutralise spreadsheet formulas (CSV injection): a text cell starting with = + - @ or a
    control character is prefixed with an apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def rows_to_csv(rows: Sequence[dict], columns: Sequence[str] = CSV_COLUMNS) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read "£" and "—" correctly."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _cell(row.get(c, "")) for c in columns})
    return out.getvalue().encode("utf-8-sig")


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


def letters_by_date(documents: Iterable[object]) -> list[object]:
    """Newest first; undated letters last, then by file name (a stable, predictable order)."""
    docs = list(documents)
    dated = sorted((d for d in docs if is_iso_date(d.metadata.date)), key=lambda d: (d.metadata.date, d.source), reverse=True)
    undated = sorted((d for d in docs if not is_iso_date(d.metadata.date)), key=lambda d: d.source)
    return dated + undated


def letter_label(doc) -> str:
    """What tells two letters apart in a list: date · sender · file name."""
    m = doc.metadata
    return " · ".join(v for v in (m.date, m.sender or m.organisation, doc.source.rsplit("/", 1)[-1]) if v)


def is_iso_date(value: str | None) -> bool:
    try:
        dt.date.fromisoformat(value or "")
        return True
    except ValueError:
        return False
