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


def initials(name: str) -> str | None:
    """'Greater Manchester Combined Authority' -> 'gmca' (letters write organisations both ways)."""
    capitals = [w[0] for w in name.split() if w[:1].isupper()]
    return "".join(capitals).lower() if len(capitals) >= 3 else None


def alias_text(doc: DocumentRecord) -> str:
    """What a letter can be called: sender, role, organisation (and its initials), and the file name."""
    m = doc.metadata
    stem = re.sub(r"[-_.]+", " ", doc.source.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    parts = [m.sender, m.role, m.organisation, initials(m.organisation or ""), stem]
    return " | ".join(v for v in parts if v).lower()


def _contains(haystack: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", haystack) is not None


def _matches(question: str, documents: Sequence[DocumentRecord], max_n: int = 4) -> list[tuple[str, list[int], float]]:
    """(phrase, document ordinals, weight) for each question phrase found in the letters' metadata."""
    if len(documents) < 2:
        return []
    aliases = [alias_text(d) for d in documents]
    words = [m.group(0) for m in _WORD.finditer(question)]
    lowered = [w.lower().replace("’", "'") for w in words]
    used = [False] * len(words)
    found = []
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
            for j in range(i, i + n):
                used[j] = True
            found.append((phrase, [documents[o].ordinal for o in hits], weight))
    return found


def named_documents(question: str, documents: Sequence[DocumentRecord]) -> dict[int, float]:
    """{document ordinal: weight in (0, 1]} for letters whose metadata the question names."""
    weights: dict[int, float] = {}
    for _, ordinals, weight in _matches(question, documents):
        for o in ordinals:
            weights[o] = max(weights.get(o, 0.0), weight)
    return weights


def naming_phrases(question: str, documents: Sequence[DocumentRecord]) -> list[str]:
    """The phrases of the question that only say which letter is meant (e.g. "West Yorkshire")."""
    return [phrase for phrase, _, _ in _matches(question, documents)]
