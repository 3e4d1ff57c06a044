"""The dense (FAISS) index over chunk vectors, chosen by size from a memory budget (settings.dense_memory_mb).

    n <= ann_exact_limit                       IndexFlatIP: exact; stays fast enough up to ~150k chunks
    float32 vectors + lists fit the budget     IVF-Flat: exact scores within the probed lists
    1 byte a dimension fits                    IVF-SQ8: 8-bit scalar quantisation (4x smaller)
    otherwise                                  IVF-PQ: m bytes a vector, the largest m dividing dim that fits

A quantised index (SQ8, PQ) returns RERANK x n candidates, rescored exactly from the float32 chunk vectors
the build stores (memory-mapped: only the candidates' rows are read), so scores stay exact inner products
and recall is that of the candidate list.

nlist = sqrt(n) lists (a list then holds ~sqrt(n) vectors; training k-means on 40 x nlist sampled vectors
stays minutes at 10M on 2 cores, 4 x sqrt(n) would be 16 x slower to train). nprobe is not guessed: it is
doubled from 1 until recall@10 against exact search, measured on ann_recall_queries stored vectors used as
queries, reaches ann_target_recall (or nprobe reaches nlist). The measured recall goes into the manifest
(`python -m index info` prints it).

Vectors are read in row batches (`vectors[a:b]`, and a sorted row sample for training and queries), so a
memory-mapped .npy or any object with that interface is never loaded whole.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from .settings import Settings

RERANK = 8  # candidates per wanted hit for a quantised index; 8 x 40 rows is ~0.5 MB read from the mmap a query
ADD_BATCH = 65_536  # rows added (and scanned for the exact answer) at a time: 96 MB of float32 at dim 384
ID_BYTES = 8  # an IVF list stores an int64 id next to each code
K = 10


@dataclass(frozen=True)
class Plan:
    kind: str  # flat | ivf_flat | ivf_sq8 | ivf_pq
    nlist: int = 0
    pq_m: int = 0  # bytes per vector (8-bit sub-quantizers)
    memory_mb: float = 0.0  # estimated resident size of the index


@dataclass(frozen=True)
class DenseInfo:
    """What the manifest records about the dense index (JSON: asdict)."""

    type: str
    kind: str
    ntotal: int
    dimension: int
    memory_budget_mb: float
    memory_mb: float
    nlist: int
    nprobe: int
    pq_m: int
    recall_at_10: float | None  # against exact search; 1.0 for exact search
    recall_queries: int
    train_vectors: int
    build_seconds: float

    def to_json(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        recall = ("exact" if self.kind == "flat"
                  else f"recall@10 {self.recall_at_10:.3f} on {self.recall_queries} stored vectors")
        shape = "" if self.kind == "flat" else f", nlist {self.nlist}, nprobe {self.nprobe}"
        shape += f", {self.pq_m} bytes/vector" if self.kind == "ivf_pq" else ""
        shape += f", candidates rescored exactly" if self.kind in ("ivf_sq8", "ivf_pq") else ""
        return (f"dense index: {self.kind} ({self.type}{shape}) over {self.ntotal:,} vectors, ~{self.memory_mb:,.1f} MB "
                f"of a {self.memory_budget_mb:,.4g} MB budget; {recall}")


class BudgetTooSmall(ValueError):
    pass


def plan(n: int, dim: int, settings: Settings) -> Plan:
    """The index kind for n vectors of dimension dim under settings.dense_memory_mb (pure)."""
    budget = settings.dense_memory_mb * 1024 * 1024
    flat_bytes = n * dim * 4
    if n <= settings.ann_exact_limit:
        return Plan("flat", memory_mb=flat_bytes / 2**20)
    nlist = int(min(65_536, max(64, round(math.sqrt(n)))))
    centroids = nlist * dim * 4
    ivf_flat = n * (dim * 4 + ID_BYTES) + centroids
    if ivf_flat <= budget:
        return Plan("ivf_flat", nlist, memory_mb=ivf_flat / 2**20)
    ivf_sq8 = n * (dim + ID_BYTES) + centroids
    if ivf_sq8 <= budget:
        return Plan("ivf_sq8", nlist, memory_mb=ivf_sq8 / 2**20)
    for m in sorted((m for m in range(1, dim // 4 + 1) if dim % m == 0), reverse=True):  # >= 4 dims a sub-quantizer
        codebooks = 256 * dim * 4
        total = n * (m + ID_BYTES) + centroids + codebooks
        if total <= budget:
            return Plan("ivf_pq", nlist, m, total / 2**20)
    raise BudgetTooSmall(f"a dense index of {n:,} vectors does not fit in {settings.dense_memory_mb:,.0f} MB "
                         f"(IVF-PQ needs at least {(n * (1 + ID_BYTES) + centroids) / 2**20:,.0f} MB); "
                         f"raise LETTERS_QA_DENSE_MB")


def is_current(recorded: dict, n: int, dim: int, settings: Settings) -> bool:
    """Whether a dense index recorded as `recorded` (DenseInfo JSON) over n vectors is what dense_index would
    make under settings: same kind and, for an index made under a budget, the same budget. An index from
    before this module recorded only its FAISS type: an exact one is still current while plan() says flat."""
    try:
        planned = plan(n, dim, settings).kind
    except BudgetTooSmall:
        return True  # the build that would replace it would fail; keep serving what is there
    if "kind" not in recorded:
        return planned == "flat" and recorded.get("type") == "IndexFlatIP"
    return recorded["kind"] == planned and recorded.get("memory_budget_mb") == settings.dense_memory_mb


def _rows(vectors, rows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vectors[np.sort(rows)], dtype=np.float32)


def exact_top(vectors, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Row ids of the exact inner-product top k of each query, scanning vectors in batches."""
    n = len(vectors)
    best_scores = np.full((len(queries), 0), -np.inf, np.float32)
    best_rows = np.zeros((len(queries), 0), np.int64)
    for start in range(0, n, ADD_BATCH):
        block = np.ascontiguousarray(vectors[start:start + ADD_BATCH], dtype=np.float32)
        scores = np.concatenate([best_scores, queries @ block.T], axis=1)
        block_rows = np.broadcast_to(np.arange(start, start + len(block)), (len(queries), len(block)))
        rows = np.concatenate([best_rows, block_rows], axis=1)
        keep = np.argpartition(-scores, min(k, scores.shape[1]) - 1, axis=1)[:, :k]
        best_scores, best_rows = np.take_along_axis(scores, keep, 1), np.take_along_axis(rows, keep, 1)
    return best_rows


def recall_at_k(found: np.ndarray, exact: np.ndarray, k: int = K) -> float:
    hits = sum(len(set(f[:k].tolist()) & set(e[:k].tolist()) - {-1}) for f, e in zip(found, exact))
    return hits / (min(k, exact.shape[1]) * len(exact)) if len(exact) else 1.0


def dense_index(vectors, settings: Settings, seed: int = 0):
    """(faiss index over `vectors` [n, dim] float32 normalised, DenseInfo) as plan() chooses."""
    import faiss

    started = time.perf_counter()
    n, dim = len(vectors), int(vectors.shape[1])
    chosen = plan(n, dim, settings)
    rng = np.random.default_rng(seed)
    if chosen.kind == "flat":
        index = faiss.IndexFlatIP(dim)
        _add(index, vectors)
        return index, DenseInfo(type(index).__name__, "flat", int(index.ntotal), dim, settings.dense_memory_mb,
                                round(chosen.memory_mb, 1), 0, 0, 0, 1.0, 0, 0, round(time.perf_counter() - started, 3))
    quantizer = faiss.IndexFlatIP(dim)
    if chosen.kind == "ivf_flat":
        index = faiss.IndexIVFFlat(quantizer, dim, chosen.nlist, faiss.METRIC_INNER_PRODUCT)
    elif chosen.kind == "ivf_sq8":
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, chosen.nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexIVFPQ(quantizer, dim, chosen.nlist, chosen.pq_m, 8, faiss.METRIC_INNER_PRODUCT)
        # measured: training 96 sub-quantizers on faiss' default 65k points took minutes here; 40 points a
        # centroid and 10 iterations is faiss' own lower bound without warnings, and the exact rescoring
        # recovers what coarser codebooks lose
        index.pq.cp.max_points_per_centroid = 40
        index.pq.cp.niter = 10
    index.cp.niter = 10  # k-means on normalised text vectors settles within ~10 iterations; the default 25 is 2.5x slower
    train_size = min(n, max(40 * chosen.nlist, 256 * 40))
    index.train(_rows(vectors, rng.choice(n, train_size, replace=False)))
    _add(index, vectors)
    index.own_fields = True
    quantizer.this.disown()
    queries = _rows(vectors, rng.choice(n, min(n, settings.ann_recall_queries), replace=False))
    exact = exact_top(vectors, queries)
    nprobe, recall = 1, 0.0
    while True:
        index.nprobe = nprobe
        recall = recall_at_k(search(index, queries, K, vectors)[1], exact)
        if recall >= settings.ann_target_recall or nprobe >= chosen.nlist:
            break
        nprobe = min(chosen.nlist, nprobe * 2)
    return index, DenseInfo(type(index).__name__, chosen.kind, int(index.ntotal), dim, settings.dense_memory_mb,
                            round(chosen.memory_mb, 1), chosen.nlist, nprobe, chosen.pq_m, round(recall, 4),
                            len(queries), train_size, round(time.perf_counter() - started, 3))


def _add(index, vectors) -> None:
    for start in range(0, len(vectors), ADD_BATCH):
        index.add(np.ascontiguousarray(vectors[start:start + ADD_BATCH], dtype=np.float32))


def search(index, queries: np.ndarray, n: int, vectors=None, ids: np.ndarray | None = None,
           selector=None, probe_all: bool = False):
    """(scores, rows) of the top n chunks for each query, as index.search; restricted to the rows `ids`
    or to a faiss IDSelector `selector` when given.

    A quantised index (SQ8, PQ) is asked for RERANK x n candidates, rescored exactly against `vectors` (the
    stored float32 chunk vectors, or a function returning them, called only for a quantised index), so the
    scores a caller fuses are exact inner products whatever the index. A restriction to `ids` (or
    `probe_all`) probes every list of an IVF index: the allowed rows may lie in lists the query's nprobe
    would not reach (a selector that only drops a few removed letters' rows need not)."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, index.d)
    params = None
    if ids is not None:
        selector, probe_all = faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)), True
    if selector is not None:
        params = (faiss.SearchParametersIVF(sel=selector, nprobe=index.nlist if probe_all else index.nprobe)
                  if isinstance(index, faiss.IndexIVF) else faiss.SearchParameters(sel=selector))
    quantised = vectors is not None and isinstance(index, (faiss.IndexIVFPQ, faiss.IndexIVFScalarQuantizer))
    wanted = min(n * RERANK, index.ntotal) if quantised else n
    scores, rows = index.search(queries, wanted, params=params)
    if not quantised:
        return scores, rows
    if callable(vectors):
        vectors = vectors()
    out_scores = np.full((len(queries), n), -np.inf, np.float32)
    out_rows = np.full((len(queries), n), -1, np.int64)
    for q, (query, found) in enumerate(zip(queries, rows)):
        found = np.unique(found[found >= 0])  # sorted: the memory map is read front to back
        exact = np.asarray(vectors[found], dtype=np.float32) @ query
        top = np.argsort(-exact, kind="stable")[:n]
        out_scores[q, :len(top)], out_rows[q, :len(top)] = exact[top], found[top]
    return out_scores, out_rows
