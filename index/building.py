"""Build (or update) the index for a corpus folder: load → clean → metadata → chunk → embed → store.

Incremental by construction: an unchanged corpus (same files by size/mtime or sha256, same settings)
returns without loading the model (when the listing matches the last snapshot, index/snapshot.py,
without reading the manifest either); otherwise unchanged letters stay in their segments untouched, new
and changed letters go through the pipeline into one new segment, removed and changed ones become
tombstones (layout: index/store.py), and every sentence or chunk whose text was embedded before reuses
its vector (keyed by the sha256 of the embedded text), so only new text is embedded.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .ann import is_current
from .cleaning import strip_markup
from .embedding import Embedder, embedder_identity
from .engines import AnalysedLetter, Engine, LocalEngine, Progress
from .lexical import TOKENIZER_VERSION
from .loading import CorpusFile, discover, file_sha256
from .records import Skipped
from .settings import Settings
from .locking import build_lock
from .layout import SEGMENTS_DIR, segments_root
from .segments import merged_contents, plan_merge, write_segment
from .build_report import BuildReport
from .snapshot import (RACY_NS, Snapshot, listing_key, noop_report, pipeline_fingerprint, racy_sources,
                       settings_key, unchanged_snapshot, write_snapshot)
from .store import (FORMAT_VERSION, BuildContents, DocumentRecord, IndexUnavailable, _check_format, build_hint,
                    collect_garbage, current_build, inspect, read_manifest, repair_hint, segment_entries, write_build)

log = logging.getLogger(__name__)


class NothingToIndex(RuntimeError):
    pass


def _signature(settings: Settings) -> dict:
    return {"model": settings.model, "chunker": settings.chunker_params(), "format_version": FORMAT_VERSION,
            "tokenizer_version": TOKENIZER_VERSION}


def _file_hashes(files: tuple[CorpusFile, ...], previous: dict, previous_scan_ns: int | None) -> dict[str, str]:
    """sha256 per source, reusing the previous manifest's hash when size and mtime are unchanged and
    the file was not modified just before that manifest's scan (index/snapshot.py: racy files)."""
    trusted_before = previous_scan_ns - RACY_NS if previous_scan_ns is not None else None
    hashes = {}
    for f in files:
        old = previous.get(f.source)
        if (old and old.get("size") == f.size and old.get("mtime_ns") == f.mtime_ns
                and (trusted_before is None or f.mtime_ns < trusted_before)):
            hashes[f.source] = old["sha256"]
        else:
            hashes[f.source] = file_sha256(f.location)
    return hashes


def build_index(settings: Settings, rebuild: bool = False, progress: Progress | None = None,
                show_progress: bool = False, engine: Engine | None = None) -> BuildReport:
    """Bring the index at settings.index_dir up to date with settings.corpus_dir, as the only builder
    of that index (waiting settings.build_wait_seconds for another one, else raising BuildLocked), and
    clear what earlier builds left behind, whatever happens.

    `engine` parses the new or changed letters and embeds the texts no stored vector covers (default:
    this process; see index.engines); whatever it is, its results go into the same new segment.

    Raises NothingToIndex when no document can be indexed (the previous index is left as it was).
    """
    index_dir = Path(settings.index_dir)
    with build_lock(index_dir, settings.build_wait_seconds):
        try:
            return _build_locked(settings, rebuild, progress, show_progress, engine or LocalEngine(settings))
        finally:
            collect_garbage(index_dir)


def optimize_index(settings: Settings) -> BuildReport:
    """Merge every segment of the index into one (removed letters' rows dropped); nothing is embedded
    or re-read from the corpus. Raises IndexUnavailable without a readable, undamaged index."""
    index_dir = Path(settings.index_dir)
    with build_lock(index_dir, settings.build_wait_seconds):
        try:
            started = time.perf_counter()
            manifest = read_manifest(index_dir)
            build = current_build(index_dir)
            if manifest is None or build is None:
                raise IndexUnavailable(f"no index at {index_dir}; {build_hint(index_dir)}")
            _check_format(index_dir, manifest)
            damage = inspect(index_dir, build, manifest, "changed")
            if damage:
                raise IndexUnavailable(f"index at {index_dir} is damaged ({damage[0].part} {damage[0].reason}); "
                                       f"{repair_hint(index_dir)}")
            entries = segment_entries(manifest)
            report = _report_of(manifest, noop=len(entries) <= 1 and not any(e.get("deleted") for e in entries))
            report.segments_before = len(entries)
            if not report.noop:
                manifest = _merge(index_dir, manifest, list(range(len(entries))), settings)
                report.index_path = str(write_build(index_dir, manifest))
            report.segments = len(segment_entries(manifest))
            report.seconds = time.perf_counter() - started
            return report
        finally:
            collect_garbage(index_dir)


def _report_of(manifest: dict, noop: bool) -> BuildReport:
    counts = manifest.get("counts", {})
    return BuildReport(documents=counts.get("documents", 0), chunks=counts.get("chunks", 0),
                       sentences=counts.get("sentences", 0), noop=noop,
                       segments=len(segment_entries(manifest)))


def _build_locked(settings: Settings, rebuild: bool, progress: Progress | None, show_progress: bool,
                  engine: Engine) -> BuildReport:
    started = time.perf_counter()
    scan_started_ns = time.time_ns()
    report = BuildReport()
    index_dir = Path(settings.index_dir)
    found = discover(settings.corpus_dir, settings.max_file_bytes)
    report.ignored = found.ignored
    report.skipped.extend(found.skipped)
    pipeline = pipeline_fingerprint()
    settings_id = settings_key(settings, pipeline)
    snapshot = None if rebuild else unchanged_snapshot(index_dir, settings_id, found)
    if snapshot is not None:
        report = noop_report(snapshot, found)
        report.seconds = time.perf_counter() - started
        report.index_path = str(index_dir)
        return report

    manifest = None if rebuild else read_manifest(index_dir)
    compatible = manifest is not None and all(manifest.get(k) == v for k, v in _signature(settings).items())
    prev_files = manifest.get("files", {}) if compatible else {}
    prev_skipped = manifest.get("unreadable", {}) if compatible else {}
    hashes = _file_hashes(found.files, {**prev_files, **prev_skipped}, manifest.get("scanned_at_ns") if compatible else None)

    current = {f.source: f for f in found.files}
    build = current_build(index_dir)
    # a file rewritten since it was built (its mtime moved) is hashed; any damage forces a real build
    damage = inspect(index_dir, build, manifest, "changed") if compatible and build is not None else []
    report.repaired = [p.part for p in damage]
    same_code = compatible and manifest.get("pipeline") == pipeline
    if same_code and not damage and not _stale_dense(manifest, settings) and {s: e["sha256"] for s, e in prev_files.items()} | \
            {s: e["sha256"] for s, e in prev_skipped.items()} == hashes:
        report.skipped.extend(Skipped(s, e["reason"]) for s, e in sorted(prev_skipped.items()))
        report = dataclasses.replace(_report_of(manifest, noop=True), skipped=report.skipped, ignored=report.ignored)
        _record_snapshot(index_dir, build, manifest, settings_id, found, hashes, scan_started_ns)
        report.seconds = time.perf_counter() - started
        report.index_path = str(index_dir)
        return report

    damaged_parts: dict[str, set[str]] = {}  # segment name -> its damaged files
    for problem in damage:
        folder, _, rest = problem.part.partition("/")
        if folder == SEGMENTS_DIR:
            name, _, part = rest.partition("/")
            damaged_parts.setdefault(name, set()).add(part)
    # the segments whose letters stay where they are (all of them unless the pipeline changed or a
    # segment is damaged: its letters are then read again into the new segment)
    kept = [dict(e, deleted=list(e.get("deleted") or ())) for e in segment_entries(manifest or {})
            if same_code and e.get("name") not in damaged_parts]
    kept_names = {e["name"] for e in kept}
    reusable = _vector_sources(index_dir, manifest, settings, damaged_parts)

    files: dict[str, dict] = {}
    unreadable: dict[str, dict] = {}
    reported = len(report.skipped)  # discover's own skips come first, then the corpus' in source order
    fresh: list[CorpusFile] = []  # new or changed letters (all of them on a first build): the engine's work
    for source in sorted(current):
        file = current[source]
        sha = hashes[source]
        old = prev_files.get(source)
        if old and old["sha256"] == sha and old.get("segment") in kept_names:
            files[source] = dict(old, size=file.size, mtime_ns=file.mtime_ns)
        elif source in prev_skipped and prev_skipped[source]["sha256"] == sha:
            report.skipped.append(Skipped(source, prev_skipped[source]["reason"]))
            unreadable[source] = prev_skipped[source]
        else:
            fresh.append(file)
            if old is None:
                report.added.append(source)
            elif old["sha256"] != sha:
                report.changed.append(source)
    letters: list[AnalysedLetter] = []
    for result in engine.parse(fresh, progress) if fresh else []:
        if isinstance(result, Skipped):
            file = current[result.path]
            report.skipped.append(result)
            unreadable[result.path] = {"sha256": hashes[result.path], "size": file.size, "mtime_ns": file.mtime_ns,
                                       "reason": result.reason}
        else:
            letters.append(result)
    report.skipped[reported:] = sorted(report.skipped[reported:], key=lambda skip: skip.path)
    report.removed = sorted(set(prev_files) - set(current))
    report.added = [s for s in report.added if s not in unreadable]
    if not letters and not files:
        raise NothingToIndex(f"no indexable documents in {settings.corpus_dir} "
                             f"({len(report.skipped)} skipped, {report.ignored} with unsupported extensions)")

    # tombstones: every letter of a kept segment that is no longer live there
    for entry in kept:
        live_here = {f["ordinal"] for f in files.values() if f.get("segment") == entry["name"]}
        entry["deleted"] = sorted(set(range(int(entry["documents"]))) - live_here)
    segments = [e for e in kept if len(e["deleted"]) < int(e["documents"])]

    if letters:
        contents = _process(letters)
        report.embedded, report.reused_vectors = _embed(contents, reusable, settings, progress, show_progress, engine)
        info = write_segment(index_dir, contents.segment(), settings)
        segments.append(info.to_json())
        per_doc = _rows_per_document(contents)
        for (record, _text) in contents.documents:
            files[record.source] = {
                "sha256": record.sha256, "size": current[record.source].size,
                "mtime_ns": current[record.source].mtime_ns, "doc_id": record.doc_id, "format": record.format,
                "segment": info.name, "ordinal": record.ordinal, **per_doc[record.ordinal]}

    new_manifest = {
        **_signature(settings),
        "dimension": _dimension(manifest, settings, letters and contents),
        "embedder": embedder_identity(settings),
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "corpus_dir": str(Path(settings.corpus_dir).resolve()),
        "versions": _versions(),
        "pipeline": pipeline,
        "scanned_at_ns": scan_started_ns,
        "files": dict(sorted(files.items())),
        "unreadable": unreadable,
        "counts": _live_counts(files),
        "segments": segments,
    }
    for position in _stale_dense(new_manifest, settings):  # a changed memory budget: nothing re-embedded
        new_manifest = _merge(index_dir, new_manifest, [position], settings)
    path = write_build(index_dir, new_manifest)
    plan = plan_merge([_live_chunks(e) for e in segments], settings.max_segments)
    if plan:  # after the swap: the new letters are searchable while the small segments merge
        merge_started = time.perf_counter()
        new_manifest = _merge(index_dir, new_manifest, plan, settings)
        path = write_build(index_dir, new_manifest)
        report.merge_seconds = time.perf_counter() - merge_started
    _record_snapshot(index_dir, path, new_manifest, settings_id, found, hashes, scan_started_ns)
    counts = new_manifest["counts"]
    report.documents, report.chunks, report.sentences = counts["documents"], counts["chunks"], counts["sentences"]
    report.segments = len(new_manifest["segments"])
    report.seconds = time.perf_counter() - started
    report.index_path = str(path)
    log.info(report.summary())
    return report


def _record_snapshot(index_dir: Path, build: Path, manifest: dict, settings_id: str, found,
                     hashes: dict[str, str], scan_started_ns: int) -> None:
    """Snapshot the corpus as this build (now current, matching it) saw it."""
    try:
        stat = (build / "manifest.json").stat()
    except OSError:
        return
    counts = manifest.get("counts", {})
    entries = segment_entries(manifest)
    write_snapshot(index_dir, Snapshot(
        build=build.name, manifest=(stat.st_size, stat.st_mtime_ns), settings=settings_id, listing=listing_key(found),
        racy={source: hashes[source] for source in racy_sources(found, scan_started_ns)},
        report={"documents": counts.get("documents", 0), "chunks": counts.get("chunks", 0),
                "sentences": counts.get("sentences", 0), "segments": len(entries),
                "unreadable": [[s, e["reason"]] for s, e in sorted(manifest.get("unreadable", {}).items())]},
        segments={e["name"]: e.get("integrity") or {} for e in entries}))


def _dimension(manifest: dict | None, settings: Settings, contents: BuildContents | None) -> int:
    if contents and contents.chunk_vectors.ndim == 2 and contents.chunk_vectors.shape[1]:
        return int(contents.chunk_vectors.shape[1])
    if manifest and manifest.get("dimension"):
        return int(manifest["dimension"])
    return Embedder.for_settings(settings).dimension


def _stale_dense(manifest: dict, settings: Settings) -> list[int]:
    """Positions of the segments whose dense index settings.dense_memory_mb (or ann_exact_limit) would now
    make differently (index.ann.is_current); rewriting one re-reads its vectors, it embeds nothing."""
    dim = int(manifest.get("dimension") or 0)
    return [i for i, e in enumerate(segment_entries(manifest))
            if not is_current(e.get("faiss") or {}, int(e["chunks"]), dim, settings)]


def _rows_per_document(contents: BuildContents) -> dict[int, dict]:
    out = {record.ordinal: {"chunks": 0, "sentences": 0} for record, _ in contents.documents}
    for ordinal, *_ in contents.chunks:
        out[ordinal]["chunks"] += 1
    for ordinal, *_ in contents.sentences:
        out[ordinal]["sentences"] += 1
    return out


def _live_counts(files: dict[str, dict]) -> dict:
    return {"documents": len(files), "chunks": sum(f.get("chunks", 0) for f in files.values()),
            "sentences": sum(f.get("sentences", 0) for f in files.values())}


def _live_chunks(entry: dict) -> int:
    """A segment's size for merge planning: its chunks, less a removed letter's share."""
    documents = max(1, int(entry["documents"]))
    return int(entry["chunks"]) * (documents - len(entry.get("deleted") or ())) // documents


def _merge(index_dir: Path, manifest: dict, chosen: list[int], settings: Settings) -> dict:
    """The manifest after merging the chosen segments (positions) into one new segment, written in
    place of the first of them."""
    entries = segment_entries(manifest)
    parts = [entries[i] for i in chosen]
    root = segments_root(index_dir)
    info = write_segment(index_dir, merged_contents(
        [(root / e["name"], frozenset(e.get("deleted") or ())) for e in parts]), settings)
    new_place: dict[tuple[str, int], int] = {}
    for entry in parts:
        deleted = set(entry.get("deleted") or ())
        for local in range(int(entry["documents"])):
            if local not in deleted:
                new_place[(entry["name"], local)] = len(new_place)
    files = {}
    for source, f in manifest["files"].items():
        place = new_place.get((f.get("segment"), f.get("ordinal")))
        files[source] = f if place is None else dict(f, segment=info.name, ordinal=place)
    merged = [e for i, e in enumerate(entries) if i not in set(chosen)]
    merged.insert(min(chosen), info.to_json())
    return dict(manifest, files=files, segments=merged,
                built_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def _process(letters: list[AnalysedLetter]) -> BuildContents:
    """The rows of one new segment from the engine's analysed letters (ordinals in the order given)."""
    records, sentences, chunks, chunk_tokens = [], [], [], []
    entities: dict[int, list] = {}
    for ordinal, letter in enumerate(letters):
        doc = letter.document
        entities[ordinal] = list(letter.entities)
        records.append((DocumentRecord(ordinal, doc.doc_id, doc.source, doc.format, doc.sha256, letter.metadata,
                                       doc.pages, doc.warnings, len(doc.text)), doc.text))
        first_row = len(sentences)
        sentences.extend((ordinal, span, h) for span, h in zip(letter.spans, letter.sentence_hashes))
        for chunk, chunk_token_list in zip(letter.chunks, letter.chunk_tokens):
            ids = chunk.sentence_ids
            chunks.append((ordinal, chunk, first_row + ids[0], first_row + ids[-1]))
            chunk_tokens.append(list(chunk_token_list))
    return BuildContents(records, sentences, chunks, np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32),
                         chunk_tokens, entities)


@dataclass(frozen=True)
class VectorSource:
    """A previous segment whose stored vectors may be reused: its folder and its damaged files."""

    folder: Path
    damaged: frozenset[str]


def _vector_sources(index_dir: Path, manifest: dict | None, settings: Settings,
                    damaged_parts: dict[str, set[str]]) -> list[VectorSource]:
    """Every segment of the previous build made with the same model (tombstoned letters' included)."""
    if manifest is None or manifest.get("model") != settings.model or manifest.get("format_version") != FORMAT_VERSION:
        return []
    root = segments_root(index_dir)
    return [VectorSource(root / e["name"], frozenset(damaged_parts.get(e["name"], ())))
            for e in segment_entries(manifest)]


LOOKUP_BATCH = 500  # hashes per SQL query (SQLite allows 32,766 parameters; smaller keeps queries fast)


def _stored_vectors(sources: list[VectorSource], wanted: set[str]) -> dict[str, np.ndarray]:
    """Vectors of the wanted text hashes found in previous segments (chunk vectors first, then sentence
    vectors), read by row from the memory-mapped files; damaged files are skipped."""
    found: dict[str, np.ndarray] = {}
    for source in sources:
        if "table.sqlite" in source.damaged:
            continue
        for table, part in (("chunks", "chunk_vectors.npy"), ("sentences", "sentence_vectors.npy")):
            remaining = [h for h in wanted if h not in found]
            if not remaining or part in source.damaged:
                continue
            try:
                db = sqlite3.connect(f"file:{source.folder / 'table.sqlite'}?mode=ro", uri=True)
                try:
                    rows: dict[str, int] = {}
                    for begin in range(0, len(remaining), LOOKUP_BATCH):
                        batch = remaining[begin:begin + LOOKUP_BATCH]
                        rows.update(db.execute(f"SELECT embed_hash, row FROM {table} WHERE embed_hash IN "
                                               f"({','.join('?' * len(batch))})", batch).fetchall())
                finally:
                    db.close()
                if not rows:
                    continue
                vectors = np.load(source.folder / part, mmap_mode="r", allow_pickle=False)
                hashes = sorted(rows, key=rows.get)  # read the file front to back
                picked = np.asarray(vectors[[rows[h] for h in hashes]], dtype=np.float32)
                found.update(zip(hashes, picked))
            except (OSError, ValueError, IndexError, sqlite3.Error) as exc:
                log.warning("not re-using vectors of %s: %s", source.folder.name, exc)
    return found


def _embed(contents: BuildContents, sources: list[VectorSource], settings: Settings,
           progress: Progress | None, show_progress: bool, engine: Engine) -> tuple[int, int]:
    """Fill contents' vectors, embedding only texts whose hash no previous segment holds."""
    chunk_hashes = [c.content_hash for _, c, _, _ in contents.chunks]
    sentence_hashes = [h for _, _, h in contents.sentences]
    wanted = set(chunk_hashes) | set(sentence_hashes)
    found = _stored_vectors(sources, wanted)
    todo: dict[str, str] = {}
    for h, (_, chunk, _, _) in zip(chunk_hashes, contents.chunks):
        if h not in found and h not in todo:
            todo[h] = chunk.embed_text
    for h, (ordinal, span, _) in zip(sentence_hashes, contents.sentences):
        if h not in found and h not in todo:
            todo[h] = strip_markup(contents.documents[ordinal][1][span.start:span.end])
    if todo:
        vectors = engine.embed(list(todo.values()), progress, show_progress)
        found.update(zip(todo, np.asarray(vectors, dtype=np.float32)))
    dim = len(next(iter(found.values()))) if found else Embedder.for_settings(settings).dimension

    def gather(hashes: list[str]) -> np.ndarray:
        out = np.zeros((len(hashes), dim), dtype=np.float32)
        for i, h in enumerate(hashes):
            out[i] = found[h]
        return out

    contents.chunk_vectors = gather(chunk_hashes)
    contents.sentence_vectors = gather(sentence_hashes)
    return len(todo), len(wanted) - len(todo)


def _versions() -> dict:
    import importlib.metadata as md

    out = {"letters_qa": __version__}
    for name in ("sentence-transformers", "faiss-cpu", "bm25s", "tiktoken", "torch"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def staleness(settings: Settings) -> str | None:
    """A one-line warning when the corpus the index was built from has changed since, else None."""
    manifest = read_manifest(settings.index_dir)
    if manifest is None or not manifest.get("corpus_dir"):
        return None
    corpus = Path(manifest["corpus_dir"])
    try:
        found = discover(corpus, settings.max_file_bytes)
    except FileNotFoundError:
        return None
    known = {**manifest.get("files", {}), **manifest.get("unreadable", {})}
    current = {f.source: (f.size, f.mtime_ns) for f in found.files}
    changed = [s for s, (size, mtime) in current.items()
               if s not in known or (known[s].get("size"), known[s].get("mtime_ns")) != (size, mtime)]
    removed = [s for s in known if s not in current]
    if not changed and not removed:
        return None
    return (f"the index is older than {corpus} ({len(changed)} new or changed, {len(removed)} removed files); "
            f"update it with: python -m index build --corpus {corpus} --index-dir {settings.index_dir}")
