"""One confidence for every answer: P(the letters state the answer) x P(the best candidate is right |
they do), two logistic models over what the ranker says about its best candidate (its score, its margin
over the best rival that says something else, how well the question is covered) and whether the letter
states the asked thing or is only about its topic (the asked kind of span, the question's rarest and
focus words near it, in its letter at all). Fitted by `python -m eval fit` on the train questions
(ranker scores from models that did not see the question's letter), threshold chosen on dev; the same
function scores entity, clause, sentence, acronym and letter-field answers."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from .candidates import Candidate, same_answer
from .features import FEATURES

# Two fitted logistic models read these signals of a question's candidates (eval/fit.py):
# - answerability, P(the letters state the answer), over ANSWERABILITY + the question's category
#   probabilities, fitted on every train question; the abstention threshold applies to it;
# - correctness, P(the best candidate is right | the letters state it), over SIGNALS, fitted on the
#   answerable train questions.
# The confidence shown is their product, P(right); an abstention's is below the threshold since P <= 1.
# The drop-one ablation on dev of each signal is in the model's provenance (`python -m eval fit` redoes it).
SIGNALS = ("top_score", "margin", "sentence_similarity", "lexical_idf", "context_idf", "passage_overlap", "unknown",
           "category_probability", "letter_named", "is_field",
           # whether the letter states the asked thing or is only about its topic
           "type_agreement", "score_spread", "top_agreement", "focus_in_sentence", "rare_coverage",
           "letter_coverage", "letter_missing_idf")
CONFIDENCE_FEATURES = SIGNALS
# the best candidate of the kind the question asks for (whatever the ranker put first)
TYPED = ("typed_gap", "typed_similarity", "soft_type_agreement", "kind_probability", "best_similarity",
         "best_lexical_idf")
ANSWERABILITY = SIGNALS + TYPED
# Signals whose effect has a logical direction, kept in the fitted models as a sign constraint: covering
# more of the question can never make an answer less likely to be stated, missing words never more. The
# benchmark's unanswerable questions reuse their letter's words (near-topic by design), so without the
# constraint the fit learns the opposite, and an off-topic question ("What does Manchester United pay its
# players?") would look answerable because its words are missing.
DIRECTION = {"letter_coverage": 1, "letter_missing_idf": -1, "rare_coverage": 1, "focus_in_sentence": 1,
             "unknown": -1, "lexical_idf": 1, "context_idf": 1, "passage_overlap": 1}


def unsupported(found: Mapping[str, float]) -> bool:
    """A logical guard, not a fitted one (the fit cannot learn it: see DIRECTION): the best candidate's
    letter uses none of the question's words besides those naming a letter, so nothing in it ties a span
    of its text to what is asked ("What does Manchester United pay its players?"). A part of the letter
    itself (its sender, date, ...) can still answer. Its answerability counts as 0."""
    return found["letter_coverage"] <= 0.0 and not found["is_field"]
TOP = 5  # the ranker's top candidates whose spread and agreement are read (a page of alternatives)
# a kind counts as asked for when the kind model gives it at least half the probability of the likeliest
# kind: "how much / how many" questions split between money and number
ASKED_SHARE = 0.5
_COLUMN = {name: FEATURES.index(name) for name in ("kind", "sentence_similarity", "lexical_idf", "context_idf",
                                                    "letter_named", "focus_in_sentence", "rare_coverage",
                                                    "letter_coverage", "letter_missing_idf")}


def answerability_features(categories: Sequence[str]) -> tuple[str, ...]:
    return (*ANSWERABILITY, *(f"p:{c}" for c in categories))


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


def signals(candidates: Sequence[Candidate], rows: np.ndarray, scores: np.ndarray,
            category_probabilities: Mapping[str, float], passage_overlap: float, unknown: float,
            kind_probabilities: np.ndarray) -> dict[str, float]:
    """What the confidence models read about the best-scored candidate and its rivals."""
    best = candidates[int(np.argmax(scores))]
    return signals_of(rows, scores, lambda i: same_answer(candidates[i], best), best.kind.startswith("field:"),
                      category_probabilities, passage_overlap, unknown, kind_probabilities)


def signals_of(rows: np.ndarray, scores: np.ndarray, agrees: Callable[[int], bool], is_field: bool,
               category_probabilities: Mapping[str, float], passage_overlap: float, unknown: float,
               kind_probabilities: np.ndarray) -> dict[str, float]:
    """The signals of the question's candidates (feature rows, ranker scores) for its best one: `agrees(i)`
    tells whether candidate i gives the same answer as the best; a best with no rival that says something
    else gets a margin of 5 (more than any fitted ranker's score gap), as does a question with no
    candidate of the asked kind its typed gap."""
    order = np.argsort(-scores, kind="stable")
    top = int(order[0])
    row = rows[top]
    top_score = float(scores[top])
    rival = next((float(scores[i]) for i in order[1:] if not agrees(int(i))), None)
    head = order[1:TOP]
    kinds = rows[:, _COLUMN["kind"]].astype(int)
    asked = np.where((kinds >= 0) & (kinds < len(kind_probabilities)),
                     kind_probabilities[np.clip(kinds, 0, len(kind_probabilities) - 1)], 0.0)
    typed = asked >= ASKED_SHARE * float(kind_probabilities.max())
    page = order[:TOP]
    weights = np.exp(scores[page] - top_score)
    similarity = rows[:, _COLUMN["sentence_similarity"]]
    return {
        "top_score": top_score,
        "margin": 5.0 if rival is None else top_score - rival,
        "sentence_similarity": float(row[_COLUMN["sentence_similarity"]]),
        "lexical_idf": float(row[_COLUMN["lexical_idf"]]),
        "context_idf": float(row[_COLUMN["context_idf"]]),
        "passage_overlap": float(passage_overlap),
        "unknown": float(unknown),
        "category_probability": float(max(category_probabilities.values(), default=0.0)),
        "letter_named": float(row[_COLUMN["letter_named"]]),
        "is_field": float(is_field),
        # P(the question asks for a span of the best candidate's kind), from the kind model
        "type_agreement": float(asked[top]),
        "score_spread": top_score - float(np.mean(scores[head])) if len(head) else 5.0,
        "top_agreement": float(np.mean([agrees(int(i)) for i in head])) if len(head) else 1.0,
        "focus_in_sentence": float(row[_COLUMN["focus_in_sentence"]]),
        "rare_coverage": float(row[_COLUMN["rare_coverage"]]),
        "letter_coverage": float(row[_COLUMN["letter_coverage"]]),
        "letter_missing_idf": float(row[_COLUMN["letter_missing_idf"]]),
        "typed_gap": top_score - float(scores[typed].max()) if typed.any() else 5.0,
        "typed_similarity": float(similarity[typed].max()) if typed.any() else 0.0,
        "soft_type_agreement": float(weights @ asked[page] / weights.sum()),
        "kind_probability": float(kind_probabilities.max()),
        "best_similarity": float(similarity.max()),
        "best_lexical_idf": float(rows[:, _COLUMN["lexical_idf"]].max()),
        **{f"p:{c}": float(p) for c, p in category_probabilities.items()},
    }
