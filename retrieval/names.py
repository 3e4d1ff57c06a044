"""Which letters a question names: match the question's words against the metadata the index holds
(sender, role, organisation) — no list of names anywhere in the code.

A match weighs more when fewer letters share it (1 - df/N), so a phrase every letter has counts
for nothing; single generic words ("police", "mayor") never count on their own.
"""
from __future__ import annotations

import re
from typing import Sequence

from index.lexical import STOP_WORDS
from index.store import DocumentRecord

GENERIC = frozenset("""police policing crime commissioner commissioners office mayor deputy chief constable authority
combined council criminal justice and of for the pcc opcc letter letters response home secretary government
national force service""".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")


def alias_text(doc: DocumentRecord) -> str:
    m = doc.metadata
    return " | ".join(v for v in (m.sender, m.role, m.organisation) if v).lower()


def _contains(haystack: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", haystack) is not None


def named_documents(question: str, documents: Sequence[DocumentRecord], max_n: int = 4) -> dict[int, float]:
    """{document ordinal: weight in (0, 1]} for letters whose metadata the question names."""
    if len(documents) < 2:
        return {}
    aliases = [alias_text(d) for d in documents]
    words = [m.group(0) for m in _WORD.finditer(question)]
    lowered = [w.lower().replace("’", "'") for w in words]
    used = [False] * len(words)
    weights: dict[int, float] = {}
    for n in range(max_n, 0, -1):
        for i in range(len(words) - n + 1):
            if any(used[i:i + n]):
                continue
            gram = lowered[i:i + n]
            if gram[0] in STOP_WORDS or gram[-1] in STOP_WORDS:
                continue
            if n == 1 and (gram[0] in GENERIC or not words[i][:1].isupper() or len(gram[0]) < 3):
                continue
            phrase = " ".join(gram)
            hits = [o for o, alias in enumerate(aliases) if _contains(alias, phrase)]
            if not hits:
                continue
            weight = 1.0 - len(hits) / len(documents)
            if weight <= 0:
                continue
            for i_used in range(i, i + n):
                used[i_used] = True
            for o in hits:
                weights[documents[o].ordinal] = max(weights.get(documents[o].ordinal, 0.0), weight)
    return weights
