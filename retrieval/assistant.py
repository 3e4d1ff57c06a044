"""The question-answering API the app, the CLI and the benchmark share.

    assistant = Assistant.load(index_dir)          # model and index load once
    answer = assistant.ask("What grants does the SCF offer?", filters=Filters(...))
    answers = assistant.compare("Who attends Channel panels?")   # one per letter

Safe to call from several threads at once: the index is read-only, SQLite connections are per
thread, and the embedding model's tokenizer is guarded by a lock. An Assistant outlives rebuilds: a
call that finds the index rebuilt opens the new build once (`current()`), and each call answers from
one build, which stays on disk until the calls using it finish (index/store.py: leases).
"""
from __future__ import annotations

import functools
import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embedding import Embedder
from index.lexical import STOP_WORDS, TOKENIZER_VERSION, tokens, words
from index.settings import Settings
from index.store import DocumentRecord, IndexReader, IndexUnavailable

from .extraction import (ConfidenceFeatures, SentenceEvidence, acronym_definitions, clip_words, confidence,
                         expand_acronyms, letter_field, locate_field, overlap, question_type, score_sentences,
                         tighten)
from .names import NameIndex
from .records import Answer, Citation, Passage
from .search import Filters, Hit, HybridSearcher
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 1000
CANDIDATE_PASSAGES = 6


class QuestionError(ValueError):
    """A question that cannot be asked as it is; the message tells the user what to do."""


def check_question(question: object) -> str:
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in question):  # a byte that was not UTF-8, or half a \ud83d pair
        raise QuestionError("the question contains a character that is not valid text (a bad byte or a lone "
                            "surrogate); retype it")
    text = " ".join(question.split())
    if not text:
        raise QuestionError("the question is empty; type a question about the letters")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(text):,} characters long; please keep it under "
                            f"{MAX_QUESTION_CHARS:,} (one question at a time)")
    if not re.search(r"[A-Za-z]{2,}", text):
        raise QuestionError("the question has no words in it; ask something like 'Who signed the letter?'")
    return text


@dataclass(frozen=True)
class _Candidate:
    evidence: SentenceEvidence
    name_weight: float


class Assistant:
    def __init__(self, reader: IndexReader, settings: Settings, embedder: Embedder | None = None,
                 weights: dict | None = None):
        self.reader = reader
        self.settings = settings
        self.embedder = embedder or Embedder.for_settings(settings)
        self.searcher = HybridSearcher(reader, settings)
        self.names = NameIndex(reader.documents)
        self._sender_tokens = [set(tokens(d.metadata.sender or "")) for d in reader.documents]
        self._role_tokens = [set(tokens(d.metadata.role or "")) for d in reader.documents]
        self._definitions: dict[int, dict[str, tuple[int, int]]] = {}  # acronyms each letter defines
        self.weights = weights
        self._encode_lock = threading.Lock()
        self._reopen_lock = threading.Lock()
        self._latest: Assistant | None = None  # the assistant over a newer build, once the index changed
        self._follows = True  # False for a view held on one build (pinned())

    @classmethod
    def load(cls, index_dir: Path | str | None = None, settings: Settings | None = None) -> "Assistant":
        """Open the index (checking it was built with the configured model) and load the model."""
        settings = settings or Settings.from_env()
        if index_dir is not None:
            settings = settings.replace(index_dir=index_dir)
        from .calibration import load_weights

        reader = IndexReader.open(settings.index_dir, settings.model)
        try:
            return cls._over(reader, settings, None, load_weights())
        except BaseException:
            reader.close()
            raise

    @classmethod
    def _over(cls, reader: IndexReader, settings: Settings, embedder: Embedder | None,
              weights: dict | None) -> "Assistant":
        if reader.manifest.get("tokenizer_version") != TOKENIZER_VERSION:
            raise IndexUnavailable(f"index at {settings.index_dir} was built by an older version of Letters QA; "
                                   f"update it with: python -m index build --index-dir {settings.index_dir}")
        assistant = cls(reader, settings, embedder, weights)
        dim = assistant.embedder.dimension
        if dim != reader.manifest.get("dimension"):
            raise IndexUnavailable(f"index has dimension {reader.manifest.get('dimension')} but the model gives {dim}; "
                                   f"rebuild it with: python -m index build --rebuild --index-dir {settings.index_dir}")
        reader.dense, reader.bm25  # load both search structures now, not on the first question
        return assistant

    def current(self) -> "Assistant":
        """This assistant while its build is the index's current one; after a rebuild, an assistant over
        the new build (opened once, then shared by later calls). If the new build cannot be opened, the
        build already open keeps answering."""
        latest = self._latest or self
        if not self._follows or latest.reader.is_current():
            return latest
        with self._reopen_lock:
            latest = self._latest or self
            if latest.reader.is_current():
                return latest
            try:
                reader = IndexReader.open(self.settings.index_dir, self.settings.model)
            except IndexUnavailable as exc:
                log.warning("still answering from %s: %s", latest.reader.build.name, exc)
                return latest
            try:
                fresh = Assistant._over(reader, self.settings, self.embedder, self.weights)
            except IndexUnavailable as exc:
                reader.close()
                log.warning("still answering from %s: %s", latest.reader.build.name, exc)
                return latest
            fresh._encode_lock = self._encode_lock  # one embedder, one lock
            self._latest = fresh
            latest.reader.retire()  # its build can go once the calls still using it finish
            return fresh

    @contextmanager
    def pinned(self):
        """An assistant held on the current build for several calls (e.g. answers and the source
        viewer of one page from the same build); the build stays on disk until the block ends."""
        with self._pinned() as live:
            view = Assistant.__new__(Assistant)
            view.__dict__.update(live.__dict__)
            view._follows = False
            yield view

    @contextmanager
    def _pinned(self):
        """The assistant over the current build, its build kept on disk for the duration of the call."""
        if not self._follows:  # a pinned() view: the block that made it holds the build
            yield self
            return
        for _ in range(100):
            live = self.current()
            if live.reader.pin():
                try:
                    yield live
                finally:
                    live.reader.unpin()
                return
        raise IndexUnavailable(f"the index at {self.settings.index_dir} kept changing; try again")

    def with_settings(self, **changes) -> "Assistant":
        """The same loaded index and model under other settings (for ablations and baselines)."""
        clone = Assistant.__new__(Assistant)
        clone.__dict__.update(self.__dict__)
        clone.settings = self.settings.replace(**changes)
        clone.searcher = HybridSearcher(self.reader, clone.settings)
        clone._reopen_lock = threading.Lock()
        clone._latest = None  # a clone reopens under its own settings
        return clone

    @property
    def documents(self) -> list[DocumentRecord]:
        return self.reader.documents

    def text(self, doc_id_or_source: str) -> str:
        """A letter's canonical text (raises KeyError for a letter not in the index)."""
        return self.reader.text(doc_id_or_source)

    def document(self, source: str) -> DocumentRecord | None:
        """The indexed letter with this source (file name relative to the corpus), if any."""
        return self.reader.by_source.get(source)

    @functools.cached_property
    def _vocabulary(self) -> Vocabulary:
        return Vocabulary.of(self.reader.text(d.source) for d in self.reader.documents)

    def vocabulary(self) -> Vocabulary:
        """In how many letters each word occurs (computed once per build, on first use)."""
        return self._vocabulary

    @staticmethod
    def question_kind(question: str) -> str:
        """The kind of answer a question asks for: "date", "amount", "name", … ("description" for none)."""
        return question_type(question)

    def embed(self, question: str) -> np.ndarray:
        with self._encode_lock:
            return self.embedder.encode_query(question)

    # --- public API -----------------------------------------------------------------------------
    def ask(self, question: str, filters: Filters | None = None, k: int | None = None) -> Answer:
        text = check_question(question)
        with self._pinned() as live:
            live._check_language(text)
            return live._answer(text, live.embed(text), filters, k or live.settings.k, use_names=True)

    def compare(self, question: str, filters: Filters | None = None, max_letters: int = 25) -> list[Answer]:
        """One answer (or abstention) per letter, best answered first."""
        text = check_question(question)
        with self._pinned() as live:
            return live._compare(text, filters, max_letters)

    def _compare(self, text: str, filters: Filters | None, max_letters: int) -> list[Answer]:
        self._check_language(text)
        vector = self.embed(text)
        letters = [d for d in self.documents if filters is None or filters.admits(d)]
        if len(letters) > max_letters:
            hits = self.searcher.search(text, vector, max_letters * 8, filters)
            wanted = list(dict.fromkeys(int(self.reader.chunk_doc[h.row]) for h in hits))[:max_letters]
            letters = [self.documents[o] for o in wanted]
        answers = []
        for doc in letters:
            answer = self._answer(text, vector, Filters(sources=(doc.source,)), self.settings.k, use_names=False)
            answers.append(_with_letter(answer, doc.source))
        return sorted(answers, key=lambda a: (a.abstained, -a.confidence))

    # --- internals ------------------------------------------------------------------------------
    def _check_language(self, text: str) -> None:
        """Gibberish or another language: no English function word and no word the letters use."""
        found = words(text)
        vocab = self.reader.bm25.vocab_dict
        if any(w in STOP_WORDS for w in found) or any(t in vocab for t in tokens(text)):
            return
        raise QuestionError("the question does not look like English words the letters use; "
                            "please ask in English, e.g. 'What did West Yorkshire say about training?'")

    def _answer(self, question: str, vector: np.ndarray, filters: Filters | None, k: int, use_names: bool) -> Answer:
        settings = self.settings
        kind = question_type(question)
        boosts: dict[int, float] = {}
        if use_names and settings.use_name_matching:
            allowed = None if filters is None or not filters.active else \
                {d.ordinal for d in self.documents if filters.admits(d)}
            named = self.names.matches(question, allowed)
            boosts = NameIndex.weights_of(named)
            naming = [phrase for phrase, _, _ in named]
        else:
            naming = []
        hits = self.searcher.search(question, vector, max(k, CANDIDATE_PASSAGES), filters,
                                    {o: settings.name_boost * w for o, w in boosts.items()},
                                    arms=settings.arms)
        passages = self._passages(hits[:k])
        if not hits:
            return Answer(question, None, True, 0.0, (), passages, kind,
                          reason="no passage in the letters shares words or meaning with the question")

        field = self._letter_field(question, naming) if settings.use_answer_types else None
        if field:
            doc = self.documents[max(boosts, key=boosts.get)] if boosts else \
                self.documents[int(self.reader.chunk_doc[hits[0].row])]
            found = self._letter_field_answer(question, field, doc, passages)
            if found is not None:
                return found

        spelled_out = self._acronym_answer(question, hits, passages)
        if spelled_out is not None:
            return spelled_out

        ignore = tokens(" ".join(naming))
        candidates = self._candidates(hits[:CANDIDATE_PASSAGES], vector, boosts)
        scored = score_sentences(question, kind, [c.evidence for c in candidates], settings.use_answer_types, ignore)
        if not scored:
            return Answer(question, None, True, 0.0, (), passages, kind, reason="no sentence to quote")
        weight_of = {c.evidence.key: c.name_weight for c in candidates}
        scored.sort(key=lambda s: -(s.score + 0.2 * weight_of[s.evidence.key]))
        best = scored[0]
        q_tokens = [t for t in tokens(question) if t not in set(ignore)] or tokens(question)
        typed_question = settings.use_answer_types and kind not in ("description", "reason")
        vocab = self.reader.bm25.vocab_dict
        features = ConfidenceFeatures(
            similarity=best.evidence.similarity,
            sentence_overlap=best.lexical,
            passage_overlap=overlap(q_tokens, passages[0].text) if passages else 0.0,
            typed=best.typed,
            type_missing=typed_question and not best.typed,
            unknown=sum(1 for t in set(q_tokens) if t not in vocab) / max(1, len(set(q_tokens))),
        )
        score = confidence(features, self.weights)
        citations = [self._citation(best.evidence, question, kind, best.score)]
        seen_docs = {best.evidence.doc_ordinal}
        for other in scored[1:]:
            if len(citations) >= 3:
                break
            if other.evidence.doc_ordinal not in seen_docs and other.evidence.similarity >= 0.45 \
                    and other.score >= best.score - 0.2:
                citations.append(self._citation(other.evidence, question, kind, other.score))
                seen_docs.add(other.evidence.doc_ordinal)
        if score < settings.abstain_threshold:
            return Answer(question, None, True, score, (), passages, kind,
                          reason="the letters do not clearly answer this; the closest passages are shown",
                          signals=features.as_dict())
        top = citations[0]
        answer_text = self.reader.text(top.doc_id)[top.answer_start:top.answer_end]
        return Answer(question, answer_text, False, score, tuple(citations), passages, kind,
                      signals=features.as_dict())

    def _candidates(self, hits: list[Hit], vector: np.ndarray, boosts: dict[int, float]) -> list[_Candidate]:
        chunks = self.reader.chunks([h.row for h in hits])
        texts: dict[int, str] = {}
        definitions: dict[int, dict[str, str]] = {}
        out: dict[int, _Candidate] = {}
        sentence_vectors = self.reader.sentence_vectors
        for rank, chunk in enumerate(chunks, start=1):
            doc = self.documents[chunk.doc_ordinal]
            text = texts.setdefault(chunk.doc_ordinal, self.reader.text(doc.doc_id))
            if chunk.doc_ordinal not in definitions:
                definitions[chunk.doc_ordinal] = {k: text[a:b] for k, (a, b) in
                                                  self._acronyms(chunk.doc_ordinal, text).items()}
            rows = self.reader.sentences(max(0, chunk.sentence_first - 1), chunk.sentence_last)
            previous = {r.row + 1: text[r.start:r.end] for r in rows if r.doc_ordinal == chunk.doc_ordinal}
            rows = [r for r in rows if r.row >= chunk.sentence_first]
            similarities = np.asarray(sentence_vectors[[r.row for r in rows]]) @ vector if rows else []
            for row, similarity in zip(rows, similarities):
                # a sentence split across chunks is still one sentence; keep the best rank it has
                if row.row in out or row.start < chunk.char_start - 1 and row.end <= chunk.char_start:
                    continue
                out[row.row] = _Candidate(SentenceEvidence(row.row, row.doc_ordinal, row.start, row.end,
                                                           text[row.start:row.end], float(similarity), rank,
                                                           row.boilerplate, previous.get(row.row, ""),
                                                           expand_acronyms(text[row.start:row.end],
                                                                           definitions[chunk.doc_ordinal])),
                                          boosts.get(row.doc_ordinal, 0.0))
        return list(out.values())

    def _passages(self, hits: list[Hit]) -> tuple[Passage, ...]:
        chunks = self.reader.chunks([h.row for h in hits])  # one query for all of them
        return tuple(Passage(self.documents[c.doc_ordinal].doc_id, self.documents[c.doc_ordinal].source, c.chunk_id,
                             c.char_start, c.char_end, c.text, h.score, h.row) for c, h in zip(chunks, hits))

    def _citation(self, evidence: SentenceEvidence, question: str, kind: str, score: float) -> Citation:
        doc = self.documents[evidence.doc_ordinal]
        start, end = tighten(evidence.text, kind, question, self.settings.use_answer_types)
        start, end = clip_words(evidence.text, start, end)
        return Citation(doc.doc_id, doc.source, doc.metadata.title, evidence.start, evidence.end, evidence.text,
                        score, evidence.start + start, evidence.start + end, doc.metadata.sender,
                        doc.metadata.date, doc.page_at(evidence.start))

    def _acronyms(self, ordinal: int, text: str) -> dict[str, tuple[int, int]]:
        """The acronyms a letter defines, with the offsets of their long forms (found once per letter)."""
        found = self._definitions.get(ordinal)
        if found is None:  # a race computes the same value twice, harmlessly
            found = acronym_definitions(text)
            self._definitions[ordinal] = found
        return found

    def _acronym_answer(self, question: str, hits: list[Hit], passages: tuple[Passage, ...]) -> Answer | None:
        """ "What does CTPNE stand for?": the long form where a letter defines the acronym."""
        if not re.search(r"\b(stands?|short) for\b|\babbreviat|\bacronym\b|\bfull name\b|\bspelt out\b|\bspelled out\b",
                         question, re.I):
            return None
        asked = [w for w in re.findall(r"\b[A-Z][A-Za-z]*[A-Z][A-Za-z]*\b", question) if sum(c.isupper() for c in w) >= 2]
        for ordinal in dict.fromkeys(int(self.reader.chunk_doc[h.row]) for h in hits):
            doc = self.documents[ordinal]
            text = self.reader.text(doc.doc_id)
            definitions = self._acronyms(ordinal, text)
            for acronym in asked:
                if acronym in definitions:
                    return self._span_answer(question, doc, text, definitions[acronym], passages, "acronym")
        return None

    def _span_answer(self, question: str, doc: DocumentRecord, text: str, span: tuple[int, int],
                     passages: tuple[Passage, ...], kind: str) -> Answer:
        """An answer read directly off a letter: the span, quoted with the sentence that holds it."""
        start, end = span
        holder = next((s for s in self.reader.document_sentences(doc.ordinal) if s.start <= start and end <= s.end),
                      None)
        quote_start, quote_end = (holder.start, holder.end) if holder else (start, end)
        citation = Citation(doc.doc_id, doc.source, doc.metadata.title, quote_start, quote_end,
                            text[quote_start:quote_end], 1.0, start, end, doc.metadata.sender, doc.metadata.date,
                            doc.page_at(start))
        return Answer(question, text[start:end], False, 0.9, (citation,), passages, kind)

    def _letter_field(self, question: str, naming: list[str]) -> str | None:
        """A letter-level field the question asks for: explicit ("who signed…"), a named sender's
        role ("what is Beverley Hughes' job title?"), or the holder of a named role ("who is the
        Police and Crime Commissioner for West Yorkshire?")."""
        field = letter_field(question)
        if field or not naming:
            return field
        named = tokens(" ".join(naming))
        if re.search(r"\b(job|title|role|position|post)\b", question, re.I) and any(
                set(named) <= sender for sender in self._sender_tokens):
            return "role"
        holder = re.match(r"^\s*who(?:'s|’s| is| was)\s+(?:the\s+)?(.+?)\s*\??\s*$", question, re.I)
        if holder:
            asked = set(tokens(holder.group(1)))
            if asked and any(asked <= role for role in self._role_tokens):
                return "sender"
        return None

    def _letter_field_answer(self, question: str, field: str, doc: DocumentRecord,
                             passages: tuple[Passage, ...]) -> Answer | None:
        """Answer "who wrote / to whom / when was it sent / what reference" from the letter's own
        signature, salutation, date line or reference line, located in its text."""
        text = self.reader.text(doc.doc_id)
        span = locate_field(text, field, doc.metadata)
        return None if span is None else self._span_answer(question, doc, text, span, passages, f"letter:{field}")


def _with_letter(answer: Answer, source: str) -> Answer:
    from dataclasses import replace

    return replace(answer, letter=source)
