"""The question-answering API the app, the CLI and the benchmark share.

    assistant = Assistant.load(index_dir)          # model and index load once
    answer = assistant.ask("What grants does the SCF offer?", filters=Filters(...))
    answers = assistant.compare("Who attends Channel panels?")   # one per letter

Safe to call from several threads at once: the index is read-only, SQLite connections are per
thread, and the embedding model's tokenizer is guarded by a lock.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embedding import Embedder
from index.entities import Entity
from index.lexical import STOP_WORDS, TOKENIZER_VERSION, tokens, words
from index.settings import Settings
from index.store import DocumentRecord, IndexReader, IndexUnavailable
from index.structure import LetterStructure, read_structure

from .acronyms import acronym_definitions, expand_acronyms
from .answer_model import AnswerModel
from .candidates import (FIELD_KINDS, Candidate, QuestionView, Sentence, features, overlap, sentence_candidates)
from .names import NameIndex
from .records import Answer, Citation, Passage
from .search import Filters, Hit, HybridSearcher

log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 1000
CANDIDATE_PASSAGES = 6
FIELD_LETTERS = 2  # letters whose own fields (sender, date, ...) are candidates when the question names none
_ACRONYM = re.compile(r"\b[A-Z][A-Za-z&]*[A-Z][A-Za-z]*\b")


class QuestionError(ValueError):
    """A question that cannot be asked as it is; the message tells the user what to do."""


def check_question(question: object) -> str:
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
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
class Considered:
    """Everything the answer model looks at for one question (also what `eval fit` trains on)."""

    view: QuestionView
    hits: list[Hit]
    passages: tuple[Passage, ...]
    candidates: list[Candidate]
    rows: list[list[float]]
    passage_overlap: float
    unknown: float


class Assistant:
    def __init__(self, reader: IndexReader, settings: Settings, embedder: Embedder | None = None,
                 model: AnswerModel | None = None):
        self.reader = reader
        self.settings = settings
        self.embedder = embedder or Embedder(settings.model, settings.batch_size, settings.threads)
        self.searcher = HybridSearcher(reader, settings)
        self.names = NameIndex(reader.documents)
        self.model = model
        self._definitions: dict[int, dict[str, tuple[int, int]]] = {}  # acronyms each letter defines
        self._entities: dict[int, list[Entity]] = {}
        self._structures: dict[int, LetterStructure] = {}
        self._document_frequency: tuple[dict[str, int], int] | None = None
        self._encode_lock = threading.Lock()

    @classmethod
    def load(cls, index_dir: Path | str | None = None, settings: Settings | None = None,
             model: AnswerModel | None = None) -> "Assistant":
        """Open the index (checking it was built with the configured model) and load the models."""
        settings = settings or Settings.from_env()
        if index_dir is not None:
            settings = settings.replace(index_dir=index_dir)
        reader = IndexReader.open(settings.index_dir, settings.model)
        if reader.manifest.get("tokenizer_version") != TOKENIZER_VERSION:
            raise IndexUnavailable(f"index at {settings.index_dir} was built by an older version of Letters QA; "
                                   f"update it with: python -m index build --index-dir {settings.index_dir}")
        assistant = cls(reader, settings, model=model or AnswerModel.load())
        dim = assistant.embedder.dimension
        if dim != reader.manifest.get("dimension"):
            raise IndexUnavailable(f"index has dimension {reader.manifest.get('dimension')} but the model gives {dim}; "
                                   f"rebuild it with: python -m index build --rebuild --index-dir {settings.index_dir}")
        reader.dense, reader.bm25  # load both search structures now, not on the first question
        return assistant

    def with_settings(self, **changes) -> "Assistant":
        """The same loaded index and model under other settings (for ablations and baselines)."""
        clone = Assistant.__new__(Assistant)
        clone.__dict__.update(self.__dict__)
        clone.settings = self.settings.replace(**changes)
        clone.searcher = HybridSearcher(self.reader, clone.settings)
        return clone

    @property
    def documents(self) -> list[DocumentRecord]:
        return self.reader.documents

    def text(self, source: str) -> str:
        """The canonical text of a letter, by source or doc id."""
        return self.reader.text(source)

    def embed(self, question: str) -> np.ndarray:
        with self._encode_lock:
            return self.embedder.encode_query(question)

    # --- public API -----------------------------------------------------------------------------
    def ask(self, question: str, filters: Filters | None = None, k: int | None = None) -> Answer:
        text = check_question(question)
        self._check_language(text)
        return self._answer(text, self.embed(text), filters, k or self.settings.k, use_names=True)

    def compare(self, question: str, filters: Filters | None = None, max_letters: int = 25) -> list[Answer]:
        """One answer (or abstention) per letter, best answered first."""
        text = check_question(question)
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

    def consider(self, question: str, filters: Filters | None = None, k: int | None = None,
                 kind_prior: dict[str, float] | None = None) -> Considered:
        """The candidates and their features for a question, before any model scores them."""
        text = check_question(question)
        return self._consider(text, self.embed(text), filters, k or self.settings.k, True, kind_prior)

    def candidates_at(self, source: str, start: int, end: int) -> list[Candidate]:
        """The candidates of the sentences overlapping [start, end) of a letter, and the letter's own
        fields (for finding what kind of span a gold answer is)."""
        doc = self.reader.by_source[source]
        vector = np.zeros(self.reader.sentence_vectors.shape[1], np.float32)
        out = []
        for row in self.reader.document_sentences(doc.ordinal):
            if row.start < end and start < row.end:
                out += sentence_candidates(self._holder(doc.ordinal, row.start, row.end, vector))
        return out + self._field_candidates(doc.ordinal, vector)

    # --- internals ------------------------------------------------------------------------------
    def _check_language(self, text: str) -> None:
        """Gibberish or another language: no English function word and no word the letters use."""
        found = words(text)
        vocab = self.reader.bm25.vocab_dict
        if any(w in STOP_WORDS for w in found) or any(t in vocab for t in tokens(text)):
            return
        raise QuestionError("the question does not look like English words the letters use; "
                            "please ask in English, e.g. 'What did West Yorkshire say about training?'")

    def _consider(self, question: str, vector: np.ndarray, filters: Filters | None, k: int, use_names: bool,
                  kind_prior: dict[str, float] | None = None) -> Considered:
        settings = self.settings
        named: dict[int, float] = {}
        naming: list[str] = []
        if use_names and settings.use_name_matching:
            allowed = None if filters is None or not filters.active else \
                {d.ordinal for d in self.documents if filters.admits(d)}
            matches = self.names.matches(question, allowed)
            named = NameIndex.weights_of(matches)
            naming = [phrase for phrase, _, _ in matches]
        hits = self.searcher.search(question, vector, max(k, CANDIDATE_PASSAGES), filters,
                                    {o: settings.name_boost * w for o, w in named.items()}, arms=settings.arms)
        passages = self._passages(hits[:k])
        ignore = set(tokens(" ".join(naming)))
        q_tokens = tuple(t for t in tokens(question) if t not in ignore) or tuple(tokens(question))
        if kind_prior is None:
            kind_prior = self.model.kind_prior(question) if settings.use_answer_types and self.model else {}
        idf = {t: self._idf(t) for t in set(q_tokens)}
        view = QuestionView(question, q_tokens, kind_prior, named, _other_subject(question, ignore), idf)
        sentences = self._sentences(hits[:CANDIDATE_PASSAGES], vector)
        candidates = [c for s in sentences for c in sentence_candidates(s)]
        candidates += self._acronym_candidates(question, sentences, vector)
        field_letters = list(named) or list(dict.fromkeys(int(self.reader.chunk_doc[h.row]) for h in hits))[:FIELD_LETTERS]
        if filters is not None and filters.active:
            field_letters = [o for o in field_letters if filters.admits(self.documents[o])]
        for ordinal in field_letters[:FIELD_LETTERS + 1]:
            candidates += self._field_candidates(ordinal, vector)
        vocab = self.reader.bm25.vocab_dict
        return Considered(view, hits, passages, candidates, features(view, candidates),
                          overlap(q_tokens, passages[0].text) if passages else 0.0,
                          sum(1 for t in set(q_tokens) if t not in vocab) / max(1, len(set(q_tokens))))

    def _answer(self, question: str, vector: np.ndarray, filters: Filters | None, k: int, use_names: bool) -> Answer:
        considered = self._consider(question, vector, filters, k, use_names)
        passages = considered.passages
        if not considered.candidates:
            reason = "no passage in the letters shares words or meaning with the question" if not considered.hits \
                else "no sentence to quote"
            return Answer(question, None, True, 0.0, (), passages, "other", reason=reason)
        scores = self.model.rank(considered.rows)
        order = np.argsort(-scores, kind="stable")
        best = considered.candidates[int(order[0])]
        signals = confidence_signals(considered, scores, order)
        score = self.model.confidence(signals)
        citations = [self._citation(best, float(scores[order[0]]))]
        seen_docs = {best.sentence.doc_ordinal}
        for i in order[1:]:
            other = considered.candidates[int(i)]
            if len(citations) >= 3 or scores[i] < scores[order[0]] - 1.0:
                break
            if other.sentence.doc_ordinal not in seen_docs:
                citations.append(self._citation(other, float(scores[i])))
                seen_docs.add(other.sentence.doc_ordinal)
        if score < self.model.threshold:
            return Answer(question, None, True, score, (), passages, best.kind,
                          reason="the letters do not clearly answer this; the closest passages are shown",
                          signals=signals)
        return Answer(question, best.text, False, score, tuple(citations), passages, best.kind, signals=signals)

    def _idf(self, token: str) -> float:
        """log(N / df) of a token over the index's passages (an unseen token counts as once-seen)."""
        if self._document_frequency is None:
            bm25 = self.reader.bm25
            indptr = np.asarray(bm25.scores["indptr"])
            counts = np.diff(indptr)
            self._document_frequency = ({t: int(counts[i]) for t, i in bm25.vocab_dict.items() if i < len(counts)},
                                        max(1, int(bm25.scores["num_docs"])))
        df, n = self._document_frequency
        return float(np.log((n + 1) / (df.get(token, 0) + 1)))

    def _doc_entities(self, ordinal: int) -> list[Entity]:
        found = self._entities.get(ordinal)
        if found is None:  # a race computes the same value twice, harmlessly
            found = self.reader.entities(ordinal)
            self._entities[ordinal] = found
        return found

    def _structure(self, ordinal: int) -> LetterStructure:
        found = self._structures.get(ordinal)
        if found is None:
            doc = self.documents[ordinal]
            found = read_structure(self.reader.text(doc.doc_id), self._doc_entities(ordinal))
            self._structures[ordinal] = found
        return found

    def _sentences(self, hits: list[Hit], vector: np.ndarray) -> list[Sentence]:
        chunks = self.reader.chunks([h.row for h in hits])
        texts: dict[int, str] = {}
        definitions: dict[int, dict[str, str]] = {}
        out: dict[int, Sentence] = {}
        sentence_vectors = self.reader.sentence_vectors
        for rank, (chunk, hit) in enumerate(zip(chunks, hits), start=1):
            ordinal = chunk.doc_ordinal
            doc = self.documents[ordinal]
            text = texts.setdefault(ordinal, self.reader.text(doc.doc_id))
            if ordinal not in definitions:
                definitions[ordinal] = {k: text[a:b] for k, (a, b) in self._acronyms(ordinal, text).items()}
            rows = self.reader.sentences(max(0, chunk.sentence_first - 1), chunk.sentence_last)
            previous = {r.row + 1: text[r.start:r.end] for r in rows if r.doc_ordinal == ordinal}
            rows = [r for r in rows if r.row >= chunk.sentence_first]
            similarities = np.asarray(sentence_vectors[[r.row for r in rows]]) @ vector if rows else []
            entities = self._doc_entities(ordinal)
            for row, similarity in zip(rows, similarities):
                # a sentence split across chunks is still one sentence; keep the best rank it has
                if row.row in out or row.start < chunk.char_start - 1 and row.end <= chunk.char_start:
                    continue
                sentence_text = text[row.start:row.end]
                out[row.row] = Sentence(row.row, ordinal, row.start, row.end, sentence_text, float(similarity), rank,
                                        float(hit.score), row.boilerplate, previous.get(row.row, ""),
                                        expand_acronyms(sentence_text, definitions[ordinal]),
                                        _relative(entities, row.start, row.end))
        return list(out.values())

    def _holder(self, ordinal: int, start: int, end: int, vector: np.ndarray) -> Sentence:
        """The stored sentence that holds [start, end), or the line that does."""
        text = self.reader.text(self.documents[ordinal].doc_id)
        row = next((s for s in self.reader.document_sentences(ordinal) if s.start <= start and end <= s.end), None)
        if row is not None:
            similarity = float(np.asarray(self.reader.sentence_vectors[row.row]) @ vector)
            a, b, key, boiler = row.start, row.end, row.row, row.boilerplate
        else:
            a = text.rfind("\n", 0, start) + 1
            b = text.find("\n", end)
            b = len(text) if b < 0 else b
            similarity, key, boiler = 0.0, -1 - start - ordinal * 10_000_000, False
        return Sentence(key, ordinal, a, b, text[a:b], similarity, CANDIDATE_PASSAGES + 1, 0.0, boiler,
                        entities=_relative(self._doc_entities(ordinal), a, b))

    def _field_candidates(self, ordinal: int, vector: np.ndarray) -> list[Candidate]:
        structure = self._structure(ordinal)
        out = []
        for name in FIELD_KINDS:
            part = getattr(structure, name)
            if part is None:
                continue
            holder = self._holder(ordinal, part.start, part.end, vector)
            out.append(Candidate(holder, part.start - holder.start, part.end - holder.start, f"field:{name}"))
        return out

    def _acronym_candidates(self, question: str, sentences: list[Sentence], vector: np.ndarray) -> list[Candidate]:
        asked = [w for w in _ACRONYM.findall(question) if sum(c.isupper() for c in w) >= 2]
        if not asked:
            return []
        out = []
        for ordinal in dict.fromkeys(s.doc_ordinal for s in sentences):
            text = self.reader.text(self.documents[ordinal].doc_id)
            definitions = self._acronyms(ordinal, text)
            for acronym in asked:
                if acronym in definitions:
                    start, end = definitions[acronym]
                    holder = self._holder(ordinal, start, end, vector)
                    out.append(Candidate(holder, start - holder.start, end - holder.start, "acronym"))
        return out

    def _passages(self, hits: list[Hit]) -> tuple[Passage, ...]:
        chunks = self.reader.chunks([h.row for h in hits])  # one query for all of them
        return tuple(Passage(self.documents[c.doc_ordinal].doc_id, self.documents[c.doc_ordinal].source, c.chunk_id,
                             c.char_start, c.char_end, c.text, h.score, h.row) for c, h in zip(chunks, hits))

    def _citation(self, candidate: Candidate, score: float) -> Citation:
        s = candidate.sentence
        doc = self.documents[s.doc_ordinal]
        return Citation(doc.doc_id, doc.source, doc.metadata.title, s.start, s.end, s.text, score,
                        candidate.doc_start, candidate.doc_end, doc.metadata.sender, doc.metadata.date,
                        doc.page_at(s.start))

    def _acronyms(self, ordinal: int, text: str) -> dict[str, tuple[int, int]]:
        """The acronyms a letter defines, with the offsets of their long forms (found once per letter)."""
        found = self._definitions.get(ordinal)
        if found is None:  # a race computes the same value twice, harmlessly
            found = acronym_definitions(text)
            self._definitions[ordinal] = found
        return found


def confidence_signals(considered: Considered, scores: np.ndarray, order: np.ndarray) -> dict[str, float]:
    """What the confidence model reads: how far the best candidate stands above the best rival that
    says something else, and how well the question is covered at all."""
    best = considered.candidates[int(order[0])]
    rival = next((scores[i] for i in order[1:] if not _same_answer(considered.candidates[int(i)], best)), scores[order[0]] - 5)
    row = considered.rows[int(order[0])]
    return {
        "top_score": float(scores[order[0]]),
        "margin": float(scores[order[0]] - rival),
        "sentence_similarity": best.sentence.similarity,
        "lexical": row[5],
        "passage_overlap": considered.passage_overlap,
        "unknown": considered.unknown,
        "kind_prior": row[0],
        "is_field": float(best.kind.startswith("field:")),
    }


def _same_answer(a: Candidate, b: Candidate) -> bool:
    """Two candidates that give the same answer: overlapping spans of one letter, or the same words."""
    if a.sentence.doc_ordinal == b.sentence.doc_ordinal and a.doc_start < b.doc_end and b.doc_start < a.doc_end:
        return True
    return " ".join(a.text.lower().split()) == " ".join(b.text.lower().split())


def _relative(entities: list[Entity], start: int, end: int) -> tuple[Entity, ...]:
    return tuple(Entity(e.start - start, e.end - start, e.kind, e.label) for e in entities
                 if start <= e.start and e.end <= end)


def _other_subject(question: str, naming_tokens: set[str]) -> float:
    """Share of the question's proper names (capitalised words after the first, acronyms) that do not
    name a letter: "Who wrote the HMICFRS report?" asks about someone other than the letter's writer."""
    found = re.findall(r"(?<!^)(?<![.?!]\s)\b[A-Z][A-Za-z'’-]+", question.strip())
    proper = [t for w in found for t in tokens(w)]
    if not proper:
        return 0.0
    return sum(1 for t in proper if t not in naming_tokens) / len(proper)


def _with_letter(answer: Answer, source: str) -> Answer:
    from dataclasses import replace

    return replace(answer, letter=source)
