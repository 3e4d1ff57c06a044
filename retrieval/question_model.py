"""What a question asks for: a multinomial logistic regression over the question's words, word pairs
and opening words gives the probability of each answer category (date, amount, person, letter field,
...). Fitted by `python -m eval fit` on the train questions; pure numpy at run time."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"[a-z0-9£$%]+(?:'[a-z]+)?")


def question_terms(question: str) -> list[str]:
    """The question's words, its word pairs and its opening words. Function words stay in: "when",
    "how many", "who wrote" are what tell the categories apart."""
    found = _WORD.findall(question.lower().replace("’", "'"))
    terms = [f"w:{w}" for w in found] + [f"b:{a}_{b}" for a, b in zip(found, found[1:])]
    if found:
        terms.append(f"first:{found[0]}")
        terms.append(f"first2:{'_'.join(found[:2])}")
    return terms


@dataclass(frozen=True)
class QuestionModel:
    vocabulary: dict[str, int]
    weights: np.ndarray  # (n_terms, n_categories)
    bias: np.ndarray  # (n_categories,)
    categories: tuple[str, ...]

    def probabilities(self, question: str) -> np.ndarray:
        z = self.bias.copy()
        for term in set(question_terms(question)):
            row = self.vocabulary.get(term)
            if row is not None:
                z = z + self.weights[row]
        z = np.exp(z - z.max())
        return z / z.sum()

    def category(self, question: str) -> str:
        return self.categories[int(np.argmax(self.probabilities(question)))]

    @classmethod
    def from_json(cls, obj: dict) -> "QuestionModel":
        categories = tuple(obj["categories"])
        weights = np.asarray(obj["weights"], float).reshape(len(obj["vocabulary"]), len(categories))
        bias = np.asarray(obj["bias"], float)
        if bias.shape != (len(categories),) or not np.isfinite(weights).all() or not np.isfinite(bias).all():
            raise ValueError("question model weights do not match its categories")
        return cls(dict(obj["vocabulary"]), weights, bias, categories)

    def to_json(self) -> dict:
        return {"categories": list(self.categories), "vocabulary": self.vocabulary,
                "weights": [[round(float(v), 6) for v in row] for row in self.weights],
                "bias": [round(float(v), 6) for v in self.bias]}
