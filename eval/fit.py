"""Fitting the answer model: ``python -m eval fit [--write]``.

Everything is learned from the benchmark's **train** letters; hyper-parameters and the abstention
threshold are chosen on the **dev** letters; the test letters are never read here.

1. Each train question's gold answer is matched to the candidates of its gold sentence (and the
   fields of its letter) to find what *kind* of span answers it (a person entity, a date, a clause,
   the letter's signatory, ...). A multinomial logistic regression over the question's words learns
   that kind from the question (`QuestionModel`).
2. Every candidate the assistant considers for a train question is labelled by whether it is a tight
   correct answer; a logistic ranker over the shared feature vector learns to put those first. The
   kind prior it sees on train questions is cross-validated, so it learns how far to trust the prior
   on questions the question model has not seen.
3. A logistic confidence over the best candidate's signals learns P(answer correct) on train; the
   threshold that gives the most right decisions (answer when right, abstain otherwise) on dev is kept.
"""
from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from eval.metrics import tight_correct
from eval.questions import Question
from retrieval.answer_model import (CONFIDENCE_FEATURES, SENTENCE_COLUMNS, SPAN_COLUMNS, AnswerModel, Linear,
                                    QuestionModel, question_terms)
from retrieval.candidates import FEATURES, KINDS, SENTENCE_FEATURES, SPAN_FEATURES, unit_of

C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
FOLDS = 5


@dataclass
class Seen:
    question: Question
    candidates: list
    rows: np.ndarray
    labels: np.ndarray
    passage_overlap: float
    unknown: float


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def answer_kind(assistant, q: Question) -> str | None:
    """The kind of span that answers a gold question: a field of the letter when one is a tight correct
    answer, else the shortest tight correct candidate of the gold sentence; None when none is."""
    best = None
    for candidate in assistant.candidates_at(q.source, q.char_start, q.char_end):
        if tight_correct(candidate.text, q.answers):
            rank = (not candidate.kind.startswith("field:"), len(candidate.text))
            if best is None or rank < best[0]:
                best = (rank, candidate.kind)
    return best[1] if best else None


def fit_question_model(questions: Sequence[Question], kinds: dict[str, str], c: float) -> QuestionModel:
    """Categories from every question's words (answerable or not); kinds per category counted on the
    answerable ones, with add-half smoothing so that no kind is ruled out."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer()
    X = vectorizer.fit_transform([{t: 1.0 for t in question_terms(q.question)} for q in questions])
    model = LogisticRegression(C=c, max_iter=3000)
    model.fit(X, [q.category for q in questions])
    categories = tuple(model.classes_)
    counts = np.full((len(categories), len(KINDS)), 0.5 / len(KINDS))
    for q in questions:
        if kinds.get(q.id):
            counts[categories.index(q.category), KINDS.index(kinds[q.id])] += 1
    table = counts / counts.sum(axis=1, keepdims=True)
    coef, intercept = (model.coef_, model.intercept_) if len(categories) > 2 else \
        (np.vstack([-model.coef_[0] / 2, model.coef_[0] / 2]), np.array([-model.intercept_[0] / 2, model.intercept_[0] / 2]))
    return QuestionModel(dict(vectorizer.vocabulary_), coef.T.copy(), intercept.copy(), categories, table, KINDS)


def log_loss(model: QuestionModel, questions: Sequence[Question], kinds: dict[str, str]) -> float:
    return float(np.mean([-np.log(max(1e-9, model.prior(q.question).get(kinds[q.id], 0.0)))
                          for q in questions if kinds.get(q.id)]))


def fit_linear(X: np.ndarray, y: np.ndarray, c: float, balanced: bool = False) -> Linear:
    from sklearn.linear_model import LogisticRegression

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced" if balanced else None)
    model.fit((X - mean) / scale, y)
    return Linear(mean, scale, model.coef_[0].copy(), float(model.intercept_[0]))


def consider_all(assistant, questions: Sequence[Question], priors: dict[str, dict]) -> list[Seen]:
    out = []
    for q in questions:
        considered = assistant.consider(q.question, kind_prior=priors[q.id])
        labels = np.array([bool(q.answerable) and c_source(assistant, c) == q.source and bool(tight_correct(c.text, q.answers))
                           for c in considered.candidates], dtype=bool)
        rows = np.asarray(considered.rows, float) if considered.rows else np.zeros((0, len(FEATURES)))
        out.append(Seen(q, considered.candidates, rows, labels, considered.passage_overlap, considered.unknown))
    return out


def c_source(assistant, candidate) -> str:
    return assistant.documents[candidate.sentence.doc_ordinal].source


def stage_rows(seen: Sequence[Seen]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First stage: one row per unit (sentence or letter field), positive when it holds a right span.
    Second stage: the candidates of the positive units, positive when right."""
    unit_x, unit_y, span_x, span_y = [], [], [], []
    for s in seen:
        if not s.question.answerable or not s.labels.any():
            continue
        units: dict = {}
        for i, c in enumerate(s.candidates):
            units.setdefault(unit_of(c), []).append(i)
        for members in units.values():
            positive = bool(s.labels[members].any())
            unit_x.append(s.rows[members[0], SENTENCE_COLUMNS])
            unit_y.append(positive)
            if positive:
                span_x.append(s.rows[members][:, SPAN_COLUMNS])
                span_y.append(s.labels[members])
    return np.vstack(unit_x), np.array(unit_y), np.vstack(span_x), np.concatenate(span_y)


def top1(model: AnswerModel, seen: Sequence[Seen]) -> float:
    hits = [bool(s.labels[int(np.argmax(model.rank(s.rows)))]) for s in seen if s.question.answerable and len(s.rows)]
    return float(np.mean(hits)) if hits else 0.0


def signals_of(model: AnswerModel, s: Seen) -> tuple[dict[str, float], bool]:
    from retrieval.assistant import Considered, confidence_signals

    scores = model.rank(s.rows)
    order = np.argsort(-scores, kind="stable")
    considered = Considered(None, [], (), s.candidates, s.rows.tolist(), s.passage_overlap, s.unknown)
    return confidence_signals(considered, scores, order), bool(s.labels[int(order[0])])


def choose_threshold(confidences: Sequence[float], correct: Sequence[bool]) -> tuple[float, float]:
    """The threshold with the most right decisions on dev (answer iff correct); ties go to the lower one."""
    pairs = sorted(zip(confidences, correct))
    best_t, best_right = 0.0, sum(correct)
    right = sum(correct)
    for i, (conf, ok) in enumerate(pairs):
        right += -1 if ok else 1  # abstaining on this one and everything below it
        t = (conf + pairs[i + 1][0]) / 2 if i + 1 < len(pairs) else conf + 1e-6
        if right > best_right:
            best_t, best_right = t, right
    return float(best_t), best_right / max(1, len(pairs))


def fit(assistant, questions: Sequence[Question], letters_by_split: dict[str, int]) -> tuple[AnswerModel, dict]:
    train = [q for q in questions if q.split == "train"]
    dev = [q for q in questions if q.split == "dev"]
    if not train or not dev:
        raise ValueError("fitting needs questions in both the train and the dev split")

    # 1. the question model
    kinds = {q.id: answer_kind(assistant, q) for q in [*train, *dev] if q.answerable}
    found = sum(1 for q in train if kinds.get(q.id))
    _stderr(f"fit: answer kinds found for {found} train and {sum(1 for q in dev if kinds.get(q.id))} dev questions")
    train_kinds = {q.id: kinds.get(q.id) for q in train}
    losses = {c: log_loss(fit_question_model(train, train_kinds, c), dev, kinds) for c in C_GRID}
    q_c = min(losses, key=losses.get)
    question_model = fit_question_model(train, train_kinds, q_c)
    # cross-validated priors for train questions, the final model's for dev
    rng = np.random.default_rng(0)
    fold_of = {q.id: int(f) for q, f in zip(train, rng.integers(0, FOLDS, len(train)))}
    priors: dict[str, dict] = {}
    for fold in range(FOLDS):
        model = fit_question_model([q for q in train if fold_of[q.id] != fold], train_kinds, q_c)
        for q in train:
            if fold_of[q.id] == fold:
                priors[q.id] = model.prior(q.question)
    for q in dev:
        priors[q.id] = question_model.prior(q.question)

    # 2. the two ranking stages
    _stderr(f"fit: considering candidates for {len(train)} train and {len(dev)} dev questions")
    seen_train = consider_all(assistant, train, priors)
    seen_dev = consider_all(assistant, dev, priors)
    unit_x, unit_y, span_x, span_y = stage_rows(seen_train)
    blank = _blank_model()
    scores = {}
    for c in C_GRID:
        trial = replace(blank, sentence_ranker=fit_linear(unit_x, unit_y, c), span_ranker=fit_linear(span_x, span_y, c))
        scores[c] = top1(trial, seen_dev)
    r_c = max(scores, key=lambda c: (scores[c], -c))
    ranked = replace(blank, question_model=question_model, sentence_ranker=fit_linear(unit_x, unit_y, r_c),
                     span_ranker=fit_linear(span_x, span_y, r_c))

    # 3. the confidence, fitted on train, threshold on dev
    train_signals = [signals_of(ranked, s) for s in seen_train if len(s.rows)]
    Xc = np.array([[sig[n] for n in CONFIDENCE_FEATURES] for sig, _ in train_signals])
    yc = np.array([ok for _, ok in train_signals])
    confidence = fit_linear(Xc, yc, 1.0)
    dev_signals = [signals_of(ranked, s) for s in seen_dev if len(s.rows)]
    dev_conf = [float(1 / (1 + np.exp(-confidence.logits(np.array([[sig[n] for n in CONFIDENCE_FEATURES]]))[0])))
                for sig, _ in dev_signals]
    threshold, decision_accuracy = choose_threshold(dev_conf, [ok for _, ok in dev_signals])

    report = {
        "fitted_on": "train letters", "chosen_on": "dev letters",
        "date": dt.date.today().isoformat(),
        "letters": letters_by_split,
        "questions": {"train": len(train), "dev": len(dev), "train_with_kind": found},
        "question_model": {"C": q_c, "dev_kind_log_loss": round(losses[q_c], 4),
                           "dev_category_accuracy": round(float(np.mean(
                               [question_model.categories[int(np.argmax(question_model.category_probabilities(q.question)))]
                                == q.category for q in dev])), 4)},
        "ranker": {"C": r_c, "units": int(len(unit_y)), "spans": int(len(span_y)),
                   "dev_top1_tight_correct": round(scores[r_c], 4), "grid": {str(c): round(v, 4) for c, v in scores.items()}},
        "confidence": {"train_questions": int(len(yc)), "train_correct": int(yc.sum()),
                       "dev_decision_accuracy": round(decision_accuracy, 4)},
    }
    return replace(ranked, confidence_model=confidence, threshold=threshold, provenance=report), report


def fit_command(questions_file=None, index_dir=None, write: bool = False, rebuild: bool = False) -> int:
    import json

    from eval.catalogue import CATALOGUE_FILE, LETTERS_DIR
    from eval.runner import DEFAULT_INDEX_DIR, DEFAULT_QUESTIONS, UsageError, _load_inputs
    from index.building import build_index
    from index.settings import Settings
    from retrieval import Assistant
    from retrieval.answer_model import MODEL_FILE

    try:
        questions, letters = _load_inputs(Path(questions_file) if questions_file else DEFAULT_QUESTIONS,
                                          CATALOGUE_FILE, LETTERS_DIR)
    except UsageError as exc:
        _stderr(f"fit: {exc}")
        return 2
    settings = Settings.from_env(corpus_dir=LETTERS_DIR, index_dir=Path(index_dir) if index_dir else DEFAULT_INDEX_DIR)
    _stderr(build_index(settings, rebuild=rebuild).summary())
    assistant = Assistant.load(settings=settings, model=_blank_model())
    by_split = {split: sum(1 for x in letters if x.split == split) for split in ("train", "dev", "test")}
    model, report = fit(assistant, questions, by_split)
    print(json.dumps(report, indent=2))
    if write:
        MODEL_FILE.write_text(json.dumps(model.to_json(), ensure_ascii=False) + "\n", encoding="utf-8")
        _stderr(f"fit: wrote {MODEL_FILE}")
    return 0


def _blank_model() -> AnswerModel:
    """A model with no weights, for collecting features before any model exists."""
    def zeros(n: int) -> Linear:
        return Linear(np.zeros(n), np.ones(n), np.zeros(n), 0.0)

    empty = QuestionModel({}, np.zeros((0, 0)), np.zeros(0), (), np.zeros((0, len(KINDS))), KINDS)
    return AnswerModel(KINDS, empty, zeros(len(SENTENCE_FEATURES)), zeros(len(SPAN_FEATURES)),
                       zeros(len(CONFIDENCE_FEATURES)), 0.5, {})
