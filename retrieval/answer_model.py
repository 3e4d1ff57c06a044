"""The fitted answer model: which kind of span a question wants, which candidate answers it, and how
sure to be. Pure numpy over weights loaded from `retrieval/answer_model.json`.

`python -m eval fit` writes that file: every weight comes from the benchmark's train letters, the
regularisation and the abstention threshold are chosen on the dev letters, and the file records its
provenance (data, date, metrics). It is plain JSON; nothing is unpickled.

JSON: {"version": 1, "kinds": [...], "features": [...],
       "question_model": {"vocabulary": {"w:when": 0, ...}, "categories": [...], "weights": [[...]],
                          "bias": [...], "kind_given_category": [[...]]},
       "sentence_ranker": {"mean": [...], "scale": [...], "weights": [...], "bias": b}, "span_ranker": {...},
       "confidence": {"features": [...], "mean": [...], "scale": [...], "weights": [...], "bias": b},
       "threshold": t, "provenance": {...}}
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .candidates import FEATURES, KINDS, SENTENCE_FEATURES, SPAN_FEATURES

SENTENCE_COLUMNS = [FEATURES.index(name) for name in SENTENCE_FEATURES]
SPAN_COLUMNS = [FEATURES.index(name) for name in SPAN_FEATURES]

MODEL_FILE = Path(__file__).resolve().parent / "answer_model.json"
CONFIDENCE_FEATURES = ("top_score", "margin", "sentence_similarity", "lexical", "passage_overlap", "unknown",
                       "kind_prior", "is_field")
_WORD = re.compile(r"[a-z0-9£$%]+(?:'[a-z]+)?")


def question_terms(question: str) -> list[str]:
    """The question's words, its word pairs and its opening words: what the question model reads.
    Function words stay in: "when", "how many", "who wrote" are what tell the kinds apart."""
    found = _WORD.findall(question.lower().replace("’", "'"))
    terms = [f"w:{w}" for w in found] + [f"b:{a}_{b}" for a, b in zip(found, found[1:])]
    if found:
        terms.append(f"first:{found[0]}")
        terms.append(f"first2:{'_'.join(found[:2])}")
    return terms


@dataclass(frozen=True)
class Linear:
    """Standardised inputs, one weight vector, a logistic output."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def logits(self, rows: np.ndarray) -> np.ndarray:
        return ((rows - self.mean) / self.scale) @ self.weights + self.bias

    @classmethod
    def from_json(cls, obj: dict) -> "Linear":
        return cls(np.asarray(obj["mean"], float), np.asarray(obj["scale"], float),
                   np.asarray(obj["weights"], float), float(obj["bias"]))

    def to_json(self) -> dict:
        return {"mean": _round(self.mean), "scale": _round(self.scale), "weights": _round(self.weights),
                "bias": round(float(self.bias), 6)}


@dataclass(frozen=True)
class QuestionModel:
    """What a question asks for. A multinomial logistic regression reads the question's terms and gives
    the probability of each answer category (date, amount, person, letter field, ...); a table counted
    on the train questions turns categories into the kinds of span that answered them."""

    vocabulary: dict[str, int]
    weights: np.ndarray  # (n_terms, n_categories)
    bias: np.ndarray  # (n_categories,)
    categories: tuple[str, ...]
    kind_given_category: np.ndarray  # (n_categories, n_kinds), rows sum to 1
    kinds: tuple[str, ...]

    def category_probabilities(self, question: str) -> np.ndarray:
        z = self.bias.copy()
        for term in set(question_terms(question)):
            row = self.vocabulary.get(term)
            if row is not None:
                z = z + self.weights[row]
        z = np.exp(z - z.max())
        return z / z.sum()

    def prior(self, question: str) -> dict[str, float]:
        if not self.categories:
            return {}
        p = self.category_probabilities(question) @ self.kind_given_category
        return dict(zip(self.kinds, (float(v) for v in p)))

    @classmethod
    def from_json(cls, obj: dict, kinds: tuple[str, ...]) -> "QuestionModel":
        return cls(dict(obj["vocabulary"]), np.asarray(obj["weights"], float).reshape(len(obj["vocabulary"]), -1),
                   np.asarray(obj["bias"], float), tuple(obj["categories"]),
                   np.asarray(obj["kind_given_category"], float), kinds)

    def to_json(self) -> dict:
        return {"vocabulary": self.vocabulary, "categories": list(self.categories),
                "weights": [_round(r) for r in self.weights], "bias": _round(self.bias),
                "kind_given_category": [_round(r) for r in self.kind_given_category]}


@dataclass(frozen=True)
class AnswerModel:
    kinds: tuple[str, ...]
    question_model: QuestionModel
    sentence_ranker: Linear
    span_ranker: Linear
    confidence_model: Linear
    threshold: float
    provenance: dict

    def kind_prior(self, question: str) -> dict[str, float]:
        return self.question_model.prior(question)

    def rank(self, rows: list[list[float]]) -> np.ndarray:
        """log P(the unit holds the answer) + log P(this span is the answer | its unit does)."""
        if len(rows) == 0:
            return np.zeros(0)
        matrix = np.asarray(rows, float)
        return (log_sigmoid(self.sentence_ranker.logits(matrix[:, SENTENCE_COLUMNS]))
                + log_sigmoid(self.span_ranker.logits(matrix[:, SPAN_COLUMNS])))

    def confidence(self, signals: dict[str, float]) -> float:
        row = np.asarray([[signals[name] for name in CONFIDENCE_FEATURES]], float)
        z = float(self.confidence_model.logits(row)[0])
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    @classmethod
    def load(cls, path: Path | str = MODEL_FILE) -> "AnswerModel":
        try:
            obj = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"cannot read the answer model {path} ({exc}); re-create it with: python -m eval fit") from None
        if tuple(obj.get("features", ())) != FEATURES or tuple(obj.get("kinds", ())) != KINDS \
                or tuple(obj.get("confidence_features", ())) != CONFIDENCE_FEATURES:
            raise RuntimeError(f"the answer model {path} was fitted for other features; re-fit it with: python -m eval fit")
        kinds = tuple(obj["kinds"])
        return cls(kinds, QuestionModel.from_json(obj["question_model"], kinds),
                   Linear.from_json(obj["sentence_ranker"]), Linear.from_json(obj["span_ranker"]),
                   Linear.from_json(obj["confidence"]), float(obj["threshold"]), dict(obj.get("provenance", {})))

    def to_json(self) -> dict:
        return {"version": 1, "kinds": list(self.kinds), "features": list(FEATURES),
                "confidence_features": list(CONFIDENCE_FEATURES),
                "question_model": self.question_model.to_json(),
                "sentence_ranker": self.sentence_ranker.to_json(), "span_ranker": self.span_ranker.to_json(),
                "confidence": self.confidence_model.to_json(), "threshold": round(float(self.threshold), 4),
                "provenance": self.provenance}


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -z)


def _round(values) -> list[float]:
    return [round(float(v), 6) for v in np.asarray(values).ravel()]
