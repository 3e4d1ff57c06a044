"""Hostile files: each bad file is one `skipped <path>: <reason>` line and the build goes on."""
from __future__ import annotations

import codecs
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from index.chunking import split_sentences
from index.loading import Unreadable, check_archive, decode_text, discover, load_document
from index.records import Skipped
from index.settings import Settings
from tests.conftest import ROOT, write_letters

GOOD = {"good.txt": """
    Dear Home Secretary,

    The Riverton Custody Fund offers grants of up to £25,000 to community projects.

    Yours sincerely
    Jane Holloway
    """}


def hostile_corpus(tmp_path: Path) -> Path:
    corpus = write_letters(tmp_path / "corpus", GOOD)
    os.symlink("loop-b.txt", corpus / "loop-a.txt")
    os.symlink("loop-a.txt", corpus / "loop-b.txt")
    os.symlink("missing.txt", corpus / "dangling.txt")
    with open(os.fsencode(corpus) + b"/bad-\xff-name.txt", "wb") as handle:
        handle.write(b"A letter with a bad name.")
    (corpus / "new\nline.txt").write_bytes(b"")
    os.mkfifo(corpus / "pipe.txt")
    return corpus


def test_a_build_skips_loops_bad_names_pipes_and_empty_files_one_escaped_line_each(tmp_path):
    corpus = hostile_corpus(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "index", "build", "--corpus", str(corpus), "--index-dir", str(tmp_path / "index")],
        cwd=ROOT, capture_output=True, timeout=300)
    stderr = result.stderr.decode("utf-8")
    assert result.returncode == 0, stderr
    assert "indexed 1 documents" in result.stdout.decode()
    lines = stderr.splitlines()
    assert "Traceback" not in stderr and not any(line.startswith("DEBUG") for line in lines)  # bm25s is quiet
    skipped = sorted(line for line in lines if line.startswith("skipped "))
    assert skipped == [
        "skipped bad-\\xff-name.txt: file name is not valid UTF-8; rename the file",
        "skipped dangling.txt: broken symlink (No such file or directory)",
        "skipped loop-a.txt: symlink loop; not followed",
        "skipped loop-b.txt: symlink loop; not followed",
        "skipped new\\nline.txt: empty file",
        "skipped pipe.txt: not a regular file (a pipe, socket or device)",
    ]


def test_an_unreadable_file_is_skipped_with_the_reason(tmp_path, monkeypatch):
    corpus = write_letters(tmp_path / "corpus", {**GOOD, "locked.txt": "A locked letter."})
    locked = corpus / "locked.txt"
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the open fail as it would for anyone else
        import index.loading as loading

        real = loading._open_readonly

        def refuse(path):
            if Path(path) == locked:
                raise PermissionError(13, "Permission denied")
            return real(path)

        monkeypatch.setattr(loading, "_open_readonly", refuse)
    found = discover(corpus, 1 << 20)
    assert [f.source for f in found.files] == ["good.txt"]
    assert [s.line() for s in found.skipped] == ["skipped locked.txt: cannot read file (Permission denied)"]


def test_skipped_lines_escape_unprintable_characters():
    line = Skipped("a\udcffb\nc\x1b.txt", "bad\rreason").line()
    assert line == "skipped a\\xffb\\nc\\x1b.txt: bad\\rreason" and line.isprintable()


@pytest.mark.parametrize("codec,bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                                       ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE)])
def test_utf16_and_utf32_letters_with_a_bom_are_read(codec, bom):
    letter = "Dear Home Secretary,\nThe fund offers grants of up to £6k.\n"
    text, warnings = decode_text(bom + letter.encode(codec))
    assert text == letter and "byte-order mark" in warnings[0]


def test_a_single_endless_line_becomes_bounded_sentences():
    line = "the committee noted that funding continues " * 12_000  # ~500 KB, no full stop
    spans = split_sentences(line, max_chars=1000)
    assert spans and max(s.end - s.start for s in spans) <= 1000
    assert all(line[s.start:s.end] == line[s.start:s.end].strip() for s in spans)
    assert all(not line[s.start:s.end].endswith("fundi") for s in spans)  # cut between words
    assert max(s.end - s.start for s in split_sentences("x" * 5000, max_chars=1000)) == 1000


def test_an_endless_line_letter_gives_answers_with_short_quotes(tmp_path):
    from index.building import build_index
    from retrieval import Assistant

    body = "the committee noted that funding for the Lowmoor youth project continues " * 800 + \
           "and the Lowmoor youth project received a grant of £9,000 from the Road Safety Partnership " + \
           "the committee noted that funding continues " * 800
    corpus = write_letters(tmp_path / "corpus", {"one-line.txt": body})
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    answer = Assistant.load(settings=settings).ask("How much was the grant from the Road Safety Partnership?")
    quotes = [c.quote for c in answer.citations] + [p.text for p in answer.passages]
    assert quotes and max(len(q) for q in quotes) <= 2 * Settings.max_sentence_chars


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_zip_bomb_docx_is_refused_from_its_directory_before_parsing(tmp_path):
    bomb = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\0" * (24 * 1048576)})
    assert len(bomb) < 100_000
    with pytest.raises(Unreadable, match="inflate .* times"):
        check_archive(bomb, max_unpacked_bytes=200 * 1048576, max_ratio=100)
    with pytest.raises(Unreadable, match="unpack to 24 MB, over the 20 MB limit"):
        check_archive(bomb, max_unpacked_bytes=20 * 1048576, max_ratio=10_000)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "bomb.docx").write_bytes(bomb)
    file = discover(tmp_path / "c", 1 << 20).files[0]
    with pytest.raises(Unreadable, match="zip bomb"):
        load_document(file, Settings())


def pdf_with_content(content: bytes) -> bytes:
    """A one-page PDF (Helvetica as F1) whose page content stream is `content`, Flate-packed."""
    import zlib

    stream = zlib.compress(content, 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def huge_docx(megabytes: int) -> bytes:
    """A .docx whose document.xml unpacks to `megabytes` MB (one paragraph repeated)."""
    out = io.BytesIO()
    paragraph = b"<w:p><w:r><w:t>The committee noted the grant.</w:t></w:r></w:p>" * 16384
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'))
        archive.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'))
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
                         b'openxmlformats.org/wordprocessingml/2006/main"><w:body>')
            for _ in range(megabytes * 1048576 // len(paragraph) + 1):
                member.write(paragraph)
            member.write(b"</w:body></w:document>")
    return out.getvalue()


def test_pdf_and_word_parsing_run_in_a_worker_under_time_and_memory_limits(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "slow.pdf").write_bytes(pdf_with_content(b"BT /F1 12 Tf " + b"(grant ) Tj " * 300_000 + b"ET"))
    (tmp_path / "c" / "short.pdf").write_bytes(pdf_with_content(b"BT /F1 12 Tf 72 700 Td (Dear Home Secretary) Tj ET"))
    (tmp_path / "c" / "huge.docx").write_bytes(huge_docx(120))
    huge, short_pdf, slow = discover(tmp_path / "c", 1 << 30).files
    with pytest.raises(Unreadable, match="longer than 0.2 s"):
        load_document(slow, Settings(parse_seconds=0.2))
    no_precheck = Settings(max_unpacked_mb=10_000, max_zip_ratio=10_000, parse_memory_mb=200)
    with pytest.raises(Unreadable, match="memory limit"):
        load_document(huge, no_precheck)
    assert "Dear Home Secretary" in load_document(short_pdf, Settings()).text  # the next worker is fine
    from index import parser_pool

    assert parser_pool._pool.pid not in (None, os.getpid())  # parsed in a worker, which stays for the next file
