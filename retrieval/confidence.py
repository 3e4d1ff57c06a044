"""One confidence for every answer: a logistic model over what the ranker says about its best
candidate (its score, its margin over the best rival that says something else, how well the question
is covered). Fitted by `python -m eval fit` on the train questions (ranker scores from models that did
not see the question's letter), threshold chosen on dev; the same function scores entity, clause,
sentence, acronym and letter-field answers."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .candidates import Candidate, same_answer
from .features import FEATURES

# Measured on dev: adding the share of unknown question words, the neighbourhood overlap or the named-letter
# weight made the fitted confidence worse on off-topic questions (train has none), so they are left out.
CONFIDENCE_FEATURES = ("top_score", "margin", "sentence_similarity", "lexical_idf", "passage_overlap",
                       "category_probability", "is_field")
_COLUMN = {name: FEATURES.index(name) for name in ("sentence_similarity", "lexical_idf", "context_idf",
                                                    "letter_named")}


@dataclass(frozen=True)
class Linear:
    """Standardised inputs, one weight vector, a logistic output."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def probability(self, row: Sequence[float]) -> float:
        z = float(((np.asarray(row, float) - self.mean) / self.scale) @ self.weights + self.bias)
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    @classmethod
    def from_json(cls, obj: dict, n: int) -> "Linear":
        parts = [np.asarray(obj[k], float) for k in ("mean", "scale", "weights")]
        if any(p.shape != (n,) for p in parts) or not all(np.isfinite(p).all() for p in parts) \
                or (parts[1] <= 0).any() or not math.isfinite(float(obj["bias"])):
            raise ValueError(f"confidence weights must be {n} finite numbers each (scales > 0)")
        return cls(*parts, float(obj["bias"]))

    def to_json(self) -> dict:
        return {"mean": [round(float(v), 6) for v in self.mean], "scale": [round(float(v), 6) for v in self.scale],
                "weights": [round(float(v), 6) for v in self.weights], "bias": round(float(self.bias), 6)}


def signals(candidates: Sequence[Candidate], rows: np.ndarray, scores: np.ndarray, category_probability: float,
            passage_overlap: float, unknown: float) -> dict[str, float]:
    """What the confidence model reads about the best-scored candidate."""
    order = np.argsort(-scores, kind="stable")
    top = int(order[0])
    best = candidates[top]
    rival = next((float(scores[i]) for i in order[1:] if not same_answer(candidates[int(i)], best)), None)
    return signals_of(rows[top], float(scores[top]), rival, best.kind.startswith("field:"), category_probability,
                      passage_overlap, unknown)


def signals_of(row: np.ndarray, top_score: float, rival: float | None, is_field: bool, category_probability: float,
               passage_overlap: float, unknown: float) -> dict[str, float]:
    """The signals of a best candidate (its feature row and ranker score) and the best rival that says
    something else (None when there is none: counted as 5 below)."""
    return {
        "top_score": top_score,
        "margin": top_score - (top_score - 5.0 if rival is None else rival),
        "sentence_similarity": float(row[_COLUMN["sentence_similarity"]]),
        "lexical_idf": float(row[_COLUMN["lexical_idf"]]),
        "context_idf": float(row[_COLUMN["context_idf"]]),
        "passage_overlap": float(passage_overlap),
        "unknown": float(unknown),
        "category_probability": float(category_probability),
        "letter_named": float(row[_COLUMN["letter_named"]]),
        "is_field": float(is_field),
    }
