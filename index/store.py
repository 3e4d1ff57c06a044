"""The persisted index: one directory, no pickle, one builder at a time, readers pinned to their build.

    INDEX_DIR/
      CURRENT                 name of the live build folder (replaced atomically with os.replace)
      .build.lock             flock held by the one running builder; holds its pid (index/locking.py)
      build-<stamp>/          one complete build, never modified after CURRENT names it
        .lease                empty; every open IndexReader holds a shared flock on it
        manifest.json         format version, model, dimension, chunker parameters, per-letter sha256,
                              skipped files, counts, build time, FAISS kind, library versions, and
                              "integrity": {relative path: {size, sha256, mtime_ns}} for every other file
        table.sqlite          documents (text + metadata), sentences, chunks
        chunk_vectors.npy     float32 [n_chunks, dim], normalised (allow_pickle=False)
        sentence_vectors.npy  float32 [n_sentences, dim]
        chunk_doc.npy         int32 [n_chunks]: document ordinal of each chunk (for filters)
        dense.faiss           FAISS inner-product index over chunk_vectors
        bm25/                 bm25s index (JSON + .npy)
      .staging-<stamp>-<pid>/ a build being written (removed by the next build if its writer died)
      .trash-<name>/          a build being deleted (renamed first, so no reader can lease it any more)

Writing: under the build lock, a build is written into .staging-*, its integrity record computed, the
folder renamed to build-*, then CURRENT swapped. A failed or killed build leaves the previous index
untouched; the kernel releases a dead builder's lock.

Clean-up (every build, no-op ones included, under the build lock): .staging-* and .trash-* folders go;
a build-* folder other than the current one goes only if its lease can be taken exclusively, i.e. no
reader in any process still has it open. Leases were chosen over a grace period because a grace period
either deletes a build under a slow reader (an app kept open for a day) or keeps every build of a busy
writer; a lease frees the folder the moment its last reader closes, and the kernel drops the leases of
readers that die.

Reading: IndexReader.open reads CURRENT, takes the lease of that build (looking again if it vanished in
between), checks the integrity record cheaply (presence and size of every file) and loads. A reader keeps
its build until closed; `is_current()` tells a long-lived user (the Assistant) to open the new build,
and `retire()` releases the old lease once the calls still using it have finished (`pinned()`).

Integrity: `python -m index verify` hashes every file; a build hashes files whose mtime changed and, on
any damage, rewrites the build instead of reporting "up to date", re-using the stored vectors that are
intact (index/integrity.py).

Format 2 (this one) added the lease file and the integrity record; older builds are refused with the
command that rebuilds them.

Not built yet -- segments (issue 12), planned as format 3 on top of the same lock and leases:
    INDEX_DIR/segments/seg-<stamp>/   immutable: table.sqlite, chunk/sentence vectors, dense.faiss,
                                      postings (vocab.json, term-frequency CSC .npy, doc_len.npy)
    build-<stamp>/manifest.json       the ordered segment list and, per segment, its deleted letters
An added letter becomes a new segment and a removed one a tombstone, so a build writes one small
segment plus a manifest. Dense scores are exact inner products, so per-segment top-k merge exactly;
BM25 is scored from raw term frequencies with N, average length and document frequencies summed over
the live letters of all segments at query time, so scores do not depend on the segmentation. Global
rows are segment offset + local row. Builds share segments: clean-up deletes a segment only when no
current or leased build lists it. `index optimize` (and any build that would leave more than a set
number of segments) merges them into one.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import integrity
from .ann import dense_index
from .entities import Entity
from .locking import LEASE_FILE, Lease, create_lease_file, exclusive_lease
from .records import Chunk, LetterMetadata, Span
from .settings import Settings

log = logging.getLogger(__name__)


def _bm25s():
    """bm25s, quiet: it sets its own logger to DEBUG when imported, so every build printed a DEBUG line."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s

FORMAT_VERSION = 2  # 2: lease file and integrity record in every build; entities table
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
CREATE TABLE entities (doc_ordinal INTEGER PRIMARY KEY, spans TEXT);
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
    entities: dict[int, list[Entity]] = dataclasses.field(default_factory=dict)  # doc ordinal -> typed spans


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


BUILD_HOOKS: dict[str, Callable[[Path], None]] = {}  # test hooks: stage -> fn(build folder)
PAUSE_VARIABLE = "LETTERS_QA_TEST_PAUSE_AT"  # a stage name: a build process stops there (for kill tests)


def _hook(stage: str, path: Path) -> None:
    hook = BUILD_HOOKS.get(stage)
    if hook is not None:
        hook(path)
    if os.environ.get(PAUSE_VARIABLE) == stage:
        time.sleep(3600)


def write_build(index_dir: Path, manifest: dict, contents: BuildContents, settings=None) -> Path:
    """Write a complete build into a new folder under index_dir and make it current (the caller holds
    the build lock: index.locking.build_lock)."""
    import faiss

    bm25s = _bm25s()
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
        db.executemany("INSERT INTO entities VALUES (?,?)", [
            (ordinal, json.dumps([e.to_json() for e in found])) for ordinal, found in contents.entities.items()])
        db.commit()
        db.close()
        np.save(staging / "chunk_vectors.npy", contents.chunk_vectors.astype(np.float32), allow_pickle=False)
        np.save(staging / "sentence_vectors.npy", contents.sentence_vectors.astype(np.float32), allow_pickle=False)
        np.save(staging / "chunk_doc.npy", np.array([c[0] for c in contents.chunks], dtype=np.int32),
                allow_pickle=False)
        dense, dense_info = dense_index(contents.chunk_vectors, settings or Settings.from_env())
        faiss.write_index(dense, str(staging / "dense.faiss"))
        retriever = bm25s.BM25()
        retriever.index(contents.chunk_tokens or [[""]], show_progress=False)
        retriever.save(str(staging / "bm25"), show_progress=False)
        create_lease_file(staging)
        manifest = dict(manifest, faiss=dense_info.to_json(),
                        integrity=integrity.record(staging))
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _hook("written", staging)
        staging.rename(final)
        _set_current(index_dir, final.name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _hook("swapped", final)
    return final


def _set_current(index_dir: Path, name: str) -> None:
    pointer = index_dir / f".CURRENT.{os.getpid()}"
    pointer.write_text(name + "\n", encoding="utf-8")
    os.replace(pointer, index_dir / "CURRENT")


def collect_garbage(index_dir: Path) -> list[str]:
    """Remove what dead or finished builds left behind: staging and trash folders, stray CURRENT
    pointers, and build folders that are neither current nor leased by a reader. The caller holds the
    build lock. Returns the names removed."""
    index_dir = Path(index_dir)
    if not index_dir.is_dir():
        return []
    current = _current_name(index_dir)
    current_ok = current is not None and (index_dir / current).is_dir()  # else keep every build: one may be the live one
    removed = []
    for child in sorted(index_dir.iterdir()):
        name = child.name
        if name.startswith((".staging-", ".trash-")) and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        elif name.startswith(".CURRENT.") and child.is_file():
            child.unlink(missing_ok=True)
        elif name.startswith("build-") and current_ok and name != current and child.is_dir():
            with exclusive_lease(child) as free:
                if not free:
                    continue
                trash = index_dir / f".trash-{name}"
                child.rename(trash)  # a reader looking for this build's lease now finds none
            shutil.rmtree(trash, ignore_errors=True)
        else:
            continue
        removed.append(name)
    return removed


def _current_name(index_dir: Path) -> str | None:
    try:
        return (Path(index_dir) / "CURRENT").read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def current_build(index_dir: Path) -> Path | None:
    name = _current_name(index_dir)
    build = Path(index_dir) / name if name else None
    return build if build is not None and build.is_dir() else None


def read_manifest(index_dir: Path) -> dict | None:
    build = current_build(index_dir)
    if build is None:
        return None
    return _manifest_of(build)


def _manifest_of(build: Path) -> dict | None:
    try:
        return json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build_hint(index_dir: Path) -> str:
    return f"build it with: python -m index build --index-dir {index_dir}"


def repair_hint(index_dir: Path) -> str:
    return f"repair it with: python -m index build --index-dir {index_dir}"


def _check_format(index_dir: Path, manifest: dict) -> None:
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexUnavailable(
            f"index at {index_dir} has format {manifest.get('format_version')}, this version reads "
            f"{FORMAT_VERSION}; rebuild it with: python -m index build --rebuild --index-dir {index_dir}")


def _damaged(index_dir: Path, build: Path, problems: Sequence[integrity.Problem]) -> IndexUnavailable:
    listed = "; ".join(f"{p.part} {p.reason}" for p in problems[:3]) + (
        f"; {len(problems) - 3} more" if len(problems) > 3 else "")
    return IndexUnavailable(f"index at {index_dir} is damaged ({build.name}: {listed}); {repair_hint(index_dir)}")


OPEN_ATTEMPTS = 200  # a reader racing a swap looks again; each look is a file read, so this is ~0.1 s at most


class IndexReader:
    """Read access to one build, pinned by its lease until close(). Safe to share between threads (one
    SQLite connection each)."""

    def __init__(self, index_dir: Path, build: Path, manifest: dict, lease: Lease | None = None,
                 damage: frozenset[str] = frozenset()):
        self.index_dir = Path(index_dir)
        self.build = build
        self.manifest = manifest
        self.damage = damage  # parts found damaged (only when opened with damaged_ok, i.e. by a builder)
        self._lease = lease
        self._local = threading.local()
        self._users = 0
        self._retired = False
        self._use_lock = threading.Lock()
        rows = self._part("table.sqlite", lambda _path: self._db().execute(
            "SELECT ordinal, doc_id, source, format, sha256, metadata, pages, warnings, length(text) "
            "FROM documents ORDER BY ordinal").fetchall())
        self.documents: list[DocumentRecord] = [
            DocumentRecord(o, d, s, f, h, LetterMetadata.from_json(json.loads(m)),
                           tuple(tuple(p) for p in json.loads(pg)), tuple(json.loads(w)), n)
            for o, d, s, f, h, m, pg, w, n in rows]
        self.by_source = {d.source: d for d in self.documents}
        self.by_id = {d.doc_id: d for d in self.documents}
        self.chunk_doc = np.zeros(0, np.int32) if "chunk_doc.npy" in damage else \
            self._array("chunk_doc.npy", manifest.get("counts", {}).get("chunks"))
        self._dense = None
        self._bm25 = None
        self._chunk_vectors = None
        self._sentence_vectors = None
        self._lazy_lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: Path, model: str | None = None, depth: integrity.Depth = "stat",
             damaged_ok: bool = False) -> "IndexReader":
        """Open the current build, leased. Damage found at `depth` raises IndexUnavailable naming the
        files and the repairing command, unless damaged_ok (a builder, which holds the build lock and
        reads what is intact) records it in `damage`."""
        index_dir = Path(index_dir)
        build, lease = _lease_current(index_dir)
        if build is None:
            raise IndexUnavailable(f"no index at {index_dir}; {build_hint(index_dir)}")
        try:
            return cls._open_leased(index_dir, build, lease, model, depth, damaged_ok)
        except BaseException:
            if lease is not None:
                lease.release()
            raise

    @classmethod
    def _open_leased(cls, index_dir: Path, build: Path, lease: Lease | None, model: str | None,
                     depth: integrity.Depth, damaged_ok: bool) -> "IndexReader":
        manifest = _manifest_of(build)
        if manifest is None:
            raise _damaged(index_dir, build, [integrity.Problem("manifest.json", "missing or unreadable")])
        _check_format(index_dir, manifest)
        if model is not None and manifest.get("model") != model:
            raise IndexUnavailable(
                f"index at {index_dir} was built with model {manifest.get('model')!r} but the settings ask for "
                f"{model!r}; rebuild it with: python -m index build --rebuild --index-dir {index_dir}")
        problems = inspect(build, manifest, depth)
        if problems and not damaged_ok:
            raise _damaged(index_dir, build, problems)
        try:
            return cls(index_dir, build, manifest, lease, frozenset(p.part for p in problems))
        except (OSError, sqlite3.Error, ValueError) as exc:
            raise IndexUnavailable(f"index at {index_dir} is damaged ({_reason(exc)}); "
                                   f"{repair_hint(index_dir)}") from None

    # --- lifetime -------------------------------------------------------------------------------
    def is_current(self) -> bool:
        """Whether CURRENT still names this reader's build (one small file read)."""
        return _current_name(self.index_dir) == self.build.name

    def pin(self) -> bool:
        """Count a call as using this build; False once retired (the caller then uses the newer build)."""
        with self._use_lock:
            if self._retired:
                return False
            self._users += 1
            return True

    def unpin(self) -> None:
        with self._use_lock:
            self._users -= 1
            if self._retired and self._users == 0:
                self._let_go()

    def retire(self) -> None:
        """No new calls will use this build: its lease (and the memory of its search structures) goes
        once the calls still using it finish."""
        with self._use_lock:
            self._retired = True
            if self._users == 0:
                self._let_go()

    def _let_go(self) -> None:
        if self._lease is not None:
            self._lease.release()
        self._dense = self._bm25 = self._chunk_vectors = self._sentence_vectors = None

    # --- lazily loaded parts -------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.build / 'table.sqlite'}?mode=ro", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def _part(self, part: str, load):
        """load(path) of one file of the build; any failure becomes IndexUnavailable naming the file and
        the command that repairs it."""
        path = self.build / part
        try:
            return load(path)
        except IndexUnavailable:
            raise
        except Exception as exc:  # faiss raises RuntimeError, numpy ValueError, bm25s OSError/ValueError
            raise IndexUnavailable(f"index file {path} is damaged ({_reason(exc)}); "
                                   f"{repair_hint(self.index_dir)}") from None

    def _array(self, part: str, rows: int | None, mmap: bool = False) -> np.ndarray:
        def load(path: Path) -> np.ndarray:
            array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
            if rows is not None and array.shape[:1] != (rows,):
                raise ValueError(f"{array.shape[0] if array.ndim else 0} rows, expected {rows}")
            return array
        return self._part(part, load)

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
        def load(path: Path):
            import faiss
            index = faiss.read_index(str(path))
            if index.ntotal != self.n_chunks:
                raise ValueError(f"{index.ntotal} vectors, expected {self.n_chunks}")
            return index
        return self._lazy("_dense", lambda: self._part("dense.faiss", load))

    @property
    def bm25(self):
        def load():
            bm25s = _bm25s()
            try:
                return bm25s.BM25.load(str(self.build / "bm25"), allow_pickle=False, show_progress=False)
            except Exception:
                for path in sorted((self.build / "bm25").iterdir()):  # name the file at fault
                    self._part(path.relative_to(self.build).as_posix(), _parse_bm25_file)
                raise
        return self._lazy("_bm25", lambda: self._part("bm25", lambda _path: load()))

    @property
    def chunk_vectors(self) -> np.ndarray:
        return self._lazy("_chunk_vectors", lambda: self._array("chunk_vectors.npy", self.n_chunks, mmap=True))

    @property
    def sentence_vectors(self) -> np.ndarray:
        return self._lazy("_sentence_vectors", lambda: self._array(
            "sentence_vectors.npy", self.manifest.get("counts", {}).get("sentences"), mmap=True))

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

    def entities(self, ordinal: int) -> list[Entity]:
        """The typed spans (people, organisations, dates, ...) found in a letter at index time."""
        row = self._db().execute("SELECT spans FROM entities WHERE doc_ordinal = ?", (ordinal,)).fetchone()
        return [Entity.from_json(r) for r in json.loads(row[0])] if row else []

    def sentence_hashes(self) -> dict[str, int]:
        return {h: row for row, h in self._db().execute("SELECT row, embed_hash FROM sentences")}

    def chunk_hashes(self) -> dict[str, int]:
        return {h: row for row, h in self._db().execute("SELECT row, embed_hash FROM chunks")}

    def close(self) -> None:
        """Close this thread's connection and release the lease (the build may then be deleted)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
        with self._use_lock:
            self._retired = True
            if self._lease is not None:
                self._lease.release()


def inspect(build: Path, manifest: dict, depth: integrity.Depth) -> list[integrity.Problem]:
    """The damaged files of a build at the given depth, its lease file included."""
    problems = integrity.check(build, manifest.get("integrity"), depth)
    if not (build / LEASE_FILE).is_file():
        problems.append(integrity.Problem(LEASE_FILE, "missing"))
    return problems


def verify(index_dir: Path) -> tuple[Path, int, list[integrity.Problem]]:
    """Hash every file of the current build against its integrity record (the build stays leased while
    it is read). Returns (build, files checked, problems); raises IndexUnavailable without an index."""
    index_dir = Path(index_dir)
    build, lease = _lease_current(index_dir)
    if build is None:
        raise IndexUnavailable(f"no index at {index_dir}; {build_hint(index_dir)}")
    try:
        manifest = _manifest_of(build)
        if manifest is None:
            return build, 1, [integrity.Problem("manifest.json", "missing or unreadable")]
        _check_format(index_dir, manifest)
        record = manifest.get("integrity") or {}
        return build, len(record), inspect(build, manifest, "full")
    finally:
        if lease is not None:
            lease.release()


def _lease_current(index_dir: Path) -> tuple[Path | None, Lease | None]:
    """The current build with its lease taken; (build, None) for a build without a usable lease file,
    (None, None) when there is no index. Looks again while builds are being swapped."""
    for _ in range(OPEN_ATTEMPTS):
        name = _current_name(index_dir)
        if name is None:
            return None, None
        build = Path(index_dir) / name
        lease = Lease.take(build)
        if lease is not None:
            return build, lease
        if _current_name(index_dir) == name:  # not a swap: the build itself lacks its lease or is gone
            if not build.is_dir():
                return None, None
            if not (build / LEASE_FILE).is_file():
                return build, None
        time.sleep(0.0005)
    raise IndexUnavailable(f"the index at {index_dir} kept changing while it was being opened; try again")


def _parse_bm25_file(path: Path) -> None:
    if path.suffix == ".npy":
        np.load(path, mmap_mode="r", allow_pickle=False)
    elif path.suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))


def _reason(exc: BaseException) -> str:
    """A short, user-facing reason for a failed load (numpy's pickle advice and faiss' C++ trace dropped)."""
    text = str(exc).strip()
    if "pickle" in text:
        return "not a valid .npy array"
    if "Error in" in text or "faiss" in text:
        return "not a readable FAISS index"
    return (text.splitlines() or [type(exc).__name__])[0][:160]

