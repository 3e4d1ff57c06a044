"""The persisted index: one directory of immutable segments and the builds that list them; no pickle,
one builder at a time, readers pinned to their build.

    INDEX_DIR/
      CURRENT                 name of the live build folder (replaced atomically with os.replace)
      .build.lock             flock held by the one running builder; holds its pid (index/locking.py)
      segments/seg-<stamp>/   immutable segments, shared between builds (layout: index/segments.py)
      build-<stamp>/          one build, never modified after CURRENT names it
        .lease                empty; every open IndexReader holds a shared flock on it
        manifest.json         format version, model, dimension, chunker parameters, per-letter sha256 and
                              segment, skipped files, live counts, build time, library versions, and the
                              ordered segment list: per segment its row counts, FAISS kind, deleted
                              letters (tombstones: local document ordinals) and integrity record
                              {relative path: {size, sha256, mtime_ns}}
        segments.json         the names of the segments the manifest lists (clean-up reads this instead of
                              the whole manifest; builds without it are read through their manifest)
      corpus-snapshot.json    what the corpus looked like when it last matched the current build: lets a
                              no-op build skip the manifest (index/snapshot.py; a cache, not part of a build)
      .staging-<stamp>-<pid>/ a build being written (removed by the next build if its writer died)
      .trash-<name>/          a build being deleted (renamed first, so no reader can lease it any more)

Writing (under the build lock): an added or changed letter goes into one new small segment, a removed
or changed one becomes a tombstone in the new manifest; existing segments are never rewritten. The
segment is hashed once when written and its record is copied into every manifest that lists it. The
manifest is written into .staging-*, renamed to build-*, then CURRENT swapped. A build that would leave
more than Settings.max_segments segments merges the small ones afterwards (segments.plan_merge) and
swaps once more; `python -m index optimize` merges all of them into one. A failed or killed build
leaves the previous index untouched; the kernel releases a dead builder's lock.

Clean-up (every build, no-op ones included, under the build lock): staging and trash folders go; a
build-* folder other than the current one goes only if its lease can be taken exclusively, i.e. no
reader in any process still has it open; then a segment goes when no remaining build (the current one
or a leased one) lists it. Leases were chosen over a grace period because a grace period either deletes
a build under a slow reader or keeps every build of a busy writer.

Reading: IndexReader.open reads CURRENT, takes the lease of that build (looking again if it vanished in
between), checks the integrity records cheaply (presence and size of every file) and opens the listed
segments as one index: global rows are the segment's offset plus the local row, document ordinals are
the live letters in source order. Dense search is exact per segment and merged (index/search_parts.py);
BM25 takes N, average length and document frequencies over the live chunks of all segments
(index/postings.py), so scores do not depend on the segmentation.

Format 3 (this one) introduced segments; builds of format 2 are refused with the command that rebuilds
them (`python -m index build` rebuilds an older index by itself).
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
from .layout import current_build, current_name as _current_name
from .entities import Entity
from .locking import LEASE_FILE, Lease, create_lease_file, exclusive_lease
from .postings import BM25, ScoredSegment
from .records import Chunk, LetterMetadata, Span
from .search_parts import RowStack, SegmentedDense
from .layout import SEGMENTS_DIR, segments_root
from .segments import SegmentContents, read_postings
from .snapshot import SNAPSHOT_FILE
from . import postings as postings_mod

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 3: segments and tombstones; 2: lease file and integrity record in every build


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


@dataclass
class BuildContents:
    """What the pipeline produced for the letters of one new segment, in row order."""

    documents: list[tuple[DocumentRecord, str]]  # (record, canonical text)
    sentences: list[tuple[int, Span, str]]  # (doc ordinal, span, embed hash)
    chunks: list[tuple[int, Chunk, int, int]]  # (doc ordinal, chunk, first sentence row, last sentence row)
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    chunk_tokens: list[list[str]]
    entities: dict[int, list[Entity]] = dataclasses.field(default_factory=dict)  # doc ordinal -> typed spans

    def segment(self) -> SegmentContents:
        return SegmentContents(
            documents=[(rec.ordinal, rec.doc_id, rec.source, rec.format, rec.sha256, text,
                        json.dumps(rec.metadata.to_json()), json.dumps(rec.pages), json.dumps(rec.warnings))
                       for rec, text in self.documents],
            sentences=[(row, ordinal, span.start, span.end, int(span.boilerplate), embed_hash)
                       for row, (ordinal, span, embed_hash) in enumerate(self.sentences)],
            chunks=[(row, chunk.chunk_id, ordinal, chunk.char_start, chunk.char_end, chunk.text, first, last,
                     int(chunk.boilerplate), chunk.n_tokens, chunk.content_hash)
                    for row, (ordinal, chunk, first, last) in enumerate(self.chunks)],
            entities=[(ordinal, json.dumps([e.to_json() for e in found])) for ordinal, found in self.entities.items()],
            chunk_vectors=self.chunk_vectors, sentence_vectors=self.sentence_vectors,
            postings=postings_mod.from_tokens(self.chunk_tokens))


BUILD_HOOKS: dict[str, Callable[[Path], None]] = {}  # test hooks: stage -> fn(build folder)
LISTED_SEGMENTS = "segments.json"
PAUSE_VARIABLE = "LETTERS_QA_TEST_PAUSE_AT"  # a stage name: a build process stops there (for kill tests)


def _hook(stage: str, path: Path) -> None:
    hook = BUILD_HOOKS.get(stage)
    if hook is not None:
        hook(path)
    if os.environ.get(PAUSE_VARIABLE) == stage:
        time.sleep(3600)


def write_build(index_dir: Path, manifest: dict) -> Path:
    """Write a build (its manifest, listing segments already written) and make it current; the caller
    holds the build lock (index.locking.build_lock)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    staging = index_dir / f".staging-{stamp}-{os.getpid()}"
    final = index_dir / f"build-{stamp}"
    staging.mkdir()
    try:
        create_lease_file(staging)
        manifest = dict(manifest, format_version=FORMAT_VERSION)
        # not indented: json's C encoder only runs without indent (at 10,000 letters: 0.1 s instead of 1.6 s)
        encoded = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
        (staging / "manifest.json").write_bytes(encoded)
        (staging / LISTED_SEGMENTS).write_text(json.dumps(
            {"manifest_bytes": len(encoded), "names": [e.get("name") for e in segment_entries(manifest)]}))
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
    pointers, build folders that are neither current nor leased by a reader, and segments that no
    remaining build lists. The caller holds the build lock. Returns the names removed."""
    index_dir = Path(index_dir)
    if not index_dir.is_dir():
        return []
    current = _current_name(index_dir)
    current_ok = current is not None and (index_dir / current).is_dir()  # else keep every build: one may be the live one
    removed = []
    kept_builds = []
    for child in sorted(index_dir.iterdir()):
        name = child.name
        if name.startswith((".staging-", ".trash-")) and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        elif name.startswith((".CURRENT.", f".{SNAPSHOT_FILE}.")) and child.is_file():
            child.unlink(missing_ok=True)
        elif name.startswith("build-") and current_ok and name != current and child.is_dir():
            with exclusive_lease(child) as free:
                if not free:
                    kept_builds.append(child)
                    continue
                trash = index_dir / f".trash-{name}"
                child.rename(trash)  # a reader looking for this build's lease now finds none
            shutil.rmtree(trash, ignore_errors=True)
        else:
            if name.startswith("build-") and child.is_dir():
                kept_builds.append(child)
            continue
        removed.append(name)
    removed += _collect_segments(index_dir, kept_builds if current_ok else None)
    return removed


def _collect_segments(index_dir: Path, builds: list[Path] | None) -> list[str]:
    """Delete segments no build in `builds` lists (None or an unreadable manifest: keep them all)."""
    root = segments_root(index_dir)
    if not root.is_dir():
        return []
    listed: set[str] | None = set() if builds is not None else None
    for build in builds or []:
        names = _listed_segments(build)
        if names is None:
            listed = None
            break
        listed.update(names)
    removed = []
    for child in sorted(root.iterdir()):
        name = child.name
        if name.startswith((".staging-", ".trash-")):
            shutil.rmtree(child, ignore_errors=True)
        elif name.startswith("seg-") and listed is not None and name not in listed:
            trash = root / f".trash-{name}"
            child.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            continue
        removed.append(f"{SEGMENTS_DIR}/{name}")
    return removed


def _listed_segments(build: Path) -> list[str] | None:
    """The segment names a build lists, from its segments.json (a few bytes, trusted only while the
    manifest has the size it records: a segment it forgot would be deleted) or else its manifest;
    None when neither can be read."""
    try:
        listed = json.loads((Path(build) / LISTED_SEGMENTS).read_text(encoding="utf-8"))
        names = listed["names"]
        if (listed["manifest_bytes"] == (Path(build) / "manifest.json").stat().st_size
                and isinstance(names, list) and all(isinstance(n, str) for n in names)):
            return names
    except (OSError, ValueError, KeyError, TypeError):
        pass
    manifest = _manifest_of(build)
    if manifest is None or not isinstance(manifest.get("segments"), list):
        if manifest is not None and manifest.get("format_version", FORMAT_VERSION) < FORMAT_VERSION:
            return []  # an older build lists no segments
        return None
    return [s.get("name") for s in manifest["segments"]]


def read_manifest(index_dir: Path) -> dict | None:
    build = current_build(index_dir)
    if build is None:
        return None
    return _manifest_of(build)


_MANIFESTS: dict[str, tuple[tuple[int, int], dict]] = {}  # build path -> ((mtime_ns, size), manifest)


def _manifest_of(build: Path) -> dict | None:
    """A build's manifest, parsed once per process while its file is unchanged (a build never changes
    it; at 10,000 letters a parse costs ~0.1 s and a build and its clean-up both need it). Callers
    must not change the dict."""
    path = Path(build) / "manifest.json"
    try:
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        cached = _MANIFESTS.get(str(path))
        if cached is not None and cached[0] == key:
            return cached[1]
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    if len(_MANIFESTS) >= 8:
        _MANIFESTS.clear()
    _MANIFESTS[str(path)] = (key, manifest)
    return manifest


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


@dataclass(frozen=True)
class _Segment:
    """A listed segment as one reader sees it."""

    name: str
    folder: Path
    chunk_offset: int
    sentence_offset: int
    n_chunks: int
    n_sentences: int
    doc_map: np.ndarray  # local document ordinal -> global ordinal (-1: deleted)

    def part(self, name: str) -> str:
        return f"{SEGMENTS_DIR}/{self.name}/{name}"


def segment_entries(manifest: dict) -> list[dict]:
    return [s for s in manifest.get("segments") or [] if isinstance(s, dict)]


class IndexReader:
    """Read access to one build, pinned by its lease until close(). Safe to share between threads (one
    SQLite connection per segment and thread)."""

    def __init__(self, index_dir: Path, build: Path, manifest: dict, lease: Lease | None = None):
        self.index_dir = Path(index_dir)
        self.build = build
        self.manifest = manifest
        self._lease = lease
        self._local = threading.local()
        self._users = 0
        self._retired = False
        self._use_lock = threading.Lock()
        entries = segment_entries(manifest)
        root = segments_root(self.index_dir)
        self.segments: list[_Segment] = []
        chunk_offset = sentence_offset = 0
        for entry in entries:
            seg = _Segment(entry["name"], root / entry["name"], chunk_offset, sentence_offset, int(entry["chunks"]),
                           int(entry["sentences"]), np.full(int(entry["documents"]), -1, dtype=np.int64))
            self.segments.append(seg)
            chunk_offset += seg.n_chunks
            sentence_offset += seg.n_sentences
        listed = []  # (segment position, document row)
        for position, (entry, seg) in enumerate(zip(entries, self.segments)):
            rows = self._part(seg.part("table.sqlite"), lambda _path, seg=seg: self._db(seg).execute(
                "SELECT ordinal, doc_id, source, format, sha256, metadata, pages, warnings, length(text) "
                "FROM documents ORDER BY ordinal").fetchall())
            deleted = set(entry.get("deleted") or ())
            listed += [(position, row) for row in rows if row[0] not in deleted]
        listed.sort(key=lambda item: item[1][2])  # by source: ordinals as a single build numbers them
        self.documents: list[DocumentRecord] = []
        self._doc_at: list[tuple[int, int]] = []  # global ordinal -> (segment position, local ordinal)
        for ordinal, (position, (local, d, s, f, h, m, pg, w, n)) in enumerate(listed):
            self.segments[position].doc_map[local] = ordinal
            self._doc_at.append((position, local))
            self.documents.append(DocumentRecord(ordinal, d, s, f, h, LetterMetadata.from_json(json.loads(m)),
                                                 tuple(tuple(p) for p in json.loads(pg)), tuple(json.loads(w)), n))
        self.by_source = {d.source: d for d in self.documents}
        self.by_id = {d.doc_id: d for d in self.documents}
        self._chunk_starts = np.array([s.chunk_offset for s in self.segments], dtype=np.int64)
        parts = []
        for seg in self.segments:
            local = self._array(seg, "chunk_doc.npy", seg.n_chunks)
            if len(local) and (local.min() < 0 or local.max() >= len(seg.doc_map)):
                raise self._bad(seg.part("chunk_doc.npy"), "document ordinals out of range")
            parts.append(seg.doc_map[local].astype(np.int32) if len(local) else np.zeros(0, np.int32))
        self.chunk_doc = np.concatenate(parts) if parts else np.zeros(0, np.int32)  # -1: a removed letter's chunk
        self._dense = None
        self._bm25 = None
        self._chunk_vectors = None
        self._sentence_vectors = None
        self._lazy_lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: Path, model: str | None = None, depth: integrity.Depth = "stat") -> "IndexReader":
        """Open the current build, leased. Damage found at `depth` raises IndexUnavailable naming the
        files and the repairing command."""
        index_dir = Path(index_dir)
        build, lease = _lease_current(index_dir)
        if build is None:
            raise IndexUnavailable(f"no index at {index_dir}; {build_hint(index_dir)}")
        try:
            return cls._open_leased(index_dir, build, lease, model, depth)
        except BaseException:
            if lease is not None:
                lease.release()
            raise

    @classmethod
    def _open_leased(cls, index_dir: Path, build: Path, lease: Lease | None, model: str | None,
                     depth: integrity.Depth) -> "IndexReader":
        manifest = _manifest_of(build)
        if manifest is None:
            raise _damaged(index_dir, build, [integrity.Problem(f"{build.name}/manifest.json", "missing or unreadable")])
        _check_format(index_dir, manifest)
        if model is not None and manifest.get("model") != model:
            raise IndexUnavailable(
                f"index at {index_dir} was built with model {manifest.get('model')!r} but the settings ask for "
                f"{model!r}; rebuild it with: python -m index build --rebuild --index-dir {index_dir}")
        problems = inspect(index_dir, build, manifest, depth)
        if problems:
            raise _damaged(index_dir, build, problems)
        try:
            return cls(index_dir, build, manifest, lease)
        except (OSError, sqlite3.Error, ValueError, KeyError, TypeError) as exc:
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
    @staticmethod
    def _connect(folder: Path) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{folder / 'table.sqlite'}?mode=ro", uri=True, check_same_thread=False)

    def _db(self, seg: _Segment) -> sqlite3.Connection:
        dbs = getattr(self._local, "dbs", None)
        if dbs is None:
            dbs = self._local.dbs = {}
        db = dbs.get(seg.name)
        if db is None:
            db = dbs[seg.name] = self._connect(seg.folder)
        return db

    def _bad(self, part: str, reason: str) -> IndexUnavailable:
        return IndexUnavailable(f"index file {self.index_dir / part} is damaged ({reason}); "
                                f"{repair_hint(self.index_dir)}")

    def _part(self, part: str, load):
        """load(path) of one file (path relative to the index folder); any failure becomes
        IndexUnavailable naming the file and the command that repairs it."""
        try:
            return load(self.index_dir / part)
        except IndexUnavailable:
            raise
        except Exception as exc:  # faiss raises RuntimeError, numpy ValueError, json ValueError, sqlite3 Error
            raise self._bad(part, _reason(exc)) from None

    def _array(self, seg: _Segment, part: str, rows: int | None, mmap: bool = False) -> np.ndarray:
        def load(path: Path) -> np.ndarray:
            array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
            if rows is not None and array.shape[:1] != (rows,):
                raise ValueError(f"{array.shape[0] if array.ndim else 0} rows, expected {rows}")
            return array
        return self._part(seg.part(part), load)

    def _lazy(self, name: str, load):
        value = getattr(self, name)
        if value is None:
            with self._lazy_lock:
                value = getattr(self, name)
                if value is None:
                    value = load()
                    setattr(self, name, value)
        return value

    def _live(self, seg: _Segment) -> np.ndarray | None:
        """Per local chunk row, whether its letter is live (None: all are)."""
        if (seg.doc_map >= 0).all():
            return None
        return self.chunk_doc[seg.chunk_offset:seg.chunk_offset + seg.n_chunks] >= 0

    @property
    def dense(self) -> SegmentedDense:
        def load_one(seg: _Segment):
            import faiss

            def read(path: Path):
                index = faiss.read_index(str(path))
                if index.ntotal != seg.n_chunks:
                    raise ValueError(f"{index.ntotal} vectors, expected {seg.n_chunks}")
                return index
            return self._part(seg.part("dense.faiss"), read)
        return self._lazy("_dense", lambda: SegmentedDense(
            [(load_one(seg), seg.chunk_offset, self._live(seg), lambda i=i: self.chunk_vectors.parts[i])
             for i, seg in enumerate(self.segments)], self.n_chunks))

    @property
    def bm25(self) -> BM25:
        def load_one(seg: _Segment) -> ScoredSegment:
            postings = read_postings(seg.folder / "bm25", lambda part, fn: self._part(seg.part(part), fn))
            if postings.n_rows != seg.n_chunks:
                raise self._bad(seg.part("bm25/doc_len.npy"), f"{postings.n_rows} rows, expected {seg.n_chunks}")
            return ScoredSegment(postings, seg.chunk_offset, self._live(seg))
        return self._lazy("_bm25", lambda: BM25([load_one(seg) for seg in self.segments], self.n_chunks))

    @property
    def chunk_vectors(self) -> RowStack:
        return self._lazy("_chunk_vectors", lambda: RowStack(
            [self._array(seg, "chunk_vectors.npy", seg.n_chunks, mmap=True) for seg in self.segments]))

    @property
    def sentence_vectors(self) -> RowStack:
        return self._lazy("_sentence_vectors", lambda: RowStack(
            [self._array(seg, "sentence_vectors.npy", seg.n_sentences, mmap=True) for seg in self.segments]))

    # --- queries --------------------------------------------------------------------------------
    @property
    def n_chunks(self) -> int:
        return int(len(self.chunk_doc))

    def _document(self, doc_id_or_source: str) -> DocumentRecord:
        doc = self.by_id.get(doc_id_or_source) or self.by_source.get(doc_id_or_source)
        if doc is None:
            raise KeyError(doc_id_or_source)
        return doc

    def text(self, doc_id_or_source: str) -> str:
        position, local = self._doc_at[self._document(doc_id_or_source).ordinal]
        seg = self.segments[position]
        return self._db(seg).execute("SELECT text FROM documents WHERE ordinal = ?", (local,)).fetchone()[0]

    def _chunk_row(self, seg: _Segment, r: tuple) -> ChunkRow:
        return ChunkRow(seg.chunk_offset + r[0], r[1], int(seg.doc_map[r[2]]), r[3], r[4], r[5],
                        seg.sentence_offset + r[6], seg.sentence_offset + r[7], bool(r[8]))

    def _sentence_row(self, seg: _Segment, r: tuple) -> SentenceRow:
        return SentenceRow(seg.sentence_offset + r[0], int(seg.doc_map[r[1]]), r[2], r[3], bool(r[4]))

    def chunks(self, rows: Sequence[int]) -> list[ChunkRow]:
        if not len(rows):
            return []
        wanted = np.asarray([int(r) for r in rows], dtype=np.int64)
        positions = np.searchsorted(self._chunk_starts, wanted, side="right") - 1
        found: dict[int, ChunkRow] = {}
        for position in np.unique(positions):
            seg = self.segments[position]
            local = [int(r) - seg.chunk_offset for r in wanted[positions == position]]
            marks = ",".join("?" * len(local))
            for r in self._db(seg).execute(
                    f"SELECT row, chunk_id, doc_ordinal, char_start, char_end, text, sentence_first, sentence_last, "
                    f"boilerplate FROM chunks WHERE row IN ({marks})", local):
                row = self._chunk_row(seg, r)
                found[row.row] = row
        return [found[int(r)] for r in wanted]

    def sentences(self, first: int, last: int) -> list[SentenceRow]:
        """Sentence rows first..last of live letters, in row order."""
        out = []
        for seg in self.segments:
            low, high = max(first, seg.sentence_offset), min(last, seg.sentence_offset + seg.n_sentences - 1)
            if low > high:
                continue
            out += [row for row in (self._sentence_row(seg, r) for r in self._db(seg).execute(
                'SELECT row, doc_ordinal, start, "end", boilerplate FROM sentences WHERE row BETWEEN ? AND ? '
                'ORDER BY row', (low - seg.sentence_offset, high - seg.sentence_offset))) if row.doc_ordinal >= 0]
        return out

    def document_sentences(self, ordinal: int) -> list[SentenceRow]:
        position, local = self._doc_at[ordinal]
        seg = self.segments[position]
        return [self._sentence_row(seg, r) for r in self._db(seg).execute(
            'SELECT row, doc_ordinal, start, "end", boilerplate FROM sentences WHERE doc_ordinal = ? ORDER BY row',
            (local,))]

    def entities(self, ordinal: int) -> list[Entity]:
        """The typed spans (people, organisations, dates, ...) found in a letter at index time."""
        position, local = self._doc_at[ordinal]
        row = self._db(self.segments[position]).execute(
            "SELECT spans FROM entities WHERE doc_ordinal = ?", (local,)).fetchone()
        return [Entity.from_json(r) for r in json.loads(row[0])] if row else []

    def close(self) -> None:
        """Close this thread's connections and release the lease (the build may then be deleted)."""
        for db in (getattr(self._local, "dbs", None) or {}).values():
            db.close()
        self._local.dbs = None
        with self._use_lock:
            self._retired = True
            if self._lease is not None:
                self._lease.release()


def inspect(index_dir: Path, build: Path, manifest: dict, depth: integrity.Depth) -> list[integrity.Problem]:
    """The damaged files of a build and its segments at the given depth (parts relative to index_dir),
    its lease file included."""
    problems = []
    entries = segment_entries(manifest)
    if not entries and manifest.get("counts", {}).get("documents"):
        problems.append(integrity.Problem(f"{build.name}/manifest.json", "lists no segments"))
    for entry in entries:
        folder = segments_root(index_dir) / str(entry.get("name"))
        problems += [dataclasses.replace(p, part=f"{SEGMENTS_DIR}/{entry.get('name')}/{p.part}")
                     for p in integrity.check(folder, entry.get("integrity"), depth)]
    if not (build / LEASE_FILE).is_file():
        problems.append(integrity.Problem(f"{build.name}/{LEASE_FILE}", "missing"))
    return problems


def verify(index_dir: Path) -> tuple[Path, int, list[integrity.Problem]]:
    """Hash every file of the current build's segments against their integrity records (the build
    stays leased while it is read). Returns (build, files checked, problems; parts relative to
    index_dir); raises IndexUnavailable without an index."""
    index_dir = Path(index_dir)
    build, lease = _lease_current(index_dir)
    if build is None:
        raise IndexUnavailable(f"no index at {index_dir}; {build_hint(index_dir)}")
    try:
        manifest = _manifest_of(build)
        if manifest is None:
            return build, 1, [integrity.Problem(f"{build.name}/manifest.json", "missing or unreadable")]
        _check_format(index_dir, manifest)
        checked = sum(len(e.get("integrity") or {}) for e in segment_entries(manifest))
        return build, checked, inspect(index_dir, build, manifest, "full")
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


def _reason(exc: BaseException) -> str:
    """A short, user-facing reason for a failed load (numpy's pickle advice and faiss' C++ trace dropped)."""
    text = str(exc).strip()
    if "pickle" in text:
        return "not a valid .npy array"
    if "Error in" in text or "faiss" in text:
        return "not a readable FAISS index"
    return (text.splitlines() or [type(exc).__name__])[0][:160]
