"""Hybrid search: dense (FAISS) and BM25 over the same chunks, fused, filtered and name-boosted.

The fusion functions are pure (rankings/scores in, fused scores out); `HybridSearcher` is the thin
shell that asks the index.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from index.ann import search as ann_search
from index.lexical import tokens
from index.settings import Settings
from index.store import DocumentRecord, IndexReader


# --- pure fusion --------------------------------------------------------------------------------
def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> dict[int, float]:
    """score(d) = sum over rankings of 1 / (k + rank(d)), rank from 1."""
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def score_fusion(scored: Sequence[dict[int, float]], weights: Sequence[float] | None = None) -> dict[int, float]:
    """Weighted sum of min-max normalised scores; an item missing from an arm scores 0 there."""
    weights = list(weights) if weights is not None else [1.0] * len(scored)
    if len(weights) != len(scored):
        raise ValueError(f"need one weight per arm: {len(scored)} arms, {len(weights)} weights")
    fused: dict[int, float] = {}
    for arm, weight in zip(scored, weights):
        if not arm:
            continue
        values = np.fromiter(arm.values(), dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        span = high - low
        for item, value in arm.items():
            norm = (value - low) / span if span > 0 else 1.0
            fused[item] = fused.get(item, 0.0) + weight * norm
    return fused


# --- filters ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """Restrict a search to some letters. Text filters match case-insensitively as substrings;
    dates are ISO strings, inclusive. JSON: {"sources": [...], "sender": "...", "organisation": "...",
    "date_from": "2020-01-01", "date_to": "2020-12-31"}"""

    sources: tuple[str, ...] = ()
    sender: str | None = None
    organisation: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value:
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    raise ValueError(f"{name} must be an ISO date like 2020-06-19, got {value!r}") from None

    @property
    def active(self) -> bool:
        return bool(self.sources or self.sender or self.organisation or self.date_from or self.date_to)

    def admits(self, doc: DocumentRecord) -> bool:
        m = doc.metadata
        if self.sources and doc.source not in self.sources and doc.doc_id not in self.sources:
            return False
        if self.sender and self.sender.lower() not in (m.sender or "").lower():
            return False
        if self.organisation:
            wanted = self.organisation.lower()
            if not any(wanted in (v or "").lower() for v in (m.organisation, m.role, m.sender)):
                return False
        if self.date_from and (not m.date or m.date < self.date_from):
            return False
        if self.date_to and (not m.date or m.date > self.date_to):
            return False
        return True


def allowed_documents(documents: Sequence[DocumentRecord], filters: Filters | None) -> np.ndarray | None:
    """Ordinals of the letters a filter admits, or None when nothing is filtered."""
    if filters is None or not filters.active:
        return None
    return np.array([d.ordinal for d in documents if filters.admits(d)], dtype=np.int64)


# --- search -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hit:
    row: int
    score: float
    dense_rank: int | None
    bm25_rank: int | None
    dense_score: float
    bm25_score: float


class HybridSearcher:
    def __init__(self, reader: IndexReader, settings: Settings):
        self.reader = reader
        self.settings = settings

    def _chunk_mask(self, allowed_docs: np.ndarray | None) -> np.ndarray | None:
        if allowed_docs is None:
            return None
        return np.isin(self.reader.chunk_doc, allowed_docs)

    def dense(self, query_vector: np.ndarray, n: int, mask: np.ndarray | None) -> dict[int, float]:
        index = self.reader.dense
        query = np.ascontiguousarray(query_vector.reshape(1, -1), dtype=np.float32)
        n = min(n, self.reader.n_chunks)
        if mask is not None:
            ids = np.flatnonzero(mask).astype(np.int64)
            if not len(ids):
                return {}
            scores, rows = ann_search(index, query, min(n, len(ids)), lambda: self.reader.chunk_vectors, ids)
        else:
            scores, rows = ann_search(index, query, n, lambda: self.reader.chunk_vectors)
        return {int(r): float(s) for r, s in zip(rows[0], scores[0]) if r >= 0}

    def bm25(self, query: str, n: int, mask: np.ndarray | None) -> dict[int, float]:
        retriever = self.reader.bm25
        vocab = retriever.vocab_dict
        query_tokens = [t for t in tokens(query) if t in vocab]
        if not query_tokens:
            return {}
        scores = retriever.get_scores(query_tokens)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        return {int(r): float(scores[r]) for r in top if scores[r] > 0}

    def search(self, question: str, query_vector: np.ndarray, k: int, filters: Filters | None = None,
               doc_boosts: dict[int, float] | None = None, fusion: str | None = None,
               arms: tuple[str, ...] = ("dense", "bm25")) -> list[Hit]:
        """The k best chunks, best first. `doc_boosts` multiplies the fused score of a letter's chunks
        by (1 + boost); arms can be limited to one for baselines."""
        fusion = fusion or self.settings.fusion
        allowed = allowed_documents(self.reader.documents, filters)
        mask = self._chunk_mask(allowed)
        n = max(k * self.settings.overfetch, 20)
        dense = self.dense(query_vector, n, mask) if "dense" in arms else {}
        lexical = self.bm25(question, n, mask) if "bm25" in arms else {}
        dense_rank = {r: i for i, r in enumerate(sorted(dense, key=dense.get, reverse=True), start=1)}
        bm25_rank = {r: i for i, r in enumerate(sorted(lexical, key=lexical.get, reverse=True), start=1)}
        if fusion == "rrf":
            fused = reciprocal_rank_fusion([list(dense_rank), list(bm25_rank)], self.settings.rrf_k)
        else:
            fused = score_fusion([dense, lexical], [0.6, 0.4])
        if doc_boosts:
            for row in fused:
                boost = doc_boosts.get(int(self.reader.chunk_doc[row]))
                if boost:
                    fused[row] *= 1.0 + boost
        ranked = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        return [Hit(r, fused[r], dense_rank.get(r), bm25_rank.get(r), dense.get(r, 0.0), lexical.get(r, 0.0))
                for r in ranked]
