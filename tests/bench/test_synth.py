"""Tests for the deterministic synthetic corpus generator (bench/synth.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.synth import SynthLetter, generate_letter, letter_format, main, write_corpus


def test_same_index_and_seed_give_identical_letter():
    a = generate_letter(17, seed=3)
    b = generate_letter(17, seed=3)
    assert isinstance(a, SynthLetter)
    assert a.text == b.text
    assert a == b
    # order independence: generating other letters in between changes nothing
    for i in range(5):
        generate_letter(i, seed=3)
    assert generate_letter(17, seed=3).text == a.text


def test_different_index_or_seed_differ():
    texts = {generate_letter(i).text for i in range(30)}
    assert len(texts) == 30
    assert generate_letter(5, seed=0).text != generate_letter(5, seed=1).text
    assert generate_letter(5).file_name != generate_letter(6).file_name


def test_content_does_not_depend_on_format():
    txt = generate_letter(8, fmt="txt")
    pdf = generate_letter(8, fmt="pdf")
    assert (txt.sender, txt.date_iso, txt.amount, txt.programme) == (pdf.sender, pdf.date_iso, pdf.amount, pdf.programme)
    assert pdf.file_name.endswith(".pdf") and txt.file_name.endswith(".txt")
    assert "<sup>" not in pdf.text and "**" not in pdf.text
    pdf.text.encode("latin-1")  # the PDF text layer only uses characters a core font can encode


def test_stated_facts_are_verbatim_substrings():
    for i in range(200):
        letter = generate_letter(i, seed=11)
        assert len(letter.qa) >= 5
        for question, answer in letter.qa:
            assert question.endswith("?")
            assert answer and answer in letter.text, (i, question, answer)
        assert letter.sender in letter.text
        assert letter.amount in letter.text
        assert letter.date_text in letter.text
        assert letter.role in letter.text
        if letter.reference:
            assert f"My Reference: {letter.reference}" in letter.text


def test_word_lengths_vary():
    words = [generate_letter(i).word_count for i in range(150)]
    assert min(words) < 500 < max(words)
    assert min(words) >= 200 and max(words) <= 3200
    mean = sum(words) / len(words)
    assert 650 < mean < 1200, mean


def test_variety_of_people_places_topics_and_dates():
    letters = [generate_letter(i) for i in range(400)]
    assert len({l.area for l in letters}) >= 35
    assert len({l.topic for l in letters}) >= 15
    assert {l.recipient for l in letters} == {"Home Secretary", "HM Chief Inspector of Constabulary"}
    years = {l.year for l in letters}
    assert min(years) == 2014 and max(years) == 2025
    roles = " ".join(l.role for l in letters)
    assert "Police and Crime Commissioner" in roles and "Mayor" in roles and "Deputy Mayor" in roles
    dates = [l.date_text for l in letters]
    assert any("<sup>" in d for d in dates)
    assert any(re.fullmatch(r"\d\d/\d\d/\d{4}", d) for d in dates)
    assert any(re.fullmatch(r"[A-Z][a-z]+ \d{1,2}, \d{4}", d) for d in dates)
    amounts = [l.amount for l in letters]
    assert any(a.endswith("k") for a in amounts) and any("million" in a for a in amounts)
    assert any(re.fullmatch(r"£\d{1,3},\d{3}", a) for a in amounts)
    md = [l for l in letters if l.format == "md"]
    assert md and any("**" in l.text for l in md) and any("](" in l.text for l in letters)


def test_format_cadence():
    fmts = [letter_format(i, 50, 100) for i in range(200)]
    assert fmts.count("pdf") == 4 and fmts.count("docx") == 2
    assert letter_format(0, 0, 0) is None


def test_write_corpus_formats_and_pdf_text(tmp_path: Path):
    pypdf = pytest.importorskip("pypdf")
    docx = pytest.importorskip("docx")
    paths = write_corpus(tmp_path, 120, seed=0, pdf_every=50, docx_every=100)
    assert len(paths) == 120 and len(set(paths)) == 120
    on_disk = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert on_disk == sorted(paths)
    by_ext: dict[str, list[Path]] = {}
    for p in paths:
        by_ext.setdefault(p.suffix, []).append(p)
    assert len(by_ext[".pdf"]) == 2
    assert len(by_ext[".docx"]) == 1
    assert len(by_ext.get(".txt", [])) + len(by_ext.get(".md", [])) == 117
    assert by_ext.get(".txt") and by_ext.get(".md")

    for p in by_ext[".pdf"]:
        i = int(p.name.split("-")[0])
        letter = generate_letter(i, 0, fmt="pdf")
        assert p.read_bytes().startswith(b"%PDF")
        reader = pypdf.PdfReader(str(p))
        extracted = "\n".join(page.extract_text() or "" for page in reader.pages)
        assert letter.sender in extracted
        assert letter.amount in extracted

    (p,) = by_ext[".docx"]
    letter = generate_letter(int(p.name.split("-")[0]), 0, fmt="docx")
    doc_text = "\n".join(par.text for par in docx.Document(str(p)).paragraphs)
    assert doc_text + "\n" == letter.text

    some_txt = (by_ext.get(".txt") or by_ext[".md"])[0]
    i = int(some_txt.name.split("-")[0])
    assert some_txt.read_text(encoding="utf-8") == generate_letter(i, 0).text


def test_write_corpus_is_deterministic(tmp_path: Path):
    a = write_corpus(tmp_path / "a", 51, seed=2, pdf_every=50, docx_every=40)
    b = write_corpus(tmp_path / "b", 51, seed=2, pdf_every=50, docx_every=40)
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes(), pa.name


def test_cli_prints_summary(tmp_path: Path, capsys):
    assert main(["--out", str(tmp_path), "--n", "12", "--seed", "1"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert "wrote 12 files" in out[0] and "pdf=0" in out[0] and "words=" in out[0]
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 12
