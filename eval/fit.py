"""Fitting the answer model: ``python -m eval fit [--write] [--refresh]``.

Everything is learned from the benchmark's **train** letters; settings and the abstention threshold
are chosen on the **dev** letters; the test letters are never read here.

1. Candidate cache: every candidate the assistant considers for every train and dev question, with
   its feature vector and whether it is a tight correct answer, computed once and kept in
   eval/reports/fit_cache/ (git-ignored; rebuilt when the questions, the index build or the candidate
   and feature code change), so fitting iterations take seconds. Besides the writers' questions, train
   gets a few questions per train letter about its own fields ("When was the X letter written?"),
   answered by the catalogue's gold metadata (`letter_questions`).
2. Question model: a multinomial logistic regression over the question's terms gives each answer
   category's probability (C chosen on dev); train questions get probabilities from models fitted
   without their letter (5 folds by letter), so the ranker learns how far to trust them.
3. Ranker: LightGBM lambdarank over the candidates of each answerable train question (candidate
   features + the question's category probabilities); trees learn the interactions (category x kind
   x entity label x letter part x position). Leaves/trees/learning rate chosen on dev top-1.
4. Confidence and answerability: two logistic models on the ranker's output for the best candidate
   (score, margin, similarity, ...) and on whether the letter states the asked thing (asked kind of span,
   rarest and focus words near it, in its letter at all, category probabilities), fitted on train with
   ranker scores from models that did not see the question's letter: P(answerable) on every train
   question, P(right | answerable) on the answerable ones; the confidence is their product. C is chosen
   on dev (best abstention F1 with ECE <= 0.08), and the threshold on P(answerable) gives the best dev
   abstention F1 with at most 8% of answerable questions refused. A drop-one ablation of every signal on
   dev goes into the provenance.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from eval.metrics import auroc, tight_correct, token_f1
from eval.questions import Question

REPO = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO / "eval" / "reports" / "fit_cache"
FOLDS = 5
QUESTION_C = (0.3, 1.0, 3.0, 10.0)
# a small grid: the machine is shared, and with ~230 answerable train questions more trees overfit
RANKER_GRID = {"num_leaves": (7, 15), "n_estimators": (150, 300), "learning_rate": (0.05,),
               "min_child_samples": (40,)}
CONFIDENCE_C = (0.1, 0.3, 1.0)  # L2 of the confidence and answerability models (chosen on dev)
K = 10  # passages per question, as `eval run` asks


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- 1. the candidate cache -------------------------------------------------------------------------
@dataclass
class Cache:
    rows: np.ndarray  # (n, len(FEATURES))
    group: np.ndarray  # (n,) question index
    label: np.ndarray  # (n,) 1 when a tight correct answer from the right letter
    f1: np.ndarray  # (n,) token F1 of the candidate
    field: np.ndarray  # (n,) bool: a letter-field candidate
    text: np.ndarray  # (n,) str
    same: np.ndarray  # (n,) int: the candidate's answer id within its question (same_answer classes)
    ids: list[str]
    passage_overlap: np.ndarray  # (Q,)
    unknown: np.ndarray  # (Q,)

    def members(self, q: int) -> np.ndarray:
        return np.flatnonzero(self.group == q)


def cache_key(questions_file: Path, index_dir: Path, extra: Sequence[Question] = ()) -> str:
    from retrieval.features import FEATURES

    h = hashlib.sha256()
    h.update(questions_file.read_bytes())
    h.update(repr([(q.id, q.question, q.answers) for q in extra]).encode())
    current = index_dir / "CURRENT"
    h.update(current.read_bytes() if current.exists() else b"")
    h.update(repr((FEATURES, K)).encode())
    for name in ("candidates.py", "features.py", "assistant.py", "acronyms.py", "search.py", "names.py"):
        h.update((REPO / "retrieval" / name).read_bytes())
    h.update((REPO / "index" / "structure.py").read_bytes())  # the letter fields are candidates
    return h.hexdigest()[:16]


def _answer_classes(candidates) -> np.ndarray:
    from retrieval.candidates import same_answer

    out = np.zeros(len(candidates), int)
    for i, c in enumerate(candidates):
        out[i] = next((out[j] for j in range(i) if same_answer(candidates[j], c)), i) if i < 400 else i
    return out


def collect(assistant, questions: Sequence[Question]) -> Cache:
    rows, group, label, f1, field, text, same, overlaps, unknown = [], [], [], [], [], [], [], [], []
    started = time.perf_counter()
    for n, q in enumerate(questions):
        considered = assistant.consider(q.question, k=K)
        for c in considered.candidates:
            source = assistant.documents[c.sentence.doc_ordinal].source
            right_letter = q.source is None or source == q.source
            label.append(int(q.answerable and right_letter and bool(tight_correct(c.text, q.answers))))
            f1.append(token_f1(c.text, q.answers) if q.answerable and right_letter else 0.0)
            field.append(c.kind.startswith("field:"))
            text.append(c.text)
        same.append(_answer_classes(considered.candidates))
        rows.append(considered.rows)
        group += [n] * len(considered.candidates)
        overlaps.append(considered.passage_overlap)
        unknown.append(considered.unknown)
        if (n + 1) % 100 == 0:
            _stderr(f"fit: considered {n + 1} of {len(questions)} questions ({time.perf_counter() - started:.0f} s)")
    from retrieval.features import FEATURES

    return Cache(np.vstack(rows) if rows else np.zeros((0, len(FEATURES))), np.asarray(group, int),
                 np.asarray(label, np.int8), np.asarray(f1, float), np.asarray(field, bool), np.asarray(text, str),
                 np.concatenate(same) if same else np.zeros(0, int), [q.id for q in questions],
                 np.asarray(overlaps, float), np.asarray(unknown, float))


def save_cache(cache: Cache, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, rows=cache.rows, group=cache.group, label=cache.label, f1=cache.f1, field=cache.field,
                        text=cache.text, same=cache.same, ids=np.asarray(cache.ids, str),
                        passage_overlap=cache.passage_overlap, unknown=cache.unknown)


def load_cache(path: Path) -> Cache:
    with np.load(path, allow_pickle=False) as z:
        return Cache(z["rows"], z["group"], z["label"], z["f1"], z["field"], z["text"], z["same"],
                     [str(i) for i in z["ids"]], z["passage_overlap"], z["unknown"])


# --- 1b. questions about the train letters themselves ---------------------------------------------
# How staff ask for a letter's own parts, naming it by its sender's organisation. The written questions
# ask "What date is on ..." and "Who signed ..."; these add the other ways ("When was ... written?"),
# with the gold metadata as the answers, so the ranker learns that a field of the named letter answers
# them. Train letters only; dev and test keep only the writers' questions.
LETTER_QUESTIONS = {
    "date": ("When was the {name} letter written?", "When did {name} write?", "When was the {name} letter sent?"),
    "sender": ("Who signed the {name} letter?", "Who wrote the {name} letter?", "Who sent the {name} letter?"),
    "recipient": ("Who is the {name} letter addressed to?", "Who was the {name} letter sent to?",
                  "To whom did {name} write?"),
    "subject": ("What is the {name} letter about?", "What is the subject of the {name} letter?"),
    "reference": ("What reference does the {name} letter give?", "What is the reference on the {name} letter?"),
}


def letter_questions(letters, read_text) -> list[Question]:
    """Questions about each train letter's own fields (a phrasing per field, chosen by the letter's
    name so every phrasing occurs), answered by the catalogue's gold metadata as printed."""
    from index.structure import _to_iso, date_matches

    out = []
    for n, letter in enumerate(letter for letter in letters if letter.split == "train"):
        gold = letter.metadata.to_json()
        names = gold.get("organisation") or gold.get("sender") or []
        if not names:
            continue
        name = min(names, key=len)  # the short form people use ("Charity Commission")
        name = name.title() if name.isupper() and len(name) > 6 else name  # not "CRAVEN DISTRICT COUNCIL"
        text = read_text(letter.source)
        for field, phrasings in LETTER_QUESTIONS.items():
            value = gold.get(field)
            if field == "date" and value:
                printed = [m.group(0) for m in date_matches(text) if _to_iso(m) == value]
                answers = tuple(printed[:1])
            else:
                answers = tuple(value or ())
            if not answers:
                continue
            question = phrasings[n % len(phrasings)].format(name=name)
            out.append(Question(f"letter-{letter.source}-{field}", question, "letter_field", True, answers,
                                letter.source, None, None, "train"))
    return out


# --- 2. the question model ------------------------------------------------------------------------
def fit_question_model(questions: Sequence[Question], c: float):
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    from retrieval.question_model import QuestionModel, question_terms

    vectorizer = DictVectorizer()
    X = vectorizer.fit_transform([{t: 1.0 for t in question_terms(q.question)} for q in questions])
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(X, [q.category for q in questions])
    vocabulary = {t: int(i) for t, i in vectorizer.vocabulary_.items()}
    return QuestionModel(vocabulary, model.coef_.T.copy(), model.intercept_.copy(), tuple(model.classes_))


def letter_folds(questions: Sequence[Question], folds: int = FOLDS) -> list[int]:
    """A fold per question, by letter: every question of a letter is in the same fold."""
    letters = sorted({q.source or "" for q in questions})
    rng = np.random.default_rng(0)
    order = list(rng.permutation(len(letters)))
    fold_of = {letters[i]: n % folds for n, i in enumerate(order)}
    return [fold_of[q.source or ""] for q in questions]


def aligned(model, question: str, categories: tuple[str, ...]) -> np.ndarray:
    """The model's probabilities in the order of `categories` (a fold may lack a category: 0)."""
    p = model.probabilities(question)
    return np.array([p[model.categories.index(c)] if c in model.categories else 0.0 for c in categories])


# --- 3. the ranker ------------------------------------------------------------------------------------
# the kind of span a question's answer is, most specific first: a letter field, an entity, an acronym's
# long form, then clauses and whole sentences
_SPECIFIC = ("field:", "acronym", "clause", "sentence")


def answer_kinds(cache: Cache, indices: Sequence[int]) -> dict[int, str]:
    """For each question with a right candidate: the kind of its most specific right candidate."""
    from retrieval.features import KINDS

    def specificity(kind: str) -> int:
        if kind.startswith("field:"):
            return 0
        return _SPECIFIC.index(kind) if kind in _SPECIFIC else 1

    out = {}
    for q in indices:
        m = cache.members(q)
        right = m[cache.label[m] > 0]
        if len(right):
            kinds = [KINDS[int(k)] for k in cache.rows[right, 0]]
            out[q] = min(kinds, key=lambda k: (specificity(k), kinds.index(k)))
    return out


def fit_kind_model(questions: Sequence[Question], kinds: Sequence[str], c: float):
    """Question terms -> the kind of span that answers, with every kind in KINDS (unseen ones get -inf-ish
    bias, i.e. a small probability) so the model's categories are KINDS in order."""
    from retrieval.features import KINDS
    from retrieval.question_model import QuestionModel

    fitted = fit_question_model([_as(q, k) for q, k in zip(questions, kinds)], c)
    weights = np.zeros((len(fitted.vocabulary), len(KINDS)))
    bias = np.full(len(KINDS), -8.0)
    for j, kind in enumerate(fitted.categories):
        weights[:, KINDS.index(kind)] = fitted.weights[:, j]
        bias[KINDS.index(kind)] = fitted.bias[j]
    return QuestionModel(fitted.vocabulary, weights, bias, KINDS)


def _as(q: Question, category: str) -> Question:
    from dataclasses import replace

    return replace(q, category=category)


def full_rows(cache: Cache, probabilities: np.ndarray, kind_probabilities: np.ndarray) -> np.ndarray:
    from retrieval.answer_model import kind_prior, with_question

    from retrieval.features import RANKED

    prior_columns = kind_prior(kind_probabilities[0]).shape[1] if len(kind_probabilities) else 0
    out = np.empty((len(cache.rows), len(RANKED) + probabilities.shape[1] + 1 + prior_columns))
    for q in range(len(cache.ids)):
        m = cache.members(q)
        if len(m):
            out[m] = with_question(cache.rows[m], probabilities[q], kind_probabilities[q])
    return out


def fit_ranker(X: np.ndarray, cache: Cache, questions: Sequence[int], params: dict):
    import lightgbm as lgb

    keep = [q for q in questions if cache.label[cache.members(q)].any()]
    index = np.concatenate([cache.members(q) for q in keep])
    model = lgb.LGBMRanker(objective="lambdarank", lambdarank_truncation_level=10, subsample=0.8, subsample_freq=1,
                           colsample_bytree=0.8, random_state=0, n_jobs=1, verbose=-1, **params)
    model.fit(X[index], cache.label[index], group=[len(cache.members(q)) for q in keep])
    return model


def top_choices(scores: np.ndarray, cache: Cache, questions: Sequence[int]) -> dict[int, int]:
    out = {}
    for q in questions:
        m = cache.members(q)
        if len(m):
            out[q] = int(m[int(np.argmax(scores[m]))])
    return out


def top1(scores: np.ndarray, cache: Cache, questions: Sequence[int], answerable: Sequence[bool]) -> float:
    chosen = top_choices(scores, cache, questions)
    hits = [bool(cache.label[chosen[q]]) if q in chosen else False for q in questions if answerable[q]]
    return float(np.mean(hits)) if hits else 0.0


# --- 4. the confidence ---------------------------------------------------------------------------------
def signal_rows(scores: np.ndarray, cache: Cache, questions: Sequence[int], probabilities: np.ndarray,
                kind_probabilities: np.ndarray, categories: Sequence[str], names: Sequence[str]):
    """(rows of the signals `names`, correct, question indices) for the questions with candidates."""
    from retrieval.confidence import signals_of

    X, y, which = [], [], []
    for q in questions:
        m = cache.members(q)
        if not len(m):
            continue
        s = scores[m]
        top = int(np.argmax(s))
        same = cache.same[m]
        found = signals_of(cache.rows[m], s, lambda i: bool(same[i] == same[top]), bool(cache.field[m[top]]),
                           dict(zip(categories, map(float, probabilities[q]))), cache.passage_overlap[q],
                           cache.unknown[q], kind_probabilities[q])
        X.append([found[n] for n in names])
        y.append(bool(cache.label[m[top]]))
        which.append(q)
    return np.asarray(X, float), np.asarray(y, bool), which


def fit_confidence(X: np.ndarray, y: np.ndarray, c: float = 1.0, signs: Sequence[int] | None = None):
    """A logistic model (L2 with strength 1/c, as scikit-learn's C) on standardised inputs; `signs`:
    per column +1 / -1 for a weight that must not be negative / positive, 0 for a free one."""
    from scipy.optimize import minimize

    from retrieval.confidence import Linear

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    Z = (X - mean) / scale
    t = np.where(np.asarray(y, bool), 1.0, -1.0)
    n = Z.shape[1]

    def loss(theta):
        w, b = theta[:n], theta[n]
        margin = t * (Z @ w + b)
        value = np.logaddexp(0.0, -margin).sum() + 0.5 * (w @ w) / c
        g = -t * np.exp(-np.logaddexp(0.0, margin))  # d loss / d (Z w + b)
        return value, np.concatenate([Z.T @ g + w / c, [g.sum()]])

    signs = np.zeros(n, int) if signs is None else np.asarray(signs, int)
    bounds = [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs] + [(None, None)]
    found = minimize(loss, np.zeros(n + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                     options={"maxiter": 5000, "gtol": 1e-8})
    return Linear(mean, scale, found.x[:n].copy(), float(found.x[n]))


MAX_FALSE_ABSTENTION = 0.08  # the target: at most 8% of answerable questions refused
MAX_ECE = 0.08  # the target for the calibration error


def abstention_f1(refused_unanswerable: int, refused: int, unanswerable: int) -> float:
    precision = refused_unanswerable / max(1, refused)
    recall = refused_unanswerable / max(1, unanswerable)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def choose_threshold(answerability: Sequence[float], correct: Sequence[bool], answerable: Sequence[bool],
                     max_false_abstention: float = MAX_FALSE_ABSTENTION, n_answerable: int | None = None) -> float:
    """The answerability threshold with the best abstention F1 (the issue's target) among those that
    refuse at most `max_false_abstention` of the answerable questions (`n_answerable`: all of them, with
    the ones that found no candidate); ties go to more right decisions (a right answer to an answerable
    question or an abstention on an unanswerable one), then lower."""
    triples = sorted(zip(answerability, correct, answerable))
    n_answerable = n_answerable or max(1, sum(1 for _, _, a in triples if a))
    unanswerable = sum(1 for _, _, a in triples if not a)
    right = sum(1 for _, ok, a in triples if ok and a)
    best, best_t = (0.0, right), 0.0
    refused = refused_answerable = refused_unanswerable = 0
    for i, (p, ok, a) in enumerate(triples):  # abstaining on this one and everything below
        refused += 1
        refused_answerable += 1 if a else 0
        refused_unanswerable += 0 if a else 1
        right += (1 if not a else 0) - (1 if ok and a else 0)
        if refused_answerable / n_answerable > max_false_abstention:
            break
        if i + 1 < len(triples) and triples[i + 1][0] == p:
            continue  # a threshold cannot split equal values
        value = (round(abstention_f1(refused_unanswerable, refused, unanswerable), 9), right)
        if value > best:
            best = value
            best_t = (p + triples[i + 1][0]) / 2 if i + 1 < len(triples) else min(1.0, p + 1e-6)
    return float(best_t)


@dataclass(frozen=True)
class Abstention:
    """Stage 4: the correctness and answerability models and the threshold on the answerability."""

    confidence: object  # Linear over CONFIDENCE_FEATURES: P(right | answerable)
    answerability: object  # Linear over answerability_features(categories): P(answerable)
    threshold: float
    c: float


class Decisions:
    """Confidence and answerability of each question under stage-4 models (what `eval run` would see)."""

    def __init__(self, cache: Cache, ranking: Ranking, questions: Sequence[Question], indices: Sequence[int],
                 scores: np.ndarray):
        from retrieval.confidence import CONFIDENCE_FEATURES, answerability_features

        categories = ranking.question_model.categories
        self.names = answerability_features(categories)
        X, self.correct, self.which = signal_rows(scores, cache, indices, ranking.probabilities,
                                                  ranking.kind_probabilities, categories, self.names)
        self.X = X
        self.confidence_columns = [self.names.index(n) for n in CONFIDENCE_FEATURES]
        self.answerable = np.asarray([questions[q].answerable for q in self.which], bool)
        self.n_answerable = sum(1 for q in indices if questions[q].answerable)

    def fit(self, c: float, threshold_on: "Decisions | None" = None, drop: Sequence[str] = ()) -> Abstention:
        """Both models on these questions (correctness on the answerable ones), without the signals in
        `drop`; the threshold chosen on `threshold_on` (the dev questions)."""
        from retrieval.confidence import DIRECTION

        keep_a = np.asarray([n not in drop for n in self.names])
        keep_c = np.asarray([self.names[i] not in drop for i in self.confidence_columns])
        signs = np.asarray([DIRECTION.get(n, 0) for n in self.names])
        confidence = _masked(fit_confidence(self.X[self.answerable][:, self.confidence_columns][:, keep_c],
                                            self.correct[self.answerable], c,
                                            signs[self.confidence_columns][keep_c]), keep_c)
        answerability = _masked(fit_confidence(self.X[:, keep_a], self.answerable, c, signs[keep_a]), keep_a)
        chosen = threshold_on or self
        p = chosen.answerability_of(answerability)
        threshold = choose_threshold(p, list(chosen.correct), list(chosen.answerable),
                                     n_answerable=chosen.n_answerable)
        return Abstention(confidence, answerability, threshold, c)

    def answerability_of(self, model) -> list[float]:
        """P(answerable) of each question, 0 where the logical guard refuses it (retrieval.confidence.unsupported)."""
        from retrieval.confidence import unsupported

        return [0.0 if unsupported(dict(zip(self.names, x))) else model.probability(x) for x in self.X]

    def confidence_of(self, fitted: Abstention) -> list[float]:
        return [p * fitted.confidence.probability(x[self.confidence_columns])
                for p, x in zip(self.answerability_of(fitted.answerability), self.X)]

    def scores(self, fitted: Abstention) -> dict:
        from eval.metrics import ece

        p = np.asarray(self.answerability_of(fitted.answerability))
        conf = np.asarray(self.confidence_of(fitted))
        answered = p >= fitted.threshold
        refused = int((~answered).sum())
        unanswerable = int((~self.answerable).sum())
        refused_unanswerable = int((~answered & ~self.answerable).sum())
        return {"auroc": round(auroc(list(conf), list(self.correct)) or 0.0, 3),
                "ece": round(float(ece(list(conf), list(self.correct)) or 0.0), 3),
                "answerability_auroc": round(auroc(list(p), list(self.answerable)) or 0.0, 3),
                "abstention_f1": round(abstention_f1(refused_unanswerable, refused, unanswerable), 3)}


def _masked(model, keep: np.ndarray):
    """A Linear over all the columns, with weight 0 (mean 0, scale 1) on the dropped ones."""
    from retrieval.confidence import Linear

    mean, scale, weights = np.zeros(len(keep)), np.ones(len(keep)), np.zeros(len(keep))
    mean[keep], scale[keep], weights[keep] = model.mean, model.scale, model.weights
    return Linear(mean, scale, weights, model.bias)


def fit_abstention(cache: Cache, questions: Sequence[Question], ranking: Ranking) -> tuple[Abstention, dict]:
    """The two models fitted on train (out-of-fold ranker scores), C and the threshold chosen on dev, and
    the drop-one ablation of each signal on dev (for the provenance: what each signal is worth)."""
    from retrieval.confidence import ANSWERABILITY

    train, dev = splits(questions)
    on_train = Decisions(cache, ranking, questions, train, ranking.oof)
    on_dev = Decisions(cache, ranking, questions, dev, ranking.dev_scores)

    def merit(fitted: Abstention) -> tuple:
        """The best abstention F1 among the calibrated (dev ECE within the issue's 0.08), then AUROC."""
        found = on_dev.scores(fitted)
        return found["ece"] <= MAX_ECE, found["abstention_f1"], found["auroc"], -found["ece"]

    candidates = {c: on_train.fit(c, on_dev) for c in CONFIDENCE_C}
    c = max(candidates, key=lambda c: (merit(candidates[c]), -c))
    fitted = candidates[c]
    full = on_dev.scores(fitted)
    ablation = {}
    for name in (*ANSWERABILITY, "p:<category>"):
        drop = [n for n in on_train.names if n.startswith("p:")] if name == "p:<category>" else [name]
        without = on_dev.scores(on_train.fit(c, on_dev, drop))
        ablation[name] = {k: round(without[k] - full[k], 3) for k in ("abstention_f1", "auroc", "ece")}
    _stderr(f"fit: confidence C={c}, dev {full}")
    return fitted, {"C": c, "dev": full, "drop_one_on_dev": ablation}


def figures(cache: Cache, questions: Sequence[Question], indices: Sequence[int], scores: np.ndarray,
            ranking: Ranking, fitted: Abstention) -> dict:
    """What `eval run` would report for these questions, from the cache: tight correct and F1 of the
    answered answerable questions (an abstention scores 0), top-1 before abstaining, AUROC, ..."""
    from eval.metrics import ece

    decisions = Decisions(cache, ranking, questions, indices, scores)
    which = decisions.which
    conf = dict(zip(which, decisions.confidence_of(fitted)))
    answerability = dict(zip(which, decisions.answerability_of(fitted.answerability)))
    chosen = top_choices(scores, cache, indices)
    answerable = [q for q in indices if questions[q].answerable]
    answered = {q for q in indices if answerability.get(q, 0.0) >= fitted.threshold}
    tight = [bool(cache.label[chosen[q]]) and q in answered if q in chosen else False for q in answerable]
    f1 = [float(cache.f1[chosen[q]]) if q in chosen and q in answered else 0.0 for q in answerable]
    unanswerable = [q for q in indices if not questions[q].answerable]
    correct_abstain = sum(1 for q in unanswerable if q not in answered)
    abstained = [q for q in indices if q not in answered]
    confident = [q for q in answered if conf.get(q, 0.0) >= 0.8]
    return {
        "questions": len(indices), "answerable": len(answerable),
        "oracle": round(float(np.mean([cache.label[cache.members(q)].any() for q in answerable])), 3),
        "top1": round(float(np.mean([bool(cache.label[chosen[q]]) if q in chosen else False for q in answerable])), 3),
        "tight_correct": round(float(np.mean(tight)), 3), "f1": round(float(np.mean(f1)), 3),
        "auroc": round(auroc([conf[q] for q in which], list(decisions.correct)) or 0.0, 3),
        "ece": round(ece([conf[q] for q in which], list(decisions.correct)) or 0.0, 3),
        "abstention_precision": round(correct_abstain / max(1, len(abstained)), 3),
        "abstention_recall": round(correct_abstain / max(1, len(unanswerable)), 3),
        "abstention_f1": round(abstention_f1(correct_abstain, len(abstained), len(unanswerable)), 3),
        "false_abstention": round(sum(1 for q in answerable if q not in answered) / max(1, len(answerable)), 3),
        "confidently_wrong": round(sum(1 for q in confident if q in chosen and not cache.label[chosen[q]])
                                   / max(1, len(answered)), 3),
    }


def by_category(cache: Cache, questions: Sequence[Question], indices: Sequence[int], scores: np.ndarray) -> dict:
    chosen = top_choices(scores, cache, indices)
    out: dict[str, list[bool]] = {}
    for q in indices:
        if questions[q].answerable:
            out.setdefault(questions[q].category, []).append(bool(cache.label[chosen[q]]) if q in chosen else False)
    return {c: (len(v), round(float(np.mean(v)), 3)) for c, v in sorted(out.items())}


@dataclass
class Ranking:
    """Stages 2 and 3: the question and kind models, the ranker, and their outputs for every question
    (train: out-of-fold, from models that did not see the question's letter; dev: the final models)."""

    question_model: object
    kind_model: object
    question_c: float
    accuracy: dict
    kind_accuracy: float
    probabilities: np.ndarray  # (Q, categories)
    kind_probabilities: np.ndarray  # (Q, KINDS)
    params: dict
    results: list
    ranker: object  # the LightGBM model
    trees: object  # its TreeEnsemble
    dev_scores: np.ndarray  # (n,) final ranker's scores
    oof: np.ndarray  # (n,) out-of-fold scores (train candidates)
    in_sample: np.ndarray
    n_rows: int


def splits(questions: Sequence[Question]) -> tuple[list[int], list[int]]:
    train = [i for i, q in enumerate(questions) if q.split == "train"]
    dev = [i for i, q in enumerate(questions) if q.split == "dev"]
    if not train or not dev:
        raise ValueError("fitting needs questions in both the train and the dev split")
    return train, dev


def fit_ranking(cache: Cache, questions: Sequence[Question], kept=None) -> Ranking:
    """Stages 2 and 3. `kept`: a shipped AnswerModel whose question, kind and ranker models are kept (its
    dev scores are theirs; train scores still come out of fold, from models with its ranker settings)."""
    from retrieval.trees import TreeEnsemble

    train, dev = splits(questions)
    answerable = [q.answerable for q in questions]
    train_q = [questions[i] for i in train]

    # 2. question model
    accuracy = {}
    for c in QUESTION_C:
        model = fit_question_model(train_q, c)
        accuracy[c] = float(np.mean([model.category(questions[i].question) == questions[i].category for i in dev]))
    question_c = max(accuracy, key=lambda c: (accuracy[c], -c))
    question_model = fit_question_model(train_q, question_c)
    categories = question_model.categories
    probabilities = np.zeros((len(questions), len(categories)))
    folds = letter_folds(train_q)
    for fold in range(FOLDS):
        model = fit_question_model([q for q, f in zip(train_q, folds) if f != fold], question_c)
        for i, f in zip(train, folds):
            if f == fold:
                probabilities[i] = aligned(model, questions[i].question, categories)
    for i in dev:
        probabilities[i] = question_model.probabilities(questions[i].question)
    _stderr(f"fit: question model C={question_c}, dev category accuracy {accuracy[question_c]:.3f}")

    # 3. ranker
    # the kind model: which kind of span answers (train questions with a right candidate)
    from retrieval.features import KINDS

    kinds = answer_kinds(cache, train)
    with_kind = [i for i in train if i in kinds]
    kind_model = fit_kind_model([questions[i] for i in with_kind], [kinds[i] for i in with_kind], question_c)
    kind_probabilities = np.zeros((len(questions), len(KINDS)))
    for fold in range(FOLDS):
        inside = [i for i, f in zip(train, folds) if f != fold and i in kinds]
        model = fit_kind_model([questions[i] for i in inside], [kinds[i] for i in inside], question_c)
        for i, f in zip(train, folds):
            if f == fold:
                kind_probabilities[i] = model.probabilities(questions[i].question)
    if kept is not None:
        question_model, kind_model = kept.question_model, kept.kind_model
        if question_model.categories != categories:
            raise ValueError("the kept answer model has other answer categories; fit without --keep-ranker")
        for i in dev:
            probabilities[i] = question_model.probabilities(questions[i].question)
    for i in dev:
        kind_probabilities[i] = kind_model.probabilities(questions[i].question)
    dev_kinds = answer_kinds(cache, dev)
    kind_accuracy = float(np.mean([KINDS[int(np.argmax(kind_probabilities[i]))] == k for i, k in dev_kinds.items()]))
    _stderr(f"fit: kind model: dev accuracy {kind_accuracy:.3f} over {len(dev_kinds)} questions")
    X = full_rows(cache, probabilities, kind_probabilities)
    grid = [dict(zip(RANKER_GRID, values)) for values in itertools.product(*RANKER_GRID.values())]
    results = []
    if kept is not None:
        params = {k: kept.provenance["ranker"][k] for k in RANKER_GRID}
        grid = []
    for params in grid:
        ranker = fit_ranker(X, cache, train, params)
        score = top1(ranker.predict(X), cache, dev, answerable)
        results.append((score, params))
        _stderr(f"fit: ranker {params}: dev top-1 tight correct {score:.3f}")
    # the smallest (fastest to evaluate per question) ensemble within one dev question of the best
    if kept is None:
        top = max(score for score, _ in results)
        one_question = 1.0 / max(1, sum(1 for i in dev if answerable[i]))
        best_score, params = min(((score, p) for score, p in results if score >= top - one_question - 1e-9),
                                 key=lambda r: (r[1]["num_leaves"] * r[1]["n_estimators"], -r[0]))
        ranker = fit_ranker(X, cache, train, params)
        trees = TreeEnsemble.from_lightgbm(ranker.booster_.dump_model())
    else:
        ranker, trees = None, kept.ranker
        results = [(top1(trees.predict(X), cache, dev, answerable), params)]
        _stderr(f"fit: kept the shipped ranker {params}: dev top-1 tight correct {results[0][0]:.3f}")
    dev_scores = trees.predict(X)
    # out-of-fold ranker scores for the train questions (each from a model without the question's letter)
    oof = np.zeros(len(X))
    for fold in range(FOLDS):
        inside = [i for i, f in zip(train, folds) if f != fold]
        outside = [i for i, f in zip(train, folds) if f == fold]
        fold_model = fit_ranker(X, cache, inside, params)
        index = np.concatenate([cache.members(q) for q in outside])
        oof[index] = fold_model.predict(X[index])
    in_sample = trees.predict(X)
    return Ranking(question_model, kind_model, question_c, accuracy, kind_accuracy, probabilities, kind_probabilities,
                   params, results, ranker, trees, dev_scores, oof, in_sample, len(X))


def fit(cache: Cache, questions: Sequence[Question], letters_by_split: dict[str, int], kept=None):
    from retrieval.answer_model import AnswerModel, ranker_features

    train, dev = splits(questions)
    answerable = [q.answerable for q in questions]
    r = fit_ranking(cache, questions, kept)
    question_model, kind_model, question_c, accuracy, kind_accuracy = \
        r.question_model, r.kind_model, r.question_c, r.accuracy, r.kind_accuracy
    probabilities, kind_probabilities, params, results, ranker, trees = \
        r.probabilities, r.kind_probabilities, r.params, r.results, r.ranker, r.trees
    dev_scores, oof, in_sample, categories = r.dev_scores, r.oof, r.in_sample, question_model.categories

    # 4. confidence and answerability
    fitted, abstention_report = fit_abstention(cache, questions, r)
    threshold = fitted.threshold

    report = {
        "fitted_on": "train letters", "chosen_on": "dev letters", "test": "never read",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": _git_commit(), "letters": letters_by_split,
        "data": {"questions": "eval/questions.jsonl", "sha256": _sha(REPO / "eval" / "questions.jsonl"),
                 "train_questions": len(train), "dev_questions": len(dev), "candidates": r.n_rows},
        "question_model": {"C": question_c, "dev_category_accuracy": round(accuracy[question_c], 3),
                           "dev_kind_accuracy": round(kind_accuracy, 3)},
        "ranker": {"objective": "lambdarank (LightGBM 4.7.0)", **params, "trees": int(len(trees.roots)),
                   **({"kept_from": kept.provenance.get("date", "the shipped model")} if kept is not None else {}),
                   "dev_top1_grid": {json.dumps(p, sort_keys=True): round(s, 3) for s, p in results}},
        "confidence": {"train_questions": sum(1 for i in train if cache.members(i).size),
                       "train_answerable": sum(1 for i in train if answerable[i]),
                       "threshold": round(threshold, 4), "threshold_on": "answerability",
                       "threshold_rule": f"best dev abstention F1 with <= {MAX_FALSE_ABSTENTION:.0%} false abstentions",
                       **abstention_report},
        "train_out_of_fold": figures(cache, questions, train, oof, r, fitted),
        "train_in_sample": {"top1": round(top1(in_sample, cache, train, answerable), 3)},
        "dev": figures(cache, questions, dev, dev_scores, r, fitted),
        "dev_by_category_top1": by_category(cache, questions, dev, dev_scores),
        "train_by_category_top1_out_of_fold": by_category(cache, questions, train, oof),
    }
    model = AnswerModel(question_model, kind_model, trees, fitted.confidence, fitted.answerability, threshold, report)
    assert trees.n_features == len(ranker_features(categories))
    return model, report, ranker


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def fit_command(questions_file=None, index_dir=None, write: bool = False, refresh: bool = False,
                keep_ranker: bool = False) -> int:
    from eval.catalogue import CATALOGUE_FILE, LETTERS_DIR
    from eval.runner import DEFAULT_INDEX_DIR, DEFAULT_QUESTIONS, UsageError, _load_inputs
    from index.building import build_index
    from index.settings import Settings
    from retrieval import Assistant
    from retrieval.answer_model import MODEL_FILE

    questions_path = Path(questions_file) if questions_file else DEFAULT_QUESTIONS
    try:
        questions, letters = _load_inputs(questions_path, CATALOGUE_FILE, LETTERS_DIR)
    except UsageError as exc:
        _stderr(f"fit: {exc}")
        return 2
    questions = [q for q in questions if q.split in ("train", "dev")]  # the test split is never read
    from eval.catalogue import text_reader

    extra = letter_questions(letters, text_reader(LETTERS_DIR))
    _stderr(f"fit: {len(extra)} questions about the train letters' own fields added to train")
    questions += extra
    settings = Settings.from_env(corpus_dir=LETTERS_DIR, index_dir=Path(index_dir) if index_dir else DEFAULT_INDEX_DIR)
    _stderr(build_index(settings).summary())
    key = cache_key(questions_path, settings.index_dir, extra)
    path = CACHE_DIR / f"candidates-{key}.npz"
    if path.exists() and not refresh:
        cache = load_cache(path)
        _stderr(f"fit: candidates from the cache {path.relative_to(REPO)}")
    else:
        started = time.perf_counter()
        assistant = Assistant.load(settings=settings, fitting=True)
        try:
            cache = collect(assistant, questions)
        finally:
            assistant.reader.close()
        save_cache(cache, path)
        _stderr(f"fit: {len(cache.rows)} candidates for {len(questions)} questions in "
                f"{time.perf_counter() - started:.0f} s, cached in {path.relative_to(REPO)}")
    if cache.ids != [q.id for q in questions]:
        _stderr("fit: the cache does not match the questions; run again with --refresh")
        return 2
    by_split = {split: sum(1 for x in letters if x.split == split) for split in ("train", "dev")}
    kept = None
    if keep_ranker:  # refit only the confidence and answerability over the shipped ranker
        from retrieval.answer_model import AnswerModel

        kept = AnswerModel.load()
    model, report, _ = fit(cache, questions, by_split, kept)
    print(json.dumps({k: report[k] for k in ("question_model", "confidence", "train_out_of_fold", "train_in_sample",
                                             "dev", "dev_by_category_top1", "train_by_category_top1_out_of_fold")},
                     indent=1))
    _stderr(f"fit: ranker {report['ranker']}")
    if write:
        MODEL_FILE.write_text(json.dumps(model.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n",
                              encoding="utf-8")
        _stderr(f"fit: wrote {MODEL_FILE.relative_to(REPO)}")
    return 0
