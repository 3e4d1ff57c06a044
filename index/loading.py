"""Find the letters under a corpus folder and read each into a `Document` with its canonical text.

The pure core decodes bytes (`decode_text`, `read_pdf_bytes`, `read_docx_bytes`, `check_archive`);
`discover` and `load_document` are the thin file-system shell. Every file that cannot be used becomes
a `Skipped` with a one-line reason; nothing raises for a bad file (a symlink loop, a name that is not
UTF-8, a FIFO, an unreadable file, a zip bomb, a parser that hangs or eats memory: PDF and Word
parsing runs in a worker process under the settings' time and memory limits, see parser_pool).
"""
from __future__ import annotations

import codecs
import hashlib
import io
import logging
import os
import stat as stat_module
from dataclasses import dataclass
from pathlib import Path

from .records import Document, Skipped
from .settings import Settings

log = logging.getLogger(__name__)

TEXT_FORMATS = {".txt": "txt", ".md": "md", ".markdown": "md"}
BINARY_FORMATS = {".pdf": "pdf", ".docx": "docx"}
SUPPORTED = {**TEXT_FORMATS, **BINARY_FORMATS}


class Unreadable(ValueError):
    """A file's content cannot be turned into text; the message is the reason shown to the user."""


@dataclass(frozen=True)
class CorpusFile:
    location: Path | str  # discover() gives a str: making 10,000 Path objects cost ~0.5 s of a no-op build
    source: str  # relative to the corpus root, "/" separators
    format: str
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return Path(self.location)


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
    def walk_error(exc: OSError) -> None:
        where = Path(exc.filename).relative_to(root).as_posix() if exc.filename else str(root)
        skipped.append(Skipped(where, f"cannot list folder ({exc.strerror or exc})"))

    # os.scandir entries and plain strings, not os.walk + pathlib: a directory entry knows whether it
    # is a symlink without a system call, and at 10,000 letters pathlib alone took ~1 s of a no-op build
    pending = [(str(root), "")]
    while pending:
        folder, prefix = pending.pop()
        folders, entries = _listing(folder, walk_error)
        for entry in entries:
            name = entry.name
            suffix = _suffix(name)
            if suffix not in SUPPORTED:
                ignored += 1
                continue
            source = prefix + name
            reason = None if name.isascii() and name[0] != "." else _unusable_name(name)
            if reason is None and entry.is_symlink():
                reason = _symlink_problem(Path(entry.path), root_real)
            if reason is not None:
                skipped.append(Skipped(source, reason))
                continue
            try:
                stat = entry.stat()  # follows a symlink, as it now stays inside the corpus
                if not stat_module.S_ISREG(stat.st_mode):
                    skipped.append(Skipped(source, "not a regular file (a pipe, socket or device)"))
                    continue
                _open_readonly(entry.path)
            except OSError as exc:
                skipped.append(Skipped(source, f"cannot read file ({exc.strerror or exc})"))
                continue
            if stat.st_size > max_file_bytes:
                skipped.append(Skipped(source, f"file is {stat.st_size / 1048576:.1f} MB, over the "
                                               f"{max_file_bytes / 1048576:.0f} MB limit"))
                continue
            files.append(CorpusFile(entry.path, source, SUPPORTED[suffix], stat.st_size, stat.st_mtime_ns))
        pending += [(entry.path, f"{prefix}{entry.name}/") for entry in reversed(folders)]
    return Discovery(tuple(files), tuple(skipped), ignored)


def _listing(folder: str, on_error) -> tuple[list[os.DirEntry], list[os.DirEntry]]:
    """(sub-folders to enter, other entries) of a folder, each sorted by name, as os.walk(followlinks=False)
    gives them: hidden folders and symlinks to folders are not entered; an unlistable folder goes to
    on_error."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        on_error(exc)
        return [], []
    folders, others = [], []
    for entry in entries:
        try:
            is_folder = entry.is_dir()
        except OSError:
            is_folder = False
        if not is_folder:
            others.append(entry)
        elif not entry.name.startswith(".") and not entry.is_symlink():
            folders.append(entry)
    return folders, others


def _suffix(name: str) -> str:
    """os.path.splitext(name)[1].lower() (leading dots are not a suffix), without its per-call overhead:
    at 10,000 letters splitext was a sixth of a no-op build's listing."""
    dot = name.rfind(".")
    if dot <= 0 or (name[0] == "." and not name[:dot].strip(".")):
        return ""
    return name[dot:].lower()


def _unusable_name(name: str) -> str | None:
    if name.startswith("."):
        return "hidden file"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.walk hands undecodable bytes over as lone surrogates
        return "file name is not valid UTF-8; rename the file"
    return None


def _symlink_problem(path: Path, root_real: Path) -> str | None:
    try:
        target = path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a loop this way
        return "symlink loop; not followed"
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            return "symlink loop; not followed"
        return f"broken symlink ({exc.strerror or exc})"
    if not target.is_relative_to(root_real):
        return "symlink leads outside the corpus; not followed"
    return None


def _open_readonly(path: Path | str) -> None:
    """Raises OSError when the file cannot be opened for reading (checked up front, so the build's
    hashing and reading never meet an unreadable file). O_NONBLOCK: a FIFO never blocks us."""
    os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))


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


# longest first: the UTF-32-LE mark begins with the UTF-16-LE one
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
              (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"))


def _decode_wide(data: bytes) -> tuple[str, tuple[str, ...]] | None:
    """UTF-16/UTF-32 text that starts with its byte-order mark (mark dropped), else None."""
    for bom, codec, label in _WIDE_BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(codec)
            except UnicodeDecodeError:
                raise Unreadable(f"starts with a {label} byte-order mark but is not valid {label}") from None
            if not text.strip():
                raise Unreadable("no text (only white space)")
            if looks_binary(text[:8192].encode("utf-8", "replace")):
                raise Unreadable("binary content, not text")
            return text, (f"read as {label} (byte-order mark)",)
    return None


def decode_text(data: bytes) -> tuple[str, tuple[str, ...]]:
    """Canonical text of a .txt/.md file: UTF-8 (BOM dropped, as `read_text(encoding="utf-8-sig")`),
    UTF-16/32 when the file starts with its byte-order mark, else cp1252 with a warning."""
    if not data.strip():
        raise Unreadable("empty file")
    wide = _decode_wide(data)
    if wide is not None:
        return wide
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
    except (Unreadable, MemoryError):
        raise
    except (PdfReadError, Exception) as exc:  # pypdf raises many types on corrupt input
        raise Unreadable(f"corrupt or unreadable PDF ({type(exc).__name__})") from None
    text = "".join(parts)
    if not text.strip():
        raise Unreadable("PDF has no text layer (scanned image?); OCR is not supported")
    return text, tuple(pages)


def read_docx_bytes(data: bytes) -> str:
    """A Word file as a reader sees it: the first page's header (the letterhead) once, then paragraphs
    and table rows (cells joined by tabs) in document order, then the footer once; blocks separated by
    blank lines."""
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except MemoryError:  # the worker's memory limit: reported as such by parser_pool
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, Exception) as exc:
        raise Unreadable(f"not a readable Word .docx file ({type(exc).__name__})") from None
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    def blocks_of(container, element) -> list[str]:
        out = []
        for child in element.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                out.append(Paragraph(child, container).text)
            elif tag == "tbl":
                out += ["\t".join(cell.text for cell in row.cells) for row in Table(child, container).rows]
        return out

    section = document.sections[0] if document.sections else None
    header = blocks_of(section.header, section.header._element) if section is not None else []
    footer = blocks_of(section.footer, section.footer._element) if section is not None else []
    blocks = header + blocks_of(document, document.element.body) + footer
    text = "\n\n".join(b for b in blocks if b.strip())
    if not text.strip():
        raise Unreadable("Word file has no text")
    return text


# Below this unpacked size an archive cannot hurt, whatever its ratio (a short letter's XML of
# repeated markup can compress 100x+).
_RATIO_FLOOR_BYTES = 10 * 1024 * 1024


def check_archive(data: bytes, max_unpacked_bytes: int, max_ratio: float) -> None:
    """Refuse a zip (a .docx) from its central directory alone, before anything is inflated, when
    its members would unpack past `max_unpacked_bytes` or inflate more than `max_ratio` times."""
    import zipfile

    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise Unreadable(f"not a readable Word .docx file ({type(exc).__name__})") from None
    unpacked = sum(m.file_size for m in members)
    if unpacked > max_unpacked_bytes:
        raise Unreadable(f"archive would unpack to {unpacked / 1048576:,.0f} MB, over the "
                         f"{max_unpacked_bytes / 1048576:,.0f} MB limit (zip bomb?); not opened")
    ratio = unpacked / max(len(data), 1)
    if unpacked > _RATIO_FLOOR_BYTES and ratio > max_ratio:
        raise Unreadable(f"archive would inflate {ratio:,.0f} times, over the {max_ratio:g}x limit "
                         f"(zip bomb?); not opened")


PARSERS = {"pdf": read_pdf_bytes, "docx": read_docx_bytes}
_DEFAULT_SETTINGS: Settings | None = None


def load_document(file: CorpusFile, settings: Settings | None = None) -> Document:
    """Read one discovered file. Raises `Unreadable` with the reason when it cannot be used.

    PDF and Word files are parsed in a worker process under the settings' limits."""
    global _DEFAULT_SETTINGS
    if settings is None:
        settings = _DEFAULT_SETTINGS = _DEFAULT_SETTINGS or Settings()
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
    elif file.format in PARSERS:
        if file.format == "docx":
            check_archive(data, int(settings.max_unpacked_mb * 1048576), settings.max_zip_ratio)
        from .parser_pool import ParseFailed, run_parser

        try:
            parsed = run_parser(file.format, data, settings.parse_seconds, settings.parse_memory_mb)
        except ParseFailed as exc:
            raise Unreadable(str(exc)) from None
        if file.format == "pdf":  # JSON from the worker: lists for tuples
            text, pages = parsed[0], tuple((int(number), int(start)) for number, start in parsed[1])
        else:
            text = parsed
    else:  # discover() only yields supported formats
        raise Unreadable(f"unsupported format {file.format}")
    for warning in warnings:
        log.warning("%s: %s", file.source, warning)
    return Document(make_doc_id(file.source, sha), file.source, text, sha, file.format, pages, warnings)
