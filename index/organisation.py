"""Which of a letter's candidate lines names the organisation it comes from: a weighing of layout evidence
(letterhead position, signature position, the entity model's labels, line shape), scored by a linear model
fitted on the benchmark's train letters (`python -m eval.fit_organisation`, weights in
`organisation_weights.json` with their provenance). Pure: features in, choice out."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

WEIGHTS_FILE = Path(__file__).with_name("organisation_weights.json")


@dataclass(frozen=True)
class Candidate:
    part: Any  # structure.Part: where the candidate is in the canonical text
    features: Mapping[str, float]


@lru_cache(maxsize=1)
def load_weights(path: Path = WEIGHTS_FILE) -> dict[str, float]:
    """The fitted weights ({} when none have been fitted: the layout rules decide alone)."""
    try:
        return {str(k): float(v) for k, v in json.loads(path.read_text(encoding="utf-8"))["weights"].items()}
    except FileNotFoundError:
        return {}


def score(features: Mapping[str, float], weights: Mapping[str, float]) -> float:
    return weights.get("bias", 0.0) + sum(weights.get(name, 0.0) * value for name, value in features.items())


def choose_organisation(candidates: list[Candidate], weights: Mapping[str, float] | None = None):
    """The best-scoring candidate's part, or None when there is no model or no candidate."""
    weights = load_weights() if weights is None else weights
    if not weights or not candidates:
        return None
    best = max(candidates, key=lambda c: (score(c.features, weights), -c.part.start))
    return best.part


def probabilities(candidates: list[Candidate], weights: Mapping[str, float]) -> list[float]:
    """Softmax of the scores over one letter's candidates (what the fit maximises for the right one)."""
    scores = [score(c.features, weights) for c in candidates]
    top = max(scores)
    exp = [math.exp(s - top) for s in scores]
    total = sum(exp)
    return [e / total for e in exp]
