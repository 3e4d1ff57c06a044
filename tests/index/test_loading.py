"""Loading: every supported format becomes canonical text; every bad file is skipped with a reason."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from index.loading import Unreadable, decode_text, discover, load_document, read_docx_bytes, read_pdf_bytes


def pdf_with_text(pages: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def blank_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_with_text(["Secret letter text."]))))
    writer.encrypt(user_password="letmein", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_utf8_text_is_canonical_and_bom_is_dropped():
    text, warnings = decode_text("\ufeffDear Home Secretary,\n£6k".encode("utf-8"))
    assert text == "Dear Home Secretary,\n£6k"
    assert warnings == ()


def test_non_utf8_text_is_read_as_cp1252_with_a_warning():
    text, warnings = decode_text("Grants of £6k – “quoted”".encode("cp1252"))
    assert text == "Grants of £6k – “quoted”"
    assert warnings and "cp1252" in warnings[0]


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"   \n\t ", "empty"),
    (b"\x00\x01\x02binary\x00junk" * 50, "binary"),
])
def test_unusable_text_files_give_a_reason(data, reason):
    with pytest.raises(Unreadable, match=reason):
        decode_text(data)


def test_pdf_text_is_read_page_by_page_with_page_offsets():
    text, pages = read_pdf_bytes(pdf_with_text(["First page about Channel panels.", "Second page about grants."]))
    assert [number for number, _ in pages] == [1, 2]
    second_start = pages[1][1]
    assert "Channel panels" in text[:second_start]
    assert text[second_start:].startswith("Second page")


@pytest.mark.parametrize("make, reason", [
    (lambda: b"%PDF-1.4 this is not really a pdf \x00\xff\xfe", "corrupt|unreadable"),
    (lambda: b"plain words, no pdf header", "not a PDF"),
    (blank_pdf, "no text layer.*OCR"),
    (encrypted_pdf, "encrypted"),
])
def test_bad_pdfs_are_refused_with_a_reason(make, reason):
    with pytest.raises(Unreadable, match=reason):
        read_pdf_bytes(make())


def test_docx_paragraphs_become_blocks():
    import docx

    document = docx.Document()
    document.add_paragraph("Dear Home Secretary,")
    document.add_paragraph("The fund offers grants of £500.")
    out = io.BytesIO()
    document.save(out)
    assert read_docx_bytes(out.getvalue()) == "Dear Home Secretary,\n\nThe fund offers grants of £500."
    with pytest.raises(Unreadable, match="Word"):
        read_docx_bytes(b"PK\x03\x04 not a zip really")


def test_discover_skips_hidden_large_and_outside_links_and_counts_unsupported(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "a.txt").write_text("A letter.")
    (corpus / "sub" / "b.md").write_text("Another letter.")
    (corpus / ".hidden.txt").write_text("secret")
    (corpus / ".git").mkdir()
    (corpus / ".git" / "x.txt").write_text("not a letter")
    (corpus / "notes.csv").write_text("a,b")
    (corpus / "image.png").write_bytes(b"\x89PNG")
    (corpus / "big.txt").write_text("x" * 3000)
    outside = tmp_path / "outside.txt"
    outside.write_text("outside the corpus")
    os.symlink(outside, corpus / "link.txt")
    os.symlink(corpus / "a.txt", corpus / "inside-link.txt")

    found = discover(corpus, max_file_bytes=2000)
    assert [f.source for f in found.files] == ["a.txt", "inside-link.txt", "sub/b.md"]
    reasons = {s.path: s.reason for s in found.skipped}
    assert "hidden" in reasons[".hidden.txt"]
    assert "limit" in reasons["big.txt"]
    assert "outside" in reasons["link.txt"]
    assert found.ignored == 2
    assert all(line.startswith("skipped ") for line in (s.line() for s in found.skipped))


def test_load_document_gives_stable_ids_and_relative_sources(tmp_path):
    corpus = tmp_path / "c"
    (corpus / "letters").mkdir(parents=True)
    (corpus / "letters" / "one.txt").write_text("Dear Sir,\nHello.", encoding="utf-8")
    first = load_document(discover(corpus, 10**6).files[0])
    again = load_document(discover(corpus, 10**6).files[0])
    assert first.source == "letters/one.txt"
    assert first.text == Path(corpus, first.source).read_text(encoding="utf-8-sig")
    assert first.doc_id == again.doc_id
    (corpus / "letters" / "one.txt").write_text("Dear Sir,\nChanged.", encoding="utf-8")
    assert load_document(discover(corpus, 10**6).files[0]).doc_id != first.doc_id


def test_word_letters_read_in_document_order_with_their_letterhead(tmp_path):
    import docx

    from index.loading import read_docx_bytes

    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Northtown Council"
    document.add_paragraph("Dear Ms Shah,")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Our ref", "NT/42"
    document.add_paragraph("Yours sincerely")
    path = tmp_path / "letter.docx"
    document.save(path)
    text = read_docx_bytes(path.read_bytes())
    assert text.split("\n\n") == ["Northtown Council", "Dear Ms Shah,", "Our ref\tNT/42", "Yours sincerely"]
