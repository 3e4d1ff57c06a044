"""The benchmark's letters and their gold data: rendering Word/PDF letters (eval/render.py), compiling
drafts (eval/compile.py) and checking the whole (eval/check.py), on small made-up letters."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from eval.__main__ import main
from eval.catalogue import Letter, Metadata, canonical_text, load_catalogue, write_jsonl
from eval.check import check_benchmark
from eval.compile import assign_splits, compile_benchmark, locate
from eval.questions import load_questions, parse_question
from eval.render import parse, plain_text, render_file

SOURCE = """@header: Northshire Office of the Police and Crime Commissioner
@footer: Northshire OPCC | Page {page} of {pages}

>Northshire House
>1 High Street, Northtown NT1 1AA

| Our ref | NPCC/22/114 |
| Date | 12 October 2021 |

Dear Sir Thomas,

**Re: Response to the PEEL inspection of Northshire Police**

We will recruit forty additional PCSOs by March 2023, funded from the precept — at a cost of £1.2m, “in full”.

1. The custody suite at Kingsbridge reopens in May.
- a bullet -- with two dashes
---pagebreak---
The second page says the Northshire Youth Fund gives grants of up to £4,500.

Yours sincerely

**Amara Okafor**
Police and Crime Commissioner for Northshire
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("render")
    for suffix in ("docx", "pdf"):
        (folder / f"northshire.{suffix}.md").write_text(SOURCE, encoding="utf-8")
        render_file(folder / f"northshire.{suffix}.md", folder)
    return folder


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_render_round_trips_every_line_through_the_file(rendered: Path, fmt: str):
    text = canonical_text(rendered, f"northshire.{fmt}")
    letter = parse(SOURCE)
    for line in filter(None, plain_text(letter).splitlines()):
        assert locate(text, line) is not None, line
    assert "**" not in text and "---pagebreak---" not in text and ">Northshire" not in text
    assert "£1.2m, “in full”" in text and "—" in text  # Unicode survives (DejaVu in the PDF)


def test_pdf_has_its_header_and_footer_on_every_page(rendered: Path):
    text = canonical_text(rendered, "northshire.pdf")
    assert "Page 1 of 2" in text and "Page 2 of 2" in text
    assert text.count("Northshire Office of the Police and Crime Commissioner") == 2


def test_docx_header_and_footer_are_real_word_headers(rendered: Path):
    import docx

    document = docx.Document(str(rendered / "northshire.docx"))
    section = document.sections[0]
    assert "Northshire Office of the Police" in section.header.paragraphs[0].text
    assert "PAGE" in section.footer._element.xml and "NUMPAGES" in section.footer._element.xml
    text = canonical_text(rendered, "northshire.docx")  # a reader sees the letterhead once, not once a page
    assert text.startswith("Northshire Office of the Police") and text.count("Northshire Office of the Police") == 1
    assert any(p.alignment is not None and p.text == "Northshire House\n1 High Street, Northtown NT1 1AA"
               for p in document.paragraphs)


def test_rendering_is_reproducible(rendered: Path, tmp_path: Path):
    for fmt in ("docx", "pdf"):
        again = render_file(rendered / f"northshire.{fmt}.md", tmp_path)
        assert again.read_bytes() == (rendered / f"northshire.{fmt}").read_bytes(), fmt


# --- compile ------------------------------------------------------------------------------------
def test_locate_ignores_line_breaks_and_table_pipes():
    text = "We will recruit forty\nadditional PCSOs by\nMarch 2023.\n\nOur ref\tNPCC/22/114"
    start, end = locate(text, "recruit forty additional PCSOs")
    assert text[start:end] == "recruit forty\nadditional PCSOs"
    start, end = locate(text, "| Our ref | NPCC/22/114 |")
    assert text[start:end] == "Our ref\tNPCC/22/114"
    assert locate(text, "forty-one additional") is None


META = {"sender": ["Amara Okafor"], "role": None, "organisation": None, "recipient": ["Sir Thomas"],
        "date": "2021-10-12", "reference": ["NPCC/22/114"], "subject": None}


def _drafts(folder: Path, letters: list[dict], questions: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "w9.letters.jsonl", letters)
    write_jsonl(folder / "w9.questions.jsonl", questions)
    return folder


def test_compile_resolves_whitespace_broken_evidence(rendered: Path, tmp_path: Path):
    letters = [{"source": "northshire.pdf", "sender_kind": "police_and_crime_commissioner",
                "layout": ["letterhead", "ref_table"], "pages": 1, "metadata": META}]
    evidence = ("We will recruit forty additional PCSOs by March 2023, funded from the precept — at a cost of "
                "£1.2m, “in full”.")
    questions = [
        {"letter": "northshire.pdf", "question": "How much will it cost?", "category": "amount", "answerable": True,
         "answers": ["£1.2m"], "evidence": evidence},
        {"letter": "northshire.pdf", "question": "What's the reference?", "category": "letter_field",
         "answerable": True, "answers": ["NPCC/22/114"], "evidence": "| Our ref | NPCC/22/114 |"},
        {"letter": "northshire.pdf", "question": "How many sergeants?", "category": "number", "answerable": False,
         "answers": [], "evidence": None},
        {"letter": "northshire.pdf", "question": "Who chairs it?", "category": "person", "answerable": True,
         "answers": ["Jo Bloggs"], "evidence": "Jo Bloggs chairs the board."},
    ]
    compiled = compile_benchmark(_drafts(tmp_path / "drafts", letters, questions), rendered, [], [])
    text = canonical_text(rendered, "northshire.pdf")
    made = {q["question"]: q for q in compiled.questions}
    cost = made["How much will it cost?"]
    assert text[cost["char_start"]:cost["char_end"]].split() == evidence.split()  # the PDF broke the line
    assert cost["answers"] == ["£1.2m"] and cost["id"] == "northshire-q01"
    ref = made["What's the reference?"]
    assert ref["answers"] == ["NPCC/22/114"] and "Our ref" in text[ref["char_start"]:ref["char_end"]]
    unanswerable = made["How many sergeants?"]
    assert unanswerable["source"] == "northshire.pdf" and unanswerable["char_start"] is None
    assert "Who chairs it?" not in made
    assert len(compiled.problems) == 1 and "evidence not found" in compiled.problems[0]
    letter = next(x for x in compiled.letters if x.source == "northshire.pdf")
    assert letter.pages == 2 and letter.format == "pdf" and letter.split in ("train", "dev", "test")
    assert all(q["split"] == letter.split for q in compiled.questions if q["source"] == "northshire.pdf")


def _fake(n: int, fmt: str, writer: str) -> Letter:
    return Letter(f"{writer}-{fmt}-{n}.{fmt}", "", writer, "charity", (), fmt, 1, Metadata())


def test_splits_are_by_letter_stratified_deterministic_and_kept():
    shipped = [replace(_fake(i, "txt", "shipped"), split="dev") for i in range(2)]
    new = [_fake(i, fmt, w) for w in ("w1", "w2", "w3", "w4")
           for fmt, n in (("docx", 2), ("pdf", 2), ("txt", 5), ("md", 2)) for i in range(n)]
    splits = assign_splits(new, shipped)
    assert splits == assign_splits(list(reversed(new)), shipped)  # the order of the drafts does not matter
    total = {s: sum(1 for v in splits.values() if v == s) for s in ("train", "dev", "test")}
    total["dev"] += 2
    assert total == {"train": 23, "dev": 12, "test": 11} or total == {"train": 23, "dev": 11, "test": 12}
    for split in ("train", "dev", "test"):
        letters = [x for x in new if splits[x.source] == split]
        assert sum(x.format == "docx" for x in letters) >= 2 and sum(x.format == "pdf" for x in letters) >= 2
        assert len({x.writer for x in letters}) >= 3
    # a new letter later on: the others keep theirs
    kept = [replace(x, split=splits[x.source]) for x in new]
    extra = assign_splits([_fake(0, "pdf", "w5")], kept + shipped)
    assert list(extra) == ["w5-pdf-0.pdf"]


# --- check --------------------------------------------------------------------------------------
@pytest.fixture
def benchmark(tmp_path: Path) -> dict:
    letters_dir = tmp_path / "letters"
    letters_dir.mkdir()
    text = "Dear Sir Thomas,\n\nWe will recruit forty\nadditional PCSOs.\n\nYours sincerely\n\nAmara Okafor\n"
    (letters_dir / "a.txt").write_text("Our ref: NPCC/22/114\n12 October 2021\n" + text, encoding="utf-8")
    (letters_dir / "b.txt").write_text("The Youth Fund gives grants of up to £4,500.\n", encoding="utf-8")
    entry = {"source": "a.txt", "split": "train", "writer": "w9", "sender_kind": "police_and_crime_commissioner",
             "layout": ["ref_table"], "format": "txt", "pages": 1, "metadata": META}
    other = dict(entry, source="b.txt", split="test", metadata=dict(META, sender=None, recipient=None,
                                                                    reference=None, date=None))
    catalogue = tmp_path / "letters.jsonl"
    write_jsonl(catalogue, [entry, other])
    start = (letters_dir / "a.txt").read_text().index("We will")
    question = {"id": "a-q01", "question": "How many PCSOs?", "category": "number", "answerable": True,
                "answers": ["forty"], "source": "a.txt", "char_start": start, "char_end": start + 40,
                "split": "train"}
    questions = tmp_path / "questions.jsonl"
    write_jsonl(questions, [question])
    return {"dir": letters_dir, "catalogue": catalogue, "questions": questions, "entry": entry, "other": other,
            "question": question}


def _problems(b: dict, entries=None, questions=None) -> list[str]:
    if entries is not None:
        write_jsonl(b["catalogue"], entries)
    if questions is not None:
        write_jsonl(b["questions"], questions)
    qs = [parse_question(q, i) for i, q in enumerate(json.loads(x) for x in
                                                     b["questions"].read_text().splitlines())]
    return check_benchmark(load_catalogue(b["catalogue"]), qs, b["dir"])


def test_check_accepts_a_consistent_benchmark(benchmark: dict, capsys):
    assert _problems(benchmark) == []
    assert main(["check", str(benchmark["questions"]), "--corpus", str(benchmark["dir"]),
                 "--catalogue", str(benchmark["catalogue"])]) == 0
    assert capsys.readouterr().out.strip().endswith("train 1, dev 0, test 0): OK")


def test_check_catches_a_letter_in_two_splits(benchmark: dict):
    problems = _problems(benchmark, entries=[benchmark["entry"], dict(benchmark["entry"], split="test"),
                                             benchmark["other"]])
    assert any("a.txt: catalogued 2 times in splits test, train" in p for p in problems)


def test_check_catches_a_question_in_another_split_than_its_letter(benchmark: dict):
    problems = _problems(benchmark, questions=[dict(benchmark["question"], split="dev")])
    assert problems == ["a-q01: split 'dev' but its letter a.txt is in 'train'"]


def test_check_catches_a_bad_offset(benchmark: dict):
    problems = _problems(benchmark, questions=[dict(benchmark["question"], char_start=0, char_end=10)])
    assert len(problems) == 1 and "'forty' not inside gold span [0, 10)" in problems[0]
    problems = _problems(benchmark, questions=[dict(benchmark["question"], char_end=10_000)])
    assert len(problems) == 1 and "outside a.txt" in problems[0]


@pytest.mark.parametrize("date", ["12/10/2021", "2021-13-01", "12 October 2021"])
def test_check_catches_a_bad_date(benchmark: dict, date: str):
    entry = dict(benchmark["entry"], metadata=dict(META, date=date))
    write_jsonl(benchmark["catalogue"], [entry, benchmark["other"]])
    with pytest.raises(ValueError, match="not an ISO date"):
        load_catalogue(benchmark["catalogue"])


def test_check_catches_gold_metadata_not_printed_and_unknown_tags(benchmark: dict):
    entry = dict(benchmark["entry"], layout=["ref_table", "sparkles"],
                 metadata=dict(META, sender=["Dr Amara Okafor-Smith"]))
    problems = _problems(benchmark, entries=[entry, benchmark["other"]])
    assert any("unknown layout tag(s): sparkles" in p for p in problems)
    assert any("sender 'Dr Amara Okafor-Smith' is not printed" in p for p in problems)


def test_check_catches_uncatalogued_and_missing_letters(benchmark: dict):
    (benchmark["dir"] / "c.txt").write_text("stray", encoding="utf-8")
    problems = _problems(benchmark, entries=[benchmark["entry"], benchmark["other"],
                                             dict(benchmark["other"], source="gone.txt")])
    assert "c.txt: letter file is not in the catalogue" in problems
    assert any(p.startswith("gone.txt:") and "not found" in p for p in problems)


def test_stats_json_counts_letters_and_questions_by_split(benchmark: dict, capsys):
    assert main(["stats", "--json", "--catalogue", str(benchmark["catalogue"]),
                 "--questions", str(benchmark["questions"])]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["letters"] == {"train": 1, "dev": 0, "test": 1}
    assert stats["questions"]["train"] == {"total": 1, "answerable": 1, "unanswerable": 0}
    assert stats["sender_kinds"] == 1 and stats["formats"] == {"txt": 2}
    assert load_questions(benchmark["questions"])[0].split == "train"
