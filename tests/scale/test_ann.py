"""The dense index chosen by size from the memory budget (index/ann.py), and what the manifest and `info` say."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from index.ann import BudgetTooSmall, dense_index, exact_top, plan, recall_at_k, search
from index.settings import Settings
from tests.conftest import ROOT


def clustered(n: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    """Normalised stand-in vectors around 50 topics, as text embeddings cluster."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, 50, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_small_collections_get_exact_search_and_large_ones_the_richest_index_the_budget_allows():
    settings = Settings(dense_memory_mb=4096)
    assert plan(100_000, 384, settings).kind == "flat"
    assert plan(2_000_000, 384, settings).kind == "ivf_flat"  # 2M x 1.5 KB = 2.9 GB
    assert plan(8_000_000, 384, settings).kind == "ivf_sq8"   # 8M x 392 B = 3.0 GB
    big = plan(60_000_000, 384, settings)  # issue 14's national archive: 60M sentences
    assert big.kind == "ivf_pq" and big.memory_mb <= 4096 and 384 % big.pq_m == 0
    with pytest.raises(BudgetTooSmall, match="LETTERS_QA_DENSE_MB"):
        plan(60_000_000, 384, Settings(dense_memory_mb=100))


def test_a_tiny_budget_gives_product_quantisation_whose_measured_recall_is_recorded():
    vectors = clustered(3000)
    settings = Settings(ann_exact_limit=1000, dense_memory_mb=0.6, ann_recall_queries=100)
    index, info = dense_index(vectors, settings)
    print(info.line())
    assert info.kind == "ivf_pq" and type(index).__name__ == "IndexIVFPQ" and index.ntotal == 3000
    assert info.memory_mb <= 0.6 and info.recall_queries == 100
    # the recall recorded is the one a caller gets (candidates rescored exactly from the float32 vectors)
    queries = vectors[::97]
    found = search(index, queries, 10, vectors)[1]
    measured = recall_at_k(found, exact_top(vectors, queries))
    print(f"recall@10 on other queries: {measured:.3f}")
    assert info.recall_at_10 >= settings.ann_target_recall or info.nprobe == info.nlist
    assert measured >= 0.9


def test_between_exact_and_quantised_the_ivf_index_finds_the_exact_neighbours():
    vectors = clustered(4000, seed=1)
    index, info = dense_index(vectors, Settings(ann_exact_limit=1000, ann_recall_queries=50))
    print(info.line())
    assert info.kind == "ivf_flat" and info.recall_at_10 >= 0.95 and 1 <= info.nprobe <= info.nlist
    small_index, small_info = dense_index(vectors, Settings())
    assert small_info.kind == "flat" and small_info.recall_at_10 == 1.0 and type(small_index).__name__ == "IndexFlatIP"


def test_a_filtered_search_on_an_ivf_index_reaches_allowed_rows_outside_the_probed_lists():
    vectors = clustered(4000, seed=2)
    index, info = dense_index(vectors, Settings(ann_exact_limit=1000, dense_memory_mb=2, ann_recall_queries=50))
    assert info.kind == "ivf_sq8"
    allowed = np.arange(3900, 4000)
    scores, rows = search(index, vectors[:1], 5, vectors, allowed)
    expected = allowed[np.argsort(-(vectors[allowed] @ vectors[0]))[:5]]
    assert rows[0].tolist() == expected.tolist()
    assert np.allclose(scores[0], vectors[expected] @ vectors[0], atol=1e-5)


def test_the_manifest_records_the_dense_index_and_info_prints_kind_budget_and_recall(shipped_settings):
    done = subprocess.run([sys.executable, "-m", "index", "info", "--index-dir", str(shipped_settings.index_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert ": dense index: flat (IndexFlatIP) over 27 vectors" in done.stdout and "4,096 MB budget; exact" in done.stdout


def test_a_new_memory_budget_rewrites_the_dense_index_without_embedding_again(tmp_path):
    from index.building import build_index
    from index.store import read_manifest
    from tests.conftest import TOWN_LETTERS, write_letters

    settings = Settings(corpus_dir=write_letters(tmp_path / "corpus", TOWN_LETTERS), index_dir=tmp_path / "index")
    build_index(settings)
    assert build_index(settings).noop
    again = build_index(settings.replace(dense_memory_mb=512))
    assert not again.noop and again.embedded == 0
    segments = read_manifest(settings.index_dir)["segments"]
    assert [s["faiss"]["memory_budget_mb"] for s in segments] == [512]
    assert build_index(settings.replace(dense_memory_mb=512)).noop


def test_an_index_from_before_the_memory_budget_keeps_its_exact_segments(tmp_path):
    import json

    from index.building import build_index
    from index.store import current_build, read_manifest
    from tests.conftest import TOWN_LETTERS, write_letters

    settings = Settings(corpus_dir=write_letters(tmp_path / "corpus", TOWN_LETTERS), index_dir=tmp_path / "index")
    build_index(settings)
    manifest_path = current_build(settings.index_dir) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for segment in manifest["segments"]:  # what the segmented index recorded before index/ann.py
        segment["faiss"] = {"type": "IndexFlatIP", "ntotal": segment["faiss"]["ntotal"]}
    manifest_path.write_text(json.dumps(manifest))
    assert build_index(settings).noop
    assert "kind" not in read_manifest(settings.index_dir)["segments"][0]["faiss"]


def test_segments_with_exact_and_quantised_indexes_merge_into_exact_scores_of_live_rows_only():
    from index.search_parts import SegmentedDense

    small, large = clustered(500, seed=3), clustered(3000, seed=4)
    flat, _ = dense_index(small, Settings())
    pq, info = dense_index(large, Settings(ann_exact_limit=1000, dense_memory_mb=0.6, ann_recall_queries=100))
    assert info.kind == "ivf_pq"
    live = np.ones(len(large), bool)
    live[::3] = False  # a removed letter's rows in the large segment
    dense = SegmentedDense([(flat, 0, None, lambda: small), (pq, len(small), live, lambda: large)],
                           len(small) + len(large))
    everything = np.concatenate([small, large])
    allowed = np.concatenate([np.ones(len(small), bool), live])
    queries = np.concatenate([small[:20], large[1::150]])
    scores, rows = dense.search(queries, 10)
    assert (rows >= 0).all() and allowed[rows].all()
    # every score is the exact inner product of its row (flat exact, PQ candidates rescored)
    assert np.allclose(scores, np.einsum("qd,qkd->qk", queries, everything[rows]), atol=1e-5)
    exact = np.flatnonzero(allowed)[exact_top(everything[allowed], queries)]
    found = recall_at_k(rows, exact)
    print(f"recall@10 over a flat and an IVF-PQ segment: {found:.3f}")
    assert found >= 0.9
    # a flat segment alone is exact: its top 10 is the exact top 10
    flat_only = SegmentedDense([(flat, 0, None, lambda: small)], len(small))
    assert [set(r) for r in flat_only.search(small[:5], 10)[1].tolist()] == \
        [set(r) for r in exact_top(small, small[:5]).tolist()]
