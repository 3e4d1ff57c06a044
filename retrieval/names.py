"""Which letters a question names: match the question's words against the metadata the index holds
(sender, role, organisation) — no list of names anywhere in the code.

A match weighs more when fewer letters share it (1 - df/N), so a phrase every letter has counts
for nothing; a single word counts on its own only when it is rare in the corpus (`retrieval.vocabulary`:
used by at most half the letters), so "police" or "council" in letters that all talk about them names
none of them, while "Manchester" or "Burns-Williamson" does.
"""
from __future__ import annotations

import re
from typing import Callable, Sequence

from index.lexical import STOP_WORDS
from index.store import DocumentRecord

from .vocabulary import Vocabulary

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")


def initials(name: str) -> str | None:
    """'Greater Manchester Combined Authority' -> 'gmca' (letters write organisations both ways)."""
    capitals = [w[0] for w in name.split() if w[:1].isupper()]
    return "".join(capitals).lower() if len(capitals) >= 3 else None


def alias_parts(doc: DocumentRecord) -> list[str]:
    """What a letter can be called: its sender, role and organisation (and the organisation's initials)."""
    m = doc.metadata
    return [v.lower() for v in (m.sender, m.role, m.organisation, initials(m.organisation or "")) if v]


def _grams(words: list[str], max_n: int) -> set[str]:
    return {" ".join(words[i:i + n]) for n in range(1, max_n + 1) for i in range(len(words) - n + 1)}


class NameIndex:
    """Every 1–4-word phrase of every letter's names, to the letters that have it: built once per
    index, so matching a question costs a few dictionary look-ups however many letters there are."""

    MAX_N = 4

    def __init__(self, documents: Sequence[DocumentRecord], is_rare: Callable[[str], bool] | None = None):
        """`is_rare(word)`: whether a word is rare enough in the corpus to name letters on its own (the
        letters' texts' vocabulary; by default the vocabulary of their names)."""
        self.documents = list(documents)
        self.phrases: dict[str, set[int]] = {}
        for doc in self.documents:
            for part in alias_parts(doc):
                for gram in _grams(_WORD.findall(part), self.MAX_N):
                    self.phrases.setdefault(gram, set()).add(doc.ordinal)
        self.is_rare = is_rare or Vocabulary.of(" ".join(alias_parts(doc)) for doc in self.documents).is_rare

    def matches(self, question: str, allowed: set[int] | None = None) -> list[tuple[str, list[int], float]]:
        """(phrase, document ordinals, weight) for each question phrase found in the letters' names;
        weight = 1 - (letters sharing it / letters searched)."""
        total = len(allowed) if allowed is not None else len(self.documents)
        if total < 2:
            return []
        words = [re.sub(r"['’]s$", "", w) for w in _WORD.findall(question)]  # "GMCA's" names the GMCA
        lowered = [w.lower().replace("’", "'") for w in words]
        used = [False] * len(words)
        found = []
        for n in range(self.MAX_N, 0, -1):
            for i in range(len(words) - n + 1):
                if any(used[i:i + n]):
                    continue
                gram = lowered[i:i + n]
                if gram[0] in STOP_WORDS or gram[-1] in STOP_WORDS:
                    continue
                if n == 1 and (not words[i][:1].isupper() or len(gram[0]) < 3 or not self.is_rare(gram[0])):
                    continue
                phrase = " ".join(gram)
                hits = self.phrases.get(phrase, set())
                if allowed is not None:
                    hits = hits & allowed
                if not hits:
                    continue
                weight = 1.0 - len(hits) / total
                if weight <= 0:
                    continue
                for j in range(i, i + n):
                    used[j] = True
                found.append((phrase, sorted(hits), weight))
        return found

    def weights(self, question: str, allowed: set[int] | None = None) -> dict[int, float]:
        """{document ordinal: weight in (0, 1]} for letters whose names the question uses."""
        return self.weights_of(self.matches(question, allowed))

    @staticmethod
    def weights_of(matches: list[tuple[str, list[int], float]]) -> dict[int, float]:
        out: dict[int, float] = {}
        for _, ordinals, weight in matches:
            for o in ordinals:
                out[o] = max(out.get(o, 0.0), weight)
        return out


def named_documents(question: str, documents: Sequence[DocumentRecord]) -> dict[int, float]:
    return NameIndex(documents).weights(question)
