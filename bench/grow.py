"""Adding and removing one letter at 2 / 1,000 / 10,000 letters: `python -m bench --sizes 2,1000,10000 --phases grow`.

The index of N letters is a STAND-IN made without embedding N letters: 20 synthetic letters (or the two
shipped ones) go through the real pipeline, then their segment's rows are repeated under other file
names (copy-00001/..., same text, so the stored vectors are the right ones) into one segment of N
letters, as `python -m index optimize` would leave it, with a manifest whose files match the corpus on
disk. The letters added on top are new synthetic letters that go through the real pipeline (loading,
entities, metadata, chunking, embedding with the real model, a new segment, a new manifest).

Figures (seconds, medians where repeated):
  add_cli_s       a fresh `python -m index build` that finds one new letter (imports and model loads
                  included: what a user waits for)
  noop_cli_s      a fresh `python -m index build` right after it, nothing changed (the new letter is
                  still "racy", index/snapshot.py, so it is hashed again)
  add_first_s     the first add in a fresh worker process (build_index call only; models load inside)
  add_warm_s      later adds in the same process (the app's upload path: models already loaded)
  remove_s        removing the letter again (a tombstone or a dropped segment; nothing embedded)
  noop_s          a rebuild with nothing changed
  *_cpu_s         the same in CPU seconds of the worker process or command (steadier on a busy
                  shared machine)
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from pathlib import Path

from .measure import SHIPPED, run_worker, settings_for, timed_usage

UNIQUE_LETTERS = 20
ADDED_DIR = "zz-bench-added"


def _write_base_letters(folder: Path, size: int) -> None:
    from bench.synth import _text_letter

    if size <= 2:
        shutil.copytree(SHIPPED, folder)
        return
    folder.mkdir(parents=True)
    for i in range(min(size, UNIQUE_LETTERS)):
        letter = _text_letter(i, 0)
        (folder / Path(letter.file_name).with_suffix(".txt").name).write_text(letter.text, encoding="utf-8")


def standin_index(size: int, cache: Path) -> tuple[Path, Path]:
    """(corpus, index_dir) of a stand-in index of `size` letters, made once into the cache."""
    from index.building import build_index, pipeline_fingerprint
    from index.store import FORMAT_VERSION, read_manifest

    home = cache / f"grow-{size}"
    corpus, index_dir = home / "corpus", home / "index"
    manifest = read_manifest(index_dir) if (home / ".complete").exists() else None
    if manifest and manifest.get("pipeline") == pipeline_fingerprint() and manifest.get("format_version") == FORMAT_VERSION:
        shutil.rmtree(corpus / ADDED_DIR, ignore_errors=True)
        build_index(settings_for(corpus, index_dir))  # forget letters a previous run added
        # (a stand-in made by other code is made again: a build would read all its letters anew)
        return corpus, index_dir
    shutil.rmtree(home, ignore_errors=True)
    base = settings_for(home / "base-corpus", home / "base-index")
    _write_base_letters(base.corpus_dir, size)
    build_index(base)
    if size <= 2:
        shutil.copytree(base.corpus_dir, corpus)
        shutil.copytree(base.index_dir, index_dir)
    else:
        _repeat(base, size, corpus, index_dir)
    shutil.rmtree(home / "base-index")
    (home / ".complete").write_text(str(size))
    return corpus, index_dir


def _repeat(base, size: int, corpus: Path, index_dir: Path) -> None:
    """Write the base letters again under copy-NNNNN/ up to `size` letters, and one segment holding
    them all (rows of the base segment repeated, sources and ids renamed) listed by a new build."""
    import dataclasses
    import datetime as dt

    import numpy as np

    from index.building import _signature, _versions, pipeline_fingerprint
    from index.embedding import embedder_identity
    from index.loading import discover, make_doc_id
    from index.locking import build_lock
    from index.postings import concatenate
    from index.segments import SegmentContents, merged_contents, segments_root, write_segment
    from index.store import read_manifest, write_build

    manifest = read_manifest(base.index_dir)
    (entry,) = manifest["segments"]
    one = merged_contents([(segments_root(base.index_dir) / entry["name"], frozenset())])
    n_base = len(one.documents)
    full, last = divmod(size, n_base)
    out = SegmentContents([], [], [], [], np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32), one.postings)
    files = {}
    for copy in range(full + (1 if last else 0)):
        take = n_base if copy < full else last  # the first `take` letters of the base (ordinals 0..take-1)
        sentence_base, chunk_base, doc_base = len(out.sentences), len(out.chunks), len(out.documents)
        renamed = {}
        for ordinal, doc_id, source, fmt, sha, text, *rest in one.documents[:take]:
            new_source = f"copy-{copy:05d}/{source}"
            target = corpus / new_source
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(base.corpus_dir / source, target)
            renamed[ordinal] = (doc_base + ordinal, make_doc_id(new_source, sha))
            out.documents.append((doc_base + ordinal, renamed[ordinal][1], new_source, fmt, sha, text, *rest))
            files[new_source] = dict(manifest["files"][source], doc_id=renamed[ordinal][1], ordinal=doc_base + ordinal)
        out.entities += [(renamed[o][0], spans) for o, spans in one.entities if o in renamed]
        out.sentences += [(sentence_base + row, renamed[o][0], *rest) for row, o, *rest in one.sentences if o in renamed]
        out.chunks += [(chunk_base + row, f"{renamed[o][1]}:{cid.rsplit(':', 1)[1]}", renamed[o][0], a, b, text,
                        sentence_base + first, sentence_base + last_row, *rest)
                       for row, cid, o, a, b, text, first, last_row, *rest in one.chunks if o in renamed]
    keep_sentences = np.array([o < last for _, o, *_ in one.sentences], dtype=bool)
    keep_chunks = np.array([o < last for _, _, o, *_ in one.chunks], dtype=bool)
    tail = [(one.sentence_vectors[keep_sentences], one.chunk_vectors[keep_chunks], keep_chunks)] if last else []
    out.sentence_vectors = np.concatenate([one.sentence_vectors] * full + [t[0] for t in tail])
    out.chunk_vectors = np.concatenate([one.chunk_vectors] * full + [t[1] for t in tail])
    out.postings = concatenate([(one.postings, np.ones(len(one.chunks), bool))] * full
                               + [(one.postings, t[2]) for t in tail])
    settings = dataclasses.replace(base, corpus_dir=corpus, index_dir=index_dir)
    with build_lock(index_dir, 0):
        info = write_segment(index_dir, out, settings)
        found = {f.source: f for f in discover(corpus, settings.max_file_bytes).files}
        for source, entry in files.items():
            entry.update(segment=info.name, size=found[source].size, mtime_ns=found[source].mtime_ns)
        write_build(index_dir, {
            **_signature(settings), "dimension": manifest["dimension"], "embedder": embedder_identity(settings),
            "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "corpus_dir": str(corpus.resolve()), "versions": _versions(), "pipeline": pipeline_fingerprint(),
            "files": dict(sorted(files.items())), "unreadable": {},
            "counts": {"documents": len(out.documents), "chunks": len(out.chunks), "sentences": len(out.sentences)},
            "segments": [info.to_json()]})


def _add_letter(corpus: Path, number: int) -> Path:
    from bench.synth import _text_letter

    letter = _text_letter(number, 0)
    path = corpus / ADDED_DIR / Path(letter.file_name).with_suffix(".txt").name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(letter.text, encoding="utf-8")
    return path


def phase_grow(size: int, cache: str, rounds: int = 3) -> dict:
    """Worker: stand-in index, then adds and removes of one letter timed in this process."""
    from index.store import IndexReader

    corpus, index_dir = standin_index(size, Path(cache))
    settings = settings_for(corpus, index_dir)
    reader = IndexReader.open(index_dir)
    documents, chunks = len(reader.documents), reader.n_chunks
    reader.close()
    noop, adds, removes, embedded, segments = [], [], [], [], []  # (wall, cpu) seconds each
    for number in range(rounds):
        path = _add_letter(corpus, 100_000 + number)
        report, timing = _timed_build(settings)
        adds.append(timing)
        assert report.added and not report.noop, report.summary()
        embedded.append(report.embedded)
        segments.append(report.segments)
        report, timing = _timed_build(settings)
        assert report.noop
        noop.append(timing)
        path.unlink()
        report, timing = _timed_build(settings)
        removes.append(timing)
        assert report.removed and report.embedded == 0

    def median(timings, which):
        return statistics.median(t[which] for t in timings) if timings else None

    return {"documents": documents, "chunks": chunks, "add_first_s": adds[0][0], "add_first_cpu_s": adds[0][1],
            "add_warm_s": median(adds[1:], 0), "add_warm_cpu_s": median(adds[1:], 1),
            "add_all_s": [t[0] for t in adds], "remove_s": median(removes, 0), "remove_cpu_s": median(removes, 1),
            "noop_s": median(noop, 0), "noop_cpu_s": median(noop, 1),
            "texts_embedded": statistics.median(embedded), "segments_after_add": max(segments),
            "load_after": os.getloadavg()[0]}


def _timed_build(settings):
    """(report, (wall seconds, CPU seconds of this process)): on a shared machine the CPU time is
    the steadier figure (all threads of the process counted)."""
    from index.building import build_index

    wall, cpu = time.perf_counter(), time.process_time()
    report = build_index(settings)
    return report, (time.perf_counter() - wall, time.process_time() - cpu)


def run(size: int, cache: Path, rounds: int = 3, cli_runs: int = 2, log=print) -> dict:
    """Every figure of this module for one size (the stand-in is built on the first call, untimed)."""
    import sys

    log(f"[grow {size}] stand-in index and in-process adds …")
    result = {"size": size, **run_worker("grow", size=size, cache=str(cache), rounds=rounds)}
    corpus, index_dir = cache / f"grow-{size}" / "corpus", cache / f"grow-{size}" / "index"
    build = [sys.executable, "-m", "index", "build", "--quiet", "--corpus", str(corpus), "--index-dir", str(index_dir)]
    adds, noops = [], []  # (wall, CPU, RSS) of each command
    for number in range(cli_runs):
        path = _add_letter(corpus, 200_000 + number)
        adds.append(timed_usage(build))
        noops.append(timed_usage(build))
        path.unlink()
        timed_usage(build)
    for name, runs in (("add_cli", adds), ("noop_cli", noops)):
        result[f"{name}_s"] = statistics.median(r[0] for r in runs)
        result[f"{name}_cpu_s"] = statistics.median(r[1] for r in runs)
        result[f"{name}_rss_mb"] = statistics.median(r[2] for r in runs)
        result[f"{name}_all_s"] = [r[0] for r in runs]
    log(f"[grow {size}] {json.dumps({k: v for k, v in result.items() if not isinstance(v, list)})}")
    return result


def format_table(results: list[dict]) -> str:
    rows = [("letters", "documents", "{:,.0f}"), ("chunks", "chunks", "{:,.0f}"),
            ("add 1 letter, CLI s", "add_cli_s", "{:.2f}"), ("  CPU s", "add_cli_cpu_s", "{:.2f}"),
            ("  peak RSS MB", "add_cli_rss_mb", "{:.0f}"),
            ("add 1 letter, first in process s", "add_first_s", "{:.2f}"), ("  CPU s", "add_first_cpu_s", "{:.2f}"),
            ("add 1 letter, warm s", "add_warm_s", "{:.2f}"), ("  CPU s", "add_warm_cpu_s", "{:.2f}"),
            ("texts embedded", "texts_embedded", "{:.0f}"),
            ("remove it again s", "remove_s", "{:.2f}"), ("  CPU s", "remove_cpu_s", "{:.2f}"),
            ("no-op rebuild s", "noop_s", "{:.3f}"), ("  CPU s", "noop_cpu_s", "{:.3f}"),
            ("no-op rebuild, CLI s", "noop_cli_s", "{:.2f}"), ("  CPU s", "noop_cli_cpu_s", "{:.2f}"),
            ("load average after", "load_after", "{:.1f}"),
            ("segments after the add", "segments_after_add", "{:.0f}")]
    lines = ["figure".ljust(34) + "".join(f"{r['size']:>12,}" for r in results)]
    for label, key, fmt in rows:
        cells = [fmt.format(r[key]) if r.get(key) is not None else "-" for r in results]
        lines.append(label.ljust(34) + "".join(c.rjust(12) for c in cells))
    return "\n".join(lines)
