"""Fit the organisation model: ``python -m eval.fit_organisation [--write]``.

For each train letter, every candidate line the layout offers (`index.structure.organisation_candidates`)
is labelled right when it matches the gold organisation (the benchmark's own metadata comparison).
The weights maximise the probability of the right candidates under a softmax over each letter's
candidates (a conditional logit, L2-penalised, gradient descent in numpy). The penalty is chosen on dev
from a few values (dev organisation accuracy, ties to the stronger penalty); test letters are never read.
``--write`` saves the weights with their provenance to ``index/organisation_weights.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

import numpy as np

from eval.catalogue import LETTERS_DIR, load_catalogue, text_reader
from eval.metrics import metadata_match
from index.entities import extract_entities
from index.metadata import organisation_value
from index.organisation import WEIGHTS_FILE, choose_organisation
from index.structure import organisation_candidates

PENALTIES = (0.01, 0.1, 1.0)


def letter_sets(split: str):
    """(candidates, labels) per letter of the split, for letters with a gold organisation."""
    letters = [letter for letter in load_catalogue() if letter.split == split and letter.metadata.organisation]
    read = text_reader(LETTERS_DIR)
    texts = [read(letter.source) for letter in letters]
    out = []
    for letter, text, entities in zip(letters, texts, extract_entities(texts)):
        candidates = organisation_candidates(text, entities)
        labels = [metadata_match("organisation", organisation_value(text, c.part), letter.metadata.organisation)
                  for c in candidates]
        out.append((text, candidates, labels))
    return out


def fit(sets, names: list[str], l2: float, steps: int = 3000, rate: float = 0.5) -> np.ndarray:
    data = [(np.array([[c.features.get(n, 0.0) for n in names] for c in cands]), np.array(labels))
            for _, cands, labels in sets if cands and any(labels)]
    w = np.zeros(len(names))
    for _ in range(steps):
        grad = l2 * w
        for x, y in data:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            q = p * y / (p * y).sum()
            grad += x.T @ (p - q)
        w -= rate * grad / len(data)
    return w


def accuracy(sets, weights: dict[str, float]) -> float:
    right = 0
    for text, candidates, labels in sets:
        chosen = choose_organisation(candidates, weights)
        right += any(label for c, label in zip(candidates, labels) if c.part == chosen)
    return right / max(1, len(sets))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.fit_organisation", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"save the weights to {WEIGHTS_FILE}")
    args = parser.parse_args(argv)
    train, dev = letter_sets("train"), letter_sets("dev")
    names = sorted({n for _, cands, _ in train for c in cands for n in c.features})
    results = []
    for l2 in PENALTIES:
        w = fit(train, names, l2)
        weights = dict(zip(names, (round(float(v), 4) for v in w)))
        results.append((accuracy(dev, weights), l2, accuracy(train, weights), weights))
        print(f"l2={l2}: train accuracy {results[-1][2]:.3f}, dev accuracy {results[-1][0]:.3f}", file=sys.stderr)
    dev_acc, l2, train_acc, weights = max(results, key=lambda r: (r[0], r[1]))
    print(f"chosen l2={l2}: train {train_acc:.3f} ({len(train)} letters), dev {dev_acc:.3f} ({len(dev)} letters)")
    if args.write:
        provenance = {"fitted_on": f"benchmark train split: {len(train)} letters, "
                                   f"{sum(len(c) for _, c, _ in train)} candidate lines",
                      "penalty_chosen_on": f"dev split ({len(dev)} letters), from {list(PENALTIES)}",
                      "l2": l2, "train_accuracy": round(train_acc, 3), "dev_accuracy": round(dev_acc, 3),
                      "date": dt.date.today().isoformat(), "command": "python -m eval.fit_organisation --write"}
        WEIGHTS_FILE.write_text(json.dumps({"weights": weights, "provenance": provenance}, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
