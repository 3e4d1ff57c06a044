"""Checking and saving uploaded letters: extension AND content sniffing, size limit, safe names.

Pure checks (`safe_filename`, `check_upload`, `unique_name`) plus one small file-system shell
(`save_upload`) that never overwrites an existing file.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import shutil
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

ALLOWED_EXTENSIONS = (".txt", ".md", ".pdf", ".docx")
UPLOAD_SUBDIR = "uploads"
MAX_NAME_CHARS = 120
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


class UploadRejected(ValueError):
    """The upload cannot be added; the message is the reason shown to the user."""


def safe_filename(name: str) -> str:
    """A plain file name from whatever the browser sent: directories stripped (both separators),
    no '..', no hidden (leading dot) names, no control or odd characters, bounded length.

    Raises UploadRejected when nothing usable is left or the extension is not allowed.
    """
    name = unicodedata.normalize("NFKC", str(name or ""))
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    name = re.sub(r"[^\w.\- ]+", "_", name, flags=re.UNICODE).strip(" .")
    name = re.sub(r"\s+", "-", name)
    name = re.sub(r"\.{2,}", ".", name)
    name = name.lstrip(".-_")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        raise UploadRejected(f"{_shown(name)}: the file name needs one of the extensions {', '.join(ALLOWED_EXTENSIONS)}")
    ext = "." + ext.lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise UploadRejected(f"{_shown(name)}: unsupported file type {ext} (allowed: {', '.join(ALLOWED_EXTENSIONS)})")
    stem = stem[: MAX_NAME_CHARS - len(ext)].rstrip(" .-")
    if not stem or stem.lower() in _WINDOWS_RESERVED:
        stem = f"letter-{stem or 'upload'}"
    return stem + ext


def _shown(name: str) -> str:
    return name[:80] or "(no name)"


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or name-1.ext, name-2.ext, … — the first not in `taken` (compared case-insensitively)."""
    lowered = {t.lower() for t in taken}
    if name.lower() not in lowered:
        return name
    stem, ext = os.path.splitext(name)
    n = 1
    while f"{stem}-{n}{ext}".lower() in lowered:
        n += 1
    return f"{stem}-{n}{ext}"


def sniff(data: bytes) -> str | None:
    """What the bytes look like: "pdf", "docx", "zip", "text", "binary" or None (empty)."""
    if not data:
        return None
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "docx" if "word/document.xml" in archive.namelist() else "zip"
        except zipfile.BadZipFile:
            return "binary"
    head = data[:8192]
    if b"\x00" in head:
        return "binary"
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            sample = head.decode(encoding)
        except UnicodeDecodeError:
            # a multi-byte character cut at the sample's end is fine
            try:
                sample = head[:-4].decode(encoding) if len(head) > 4 else None
            except UnicodeDecodeError:
                continue
        if sample is None:
            continue
        control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
        return "binary" if control > max(2, len(sample) // 100) else "text"
    return "binary"


_EXPECTED = {".txt": "text", ".md": "text", ".pdf": "pdf", ".docx": "docx"}
_DESCRIBE = {"pdf": "a PDF", "docx": "a Word document", "zip": "a zip archive", "text": "plain text",
             "binary": "binary data"}


@dataclass(frozen=True)
class CheckedUpload:
    name: str  # safe file name
    data: bytes


def check_upload(name: str, data: bytes, max_bytes: int) -> CheckedUpload:
    """Validate an upload; raises UploadRejected with a one-line reason."""
    safe = safe_filename(name)
    if len(data) == 0:
        raise UploadRejected(f"{safe}: the file is empty")
    if len(data) > max_bytes:
        raise UploadRejected(f"{safe}: {len(data) / 1048576:.1f} MB is over the {max_bytes / 1048576:g} MB limit")
    ext = os.path.splitext(safe)[1].lower()
    kind = sniff(data)
    if kind != _EXPECTED[ext]:
        raise UploadRejected(f"{safe}: named {ext} but the content is {_DESCRIBE.get(kind, 'unrecognised')}")
    return CheckedUpload(safe, data)


def save_upload(corpus_dir: Path, upload: CheckedUpload, subdir: str = UPLOAD_SUBDIR) -> Path:
    """Write the upload under corpus_dir/subdir without overwriting anything (name-1.txt, …).
    Returns the path written."""
    folder = Path(corpus_dir) / subdir
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    name = upload.name
    for _ in range(1000):
        taken = {p.name for p in folder.iterdir()}
        name = unique_name(name, taken)
        target = folder / name
        if target.resolve().parent != root:
            raise UploadRejected(f"{upload.name}: unsafe file name")
        try:
            with open(target, "xb") as out:  # exclusive create: never overwrite
                out.write(upload.data)
            return target
        except FileExistsError:
            continue
    raise UploadRejected(f"{upload.name}: could not find a free file name")


def find_duplicate(data: bytes, corpus_dir: Path) -> Path | None:
    """The corpus file with exactly these bytes, if any (only files of the same size are read)."""
    root = Path(corpus_dir)
    if not root.is_dir():
        return None
    digest = hashlib.sha256(data).hexdigest()
    for path in sorted(root.rglob("*")):
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size != len(data):
                continue
            if hashlib.sha256(path.read_bytes()).hexdigest() == digest:
                return path
        except OSError:
            continue
    return None


def remove_letter(corpus_dir: Path, source: str, removed_dir: Path) -> Path:
    """Move corpus_dir/source into removed_dir (nothing is deleted: it can be put back by hand).
    Returns where it went; raises UploadRejected for a source outside the corpus or missing."""
    root = Path(corpus_dir).resolve()
    path = (root / source).resolve()
    if root not in path.parents or not path.is_file():
        raise UploadRejected(f"{source}: not a letter in the corpus folder")
    removed = Path(removed_dir)
    removed.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = removed / unique_name(f"{stamp}-{path.name}", {p.name for p in removed.iterdir()})
    shutil.move(str(path), str(target))
    return target
