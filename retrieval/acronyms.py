"""Acronyms a letter defines ("Safer Communities Fund (SCF)"): pure functions over its text."""
from __future__ import annotations

import re

_DEFINITION = re.compile(r"((?:[A-Z][\w'’-]*\s+(?:(?:of|and|the|for|on|&)\s+)*){1,8}?[A-Z][\w'’-]*)\s*\(([A-Z][A-Za-z]{1,9})\)")


def acronym_definitions(text: str) -> dict[str, tuple[int, int]]:
    """{"SCF": (start, end) of "Safer Communities Fund"} for every "Long Name (ACR)" in a letter whose
    initials spell the acronym."""
    found: dict[str, tuple[int, int]] = {}
    for match in _DEFINITION.finditer(text):
        acronym, words = match.group(2), match.group(1).split()
        capitals = [w for w in words if w[:1].isupper()]
        for n in range(len(capitals), 1, -1):
            initials = "".join(w[0] for w in capitals[-n:]).upper()
            if initials in (acronym.upper(), acronym.upper()[:-1] if acronym.endswith("s") else None):
                start = match.start(1) + _nth_from_end(match.group(1), n)
                found.setdefault(acronym, (start, match.end(1)))
                break
    return found


def _nth_from_end(phrase: str, n: int) -> int:
    """Offset in `phrase` of the n-th capitalised word counted from the end."""
    positions = [m.start() for m in re.finditer(r"\b[A-Z][\w'’-]*", phrase)]
    return positions[-n] if len(positions) >= n else 0


def expand_acronyms(text: str, definitions: dict[str, str]) -> str:
    """The long names of the acronyms a sentence uses, for lexical matching."""
    return " ".join(long for short, long in definitions.items() if re.search(rf"\b{re.escape(short)}\b", text))
