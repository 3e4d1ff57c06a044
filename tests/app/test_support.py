"""Pure helpers: escaping, highlighting, follow-ups, upload checks, CSV."""
from __future__ import annotations

import csv
import io
import types

import pytest

from app_support.followup import letter_phrases, resolve_follow_up, split_follow_up
from app_support.tables import NOT_ANSWERED, compare_rows, make_filters, rows_to_csv
from app_support.text import (confidence_label, escape_inline, escape_markdown, highlight_quote, paragraph_after,
                              passage_in_context)
from app_support.uploads import UploadRejected, check_upload, safe_filename, save_upload, sniff, unique_name


# --- escaping ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["<script>alert(1)</script>", "**x**", "_y_", "`code`", "# heading", "[a](http://e.x)",
                                 "a | b", "~~s~~", "$x$", "back\\slash", "4<sup>th</sup>", ":orange[x]", "&lt;b&gt;",
                                 "1. item", "- item", "> quote", "![img](x.png)", "<http://x>"])
def test_every_markdown_special_character_is_escaped(raw):
    out = escape_markdown(raw)
    specials = set("\\`*_{}[]()#+-.!|~$<>:=&")
    i = 0
    while i < len(out):  # every special character is preceded by a backslash
        if out[i] == "\\":
            assert out[i + 1] in specials, out
            i += 2
            continue
        assert out[i] not in specials, (raw, out)
        i += 1


def test_escape_examples():
    assert escape_markdown("<script>") == "\\<script\\>"
    assert escape_markdown("**x**") == "\\*\\*x\\*\\*"
    assert escape_markdown("a\nb") == "a  \nb"
    assert escape_markdown("    indented") == "indented"  # no code block
    assert escape_inline("a\n\n  b") == "a b"
    assert escape_markdown(None) == ""


def test_highlight_quote_marks_key_span_inside_sentence():
    quote = "The SCF provides grants up to £6k for qualifying organisations."
    start = 1000
    a = start + quote.index("grants up to £6k")
    b = a + len("grants up to £6k")
    out = highlight_quote(quote, start, a, b)
    assert out == "The SCF provides :orange-background[grants up to £6k] for qualifying organisations\\."


def test_highlight_quote_escapes_untrusted_text():
    quote = "Read **this** <script>x</script> [link](http://evil)"
    out = highlight_quote(quote, 0, 5, 13)
    assert "<script>" not in out and "**this**" not in out and "](" not in out
    assert ":orange-background[\\*\\*this\\*\\*]" in out


def test_highlight_quote_clamps_offsets():
    assert highlight_quote("abc", 10, 5, 50) == ":orange-background[abc]"


def test_passage_in_context_shows_context_and_highlights():
    text = "A" * 50 + " before words. The quoted sentence here. After words " + "B" * 50
    s = text.index("The quoted")
    e = text.index("here.") + len("here.")
    k = text.index("quoted")
    out = passage_in_context(text, s, e, k, k + len("quoted"), radius=20)
    assert out.startswith("… ") and out.endswith(" …")
    assert ":blue-background[The]" in out and ":orange-background[quoted]" in out
    assert "before words" in out and "After words" in out
    whole = passage_in_context(text, s, e, k, k + 6, radius=len(text))
    assert whole.startswith("A" * 50) and whole.endswith("B" * 50)


def test_passage_in_context_multiline_highlight_per_line():
    text = "x\nfirst line\nsecond line\ny"
    s, e = text.index("first"), text.index("line\ny") + 4
    out = passage_in_context(text, s, e, radius=100)
    assert ":blue-background[first line]  \n:blue-background[second line]" in out


def test_paragraph_after_and_confidence():
    text = "One. Two three £6k.\n\nNext paragraph."
    assert paragraph_after(text, 4) == "Two three £6k."
    assert paragraph_after("End.\n\nNew", 4) == ""
    assert confidence_label(0.95) == "High (0.95)"
    assert confidence_label(0.7) == "Medium (0.70)"
    assert confidence_label(0.1) == "Low (0.10)"
    assert confidence_label(3) == "High (1.00)"


# --- follow-ups -------------------------------------------------------------------------------------
META = [
    {"sender": "Mark Burns-Williamson", "role": "Police and Crime Commissioner for West Yorkshire",
     "organisation": "Office of the Police & Crime Commissioner West Yorkshire"},
    {"sender": "Baroness Beverley Hughes",
     "role": "Deputy Mayor of Greater Manchester Policing, Crime and Criminal Justice",
     "organisation": "Greater Manchester Combined Authority"},
]
NAMES = letter_phrases(META)


def test_letter_phrases_come_from_metadata():
    assert "West Yorkshire" in NAMES and "Greater Manchester" in NAMES and "Mark Burns-Williamson" in NAMES
    assert "Police" not in NAMES and "Crime" not in NAMES


@pytest.mark.parametrize("follow_up, previous, expected", [
    ("and what about West Yorkshire?", "What grants does Greater Manchester offer?",
     "What grants does West Yorkshire offer?"),
    ("what about Greater Manchester?", "What did West Yorkshire say about training?",
     "What did Greater Manchester say about training?"),
    ("and in Manchester?", "What did west yorkshire say about training?",
     "What did Manchester say about training?"),
    ("how about Baroness Beverley Hughes?", "Who did Mark Burns-Williamson write to?",
     "Who did Baroness Beverley Hughes write to?"),
    ("What about Greater Manchester?",
     "What did the Police and Crime Commissioner for West Yorkshire say about training?",
     "What did Greater Manchester say about training?"),
    ("same for Leeds", "How many officers were trained in Bradford?", "How many officers were trained in Leeds?"),
    ("and in Leeds?", "How many officers were trained?", "How many officers were trained in Leeds?"),
])
def test_resolve_follow_up(follow_up, previous, expected):
    assert resolve_follow_up(follow_up, previous, NAMES) == expected


@pytest.mark.parametrize("question", ["What grants are there?", "and who signed it?", "",
                                      "and what about the many different things the letter says about training "
                                      "and hate crime?"])
def test_not_a_follow_up_is_left_alone(question):
    assert resolve_follow_up(question, "What did West Yorkshire say?", NAMES) == question


def test_no_previous_question():
    assert resolve_follow_up("and what about Leeds?", None, NAMES) == "and what about Leeds?"
    assert split_follow_up("what about Greater Manchester?") == "Greater Manchester"


# --- uploads ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("letter.txt", "letter.txt"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\evil.md", "evil.md"),
    ("/abs/path/Report 2020.PDF", "Report-2020.pdf"),
    (".hidden.txt", "hidden.txt"),
    ("a<b>c|d?.docx", "a_b_c_d_.docx"),
    ("CON.txt", "letter-CON.txt"),
    ("..txt", None),
    ("noext", None),
    ("script.exe", None),
    ("x.txt.exe", None),
])
def test_safe_filename(raw, expected):
    if expected is None:
        with pytest.raises(UploadRejected):
            safe_filename(raw)
    else:
        got = safe_filename(raw)
        assert got == expected
        assert "/" not in got and "\\" not in got and not got.startswith(".")


def test_unique_name():
    assert unique_name("a.txt", {"b.txt"}) == "a.txt"
    assert unique_name("a.txt", {"a.txt"}) == "a-1.txt"
    assert unique_name("a.txt", {"A.TXT", "a-1.txt"}) == "a-2.txt"


def test_sniff_and_check_upload():
    assert sniff(b"%PDF-1.7 ...") == "pdf"
    assert sniff(b"Dear Home Secretary,\n") == "text"
    assert sniff(bytes(range(256)) * 4) == "binary"
    assert check_upload("x.txt", "Dear Sir,\nThanks.".encode(), 1000).name == "x.txt"
    with pytest.raises(UploadRejected, match="content is binary"):
        check_upload("junk.pdf", b"\x00\x01\x02\xff" * 100, 10_000)
    with pytest.raises(UploadRejected, match="content is binary"):
        check_upload("junk.txt", b"\x00\x01\x02\xff" * 100, 10_000)
    with pytest.raises(UploadRejected, match="content is plain text"):
        check_upload("fake.docx", b"just text", 10_000)
    with pytest.raises(UploadRejected, match="limit"):
        check_upload("big.txt", b"a" * 2000, 1000)
    with pytest.raises(UploadRejected, match="empty"):
        check_upload("empty.txt", b"", 1000)


def test_check_upload_accepts_real_docx_and_pdf(tmp_path):
    docx = pytest.importorskip("docx")
    doc = docx.Document()
    doc.add_paragraph("Dear Home Secretary")
    doc.save(tmp_path / "a.docx")
    assert check_upload("a.docx", (tmp_path / "a.docx").read_bytes(), 10**7).name == "a.docx"
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Dear Home Secretary")
    assert check_upload("a.pdf", bytes(pdf.output()), 10**7).name == "a.pdf"


def test_save_upload_never_overwrites(tmp_path):
    first = save_upload(tmp_path, check_upload("note.txt", b"one", 100))
    second = save_upload(tmp_path, check_upload("../note.txt", b"two", 100))
    assert first == tmp_path / "uploads" / "note.txt" and second == tmp_path / "uploads" / "note-1.txt"
    assert first.read_bytes() == b"one" and second.read_bytes() == b"two"


# --- compare table and CSV --------------------------------------------------------------------------
def _answer(letter, answer, confidence, quote=""):
    cit = types.SimpleNamespace(source=letter, quote=quote)
    return types.SimpleNamespace(letter=letter, answer=answer, abstained=answer is None, confidence=confidence,
                                 citations=(cit,) if answer else ())


def test_compare_rows_and_csv():
    rows = compare_rows([_answer("a.txt", "grants up to £6k", 0.912, "The SCF provides grants up to £6k."),
                         _answer("b.txt", None, 0.2)], {"a.txt": "Letter A"})
    assert [r["letter"] for r in rows] == ["a.txt", "b.txt"]
    assert rows[0]["title"] == "Letter A" and rows[0]["confidence"] == 0.91
    assert rows[1]["answer"] == NOT_ANSWERED and rows[1]["quote"] == ""
    text = rows_to_csv(rows)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[0]["answer"] == "grants up to £6k" and parsed[1]["answer"] == NOT_ANSWERED
    assert list(parsed[0]) == ["letter", "title", "answer", "confidence", "quote"]


def test_csv_neutralises_formulas_and_quotes_commas():
    text = rows_to_csv([{"letter": "=HYPERLINK(\"http://x\")", "answer": "a, \"b\"\nc", "quote": "@SUM(1)",
                         "title": "-2", "confidence": 0.5}])
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["letter"].startswith("'=") and row["quote"].startswith("'@") and row["title"] == "'-2"
    assert row["answer"] == "a, \"b\"\nc"


def test_make_filters():
    import datetime as dt

    assert make_filters() is None
    f = make_filters(["a.txt"], "", "Greater", (dt.date(2020, 1, 1), dt.date(2020, 12, 31)))
    assert f.sources == ("a.txt",) and f.sender is None and f.organisation == "Greater"
    assert (f.date_from, f.date_to) == ("2020-01-01", "2020-12-31")
    assert make_filters(date_range=(dt.date(2020, 5, 4),)).date_to == "2020-05-04"
