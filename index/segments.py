"""One segment of the index: an immutable folder of letters with everything search needs over them.

    INDEX_DIR/segments/seg-<stamp>/
      table.sqlite          documents (text + metadata), sentences, chunks, entities; local row numbers
      chunk_vectors.npy     float32 [n_chunks, dim], normalised (allow_pickle=False)
      sentence_vectors.npy  float32 [n_sentences, dim]
      chunk_doc.npy         int32 [n_chunks]: local document ordinal of each chunk
      dense.faiss           FAISS inner-product index over chunk_vectors, its kind chosen by index/ann.py from
                            the segment's size and settings.dense_memory_mb (exact below ann_exact_limit)
      bm25/                 raw term frequencies (index/postings.py): vocab.json, indptr.npy, rows.npy,
                            tf.npy, doc_len.npy

A segment is written once into segments/.staging-seg-*, hashed (its integrity record goes into every
manifest that lists it) and renamed; nothing changes it afterwards. Which of its letters are live is
the manifest's business (tombstones), not the segment's.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import integrity, postings as postings_mod
from .ann import dense_index
from .postings import Postings
from .layout import segments_root
from .settings import Settings

SCHEMA = """
CREATE TABLE documents (ordinal INTEGER PRIMARY KEY, doc_id TEXT UNIQUE, source TEXT UNIQUE, format TEXT,
    sha256 TEXT, text TEXT, metadata TEXT, pages TEXT, warnings TEXT);
CREATE TABLE sentences (row INTEGER PRIMARY KEY, doc_ordinal INTEGER, start INTEGER, "end" INTEGER,
    boilerplate INTEGER, embed_hash TEXT);
CREATE TABLE chunks (row INTEGER PRIMARY KEY, chunk_id TEXT, doc_ordinal INTEGER, char_start INTEGER,
    char_end INTEGER, text TEXT, sentence_first INTEGER, sentence_last INTEGER, boilerplate INTEGER,
    n_tokens INTEGER, embed_hash TEXT);
CREATE TABLE entities (doc_ordinal INTEGER PRIMARY KEY, spans TEXT);
CREATE INDEX sentences_doc ON sentences(doc_ordinal);
CREATE INDEX chunks_doc ON chunks(doc_ordinal);
CREATE INDEX sentences_hash ON sentences(embed_hash);
CREATE INDEX chunks_hash ON chunks(embed_hash);
"""
BM25_FILES = ("vocab.json", "indptr.npy", "rows.npy", "tf.npy", "doc_len.npy")


@dataclass
class SegmentContents:
    """Everything a segment holds, as table rows in local row order (the shape of the SQLite tables)."""

    documents: list[tuple]  # (ordinal, doc_id, source, format, sha256, text, metadata json, pages json, warnings json)
    sentences: list[tuple]  # (row, doc_ordinal, start, end, boilerplate, embed_hash)
    chunks: list[tuple]  # (row, chunk_id, doc_ordinal, char_start, char_end, text, s_first, s_last, boilerplate, n_tokens, embed_hash)
    entities: list[tuple]  # (doc_ordinal, spans json)
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    postings: Postings


@dataclass(frozen=True)
class SegmentInfo:
    """A written segment as a manifest lists it."""

    name: str
    documents: int
    chunks: int
    sentences: int
    faiss: dict
    integrity: dict = field(repr=False)

    def to_json(self, deleted: Sequence[int] = ()) -> dict:
        return {"name": self.name, "documents": self.documents, "chunks": self.chunks, "sentences": self.sentences,
                "faiss": self.faiss, "deleted": sorted(int(d) for d in deleted), "integrity": self.integrity}


def make_hnsw(vectors: np.ndarray):
    """An HNSW graph over vectors: the approximate alternative bench.measure times against exact search
    (index/ann.py chooses the index a segment gets)."""
    import faiss

    index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.hnsw.efSearch = 128
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_segment(index_dir: Path, contents: SegmentContents, settings: Settings) -> SegmentInfo:
    """Write a segment, hash it and rename it into place (the caller holds the build lock). Nothing
    lists it yet: until a manifest does, clean-up may delete it."""
    import faiss

    root = segments_root(index_dir)
    root.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"seg-{stamp}"
    staging = root / f".staging-{name}-{os.getpid()}"
    staging.mkdir()
    try:
        db = sqlite3.connect(staging / "table.sqlite")
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?)", contents.documents)
        db.executemany("INSERT INTO sentences VALUES (?,?,?,?,?,?)", contents.sentences)
        db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?)", contents.chunks)
        db.executemany("INSERT INTO entities VALUES (?,?)", contents.entities)
        db.commit()
        db.close()
        _save(staging / "chunk_vectors.npy", contents.chunk_vectors.astype(np.float32))
        _save(staging / "sentence_vectors.npy", contents.sentence_vectors.astype(np.float32))
        _save(staging / "chunk_doc.npy", np.array([c[2] for c in contents.chunks], dtype=np.int32))
        dense, dense_info = dense_index(contents.chunk_vectors, settings)
        faiss.write_index(dense, str(staging / "dense.faiss"))
        _write_postings(staging / "bm25", contents.postings)
        record = integrity.record(staging)
        final = root / name
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SegmentInfo(name, len(contents.documents), len(contents.chunks), len(contents.sentences),
                       dense_info.to_json(), record)


def _save(path: Path, array: np.ndarray) -> None:
    np.save(path, array, allow_pickle=False)


def _write_postings(folder: Path, p: Postings) -> None:
    folder.mkdir()
    (folder / "vocab.json").write_text(json.dumps(list(p.vocab), ensure_ascii=False), encoding="utf-8")
    _save(folder / "indptr.npy", p.indptr.astype(np.int64))
    _save(folder / "rows.npy", p.rows.astype(np.int32))
    _save(folder / "tf.npy", p.tf.astype(np.float32))
    _save(folder / "doc_len.npy", p.doc_len.astype(np.int32))


def read_postings(folder: Path, load) -> Postings:
    """A segment's postings; load(part, fn) reads one file, naming it when it is damaged."""
    def array(name: str):  # memory-mapped: a question reads only its terms' postings
        return load(f"bm25/{name}", lambda path: np.load(path, mmap_mode="r", allow_pickle=False))

    vocab = load("bm25/vocab.json", lambda path: json.loads(path.read_text(encoding="utf-8")))
    indptr, rows, tf, doc_len = array("indptr.npy"), array("rows.npy"), array("tf.npy"), array("doc_len.npy")

    def check(_path):
        if not isinstance(vocab, list) or indptr.shape != (len(vocab) + 1,) or rows.shape != tf.shape \
                or int(indptr[-1]) != len(rows) or (len(rows) and int(rows.max()) >= len(doc_len)):
            raise ValueError("postings arrays do not fit together")
    load("bm25/indptr.npy", check)
    return Postings(tuple(vocab), indptr, rows, tf, doc_len)


# --- merging (tiered, like Lucene) --------------------------------------------------------------
def plan_merge(sizes: Sequence[int], max_segments: int) -> list[int]:
    """Which segments (positions in `sizes`, live chunks each) to merge so that at most max_segments
    remain: the smallest ones, and then any next-smallest that is no bigger than what is being merged
    so far (so a segment is rewritten about log2(total / its size) times in its life, and the big
    segment of an old corpus is left alone by the small ones added after it)."""
    if len(sizes) <= max_segments:
        return []
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))
    take = max(2, len(sizes) - max_segments + 1)
    chosen = order[:take]
    total = sum(sizes[i] for i in chosen)
    for i in order[take:]:
        if sizes[i] > total:
            break
        chosen.append(i)
        total += sizes[i]
    return sorted(chosen)


def merged_contents(parts: Sequence[tuple[Path, frozenset[int]]]) -> SegmentContents:
    """The live letters of segments (folder, deleted local document ordinals), in order, as one
    segment's contents: rows renumbered, nothing re-embedded or re-tokenised."""
    out = SegmentContents([], [], [], [], np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32),
                          postings_mod.from_tokens([]))
    chunk_vectors, sentence_vectors, postings_parts = [], [], []
    for folder, deleted in parts:
        db = sqlite3.connect(f"file:{folder / 'table.sqlite'}?mode=ro", uri=True)
        try:
            documents = db.execute("SELECT * FROM documents ORDER BY ordinal").fetchall()
            sentences = db.execute("SELECT * FROM sentences ORDER BY row").fetchall()
            chunks = db.execute("SELECT * FROM chunks ORDER BY row").fetchall()
            entities = dict(db.execute("SELECT doc_ordinal, spans FROM entities").fetchall())
        finally:
            db.close()
        doc_map = {}
        for doc in documents:
            if doc[0] not in deleted:
                doc_map[doc[0]] = len(out.documents)
                out.documents.append((doc_map[doc[0]], *doc[1:]))
                if doc[0] in entities:
                    out.entities.append((doc_map[doc[0]], entities[doc[0]]))
        sentence_keep = np.array([s[1] in doc_map for s in sentences], dtype=bool)
        sentence_map = np.cumsum(sentence_keep) - 1 + len(out.sentences)
        for s, keep in zip(sentences, sentence_keep):
            if keep:
                out.sentences.append((len(out.sentences), doc_map[s[1]], *s[2:]))
        chunk_keep = np.array([c[2] in doc_map for c in chunks], dtype=bool)
        for c, keep in zip(chunks, chunk_keep):
            if keep:
                out.chunks.append((len(out.chunks), c[1], doc_map[c[2]], c[3], c[4], c[5], int(sentence_map[c[6]]),
                                   int(sentence_map[c[7]]), *c[8:]))
        chunk_vectors.append(np.load(folder / "chunk_vectors.npy", mmap_mode="r", allow_pickle=False)[chunk_keep])
        sentence_vectors.append(np.load(folder / "sentence_vectors.npy", mmap_mode="r",
                                        allow_pickle=False)[sentence_keep])
        postings_parts.append((read_postings(folder / "bm25", lambda part, fn: fn(folder / part)), chunk_keep))
    out.chunk_vectors = np.concatenate(chunk_vectors) if chunk_vectors else out.chunk_vectors
    out.sentence_vectors = np.concatenate(sentence_vectors) if sentence_vectors else out.sentence_vectors
    out.postings = postings_mod.concatenate(postings_parts)
    return out
