"""The systems the benchmark compares. Each has ``name``, ``description`` and
``ask(question) -> dict`` returning a contract answer object (CONTRACT.md).

  full              the assistant as shipped: dense + BM25 fused by weighted min-max score fusion,
                    name matching, answer types, extractive span, calibrated abstention.
  rrf-fusion        the same, fused by reciprocal rank fusion (RRF) instead of score fusion.
  dense-only        the **no-fusion** ablation: the dense (MiniLM) ranking alone feeds the full
                    answer extraction (no BM25 arm, hence nothing to fuse).
  bm25-only         the BM25 ranking alone feeds the full answer extraction.
  no-answer-types   no expected-answer-type rules (no typed entities, no letter-field answers).
  no-name-matching  no boost for letters whose sender/role/organisation the question names.
  tutorial          the common tutorial recipe: 1000-character chunks with 200 overlap over each
                    letter's canonical text, MiniLM embeddings, faiss.IndexFlatIP, and the top
                    chunk shown as the answer (its first 60 words), citing that chunk. Never abstains.

All of them share one loaded model and index (``Assistant.with_settings``); the tutorial index is
built in memory from the assistant's documents, no files are written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from retrieval import Assistant

SYSTEM_NAMES: tuple[str, ...] = ("full", "rrf-fusion", "dense-only", "bm25-only", "no-answer-types",
                                 "no-name-matching", "tutorial")
# the ablation the issue calls "no-fusion" is the dense-only row
ALIASES = {"no-fusion": "dense-only"}

_DESCRIPTIONS = {
    "full": "shipped assistant: dense+BM25, score fusion, name matching, answer types, abstention",
    "rrf-fusion": "as full, but reciprocal rank fusion (k=60) instead of score fusion",
    "dense-only": "no-fusion ablation: dense ranking alone feeds the full answer extraction",
    "bm25-only": "BM25 ranking alone feeds the full answer extraction",
    "no-answer-types": "as full, without expected-answer-type rules or letter-field answers",
    "no-name-matching": "as full, without boosting the letter the question names",
    "tutorial": "tutorial recipe: 1000/200-char chunks, MiniLM + IndexFlatIP, top chunk's first 60 words",
}
_SETTINGS = {
    "full": {},
    "rrf-fusion": {"fusion": "rrf"},
    "dense-only": {"arms": ("dense",)},
    "bm25-only": {"arms": ("bm25",)},
    "no-answer-types": {"use_answer_types": False},
    "no-name-matching": {"use_name_matching": False},
}


class System(Protocol):
    name: str
    description: str

    def ask(self, question: str) -> dict: ...


@dataclass
class AssistantSystem:
    name: str
    description: str
    assistant: Assistant
    k: int | None = None

    def ask(self, question: str) -> dict:
        return self.assistant.ask(question, k=self.k).to_json()


def char_chunks(text: str, size: int = 1000, overlap: int = 200) -> list[tuple[int, int]]:
    """Fixed character windows [start, end) of `size`, each starting `size - overlap` after the
    previous one; the last window ends at the end of the text."""
    if size <= overlap:
        raise ValueError("chunk size must exceed the overlap")
    if not text:
        return []
    spans, start = [], 0
    while True:
        end = min(start + size, len(text))
        spans.append((start, end))
        if end >= len(text):
            return spans
        start += size - overlap


def first_words(text: str, limit: int = 60) -> tuple[int, int]:
    """(start, end) in `text` of its first `limit` whitespace-separated words."""
    words = list(re.finditer(r"\S+", text))
    if not words:
        return 0, 0
    return words[0].start(), words[min(limit, len(words)) - 1].end()


class TutorialSystem:
    name = "tutorial"
    description = _DESCRIPTIONS["tutorial"]

    def __init__(self, assistant: Assistant, size: int = 1000, overlap: int = 200, k: int = 10,
                 answer_words: int = 60):
        import faiss

        self.k = k
        self.answer_words = answer_words
        self.chunks: list[dict] = []
        for doc in assistant.reader.documents:
            text = assistant.reader.text(doc.source)
            for n, (start, end) in enumerate(char_chunks(text, size, overlap)):
                self.chunks.append({"doc_id": doc.doc_id, "source": doc.source, "title": doc.metadata.title,
                                    "chunk_id": f"{doc.doc_id}:tutorial:{n}", "char_start": start,
                                    "char_end": end, "text": text[start:end]})
        self._embed_query: Callable[[str], np.ndarray] = assistant.embed
        vectors = assistant.embedder.encode([c["text"] for c in self.chunks])
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def ask(self, question: str) -> dict:
        vector = np.ascontiguousarray(self._embed_query(question).reshape(1, -1), dtype=np.float32)
        k = min(self.k, len(self.chunks))
        scores, rows = self.index.search(vector, k)
        hits = [(self.chunks[int(r)], float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]
        passages = [{"doc_id": c["doc_id"], "source": c["source"], "chunk_id": c["chunk_id"],
                     "char_start": c["char_start"], "char_end": c["char_end"], "text": c["text"],
                     "score": round(s, 4)} for c, s in hits]
        if not hits:
            return {"question": question, "answer": None, "abstained": True, "confidence": 0.0,
                    "citations": [], "passages": [], "answer_type": "chunk", "reason": "empty index"}
        top, score = hits[0]
        a, b = first_words(top["text"], self.answer_words)
        citation = {"doc_id": top["doc_id"], "source": top["source"], "title": top["title"],
                    "char_start": top["char_start"], "char_end": top["char_end"], "quote": top["text"],
                    "score": round(score, 4), "answer_start": top["char_start"] + a,
                    "answer_end": top["char_start"] + b}
        return {"question": question, "answer": top["text"][a:b], "abstained": False,
                "confidence": round(min(1.0, max(0.0, score)), 4), "citations": [citation],
                "passages": passages, "answer_type": "chunk", "reason": None}


def make_systems(assistant: Assistant, names: tuple[str, ...] = SYSTEM_NAMES, k: int | None = None) -> list:
    """The named systems over one loaded assistant (the tutorial index is embedded here)."""
    out = []
    for name in names:
        name = ALIASES.get(name, name)
        if name == "tutorial":
            out.append(TutorialSystem(assistant, k=k or 10))
        elif name in _SETTINGS:
            changes = _SETTINGS[name]
            system_assistant = assistant.with_settings(**changes) if changes else assistant
            out.append(AssistantSystem(name, _DESCRIPTIONS[name], system_assistant, k))
        else:
            raise ValueError(f"unknown system {name!r} (known: {', '.join(SYSTEM_NAMES)})")
    return out


def describe(name: str) -> str:
    return _DESCRIPTIONS[ALIASES.get(name, name)]
