"""Several segments seen as one: vectors stacked by global row, dense search merged exactly.

Global row = segment offset + local row. A removed letter's rows keep their numbers (so offsets never
move within a build) but no search returns them.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


class RowStack:
    """Row-wise concatenation of (memory-mapped) arrays without copying them: `stack[rows]` for an int or
    a sequence of ints, `len`, `shape`, and np.asarray (which does copy)."""

    def __init__(self, parts: Sequence[np.ndarray]):
        self.parts = list(parts)
        sizes = [len(p) for p in self.parts]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        width = next((p.shape[1:] for p in self.parts if p.ndim > 1 and len(p)), self.parts[0].shape[1:]
                     if self.parts else (0,))
        self.shape = (int(self.starts[-1]), *width)
        self.dtype = self.parts[0].dtype if self.parts else np.dtype(np.float32)
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows):
        if isinstance(rows, (int, np.integer)):
            row = int(rows) + (len(self) if rows < 0 else 0)
            part = int(np.searchsorted(self.starts, row, side="right")) - 1
            return self.parts[part][row - self.starts[part]]
        if isinstance(rows, slice):
            rows = range(*rows.indices(len(self)))
        wanted = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.empty((len(wanted), *self.shape[1:]), dtype=self.dtype)
        if not len(wanted):
            return out
        if wanted.min() < 0 or wanted.max() >= len(self):
            raise IndexError(f"row out of range 0..{len(self) - 1}")
        parts = np.searchsorted(self.starts, wanted, side="right") - 1
        for part in np.unique(parts):
            picked = np.flatnonzero(parts == part)
            out[picked] = self.parts[part][wanted[picked] - self.starts[part]]
        return out

    def __array__(self, dtype=None, copy=None):
        whole = np.concatenate([np.asarray(p) for p in self.parts]) if self.parts else np.zeros(self.shape, self.dtype)
        return whole.astype(dtype) if dtype is not None else whole


class SegmentedDense:
    """FAISS-like search over the segments' dense indexes: `search(query, k, params=None)` returns
    (scores, global rows) of the k best live chunks, as one index over all chunks would (exact indexes,
    and quantised ones whose candidates index.ann rescores, give the same inner products in any segment).
    `params.sel`, if given, selects global rows. Each part is (faiss index, row offset, live rows or None,
    a function returning the segment's float32 chunk vectors: read only to rescore a quantised index)."""

    def __init__(self, parts: Sequence[tuple[object, int, np.ndarray | None, Callable[[], np.ndarray]]],
                 ntotal: int):
        import faiss

        self.ntotal = ntotal
        self._parts = []
        for index, offset, live, vectors in parts:
            keep = None
            if live is not None:  # removed letters' rows: a bitmap of the live ones
                bits = np.packbits(live.astype(bool), bitorder="little")
                keep = (faiss.IDSelectorBitmap(len(live), faiss.swig_ptr(bits)), bits)
            self._parts.append((index, offset, live, keep, vectors))

    @property
    def approximate(self) -> bool:
        """Whether any segment's index is approximate (IVF above settings.ann_exact_limit: index/ann.py)."""
        import faiss

        return any(not isinstance(index, faiss.IndexFlat) for index, *_ in self._parts)

    def search(self, queries: np.ndarray, k: int, params=None):
        """(scores, rows), one row per query, as faiss.Index.search."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, queries.shape[-1])
        found = [self._search_one(query.reshape(1, -1), k, params) for query in queries]
        return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])

    def _search_one(self, query: np.ndarray, k: int, params):
        import faiss

        from .ann import search

        found_scores, found_rows = [], []
        wanted = getattr(params, "sel", None) if params is not None else None
        for index, offset, live, keep, vectors in self._parts:
            n = index.ntotal if live is None else int(live.sum())
            if not n or k <= 0:
                continue
            held = []  # selectors faiss points to must outlive the search
            selector = None
            if wanted is not None:
                ids = faiss.Int64Vector()
                faiss.copy_array_to_vector(np.arange(offset, offset + index.ntotal, dtype=np.int64), ids)
                selector = faiss.IDSelectorTranslated(ids, wanted)
                held.append(ids)
            if keep is not None:
                selector = keep[0] if selector is None else faiss.IDSelectorAnd(selector, keep[0])
                held.append(keep)
            held.append(selector)
            scores, rows = search(index, query, min(k, n), vectors, selector=selector, probe_all=wanted is not None)
            ok = rows[0] >= 0
            found_scores.append(scores[0][ok])
            found_rows.append(rows[0][ok] + offset)
        scores = np.concatenate(found_scores) if found_scores else np.zeros(0, np.float32)
        rows = np.concatenate(found_rows) if found_rows else np.zeros(0, np.int64)
        order = np.lexsort((rows, -scores))[:k]
        out_scores = np.full((1, k), -np.inf, dtype=np.float32)
        out_rows = np.full((1, k), -1, dtype=np.int64)
        out_scores[0, :len(order)] = scores[order]
        out_rows[0, :len(order)] = rows[order]
        return out_scores, out_rows
