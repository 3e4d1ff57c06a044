"""The persisted index: one directory, no pickle.

    INDEX_DIR/
      CURRENT                 name of the live build folder (replaced atomically)
      build-<stamp>/
        manifest.json         format version, model, dimension, chunker parameters, per-file sha256,
                              skipped files, counts, build time, FAISS kind, library versions
        table.sqlite          documents (text + metadata), sentences, chunks
        chunk_vectors.npy     float32 [n_chunks, dim], normalised (allow_pickle=False)
        sentence_vectors.npy  float32 [n_sentences, dim]
        chunk_doc.npy         int32 [n_chunks]: document ordinal of each chunk (for filters)
        dense.faiss           FAISS inner-product index over chunk_vectors
        bm25/                 bm25s index (JSON + .npy)

A build writes a new folder and then swaps CURRENT, so a failed or interrupted build leaves the
previous index untouched and usable.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .records import Chunk, LetterMetadata, Span

log = logging.getLogger(__name__)
logging.getLogger("bm25s").addFilter(lambda record: record.levelno >= logging.WARNING)  # bm25s sets DEBUG on import

FORMAT_VERSION = 1
EXACT_SEARCH_LIMIT = 150_000  # chunks; above this an HNSW graph replaces exact search
# Measured (bench/results/faiss_scaling.json, python -m bench): exact single-query search costs 13 ms at 120k
# chunks on an idle core and 25 / 53 / 73 ms p50 at 100k / 200k / 300k on 2 shared cores, so beyond ~150k it
# no longer fits a 60 ms answer. HNSW (M=32, efSearch=128) answers in 0.2-0.25 ms with recall@10 0.996-1.0
# against exact at 100k-300k, but building the graph costs ~0.4 ms per chunk (48 s at 120k) on every build,
# incremental ones included, so exact search is kept while it is fast enough.


class IndexUnavailable(RuntimeError):
    """The index is missing, damaged or built with other settings; the message says what to do."""


@dataclass(frozen=True)
class DocumentRecord:
    """A document as the index holds it (its text is read on demand)."""

    ordinal: int
    doc_id: str
    source: str
    format: str
    sha256: str
    metadata: LetterMetadata
    pages: tuple[tuple[int, int], ...]
    warnings: tuple[str, ...]
    n_chars: int

    def page_at(self, offset: int) -> int | None:
        """The PDF page a document offset falls on (None for formats without pages)."""
        page = None
        for number, start in self.pages:
            if start <= offset:
                page = number
        return page

    def to_json(self) -> dict:
        return {"doc_id": self.doc_id, "source": self.source, "format": self.format, "sha256": self.sha256,
                "n_chars": self.n_chars, "warnings": list(self.warnings), **self.metadata.to_json()}


@dataclass(frozen=True)
class ChunkRow:
    row: int
    chunk_id: str
    doc_ordinal: int
    char_start: int
    char_end: int
    text: str
    sentence_first: int
    sentence_last: int
    boilerplate: bool


@dataclass(frozen=True)
class SentenceRow:
    row: int
    doc_ordinal: int
    start: int
    end: int
    boilerplate: bool


_SCHEMA = """
CREATE TABLE documents (ordinal INTEGER PRIMARY KEY, doc_id TEXT UNIQUE, source TEXT UNIQUE, format TEXT,
    sha256 TEXT, text TEXT, metadata TEXT, pages TEXT, warnings TEXT);
CREATE TABLE sentences (row INTEGER PRIMARY KEY, doc_ordinal INTEGER, start INTEGER, "end" INTEGER,
    boilerplate INTEGER, embed_hash TEXT);
CREATE TABLE chunks (row INTEGER PRIMARY KEY, chunk_id TEXT, doc_ordinal INTEGER, char_start INTEGER,
    char_end INTEGER, text TEXT, sentence_first INTEGER, sentence_last INTEGER, boilerplate INTEGER,
    n_tokens INTEGER, embed_hash TEXT);
CREATE INDEX sentences_doc ON sentences(doc_ordinal);
CREATE INDEX chunks_doc ON chunks(doc_ordinal);
"""


@dataclass
class BuildContents:
    """Everything a build writes, in row order."""

    documents: list[tuple[DocumentRecord, str]]  # (record, canonical text)
    sentences: list[tuple[int, Span, str]]  # (doc ordinal, span, embed hash)
    chunks: list[tuple[int, Chunk, int, int]]  # (doc ordinal, chunk, first sentence row, last sentence row)
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    chunk_tokens: list[list[str]]


def make_dense_index(vectors: np.ndarray):
    """Exact inner-product search while the corpus is small enough, an HNSW graph beyond."""
    import faiss

    dim = vectors.shape[1]
    if len(vectors) > EXACT_SEARCH_LIMIT:
        return make_hnsw(vectors)
    index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def make_hnsw(vectors: np.ndarray):
    """The approximate index used above EXACT_SEARCH_LIMIT (also timed by bench.measure)."""
    import faiss

    index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.hnsw.efSearch = 128
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_build(index_dir: Path, manifest: dict, contents: BuildContents) -> Path:
    """Write a complete build into a new folder under index_dir and make it current."""
    import bm25s
    import faiss

    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    staging = index_dir / f".staging-{stamp}-{os.getpid()}"
    final = index_dir / f"build-{stamp}"
    staging.mkdir()
    try:
        db = sqlite3.connect(staging / "table.sqlite")
        db.executescript(_SCHEMA)
        db.executemany("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?)", [
            (rec.ordinal, rec.doc_id, rec.source, rec.format, rec.sha256, text, json.dumps(rec.metadata.to_json()),
             json.dumps(rec.pages), json.dumps(rec.warnings)) for rec, text in contents.documents])
        db.executemany("INSERT INTO sentences VALUES (?,?,?,?,?,?)", [
            (row, ordinal, span.start, span.end, int(span.boilerplate), embed_hash)
            for row, (ordinal, span, embed_hash) in enumerate(contents.sentences)])
        db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?)", [
            (row, chunk.chunk_id, ordinal, chunk.char_start, chunk.char_end, chunk.text, first, last,
             int(chunk.boilerplate), chunk.n_tokens, chunk.content_hash)
            for row, (ordinal, chunk, first, last) in enumerate(contents.chunks)])
        db.commit()
        db.close()
        np.save(staging / "chunk_vectors.npy", contents.chunk_vectors.astype(np.float32), allow_pickle=False)
        np.save(staging / "sentence_vectors.npy", contents.sentence_vectors.astype(np.float32), allow_pickle=False)
        np.save(staging / "chunk_doc.npy", np.array([c[0] for c in contents.chunks], dtype=np.int32),
                allow_pickle=False)
        dense = make_dense_index(contents.chunk_vectors)
        faiss.write_index(dense, str(staging / "dense.faiss"))
        retriever = bm25s.BM25()
        retriever.index(contents.chunk_tokens or [[""]], show_progress=False)
        retriever.save(str(staging / "bm25"), show_progress=False)
        manifest = dict(manifest, faiss={"type": type(dense).__name__, "ntotal": int(dense.ntotal)})
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        staging.rename(final)
        _set_current(index_dir, final.name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_old_builds(index_dir, keep=final.name)
    return final


def _set_current(index_dir: Path, name: str) -> None:
    pointer = index_dir / f".CURRENT.{os.getpid()}"
    pointer.write_text(name + "\n", encoding="utf-8")
    os.replace(pointer, index_dir / "CURRENT")


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    for child in index_dir.iterdir():
        if child.is_dir() and child.name.startswith("build-") and child.name != keep:
            shutil.rmtree(child, ignore_errors=True)


def current_build(index_dir: Path) -> Path | None:
    pointer = Path(index_dir) / "CURRENT"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    build = Path(index_dir) / name
    return build if name and build.is_dir() else None


def read_manifest(index_dir: Path) -> dict | None:
    build = current_build(index_dir)
    if build is None:
        return None
    try:
        return json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build_hint(index_dir: Path) -> str:
    return f"build it with: python -m index build --index-dir {index_dir}"


class IndexReader:
    """Read access to the current build. Safe to share between threads (one SQLite connection each)."""

    def __init__(self, index_dir: Path, build: Path, manifest: dict):
        self.index_dir = Path(index_dir)
        self.build = build
        self.manifest = manifest
        self._local = threading.local()
        rows = self._db().execute(
            "SELECT ordinal, doc_id, source, format, sha256, metadata, pages, warnings, length(text) "
            "FROM documents ORDER BY ordinal").fetchall()
        self.documents: list[DocumentRecord] = [
            DocumentRecord(o, d, s, f, h, LetterMetadata.from_json(json.loads(m)),
                           tuple(tuple(p) for p in json.loads(pg)), tuple(json.loads(w)), n)
            for o, d, s, f, h, m, pg, w, n in rows]
        self.by_source = {d.source: d for d in self.documents}
        self.by_id = {d.doc_id: d for d in self.documents}
        self.chunk_doc = np.load(build / "chunk_doc.npy", allow_pickle=False)
        self._dense = None
        self._bm25 = None
        self._chunk_vectors = None
        self._sentence_vectors = None
        self._lazy_lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: Path, model: str | None = None) -> "IndexReader":
        index_dir = Path(index_dir)
        build = current_build(index_dir)
        if build is None:
            raise IndexUnavailable(f"no index at {index_dir}; {build_hint(index_dir)}")
        try:
            manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexUnavailable(f"index at {index_dir} is damaged ({exc}); rebuild it with: "
                                   f"python -m index build --rebuild --index-dir {index_dir}") from None
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexUnavailable(
                f"index at {index_dir} has format {manifest.get('format_version')}, this version reads "
                f"{FORMAT_VERSION}; rebuild it with: python -m index build --rebuild --index-dir {index_dir}")
        if model is not None and manifest.get("model") != model:
            raise IndexUnavailable(
                f"index at {index_dir} was built with model {manifest.get('model')!r} but the settings ask for "
                f"{model!r}; rebuild it with: python -m index build --rebuild --index-dir {index_dir}")
        try:
            return cls(index_dir, build, manifest)
        except (OSError, sqlite3.Error, ValueError) as exc:
            raise IndexUnavailable(f"index at {index_dir} is damaged ({exc}); rebuild it with: "
                                   f"python -m index build --rebuild --index-dir {index_dir}") from None

    # --- lazily loaded parts -------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.build / 'table.sqlite'}?mode=ro", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def _lazy(self, name: str, load):
        value = getattr(self, name)
        if value is None:
            with self._lazy_lock:
                value = getattr(self, name)
                if value is None:
                    value = load()
                    setattr(self, name, value)
        return value

    @property
    def dense(self):
        def load():
            import faiss
            return faiss.read_index(str(self.build / "dense.faiss"))
        return self._lazy("_dense", load)

    @property
    def bm25(self):
        def load():
            import bm25s
            return bm25s.BM25.load(str(self.build / "bm25"), allow_pickle=False, show_progress=False)
        return self._lazy("_bm25", load)

    @property
    def chunk_vectors(self) -> np.ndarray:
        return self._lazy("_chunk_vectors", lambda: np.load(self.build / "chunk_vectors.npy", mmap_mode="r",
                                                             allow_pickle=False))

    @property
    def sentence_vectors(self) -> np.ndarray:
        return self._lazy("_sentence_vectors", lambda: np.load(self.build / "sentence_vectors.npy",
                                                                mmap_mode="r", allow_pickle=False))

    # --- queries --------------------------------------------------------------------------------
    @property
    def n_chunks(self) -> int:
        return int(len(self.chunk_doc))

    def text(self, doc_id_or_source: str) -> str:
        doc = self.by_id.get(doc_id_or_source) or self.by_source.get(doc_id_or_source)
        if doc is None:
            raise KeyError(doc_id_or_source)
        return self._db().execute("SELECT text FROM documents WHERE ordinal = ?", (doc.ordinal,)).fetchone()[0]

    def chunks(self, rows: Sequence[int]) -> list[ChunkRow]:
        if not len(rows):
            return []
        marks = ",".join("?" * len(rows))
        found = {r[0]: ChunkRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8])) for r in self._db().execute(
            f"SELECT row, chunk_id, doc_ordinal, char_start, char_end, text, sentence_first, sentence_last, "
            f"boilerplate FROM chunks WHERE row IN ({marks})", [int(r) for r in rows])}
        return [found[int(r)] for r in rows]

    def sentences(self, first: int, last: int) -> list[SentenceRow]:
        return [SentenceRow(r[0], r[1], r[2], r[3], bool(r[4])) for r in self._db().execute(
            'SELECT row, doc_ordinal, start, "end", boilerplate FROM sentences WHERE row BETWEEN ? AND ? ORDER BY row',
            (first, last))]

    def document_sentences(self, ordinal: int) -> list[SentenceRow]:
        return [SentenceRow(r[0], r[1], r[2], r[3], bool(r[4])) for r in self._db().execute(
            'SELECT row, doc_ordinal, start, "end", boilerplate FROM sentences WHERE doc_ordinal = ? ORDER BY row',
            (ordinal,))]

    def sentences_by_document(self) -> dict[int, list[tuple[int, int, int, bool, str]]]:
        """{ordinal: [(row, start, end, boilerplate, embed_hash), ...]} in row order (for incremental builds)."""
        out: dict[int, list] = {}
        for row, ordinal, start, end, boiler, h in self._db().execute(
                'SELECT row, doc_ordinal, start, "end", boilerplate, embed_hash FROM sentences ORDER BY row'):
            out.setdefault(ordinal, []).append((row, start, end, bool(boiler), h))
        return out

    def chunks_by_document(self) -> dict[int, list[tuple[str, int, int, str, int, int, bool, int]]]:
        """{ordinal: [(chunk_id, start, end, text, sentence_first, sentence_last, boilerplate, n_tokens), ...]}."""
        out: dict[int, list] = {}
        for ordinal, *rest in self._db().execute(
                "SELECT doc_ordinal, chunk_id, char_start, char_end, text, sentence_first, sentence_last, boilerplate, "
                "n_tokens FROM chunks ORDER BY row"):
            rest[6] = bool(rest[6])
            out.setdefault(ordinal, []).append(tuple(rest))
        return out

    def sentence_hashes(self) -> dict[str, int]:
        return {h: row for row, h in self._db().execute("SELECT row, embed_hash FROM sentences")}

    def chunk_hashes(self) -> dict[str, int]:
        return {h: row for row, h in self._db().execute("SELECT row, embed_hash FROM chunks")}

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

