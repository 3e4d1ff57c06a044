"""Build (or update) the index for a corpus folder: load → clean → metadata → chunk → embed → store.

Incremental by construction: an unchanged corpus (same files by size/mtime or sha256, same settings)
returns without loading the model; otherwise unchanged letters keep their text from the previous
build, and every sentence or chunk whose text was embedded before reuses its vector (keyed by the
sha256 of the embedded text), so only new text is embedded.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .cleaning import strip_markup
from .embedding import Embedder, embedder_identity
from .engines import AnalysedLetter, Engine, LocalEngine, analyse_letters
from .lexical import TOKENIZER_VERSION, tokens
from .loading import CorpusFile, discover, file_sha256
from .records import Chunk, Document, Skipped, Span
from .settings import Settings
from .locking import build_lock
from .store import (FORMAT_VERSION, BuildContents, DocumentRecord, IndexReader, IndexUnavailable, collect_garbage,
                    current_build, inspect, read_manifest, write_build)

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # (stage, done, total)


class NothingToIndex(RuntimeError):
    pass


@dataclass
class BuildReport:
    documents: int = 0
    chunks: int = 0
    sentences: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    ignored: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    embedded: int = 0
    reused_vectors: int = 0
    noop: bool = False
    repaired: list[str] = field(default_factory=list)  # damaged parts of the previous build, rewritten
    seconds: float = 0.0
    index_path: str = ""

    def summary(self) -> str:
        repaired = f"; repaired damaged {', '.join(self.repaired)}" if self.repaired else ""
        if self.noop:
            return (f"index up to date: {self.documents} documents, {self.chunks} chunks "
                    f"({len(self.skipped)} skipped, {self.ignored} ignored) in {self.seconds:.2f}s")
        return (f"indexed {self.documents} documents, {self.chunks} chunks, {self.sentences} sentences "
                f"(+{len(self.added)} added, ~{len(self.changed)} changed, -{len(self.removed)} removed; "
                f"{self.embedded} texts embedded, {self.reused_vectors} reused; {len(self.skipped)} skipped, "
                f"{self.ignored} ignored){repaired} in {self.seconds:.1f}s")


def _signature(settings: Settings) -> dict:
    return {"model": settings.model, "chunker": settings.chunker_params(), "format_version": FORMAT_VERSION,
            "tokenizer_version": TOKENIZER_VERSION}


def _file_hashes(files: tuple[CorpusFile, ...], previous: dict) -> dict[str, str]:
    """sha256 per source, reusing the previous manifest's hash when size and mtime are unchanged."""
    hashes = {}
    for f in files:
        old = previous.get(f.source)
        if old and old.get("size") == f.size and old.get("mtime_ns") == f.mtime_ns:
            hashes[f.source] = old["sha256"]
        else:
            hashes[f.source] = file_sha256(f.path)
    return hashes


def build_index(settings: Settings, rebuild: bool = False, progress: Progress | None = None,
                show_progress: bool = False, engine: Engine | None = None) -> BuildReport:
    """Bring the index at settings.index_dir up to date with settings.corpus_dir, as the only builder
    of that index (waiting settings.build_wait_seconds for another one, else raising BuildLocked), and
    clear what earlier builds left behind, whatever happens.

    `engine` parses new or changed letters and embeds new texts (default: this process; see
    index.engines); whatever it is, the same writer writes the same format.

    Raises NothingToIndex when no document can be indexed (the previous index is left as it was).
    """
    index_dir = Path(settings.index_dir)
    with build_lock(index_dir, settings.build_wait_seconds):
        try:
            return _build_locked(settings, rebuild, progress, show_progress, engine or LocalEngine(settings))
        finally:
            collect_garbage(index_dir)


def _build_locked(settings: Settings, rebuild: bool, progress: Progress | None, show_progress: bool,
                  engine: Engine) -> BuildReport:
    started = time.perf_counter()
    report = BuildReport()
    found = discover(settings.corpus_dir, settings.max_file_bytes)
    report.ignored = found.ignored
    report.skipped.extend(found.skipped)

    manifest = None if rebuild else read_manifest(settings.index_dir)
    compatible = manifest is not None and all(manifest.get(k) == v for k, v in _signature(settings).items())
    prev_files = manifest.get("files", {}) if compatible else {}
    prev_skipped = manifest.get("unreadable", {}) if compatible else {}
    hashes = _file_hashes(found.files, {**prev_files, **prev_skipped})

    current = {f.source: f for f in found.files}
    # a file rewritten since it was built (its mtime moved) is hashed; any damage forces a real build
    damage = inspect(current_build(settings.index_dir), manifest, "changed") if compatible else []
    report.repaired = [p.part for p in damage]
    recorded_budget = (manifest or {}).get("faiss", {}).get("memory_budget_mb", settings.dense_memory_mb)
    same_budget = recorded_budget == settings.dense_memory_mb  # else the dense index is rebuilt (nothing re-embedded)
    if compatible and not damage and same_budget and manifest.get("pipeline") == pipeline_fingerprint() and {s: e["sha256"] for s, e in prev_files.items()} | {s: e["sha256"] for s, e in prev_skipped.items()} == hashes:
        report.skipped.extend(Skipped(s, e["reason"]) for s, e in sorted(prev_skipped.items()))
        report.documents = manifest["counts"]["documents"]
        report.chunks = manifest["counts"]["chunks"]
        report.sentences = manifest["counts"]["sentences"]
        report.noop = True
        report.seconds = time.perf_counter() - started
        report.index_path = str(settings.index_dir)
        return report

    previous = None
    if manifest is not None and manifest.get("model") == settings.model:
        try:
            previous = IndexReader.open(settings.index_dir, settings.model, depth="changed", damaged_ok=True)
        except IndexUnavailable as exc:
            log.warning("previous index not reusable: %s", exc)
        if previous is not None and "table.sqlite" in previous.damage:  # texts and vector keys both lost
            previous.close()
            previous = None

    documents: list[Document] = []
    unreadable: dict[str, dict] = {}
    # letters whose file is unchanged keep their metadata, sentences and chunks from the previous build
    # (same chunker settings and same code version, so recomputing would give the same result)
    reusable: dict[str, DocumentRecord] = {}
    same_code = compatible and manifest.get("pipeline") == pipeline_fingerprint()
    fresh: list[CorpusFile] = []  # new or changed letters (and all of them on a first build): the engine's work
    for source in sorted(current):
        sha = hashes[source]
        old = prev_files.get(source)
        if previous is not None and same_code and old and old["sha256"] == sha and source in previous.by_source:
            reusable[source] = previous.by_source[source]
        elif not (source in prev_skipped and prev_skipped[source]["sha256"] == sha):
            fresh.append(current[source])
            if old is None:
                report.added.append(source)
            elif old["sha256"] != sha:
                report.changed.append(source)
    analysed: dict[str, AnalysedLetter] = {}
    for result in engine.parse(fresh, progress) if fresh else []:
        if isinstance(result, Skipped):
            file = current[result.path]
            unreadable[result.path] = {"sha256": hashes[result.path], "size": file.size, "mtime_ns": file.mtime_ns,
                                       "reason": result.reason}
        else:
            analysed[result.document.source] = result
    for source in sorted(current):
        if source in reusable:
            rec = reusable[source]
            documents.append(Document(rec.doc_id, source, previous.text(source), hashes[source], rec.format,
                                      rec.pages, rec.warnings))
        elif source in analysed:
            documents.append(analysed[source].document)
        elif source in unreadable:
            report.skipped.append(Skipped(source, unreadable[source]["reason"]))
        else:  # unreadable in the previous build and unchanged since
            report.skipped.append(Skipped(source, prev_skipped[source]["reason"]))
            unreadable[source] = prev_skipped[source]
    report.removed = sorted(set(prev_files) - set(current))
    report.added = [s for s in report.added if s not in unreadable]
    if not documents:
        raise NothingToIndex(f"no indexable documents in {settings.corpus_dir} "
                             f"({len(report.skipped)} skipped, {report.ignored} with unsupported extensions)")

    contents = _process(documents, settings, progress, previous, reusable, analysed)
    report.embedded, report.reused_vectors = _embed(contents, previous, settings, progress, show_progress, engine)
    if previous is not None:
        previous.close()

    new_manifest = {
        **_signature(settings),
        "dimension": int(contents.chunk_vectors.shape[1]),
        "embedder": embedder_identity(settings),
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "corpus_dir": str(Path(settings.corpus_dir).resolve()),
        "versions": _versions(),
        "pipeline": pipeline_fingerprint(),
        "files": {d.source: {"sha256": d.sha256, "size": current[d.source].size,
                             "mtime_ns": current[d.source].mtime_ns, "doc_id": d.doc_id, "format": d.format}
                  for d in documents},
        "unreadable": unreadable,
        "counts": {"documents": len(documents), "chunks": len(contents.chunks),
                   "sentences": len(contents.sentences)},
    }
    path = write_build(Path(settings.index_dir), new_manifest, contents, settings)
    report.documents, report.chunks, report.sentences = len(documents), len(contents.chunks), len(contents.sentences)
    report.seconds = time.perf_counter() - started
    report.index_path = str(path)
    log.info(report.summary())
    return report


def _process(documents: list[Document], settings: Settings, progress: Progress | None,
             previous: IndexReader | None = None, reusable: dict[str, DocumentRecord] | None = None,
             analysed: dict[str, AnalysedLetter] | None = None) -> BuildContents:
    """The build's rows in document order: an unchanged letter's as the previous build stored them, a
    new one's from `analysed` (the engine's parse stage), analysed here when missing from it."""
    reusable = reusable or {}
    analysed = dict(analysed or {})
    old_sentences = previous.sentences_by_document() if previous is not None and reusable else {}
    old_chunks = previous.chunks_by_document() if previous is not None and reusable else {}
    records, sentences, chunks, chunk_tokens = [], [], [], []
    entities: dict[int, list] = {}
    kept = {doc.source for doc in documents if doc.source in reusable and reusable[doc.source].ordinal in old_sentences}
    missing = [doc for doc in documents if doc.source not in kept and doc.source not in analysed]
    analysed.update((letter.document.source, letter) for letter in analyse_letters(missing, settings, progress))
    for ordinal, doc in enumerate(documents):
        if doc.source in kept:
            old = reusable[doc.source]
            _reuse(ordinal, doc, old, old_sentences[old.ordinal], old_chunks.get(old.ordinal, []),
                   records, sentences, chunks, chunk_tokens)
            entities[ordinal] = previous.entities(old.ordinal)
        else:
            letter = analysed[doc.source]
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


def pipeline_fingerprint() -> str:
    """sha256 of the code that turns a letter's file into text, metadata, sentences, chunks and tokens: an
    incremental build reuses an unchanged letter's stored results only when this code is unchanged
    (vectors are still reused wherever the embedded text is the same)."""
    import hashlib

    digest = hashlib.sha256(__version__.encode())
    for name in ("loading.py", "engines.py", "chunking.py", "cleaning.py", "markup.py", "entities.py", "metadata.py",
                 "structure.py",
                 "lexical.py", "records.py"):
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


def _reuse(ordinal: int, doc: Document, old: DocumentRecord, old_sentences: list, old_chunks: list,
           records: list, sentences: list, chunks: list, chunk_tokens: list) -> None:
    """Append an unchanged letter's record, sentences and chunks as the previous build stored them."""
    records.append((DocumentRecord(ordinal, doc.doc_id, doc.source, doc.format, doc.sha256, old.metadata, doc.pages,
                                   doc.warnings, len(doc.text)), doc.text))
    first_row = len(sentences)
    old_first = old_sentences[0][0] if old_sentences else 0
    for _, start, end, boilerplate, embed_hash in old_sentences:
        sentences.append((ordinal, Span(start, end, boilerplate), embed_hash))
    for chunk_id, start, end, text, s_first, s_last, boilerplate, n_tokens in old_chunks:
        embed_text = strip_markup(text)
        chunk = Chunk(chunk_id=chunk_id, doc_id=doc.doc_id, source=doc.source, char_start=start, char_end=end,
                      text=text, embed_text=embed_text, n_tokens=n_tokens,
                      sentence_ids=tuple(range(s_first - old_first, s_last - old_first + 1)), boilerplate=boilerplate)
        chunks.append((ordinal, chunk, first_row + s_first - old_first, first_row + s_last - old_first))
        chunk_tokens.append(tokens(embed_text) or [""])


def _embed(contents: BuildContents, previous: IndexReader | None, settings: Settings,
           progress: Progress | None, show_progress: bool, engine: Engine | None = None) -> tuple[int, int]:
    """Fill contents' vectors, embedding only texts whose hash the previous build does not hold.

    Vectors are gathered by row in bulk, and a sentence's embed text is only computed when it must be
    embedded (adding one letter to a large index touches every stored vector once, nothing more)."""
    chunk_hashes = [c.content_hash for _, c, _, _ in contents.chunks]
    sentence_hashes = [h for _, _, h in contents.sentences]
    where: dict[str, tuple[int, int]] = {}  # hash -> (source: 0 old chunks, 1 old sentences, 2 new; row)
    sources: list[np.ndarray] = [np.zeros((0, 0), np.float32)] * 3
    if previous is not None:
        wanted = set(chunk_hashes) | set(sentence_hashes)
        stored = _stored_vectors(previous, "chunk_vectors.npy")
        if stored is not None:
            sources[0] = stored
            for h, row in previous.chunk_hashes().items():
                if h in wanted:
                    where[h] = (0, row)
        stored = _stored_vectors(previous, "sentence_vectors.npy")
        if stored is not None:
            sources[1] = stored
            for h, row in previous.sentence_hashes().items():
                if h in wanted and h not in where:
                    where[h] = (1, row)
    todo: dict[str, str] = {}
    for h, (_, chunk, _, _) in zip(chunk_hashes, contents.chunks):
        if h not in where and h not in todo:
            todo[h] = chunk.embed_text
    for h, (ordinal, span, _) in zip(sentence_hashes, contents.sentences):
        if h not in where and h not in todo:
            todo[h] = strip_markup(contents.documents[ordinal][1][span.start:span.end])
    if todo:
        sources[2] = (engine or LocalEngine(settings)).embed(list(todo.values()), progress, show_progress)
        where.update((h, (2, j)) for j, h in enumerate(todo))
    dims = [a.shape[1] for a in sources if a.ndim == 2 and a.shape[0]]
    dim = dims[0] if dims else Embedder.for_settings(settings).dimension

    def gather(hashes: list[str]) -> np.ndarray:
        out = np.zeros((len(hashes), dim), dtype=np.float32)
        if not hashes:
            return out
        located = np.array([where[h] for h in hashes], dtype=np.int64).reshape(-1, 2)
        for source, vectors in enumerate(sources):
            picked = np.flatnonzero(located[:, 0] == source)
            if len(picked):
                rows = located[picked, 1]
                order = np.argsort(rows, kind="stable")  # read a memory-mapped file front to back
                out[picked[order]] = np.asarray(vectors[rows[order]], dtype=np.float32)
        return out

    contents.chunk_vectors = gather(chunk_hashes)
    contents.sentence_vectors = gather(sentence_hashes)
    reused = len(set(chunk_hashes) | set(sentence_hashes)) - len(todo)
    return len(todo), reused


def _stored_vectors(previous: IndexReader, part: str) -> np.ndarray | None:
    """The previous build's chunk or sentence vectors, or None when that file is damaged (its texts are
    then embedded again)."""
    if part in previous.damage:
        return None
    try:
        return previous.chunk_vectors if part == "chunk_vectors.npy" else previous.sentence_vectors
    except IndexUnavailable as exc:
        log.warning("not re-using stored vectors: %s", exc)
        return None


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
