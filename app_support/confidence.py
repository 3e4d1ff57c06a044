"""Confidence in words a reader can act on, with bands taken from the calibrated confidence.

`retrieval/answer_model.json` holds a confidence fitted on the train questions: an answer's
confidence estimates the chance that it is right, and its `threshold` (loaded into
`Settings.abstain_threshold`) is the answerability below which the assistant abstains ("Not in the
letters"); an answer given is "Possible" or "Found", never "Not in the letters". The "Found in the letter" band starts where the estimated chance
of a wrong answer is half of what it is at the threshold: 1 - found = (1 - threshold) / 2. Halving
is a choice about wording, not a fitted value: the dev split (71 questions) is too small to fit a
second cut-off with any precision, and "half the risk of the weakest answer we show" is a rule a
reader can be told. Raw scores are never shown.
"""
from __future__ import annotations

from dataclasses import dataclass

FOUND = "Found in the letter"
POSSIBLE = "Possible answer — check the source"
NOT_FOUND = "Not in the letters"


@dataclass(frozen=True)
class ConfidenceBands:
    answer: float  # the calibrated abstention threshold: below it, no answer
    found: float  # at or above it, "Found in the letter"

    @classmethod
    def from_threshold(cls, threshold: float) -> "ConfidenceBands":
        threshold = max(0.0, min(1.0, float(threshold)))
        return cls(threshold, 1.0 - (1.0 - threshold) / 2)


def confidence_words(abstained: bool, confidence: float, bands: ConfidenceBands) -> str:
    if abstained:
        return NOT_FOUND
    return FOUND if confidence >= bands.found else POSSIBLE


def confidence_help(bands: ConfidenceBands) -> str:
    """The tooltip: what the words mean, without numbers a reader would have to interpret."""
    return (f"“{FOUND}”: the quoted sentence very likely answers the question. "
            f"“{POSSIBLE}”: the sentence may answer it; read it in the letter before relying on it. "
            f"“{NOT_FOUND}”: no sentence in the letters answers it clearly enough to quote.")
