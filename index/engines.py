"""Where a build's heavy work runs: the seam between the build (which decides WHAT to compute: only new
or changed letters, only texts no stored vector covers) and an engine (which computes it).

An `Engine` has two stages, both pure in what they return:
  parse(files)  -> one `AnalysedLetter` (document, entities, metadata, sentences, chunks, BM25 tokens)
                   or one `Skipped` per file, in the order given
  embed(texts)  -> normalised float32 vectors [len(texts), dim], in the order given

`LocalEngine` runs them in this process; `index.ray_engine.RayEngine` runs the same functions as Ray Data
`map_batches` stages over a cluster. Both hand their results to the same writer (index.store), so the
index format does not depend on the engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from .chunking import get_encoding, make_chunks, split_sentences
from .cleaning import strip_markup
from .embedding import Embedder
from .entities import Entity, extract_entities
from .lexical import tokens
from .loading import CorpusFile, Unreadable, load_document
from .metadata import extract_metadata
from .records import Chunk, Document, LetterMetadata, Skipped, Span, sha256_text
from .settings import Settings

Progress = Callable[[str, int, int], None]  # (stage, done, total)
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class AnalysedLetter:
    """Everything the index stores about one letter except its vectors (offsets into document.text)."""

    document: Document
    entities: tuple[Entity, ...]
    metadata: LetterMetadata
    spans: tuple[Span, ...]
    sentence_hashes: tuple[str, ...]  # sha256 of each sentence's embedded (markup-free) text
    chunks: tuple[Chunk, ...]
    chunk_tokens: tuple[tuple[str, ...], ...]  # BM25 tokens of each chunk


ParseResult = AnalysedLetter | Skipped


class Engine(Protocol):
    name: str

    def parse(self, files: Sequence[CorpusFile], progress: Progress | None = None) -> list[ParseResult]: ...

    def embed(self, texts: Sequence[str], progress: Progress | None = None,
              show_progress: bool = False) -> np.ndarray: ...

    def close(self) -> None: ...


def load_files(files: Sequence[CorpusFile], settings: Settings,
               progress: Progress | None = None) -> list[Document | Skipped]:
    """Each file read into a Document, or Skipped with the reason it cannot be used."""
    out: list[Document | Skipped] = []
    for number, file in enumerate(files):
        try:
            out.append(load_document(file, settings))
        except Unreadable as exc:
            out.append(Skipped(file.source, str(exc)))
        if progress:
            progress("reading", number + 1, len(files))
    return out


def analyse_letters(documents: Sequence[Document], settings: Settings,
                    progress: Progress | None = None) -> list[AnalysedLetter]:
    """Entities (one model batch over all documents), metadata, sentences, chunks and BM25 tokens."""
    encoding = get_encoding(settings.tokenizer)

    def count(text: str) -> int:
        return len(encoding.encode_ordinary(text))

    if progress and documents:
        progress("finding names and dates", 0, len(documents))
    found = extract_entities([doc.text for doc in documents])
    out = []
    for number, (doc, entities) in enumerate(zip(documents, found)):
        metadata = extract_metadata(doc.text, fallback_title=Path(doc.source).stem, entities=entities)
        spans = tuple(split_sentences(doc.text, settings.max_sentence_chars))
        hashes = tuple(sha256_text(strip_markup(doc.text[s.start:s.end])) for s in spans)
        chunks = tuple(make_chunks(doc.doc_id, doc.source, doc.text, list(spans), settings.chunk_tokens,
                                   settings.chunk_overlap, count))
        chunk_tokens = tuple(tuple(tokens(c.embed_text) or [""]) for c in chunks)
        out.append(AnalysedLetter(doc, tuple(entities), metadata, spans, hashes, chunks, chunk_tokens))
        if progress:
            progress("chunking", number + 1, len(documents))
    return out


def parse_files(files: Sequence[CorpusFile], settings: Settings,
                progress: Progress | None = None) -> list[ParseResult]:
    """The parse stage on one batch of files (what every engine runs, wherever it runs it)."""
    loaded = load_files(files, settings, progress)
    analysed = iter(analyse_letters([d for d in loaded if isinstance(d, Document)], settings, progress))
    return [next(analysed) if isinstance(d, Document) else d for d in loaded]


class LocalEngine:
    """Both stages in this process (the default engine)."""

    name = "local"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.embedder = Embedder.for_settings(settings)

    def parse(self, files: Sequence[CorpusFile], progress: Progress | None = None) -> list[ParseResult]:
        return parse_files(files, self.settings, progress)

    def embed(self, texts: Sequence[str], progress: Progress | None = None,
              show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if progress is None:
            return self.embedder.encode(texts, show_progress=show_progress)
        # one call per batch (longest texts first, as Embedder.encode does) so a progress bar moves per batch
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.embedder.dimension), dtype=np.float32)
        step = self.settings.batch_size
        for begin in range(0, len(order), step):
            ids = order[begin:begin + step]
            out[ids] = self.embedder.encode([texts[i] for i in ids])
            progress("embedding", begin + len(ids), len(texts))
        return out

    def close(self) -> None:
        pass


def make_engine(name: str, settings: Settings, ray_address: str | None = None) -> Engine:
    """The engine called `name` (one of ENGINES); ray_address is the Ray cluster to join (ray only;
    None starts a local Ray)."""
    if name == "local":
        if ray_address:
            raise ValueError("--ray-address needs --engine ray")
        return LocalEngine(settings)
    if name == "ray":
        from .ray_engine import RayEngine

        return RayEngine(settings, ray_address)
    raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {name!r}")
