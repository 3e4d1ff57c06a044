"""The systems the benchmark compares. Each has ``name``, ``description``, ``ask(question) -> dict``
(a contract answer object, CONTRACT.md), ``prepare(train_questions)`` (fit what it fits on train,
before anything is asked) and ``calibration`` (None: its confidence is used as it is).

  full              the assistant as shipped, with its fitted answer model (retrieval/answer_model.json).
  full-refit        the same answers, with its own calibration fitted like every system below, so the
                    ablations can be compared with it like for like.
  rrf-fusion        as full, reciprocal rank fusion instead of score fusion.
  dense-only        as full, the dense (MiniLM) ranking alone (the no-fusion ablation).
  bm25-only         as full, the BM25 ranking alone.
  no-answer-types   as full, without expected-answer-type rules or letter-field answers.
  no-name-matching  as full, without boosting the letter the question names.
  best-sentence     the letters' sentence with the highest cosine + λ x word overlap (λ fitted on train),
                    answered whole (first 60 words). No rules.
  bm25-sentence     the sentence with the highest BM25 score over sentences.
  dense-sentence    the sentence with the highest cosine similarity.
  rag-recipe        the common RAG recipe: 1,000-character chunks (200 overlap), MiniLM + IndexFlatIP,
                    the top chunk; the answer is its sentence-aligned window of at most 60 words most
                    similar to the question.

Every system but full has its **own** confidence calibration (eval.calibrate): the ablations refit the
assistant's confidence weights on train (their answers and signals, abstention switched off), the
baselines a logistic on their own score; each threshold is chosen on dev. All share one loaded model
and index; the baselines' sentence and chunk tables are built in memory, no files are written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from eval.calibrate import ScoreCalibration, SignalCalibration
from eval.metrics import containment
from retrieval import Assistant

ABLATIONS: tuple[str, ...] = ("full-refit", "rrf-fusion", "dense-only", "bm25-only", "no-answer-types", "no-name-matching")
BASELINES: tuple[str, ...] = ("best-sentence", "bm25-sentence", "dense-sentence", "rag-recipe")
SYSTEM_NAMES: tuple[str, ...] = ("full", *ABLATIONS, *BASELINES)
ALIASES = {"no-fusion": "dense-only", "tutorial": "rag-recipe"}
MAX_WORDS = 60  # the contract's answer cap, the same for every system
PASSAGES = 10

_DESCRIPTIONS = {
    "full": "shipped assistant: dense+BM25 score fusion, name matching, answer types, shipped calibration",
    "full-refit": "full with its own calibration fitted on train like every row below (compare ablations with this)",
    "rrf-fusion": "as full, reciprocal rank fusion (k=60) instead of score fusion; own calibration",
    "dense-only": "no-fusion ablation: dense ranking alone feeds the answer extraction; own calibration",
    "bm25-only": "BM25 ranking alone feeds the answer extraction; own calibration",
    "no-answer-types": "as full, without answer-type rules or letter-field answers; own calibration",
    "no-name-matching": "as full, without boosting the letter the question names; own calibration",
    "best-sentence": "sentence with the best cosine + λ·word overlap (λ fitted on train), no rules",
    "bm25-sentence": "sentence with the best BM25 score",
    "dense-sentence": "sentence with the best cosine similarity",
    "rag-recipe": "1000/200-char chunks, MiniLM + IndexFlatIP, top chunk's ≤60-word window most like the question",
}
_SETTINGS = {
    "full": {},
    "full-refit": {},
    "rrf-fusion": {"fusion": "rrf"},
    "dense-only": {"arms": ("dense",)},
    "bm25-only": {"arms": ("bm25",)},
    "no-answer-types": {"use_answer_types": False},
    "no-name-matching": {"use_name_matching": False},
}


class System(Protocol):
    name: str
    description: str
    calibration: object | None

    def prepare(self, train: Sequence) -> None: ...

    def ask(self, question: str) -> dict: ...


@dataclass
class AssistantSystem:
    name: str
    description: str
    assistant: Assistant
    k: int | None = None
    calibration: object | None = None

    def prepare(self, train: Sequence) -> None:
        pass

    def ask(self, question: str) -> dict:
        return self.assistant.ask(question, k=self.k).to_json()


# --- shared pieces (pure) -----------------------------------------------------------------------
def char_chunks(text: str, size: int = 1000, overlap: int = 200) -> list[tuple[int, int]]:
    """Fixed character windows [start, end) of `size`, each starting `size - overlap` after the
    previous one; the last window ends at the end of the text."""
    if size <= overlap:
        raise ValueError("chunk size must exceed the overlap")
    if not text:
        return []
    spans, start = [], 0
    while True:
        end = min(start + size, len(text))
        spans.append((start, end))
        if end >= len(text):
            return spans
        start += size - overlap


def first_words(text: str, limit: int = MAX_WORDS) -> tuple[int, int]:
    """(start, end) in `text` of its first `limit` whitespace-separated words."""
    words = list(re.finditer(r"\S+", text))
    if not words:
        return 0, 0
    return words[0].start(), words[min(limit, len(words)) - 1].end()


def windows(spans: Sequence[tuple[int, int]], text: str, limit: int = MAX_WORDS) -> list[tuple[int, int]]:
    """Runs of consecutive sentences (document offsets) of at most `limit` words; a longer single
    sentence is cut to its first `limit` words."""
    counts = [len(text[a:b].split()) for a, b in spans]
    out = []
    for i, (start, end) in enumerate(spans):
        if counts[i] > limit:
            a, b = first_words(text[start:end], limit)
            out.append((start + a, start + b))
            continue
        total, j = counts[i], i
        while j + 1 < len(spans) and total + counts[j + 1] <= limit:
            j += 1
            total += counts[j]
        out.append((start, spans[j][1]))
    return list(dict.fromkeys(out))


def word_overlap(question_tokens: set[str], sentence_tokens: Sequence[set[str]]) -> np.ndarray:
    """Share of the question's content tokens found in each sentence."""
    if not question_tokens:
        return np.zeros(len(sentence_tokens))
    return np.array([len(question_tokens & s) / len(question_tokens) for s in sentence_tokens])


@dataclass(frozen=True)
class Sentence:
    doc_id: str
    source: str
    title: str | None
    start: int
    end: int
    text: str


def _response(question: str, score: float, answer_span: tuple[int, int], quote: Sentence | dict,
              passages: list[dict], kind: str) -> dict:
    """A contract answer object quoting `quote` (a Sentence or a chunk dict) with `answer_span`
    (document offsets) as the answer; `confidence` is the raw score until calibrated."""
    if isinstance(quote, Sentence):
        doc_id, source, title, start, end, text = quote.doc_id, quote.source, quote.title, quote.start, quote.end, \
            quote.text
    else:
        doc_id, source, title, start, end, text = (quote["doc_id"], quote["source"], quote["title"],
                                                   quote["char_start"], quote["char_end"], quote["text"])
    a, b = answer_span
    citation = {"doc_id": doc_id, "source": source, "title": title, "char_start": start, "char_end": end,
                "quote": text, "score": round(score, 4), "answer_start": a, "answer_end": b}
    return {"question": question, "answer": text[a - start:b - start], "abstained": False,
            "confidence": min(1.0, max(0.0, score)), "score": score, "citations": [citation],
            "passages": passages, "answer_type": kind, "reason": None}


class SentenceSystem:
    """Ranks every sentence of the letters and answers with the best one (its first 60 words).

    score(question) -> one score per sentence; `mode` is "best" (cosine + λ·overlap), "dense" or "bm25".
    """

    def __init__(self, name: str, assistant: Assistant, mode: str, lam: float = 0.0):
        from index.lexical import tokens

        self.name, self.mode, self.lam = name, mode, lam
        self.description = _DESCRIPTIONS[name]
        self.calibration = ScoreCalibration()
        self._assistant = assistant
        self._tokens = tokens
        reader = assistant.reader
        rows, self.sentences = [], []
        for doc in reader.documents:
            text = reader.text(doc.doc_id)
            for s in reader.document_sentences(doc.ordinal):
                rows.append(s.row)
                self.sentences.append(Sentence(doc.doc_id, doc.source, doc.metadata.title, s.start, s.end,
                                               text[s.start:s.end]))
        self.vectors = np.asarray(reader.sentence_vectors)[rows] if rows else np.zeros((0, 1), np.float32)
        self.sentence_tokens = [set(tokens(s.text)) for s in self.sentences]
        self._bm25 = None
        if mode == "bm25":
            import bm25s

            self._bm25 = bm25s.BM25()
            self._bm25.index([list(t) or [""] for t in self.sentence_tokens], show_progress=False)

    def scores(self, question: str, vector: np.ndarray | None = None) -> np.ndarray:
        if self.mode == "bm25":
            vocab = self._bm25.vocab_dict
            query = [t for t in self._tokens(question) if t in vocab]
            return np.asarray(self._bm25.get_scores(query), dtype=float) if query else np.zeros(len(self.sentences))
        vector = self._assistant.embed(question) if vector is None else vector
        cosine = self.vectors @ vector
        if self.mode == "dense":
            return cosine
        return cosine + self.lam * word_overlap(set(self._tokens(question)), self.sentence_tokens)

    def prepare(self, train: Sequence) -> None:
        """best-sentence: λ maximising train containment (a whole sentence is the answer, so containment
        says whether the right sentence was picked); of equal λ the smallest."""
        if self.mode != "best":
            return
        rows = []
        for q in (q for q in train if q.answerable):
            vector = self._assistant.embed(q.question)
            rows.append((q, self.vectors @ vector, word_overlap(set(self._tokens(q.question)), self.sentence_tokens)))
        best = (-1.0, 0.0)
        for lam in np.round(np.arange(0.0, 2.001, 0.05), 2):
            hits = 0.0
            for q, cosine, lexical in rows:
                top = self.sentences[int(np.argmax(cosine + lam * lexical))]
                a, b = first_words(top.text)
                hits += containment(top.text[a:b], q.answers)
            if hits > best[0]:
                best = (hits, float(lam))
        self.lam = best[1]
        self.description = f"{_DESCRIPTIONS[self.name]} (λ = {self.lam:g})"

    def ask(self, question: str) -> dict:
        if not self.sentences:
            return {"question": question, "answer": None, "abstained": True, "confidence": 0.0, "score": 0.0,
                    "citations": [], "passages": [], "answer_type": "sentence", "reason": "empty index"}
        scores = self.scores(question)
        order = np.argsort(-scores, kind="stable")[:PASSAGES]
        passages = [{"doc_id": s.doc_id, "source": s.source, "chunk_id": f"{s.doc_id}:sentence:{s.start}",
                     "char_start": s.start, "char_end": s.end, "text": s.text, "score": round(float(scores[i]), 4)}
                    for i in order for s in (self.sentences[int(i)],)]
        top = self.sentences[int(order[0])]
        a, b = first_words(top.text)
        return _response(question, float(scores[order[0]]), (top.start + a, top.start + b), top, passages,
                         "sentence")


class RagRecipe:
    """The common RAG recipe: fixed 1,000-character chunks with 200 overlap over each letter's canonical
    text, MiniLM embeddings in faiss.IndexFlatIP, the top chunk; the answer is the chunk's window of
    whole sentences (at most 60 words) most similar to the question. The quote is the top chunk."""

    name = "rag-recipe"
    description = _DESCRIPTIONS["rag-recipe"]

    def __init__(self, assistant: Assistant, size: int = 1000, overlap: int = 200, k: int = PASSAGES):
        import faiss

        self.k = k
        self.calibration = ScoreCalibration()
        self._assistant = assistant
        reader = assistant.reader
        self.chunks: list[dict] = []
        self._sentences: dict[str, list[tuple[int, int]]] = {}
        self._encoded: dict[str, tuple[list[tuple[int, int]], np.ndarray]] = {}
        for doc in reader.documents:
            text = reader.text(doc.doc_id)
            self._sentences[doc.doc_id] = [(s.start, s.end) for s in reader.document_sentences(doc.ordinal)]
            for n, (start, end) in enumerate(char_chunks(text, size, overlap)):
                self.chunks.append({"doc_id": doc.doc_id, "source": doc.source, "title": doc.metadata.title,
                                    "chunk_id": f"{doc.doc_id}:rag:{n}", "char_start": start, "char_end": end,
                                    "text": text[start:end]})
        vectors = assistant.embedder.encode([c["text"] for c in self.chunks]) if self.chunks else np.zeros((0, 1))
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def prepare(self, train: Sequence) -> None:
        pass

    def ask(self, question: str) -> dict:
        vector = self._assistant.embed(question)
        k = min(self.k, len(self.chunks))
        if not k:
            return {"question": question, "answer": None, "abstained": True, "confidence": 0.0, "score": 0.0,
                    "citations": [], "passages": [], "answer_type": "chunk", "reason": "empty index"}
        scores, rows = self.index.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), k)
        hits = [(self.chunks[int(r)], float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]
        passages = [{key: c[key] for key in ("doc_id", "source", "chunk_id", "char_start", "char_end", "text")}
                    | {"score": round(s, 4)} for c, s in hits]
        top = hits[0][0]
        candidates, encoded = self._windows(top)
        similarity = encoded @ vector
        best = int(np.argmax(similarity))
        return _response(question, float(similarity[best]), candidates[best], top, passages, "chunk")

    def _windows(self, chunk: dict) -> tuple[list[tuple[int, int]], np.ndarray]:
        """The chunk's sentence-aligned windows (sentences cut at its edges) and their embeddings,
        computed once per chunk."""
        if chunk["chunk_id"] not in self._encoded:
            start, end = chunk["char_start"], chunk["char_end"]
            text = self._text(chunk)
            spans = [(max(a, start), min(b, end)) for a, b in self._sentences[chunk["doc_id"]] if a < end and b > start]
            spans = [(a, b) for a, b in spans if text[a:b].strip()] or [(start, end)]
            candidates = windows(spans, text)
            with self._assistant._encode_lock:
                encoded = np.asarray(self._assistant.embedder.encode([text[a:b] for a, b in candidates]))
            self._encoded[chunk["chunk_id"]] = (candidates, encoded)
        return self._encoded[chunk["chunk_id"]]

    def _text(self, chunk: dict) -> str:
        return self._assistant.reader.text(chunk["doc_id"])


def make_systems(assistant: Assistant, names: tuple[str, ...] = SYSTEM_NAMES, k: int | None = None) -> list:
    """The named systems over one loaded assistant (baseline tables are built here)."""
    out = []
    for name in names:
        name = ALIASES.get(name, name)
        if name == "rag-recipe":
            out.append(RagRecipe(assistant, k=k or PASSAGES))
        elif name in ("best-sentence", "bm25-sentence", "dense-sentence"):
            out.append(SentenceSystem(name, assistant, name.split("-")[0]))
        elif name in _SETTINGS:
            changes = _SETTINGS[name]
            if name == "full":
                out.append(AssistantSystem(name, _DESCRIPTIONS[name], assistant, k))
            else:  # abstention off: every answer keeps its signals; its own calibration decides
                ablation = assistant.with_settings(**changes, abstain_threshold=0.0)
                out.append(AssistantSystem(name, _DESCRIPTIONS[name], ablation, k,
                                           SignalCalibration(assistant.weights)))
        else:
            raise ValueError(f"unknown system {name!r} (known: {', '.join(SYSTEM_NAMES)})")
    return out


def describe(name: str) -> str:
    return _DESCRIPTIONS[ALIASES.get(name, name)]
