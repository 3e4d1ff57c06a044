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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index.embedding import Embedder
from index.lexical import STOP_WORDS, TOKENIZER_VERSION, tokens, words
from index.settings import Settings
from index.store import DocumentRecord, IndexReader, IndexUnavailable

from .answer_model import AnswerModel
from .candidates import FIELD_KINDS, Candidate, Sentence, relative
from .confidence import signals as confidence_signals
from .features import KINDS, QuestionView, features, focus_tokens, letter_card, letter_card_match, other_subject, overlap
from .letters import Letter, LetterCache
from .names import NameIndex
from .records import Answer, Citation, Passage
from .search import Filters, Hit, HybridSearcher
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 1000
CANDIDATE_PASSAGES = 6
FIELD_LETTERS = 3  # letters whose own parts (sender, date, ...) are candidates
_ACRONYM = re.compile(r"\b[A-Z][A-Za-z&]*[A-Z][A-Za-z]*\b")
# Asked once by warm_up(): a question about a letter's own parts (its signatory) as well as its text, so
# that it runs every stage a real question runs (passages, sentences, field candidates, the models).
WARM_UP_QUESTION = "Who signed the letter, and what does it ask for?"


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
class Considered:
    """Everything the answer model looks at for one question (also what `eval fit` caches and trains on)."""

    view: QuestionView
    hits: list[Hit]
    passages: tuple[Passage, ...]
    candidates: list[Candidate]
    rows: np.ndarray  # features.FEATURES per candidate
    passage_overlap: float
    unknown: float


class Assistant:
    def __init__(self, reader: IndexReader, settings: Settings, embedder: Embedder | None = None,
                 model: AnswerModel | None = None):
        self.reader = reader
        self.settings = settings
        self.embedder = embedder or Embedder.for_settings(settings)
        self.searcher = HybridSearcher(reader, settings)
        self.names = NameIndex(reader.documents, lambda word: self.vocabulary().is_rare(word))
        self.model = model
        self.letters = LetterCache(reader, settings.letter_cache_size)
        self._document_frequency: tuple[dict[str, int], int] | None = None
        self._encode_lock = threading.Lock()
        self._reopen_lock = threading.Lock()
        self._latest: Assistant | None = None  # the assistant over a newer build, once the index changed
        self._follows = True  # False for a view held on one build (pinned())

    @classmethod
    def load(cls, index_dir: Path | str | None = None, settings: Settings | None = None,
             fitting: bool = False) -> "Assistant":
        """Open the index (checking it was built with the configured model) and load the models (the
        answer model from retrieval/answer_model.json; `fitting`: none, only candidates are considered)."""
        settings = settings or Settings.from_env()
        if index_dir is not None:
            settings = settings.replace(index_dir=index_dir)
        model = None if fitting else AnswerModel.load()
        reader = IndexReader.open(settings.index_dir, settings.model)
        try:
            return cls._over(reader, settings, None, model)
        except BaseException:
            reader.close()
            raise

    @classmethod
    def _over(cls, reader: IndexReader, settings: Settings, embedder: Embedder | None,
              model: AnswerModel | None) -> "Assistant":
        if reader.manifest.get("tokenizer_version") != TOKENIZER_VERSION:
            raise IndexUnavailable(f"index at {settings.index_dir} was built by an older version of Letters QA; "
                                   f"update it with: python -m index build --index-dir {settings.index_dir}")
        assistant = cls(reader, settings, embedder, model)
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
                fresh = Assistant._over(reader, self.settings, self.embedder, self.model)
            except IndexUnavailable as exc:
                reader.close()
                log.warning("still answering from %s: %s", latest.reader.build.name, exc)
                return latest
            fresh._encode_lock = self._encode_lock  # one embedder, one lock
            self._latest = fresh
            latest.reader.retire()  # its build can go once the calls still using it finish
            latest.letters.clear()  # and what was read of its letters with it
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

    def warm_up(self) -> None:
        """Ask one question and drop the answer, so that the first real question does not pay for what
        runs once per process: onnxruntime's first run, the letters' structure, entities and sentences
        read from the index, the corpus statistics and the answer model's first pass (0.25 → 0.05 s)."""
        self.ask(WARM_UP_QUESTION)

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

    @property
    def weights(self) -> dict | None:
        """The confidence as a logistic over the raw signals ({"bias": b, signal: w, ...}), for reports
        and for refitting it under other settings (eval/calibrate.py)."""
        if self.model is None:
            return None
        c = self.model.confidence_model
        from .confidence import CONFIDENCE_FEATURES

        raw = c.weights / c.scale
        return {"bias": float(c.bias - raw @ c.mean), **{n: float(w) for n, w in zip(CONFIDENCE_FEATURES, raw)}}

    def consider(self, question: str, filters: Filters | None = None, k: int | None = None) -> Considered:
        """The candidates for a question and their features, before any model scores them."""
        text = check_question(question)
        with self._pinned() as live:
            return live._consider(text, live.embed(text), filters, k or live.settings.k, True)

    def _consider(self, question: str, vector: np.ndarray, filters: Filters | None, k: int,
                  use_names: bool) -> Considered:
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
        chunks = self.reader.chunks([h.row for h in hits[:max(k, CANDIDATE_PASSAGES)]])  # one query for both uses
        passages = self._passages(hits[:k], chunks)
        ignore = set(tokens(" ".join(naming)))
        q_tokens = tuple(t for t in tokens(question) if t not in ignore) or tuple(tokens(question))
        top_letter = int(self.reader.chunk_doc[hits[0].row]) if hits else -1
        view = QuestionView(question, q_tokens, {t: self._idf(t) for t in set(q_tokens)}, named, top_letter,
                            other_subject(question, ignore), focus_tokens(question))
        found = self._sentences(hits[:CANDIDATE_PASSAGES], chunks, vector)
        sentences = [s for s, _ in found]
        candidates = [Candidate(s, *span) for s, spans in found for span in spans]
        candidates += self._acronym_candidates(question, sentences, vector)
        if hits and settings.use_answer_types:
            # the letters the question names, best named first, then the letters of the best passages (a
            # name can match the wrong letter: "...about the building work and Ofsted")
            field_letters = list(dict.fromkeys([*sorted(named, key=lambda o: -named[o]),
                                                *(int(self.reader.chunk_doc[h.row]) for h in hits)]))
            if filters is not None and filters.active:
                field_letters = [o for o in field_letters if filters.admits(self.documents[o])]
            for ordinal in field_letters[:FIELD_LETTERS]:
                candidates += self._field_candidates(ordinal, vector)
        letters = {c.sentence.doc_ordinal for c in candidates}
        structures = {o: self.letters[o].structure for o in letters}
        all_idf = {t: self._idf(t) for t in set(tokens(question))}
        view = replace(view, letter_match={o: letter_card_match(question, self._letter_card(o), all_idf) for o in letters},
                       letter_tokens={o: self.letters[o].tokens for o in letters})
        vocab = self.reader.bm25.vocab_dict
        return Considered(view, hits, passages, candidates, features(view, candidates, structures),
                          overlap(q_tokens, passages[0].text) if passages else 0.0,
                          _unknown_share(question, vocab))

    def _answer(self, question: str, vector: np.ndarray, filters: Filters | None, k: int, use_names: bool) -> Answer:
        considered = self._consider(question, vector, filters, k, use_names)
        passages = considered.passages
        if not considered.candidates:
            reason = "no passage in the letters shares words or meaning with the question" if not considered.hits \
                else "no sentence to quote"
            return Answer(question, None, True, 0.0, (), passages, "other", reason=reason)
        probabilities = self.model.question_model.probabilities(question)
        kind_probabilities = self.model.kind_probabilities(question)
        scores = self.model.score(considered.rows, probabilities, kind_probabilities)
        order = np.argsort(-scores, kind="stable")
        best = considered.candidates[int(order[0])]
        asks_for_this_part = best.kind.startswith("field:") and KINDS[int(np.argmax(kind_probabilities))] == best.kind
        if considered.unknown >= 1.0 and not asks_for_this_part:
            # a logical guard, not a fitted one: none of the question's words occur in the letters, so a
            # span of their text cannot answer it; a part of the letter itself still can when the kind
            # model reads the question as asking for exactly that part ("who signed it?")
            return Answer(question, None, True, 0.0, (), passages, "other",
                          reason="none of the question's words occur in the letters")
        found = confidence_signals(considered.candidates, considered.rows, scores,
                                   dict(zip(self.model.question_model.categories, map(float, probabilities))),
                                   considered.passage_overlap, considered.unknown, kind_probabilities)
        answerable = self.model.answerability(found)
        score = self.model.confidence(found)  # <= answerable: an abstention's confidence is below the threshold
        citations = [self._citation(best, float(scores[order[0]]))]
        seen_docs = {best.sentence.doc_ordinal}
        for i in order[1:]:
            other = considered.candidates[int(i)]
            if len(citations) >= 3 or scores[i] < scores[order[0]] - 1.0:
                break
            if other.sentence.doc_ordinal not in seen_docs:
                citations.append(self._citation(other, float(scores[i])))
                seen_docs.add(other.sentence.doc_ordinal)
        if answerable < self.settings.abstain_threshold:
            return Answer(question, None, True, score, (), passages, best.kind,
                          reason="the letters do not clearly answer this; the closest passages are shown",
                          signals=found)
        return Answer(question, best.text, False, score, tuple(citations), passages, best.kind, signals=found)

    def _letter_card(self, ordinal: int) -> str:
        m = self.documents[ordinal].metadata
        return letter_card((m.sender, m.role, m.organisation, m.recipient, m.subject, m.title))

    def _idf(self, token: str) -> float:
        """log(N / df) of a token over the index's passages (an unseen token counts as once-seen)."""
        if self._document_frequency is None:
            bm25 = self.reader.bm25  # corpus-wide over the live chunks of every segment
            self._document_frequency = (bm25.df, max(1, bm25.n_live))
        df, n = self._document_frequency
        return float(np.log((n + 1) / (df.get(token, 0) + 1)))

    def _sentences(self, hits: list[Hit], chunks: list, vector: np.ndarray) -> list[tuple[Sentence, tuple]]:
        """The sentences of the hits' passages (`chunks`: theirs, in order), each with its candidate spans
        (letters.SentenceParts.spans)."""
        out: dict[int, tuple[Sentence, tuple]] = {}
        sentence_vectors = self.reader.sentence_vectors
        for rank, (chunk, hit) in enumerate(zip(chunks, hits), start=1):
            letter = self.letters[chunk.doc_ordinal]
            rows = letter.sentences_between(chunk.sentence_first, chunk.sentence_last)
            similarities = np.asarray(sentence_vectors[[r.row for r in rows]]) @ vector if rows else []
            for row, similarity in zip(rows, similarities):
                # a sentence split across chunks is still one sentence; keep the best rank it has
                if row.row in out or row.start < chunk.char_start - 1 and row.end <= chunk.char_start:
                    continue
                parts = letter.parts(row)
                out[row.row] = (Sentence(row.row, letter.ordinal, row.start, row.end, parts.text, float(similarity),
                                         rank, float(hit.score), row.boilerplate, parts.previous, parts.following,
                                         parts.expansion, parts.entities, len(letter.text)), parts.spans)
        return list(out.values())

    def _holder(self, letter: Letter, start: int, end: int, vector: np.ndarray) -> Sentence:
        """The stored sentence that holds [start, end) of a letter, or else the line that does."""
        text = letter.text
        row = letter.sentence_holding(start, end)
        if row is not None:
            similarity = float(np.asarray(self.reader.sentence_vectors[row.row]) @ vector)
            a, b, key, boiler = row.start, row.end, row.row, row.boilerplate
        else:
            a = text.rfind("\n", 0, start) + 1
            b = text.find("\n", end)
            b = len(text) if b < 0 else b
            similarity, key, boiler = 0.0, -1 - start - letter.ordinal * 10_000_000, False
        return Sentence(key, letter.ordinal, a, b, text[a:b], similarity, CANDIDATE_PASSAGES + 1, 0.0, boiler,
                        entities=relative(letter.entities, a, b, letter.entity_starts), letter_chars=len(text))

    def _field_candidates(self, ordinal: int, vector: np.ndarray) -> list[Candidate]:
        """The letter's own parts (sender, role, recipient, date, reference, subject) as candidates."""
        letter = self.letters[ordinal]
        out = []
        for name in FIELD_KINDS:
            part = getattr(letter.structure, name)
            if part is None or part.end <= part.start:
                continue
            holder = self._holder(letter, part.start, part.end, vector)
            out.append(Candidate(holder, part.start - holder.start, part.end - holder.start, f"field:{name}"))
        return out

    def _acronym_candidates(self, question: str, sentences: list[Sentence], vector: np.ndarray) -> list[Candidate]:
        """The long forms, where a retrieved letter defines them, of the acronyms the question uses."""
        asked = [w for w in _ACRONYM.findall(question) if sum(c.isupper() for c in w) >= 2]
        if not asked:
            return []
        out = []
        for ordinal in dict.fromkeys(s.doc_ordinal for s in sentences):
            letter = self.letters[ordinal]
            for acronym in asked:
                if acronym in letter.acronyms:
                    start, end = letter.acronyms[acronym]
                    holder = self._holder(letter, start, end, vector)
                    out.append(Candidate(holder, start - holder.start, end - holder.start, "acronym"))
        return out

    def _passages(self, hits: list[Hit], chunks: list) -> tuple[Passage, ...]:
        return tuple(Passage(self.documents[c.doc_ordinal].doc_id, self.documents[c.doc_ordinal].source, c.chunk_id,
                             c.char_start, c.char_end, c.text, h.score, h.row) for c, h in zip(chunks, hits))

    def _citation(self, candidate: Candidate, score: float) -> Citation:
        s = candidate.sentence
        doc = self.documents[s.doc_ordinal]
        return Citation(doc.doc_id, doc.source, doc.metadata.title, s.start, s.end, s.text, score,
                        candidate.doc_start, candidate.doc_end, doc.metadata.sender, doc.metadata.date,
                        doc.page_at(s.start))


def _unknown_share(question: str, vocab) -> float:
    """Share of the question's content words (letter names included) that occur nowhere in the letters."""
    asked = set(tokens(question))
    return sum(1 for t in asked if t not in vocab) / max(1, len(asked))


def _with_letter(answer: Answer, source: str) -> Answer:
    from dataclasses import replace

    return replace(answer, letter=source)
