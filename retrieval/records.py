"""What the retrieval stages hand on: passages found, citations made, answers given.

Every offset is a character offset into the cited document's canonical text, so
`canonical[char_start:char_end] == quote` (citations) and `== text` (passages).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk. JSON: {"doc_id", "source", "chunk_id", "char_start", "char_end", "text", "score"}"""

    doc_id: str
    source: str
    chunk_id: str
    char_start: int
    char_end: int
    text: str
    score: float
    row: int = field(default=-1, compare=False)

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("row")
        out["score"] = round(float(self.score), 4)
        return out


@dataclass(frozen=True)
class Citation:
    """The sentence an answer is taken from (`quote`), and inside it the answer span itself
    (`answer_start`/`answer_end`, document offsets) for highlighting.

    JSON: {"doc_id", "source", "title", "char_start", "char_end", "quote", "score",
           "answer_start", "answer_end", "sender", "date", "page"}
    """

    doc_id: str
    source: str
    title: str | None
    char_start: int
    char_end: int
    quote: str
    score: float
    answer_start: int
    answer_end: int
    sender: str | None = None
    date: str | None = None
    page: int | None = None

    def to_json(self) -> dict:
        out = asdict(self)
        out["score"] = round(float(self.score), 4)
        return out


@dataclass(frozen=True)
class Answer:
    """An extractive answer or an abstention. JSON as in CONTRACT.md, plus `answer_type`, `reason`,
    `filters` and, for compare, `letter` (the source the answer was restricted to)."""

    question: str
    answer: str | None
    abstained: bool
    confidence: float
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    answer_type: str = "other"
    reason: str | None = None
    id: str | None = None
    letter: str | None = None
    signals: dict | None = field(default=None, compare=False)  # confidence features, for calibration

    def to_json(self) -> dict:
        out = {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "confidence": round(float(self.confidence), 4),
            "citations": [c.to_json() for c in self.citations],
            "passages": [p.to_json() for p in self.passages],
            "answer_type": self.answer_type,
            "reason": self.reason,
        }
        if self.letter is not None:
            out["letter"] = self.letter
        if self.signals is not None:
            out["signals"] = {k: round(float(v), 4) for k, v in self.signals.items()}
        return ({"id": self.id} if self.id is not None else {}) | out
