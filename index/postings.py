"""BM25 postings of one segment as raw term frequencies, and BM25 scoring over many segments with
corpus-wide statistics. Pure: token lists and arrays in, arrays out (index/segments.py does the I/O).

A segment stores, per term (its vocabulary, in column order), the local chunk rows that contain it and
how often (CSC: indptr, rows, tf), plus every chunk's length in tokens. Scores are BM25 as bm25s'
default ("lucene": idf = ln(1 + (N - df + 0.5) / (df + 0.5)), k1 = 1.5, b = 0.75, a query token
counted as often as it occurs), with N, the average length and df taken over the live chunks of all
segments at query time, so a chunk's score does not depend on how the corpus is segmented.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

# bm25s' defaults, kept so that scores equal those of the single bm25s index of format 2
K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class Postings:
    """Term frequencies of one segment's chunks, column (term) major."""

    vocab: tuple[str, ...]  # column -> term
    indptr: np.ndarray  # int64 [len(vocab) + 1]
    rows: np.ndarray  # int32 local chunk rows, sorted within a column
    tf: np.ndarray  # float32 term frequencies, aligned with rows
    doc_len: np.ndarray  # int32 [n_chunks]: tokens per chunk

    @property
    def n_rows(self) -> int:
        return int(len(self.doc_len))

    def column(self, term: str) -> int | None:
        return self._columns().get(term)

    def _columns(self) -> dict[str, int]:
        columns = self.__dict__.get("_column_of")
        if columns is None:
            columns = {term: i for i, term in enumerate(self.vocab)}
            object.__setattr__(self, "_column_of", columns)
        return columns

    def live_df(self, live: np.ndarray | None) -> np.ndarray:
        """Per column, how many live rows contain the term (all rows when live is None)."""
        if live is None:
            return np.diff(self.indptr)
        counted = np.concatenate([[0], np.cumsum(live[self.rows], dtype=np.int64)])
        return counted[self.indptr[1:]] - counted[self.indptr[:-1]]


def from_tokens(chunk_tokens: Sequence[Sequence[str]]) -> Postings:
    """The postings of chunks given as token lists (row = position in the list)."""
    term_id: dict[str, int] = {}
    terms, rows, counts = [], [], []
    for row, toks in enumerate(chunk_tokens):
        seen: dict[int, int] = {}
        for tok in toks:
            tid = term_id.setdefault(tok, len(term_id))
            seen[tid] = seen.get(tid, 0) + 1
        terms.extend(seen)
        rows.extend([row] * len(seen))
        counts.extend(seen.values())
    vocab = tuple(term_id)
    doc_len = np.array([len(t) for t in chunk_tokens], dtype=np.int32)
    return _columnar(vocab, np.array(terms, dtype=np.int64), np.array(rows, dtype=np.int64),
                     np.array(counts, dtype=np.float32), doc_len)


def _columnar(vocab: tuple[str, ...], terms: np.ndarray, rows: np.ndarray, tf: np.ndarray,
              doc_len: np.ndarray) -> Postings:
    """CSC postings from (term, row, tf) triples in any order, dropping terms that no row holds."""
    order = np.lexsort((rows, terms))
    terms, rows, tf = terms[order], rows[order], tf[order]
    used = np.unique(terms)
    remap = np.full(len(vocab), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    counts = np.bincount(remap[terms], minlength=len(used)) if len(terms) else np.zeros(len(used), np.int64)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Postings(tuple(vocab[i] for i in used), indptr, rows.astype(np.int32), tf.astype(np.float32),
                    doc_len.astype(np.int32))


def concatenate(parts: Sequence[tuple[Postings, np.ndarray]]) -> Postings:
    """One segment's postings from the kept rows of others (`keep`: bool per row), rows renumbered in
    order: the postings of a merge."""
    vocab: dict[str, int] = {}
    terms, rows, tfs, lengths = [], [], [], []
    offset = 0
    for postings, keep in parts:
        new_row = np.cumsum(keep) - 1 + offset
        columns = np.array([vocab.setdefault(t, len(vocab)) for t in postings.vocab], dtype=np.int64)
        column_of_entry = np.repeat(np.arange(len(postings.vocab)), np.diff(postings.indptr))
        kept = keep[postings.rows]
        terms.append(columns[column_of_entry[kept]] if len(columns) else np.zeros(0, np.int64))
        rows.append(new_row[postings.rows[kept]])
        tfs.append(postings.tf[kept])
        lengths.append(postings.doc_len[keep])
        offset += int(keep.sum())
    empty = np.zeros(0, np.int64)
    return _columnar(tuple(vocab), np.concatenate(terms or [empty]), np.concatenate(rows or [empty]),
                     np.concatenate(tfs or [np.zeros(0, np.float32)]),
                     np.concatenate(lengths or [np.zeros(0, np.int32)]))


@dataclass(frozen=True)
class ScoredSegment:
    postings: Postings
    offset: int  # global row of the segment's first chunk
    live: np.ndarray | None  # bool per local row; None: every row is live


class BM25:
    """BM25 over the live chunks of several segments; `vocab_dict` and `get_scores` as bm25s offers them
    (retrieval/ uses both), scores indexed by global chunk row (0 for removed letters' rows)."""

    def __init__(self, segments: Sequence[ScoredSegment], n_rows: int):
        self.segments = list(segments)
        self.n_rows = n_rows
        df: dict[str, int] = {}
        total_len = 0
        n_live = 0
        for seg in self.segments:
            for term, count in zip(seg.postings.vocab, seg.postings.live_df(seg.live).tolist()):
                if count:
                    df[term] = df.get(term, 0) + count
            lengths = seg.postings.doc_len if seg.live is None else seg.postings.doc_len[seg.live]
            total_len += int(lengths.sum())
            n_live += len(lengths)
        self.df = df
        self.n_live = n_live
        self.avg_len = total_len / n_live if n_live else 1.0
        self.vocab_dict = {term: i for i, term in enumerate(df)}
        live = np.zeros(n_rows, dtype=bool)
        for seg in self.segments:
            live[seg.offset:seg.offset + seg.postings.n_rows] = True if seg.live is None else seg.live
        self.live = live

    def idf(self, term: str) -> float:
        df = self.df[term]
        return float(np.log(1.0 + (self.n_live - df + 0.5) / (df + 0.5)))

    def get_scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 of every global row for the query tokens (tokens not in the live vocabulary add nothing)."""
        scores = np.zeros(self.n_rows, dtype=np.float64)
        for term in query_tokens:
            if term not in self.df:
                continue
            idf = self.idf(term)
            for seg in self.segments:
                column = seg.postings.column(term)
                if column is None:
                    continue
                span = slice(seg.postings.indptr[column], seg.postings.indptr[column + 1])
                rows = seg.postings.rows[span]
                tf = seg.postings.tf[span].astype(np.float64)
                length = seg.postings.doc_len[rows].astype(np.float64)
                scores[seg.offset + rows] += idf * tf / (K1 * ((1 - B) + B * length / self.avg_len) + tf)
        scores[~self.live] = 0.0
        return scores
