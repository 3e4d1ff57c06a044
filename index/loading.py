"""Find the letters under a corpus folder and read each into a `Document` with its canonical text.

The pure core decodes bytes (`decode_text`, `read_pdf_bytes`, `read_docx_bytes`); `discover` and
`load_document` are the thin file-system shell. Every file that cannot be used becomes a `Skipped`
with a one-line reason; nothing raises for a bad file.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .records import Document, Skipped

log = logging.getLogger(__name__)

TEXT_FORMATS = {".txt": "txt", ".md": "md", ".markdown": "md"}
BINARY_FORMATS = {".pdf": "pdf", ".docx": "docx"}
SUPPORTED = {**TEXT_FORMATS, **BINARY_FORMATS}


class Unreadable(ValueError):
    """A file's content cannot be turned into text; the message is the reason shown to the user."""


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    source: str  # relative to the corpus root, "/" separators
    format: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Discovery:
    files: tuple[CorpusFile, ...]
    skipped: tuple[Skipped, ...]
    ignored: int  # files with an unsupported extension


def discover(corpus_dir: Path, max_file_bytes: int) -> Discovery:
    """Every supported file under corpus_dir, recursively, in a stable order.

    Hidden files and folders are passed over (a hidden letter is reported); symlinks are followed
    only when they resolve inside the corpus; unsupported extensions are counted, not reported.
    """
    root = Path(corpus_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus directory {root} does not exist or is not a folder")
    root_real = root.resolve()
    files: list[CorpusFile] = []
    skipped: list[Skipped] = []
    ignored = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            source = path.relative_to(root).as_posix()
            suffix = path.suffix.lower()
            if suffix not in SUPPORTED:
                ignored += 1
                continue
            if name.startswith("."):
                skipped.append(Skipped(source, "hidden file"))
                continue
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root_real):
                    skipped.append(Skipped(source, "symlink leads outside the corpus; not followed"))
                    continue
            try:
                stat = path.stat()
            except OSError as exc:
                skipped.append(Skipped(source, f"cannot read file ({exc.strerror or exc})"))
                continue
            if stat.st_size > max_file_bytes:
                skipped.append(Skipped(source, f"file is {stat.st_size / 1048576:.1f} MB, over the "
                                               f"{max_file_bytes / 1048576:.0f} MB limit"))
                continue
            files.append(CorpusFile(path, source, SUPPORTED[suffix], stat.st_size, stat.st_mtime_ns))
    return Discovery(tuple(files), tuple(skipped), ignored)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_doc_id(source: str, sha256: str) -> str:
    return hashlib.sha256(f"{source}\0{sha256}".encode()).hexdigest()[:16]


def looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls > max(8, len(sample) // 100)


def decode_text(data: bytes) -> tuple[str, tuple[str, ...]]:
    """Canonical text of a .txt/.md file: UTF-8 (BOM dropped, as `read_text(encoding="utf-8-sig")`),
    else cp1252 with a warning."""
    if not data.strip():
        raise Unreadable("empty file")
    if looks_binary(data):
        raise Unreadable("binary content, not text")
    try:
        text, warnings = data.decode("utf-8-sig"), ()
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise Unreadable("not UTF-8 or cp1252 text") from None
        warnings = ("not UTF-8; read as cp1252",)
    if not text.strip():
        raise Unreadable("no text (only white space)")
    return text, warnings


def read_pdf_bytes(data: bytes) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Text of a PDF page by page, pages separated by a blank line; returns (text, (page, start)...)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip().startswith(b"%PDF"):
        raise Unreadable("not a PDF (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise Unreadable("encrypted PDF (password required)")
            except Unreadable:
                raise
            except Exception:
                raise Unreadable("encrypted PDF (password required)") from None
        parts: list[str] = []
        pages: list[tuple[int, int]] = []
        offset = 0
        for number, page in enumerate(reader.pages, start=1):
            page_text = (page.extract_text() or "").strip("\n")
            if parts:
                parts.append("\n\n")
                offset += 2
            pages.append((number, offset))
            parts.append(page_text)
            offset += len(page_text)
    except Unreadable:
        raise
    except (PdfReadError, Exception) as exc:  # pypdf raises many types on corrupt input
        raise Unreadable(f"corrupt or unreadable PDF ({type(exc).__name__})") from None
    text = "".join(parts)
    if not text.strip():
        raise Unreadable("PDF has no text layer (scanned image?); OCR is not supported")
    return text, tuple(pages)


def read_docx_bytes(data: bytes) -> str:
    """Paragraphs (and table rows, cells joined by tabs) of a Word file, separated by blank lines."""
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, Exception) as exc:
        raise Unreadable(f"not a readable Word .docx file ({type(exc).__name__})") from None
    blocks = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            blocks.append("\t".join(cell.text for cell in row.cells))
    text = "\n\n".join(b for b in blocks if b.strip())
    if not text.strip():
        raise Unreadable("Word file has no text")
    return text


def load_document(file: CorpusFile) -> Document:
    """Read one discovered file. Raises `Unreadable` with the reason when it cannot be used."""
    try:
        data = file.path.read_bytes()
    except OSError as exc:
        raise Unreadable(f"cannot read file ({exc.strerror or exc})") from None
    if not data:
        raise Unreadable("empty file")
    sha = hashlib.sha256(data).hexdigest()
    pages: tuple[tuple[int, int], ...] = ()
    warnings: tuple[str, ...] = ()
    if file.format in ("txt", "md"):
        text, warnings = decode_text(data)
    elif file.format == "pdf":
        text, pages = read_pdf_bytes(data)
    elif file.format == "docx":
        text = read_docx_bytes(data)
    else:  # discover() only yields supported formats
        raise Unreadable(f"unsupported format {file.format}")
    for warning in warnings:
        log.warning("%s: %s", file.source, warning)
    return Document(make_doc_id(file.source, sha), file.source, text, sha, file.format, pages, warnings)
