"""bench.scale: stand-in vectors readable in any order, and the simulation's arithmetic."""
from __future__ import annotations

import numpy as np

from bench.scale import SIM_LETTERS, SIM_WORKERS, StandInVectors, simulate


def test_stand_in_vectors_are_the_same_whether_read_in_batches_or_by_row():
    vectors = StandInVectors(1000, seed=3)
    block = vectors[100:200]
    rows = vectors[np.array([150, 100, 199])]
    assert block.shape == (100, 384) and np.allclose(np.linalg.norm(block, axis=1), 1, atol=1e-5)
    assert np.array_equal(rows, block[[50, 0, 99]])
    assert not np.array_equal(StandInVectors(1000, seed=4)[100:200], block)


def test_the_simulation_scales_the_parallel_stages_with_workers_and_keeps_the_writer_serial():
    measured = {"letters": 100, "workers": 2, "ray_stage_startup_seconds": 10.0, "ray_parse_seconds": 105.0,
                "ray_embed_seconds": 205.0, "texts_embedded": 4000, "write_seconds": 1.0, "chunks": 1000,
                "bm25_mb": 1.0, "serving_base_rss_mb": 500.0, "ray_start_seconds": 20.0}
    rows = simulate(measured)
    assert len(rows) == len(SIM_LETTERS) * len(SIM_WORKERS)
    one = {(r["letters"], r["workers"]): r["build_hours"] for r in rows}
    # 1 worker, 10k letters: 30 s start + 10k x (2 + 40 x 0.1) worker-s + 10k x 0.01 s of writing
    assert abs(one[(10_000, 1)] * 3600 - (30 + 10_000 * 6.0 + 100)) < 1
    assert abs(one[(10_000, 64)] * 3600 - (30 + 10_000 * 6.0 / 64 + 100)) < 1
    assert [r["dense_kind"] for r in rows if r["workers"] == 1] == ["flat", "ivf_flat", "ivf_sq8"]  # 10 chunks a letter
