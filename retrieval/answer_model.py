"""The fitted answer model, loaded as one: the question model, the candidate ranker (a tree ensemble),
the confidence weights and the abstention threshold, from `retrieval/answer_model.json`.

`python -m eval fit --write` writes that file: the question model, the ranker and the confidence are
fitted on the benchmark's train letters; their settings and the threshold are chosen on the dev
letters; `provenance` records the data, date, git commit and train/dev figures. Plain JSON: nothing
is unpickled, and a missing or damaged file is one line telling how to re-create it.

JSON: {"version": 2, "features": [...], "question_model": {...}, "ranker": {tree arrays},
       "confidence": {"features": [...], "mean", "scale", "weights", "bias"},
       "answerability": {"features": [...], "mean", "scale", "weights", "bias"}, "threshold": t, "provenance": {...}}
The threshold applies to the answerability: an answer is given when P(the letters state it) >= t.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embedding import ModelUnavailable

from .confidence import CONFIDENCE_FEATURES, Linear, answerability_features, unsupported
from .features import KINDS, RANKED
from .question_model import QuestionModel
from .trees import TreeEnsemble

MODEL_FILE = Path(__file__).resolve().parent / "answer_model.json"
VERSION = 3


class AnswerModelError(ModelUnavailable):
    """The answer model file is missing, unreadable or fitted for other features (one-line message;
    the CLI, the benchmark and the app report it as they report a missing embedding model)."""


def ranker_features(categories: tuple[str, ...]) -> tuple[str, ...]:
    """The ranker's columns: the candidate's FEATURES, the question's category probabilities and id,
    P(a span of the candidate's kind answers | the question) and that kind's rank among the kinds."""
    return (*RANKED, *(f"p:{c}" for c in categories), "category", "kind_prior", "kind_prior_rank",
            "kind_family_prior")


_KIND = RANKED.index("kind")
# a letter field and the entity kind its value is: "When was the X letter written?" may read to the kind
# model as a date question, and the letter's date line answers it as well as a date in its text would
_FIELD_VALUE_KIND = {"field:date": "date", "field:sender": "person", "field:recipient": "person",
                     "field:organisation": "organisation", "field:reference": "reference"}
_FAMILY = np.eye(len(KINDS))
for _field, _kind in _FIELD_VALUE_KIND.items():
    _FAMILY[KINDS.index(_field), KINDS.index(_kind)] = _FAMILY[KINDS.index(_kind), KINDS.index(_field)] = 1.0


def kind_prior(kind_probabilities: np.ndarray) -> np.ndarray:
    """Per kind in KINDS: its probability, its rank (0 = the most likely kind), and the probability of
    it or its family (a field and the entity kind of its value)."""
    order = np.argsort(-kind_probabilities, kind="stable")
    rank = np.empty(len(order))
    rank[order] = np.arange(len(order))
    return np.stack([kind_probabilities, rank, _FAMILY @ kind_probabilities], axis=1)


def with_question(rows: np.ndarray, probabilities: np.ndarray, kind_probabilities: np.ndarray) -> np.ndarray:
    """Append the question's category probabilities and most likely category id, and each row's kind
    prior (`kind_probabilities` over KINDS: what kind of span the kind model expects) and its rank."""
    tail = np.concatenate([probabilities, [float(np.argmax(probabilities))]])
    prior = kind_prior(kind_probabilities)[rows[:, _KIND].astype(int)] if len(rows) else np.zeros((0, 3))
    return np.hstack([rows[:, :len(RANKED)], np.broadcast_to(tail, (len(rows), len(tail))), prior])


@dataclass(frozen=True)
class AnswerModel:
    question_model: QuestionModel  # question -> answer category (date, person, letter_field, ...)
    kind_model: QuestionModel  # question -> kind of the span that answers it (its categories are KINDS)
    ranker: TreeEnsemble
    confidence_model: Linear  # P(the best candidate is right | the letters state the answer)
    answerability_model: Linear  # P(the letters state the answer)
    threshold: float  # on the answerability
    provenance: dict

    def kind_probabilities(self, question: str) -> np.ndarray:
        return self.kind_model.probabilities(question)

    def score(self, rows: np.ndarray, probabilities: np.ndarray, kind_probabilities: np.ndarray) -> np.ndarray:
        return self.ranker.predict(with_question(rows, probabilities, kind_probabilities))

    def answerability(self, found: dict[str, float]) -> float:
        if unsupported(found):
            return 0.0
        return self.answerability_model.probability(
            [found.get(name, 0.0) for name in answerability_features(self.question_model.categories)])

    def confidence(self, found: dict[str, float]) -> float:
        """P(right) = P(the letters state it) x P(this candidate is it | they do)."""
        return self.answerability(found) * self.confidence_model.probability([found[name] for name in CONFIDENCE_FEATURES])

    @classmethod
    def load(cls, path: Path | str = MODEL_FILE) -> "AnswerModel":
        path = Path(path)
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
            raise AnswerModelError(f"cannot read the answer model {path} ({reason}); "
                                   f"re-create it with: python -m eval fit --write") from None
        try:
            return cls.from_json(obj)
        except (KeyError, TypeError, ValueError) as exc:
            raise AnswerModelError(f"the answer model {path} is not usable ({str(exc).splitlines()[0] or type(exc).__name__}); "
                                   f"re-create it with: python -m eval fit --write") from None

    @classmethod
    def from_json(cls, obj: dict) -> "AnswerModel":
        if not isinstance(obj, dict) or obj.get("version") != VERSION:
            raise ValueError(f"expected version {VERSION}")
        question_model = QuestionModel.from_json(obj["question_model"])
        if tuple(obj["features"]) != ranker_features(question_model.categories):
            raise ValueError("fitted for other features")
        kind_model = QuestionModel.from_json(obj["kind_model"])
        if kind_model.categories != KINDS:
            raise ValueError("kind model fitted for other kinds")
        ranker = TreeEnsemble.from_json(obj["ranker"])
        if ranker.n_features != len(obj["features"]):
            raise ValueError("ranker and feature list disagree")
        if tuple(obj["confidence"]["features"]) != CONFIDENCE_FEATURES:
            raise ValueError("confidence fitted for other signals")
        answerability = answerability_features(question_model.categories)
        if tuple(obj["answerability"]["features"]) != answerability:
            raise ValueError("answerability fitted for other signals")
        threshold = float(obj["threshold"])
        if not 0.0 <= threshold <= 1.0:
            raise ValueError("threshold outside [0, 1]")
        return cls(question_model, kind_model, ranker, Linear.from_json(obj["confidence"], len(CONFIDENCE_FEATURES)),
                   Linear.from_json(obj["answerability"], len(answerability)), threshold, dict(obj.get("provenance", {})))

    def to_json(self) -> dict:
        return {"version": VERSION, "features": list(ranker_features(self.question_model.categories)),
                "threshold": round(float(self.threshold), 4), "provenance": self.provenance,
                "question_model": self.question_model.to_json(),
                "kind_model": self.kind_model.to_json(), "ranker": self.ranker.to_json(),
                "confidence": {"features": list(CONFIDENCE_FEATURES), **self.confidence_model.to_json()},
                "answerability": {"features": list(answerability_features(self.question_model.categories)),
                                  **self.answerability_model.to_json()}}
