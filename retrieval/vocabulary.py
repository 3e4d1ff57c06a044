"""In how many letters each word occurs: the corpus statistic that tells a word naming a letter
("Yorkshire", "Burns-Williamson") from one most letters use ("Police", "Council", "Dear").

Pure: texts in, counts out. Words are index.lexical.words (lower-cased, markup removed), so the
same word is counted however the letter writes it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from index.lexical import words

# A word is rare when at most this share of the letters use it: IDF >= log 2. Half is the one
# cut that means something at every corpus size (with 2 letters: in one of them, not both); it is
# not fitted to any letters.
RARE_SHARE = 0.5


@dataclass(frozen=True)
class Vocabulary:
    letters: int
    frequency: Mapping[str, int] = field(default_factory=dict)  # word → letters using it

    @classmethod
    def of(cls, texts: Iterable[str]) -> "Vocabulary":
        counts: Counter[str] = Counter()
        letters = 0
        for text in texts:
            letters += 1
            counts.update(set(words(text)))
        return cls(letters, dict(counts))

    def letters_using(self, word: str) -> int:
        return self.frequency.get(word.lower().replace("’", "'"), 0)

    def is_rare(self, word: str) -> bool:
        """Used by at most RARE_SHARE of the letters (at most one when there are fewer than four)."""
        return self.letters_using(word) <= max(1, int(self.letters * RARE_SHARE))

    def names_something(self, phrase: str) -> bool:
        """The phrase has a rare word, so it can single letters out; "Police and Crime" in letters
        that all talk about police and crime cannot."""
        return any(self.is_rare(w) for w in words(phrase))
