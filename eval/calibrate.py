"""Calibrating abstention: ``python -m eval calibrate [--questions FILE] [--write]``.

1. Every question (dev and test) goes through the full system with the abstention threshold at 0,
   so each one that reaches answer extraction comes back with an answer *and* its confidence
   signals (``Answer.signals``).
2. Label: **answerable and the answer is right** (containment of a gold answer). Confidence should
   predict "showing this answer is right", not merely "the letters say something about it": an
   answerable question answered wrongly is better abstained on, and it scores 0 on containment
   either way, so abstaining on it costs nothing on the answer metrics.
3. The weights of ``retrieval.extraction.confidence`` (a logistic model over FEATURE_NAMES plus a
   bias) are fitted on dev by L2-regularised logistic regression (Newton's method in numpy). The
   penalty ``l2/2 * ||w - DEFAULT_WEIGHTS||^2`` pulls towards the hand-set defaults rather than
   towards 0: with ~70 dev questions and 7 parameters the defaults are the better prior.
4. The threshold is chosen on dev to maximise the accuracy of the answer/abstain decision against
   the same label (answer iff right). Of equally good thresholds the middle one is taken.
5. Before/after figures are reported on the held-out test split (and dev for reference).

Answers without signals do not depend on the weights: letter-field answers ("who signed…") are
always given with confidence 0.9, and "no passage/sentence" abstentions always abstain. They are
left out of the fit and counted with their fixed decision in the figures.
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
    from retrieval.extraction import FEATURE_NAMES
    return [float(signals[name]) for name in FEATURE_NAMES]


def confidence_of(example: Example, weights: dict | None) -> float:
    """The confidence the assistant would compute from these signals with these weights."""
    from retrieval.extraction import ConfidenceFeatures, confidence

    s = example.signals
    f = ConfidenceFeatures(similarity=s["similarity"], sentence_overlap=s["sentence_overlap"],
                           passage_overlap=s["passage_overlap"], typed=bool(s["typed"]),
                           type_missing=bool(s["type_missing"]), unknown=s["unknown"])
    return confidence(f, weights)


def answers(example: Example, weights: dict | None, threshold: float) -> bool:
    if example.signals is None:
        return example.fixed_answer
    return confidence_of(example, weights) >= threshold


def fit_weights(examples: Sequence[Example], start: dict, l2: float = 1.0, iterations: int = 50) -> dict:
    """L2-regularised logistic regression (towards `start`) by Newton's method."""
    from retrieval.extraction import FEATURE_NAMES

    rows = [e for e in examples if e.signals is not None]
    names = ("bias", *FEATURE_NAMES)
    w0 = np.array([float(start[n]) for n in names])
    if not rows:
        return dict(start)
    X = np.array([[1.0, *features(e.signals)] for e in rows])
    y = np.array([1.0 if e.label else 0.0 for e in rows])
    w = w0.copy()
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(X @ w)))
        grad = X.T @ (p - y) + l2 * (w - w0)
        hess = X.T @ (X * (p * (1 - p))[:, None]) + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return {n: round(float(v), 4) for n, v in zip(names, w)}


def choose_threshold(examples: Sequence[Example], weights: dict | None) -> tuple[float, float]:
    """(threshold, dev decision accuracy): maximise accuracy of "answer iff label"; middle of the ties."""
    scored = [(confidence_of(e, weights), e.label) for e in examples if e.signals is not None]
    fixed_right = sum(1 for e in examples if e.signals is None and e.fixed_answer == e.label)
    if not scored:
        return 0.5, fixed_right / max(1, len(examples))
    values = sorted({c for c, _ in scored})
    candidates = [0.0] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [min(1.0, values[-1] + 1e-6)]
    results = []
    for t in candidates:
        right = sum(1 for c, label in scored if (c >= t) == label) + fixed_right
        results.append((right, t))
    best = max(r for r, _ in results)
    ties = [t for r, t in results if r == best]
    return round(ties[len(ties) // 2], 4), best / len(examples)


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


def calibrate(examples: Sequence[Example], current_weights: dict | None, current_threshold: float,
              l2: float = 1.0) -> dict:
    """Fit on dev, report dev and test for: current; threshold re-tuned with the current weights;
    fitted weights with their threshold (the one --write saves)."""
    from retrieval.extraction import DEFAULT_WEIGHTS

    dev = [e for e in examples if e.split == "dev"]
    test = [e for e in examples if e.split == "test"]
    start = {**DEFAULT_WEIGHTS, **(current_weights or {})}
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
        "objective": "dev accuracy of the answer/abstain decision (answer iff answerable and correct)",
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
    lines = [f"label: {report['label']}; fitted on {report['n_dev_fitted']} of {report['n_dev']} dev questions "
             f"({report['dev_positive']} positive), l2={report['l2']} towards the current weights",
             f"threshold: before {report['threshold_before']}, re-tuned with current weights "
             f"{report['threshold_only']}, with fitted weights {report['threshold']}",
             "weights before: " + ", ".join(f"{k}={v:g}" for k, v in report["weights_before"].items()),
             "weights after:  " + ", ".join(f"{k}={v:g}" for k, v in report["weights"].items())]
    for split in ("test", "dev"):
        rows = [[name, *("-" if v.get(c) is None else (str(v[c]) if isinstance(v[c], int) else f"{v[c]:.3f}")
                         for c in cols)] for name, v in report[split].items()]
        lines += ["", f"{split} split ({report['n_' + split]} questions):", text_table(["setting", *cols], rows)]
    return "\n".join(lines)


def calibrate_command(questions_file=None, corpus=None, index_dir=None, write: bool = False, as_json: bool = False,
                      l2: float = 1.0, rebuild: bool = False) -> int:
    from eval.questions import load_questions, validate_questions
    from eval.runner import DEFAULT_QUESTIONS

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

    settings = Settings.from_env(corpus_dir=corpus, index_dir=index_dir)
    if not Path(settings.corpus_dir).is_dir():
        print(f"calibrate: corpus directory not found: {settings.corpus_dir}", file=sys.stderr)
        return 2
    problems = validate_questions(questions, settings.corpus_dir)
    if problems:
        print(f"calibrate: {path} does not match the corpus: {problems[0]}", file=sys.stderr)
        return 2
    if not any(q.split == "dev" for q in questions) or not any(q.split == "test" for q in questions):
        print("calibrate: the questions need both a dev and a test split", file=sys.stderr)
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
        from retrieval.calibration import save_calibration
        from index.settings import CALIBRATION_FILE

        save_calibration(report["threshold"], report["weights"], report)
        print(f"wrote {CALIBRATION_FILE}", file=sys.stderr)
    return 0
