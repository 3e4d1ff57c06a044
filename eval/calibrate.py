"""Calibrating abstention: ``python -m eval calibrate [--write]`` for the full system, and the
calibrations the benchmark fits for every other system (ScoreCalibration, SignalCalibration).

1. Every train and dev question goes through the full system with the abstention threshold at 0,
   so each one that reaches answer extraction comes back with an answer *and* its confidence
   signals (``Answer.signals``). The test split is never asked.
2. Label: **answerable and the answer contains a gold answer** (containment), the label the shipped
   calibration was fitted with; every system in the benchmark is calibrated against the same label
   (``right_label``). Confidence should predict "showing this answer is right": an answerable
   question answered wrongly is better abstained on, and it scores 0 either way. (Fitting against
   tight-correct instead makes every system that answers with whole sentences abstain on almost
   everything, which hides how well it finds the answer.)
3. The confidence weights (a logistic model over ``retrieval.confidence.CONFIDENCE_FEATURES`` plus
   a bias, in raw units: ``Assistant.weights``) are fitted on train by L2-regularised logistic
   regression (Newton's method in numpy). The penalty ``l2/2 * ||w - shipped||^2`` pulls towards the
   shipped weights (fitted by ``python -m eval fit``) rather than towards 0.
4. The threshold is chosen on train to maximise the accuracy of the answer/abstain decision against
   the same label (answer iff right). Of equally good thresholds the middle one is taken.
5. Before/after figures are reported on dev (and train for reference).

Every answer, letter fields included, carries its signals; only "no passage/sentence" abstentions
have none: they always abstain, are left out of the fit and are counted with their fixed decision.
The full system's own weights and threshold are fitted with its ranker by ``python -m eval fit``.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from eval.metrics import containment
from eval.questions import Question

FIT_LABEL = "answerable and correct (containment)"
FIT_SPLIT, REPORT_SPLIT = "train", "dev"


@dataclass(frozen=True)
class Example:
    id: str
    split: str
    answerable: bool
    correct: bool  # answerable and the (unthresholded) answer contains a gold answer
    signals: dict | None  # None: the decision does not depend on the weights
    fixed_answer: bool  # for signal-less examples: answered (True) or abstained (False)
    confidence: float

    @property
    def label(self) -> bool:
        return self.answerable and self.correct


def collect(assistant, questions: Sequence[Question]) -> list[Example]:
    """Ask every question with abstention switched off; keep signals and correctness."""
    system = assistant.with_settings(abstain_threshold=0.0)
    out = []
    for q in questions:
        answer = system.ask(q.question)
        correct = bool(q.answerable and not answer.abstained and containment(answer.answer, q.answers))
        out.append(Example(q.id, q.split, q.answerable, correct, answer.signals, not answer.abstained,
                           float(answer.confidence)))
    return out


def features(signals: dict) -> list[float]:
    from retrieval.confidence import CONFIDENCE_FEATURES
    return [float(signals[name]) for name in CONFIDENCE_FEATURES]


def confidence_of(example: Example, weights: dict | None) -> float:
    """The confidence the assistant would compute from these signals with these weights."""
    return confidence_from(example.signals, weights)


def confidence_from(s: dict, weights: dict | None) -> float:
    from retrieval.confidence import CONFIDENCE_FEATURES

    w = weights or {}
    z = float(w.get("bias", 0.0)) + sum(float(w.get(n, 0.0)) * float(s[n]) for n in CONFIDENCE_FEATURES)
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0))))


def answers(example: Example, weights: dict | None, threshold: float) -> bool:
    if example.signals is None:
        return example.fixed_answer
    return confidence_of(example, weights) >= threshold


def fit_logistic(X: np.ndarray, y: np.ndarray, w0: np.ndarray, l2: float = 1.0, iterations: int = 100) -> np.ndarray:
    """L2-regularised logistic regression (penalty l2/2 * ||w - w0||^2) by Newton's method with a
    backtracking line search (a plain Newton step can overshoot and diverge from a poor start)."""
    def loss(w: np.ndarray) -> float:
        z = X @ w
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + l2 / 2 * np.sum((w - w0) ** 2))

    w = w0.astype(float).copy()
    current = loss(w)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(X @ w)))
        grad = X.T @ (p - y) + l2 * (w - w0)
        hess = X.T @ (X * (p * (1 - p))[:, None]) + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-10 and loss(w - t * step) > current - 1e-4 * t * float(grad @ step):
            t /= 2
        w = w - t * step
        previous, current = current, loss(w)
        if np.max(np.abs(t * step)) < 1e-8 or previous - current < 1e-12:
            break
    return w


def fit_weights(examples: Sequence[Example], start: dict, l2: float = 1.0, iterations: int = 50) -> dict:
    """The confidence weights fitted to these examples, pulled towards `start`."""
    from retrieval.confidence import CONFIDENCE_FEATURES

    rows = [e for e in examples if e.signals is not None]
    names = ("bias", *CONFIDENCE_FEATURES)
    if not rows:
        return dict(start)
    X = np.array([[1.0, *features(e.signals)] for e in rows])
    y = np.array([1.0 if e.label else 0.0 for e in rows])
    w = fit_logistic(X, y, np.array([float(start.get(n, 0.0)) for n in names]), l2, iterations)
    return {n: round(float(v), 4) for n, v in zip(names, w)}


def best_threshold(scored: Sequence[tuple[float, bool]], fixed_right: int = 0, n: int | None = None) -> tuple[float, float]:
    """(threshold, accuracy) maximising the accuracy of "answer iff label" over (confidence, label)
    pairs; `fixed_right` decisions that do not depend on the threshold are counted as right. Of
    equally good thresholds the middle one is taken."""
    n = n if n is not None else len(scored)
    if not scored:
        return 0.5, fixed_right / max(1, n)
    values = sorted({c for c, _ in scored})
    candidates = [0.0] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [min(1.0, values[-1] + 1e-6)]
    results = [(sum(1 for c, label in scored if (c >= t) == label) + fixed_right, t) for t in candidates]
    best = max(r for r, _ in results)
    ties = [t for r, t in results if r == best]
    return round(ties[len(ties) // 2], 4), best / max(1, n)


def choose_threshold(examples: Sequence[Example], weights: dict | None) -> tuple[float, float]:
    """(threshold, decision accuracy) for these weights: maximise accuracy of "answer iff label"."""
    scored = [(confidence_of(e, weights), e.label) for e in examples if e.signals is not None]
    fixed_right = sum(1 for e in examples if e.signals is None and e.fixed_answer == e.label)
    return best_threshold(scored, fixed_right, len(examples))


def evaluate(examples: Sequence[Example], weights: dict | None, threshold: float) -> dict:
    """Abstention and answer figures for one setting of weights and threshold."""
    answerable = [e for e in examples if e.answerable]
    unanswerable = [e for e in examples if not e.answerable]
    decided = [(e, answers(e, weights, threshold)) for e in examples]
    abstained = [e for e, a in decided if not a]
    true_abstain = sum(1 for e in abstained if not e.answerable)
    wrong_shown = sum(1 for e, a in decided if a and not e.label)

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        "n": len(examples),
        "abstention_precision": ratio(true_abstain, len(abstained)),
        "abstention_recall": ratio(true_abstain, len(unanswerable)),
        "false_abstention": ratio(sum(1 for e, a in decided if e.answerable and not a), len(answerable)),
        "containment": ratio(sum(1 for e, a in decided if a and e.correct), len(answerable)),
        "decision_accuracy": ratio(sum(1 for e, a in decided if a == e.label), len(examples)),
        "wrong_answers_shown": wrong_shown,
    }


# --- the benchmark's systems: each its own calibration, fitted on train, threshold on dev ------------
def right_label(question: Question, response: dict) -> bool:
    """What every system's calibration fits (FIT_LABEL): an answerable question whose answer contains a
    gold answer — the label full's shipped calibration was fitted with."""
    return bool(question.answerable and not response.get("abstained")
                and containment(response.get("answer"), question.answers))


def _decide(response: dict, conf: float, threshold: float) -> dict:
    out = dict(response, confidence=round(conf, 4))
    if conf < threshold:
        out.update(answer=None, abstained=True, citations=[],
                   reason="below this system's calibrated threshold; the closest passages are shown")
    return out


class ScoreCalibration:
    """For a baseline: confidence = a logistic on its own raw score (``response["score"]``, standardised
    on train) fitted on train; the threshold maximises dev decision accuracy (answer iff right_label)."""

    L2 = 0.01  # two parameters and hundreds of questions: only enough to keep a separable fit finite

    def __init__(self) -> None:
        self.mean, self.scale, self.weights, self.threshold, self.report = 0.0, 1.0, np.zeros(2), 0.5, {}

    def confidence(self, score: float) -> float:
        z = (score - self.mean) / self.scale
        return float(1.0 / (1.0 + np.exp(-(self.weights[0] + self.weights[1] * z))))

    def fit(self, train: Sequence[tuple[Question, dict]], dev: Sequence[tuple[Question, dict]]) -> dict:
        rows = [(float(r["score"]), right_label(q, r)) for q, r in train if not r.get("abstained")]
        if rows:
            scores = np.array([s for s, _ in rows])
            self.mean, self.scale = float(scores.mean()), float(scores.std() or 1.0)
            X = np.array([[1.0, (s - self.mean) / self.scale] for s, _ in rows])
            y = np.array([1.0 if label else 0.0 for _, label in rows])
            self.weights = fit_logistic(X, y, np.zeros(2), self.L2)
        scored = [(self.confidence(float(r["score"])), right_label(q, r)) for q, r in dev if not r.get("abstained")]
        fixed = sum(1 for q, r in dev if r.get("abstained"))  # nothing to show: right, as the label is False
        self.threshold, accuracy = best_threshold(scored, fixed, len(dev))
        self.report = {"kind": "logistic on the raw score", "n_train": len(rows), "n_dev": len(dev),
                       "weights": [round(float(w), 4) for w in self.weights], "mean": round(self.mean, 4),
                       "scale": round(self.scale, 4), "threshold": self.threshold,
                       "dev_decision_accuracy": round(accuracy, 4)}
        return self.report

    def apply(self, response: dict) -> dict:
        if response.get("abstained") or response.get("score") is None:
            return response
        return _decide(response, self.confidence(float(response["score"])), self.threshold)


class SignalCalibration:
    """For an ablation: the assistant's confidence weights refitted on train from the ablation's own
    answers and signals (abstention off), pulled towards the shipped weights; threshold on dev.
    Answers without signals ("no passage") keep their fixed decision."""

    def __init__(self, start_weights: dict | None, l2: float = 1.0) -> None:
        self.start = {"bias": 0.0, **(start_weights or {})}
        self.l2, self.weights, self.threshold, self.report = l2, dict(self.start), 0.5, {}

    @staticmethod
    def _examples(pairs: Sequence[tuple[Question, dict]]) -> list[Example]:
        return [Example(q.id, q.split, q.answerable, right_label(q, r), r.get("signals"), not r.get("abstained"),
                        float(r.get("confidence") or 0.0)) for q, r in pairs]

    def fit(self, train: Sequence[tuple[Question, dict]], dev: Sequence[tuple[Question, dict]]) -> dict:
        self.weights = fit_weights(self._examples(train), self.start, self.l2)
        self.threshold, accuracy = choose_threshold(self._examples(dev), self.weights)
        self.report = {"kind": "assistant confidence weights refitted", "n_train": len(train), "n_dev": len(dev),
                       "weights": self.weights, "threshold": self.threshold,
                       "dev_decision_accuracy": round(accuracy, 4)}
        return self.report

    def apply(self, response: dict) -> dict:
        if response.get("signals") is None:
            return response
        return _decide(response, confidence_from(response["signals"], self.weights), self.threshold)


def calibrate(examples: Sequence[Example], current_weights: dict | None, current_threshold: float,
              l2: float = 1.0) -> dict:
    """Fit on train, report train and dev for: current; threshold re-tuned with the current weights;
    fitted weights with their threshold (the one --write saves). (Named dev/test inside: fit/report.)"""
    dev = [e for e in examples if e.split == FIT_SPLIT]
    test = [e for e in examples if e.split == REPORT_SPLIT]
    start = {"bias": 0.0, **(current_weights or {})}
    weights = fit_weights(dev, start, l2)
    threshold, dev_accuracy = choose_threshold(dev, weights)
    retuned, _ = choose_threshold(dev, current_weights)
    settings = {
        "before": (current_weights, current_threshold),
        "threshold_only": (current_weights, retuned),
        "after": (weights, threshold),
    }
    report = {
        "label": FIT_LABEL,
        "objective": f"{FIT_SPLIT} accuracy of the answer/abstain decision (answer iff answerable and correct)",
        "fit_split": FIT_SPLIT, "report_split": REPORT_SPLIT,
        "l2": l2,
        "n_dev": len(dev), "n_test": len(test),
        "n_dev_fitted": sum(1 for e in dev if e.signals is not None),
        "dev_positive": sum(1 for e in dev if e.label),
        "threshold_before": current_threshold,
        "threshold_only": retuned,
        "threshold": threshold,
        "weights_before": start,
        "weights": weights,
        "dev_decision_accuracy": round(dev_accuracy, 4),
    }
    for split_name, rows in (("test", test), ("dev", dev)):
        report[split_name] = {name: evaluate(rows, w, t) for name, (w, t) in settings.items()}
    return report


def format_report(report: dict) -> str:
    from eval.report import text_table

    cols = ("abstention_precision", "abstention_recall", "false_abstention", "containment",
            "decision_accuracy", "wrong_answers_shown")
    lines = [f"label: {report['label']}; fitted on {report['n_dev_fitted']} of {report['n_dev']} {FIT_SPLIT} questions "
             f"({report['dev_positive']} positive), l2={report['l2']} towards the current weights",
             f"threshold: before {report['threshold_before']}, re-tuned with current weights "
             f"{report['threshold_only']}, with fitted weights {report['threshold']}",
             "weights before: " + ", ".join(f"{k}={v:g}" for k, v in report["weights_before"].items()),
             "weights after:  " + ", ".join(f"{k}={v:g}" for k, v in report["weights"].items())]
    for split, name in (("test", REPORT_SPLIT), ("dev", FIT_SPLIT)):
        rows = [[name_, *("-" if v.get(c) is None else (str(v[c]) if isinstance(v[c], int) else f"{v[c]:.3f}")
                          for c in cols)] for name_, v in report[split].items()]
        lines += ["", f"{name} split ({report['n_' + split]} questions):", text_table(["setting", *cols], rows)]
    return "\n".join(lines)


def calibrate_command(questions_file=None, corpus=None, index_dir=None, write: bool = False, as_json: bool = False,
                      l2: float = 1.0, rebuild: bool = False) -> int:
    from eval.catalogue import LETTERS_DIR, text_reader
    from eval.questions import load_questions, validate_questions
    from eval.runner import DEFAULT_INDEX_DIR, DEFAULT_QUESTIONS

    path = Path(questions_file) if questions_file else DEFAULT_QUESTIONS
    try:
        questions = load_questions(path)
    except FileNotFoundError:
        print(f"calibrate: no such questions file: {path}", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"calibrate: bad questions file {path}: {exc}", file=sys.stderr)
        return 2
    from index.building import NothingToIndex, build_index
    from index.embedding import ModelUnavailable
    from index.settings import Settings
    from index.store import IndexUnavailable
    from retrieval import Assistant

    corpus_dir = Path(corpus) if corpus else LETTERS_DIR
    settings = Settings.from_env(corpus_dir=corpus_dir, index_dir=Path(index_dir) if index_dir else DEFAULT_INDEX_DIR)
    if not corpus_dir.is_dir():
        print(f"calibrate: corpus directory not found: {corpus_dir}", file=sys.stderr)
        return 2
    problems = validate_questions(questions, corpus_dir, text_reader(corpus_dir))
    if problems:
        print(f"calibrate: {path} does not match the letters: {problems[0]}", file=sys.stderr)
        return 2
    questions = [q for q in questions if q.split in (FIT_SPLIT, REPORT_SPLIT)]  # never the test split
    if not any(q.split == FIT_SPLIT for q in questions) or not any(q.split == REPORT_SPLIT for q in questions):
        print(f"calibrate: the questions need both a {FIT_SPLIT} and a {REPORT_SPLIT} split", file=sys.stderr)
        return 2
    try:
        build_index(settings, rebuild=rebuild)
        assistant = Assistant.load(settings=settings)
    except (NothingToIndex, IndexUnavailable, ModelUnavailable) as exc:
        print(f"calibrate: {exc}", file=sys.stderr)
        return 2
    examples = collect(assistant, questions)
    report = calibrate(examples, assistant.weights, settings.abstain_threshold, l2)
    print(json.dumps(report, indent=1) if as_json else format_report(report))
    if write:
        print("calibrate: not written: the shipped confidence and threshold are fitted with the ranker by "
              "python -m eval fit --write", file=sys.stderr)
        return 2
    return 0
