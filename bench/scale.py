"""Scale figures for issue 14: `python -m bench.scale [--letters 200] [--ann-sizes 1000000 3000000]`.

1. build: the same synthetic letters (bench.synth) built by the local engine and by Ray on this machine
   (local Ray, 2 workers): seconds, letters/s and the overhead ratio (Ray seconds / local seconds); the two
   indexes are compared (bench.parity). Stage timings give the measured costs the simulation uses.
2. simulation: build hours and serving RAM at 10k / 100k / 1M letters on 1, 8 and 64 workers, from
      hours = Ray start + stage start-up + letters x (parse + texts/letter x embed) worker-seconds / workers
              + letters x write seconds (the single writer: SQLite, BM25, FAISS; it does not parallelise)
   and RAM = dense index (index.ann.plan under the default budget) + BM25 + the serving process base.
3. ann: query p50 and recall@10 of index.ann's choice at 1M, 3M (10M with --ann-sizes) stand-in vectors,
   generated block by block so the raw matrix is never held (10M x 384 float32 would be 15 GB).

Figures are printed (medians where repeated) and written to --out as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SIM_LETTERS = (10_000, 100_000, 1_000_000)
SIM_WORKERS = (1, 8, 64)


class TimedEngine:
    """Wraps an engine, adding up the seconds its stages take (and what they were given)."""

    def __init__(self, engine):
        self.engine, self.name = engine, engine.name
        self.parse_seconds = self.embed_seconds = 0.0
        self.files = self.texts = 0

    def parse(self, files, progress=None):
        started = time.perf_counter()
        try:
            return self.engine.parse(files, progress)
        finally:
            self.parse_seconds += time.perf_counter() - started
            self.files += len(files)

    def embed(self, texts, progress=None, show_progress=False):
        started = time.perf_counter()
        try:
            return self.engine.embed(texts, progress, show_progress)
        finally:
            self.embed_seconds += time.perf_counter() - started
            self.texts += len(texts)

    def close(self):
        self.engine.close()


def _dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def measure_builds(letters: int, work: Path) -> dict:
    from bench.parity import compare
    from bench.synth import write_corpus
    from index.building import build_index
    from index.embedding import Embedder
    from index.engines import LocalEngine, make_engine
    from index.settings import Settings
    from index.segments import segments_root
    from index.store import read_manifest, segment_entries

    corpus = work / "corpus"
    write_corpus(corpus, letters)
    local = Settings(corpus_dir=corpus, index_dir=work / "local")
    remote = Settings(corpus_dir=corpus, index_dir=work / "ray")
    Embedder.for_settings(local).dimension  # model loaded (and exported) outside the timings

    local_engine = TimedEngine(LocalEngine(local))
    started = time.perf_counter()
    report = build_index(local, engine=local_engine)
    local_seconds = time.perf_counter() - started

    ray_engine = TimedEngine(make_engine("ray", remote))
    try:
        started = time.perf_counter()
        workers = ray_engine.engine.workers()  # starts the local Ray
        ray_start = time.perf_counter() - started
        started = time.perf_counter()
        ray_report = build_index(remote, engine=ray_engine)
        ray_seconds = time.perf_counter() - started
        # stage start-up: the same stages on one file and one text, Ray already running
        probe = TimedEngine(ray_engine.engine)
        from index.loading import discover
        probe.parse(discover(corpus, remote.max_file_bytes).files[:1])
        probe.embed(["one text"])
    finally:
        ray_engine.close()
    parity = compare(local.index_dir, remote.index_dir)
    folders = [segments_root(local.index_dir) / e["name"] for e in segment_entries(read_manifest(local.index_dir))]
    texts = report.embedded
    write_seconds = local_seconds - local_engine.parse_seconds - local_engine.embed_seconds
    return {
        "letters": letters, "documents": report.documents, "chunks": report.chunks, "sentences": report.sentences,
        "texts_embedded": texts, "workers": workers,
        "local_seconds": local_seconds, "ray_seconds": ray_seconds, "ray_start_seconds": ray_start,
        "local_letters_per_s": letters / local_seconds, "ray_letters_per_s": letters / (ray_seconds + ray_start),
        "overhead_ratio": (ray_seconds + ray_start) / local_seconds,
        "overhead_ratio_ray_running": ray_seconds / local_seconds,
        "local_parse_seconds": local_engine.parse_seconds, "local_embed_seconds": local_engine.embed_seconds,
        "ray_parse_seconds": ray_engine.parse_seconds, "ray_embed_seconds": ray_engine.embed_seconds,
        "ray_stage_startup_seconds": probe.parse_seconds + probe.embed_seconds,
        "write_seconds": write_seconds, "parity": parity.line(), "parity_ok": parity.ok,
        "bm25_mb": sum(_dir_mb(f / "bm25") for f in folders),
        "table_mb": sum((f / "table.sqlite").stat().st_size for f in folders) / 2**20,
        "serving_base_rss_mb": serving_rss_mb(local.index_dir), "identical": ray_report.chunks == report.chunks,
    }


def serving_rss_mb(index_dir: Path) -> float:
    """Peak RSS of a fresh process that loads the assistant over index_dir and answers one question."""
    code = ("import resource, sys; from retrieval import Assistant; a = Assistant.load(sys.argv[1]); "
            "a.ask('Who wrote the letter?'); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    done = subprocess.run([sys.executable, "-c", code, str(index_dir)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    return float(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else float("nan")


def simulate(measured: dict) -> list[dict]:
    """Build hours and serving RAM from the measured costs (see the module doc)."""
    from index.ann import plan
    from index.settings import Settings

    letters, workers = measured["letters"], measured["workers"]
    # worker-seconds per letter / per text in the Ray stages (their start-up taken out)
    startup = measured["ray_stage_startup_seconds"]
    parse_ws = max(0.0, measured["ray_parse_seconds"] - startup / 2) * workers / letters
    embed_ws = max(0.0, measured["ray_embed_seconds"] - startup / 2) * workers / max(1, measured["texts_embedded"])
    texts_per_letter = measured["texts_embedded"] / letters
    write_s = measured["write_seconds"] / letters
    chunks_per_letter = measured["chunks"] / letters
    bm25_per_chunk = measured["bm25_mb"] / max(1, measured["chunks"])
    rows = []
    for n_letters in SIM_LETTERS:
        chunks = int(n_letters * chunks_per_letter)
        dense = plan(chunks, 384, Settings())
        ram = dense.memory_mb + bm25_per_chunk * chunks + measured["serving_base_rss_mb"] + chunks * 4 / 2**20
        for n_workers in SIM_WORKERS:
            seconds = (measured["ray_start_seconds"] + startup
                       + n_letters * (parse_ws + texts_per_letter * embed_ws) / n_workers + n_letters * write_s)
            rows.append({"letters": n_letters, "workers": n_workers, "build_hours": seconds / 3600,
                         "chunks": chunks, "texts": int(n_letters * texts_per_letter), "dense_kind": dense.kind,
                         "serving_ram_gb": ram / 1024})
    return rows


class StandInVectors:
    """n normalised stand-in vectors, any row computable on its own (so batches and random rows are read without
    ever holding the matrix), deterministic in (n, seed). Text embeddings cluster at several scales, so a row is
    a topic centre (1,000) + a sub-topic offset (100,000, hashed) + its own hashed noise."""

    TOPICS, SUBTOPICS = 1000, 100_000

    def __init__(self, n: int, dim: int = 384, seed: int = 0):
        self.n, self.dim, self.shape = n, dim, (n, dim)
        rng = np.random.default_rng(seed)
        self.centres = rng.standard_normal((self.TOPICS, dim)).astype(np.float32)
        self.centres /= np.linalg.norm(self.centres, axis=1, keepdims=True)
        self.seed = np.uint64(seed * 0x9E3779B97F4A7C15 % 2**64)

    def __len__(self) -> int:
        return self.n

    @staticmethod
    def _mix(x: np.ndarray) -> np.ndarray:  # splitmix64
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))

    def _noise(self, ids: np.ndarray, salt: int) -> np.ndarray:
        """Uniform noise in [-0.5, 0.5) of shape [len(ids), dim], a pure function of (id, salt)."""
        cells = ids[:, None] * np.uint64(self.dim) + np.arange(self.dim, dtype=np.uint64)[None, :]
        return (self._mix(cells ^ self.seed ^ np.uint64(salt)) >> np.uint64(40)).astype(np.float32) / 2**24 - 0.5

    def rows(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.uint64)
        with np.errstate(over="ignore"):
            sub = self._mix(rows ^ self.seed) % np.uint64(self.SUBTOPICS)
            topic = (sub % np.uint64(self.TOPICS)).astype(np.int64)
            # norms 0.6 (topic), ~0.5 (sub-topic), ~0.4 (row): a row's nearest neighbours share its sub-topic at
            # cosine ~0.75 and its topic at ~0.5, roughly as MiniLM passages on one subject do
            vectors = 0.6 * self.centres[topic] + 0.09 * self._noise(sub, 1) + 0.07 * self._noise(rows, 2)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            return self.rows(np.arange(*key.indices(self.n)))
        return self.rows(np.asarray(key))


def rss_mb() -> float:
    """Resident set size of this process now, in MiB."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure_ann(n: int, queries: int, budget_mb: float | None) -> dict:
    from index.ann import dense_index, exact_top, recall_at_k, search
    from index.settings import Settings

    settings = Settings() if budget_mb is None else Settings(dense_memory_mb=budget_mb)
    vectors = StandInVectors(n)
    rss_before = rss_mb()
    started = time.perf_counter()
    index, info = dense_index(vectors, settings)
    build_seconds = time.perf_counter() - started
    rss_after = rss_mb()
    # queries the index has not seen: stored vectors moved a little
    rng = np.random.default_rng(7)
    asked = vectors[np.sort(rng.choice(n, queries, replace=False))]
    asked = asked + 0.02 * rng.standard_normal(asked.shape).astype(np.float32)
    asked /= np.linalg.norm(asked, axis=1, keepdims=True)
    exact = exact_top(vectors, asked)
    found, latencies = [], []
    for query in asked:
        started = time.perf_counter()
        found.append(search(index, query[None, :], 10, vectors)[1][0])
        latencies.append((time.perf_counter() - started) * 1000)
    return {"n": n, "kind": info.kind, "type": info.type, "nlist": info.nlist, "nprobe": info.nprobe,
            "pq_m": info.pq_m, "budget_mb": settings.dense_memory_mb, "index_mb_estimate": info.memory_mb,
            "rss_growth_mb": rss_after - rss_before, "build_seconds": build_seconds,
            "recall_at_10_recorded": info.recall_at_10, "recall_at_10_new_queries": recall_at_k(np.array(found), exact),
            "query_p50_ms": float(np.median(latencies)), "query_p90_ms": float(np.percentile(latencies, 90))}


def print_report(results: dict) -> None:
    b = results.get("build")
    if b:
        print(f"\nbuild of {b['letters']} synthetic letters ({b['texts_embedded']:,} texts embedded) on this machine:")
        print(f"  local engine  {b['local_seconds']:7.1f} s  {b['local_letters_per_s']:.2f} letters/s "
              f"(parse {b['local_parse_seconds']:.1f} s, embed {b['local_embed_seconds']:.1f} s, write {b['write_seconds']:.1f} s)")
        print(f"  Ray, {b['workers']} workers {b['ray_seconds'] + b['ray_start_seconds']:7.1f} s  {b['ray_letters_per_s']:.2f} letters/s "
              f"(Ray start {b['ray_start_seconds']:.1f} s, parse {b['ray_parse_seconds']:.1f} s, embed {b['ray_embed_seconds']:.1f} s, "
              f"stage start-up {b['ray_stage_startup_seconds']:.1f} s)")
        print(f"  overhead ratio Ray / local: {b['overhead_ratio']:.2f} ({b['overhead_ratio_ray_running']:.2f} with Ray already running)")
        print(f"  same index: {b['parity']}")
    if results.get("simulation"):
        print("\nsimulation (measured per-text cost, memory per vector): build hours | serving RAM")
        print(f"  {'letters':>9} {'texts':>11} {'1 worker':>9} {'8 workers':>10} {'64 workers':>11} {'dense index':>12} {'RAM GB':>7}")
        rows = results["simulation"]
        for n_letters in SIM_LETTERS:
            mine = {r["workers"]: r for r in rows if r["letters"] == n_letters}
            any_row = mine[SIM_WORKERS[0]]
            print(f"  {n_letters:>9,} {any_row['texts']:>11,} " + " ".join(
                f"{mine[w]['build_hours']:>{9 if w == 1 else 10 if w == 8 else 11}.2f}" for w in SIM_WORKERS)
                  + f" {any_row['dense_kind']:>12} {any_row['serving_ram_gb']:>7.1f}")
    for a in results.get("ann", []):
        print(f"\nANN at {a['n']:,} stand-in vectors: {a['kind']} ({a['type']}, nlist {a['nlist']}, nprobe {a['nprobe']}"
              f"{', ' + str(a['pq_m']) + ' B/vector' if a['pq_m'] else ''}) under a {a['budget_mb']:,.0f} MB budget: "
              f"~{a['index_mb_estimate']:,.0f} MB (RSS +{a['rss_growth_mb']:,.0f} MB), built in {a['build_seconds']:.0f} s; "
              f"query p50 {a['query_p50_ms']:.2f} ms (p90 {a['query_p90_ms']:.2f}); recall@10 {a['recall_at_10_new_queries']:.3f} "
              f"on new queries ({a['recall_at_10_recorded']:.3f} recorded at build)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=200, help="synthetic letters built by both engines (0: skip)")
    parser.add_argument("--ann-sizes", type=int, nargs="*", default=[1_000_000, 3_000_000],
                        help="stand-in vector counts for the ANN figures (none: skip)")
    parser.add_argument("--ann-budget-mb", type=float, nargs="*", default=[None],
                        help="dense memory budgets to measure (default: the settings' default)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "scale.json"))
    args = parser.parse_args(argv)
    results: dict = {}
    if args.letters:
        with tempfile.TemporaryDirectory(prefix="letters-qa-scale-") as work:
            results["build"] = measure_builds(args.letters, Path(work))
        results["simulation"] = simulate(results["build"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else {}
    _save(out, previous, results)
    print_report(results)
    results["ann"] = []
    for n in args.ann_sizes:  # each size printed and saved as soon as it is measured (10M takes long)
        for budget in args.ann_budget_mb:
            results["ann"].append(measure_ann(n, args.queries, budget))
            print_report({"ann": results["ann"][-1:]})
            _save(out, previous, results)
    print(f"\nwritten to {out}")
    return 0


def _save(out: Path, previous: dict, results: dict) -> None:
    """The figures measured so far, over those of earlier runs (ANN figures kept per size and budget)."""
    ann = {(a["n"], a["budget_mb"]): a for a in previous.get("ann", []) + results.get("ann", [])}
    merged = {**previous, **{k: v for k, v in results.items() if v}, "ann": sorted(ann.values(), key=lambda a: a["n"])}
    out.write_text(json.dumps(merged, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
