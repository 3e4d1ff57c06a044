"""Word tokens for BM25 and lexical overlap: lower-cased, stop words dropped, light suffix folding
so that 'grants'/'grant' and 'funded'/'funding'/'fund' meet. A pure function over strings."""
from __future__ import annotations

import functools
import re

from .cleaning import strip_markup

# Bump when tokens() changes: the BM25 vocabulary of an existing index is then rebuilt.
TOKENIZER_VERSION = 2

STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself yourselves also
did does may might must shall us upon via per its etc whose within without tell say says said
""".split())
_WORD = re.compile(r"[a-z0-9£$€]+(?:['’][a-z0-9]+)*")


def fold(word: str) -> str:
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def words(text: str) -> list[str]:
    return _WORD.findall(strip_markup(text).lower().replace("’", "'"))


@functools.lru_cache(maxsize=65536)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(fold(w) for w in words(text) if w not in STOP_WORDS)


def tokens(text: str) -> list[str]:
    """Content tokens of `text` for BM25 and overlap scoring (cached: answering re-reads sentences)."""
    return list(_tokens(text))
