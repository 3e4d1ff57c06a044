"""What flows between the indexing stages. All offsets are character offsets into `Document.text`,
the document's canonical text (for .txt/.md exactly `read_text(encoding="utf-8-sig")`)."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LetterMetadata:
    """What a reader looks for in a letter; a field the text does not state is None.

    JSON: {"sender": "Mark Burns-Williamson OBE", "role": "Police and Crime Commissioner for West Yorkshire",
           "organisation": "...", "date": "2020-06-19", "recipient": "Home Secretary",
           "subject": "...", "reference": "OPCC/MBW/NF", "title": "..."}
    """

    sender: str | None = None
    role: str | None = None
    organisation: str | None = None
    date: str | None = None
    recipient: str | None = None
    subject: str | None = None
    reference: str | None = None
    title: str | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict) -> "LetterMetadata":
        return cls(**{k: obj.get(k) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Document:
    """A loaded letter. `pages` holds (page_number, char_start) for PDFs, empty otherwise."""

    doc_id: str
    source: str
    text: str
    sha256: str
    format: str
    pages: tuple[tuple[int, int], ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Span:
    """A sentence (or a letterhead line) of a document: text[start:end]. `boilerplate` marks text that
    repeats as letterhead/footer."""

    start: int
    end: int
    boilerplate: bool = False


@dataclass(frozen=True)
class Chunk:
    """A passage of consecutive sentences within the token budget.

    `text` == document.text[char_start:char_end]; `embed_text` is the same text with markup removed,
    which is what is embedded and BM25-indexed.
    """

    chunk_id: str
    doc_id: str
    source: str
    char_start: int
    char_end: int
    text: str
    embed_text: str
    n_tokens: int
    sentence_ids: tuple[int, ...] = field(default=())
    boilerplate: bool = False

    @property
    def content_hash(self) -> str:
        return sha256_text(self.embed_text)


def printable(text: str) -> str:
    """`text` safe to print on one line: a byte that was not UTF-8 (a lone surrogate from
    surrogateescape) shows as \\xNN, other lone surrogates as \\uNNNN, control characters (newlines
    included) as their escapes; everything else as it is."""
    out = []
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        elif code < 32 or code == 127 or 0x80 <= code < 0xA0 or code in (0x2028, 0x2029):
            out.append(repr(char)[1:-1])
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str

    def line(self) -> str:
        return f"skipped {printable(self.path)}: {printable(self.reason)}"
