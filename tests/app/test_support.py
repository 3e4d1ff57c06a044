"""Pure helpers: escaping, highlighting, follow-ups, upload checks, CSV."""
from __future__ import annotations

import csv
import io
import types

import pytest

from app_support.followup import letter_phrases, resolve_follow_up, split_follow_up
from app_support.confidence import FOUND, NOT_FOUND, POSSIBLE, ConfidenceBands
from app_support.tables import CSV_COLUMNS, NOT_ANSWERED, compare_rows, make_filters, rows_to_csv
from app_support.text import escape_inline, escape_markdown, highlight_quote, paragraph_after, passage_in_context
from app_support.uploads import UploadRejected, check_upload, safe_filename, save_upload, sniff, unique_name
from retrieval.vocabulary import Vocabulary

from .conftest import SHIPPED


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
    assert ":orange-background[this]" in out  # markup removed (index.markup), the rest escaped


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


def test_paragraph_after():
    text = "One. Two three £6k.\n\nNext paragraph."
    assert paragraph_after(text, 4) == "Two three £6k."
    assert paragraph_after("End.\n\nNew", 4) == ""


# --- follow-ups -------------------------------------------------------------------------------------
META = [
    {"sender": "Mark Burns-Williamson", "role": "Police and Crime Commissioner for West Yorkshire",
     "organisation": "Office of the Police & Crime Commissioner West Yorkshire"},
    {"sender": "Baroness Beverley Hughes",
     "role": "Deputy Mayor of Greater Manchester Policing, Crime and Criminal Justice",
     "organisation": "Greater Manchester Combined Authority"},
]
SHIPPED_VOCABULARY = Vocabulary.of(p.read_text(encoding="utf-8-sig") for p in sorted(SHIPPED.glob("*.txt")))
NAMES = letter_phrases(META, SHIPPED_VOCABULARY)


def test_letter_phrases_come_from_metadata():
    assert "West Yorkshire" in NAMES and "Greater Manchester" in NAMES and "Mark Burns-Williamson" in NAMES


def test_words_both_letters_use_name_neither():
    assert SHIPPED_VOCABULARY.letters == 2 and SHIPPED_VOCABULARY.letters_using("police") == 2
    assert "Police" not in NAMES and "Crime" not in NAMES and "Combined Authority" not in NAMES


def test_what_names_a_letter_follows_the_corpus_not_a_word_list():
    """Letters from planning inspectors: the inspectorate all of them come from names none of them;
    the towns do. Add letters that never mention the inspectorate and it names its own letters."""
    meta = [{"sender": "Ann Lee", "organisation": "The Planning Inspectorate Leeds Office"},
            {"sender": "Raj Patel", "organisation": "The Planning Inspectorate Bristol Office"}]
    letters = ["The Planning Inspectorate has decided the appeal in Leeds. Ann Lee, Office",
               "The Planning Inspectorate has decided the appeal in Bristol. Raj Patel, Office"]
    names = letter_phrases(meta, Vocabulary.of(letters))
    assert "Leeds" in names and "Raj Patel" in names
    assert not {"Planning Inspectorate", "Planning", "Inspectorate", "Office"} & set(names)
    others = ["The council met on Tuesday.", "Bus fares rise in May.", "The school term starts."]
    assert "Planning Inspectorate" in letter_phrases(meta, Vocabulary.of(letters + others))


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
    ("and the Greater Manchester Combined Authority?", "What did the Police and Crime Commissioner for West "
     "Yorkshire say?", "What did the Greater Manchester Combined Authority say?"),
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
    cit = types.SimpleNamespace(source=letter, quote=quote, char_start=10, char_end=10 + len(quote),
                                answer_start=12, answer_end=14)
    return types.SimpleNamespace(letter=letter, answer=answer, abstained=answer is None, confidence=confidence,
                                 citations=(cit,) if answer else ())


def _doc(source, sender, date, title="A title (2020-01-01)"):
    meta = types.SimpleNamespace(sender=sender, date=date, title=title, organisation=None)
    return types.SimpleNamespace(source=source, metadata=meta)


BANDS = ConfidenceBands.from_threshold(0.5)


def test_compare_rows_put_the_answer_first_then_the_letter():
    rows = compare_rows("What grants?", [_answer("a.txt", "grants up to **£6k**", 0.912,
                                                 "The SCF provides grants up to **£6k**."),
                                         _answer("b.txt", None, 0.2)],
                        [_doc("a.txt", "Mark", "2020-06-19"), _doc("b.txt", "Bev", "2020-05-04")], BANDS)
    assert [r["letter"] for r in rows] == ["a.txt", "b.txt"]
    assert list(rows[0])[:2] == ["question", "answer"]
    assert rows[0]["answer"] == "grants up to £6k" and rows[0]["quote"] == "The SCF provides grants up to £6k."
    assert (rows[0]["sender"], rows[0]["date"], rows[0]["confidence"]) == ("Mark", "2020-06-19", FOUND)
    assert rows[0]["open"] == (10, 10 + len("The SCF provides grants up to **£6k**."), 12, 14)
    assert rows[1]["answer"] == NOT_ANSWERED and rows[1]["quote"] == "" and rows[1]["open"] is None
    assert rows[1]["confidence"] == NOT_FOUND


def test_csv_has_question_full_columns_and_a_bom():
    long_title = "A very long title " * 10
    rows = compare_rows("What grants?", [_answer("a.txt", "grants up to £6k", 0.9, "The SCF — grants up to £6k.")],
                        [_doc("a.txt", "Mark", "2020-06-19", long_title)], BANDS)
    data = rows_to_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: spreadsheets then read £ and — right
    parsed = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(parsed[0]) == list(CSV_COLUMNS) == ["question", "answer", "quote", "letter", "sender", "date",
                                                    "confidence"]
    assert parsed[0]["question"] == "What grants?" and parsed[0]["quote"] == "The SCF — grants up to £6k."
    assert parsed[0]["confidence"] == FOUND


def test_csv_neutralises_formulas_and_quotes_commas():
    data = rows_to_csv([{"letter": "=HYPERLINK(\"http://x\")", "answer": "a, \"b\"\nc", "quote": "@SUM(1)",
                         "sender": "-2", "confidence": FOUND}])
    row = next(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert row["letter"].startswith("'=") and row["quote"].startswith("'@") and row["sender"] == "'-2"
    assert row["answer"] == "a, \"b\"\nc"


# --- confidence in words ----------------------------------------------------------------------------
def test_confidence_bands_come_from_the_calibrated_threshold():
    from app_support.confidence import confidence_words
    from index.settings import Settings, load_calibration

    threshold = load_calibration()["threshold"]
    bands = ConfidenceBands.from_threshold(Settings().abstain_threshold)
    assert bands.answer == pytest.approx(threshold)
    assert 1 - bands.found == pytest.approx((1 - threshold) / 2)  # half the risk of the weakest answer shown
    assert confidence_words(False, bands.found, bands) == FOUND
    assert confidence_words(False, (bands.answer + bands.found) / 2, bands) == POSSIBLE
    # the threshold applies to the answerability: an answer given is never "Not in the letters"
    assert confidence_words(False, bands.answer - 0.01, bands) == POSSIBLE
    assert confidence_words(True, 0.99, bands) == NOT_FOUND


def test_make_filters():
    import datetime as dt

    assert make_filters() is None
    f = make_filters(["a.txt"], "", "Greater", (dt.date(2020, 1, 1), dt.date(2020, 12, 31)))
    assert f.sources == ("a.txt",) and f.sender is None and f.organisation == "Greater"
    assert (f.date_from, f.date_to) == ("2020-01-01", "2020-12-31")
    assert make_filters(date_range=(dt.date(2020, 5, 4),)).date_to == "2020-05-04"


# --- follow-ups that point back at the letter --------------------------------------------------------
@pytest.mark.parametrize("question", ["Who signed it?", "And who signed it?", "When was the letter sent?",
                                      "What did they say about training?", "who wrote this letter",
                                      "When was it written?", "What do they ask the Home Secretary for?",
                                      "What does the letter say about funding?", "What does this letter ask for?",
                                      "What did he say about Channel panels?", "Who did she write to?",
                                      "What did the government give them?", "Did his office reply?",
                                      "It says what about training?", "Her letter mentions which fund?"])
def test_back_references_bind_to_the_previous_letter(question):
    from app_support.followup import refers_to_previous_letter

    assert refers_to_previous_letter(question, NAMES)


@pytest.mark.parametrize("question", ["Who signed the letter from West Yorkshire?",
                                      "What grants does the Safer Communities Fund offer?",
                                      "When did they bring in free bus travel in Greater Manchester?",
                                      "What did Baroness Beverley Hughes say about it?",
                                      "Did Mark Burns-Williamson sign it?",
                                      "What did Her Majesty's Inspectorate find?"])
def test_questions_naming_a_letter_or_without_back_reference_stand_alone(question):
    from app_support.followup import refers_to_previous_letter

    assert not refers_to_previous_letter(question, NAMES)


def test_a_name_counts_when_written_possessive_or_hyphenated():
    from app_support.followup import refers_to_previous_letter

    assert not refers_to_previous_letter("What did Burns-Williamson's office say about it?", NAMES)
    assert not refers_to_previous_letter("Did West Yorkshire's commissioner sign it?", NAMES)
    assert resolve_follow_up("and Greater Manchester?", "What did West Yorkshire's PCC say?", NAMES) == \
        "What did Greater Manchester's PCC say?"


def test_a_name_common_to_every_letter_does_not_stop_the_binding():
    from app_support.followup import refers_to_previous_letter

    assert refers_to_previous_letter("What did the Police and Crime panel say about it?", NAMES)
    assert not refers_to_previous_letter("What did the Police and Crime Commissioner say about it?", NAMES)


# --- the letters list, duplicates, removal ----------------------------------------------------------
def test_letters_sorted_newest_first_with_sender_and_file_name():
    from app_support.tables import letter_label, letters_by_date

    docs = [_doc("b/old.txt", "Bev", "2019-01-02"), _doc("undated.txt", None, None), _doc("new.txt", "Mark", "2020-06-19")]
    ordered = letters_by_date(docs)
    assert [d.source for d in ordered] == ["new.txt", "b/old.txt", "undated.txt"]
    assert letter_label(ordered[0]) == "2020-06-19 · Mark · new.txt"
    assert letter_label(ordered[1]) == "2019-01-02 · Bev · old.txt"


def test_find_duplicate_by_content(tmp_path):
    from app_support.uploads import find_duplicate

    (tmp_path / "uploads").mkdir()
    (tmp_path / "a.txt").write_bytes(b"Dear Sir, one.")
    (tmp_path / "uploads" / "b.txt").write_bytes(b"Dear Sir, two.")
    assert find_duplicate(b"Dear Sir, two.", tmp_path) == tmp_path / "uploads" / "b.txt"
    assert find_duplicate(b"Dear Sir, six.", tmp_path) is None  # same size, other bytes
    assert find_duplicate(b"x", tmp_path / "missing") is None


def test_remove_letter_moves_it_aside_and_refuses_outside_paths(tmp_path):
    from app_support.uploads import remove_letter

    corpus, removed = tmp_path / "corpus", tmp_path / "index" / "removed"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Dear Sir", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("keep", encoding="utf-8")
    moved = remove_letter(corpus, "a.txt", removed)
    assert not (corpus / "a.txt").exists() and moved.read_text(encoding="utf-8") == "Dear Sir"
    for bad in ("../secret.txt", "missing.txt", "/etc/passwd"):
        with pytest.raises(UploadRejected):
            remove_letter(corpus, bad, removed)
    assert (tmp_path / "secret.txt").exists()


@pytest.mark.parametrize("address, loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                               ("127.0.0.2", True), ("0.0.0.0", False), ("", False),
                                               (None, False), ("192.168.1.5", False), ("::", False)])
def test_only_loopback_addresses_count_as_local(address, loopback):
    from app_support.admin import is_loopback

    assert is_loopback(address) is loopback


def test_benchmark_progress_moves_through_its_stages():
    from app_support.benchmark_page import progress_of

    lines = ["DEBUG bm25s x\n"]
    assert progress_of(lines)[1] == "Indexing the shipped letters"
    lines.append("indexed 2 documents, 27 chunks\n")
    assert progress_of(lines) == (0.1, "Loading the model")
    lines.append("running 140 questions through 2 system(s): full, bm25-only\n")
    first = progress_of(lines)
    lines.append("full: 140 questions\n")
    second = progress_of(lines)
    assert first[0] < second[0] < 1.0 and "1 of 2 systems done" in second[1]
    lines.append("bm25-only: 140 questions\n")
    assert progress_of(lines)[0] == pytest.approx(1.0)


def test_conversation_export_markdown_reads_clean_and_json_keeps_canonical_citations():
    import json

    from app_support.export import conversation_json, conversation_markdown
    from retrieval.records import Answer, Citation

    quote = "Dated 4<sup>th</sup> May 2020."
    citation = Citation("d1", "gmca.txt", "T", 100, 100 + len(quote), quote, 1.0, 106, 106 + 17, "Bev", "2020-05-04")
    answer = Answer("When was it sent?", "4<sup>th</sup> May 2020", False, 0.9, (citation,))
    history = [{"role": "user", "kind": "text", "text": "when was it sent"},
               {"role": "assistant", "kind": "answer", "answer": answer, "words": FOUND,
                "letter_note": "About the letter of the previous answer: gmca.txt", "bound_letter": "gmca.txt"}]
    md = conversation_markdown(history)
    assert "**Answer:** 4th May 2020 (Found in the letter)" in md and "> Dated 4th May 2020." in md
    assert "<sup>" not in md and "gmca.txt" in md
    (turn,) = json.loads(conversation_json(history))["conversation"]
    assert turn["question"] == "when was it sent" and turn["asked"] == "When was it sent?"
    assert turn["citations"][0]["quote"] == quote and turn["letter_used"] == "gmca.txt"
    assert turn["confidence_words"] == FOUND and "signals" not in turn
